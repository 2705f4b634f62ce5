//! OffsetCommit (key 8): stores offsets durably in `__consumer_offsets` before answering.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse, RequestHeader};

use crate::broker::Broker;
use crate::groups::Committed;
use sluice_auth::acl::AclOperation;

/// Commits the offsets if the member and generation are current.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let mut resp = OffsetCommitResponse::default();
    let group = req.group_id.0.to_string();
    let mut offsets = Vec::new();
    let now = crate::clock::now_ms();
    for t in &req.topics {
        for p in &t.partitions {
            offsets.push((
                t.name.0.to_string(),
                p.partition_index,
                Committed {
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                    commit_timestamp_ms: now,
                },
            ));
        }
    }
    // READ on the group (else every partition is refused), then READ on each topic.
    let group_ok = broker.authorize_group(AclOperation::Read, &group);
    let denied: Vec<bool> = offsets
        .iter()
        .map(|(t, _, _)| group_ok && !broker.authorize_topic(AclOperation::Read, t))
        .collect();
    let allowed: Vec<_> = offsets
        .into_iter()
        .zip(&denied)
        .filter(|(_, d)| !**d)
        .map(|(o, _)| o)
        .collect();
    let codes = if !group_ok {
        vec![ResponseError::GroupAuthorizationFailed.code(); allowed.len()]
    } else if group.is_empty() {
        vec![ResponseError::InvalidGroupId.code(); allowed.len()]
    } else if allowed.is_empty() {
        Vec::new()
    } else {
        broker.groups.commit(
            &group,
            req.generation_id_or_member_epoch,
            &req.member_id,
            allowed,
        )
    };
    let mut codes = codes.into_iter();
    let mut denied = denied.into_iter();
    for t in req.topics {
        let mut tr = OffsetCommitResponseTopic::default();
        tr.name = t.name;
        for p in t.partitions {
            let mut pr = OffsetCommitResponsePartition::default();
            pr.partition_index = p.partition_index;
            pr.error_code = if denied.next().unwrap_or(false) {
                ResponseError::TopicAuthorizationFailed.code()
            } else {
                codes.next().unwrap_or(0)
            };
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}
