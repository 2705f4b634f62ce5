//! Fetch (key 1): long polling. A fetch that has fewer than `min_bytes` waits until data is
//! appended (woken through `Broker::appended`, not by polling) or `max_wait_ms` passes.
//! Fetch sessions are answered sessionlessly (session id 0), which clients must accept.
//!
//! The leader serves fetches. A fetch with a replica id is a follower copying: it reads up
//! to the log end (consumers only up to the high watermark), and its fetch offset tells the
//! leader the follower's log end offset, which may move the high watermark.
//!
//! Follower fetching (KIP-392, `replica.selector.class`): a consumer that names its rack (v11+)
//! is pointed by the leader at an in-sync replica in that rack (`preferred_read_replica`, no
//! records), and a follower serves such consumers up to its own high watermark. A consumer
//! asking a follower for more than it holds gets OFFSET_OUT_OF_RANGE, on which clients go back
//! to the leader.
//!
//! Response size: the records of one response total at most the request's `max_bytes` (when
//! positive) and at most the broker's `fetch.max.bytes` (`replica.fetch.response.max.bytes`
//! for a follower), however many partitions it names, repeats included. KIP-74: the first
//! partition with data returns at least one whole batch even past these limits, so a large
//! batch never stalls a reader; every later partition stays within what is left.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, RequestHeader};
use tokio::time::Instant;

use crate::broker::Broker;
use crate::partition::leader::{FetchPosition, FetchRead};
use sluice_auth::acl::{AclOperation, ResourceType};

/// Serves the fetch, waiting for data as the request allows.
pub async fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: FetchRequest,
) -> FetchResponse {
    let version = header.request_api_version;
    // A replica id may only come from a replica (ClusterAction on the cluster, see
    // `Broker::may_act_as_replica`): anyone else forging one gets TOPIC_AUTHORIZATION_FAILED
    // on every partition, as Kafka answers, and moves no high watermark.
    let allowed: Vec<bool> = if req.replica_id.0 >= 0 {
        let ok = broker.may_act_as_replica();
        vec![ok; req.topics.len()]
    } else {
        broker.authorize_each(
            AclOperation::Read,
            ResourceType::Topic,
            req.topics.iter().map(|t| t.topic.0.as_str()),
        )
    };
    if req.replica_id.0 >= 0 && !allowed.first().copied().unwrap_or(true) {
        return refused(&req);
    }
    let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let mut appended = broker.appended.subscribe();
    loop {
        // Mark the current value seen before reading, so an append racing with the read
        // still wakes us.
        appended.borrow_and_update();
        let (resp, bytes, errored, hw_moved) = read_once(broker, &req, version, &allowed);
        if hw_moved {
            broker.notify_appended();
        }
        if bytes >= req.min_bytes.max(0) as usize || errored || Instant::now() >= deadline {
            return resp;
        }
        tokio::select! {
            changed = appended.changed() => if changed.is_err() { return resp; },
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// Every partition TOPIC_AUTHORIZATION_FAILED.
fn refused(req: &FetchRequest) -> FetchResponse {
    let mut resp = FetchResponse::default();
    for ft in &req.topics {
        let mut tr = FetchableTopicResponse::default();
        tr.topic = ft.topic.clone();
        tr.topic_id = ft.topic_id;
        for fp in &ft.partitions {
            tr.partitions.push(denied(fp.partition));
        }
        resp.responses.push(tr);
    }
    resp
}

fn denied(partition: i32) -> PartitionData {
    let mut pd = PartitionData::default();
    pd.partition_index = partition;
    pd.high_watermark = -1;
    pd.last_stable_offset = -1;
    pd.log_start_offset = -1;
    pd.records = Some(Bytes::new());
    pd.error_code = ResponseError::TopicAuthorizationFailed.code();
    pd
}

fn read_once(
    broker: &Broker,
    req: &FetchRequest,
    version: i16,
    allowed: &[bool],
) -> (FetchResponse, usize, bool, bool) {
    let replica = req.replica_id.0;
    // Consumers new enough to follow a preferred read replica may read from followers.
    let follower_reads = replica < 0 && version >= 11;
    let client_rack = (follower_reads && broker.config.replica_selector_rack_aware)
        .then(|| req.rack_id.to_string())
        .filter(|r| !r.is_empty());
    let now = std::time::Instant::now();
    let mut hw_moved = false;
    let mut resp = FetchResponse::default();
    let cap = if replica >= 0 {
        broker
            .config
            .request_limits
            .replica_fetch_response_max_bytes
    } else {
        broker.config.request_limits.fetch_max_bytes
    };
    let mut budget = if req.max_bytes <= 0 {
        cap
    } else {
        (req.max_bytes as usize).min(cap)
    };
    let mut total = 0usize;
    let mut errored = false;
    let too_many = broker
        .config
        .request_limits
        .too_many_partitions(req.topics.iter().map(|t| t.partitions.len()));
    for (ti, ft) in req.topics.iter().enumerate() {
        let name = ft.topic.0.to_string();
        let mut tr = FetchableTopicResponse::default();
        tr.topic = ft.topic.clone();
        tr.topic_id = ft.topic_id;
        if !allowed.get(ti).copied().unwrap_or(false) {
            tr.partitions = ft
                .partitions
                .iter()
                .map(|fp| denied(fp.partition))
                .collect();
            errored = true;
            resp.responses.push(tr);
            continue;
        }
        for fp in &ft.partitions {
            let mut pd = PartitionData::default();
            pd.partition_index = fp.partition;
            pd.high_watermark = -1;
            pd.last_stable_offset = -1;
            pd.log_start_offset = -1;
            pd.records = Some(Bytes::new());
            let partition = if too_many {
                Err(ResponseError::InvalidRequest)
            } else {
                broker.partition(&name, fp.partition)
            };
            match partition {
                Err(e) => {
                    pd.error_code = e.code();
                    errored = true;
                }
                Ok(p) => {
                    let pos = FetchPosition {
                        fetch_offset: fp.fetch_offset,
                        current_leader_epoch: fp.current_leader_epoch,
                        replica: (replica >= 0).then_some(replica),
                        follower_reads,
                        max_bytes: (fp.partition_max_bytes.max(0) as usize).min(budget),
                        // KIP-74: the first non-empty partition returns at least one whole
                        // batch, even past the limits, so a large batch can never stall a
                        // reader (followers too: their fetcher rotates which partition
                        // comes first).
                        must_progress: total == 0,
                    };
                    let fetched = p.read_for_fetch(pos, now, |isr| {
                        client_rack
                            .as_deref()
                            .and_then(|rack| broker.in_sync_replica_in_rack(isr, rack))
                    });
                    let fetched = match fetched {
                        Ok(f) => f,
                        Err(e) => {
                            pd.error_code = e.code();
                            errored = true;
                            tr.partitions.push(pd);
                            continue;
                        }
                    };
                    hw_moved |= fetched.high_watermark_moved;
                    pd.high_watermark = fetched.high_watermark;
                    pd.last_stable_offset = fetched.high_watermark;
                    pd.log_start_offset = fetched.log_start;
                    // Copy the bytes with the partition released: producers append while
                    // consumers read.
                    let read = match fetched.read {
                        FetchRead::Preferred(closer) => {
                            pd.preferred_read_replica = closer.into();
                            Ok(Bytes::new())
                        }
                        FetchRead::Failed(e) => Err(e),
                        FetchRead::Records(None) => Ok(Bytes::new()),
                        FetchRead::Records(Some(r)) => r.read_bytes().map_err(|e| {
                            tracing::debug!(error = %e, "reading a fetch region failed");
                            // A follower truncation can cut a region under a reader; the
                            // client retries.
                            ResponseError::NotLeaderOrFollower
                        }),
                    };
                    match read {
                        Ok(records) => {
                            total += records.len();
                            budget = budget.saturating_sub(records.len());
                            broker.metrics.bytes_out(&name, &records);
                            pd.records = Some(records);
                        }
                        Err(e) => {
                            pd.error_code = e.code();
                            errored = true;
                        }
                    }
                }
            }
            tr.partitions.push(pd);
        }
        resp.responses.push(tr);
    }
    (resp, total, errored, hw_moved)
}
