//! Follower fetchers: one task per leader broker copies every partition this broker follows
//! there, over one connection, with long-polling Fetch requests carrying our replica id (so
//! the leader counts our fetch offset as our log end offset).
//!
//! Before the first fetch under a new leader epoch, a partition is truncated to where its log
//! and the leader's agree: OffsetForLeaderEpoch for our latest epoch answers where that epoch
//! ends on the leader; anything we hold past it never committed and is cut.
//!
//! A fetch offset the leader refuses (OFFSET_OUT_OF_RANGE) means our log ends below its log
//! start, after retention while we were away, or past its end: see [`reset_out_of_range`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, TopicName,
};
use tokio::sync::{watch, Notify};

use crate::codec::sb;
use crate::config::BrokerConfig;
use crate::partition::follower::{FollowerError, LeaderEpochEnd};
use crate::partition::Partition;
use crate::replica::client::{leader_offset, ClientError, Connection, EARLIEST, LATEST};
use sluice_kafka_client::SaslCredentials;
use sluice_meta::MetaNode;

/// Fetch version used between brokers (topic names, not ids).
const FETCH_VERSION: i16 = 12;
/// OffsetForLeaderEpoch version used between brokers.
const EPOCH_VERSION: i16 = 4;
/// Pause after a failed connection or a partition-level error before retrying.
const RETRY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
struct Followed {
    partition: Arc<Partition>,
    epoch: i32,
    needs_truncation: bool,
    throttled: bool,
    retry_at: Option<Instant>,
}

#[derive(Debug)]
struct LeaderFetcher {
    leader: i32,
    addr: Mutex<String>,
    partitions: Mutex<BTreeMap<(String, i32), Followed>>,
    wake: Notify,
    stopped: AtomicBool,
}

/// Tunables a fetch loop needs.
#[derive(Debug, Clone, Copy)]
struct FetchConfig {
    me: i32,
    max_wait_ms: i32,
    partition_max_bytes: i32,
    throttle_bytes_per_sec: i64,
    /// `sluice.max.partitions.per.request`: partitions one Fetch names at most.
    max_partitions: usize,
}

/// The follower fetchers of this broker, by leader.
#[derive(Debug)]
pub struct Fetchers {
    me: i32,
    by_leader: Mutex<HashMap<i32, Arc<LeaderFetcher>>>,
    // Told when a leader cannot be reached, so a crashed leader is fenced quickly.
    meta: Arc<MetaNode>,
    // Wakes long-polling consumer fetches served by this follower (KIP-392) after it copies.
    appended: Arc<watch::Sender<u64>>,
    // The inter-broker listener's TLS material when that listener is SSL.
    tls: std::sync::OnceLock<Arc<crate::tls::ListenerTls>>,
    // This broker's SCRAM user when the inter-broker listener uses SASL.
    sasl: std::sync::OnceLock<SaslCredentials>,
}

impl Fetchers {
    /// No fetchers yet.
    pub fn new(me: i32, meta: Arc<MetaNode>, appended: Arc<watch::Sender<u64>>) -> Fetchers {
        Fetchers {
            me,
            by_leader: Mutex::new(HashMap::new()),
            meta,
            appended,
            tls: std::sync::OnceLock::new(),
            sasl: std::sync::OnceLock::new(),
        }
    }

    /// Authenticates to leaders as `credentials` (the inter-broker listener uses SASL).
    pub fn use_sasl(&self, credentials: SaslCredentials) {
        let _ = self.sasl.set(credentials);
    }

    /// Connects to leaders over TLS with `tls`'s client side (the inter-broker listener is SSL).
    pub fn use_tls(&self, tls: Arc<crate::tls::ListenerTls>) {
        let _ = self.tls.set(tls);
    }

    /// Follows `partition` at `leader` (Kafka address `addr`) under `epoch`; truncates first.
    pub fn assign(
        &self,
        leader: i32,
        addr: String,
        partition: Arc<Partition>,
        epoch: i32,
        throttled: bool,
        config: &BrokerConfig,
    ) {
        let key = (partition.topic.clone(), partition.index);
        let mut by_leader = self.by_leader.lock().expect("poisoned");
        for (id, f) in by_leader.iter() {
            if *id != leader {
                f.partitions.lock().expect("poisoned").remove(&key);
            }
        }
        let fetcher = by_leader
            .entry(leader)
            .or_insert_with(|| {
                let f = Arc::new(LeaderFetcher {
                    leader,
                    addr: Mutex::new(addr.clone()),
                    partitions: Mutex::new(BTreeMap::new()),
                    wake: Notify::new(),
                    stopped: AtomicBool::new(false),
                });
                let cfg = FetchConfig {
                    me: self.me,
                    max_wait_ms: config.replica_fetch_wait_max_ms.max(0),
                    partition_max_bytes: config.replica_fetch_max_bytes.max(1024),
                    throttle_bytes_per_sec: config.follower_replication_throttled_rate,
                    max_partitions: config.request_limits.max_partitions_per_request,
                };
                tokio::spawn(run(
                    f.clone(),
                    cfg,
                    self.meta.clone(),
                    self.appended.clone(),
                    self.tls.get().cloned(),
                    self.sasl.get().cloned(),
                ));
                f
            })
            .clone();
        drop(by_leader);
        *fetcher.addr.lock().expect("poisoned") = addr;
        fetcher.partitions.lock().expect("poisoned").insert(
            key,
            Followed {
                partition,
                epoch,
                needs_truncation: true,
                throttled,
                retry_at: None,
            },
        );
        fetcher.wake.notify_one();
    }

    /// Whether `partition` is being copied from `leader` at `epoch`.
    pub fn is_following(&self, topic: &str, index: i32, leader: i32, epoch: i32) -> bool {
        let key = (topic.to_string(), index);
        self.by_leader
            .lock()
            .expect("poisoned")
            .get(&leader)
            .is_some_and(|f| {
                f.partitions
                    .lock()
                    .expect("poisoned")
                    .get(&key)
                    .is_some_and(|p| p.epoch == epoch)
            })
    }

    /// Stops following a partition (it became leader, went offline or left this broker).
    pub fn remove(&self, topic: &str, index: i32) {
        let key = (topic.to_string(), index);
        for f in self.by_leader.lock().expect("poisoned").values() {
            f.partitions.lock().expect("poisoned").remove(&key);
        }
    }

    /// Stops every fetch loop.
    pub fn shutdown(&self) {
        for (_, f) in self.by_leader.lock().expect("poisoned").drain() {
            f.stopped.store(true, Ordering::Relaxed);
            f.wake.notify_one();
        }
    }
}

async fn run(
    f: Arc<LeaderFetcher>,
    cfg: FetchConfig,
    meta: Arc<MetaNode>,
    appended: Arc<watch::Sender<u64>>,
    tls: Option<Arc<crate::tls::ListenerTls>>,
    sasl: Option<SaslCredentials>,
) {
    let mut conn: Option<Connection> = None;
    let mut round = 0usize;
    while !f.stopped.load(Ordering::Relaxed) {
        let now = Instant::now();
        let mut parts: Vec<((String, i32), Followed)> = f
            .partitions
            .lock()
            .expect("poisoned")
            .iter()
            .filter(|(_, p)| p.retry_at.is_none_or(|t| t <= now))
            .map(|(k, p)| (k.clone(), p.clone()))
            .collect();
        if parts.is_empty() {
            let _ = tokio::time::timeout(RETRY, f.wake.notified()).await;
            continue;
        }
        // Each round starts at another partition: the leader caps a response's bytes
        // (`replica.fetch.response.max.bytes`) and only the first partition with data may
        // exceed what is left (KIP-74), so a fixed order could starve the last ones. A round
        // names at most a request's worth of partitions; the rest come in later rounds.
        round = round.wrapping_add(1);
        let n = parts.len();
        parts.rotate_left(round % n);
        parts.truncate(cfg.max_partitions.max(1));
        let c = match conn.as_mut() {
            Some(c) => c,
            None => {
                let addr = f.addr.lock().expect("poisoned").clone();
                let tls = tls.as_ref().and_then(|t| t.client());
                let id = format!("sluice-replica-{}", cfg.me);
                match connect(&addr, id, tls.as_ref(), sasl.as_ref()).await {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        tracing::debug!(leader = f.leader, error = %e, "cannot reach leader");
                        let (meta, leader) = (meta.clone(), f.leader);
                        tokio::spawn(async move { meta.report_unreachable(leader).await });
                        let _ = tokio::time::timeout(RETRY, f.wake.notified()).await;
                        continue;
                    }
                }
            }
        };
        let outcome = if parts.iter().any(|(_, p)| p.needs_truncation) {
            truncate(&f, c, &parts, cfg).await
        } else {
            fetch(&f, c, &parts, cfg, &appended).await
        };
        if let Err(e) = outcome {
            tracing::debug!(leader = f.leader, error = %e, "replica fetch failed; reconnecting");
            conn = None;
            tokio::time::sleep(RETRY / 2).await;
        }
    }
}

/// Connects to a leader's inter-broker listener, with TLS and SASL as that listener asks.
async fn connect(
    addr: &str,
    client_id: String,
    tls: Option<&sluice_kafka_client::ClientTls>,
    sasl: Option<&SaslCredentials>,
) -> Result<Connection, ClientError> {
    let mut c = Connection::connect_with(addr, client_id, tls).await?;
    if let Some(credentials) = sasl {
        c.authenticate(credentials).await?;
    }
    Ok(c)
}

fn mark(f: &LeaderFetcher, key: &(String, i32), epoch: i32, change: impl FnOnce(&mut Followed)) {
    if let Some(p) = f.partitions.lock().expect("poisoned").get_mut(key) {
        // A newer assignment (another epoch) supersedes what this round learned.
        if p.epoch == epoch {
            change(p);
        }
    }
}

async fn truncate(
    f: &LeaderFetcher,
    c: &mut Connection,
    parts: &[((String, i32), Followed)],
    cfg: FetchConfig,
) -> Result<(), ClientError> {
    let mut req = OffsetForLeaderEpochRequest::default();
    req.replica_id = BrokerId(cfg.me);
    let mut asked = Vec::new();
    for (key, p) in parts.iter().filter(|(_, p)| p.needs_truncation) {
        let Ok(latest) = p.partition.latest_epoch() else {
            mark(f, key, p.epoch, |p| {
                p.retry_at = Some(Instant::now() + RETRY)
            });
            continue;
        };
        let Some(latest) = latest else {
            // An empty log has nothing to cut.
            mark(f, key, p.epoch, |p| p.needs_truncation = false);
            continue;
        };
        let mut op = OffsetForLeaderPartition::default();
        op.partition = key.1;
        op.current_leader_epoch = p.epoch;
        op.leader_epoch = latest;
        match req.topics.iter_mut().find(|t| t.topic.0.as_str() == key.0) {
            Some(t) => t.partitions.push(op),
            None => {
                let mut t = OffsetForLeaderTopic::default();
                t.topic = TopicName(sb(key.0.clone()));
                t.partitions.push(op);
                req.topics.push(t);
            }
        }
        asked.push((key.clone(), p.clone(), latest));
    }
    if asked.is_empty() {
        return Ok(());
    }
    let resp: OffsetForLeaderEpochResponse = c
        .send(ApiKey::OffsetForLeaderEpoch, EPOCH_VERSION, &req)
        .await?;
    for t in resp.topics {
        for r in t.partitions {
            let key = (t.topic.0.to_string(), r.partition);
            let Some((_, p, latest)) = asked.iter().find(|(k, _, _)| *k == key) else {
                continue;
            };
            if r.error_code != 0 {
                tracing::debug!(topic = %key.0, partition = key.1, code = r.error_code, "epoch lookup refused");
                mark(f, &key, p.epoch, |p| {
                    p.retry_at = Some(Instant::now() + RETRY)
                });
                continue;
            }
            let answer = LeaderEpochEnd {
                leader_epoch: r.leader_epoch,
                end_offset: r.end_offset,
            };
            match p
                .partition
                .truncate_diverged(f.leader, p.epoch, *latest, answer)
            {
                Ok(_) => {}
                Err(FollowerError::Superseded) => continue,
                Err(e) => {
                    tracing::error!(topic = %key.0, partition = key.1, error = %e, "truncation failed");
                    mark(f, &key, p.epoch, |p| {
                        p.retry_at = Some(Instant::now() + RETRY)
                    });
                    continue;
                }
            }
            mark(f, &key, p.epoch, |p| p.needs_truncation = false);
        }
    }
    Ok(())
}

async fn fetch(
    f: &LeaderFetcher,
    c: &mut Connection,
    parts: &[((String, i32), Followed)],
    cfg: FetchConfig,
    appended: &watch::Sender<u64>,
) -> Result<(), ClientError> {
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(cfg.me);
    req.max_wait_ms = cfg.max_wait_ms;
    req.min_bytes = 1;
    req.max_bytes = i32::MAX;
    req.session_epoch = -1;
    for (key, p) in parts {
        let Ok((offset, start)) = p.partition.fetch_position() else {
            continue;
        };
        let mut fp = FetchPartition::default();
        fp.partition = key.1;
        fp.current_leader_epoch = p.epoch;
        fp.fetch_offset = offset;
        fp.log_start_offset = start;
        fp.last_fetched_epoch = -1;
        fp.partition_max_bytes = cfg.partition_max_bytes;
        match req.topics.iter_mut().find(|t| t.topic.0.as_str() == key.0) {
            Some(t) => t.partitions.push(fp),
            None => {
                let mut t = FetchTopic::default();
                t.topic = TopicName(sb(key.0.clone()));
                t.partitions.push(fp);
                req.topics.push(t);
            }
        }
    }
    let resp: FetchResponse = c.send(ApiKey::Fetch, FETCH_VERSION, &req).await?;
    if resp.error_code != 0 {
        tokio::time::sleep(RETRY).await;
        return Ok(());
    }
    let mut throttled_bytes = 0usize;
    let mut out_of_range = Vec::new();
    let mut readable_moved = false;
    for t in resp.responses {
        for pd in t.partitions {
            let key = (t.topic.0.to_string(), pd.partition_index);
            let Some((_, p)) = parts.iter().find(|(k, _)| *k == key) else {
                continue;
            };
            match ResponseError::try_from_code(pd.error_code) {
                None => {}
                Some(ResponseError::OffsetOutOfRange) => {
                    out_of_range.push((key, p));
                    continue;
                }
                Some(e) => {
                    tracing::debug!(topic = %key.0, partition = key.1, error = ?e, "leader refused fetch");
                    mark(f, &key, p.epoch, |p| {
                        p.retry_at = Some(Instant::now() + RETRY)
                    });
                    continue;
                }
            }
            let records = pd.records.unwrap_or_default();
            let appended = p.partition.append_fetched(
                f.leader,
                p.epoch,
                &records,
                pd.high_watermark,
                pd.log_start_offset,
            );
            match appended {
                Ok(a) => {
                    readable_moved |= a.high_watermark_moved;
                    if p.throttled {
                        throttled_bytes += records.len();
                    }
                }
                Err(FollowerError::Superseded) => {}
                Err(e) => {
                    tracing::warn!(topic = %key.0, partition = key.1, error = %e, "follower append failed");
                    mark(f, &key, p.epoch, |p| {
                        p.retry_at = Some(Instant::now() + RETRY)
                    });
                }
            }
        }
    }
    if readable_moved {
        appended.send_modify(|n| *n = n.wrapping_add(1));
    }
    for (key, p) in out_of_range {
        reset_out_of_range(f, c, &key, p, cfg).await?;
    }
    if throttled_bytes > 0 && cfg.throttle_bytes_per_sec > 0 {
        let secs = throttled_bytes as f64 / cfg.throttle_bytes_per_sec as f64;
        tokio::time::sleep(Duration::from_secs_f64(secs.min(5.0))).await;
    }
    Ok(())
}

/// The leader refused our fetch offset, as Kafka's follower handles it: if the leader's log
/// ends below ours (it never had what we hold past its end), cut ours back to its end; if it
/// starts above our end (retention or DeleteRecords removed records we never copied), start
/// over, empty, at its log start. Either way the next fetch is in range.
async fn reset_out_of_range(
    f: &LeaderFetcher,
    c: &mut Connection,
    key: &(String, i32),
    p: &Followed,
    cfg: FetchConfig,
) -> Result<(), ClientError> {
    let leader_end = leader_offset(c, key, p.epoch, cfg.me, LATEST).await?;
    let leader_start = leader_offset(c, key, p.epoch, cfg.me, EARLIEST).await?;
    let (Ok(leader_end), Ok(leader_start)) = (leader_end, leader_start) else {
        mark(f, key, p.epoch, |p| {
            p.retry_at = Some(Instant::now() + RETRY)
        });
        return Ok(());
    };
    let reset = p
        .partition
        .reset_out_of_range(f.leader, p.epoch, leader_start, leader_end);
    if let Err(e) = reset.or_else(|e| match e {
        FollowerError::Superseded => Ok(()),
        e => Err(e),
    }) {
        tracing::error!(topic = %key.0, partition = key.1, error = %e, "resetting the replica failed");
        mark(f, key, p.epoch, |p| {
            p.retry_at = Some(Instant::now() + RETRY)
        });
    }
    Ok(())
}
