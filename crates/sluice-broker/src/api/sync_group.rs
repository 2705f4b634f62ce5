//! SyncGroup (key 14): the leader hands in assignments; every member waits for its own.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{RequestHeader, SyncGroupRequest, SyncGroupResponse};

use crate::broker::Broker;
use crate::codec::sb;
use crate::groups::{Reply, SyncOutcome};
use sluice_auth::acl::AclOperation;

/// Distributes or awaits the assignment.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: SyncGroupRequest,
) -> SyncGroupResponse {
    if !broker.authorize_group(AclOperation::Read, &req.group_id.0) {
        let mut resp = SyncGroupResponse::default();
        resp.error_code = ResponseError::GroupAuthorizationFailed.code();
        return resp;
    }
    let assignments = req
        .assignments
        .into_iter()
        .map(|a| (a.member_id.to_string(), a.assignment))
        .collect();
    let outcome = match broker.groups.sync(
        &req.group_id.0,
        req.generation_id,
        &req.member_id,
        assignments,
    ) {
        Reply::Now(o) => o,
        Reply::Wait(rx) => rx.await.unwrap_or(SyncOutcome {
            error: ResponseError::RebalanceInProgress.code(),
            ..Default::default()
        }),
    };
    tracing::debug!(
        group = %req.group_id.0,
        member = %req.member_id,
        generation = req.generation_id,
        error = outcome.error,
        assignment = outcome.assignment.len(),
        "sync group"
    );
    let mut resp = SyncGroupResponse::default();
    resp.error_code = outcome.error;
    resp.protocol_type = outcome.protocol_type.map(sb);
    resp.protocol_name = outcome.protocol_name.map(sb);
    resp.assignment = outcome.assignment;
    resp
}
