//! ListGroups (key 16): the groups of every `__consumer_offsets` partition this broker leads
//! (as in Kafka, each broker lists its own), filtered by state (v4+).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse, RequestHeader};

use crate::broker::Broker;
use crate::codec::sb;
use sluice_auth::acl::AclOperation;

/// Lists groups.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: ListGroupsRequest,
) -> ListGroupsResponse {
    let mut resp = ListGroupsResponse::default();
    let (mut groups, loading) = broker.groups.list();
    // DESCRIBE on the cluster lists every group; else those the principal may describe.
    if !broker.authorize_cluster_quietly(AclOperation::Describe) {
        let allowed = broker.authorize_each(
            AclOperation::Describe,
            sluice_auth::acl::ResourceType::Group,
            groups.iter().map(|(id, _, _)| id.as_str()),
        );
        let mut allowed = allowed.into_iter();
        groups.retain(|_| allowed.next().unwrap_or(false));
    }
    if loading {
        // As Kafka: the groups known so far, flagged incomplete.
        resp.error_code = ResponseError::CoordinatorLoadInProgress.code();
    }
    for (id, protocol_type, state) in groups {
        if !req.states_filter.is_empty()
            && !req
                .states_filter
                .iter()
                .any(|s| s.eq_ignore_ascii_case(state.name()))
        {
            continue;
        }
        let mut g = ListedGroup::default();
        g.group_id = GroupId(sb(id));
        g.protocol_type = sb(protocol_type);
        g.group_state = sb(state.name());
        g.group_type = sb("classic");
        resp.groups.push(g);
    }
    resp
}
