//! One module per Kafka API. Each exposes `handle`, taking the broker, the request header and the
//! decoded request, and returning the response; `dispatch` wires decoding, handling and encoding.
//!
//! The modules and the routing are generated from the table in [`crate::kafka_apis`]: adding an
//! API is a row there and its file here.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use kafka_protocol::messages::*;

use crate::broker::Broker;
use crate::codec::{decode_body, encode_response, RawRequest};
use crate::error::{BrokerError, DecodeError};
use crate::kafka_apis::{kafka_apis, name};

/// Why a request produced no response frame.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The request did not decode: the connection must be closed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The response did not encode.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// A handler's answer as an `Option`: `-> Option` rows may answer nothing, the others always
/// answer.
macro_rules! answer {
    ($resp:expr) => {
        Some($resp)
    };
    ($resp:expr, Option) => {
        $resp
    };
}

macro_rules! handlers {
    ($($api:ident $lo:literal..=$hi:literal => $module:ident($req:ident) $(.$aw:ident)? $(-> $opt:ident)?),* $(,)?) => {
        $(pub mod $module;)*

        /// Decodes, handles and encodes one request into `out`. Returns whether a response was
        /// written (acks=0 produce requests get none).
        pub async fn dispatch(
            broker: &Arc<Broker>,
            mut raw: RawRequest,
            out: &mut BytesMut,
        ) -> Result<bool, DispatchError> {
            let key = raw.api_key;
            let v = raw.header.request_api_version;
            let cid = raw.header.correlation_id;
            let started = Instant::now();
            let answered = match key {
                $(ApiKey::$api => {
                    let req: $req = decode_body(&mut raw)?;
                    let resp = answer!($module::handle(broker, &raw.header, req)$(.$aw)? $(, $opt)?);
                    if let Some(resp) = &resp {
                        encode_response(key, v, cid, resp, out)?;
                    }
                    resp.is_some()
                })*
                other => return Err(DecodeError::UnknownApiKey(other as i16).into()),
            };
            broker.metrics.observe_request(name(key), started.elapsed());
            Ok(answered)
        }
    };
}
kafka_apis!(handlers);
