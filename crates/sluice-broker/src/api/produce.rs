//! Produce (key 0): v2 record batches are stored verbatim after validation; the broker assigns
//! offsets. A single broker is the whole ISR, so acks=all is answered like acks=1.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, RequestHeader};

use crate::api::sb;
use crate::broker::{now_ms, Broker};

/// Appends every partition's batches; returns `None` for acks=0, which gets no response.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: ProduceRequest,
) -> Option<ProduceResponse> {
    let acks_ok = matches!(req.acks, -1..=1);
    let mut resp = ProduceResponse::default();
    let mut appended_any = false;
    for topic in req.topic_data {
        let name = topic.name.0.to_string();
        let mut tr = TopicProduceResponse::default();
        tr.name = topic.name.clone();
        let found = broker.get_or_auto_create(&name);
        for pd in topic.partition_data {
            let mut pr = PartitionProduceResponse::default();
            pr.index = pd.index;
            pr.base_offset = -1;
            pr.log_append_time_ms = -1;
            pr.log_start_offset = -1;
            let result = if !acks_ok {
                Err(ResponseError::InvalidRequiredAcks)
            } else {
                match &found {
                    Err(e) => Err(*e),
                    Ok(t) => match usize::try_from(pd.index)
                        .ok()
                        .and_then(|i| t.partitions.get(i))
                    {
                        None => Err(ResponseError::UnknownTopicOrPartition),
                        Some(p) => {
                            let records = pd.records.unwrap_or_else(Bytes::new);
                            let mut store = p.store.lock().expect("poisoned");
                            let r = store.append(&records, now_ms());
                            let start = store.log_start_offset();
                            drop(store);
                            r.map(|a| {
                                if !a.duplicate {
                                    broker.metrics.record_in(
                                        &name,
                                        records.len() as u64,
                                        a.record_count,
                                    );
                                }
                                (a, start)
                            })
                        }
                    },
                }
            };
            let result = match result {
                // Durable topics acknowledge only once the group-commit fsync covers the append.
                Ok((a, start)) => match a.sync.clone().await {
                    Ok(()) => Ok((a, start)),
                    Err(e) => Err(crate::storage::error_code(&e)),
                },
                Err(e) => Err(e),
            };
            match result {
                Ok((a, start)) => {
                    appended_any |= !a.duplicate;
                    pr.base_offset = a.base_offset;
                    pr.log_append_time_ms = a.log_append_time;
                    pr.log_start_offset = start;
                }
                Err(e) => {
                    tracing::debug!(topic = %name, partition = pd.index, error = ?e, "produce rejected");
                    pr.error_code = e.code();
                    pr.error_message = Some(sb(e.to_string()));
                }
            }
            tr.partition_responses.push(pr);
        }
        resp.responses.push(tr);
    }
    if appended_any {
        broker.notify_appended();
    }
    (req.acks != 0).then_some(resp)
}
