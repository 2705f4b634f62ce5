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

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, RequestHeader};
use tokio::time::Instant;

use crate::broker::Broker;
use crate::partition::{check_leader, check_replica};
use crate::replica::state::Role;

/// Serves the fetch, waiting for data as the request allows.
pub async fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: FetchRequest,
) -> FetchResponse {
    let version = header.request_api_version;
    let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let mut appended = broker.appended.subscribe();
    loop {
        // Mark the current value seen before reading, so an append racing with the read
        // still wakes us.
        appended.borrow_and_update();
        let (resp, bytes, errored, hw_moved) = read_once(broker, &req, version);
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

fn read_once(
    broker: &Broker,
    req: &FetchRequest,
    version: i16,
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
    let mut budget = if req.max_bytes <= 0 {
        usize::MAX
    } else {
        req.max_bytes as usize
    };
    let mut total = 0usize;
    let mut errored = false;
    for ft in &req.topics {
        let name = ft.topic.0.to_string();
        let mut tr = FetchableTopicResponse::default();
        tr.topic = ft.topic.clone();
        tr.topic_id = ft.topic_id;
        for fp in &ft.partitions {
            let mut pd = PartitionData::default();
            pd.partition_index = fp.partition;
            pd.high_watermark = -1;
            pd.last_stable_offset = -1;
            pd.log_start_offset = -1;
            pd.records = Some(Bytes::new());
            match broker.partition(&name, fp.partition) {
                Err(e) => {
                    pd.error_code = e.code();
                    errored = true;
                }
                Ok(p) => {
                    let mut store = p.store.lock().expect("poisoned");
                    let allowed = if follower_reads {
                        check_replica(&store, fp.current_leader_epoch)
                    } else {
                        check_leader(&store, fp.current_leader_epoch)
                    };
                    if let Err(e) = allowed {
                        pd.error_code = e.code();
                        errored = true;
                        tr.partitions.push(pd);
                        continue;
                    }
                    if replica >= 0 {
                        let leo = store.log_end_offset();
                        store
                            .replica
                            .record_fetch(replica, fp.fetch_offset, leo, now);
                        hw_moved |= store.recompute_high_watermark();
                    }
                    pd.high_watermark = store.high_watermark();
                    pd.last_stable_offset = pd.high_watermark;
                    pd.log_start_offset = store.log_start_offset();
                    if store.replica.role == Role::Leader {
                        if let Some(closer) = client_rack
                            .as_deref()
                            .and_then(|rack| broker.in_sync_replica_in_rack(&store, rack))
                        {
                            pd.preferred_read_replica = closer.into();
                            drop(store);
                            tr.partitions.push(pd);
                            continue;
                        }
                    }
                    if fp.fetch_offset < pd.log_start_offset
                        || fp.fetch_offset > store.log_end_offset()
                    {
                        pd.error_code = ResponseError::OffsetOutOfRange.code();
                        errored = true;
                    } else {
                        let limit = (fp.partition_max_bytes.max(0) as usize).min(budget);
                        // KIP-74: the first non-empty partition returns at least one whole batch,
                        // even past the limits, so a large batch can never stall a consumer.
                        let must_progress = total == 0 || replica >= 0;
                        let region =
                            store.read_region(fp.fetch_offset, limit, must_progress, replica >= 0);
                        // Copy the bytes without holding the partition: producers append while
                        // consumers read.
                        drop(store);
                        let read = region.and_then(|r| {
                            r.map_or(Ok(Bytes::new()), |r| {
                                r.read_bytes().map_err(|e| {
                                    tracing::debug!(error = %e, "reading a fetch region failed");
                                    // A follower truncation can cut a region under a reader;
                                    // the client retries.
                                    ResponseError::NotLeaderOrFollower
                                })
                            })
                        });
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
            }
            tr.partitions.push(pd);
        }
        resp.responses.push(tr);
    }
    (resp, total, errored, hw_moved)
}
