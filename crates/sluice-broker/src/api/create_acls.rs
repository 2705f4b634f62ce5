//! CreateAcls (key 30): stores ACL bindings through the controller. Needs ALTER on the
//! cluster; SECURITY_DISABLED without an authorizer (as Kafka). Each binding is validated
//! on its own (INVALID_REQUEST), and the local authorizer has the new bindings when the
//! response is sent.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse, RequestHeader};
use sluice_auth::acl::AclOperation;
use sluice_meta::image::{AclBinding, Reply};
use sluice_meta::Command;

use crate::authz::convert::invalid_binding;
use crate::broker::Broker;
use crate::codec::sb;

fn result(error: ResponseError, message: Option<String>) -> AclCreationResult {
    let mut r = AclCreationResult::default();
    r.error_code = error.code();
    r.error_message = message.map(sb);
    r
}

/// Creates the bindings.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: CreateAclsRequest,
) -> CreateAclsResponse {
    let mut resp = CreateAclsResponse::default();
    let all = |e: ResponseError, msg: &str| {
        (0..req.creations.len())
            .map(|_| result(e, Some(msg.to_string())))
            .collect::<Vec<_>>()
    };
    if !broker.authz.enabled() {
        resp.results = all(
            ResponseError::SecurityDisabled,
            "No Authorizer is configured.",
        );
        return resp;
    }
    if !broker.authorize_cluster(AclOperation::Alter) {
        resp.results = all(
            ResponseError::ClusterAuthorizationFailed,
            "Cluster authorization failed.",
        );
        return resp;
    }
    let bindings: Vec<AclBinding> = req
        .creations
        .iter()
        .map(|c| AclBinding {
            resource_type: c.resource_type,
            resource_name: c.resource_name.to_string(),
            pattern_type: c.resource_pattern_type,
            principal: c.principal.to_string(),
            host: c.host.to_string(),
            operation: c.operation,
            permission: c.permission_type,
        })
        .collect();
    // Refused here (syntax the controller does not check, such as hosts), or proposed.
    let mut results: Vec<Option<AclCreationResult>> = bindings
        .iter()
        .map(|b| invalid_binding(b).map(|why| result(ResponseError::InvalidRequest, Some(why))))
        .collect();
    let valid: Vec<AclBinding> = bindings
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_none())
        .map(|(b, _)| b.clone())
        .collect();
    if !valid.is_empty() {
        let replies = match broker
            .propose(Command::CreateAcls { bindings: valid })
            .await
        {
            Ok(Reply::AclsCreated(rs)) => rs
                .into_iter()
                .map(|r| {
                    let mut out = AclCreationResult::default();
                    out.error_code = r.error_code;
                    out.error_message = r.error_message.map(sb);
                    out
                })
                .collect::<Vec<_>>(),
            Ok(other) => {
                tracing::warn!(reply = ?other, "unexpected reply to CreateAcls");
                vec![result(ResponseError::UnknownServerError, None); results.len()]
            }
            Err(e) => vec![result(e, None); results.len()],
        };
        let mut replies = replies.into_iter();
        for r in results.iter_mut().filter(|r| r.is_none()) {
            *r = replies.next();
        }
    }
    resp.results = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| result(ResponseError::UnknownServerError, None)))
        .collect();
    resp
}
