//! DescribeAcls (key 29): the ACL bindings a filter matches, grouped by resource pattern.
//! Needs DESCRIBE on the cluster; SECURITY_DISABLED without an authorizer (as Kafka).

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse, RequestHeader};
use sluice_auth::acl::AclOperation;

use crate::authz::convert::filter_from_wire;
use crate::broker::Broker;
use crate::codec::sb;

/// Describes the matching bindings.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: DescribeAclsRequest,
) -> DescribeAclsResponse {
    let mut resp = DescribeAclsResponse::default();
    let refuse = |mut resp: DescribeAclsResponse, e: ResponseError, msg: &str| {
        resp.error_code = e.code();
        resp.error_message = Some(sb(msg.to_string()));
        resp
    };
    if !broker.authz.enabled() {
        return refuse(
            resp,
            ResponseError::SecurityDisabled,
            "No Authorizer is configured.",
        );
    }
    if !broker.authorize_cluster(AclOperation::Describe) {
        return refuse(
            resp,
            ResponseError::ClusterAuthorizationFailed,
            "Cluster authorization failed.",
        );
    }
    let filter = filter_from_wire(
        req.resource_type_filter,
        req.resource_name_filter.as_deref(),
        req.pattern_type_filter,
        req.principal_filter.as_deref(),
        req.host_filter.as_deref(),
        req.operation,
        req.permission_type,
    );
    if filter.is_unknown() {
        return refuse(
            resp,
            ResponseError::InvalidRequest,
            "The filter has an UNKNOWN code.",
        );
    }
    let image = broker.image();
    let mut by_pattern: BTreeMap<(i8, &str, i8), Vec<AclDescription>> = BTreeMap::new();
    for b in image.matching_acls(&filter) {
        let mut d = AclDescription::default();
        d.principal = sb(b.principal.clone());
        d.host = sb(b.host.clone());
        d.operation = b.operation;
        d.permission_type = b.permission;
        by_pattern
            .entry((b.resource_type, b.resource_name.as_str(), b.pattern_type))
            .or_default()
            .push(d);
    }
    resp.resources = by_pattern
        .into_iter()
        .map(|((rt, name, pt), acls)| {
            let mut r = DescribeAclsResource::default();
            r.resource_type = rt;
            r.resource_name = sb(name.to_string());
            r.pattern_type = pt;
            r.acls = acls;
            r
        })
        .collect();
    resp
}
