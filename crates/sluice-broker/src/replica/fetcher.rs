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
use crate::partition::Partition;
use crate::replica::client::{leader_offset, ClientError, Connection, EARLIEST, LATEST};
use crate::replica::state::Role;
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
        }
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
                };
                tokio::spawn(run(
                    f.clone(),
                    cfg,
                    self.meta.clone(),
                    self.appended.clone(),
                    self.tls.get().cloned(),
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
) {
    let mut conn: Option<Connection> = None;
    while !f.stopped.load(Ordering::Relaxed) {
        let now = Instant::now();
        let parts: Vec<((String, i32), Followed)> = f
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
        let c = match conn.as_mut() {
            Some(c) => c,
            None => {
                let addr = f.addr.lock().expect("poisoned").clone();
                let tls = tls.as_ref().and_then(|t| t.client());
                let id = format!("sluice-replica-{}", cfg.me);
                match Connection::connect_with(&addr, id, tls.as_ref()).await {
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

fn mark(f: &LeaderFetcher, key: &(String, i32), epoch: i32, change: impl FnOnce(&mut Followed)) {
    if let Some(p) = f.partitions.lock().expect("poisoned").get_mut(key) {
        // A newer assignment (another epoch) supersedes what this round learned.
        if p.epoch == epoch {
            change(p);
        }
    }
}

/// Still following `leader` at `epoch`? Metadata may have moved on while a request was out.
fn still_following(p: &Partition, leader: i32, epoch: i32) -> bool {
    let s = p.store.lock().expect("poisoned");
    s.replica.role == Role::Follower { leader } && s.replica.leader_epoch == epoch
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
        let latest = p.partition.store.lock().expect("poisoned").latest_epoch();
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
            if !still_following(&p.partition, f.leader, p.epoch) {
                continue;
            }
            let mut store = p.partition.store.lock().expect("poisoned");
            let target = if r.end_offset < 0 {
                // The leader has no epoch at or before ours: keep only what was committed.
                store.high_watermark()
            } else if r.leader_epoch == *latest {
                r.end_offset
            } else {
                // The leader's epoch ended earlier than ours did: cut at the older of the two
                // ends of that epoch.
                let (_, ours) = store.end_offset_for_epoch(r.leader_epoch);
                r.end_offset.min(if ours < 0 { r.end_offset } else { ours })
            };
            if target < store.log_end_offset() {
                tracing::info!(topic = %key.0, partition = key.1, from = store.log_end_offset(), to = target, "truncating diverged log");
                if let Err(e) = store.truncate_to(target) {
                    tracing::error!(topic = %key.0, partition = key.1, error = %e, "truncation failed");
                    drop(store);
                    mark(f, &key, p.epoch, |p| {
                        p.retry_at = Some(Instant::now() + RETRY)
                    });
                    continue;
                }
            }
            drop(store);
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
        let (offset, start) = {
            let s = p.partition.store.lock().expect("poisoned");
            (s.log_end_offset(), s.log_start_offset())
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
            if !still_following(&p.partition, f.leader, p.epoch) {
                continue;
            }
            let records = pd.records.unwrap_or_default();
            let mut store = p.partition.store.lock().expect("poisoned");
            if !records.is_empty() {
                if let Err(e) = store.append_as_follower(&records) {
                    tracing::warn!(topic = %key.0, partition = key.1, error = %e, "follower append failed");
                    drop(store);
                    mark(f, &key, p.epoch, |p| {
                        p.retry_at = Some(Instant::now() + RETRY)
                    });
                    continue;
                }
                if p.throttled {
                    throttled_bytes += records.len();
                }
            }
            let hw = store.high_watermark();
            store.follow_high_watermark(pd.high_watermark);
            readable_moved |= store.high_watermark() != hw;
            if pd.log_start_offset > store.log_start_offset()
                && pd.log_start_offset <= store.high_watermark()
            {
                // DeleteRecords on the leader moves the start of every replica.
                if let Err(e) = store.delete_records_before(pd.log_start_offset) {
                    tracing::debug!(topic = %key.0, partition = key.1, error = ?e, "following log start failed");
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
    if !still_following(&p.partition, f.leader, p.epoch) {
        return Ok(());
    }
    let mut store = p.partition.store.lock().expect("poisoned");
    let ours = store.log_end_offset();
    let reset = if leader_end < ours {
        tracing::warn!(topic = %key.0, partition = key.1, ours, leader_end, "leader's log ends below ours; truncating");
        store.truncate_to(leader_end)
    } else if leader_start > ours {
        tracing::warn!(topic = %key.0, partition = key.1, ours, leader_start, "leader's log starts past our end; starting over at its log start");
        store.truncate_fully_and_start_at(leader_start)
    } else {
        // In range again (the leader moved meanwhile): just fetch again.
        Ok(())
    };
    drop(store);
    if let Err(e) = reset {
        tracing::error!(topic = %key.0, partition = key.1, error = %e, "resetting the replica failed");
        mark(f, key, p.epoch, |p| {
            p.retry_at = Some(Instant::now() + RETRY)
        });
    }
    Ok(())
}
