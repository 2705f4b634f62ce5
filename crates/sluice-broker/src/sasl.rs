//! SASL on one connection of a SASL_PLAINTEXT or SASL_SSL listener, as Kafka's
//! `SaslServerAuthenticator` does it: until the client has authenticated, only ApiVersions,
//! SaslHandshake (v0–1) and SaslAuthenticate (v0–2) are served, and anything else closes the
//! connection. SCRAM-SHA-256/512 and PLAIN are checked against the SCRAM credentials in the
//! replicated metadata (so every broker verifies every user), through `sluice-auth`.
//!
//! A failed authentication is answered SASL_AUTHENTICATION_FAILED (an unknown mechanism
//! UNSUPPORTED_SASL_MECHANISM) and the connection closes after
//! `connection.failed.authentication.delay.ms`. With `connections.max.reauth.ms` (KIP-368) the
//! client is told its session lifetime; once it has passed, any request but a new handshake
//! closes the connection, and a re-authentication must prove the same user.
//!
//! SaslHandshake v0 is followed by raw SASL tokens (length-prefixed, no Kafka header), as
//! old clients send them; v1 by SaslAuthenticate requests.
//!
//! This module decides; the connection loop (`connection`) reads frames, writes what is
//! answered here and carries out [`Step`]s.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use sluice_auth::{plain, ScramCredential, ScramMechanism, ScramServer};
use sluice_meta::image::MetadataImage;

use crate::api::DispatchError;
use crate::broker::Broker;
use crate::codec::{decode_body, encode_response, sb, RawRequest};
use crate::config::SaslMechanism;

/// What the connection loop does next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Dispatch the request as usual.
    Dispatch(RawRequest),
    /// Answered into the output buffer; read on.
    Answered,
    /// Answered, and the client is now (again) this user.
    Authenticated(String),
    /// Write what was answered, wait `delay`, close.
    Close {
        /// Why, for the log.
        reason: String,
        /// How long to hold the connection first.
        delay: Duration,
    },
}

enum Exchange {
    Scram(Box<ScramServer>),
    Plain,
}

enum State {
    AwaitHandshake,
    AwaitToken {
        mechanism: SaslMechanism,
        exchange: Exchange,
        // After SaslHandshake v0: raw tokens rather than SaslAuthenticate requests.
        raw: bool,
    },
    Authenticated,
}

/// One connection's SASL state.
pub(crate) struct SaslConnection {
    mechanisms: Vec<SaslMechanism>,
    reauth_ms: u64,
    max_receive_size: usize,
    failure_delay: Duration,
    state: State,
    user: Option<String>,
    expires_at: Option<Instant>,
}

/// What one step of an exchange produced.
enum Progress {
    Continue(Vec<u8>),
    Done { user: String, token: Vec<u8> },
}

/// Secret behind the fake credentials unknown users are answered with (per process: a user
/// that does not exist looks the same as one that does, for as long as the broker runs).
fn fake_secret() -> &'static [u8] {
    static SECRET: OnceLock<Vec<u8>> = OnceLock::new();
    SECRET.get_or_init(|| {
        use rand::RngCore;
        let mut s = vec![0u8; 32];
        rand::rng().fill_bytes(&mut s);
        s
    })
}

/// A user's SCRAM credential from the replicated metadata.
fn credential(image: &MetadataImage, user: &str, m: ScramMechanism) -> Option<ScramCredential> {
    crate::authz::convert::scram_from_meta(image.scram_credential(user, m.wire_code())?)
}

impl SaslConnection {
    /// A connection of `listener`, not yet authenticated.
    pub(crate) fn new(broker: &Broker, listener: &str) -> SaslConnection {
        let s = &broker.config.sasl;
        SaslConnection {
            mechanisms: s.mechanisms_of(listener).to_vec(),
            reauth_ms: s.reauth_ms,
            max_receive_size: s.max_receive_size,
            failure_delay: Duration::from_millis(s.failed_authentication_delay_ms),
            state: State::AwaitHandshake,
            user: None,
            expires_at: None,
        }
    }

    /// The largest frame to accept now: `sasl.server.max.receive.size` until authenticated.
    pub(crate) fn max_frame(&self, otherwise: usize) -> usize {
        match self.state {
            State::Authenticated => otherwise,
            _ => self.max_receive_size.min(otherwise),
        }
    }

    /// After a v0 handshake the next frame is a raw token, not a request.
    pub(crate) fn expects_raw_token(&self) -> bool {
        matches!(self.state, State::AwaitToken { raw: true, .. })
    }

    fn close(&self, broker: &Broker, metric: &str, reason: String) -> Step {
        broker.metrics.connection_refused(metric);
        Step::Close {
            reason,
            delay: self.failure_delay,
        }
    }

    /// Decides what to do with a request.
    pub(crate) fn request(
        &mut self,
        broker: &Broker,
        mut raw: RawRequest,
        now: Instant,
        out: &mut BytesMut,
    ) -> Result<Step, DispatchError> {
        let key = raw.api_key;
        match (&self.state, key) {
            (State::AwaitHandshake, ApiKey::ApiVersions) => Ok(Step::Dispatch(raw)),
            (State::Authenticated, ApiKey::ApiVersions) => Ok(Step::Dispatch(raw)),
            (State::AwaitHandshake, ApiKey::SaslHandshake) => self.handshake(broker, raw, out),
            (State::Authenticated, ApiKey::SaslHandshake) if self.reauth_ms > 0 => {
                self.handshake(broker, raw, out)
            }
            (State::Authenticated, _) => {
                if self.expires_at.is_some_and(|t| now >= t) {
                    return Ok(self.close(
                        broker,
                        "sasl_session_expired",
                        format!(
                            "{key:?} after the SASL session expired (connections.max.reauth.ms)"
                        ),
                    ));
                }
                // A second handshake without KIP-368, or a stray SaslAuthenticate: the table's
                // handlers answer ILLEGAL_SASL_STATE, as Kafka's KafkaApis does.
                Ok(Step::Dispatch(raw))
            }
            (State::AwaitToken { raw: false, .. }, ApiKey::SaslAuthenticate) => {
                let version = raw.header.request_api_version;
                let cid = raw.header.correlation_id;
                let req: SaslAuthenticateRequest = decode_body(&mut raw)?;
                let mut resp = SaslAuthenticateResponse::default();
                let step = match self.step(broker, &req.auth_bytes) {
                    Ok(Progress::Continue(token)) => {
                        resp.auth_bytes = Bytes::from(token);
                        Step::Answered
                    }
                    Ok(Progress::Done { user, token }) => {
                        resp.auth_bytes = Bytes::from(token);
                        resp.session_lifetime_ms = self.reauth_ms as i64;
                        self.authenticated(user, now)
                    }
                    Err(message) => {
                        resp.error_code = ResponseError::SaslAuthenticationFailed.code();
                        resp.error_message = Some(sb(message.clone()));
                        self.close(broker, "sasl_authentication_failed", message)
                    }
                };
                encode_response(ApiKey::SaslAuthenticate, version, cid, &resp, out)?;
                Ok(step)
            }
            (_, other) => Ok(self.close(
                broker,
                "sasl_unauthenticated_request",
                format!("{other:?} request before SASL authentication completed"),
            )),
        }
    }

    /// A raw token after a v0 handshake; its answer is a raw token too. A failure closes the
    /// connection without an answer (the v0 exchange has no way to carry an error).
    pub(crate) fn raw_token(&mut self, broker: &Broker, token: &[u8], out: &mut BytesMut) -> Step {
        let now = Instant::now();
        match self.step(broker, token) {
            Ok(Progress::Continue(reply)) => {
                put_raw(out, &reply);
                Step::Answered
            }
            Ok(Progress::Done { user, token }) => {
                put_raw(out, &token);
                self.authenticated(user, now)
            }
            Err(message) => self.close(broker, "sasl_authentication_failed", message),
        }
    }

    fn authenticated(&mut self, user: String, now: Instant) -> Step {
        self.state = State::Authenticated;
        self.expires_at = (self.reauth_ms > 0).then(|| now + Duration::from_millis(self.reauth_ms));
        self.user = Some(user.clone());
        Step::Authenticated(user)
    }

    fn handshake(
        &mut self,
        broker: &Broker,
        mut raw: RawRequest,
        out: &mut BytesMut,
    ) -> Result<Step, DispatchError> {
        let version = raw.header.request_api_version;
        let cid = raw.header.correlation_id;
        let req: SaslHandshakeRequest = decode_body(&mut raw)?;
        let mut resp = SaslHandshakeResponse::default();
        resp.mechanisms = self.mechanisms.iter().map(|m| sb(m.as_str())).collect();
        let chosen = self
            .mechanisms
            .iter()
            .copied()
            .find(|m| m.as_str() == req.mechanism.as_str());
        let step = match chosen {
            Some(mechanism) => {
                let exchange = match mechanism.scram() {
                    Some(m) => Exchange::Scram(Box::new(ScramServer::new(m, fake_secret()))),
                    None => Exchange::Plain,
                };
                self.state = State::AwaitToken {
                    mechanism,
                    exchange,
                    raw: version == 0,
                };
                Step::Answered
            }
            None => {
                resp.error_code = ResponseError::UnsupportedSaslMechanism.code();
                self.close(
                    broker,
                    "sasl_unsupported_mechanism",
                    format!("unsupported SASL mechanism {:?}", req.mechanism.as_str()),
                )
            }
        };
        encode_response(ApiKey::SaslHandshake, version, cid, &resp, out)?;
        Ok(step)
    }

    /// One token of the exchange; an `Err` is the message for the client.
    fn step(&mut self, broker: &Broker, token: &[u8]) -> Result<Progress, String> {
        let State::AwaitToken {
            mechanism,
            exchange,
            ..
        } = &mut self.state
        else {
            return Err("unexpected SASL token".into());
        };
        let image = broker.image();
        let store = |user: &str, m: ScramMechanism| credential(&image, user, m);
        let progress = match exchange {
            Exchange::Scram(server) => {
                if server.authenticated_user().is_none() && !server.awaits_final() {
                    server
                        .handle_client_first(token, &store)
                        .map(Progress::Continue)
                        .map_err(|e| e.to_string())?
                } else {
                    let outcome = server
                        .handle_client_final(token)
                        .map_err(|e| e.to_string())?;
                    Progress::Done {
                        user: outcome.username,
                        token: outcome.server_final,
                    }
                }
            }
            Exchange::Plain => {
                let user =
                    plain::authenticate(token, &store, fake_secret()).map_err(|e| e.to_string())?;
                Progress::Done {
                    user,
                    token: Vec::new(),
                }
            }
        };
        if let Progress::Done { user, .. } = &progress {
            // KIP-368: a re-authentication must not change who the connection is.
            if self.user.as_ref().is_some_and(|u| u != user) {
                return Err(format!(
                    "Cannot change principals during re-authentication with SASL mechanism {mechanism}"
                ));
            }
        }
        Ok(progress)
    }
}

fn put_raw(out: &mut BytesMut, token: &[u8]) {
    out.put_i32(token.len() as i32);
    out.put_slice(token);
}
