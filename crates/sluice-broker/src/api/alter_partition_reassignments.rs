//! AlterPartitionReassignments (key 45): moves partition replicas between brokers (or cancels a
//! move). The controller adds the target replicas, which catch up as followers (throttled by
//! `follower.replication.throttled.rate`), and completes the move once they are all in sync.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, RequestHeader,
};
use sluice_meta::image::Reply;
use sluice_meta::Command;

use crate::broker::Broker;
use crate::codec::sb;
use crate::proposals::reply_error;
use sluice_auth::acl::AclOperation;

/// Starts or cancels each reassignment; per-partition errors as Kafka's controller answers.
pub async fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    // v0 clients cannot ask for a change of replication factor; v1 says whether they may.
    let allow_rf_change = header.request_api_version == 0 || req.allow_replication_factor_change;
    let image = broker.image();
    let mut resp = AlterPartitionReassignmentsResponse::default();
    if !broker.authorize_cluster(AclOperation::Alter) {
        resp.error_code = kafka_protocol::error::ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    resp.allow_replication_factor_change = req.allow_replication_factor_change;
    let mut entries = Vec::new();
    let mut refused = Vec::new();
    for t in &req.topics {
        let name = t.name.0.to_string();
        for p in &t.partitions {
            let target: Option<Vec<i32>> =
                p.replicas.as_ref().map(|r| r.iter().map(|b| b.0).collect());
            let current = image.partition(&name, p.partition_index);
            let rf_changes = match (&target, current) {
                (Some(t), Some(c)) => {
                    let original = c.replicas.len() - c.adding.len();
                    t.len() != original
                }
                _ => false,
            };
            if rf_changes && !allow_rf_change {
                refused.push((
                    name.clone(),
                    p.partition_index,
                    ResponseError::InvalidReplicationFactor,
                ));
            } else {
                entries.push((name.clone(), p.partition_index, target));
            }
        }
    }
    let results = if entries.is_empty() {
        Vec::new()
    } else {
        match broker
            .propose(Command::AlterReassignments { entries })
            .await
        {
            Ok(Reply::Partitions(results)) => results,
            Ok(Reply::Error { code, message }) => {
                resp.error_code = reply_error(code).code();
                resp.error_message = Some(sb(message));
                return resp;
            }
            Ok(_) => Vec::new(),
            Err(e) => {
                resp.error_code = e.code();
                return resp;
            }
        }
    };
    let all = results
        .into_iter()
        .map(|r| (r.topic, r.partition, r.error_code))
        .chain(refused.into_iter().map(|(t, p, e)| (t, p, e.code())));
    for (topic, partition, code) in all {
        let mut pr = ReassignablePartitionResponse::default();
        pr.partition_index = partition;
        pr.error_code = code;
        if code != 0 {
            pr.error_message = Some(sb(reply_error(code).to_string()));
        }
        match resp
            .responses
            .iter_mut()
            .find(|t| t.name.0.as_str() == topic)
        {
            Some(t) => t.partitions.push(pr),
            None => {
                let mut t = ReassignableTopicResponse::default();
                t.name = kafka_protocol::messages::TopicName(sb(topic));
                t.partitions.push(pr);
                resp.responses.push(t);
            }
        }
    }
    resp
}
