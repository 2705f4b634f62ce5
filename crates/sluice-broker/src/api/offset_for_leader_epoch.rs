//! OffsetForLeaderEpoch (key 23): consumers use it to detect log truncation after a leader change.

use std::sync::Arc;

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, RequestHeader,
};

use crate::broker::{refuse_if, Broker};
use kafka_protocol::error::ResponseError;
use sluice_auth::acl::AclOperation;

/// Answers the end offset of each requested epoch.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let mut resp = OffsetForLeaderEpochResponse::default();
    let too_many = broker
        .config
        .request_limits
        .too_many_partitions(req.topics.iter().map(|t| t.partitions.len()));
    // Followers (a replica id, v3+) need ClusterAction, as Kafka's whole-request check.
    let replica_ok = req.replica_id.0 < 0 || broker.may_act_as_replica();
    for t in req.topics {
        let allowed = if !replica_ok {
            Err(ResponseError::ClusterAuthorizationFailed)
        } else if req.replica_id.0 < 0
            && !broker.authorize_topic(AclOperation::Describe, &t.topic.0)
        {
            Err(ResponseError::TopicAuthorizationFailed)
        } else {
            Ok(())
        };
        let mut tr = OffsetForLeaderTopicResult::default();
        tr.topic = t.topic.clone();
        for p in t.partitions {
            let mut e = EpochEndOffset::default();
            e.partition = p.partition;
            e.leader_epoch = -1;
            e.end_offset = -1;
            let found = refuse_if(too_many)
                .and(allowed)
                .and_then(|()| broker.partition(&t.topic.0, p.partition))
                .and_then(|part| part.end_offset_for_epoch(p.current_leader_epoch, p.leader_epoch));
            match found {
                Err(err) => e.error_code = err.code(),
                Ok((epoch, end)) => {
                    e.leader_epoch = epoch;
                    e.end_offset = end;
                }
            }
            tr.partitions.push(e);
        }
        resp.topics.push(tr);
    }
    resp
}
