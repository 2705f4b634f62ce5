//! CreatePartitions (key 37): grows a topic to a larger partition count.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse, RequestHeader};

use crate::api::sb;
use crate::broker::Broker;

/// Grows (or, with `validate_only`, checks growing) each topic.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut resp = CreatePartitionsResponse::default();
    for t in req.topics {
        let mut r = CreatePartitionsTopicResult::default();
        r.name = t.name.clone();
        let outcome = match broker.topic(&t.name.0) {
            None => Err(ResponseError::UnknownTopicOrPartition),
            Some(topic) if t.count <= topic.partitions.len() as i32 => {
                Err(ResponseError::InvalidPartitions)
            }
            Some(_) if t.count > 10_000 => Err(ResponseError::InvalidPartitions),
            Some(_) if req.validate_only => Ok(()),
            Some(_) => broker
                .add_partitions(&t.name.0, t.count)
                .unwrap_or_else(|e| {
                    tracing::error!(topic = %t.name.0, error = %e, "adding partitions failed");
                    Err(ResponseError::UnknownServerError)
                }),
        };
        if let Err(e) = outcome {
            r.error_code = e.code();
            r.error_message = Some(sb(e.to_string()));
        }
        resp.results.push(r);
    }
    resp
}
