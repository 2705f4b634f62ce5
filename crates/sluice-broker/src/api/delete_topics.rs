//! DeleteTopics (key 20): removes topics by name (topic ids are not served at these versions).
//! With `delete.topic.enable=false` nothing is deleted: TOPIC_DELETION_DISABLED (INVALID_REQUEST
//! before v3, which has no such code), as Kafka answers.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, RequestHeader};

use crate::broker::Broker;
use sluice_auth::acl::AclOperation;

/// Deletes each named topic.
pub async fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
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
        r.error_code = if !broker.authorize_topic(AclOperation::Delete, &name.0) {
            ResponseError::TopicAuthorizationFailed.code()
        } else if !broker.config.delete_topic_enable {
            if header.request_api_version < 3 {
                ResponseError::InvalidRequest.code()
            } else {
                ResponseError::TopicDeletionDisabled.code()
            }
        } else {
            match broker.delete_topic(&name.0).await {
                Ok(()) => 0,
                Err(e) => e.code(),
            }
        };
        r.topic_id = id.unwrap_or_default();
        r.name = Some(name);
        resp.responses.push(r);
    }
    resp
}
