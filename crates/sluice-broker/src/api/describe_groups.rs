//! DescribeGroups (key 15): state, protocol and members with their assignments.

use std::sync::Arc;

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, RequestHeader};

use crate::broker::Broker;
use crate::codec::sb;
use sluice_auth::acl::AclOperation;

/// Describes each group; unknown groups are reported as `Dead`, as Kafka does before v6.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let mut resp = DescribeGroupsResponse::default();
    for id in req.groups {
        let mut g = DescribedGroup::default();
        let described = if broker.authorize_group(AclOperation::Describe, &id.0) {
            broker.groups.describe(&id.0)
        } else {
            Err(kafka_protocol::error::ResponseError::GroupAuthorizationFailed)
        };
        match described {
            Err(e) => g.error_code = e.code(),
            Ok(None) => g.group_state = sb("Dead"),
            Ok(Some(d)) => {
                g.group_state = sb(d.state.name());
                g.protocol_type = sb(d.protocol_type);
                g.protocol_data = sb(d.protocol);
                g.members = d
                    .members
                    .into_iter()
                    .map(|m| {
                        let mut dm = DescribedGroupMember::default();
                        dm.member_id = sb(m.member_id);
                        dm.group_instance_id = m.instance_id.map(sb);
                        dm.client_id = sb(m.client_id);
                        dm.client_host = sb(m.client_host);
                        dm.member_metadata = m.metadata;
                        dm.member_assignment = m.assignment;
                        dm
                    })
                    .collect();
            }
        }
        g.group_id = id;
        resp.groups.push(g);
    }
    resp
}
