//! DeleteRecords (key 21): advances the log start offset; -1 means the high watermark.

use std::sync::Arc;

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse, RequestHeader};

use crate::broker::{refuse_if, Broker};
use kafka_protocol::error::ResponseError;
use sluice_auth::acl::AclOperation;

/// Deletes records before each requested offset.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let mut resp = DeleteRecordsResponse::default();
    let too_many = broker
        .config
        .request_limits
        .too_many_partitions(req.topics.iter().map(|t| t.partitions.len()));
    for t in req.topics {
        let mut tr = DeleteRecordsTopicResult::default();
        tr.name = t.name.clone();
        let allowed = broker.authorize_topic(AclOperation::Delete, &t.name.0);
        for p in t.partitions {
            let mut pr = DeleteRecordsPartitionResult::default();
            pr.partition_index = p.partition_index;
            pr.low_watermark = -1;
            let deleted = refuse_if(too_many)
                .and_then(|()| {
                    allowed
                        .then_some(())
                        .ok_or(ResponseError::TopicAuthorizationFailed)
                })
                .and_then(|()| broker.partition(&t.name.0, p.partition_index))
                .and_then(|part| part.delete_records(p.offset));
            match deleted {
                Err(e) => pr.error_code = e.code(),
                Ok(low) => pr.low_watermark = low,
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}
