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
use crate::partition::leader::{Acks, PendingAppend, Produced};
use crate::partition::{Partition, CONSUMER_OFFSETS};
use sluice_auth::acl::{AclOperation, ResourceType};

/// Appends every partition's batches; returns `None` for acks=0, which gets no response.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: ProduceRequest,
) -> Option<ProduceResponse> {
    // A transactional producer needs WRITE on its transactional id (Kafka refuses the whole
    // request).
    let transactional_ok = req
        .transactional_id
        .as_ref()
        .is_none_or(|t| broker.authorize(AclOperation::Write, ResourceType::TransactionalId, t));
    let acks_ok = matches!(req.acks, -1..=1);
    let all = req.acks == -1;
    let deadline = Instant::now() + Duration::from_millis(req.timeout_ms.max(0) as u64);
    let mut resp = ProduceResponse::default();
    let mut appended_any = false;
    // Append everything first, then wait: partitions of one request replicate concurrently.
    let mut pending = Vec::new();
    // Past `sluice.max.partitions.per.request` every partition is refused, nothing created.
    let too_many = broker
        .config
        .request_limits
        .too_many_partitions(req.topic_data.iter().map(|t| t.partition_data.len()));
    for topic in req.topic_data {
        let name = topic.name.0.to_string();
        let found = if too_many {
            Err(ResponseError::InvalidRequest)
        } else if !acks_ok {
            Err(ResponseError::InvalidRequiredAcks)
        } else if !transactional_ok {
            Err(ResponseError::TransactionalIdAuthorizationFailed)
        } else if !broker.authorize_topic(AclOperation::Write, &name) {
            Err(ResponseError::TopicAuthorizationFailed)
        } else if name == CONSUMER_OFFSETS {
            // Written only by its group coordinators (`Partition::append_at_epoch`).
            Err(ResponseError::InvalidTopicException)
        } else if broker.image().topics.contains_key(&name) {
            Ok(())
        } else {
            broker.get_or_auto_create(&name).await.map(|_| ())
        };
        let acks = if all {
            Acks::All {
                min_isr: broker.min_insync_replicas(&name),
            }
        } else {
            Acks::Leader
        };
        let mut parts = Vec::new();
        for pd in topic.partition_data {
            let result = found.and_then(|()| append(broker, &name, pd.index, pd.records, acks));
            appended_any |= result.as_ref().is_ok_and(|(_, p)| p.written().is_some());
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
            let result: Result<Produced, ResponseError> = match result {
                Ok((p, pending)) => p.acknowledge(pending, deadline).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(produced) => {
                    pr.base_offset = produced.base_offset;
                    pr.log_append_time_ms = produced.log_append_time;
                    pr.log_start_offset = produced.log_start_offset;
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
    acks: Acks,
) -> Result<(Arc<Partition>, PendingAppend), ResponseError> {
    let p = broker.partition(name, index)?;
    let records = records.unwrap_or_default();
    let pending = p.append(&records, acks, now_ms())?;
    if let Some(count) = pending.written() {
        broker.metrics.record_in(name, records.len() as u64, count);
    }
    Ok((p, pending))
}
