//! ElectLeaders (key 43): preferred-leader election (restore the balance after a failover or
//! a rolling restart) or unclean election of leaderless partitions, decided by the controller.
//! v0 has no election type and always means preferred.

use std::sync::Arc;

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, RequestHeader};
use sluice_meta::image::Reply;
use sluice_meta::Command;

use crate::broker::Broker;
use crate::proposals::reply_error;
use sluice_auth::acl::AclOperation;

/// Kafka's election type for preferred-leader election.
const PREFERRED: i8 = 0;

/// Runs the election and reports per partition.
pub async fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: ElectLeadersRequest,
) -> ElectLeadersResponse {
    let preferred = header.request_api_version == 0 || req.election_type == PREFERRED;
    let partitions = req.topic_partitions.map(|ts| {
        ts.into_iter()
            .flat_map(|t| {
                let name = t.topic.0.to_string();
                t.partitions.into_iter().map(move |p| (name.clone(), p))
            })
            .collect::<Vec<_>>()
    });
    let mut resp = ElectLeadersResponse::default();
    if !broker.authorize_cluster(AclOperation::Alter) {
        resp.error_code = kafka_protocol::error::ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    let reply = broker
        .propose(Command::ElectLeaders {
            preferred,
            partitions,
        })
        .await;
    let results = match reply {
        Ok(Reply::Partitions(results)) => results,
        Ok(Reply::Error { code, .. }) => {
            resp.error_code = reply_error(code).code();
            return resp;
        }
        Ok(_) => Vec::new(),
        Err(e) => {
            resp.error_code = e.code();
            return resp;
        }
    };
    for r in results {
        let mut pr = PartitionResult::default();
        pr.partition_id = r.partition;
        pr.error_code = r.error_code;
        match resp
            .replica_election_results
            .iter_mut()
            .find(|t| t.topic.0.as_str() == r.topic)
        {
            Some(t) => t.partition_result.push(pr),
            None => {
                let mut t = ReplicaElectionResult::default();
                t.topic = kafka_protocol::messages::TopicName(crate::codec::sb(r.topic));
                t.partition_result.push(pr);
                resp.replica_election_results.push(t);
            }
        }
    }
    resp
}
