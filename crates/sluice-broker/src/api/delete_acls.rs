//! DeleteAcls (key 31): removes the bindings each filter matches, through the controller.
//! Needs ALTER on the cluster; SECURITY_DISABLED without an authorizer (as Kafka).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse, RequestHeader};
use sluice_auth::acl::AclOperation;
use sluice_meta::image::Reply;
use sluice_meta::Command;

use crate::authz::convert::filter_from_wire;
use crate::broker::Broker;
use crate::codec::sb;

fn failed(e: ResponseError, message: Option<&str>) -> DeleteAclsFilterResult {
    let mut r = DeleteAclsFilterResult::default();
    r.error_code = e.code();
    r.error_message = message.map(|m| sb(m.to_string()));
    r
}

/// Deletes what the filters match.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: DeleteAclsRequest,
) -> DeleteAclsResponse {
    let mut resp = DeleteAclsResponse::default();
    let n = req.filters.len();
    if !broker.authz.enabled() {
        resp.filter_results = vec![
            failed(
                ResponseError::SecurityDisabled,
                Some("No Authorizer is configured.")
            );
            n
        ];
        return resp;
    }
    if !broker.authorize_cluster(AclOperation::Alter) {
        resp.filter_results = vec![
            failed(
                ResponseError::ClusterAuthorizationFailed,
                Some("Cluster authorization failed.")
            );
            n
        ];
        return resp;
    }
    let filters = req
        .filters
        .iter()
        .map(|f| {
            filter_from_wire(
                f.resource_type_filter,
                f.resource_name_filter.as_deref(),
                f.pattern_type_filter,
                f.principal_filter.as_deref(),
                f.host_filter.as_deref(),
                f.operation,
                f.permission_type,
            )
        })
        .collect();
    resp.filter_results = match broker.propose(Command::DeleteAcls { filters }).await {
        Ok(Reply::AclsDeleted(results)) => results
            .into_iter()
            .map(|r| {
                let mut out = DeleteAclsFilterResult::default();
                out.error_code = r.error_code;
                out.error_message = r.error_message.map(sb);
                out.matching_acls = r
                    .matching
                    .into_iter()
                    .map(|b| {
                        let mut m = DeleteAclsMatchingAcl::default();
                        m.resource_type = b.resource_type;
                        m.resource_name = sb(b.resource_name);
                        m.pattern_type = b.pattern_type;
                        m.principal = sb(b.principal);
                        m.host = sb(b.host);
                        m.operation = b.operation;
                        m.permission_type = b.permission;
                        m
                    })
                    .collect();
                out
            })
            .collect(),
        Ok(other) => {
            tracing::warn!(reply = ?other, "unexpected reply to DeleteAcls");
            vec![failed(ResponseError::UnknownServerError, None); n]
        }
        Err(e) => vec![failed(e, None); n],
    };
    resp
}
