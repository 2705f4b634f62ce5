//! DeleteTopics (key 20): removes topics by name (topic ids are not served at these versions).

use std::sync::Arc;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, RequestHeader};

use crate::broker::Broker;

/// Deletes each named topic.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let mut resp = DeleteTopicsResponse::default();
    let names = req
        .topic_names
        .into_iter()
        .chain(req.topics.into_iter().filter_map(|t| t.name));
    for name in names {
        let mut r = DeletableTopicResult::default();
        let id = broker.topic(&name.0).map(|t| t.id);
        r.error_code = match broker.delete_topic(&name.0).await {
            Ok(()) => 0,
            Err(e) => e.code(),
        };
        r.topic_id = id.unwrap_or_default();
        r.name = Some(name);
        resp.responses.push(r);
    }
    resp
}
