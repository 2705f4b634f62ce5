//! ListOffsets (key 2): earliest (-2), latest (-1), max timestamp (-3) or the first offset whose
//! timestamp is at or after a given time. A follower broker (replica id ≥ 0) asking for the
//! latest offset gets the log end offset rather than the high watermark.

use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, RequestHeader};

use crate::broker::{refuse_if, Broker};
use crate::partition::leader::OffsetSpec;
use kafka_protocol::error::ResponseError;
use sluice_auth::acl::AclOperation;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

/// Resolves each partition's requested position to an offset.
pub fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let mut resp = ListOffsetsResponse::default();
    let req_replica = req.replica_id.0;
    let too_many = broker
        .config
        .request_limits
        .too_many_partitions(req.topics.iter().map(|t| t.partitions.len()));
    // A replica id (log end instead of high watermark) needs what a replica's Fetch needs.
    let replica_ok = req_replica < 0 || broker.may_act_as_replica();
    for t in req.topics {
        let name = t.name.0.to_string();
        let allowed = replica_ok && broker.authorize_topic(AclOperation::Describe, &name);
        let mut tr = ListOffsetsTopicResponse::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            pr.timestamp = -1;
            pr.offset = -1;
            let spec = match p.timestamp {
                LATEST => OffsetSpec::Latest,
                EARLIEST => OffsetSpec::Earliest,
                MAX_TIMESTAMP => OffsetSpec::MaxTimestamp,
                ts => OffsetSpec::Timestamp(ts),
            };
            let listed = refuse_if(too_many)
                .and_then(|()| {
                    allowed
                        .then_some(())
                        .ok_or(ResponseError::TopicAuthorizationFailed)
                })
                .and_then(|()| broker.partition(&name, p.partition_index))
                .and_then(|part| part.list_offset(p.current_leader_epoch, spec, req_replica >= 0));
            match listed {
                Err(e) => pr.error_code = e.code(),
                Ok(listed) => {
                    if header.request_api_version >= 4 {
                        pr.leader_epoch = listed.leader_epoch;
                    }
                    pr.offset = listed.offset;
                    pr.timestamp = listed.timestamp;
                }
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}
