//! ListPartitionReassignments (key 46): the reassignments in progress, from the metadata image.

use std::sync::Arc;

use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, RequestHeader,
};

use crate::broker::Broker;
use sluice_auth::acl::AclOperation;

/// Lists ongoing reassignments, of every partition or of the listed ones.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    if !broker.authorize_cluster(AclOperation::Describe) {
        let mut resp = ListPartitionReassignmentsResponse::default();
        resp.error_code = kafka_protocol::error::ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    let image = broker.image();
    let wanted: Option<Vec<(String, i32)>> = req.topics.map(|ts| {
        ts.into_iter()
            .flat_map(|t| {
                let name = t.name.0.to_string();
                t.partition_indexes
                    .into_iter()
                    .map(move |p| (name.clone(), p))
            })
            .collect()
    });
    let mut resp = ListPartitionReassignmentsResponse::default();
    for (name, t) in &image.topics {
        let mut tr = OngoingTopicReassignment::default();
        tr.name = kafka_protocol::messages::TopicName(crate::codec::sb(name.clone()));
        for (i, p) in t.partitions.iter().enumerate() {
            let index = i as i32;
            if p.adding.is_empty() && p.removing.is_empty() {
                continue;
            }
            if wanted
                .as_ref()
                .is_some_and(|w| !w.iter().any(|(n, q)| n == name && *q == index))
            {
                continue;
            }
            let mut op = OngoingPartitionReassignment::default();
            op.partition_index = index;
            op.replicas = p.replicas.iter().copied().map(BrokerId).collect();
            op.adding_replicas = p.adding.iter().copied().map(BrokerId).collect();
            op.removing_replicas = p.removing.iter().copied().map(BrokerId).collect();
            tr.partitions.push(op);
        }
        if !tr.partitions.is_empty() {
            resp.topics.push(tr);
        }
    }
    resp
}
