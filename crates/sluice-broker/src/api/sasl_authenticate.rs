//! SaslAuthenticate (key 36) outside an authentication: on a listener without SASL, or on an
//! authenticated connection that did not start a re-authentication. Kafka's KafkaApis answers
//! ILLEGAL_SASL_STATE there; the exchange itself is the connection's (`sasl`).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{RequestHeader, SaslAuthenticateRequest, SaslAuthenticateResponse};

use crate::broker::Broker;
use crate::codec::sb;

/// ILLEGAL_SASL_STATE.
pub fn handle(
    _broker: &Arc<Broker>,
    _header: &RequestHeader,
    _req: SaslAuthenticateRequest,
) -> SaslAuthenticateResponse {
    let mut resp = SaslAuthenticateResponse::default();
    resp.error_code = ResponseError::IllegalSaslState.code();
    resp.error_message = Some(sb(
        "Unexpected SaslAuthenticate: no SASL exchange is in progress",
    ));
    resp
}
