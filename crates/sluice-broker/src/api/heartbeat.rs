//! Heartbeat (key 12): keeps a member's session alive and tells it about rebalances.

use std::sync::Arc;
use std::time::Instant;

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse, RequestHeader};

use crate::broker::Broker;
use sluice_auth::acl::AclOperation;

/// Records the heartbeat.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: HeartbeatRequest,
) -> HeartbeatResponse {
    let mut resp = HeartbeatResponse::default();
    if !broker.authorize_group(AclOperation::Read, &req.group_id.0) {
        resp.error_code = kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code();
        return resp;
    }
    resp.error_code = broker.groups.heartbeat(
        &req.group_id.0,
        req.generation_id,
        &req.member_id,
        Instant::now(),
    );
    if resp.error_code != 0 {
        tracing::debug!(group = %req.group_id.0, member = %req.member_id, generation = req.generation_id, error = resp.error_code, "heartbeat");
    }
    resp
}
