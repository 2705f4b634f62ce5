//! DeleteGroups (key 42): removes empty groups and their committed offsets.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse, RequestHeader};

use crate::broker::Broker;
use sluice_auth::acl::AclOperation;

/// Deletes each group that has no members.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let mut resp = DeleteGroupsResponse::default();
    for id in req.groups_names {
        let mut r = DeletableGroupResult::default();
        r.error_code = if broker.authorize_group(AclOperation::Delete, &id.0) {
            broker.groups.delete(&id.0).err().map_or(0, |e| e.code())
        } else {
            kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code()
        };
        r.group_id = id;
        resp.results.push(r);
    }
    resp
}
