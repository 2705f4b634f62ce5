//! ListGroups (key 16): every group known to the coordinator, filtered by state (v4+).

use std::sync::Arc;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse, RequestHeader};

use crate::api::sb;
use crate::broker::Broker;

/// Lists groups.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: ListGroupsRequest,
) -> ListGroupsResponse {
    let mut resp = ListGroupsResponse::default();
    for (id, protocol_type, state) in broker.groups.list() {
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
