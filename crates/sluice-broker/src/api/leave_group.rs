//! LeaveGroup (key 13): one member before v3, a batch of members (possibly static) from v3.

use std::sync::Arc;
use std::time::Instant;

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse, RequestHeader};

use crate::broker::Broker;
use sluice_auth::acl::AclOperation;

/// Removes the members and starts a rebalance for the rest.
pub async fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: LeaveGroupRequest,
) -> LeaveGroupResponse {
    let batched = header.request_api_version >= 3;
    let members: Vec<(String, Option<String>)> = if batched {
        req.members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|i| i.to_string()),
                )
            })
            .collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    let mut resp = LeaveGroupResponse::default();
    if !broker.authorize_group(AclOperation::Read, &req.group_id.0) {
        resp.error_code = kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code();
        return resp;
    }
    match broker
        .groups
        .leave(&req.group_id.0, &members, Instant::now())
    {
        Err(code) => resp.error_code = code,
        Ok(codes) if !batched => resp.error_code = codes.first().copied().unwrap_or(0),
        Ok(codes) => {
            resp.members = req
                .members
                .into_iter()
                .zip(codes)
                .map(|(m, code)| {
                    let mut r = MemberResponse::default();
                    r.member_id = m.member_id;
                    r.group_instance_id = m.group_instance_id;
                    r.error_code = code;
                    r
                })
                .collect();
        }
    }
    resp
}
