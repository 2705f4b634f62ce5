//! JoinGroup (key 11): waits until the rebalance completes; v4+ clients first get
//! MEMBER_ID_REQUIRED with their new member id.

use std::sync::Arc;
use std::time::Instant;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse, RequestHeader};

use crate::broker::Broker;
use crate::codec::sb;
use crate::groups::{JoinOutcome, JoinParams, Reply};
use sluice_auth::acl::AclOperation;

/// Joins (or rejoins) the group.
pub async fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: JoinGroupRequest,
) -> JoinGroupResponse {
    if !broker.authorize_group(AclOperation::Read, &req.group_id.0) {
        let mut resp = JoinGroupResponse::default();
        resp.error_code = ResponseError::GroupAuthorizationFailed.code();
        resp.generation_id = -1;
        resp.member_id = req.member_id;
        return resp;
    }
    let params = JoinParams {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        instance_id: req.group_instance_id.map(|i| i.to_string()),
        client_id: header.client_id.as_deref().unwrap_or("").to_string(),
        client_host: crate::connection::PEER
            .try_with(|p| format!("/{}", p.ip()))
            .unwrap_or_default(),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if header.request_api_version == 0 {
            req.session_timeout_ms
        } else {
            req.rebalance_timeout_ms
        },
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: header.request_api_version >= 4,
    };
    let outcome = match broker.groups.join(params, Instant::now()) {
        Reply::Now(o) => o,
        Reply::Wait(rx) => rx.await.unwrap_or(JoinOutcome {
            error: ResponseError::UnknownMemberId.code(),
            ..Default::default()
        }),
    };
    tracing::debug!(
        group = %req.group_id.0,
        member = %req.member_id,
        error = outcome.error,
        generation = outcome.generation,
        leader = %outcome.leader,
        assigned_id = %outcome.member_id,
        members = outcome.members.len(),
        "join group"
    );
    let mut resp = JoinGroupResponse::default();
    resp.error_code = outcome.error;
    resp.generation_id = outcome.generation;
    resp.protocol_type = outcome.protocol_type.map(sb);
    resp.protocol_name = outcome.protocol_name.map(sb);
    if header.request_api_version < 7 && resp.protocol_name.is_none() {
        // Before v7 the field is not nullable.
        resp.protocol_name = Some(sb(""));
    }
    resp.leader = sb(outcome.leader);
    resp.member_id = sb(outcome.member_id);
    resp.members = outcome
        .members
        .into_iter()
        .map(|(id, instance, metadata)| {
            let mut m = JoinGroupResponseMember::default();
            m.member_id = sb(id);
            m.group_instance_id = instance.map(sb);
            m.metadata = metadata;
            m
        })
        .collect();
    resp
}
