//! Produce (key 0): v2 record batches are stored verbatim after validation; the leader assigns
//! offsets and stamps its leader epoch. acks=1 answers once the leader has the records (fsynced
//! for durable topics); acks=all also waits until every in-sync replica has them (the high
//! watermark passes them), and refuses up front when the ISR is below `min.insync.replicas`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, RequestHeader};
use tokio::time::Instant;

use crate::broker::Broker;
use crate::clock::now_ms;
use crate::codec::sb;
use crate::partition::{check_leader, Partition};
use crate::storage::Appended;

/// What one partition's append left to wait for.
struct Pending {
    appended: Appended,
    log_start: i64,
    partition: Arc<Partition>,
    epoch: i32,
    min_isr: usize,
}

/// Appends every partition's batches; returns `None` for acks=0, which gets no response.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: ProduceRequest,
) -> Option<ProduceResponse> {
    let acks_ok = matches!(req.acks, -1..=1);
    let all = req.acks == -1;
    let deadline = Instant::now() + Duration::from_millis(req.timeout_ms.max(0) as u64);
    let mut resp = ProduceResponse::default();
    let mut appended_any = false;
    // Append everything first, then wait: partitions of one request replicate concurrently.
    let mut pending = Vec::new();
    for topic in req.topic_data {
        let name = topic.name.0.to_string();
        let found = if !acks_ok {
            Err(ResponseError::InvalidRequiredAcks)
        } else if broker.image().topics.contains_key(&name) {
            Ok(())
        } else {
            broker.get_or_auto_create(&name).await.map(|_| ())
        };
        let mut parts = Vec::new();
        for pd in topic.partition_data {
            let result = found.and_then(|()| append(broker, &name, pd.index, pd.records, all));
            appended_any |= result.as_ref().is_ok_and(|p| !p.appended.duplicate);
            parts.push((pd.index, result));
        }
        pending.push((topic.name, parts));
    }
    if appended_any {
        // Wakes followers' long-polling fetches (and consumers) before waiting on them.
        broker.notify_appended();
    }
    for (topic_name, parts) in pending {
        let mut tr = TopicProduceResponse::default();
        for (index, result) in parts {
            let mut pr = PartitionProduceResponse::default();
            pr.index = index;
            pr.base_offset = -1;
            pr.log_append_time_ms = -1;
            pr.log_start_offset = -1;
            let result = match result {
                Ok(p) => complete(broker, p, all, deadline).await,
                Err(e) => Err(e),
            };
            match result {
                Ok((a, start)) => {
                    pr.base_offset = a.base_offset;
                    pr.log_append_time_ms = a.log_append_time;
                    pr.log_start_offset = start;
                }
                Err(e) => {
                    tracing::debug!(topic = %topic_name.0, partition = index, error = ?e, "produce rejected");
                    pr.error_code = e.code();
                    pr.error_message = Some(sb(e.to_string()));
                }
            }
            tr.partition_responses.push(pr);
        }
        tr.name = topic_name;
        resp.responses.push(tr);
    }
    (req.acks != 0).then_some(resp)
}

fn append(
    broker: &Broker,
    name: &str,
    index: i32,
    records: Option<Bytes>,
    all: bool,
) -> Result<Pending, ResponseError> {
    let p = broker.partition(name, index)?;
    let records = records.unwrap_or_default();
    let mut store = p.store.lock().expect("poisoned");
    check_leader(&store, -1)?;
    let min_isr = if all {
        let min = broker.min_insync_replicas(name);
        if store.replica.isr.len() < min {
            return Err(ResponseError::NotEnoughReplicas);
        }
        min
    } else {
        0
    };
    let epoch = store.replica.leader_epoch;
    let appended = store.append(&records, now_ms(), epoch)?;
    let log_start = store.log_start_offset();
    drop(store);
    if !appended.duplicate {
        broker
            .metrics
            .record_in(name, records.len() as u64, appended.record_count);
    }
    Ok(Pending {
        appended,
        log_start,
        partition: p,
        epoch,
        min_isr,
    })
}

/// Waits for what the acks level promises: the local fsync for durable topics, and for
/// acks=all the high watermark passing the records.
async fn complete(
    broker: &Broker,
    p: Pending,
    all: bool,
    deadline: Instant,
) -> Result<(Appended, i64), ResponseError> {
    // Durable topics count toward the high watermark only once the group-commit fsync covers
    // the append; consumers see the records only after that too.
    if let Err(e) = p.appended.sync.clone().await {
        return Err(crate::storage::error_code(&e));
    }
    if p.appended.duplicate {
        return Ok((p.appended, p.log_start));
    }
    let end = p.appended.end_offset;
    if p.partition
        .store
        .lock()
        .expect("poisoned")
        .mark_durable(end)
    {
        broker.notify_appended();
    }
    if !all {
        return Ok((p.appended, p.log_start));
    }
    let mut changes = broker.appended.subscribe();
    loop {
        changes.borrow_and_update();
        {
            let store = p.partition.store.lock().expect("poisoned");
            if !store.replica.leads(p.epoch) {
                // A new leader may or may not have these records: the client must retry
                // (an idempotent producer's retry is deduplicated).
                return Err(ResponseError::NotLeaderOrFollower);
            }
            if store.high_watermark() >= end {
                if store.replica.isr.len() < p.min_isr {
                    return Err(ResponseError::NotEnoughReplicasAfterAppend);
                }
                return Ok((p.appended, p.log_start));
            }
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() {
                return Err(ResponseError::NotLeaderOrFollower);
            },
            _ = tokio::time::sleep_until(deadline) => return Err(ResponseError::RequestTimedOut),
        }
    }
}
