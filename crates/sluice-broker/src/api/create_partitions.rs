//! CreatePartitions (key 37): grows a topic to a larger partition count.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse, RequestHeader};

use crate::broker::Broker;
use crate::codec::sb;
use sluice_auth::acl::AclOperation;

/// Grows (or, with `validate_only`, checks growing) each topic.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut resp = CreatePartitionsResponse::default();
    let limits = &broker.config.request_limits;
    // Partitions the whole request would add, against `sluice.max.partitions.per.request`.
    let too_many = limits.too_many_partitions(req.topics.iter().map(|t| {
        let now = broker
            .topic(&t.name.0)
            .map_or(0, |topic| topic.partitions.len());
        (t.count.max(0) as usize).saturating_sub(now)
    }));
    for t in req.topics {
        let mut r = CreatePartitionsTopicResult::default();
        r.name = t.name.clone();
        let outcome = match broker.topic(&t.name.0) {
            _ if too_many => Err((
                ResponseError::PolicyViolation,
                Some(format!(
                    "the request adds more than {} partitions (sluice.max.partitions.per.request)",
                    limits.max_partitions_per_request
                )),
            )),
            _ if !broker.authorize_topic(AclOperation::Alter, &t.name.0) => {
                Err((ResponseError::TopicAuthorizationFailed, None))
            }
            None => Err((ResponseError::UnknownTopicOrPartition, None)),
            Some(topic) if t.count <= topic.partitions.len() as i32 => {
                Err((ResponseError::InvalidPartitions, None))
            }
            Some(_) if t.count > limits.max_partitions_per_topic => Err((
                ResponseError::InvalidPartitions,
                Some(format!(
                    "a topic has at most {} partitions (sluice.max.partitions.per.topic)",
                    limits.max_partitions_per_topic
                )),
            )),
            Some(_) => {
                let assignments = t.assignments.as_ref().map(|a| {
                    a.iter()
                        .map(|r| r.broker_ids.iter().map(|b| b.0).collect())
                        .collect()
                });
                broker
                    .add_partitions(&t.name.0, t.count, assignments, req.validate_only)
                    .await
            }
        };
        if let Err(e) = outcome.map_err(|e| match e {
            (e, Some(m)) => (e, m),
            (e, None) => (e, e.to_string()),
        }) {
            r.error_code = e.0.code();
            r.error_message = Some(sb(e.1));
        }
        resp.results.push(r);
    }
    resp
}
