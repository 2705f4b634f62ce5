//! DeleteRecords (key 21): advances the log start offset; -1 means the high watermark.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse, RequestHeader};

use crate::broker::Broker;

/// Deletes records before each requested offset.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let mut resp = DeleteRecordsResponse::default();
    for t in req.topics {
        let mut tr = DeleteRecordsTopicResult::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = DeleteRecordsPartitionResult::default();
            pr.partition_index = p.partition_index;
            pr.low_watermark = -1;
            match broker.leader_partition(&t.name.0, p.partition_index, -1) {
                Err(e) => pr.error_code = e.code(),
                Ok(part) => {
                    let mut store = part.store.lock().expect("poisoned");
                    let hw = store.high_watermark();
                    let target = if p.offset == -1 { hw } else { p.offset };
                    if target < 0 || target > hw {
                        pr.error_code = ResponseError::OffsetOutOfRange.code();
                    } else {
                        match store.delete_records_before(target) {
                            Ok(low) => pr.low_watermark = low,
                            Err(e) => pr.error_code = e.code(),
                        }
                    }
                }
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}
