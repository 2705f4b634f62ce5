//! SaslHandshake (key 17) outside an authentication: on a listener without SASL, or on an
//! authenticated connection without KIP-368 re-authentication. Kafka's KafkaApis answers
//! ILLEGAL_SASL_STATE there; the exchange itself is the connection's (`sasl`).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{RequestHeader, SaslHandshakeRequest, SaslHandshakeResponse};

use crate::broker::Broker;

/// ILLEGAL_SASL_STATE.
pub fn handle(
    _broker: &Arc<Broker>,
    _header: &RequestHeader,
    _req: SaslHandshakeRequest,
) -> SaslHandshakeResponse {
    let mut resp = SaslHandshakeResponse::default();
    resp.error_code = ResponseError::IllegalSaslState.code();
    resp
}
