//! SASL/SCRAM authentication of a [`Connection`], as Kafka clients do it: SaslHandshake v1
//! naming the mechanism, then two SaslAuthenticate rounds (client-first, client-final), and a
//! check that the broker's server-final proves it holds our credential.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use sluice_auth::{ScramClient, ScramMechanism};

use crate::{ClientError, Connection};

/// A SCRAM user to authenticate as.
#[derive(Clone)]
pub struct SaslCredentials {
    /// SCRAM-SHA-256 or SCRAM-SHA-512.
    pub mechanism: ScramMechanism,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for SaslCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslCredentials")
            .field("mechanism", &self.mechanism)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Authenticates this connection with SCRAM; every later request runs as `credentials`'
    /// user.
    pub async fn authenticate(&mut self, credentials: &SaslCredentials) -> Result<(), ClientError> {
        let refused = |addr: &str, reason: String| ClientError::Authentication {
            addr: addr.to_owned(),
            reason,
        };
        let mut handshake = SaslHandshakeRequest::default();
        handshake.mechanism = StrBytes::from_static_str(credentials.mechanism.mechanism_name());
        let resp = self.call(1, &handshake).await?;
        if let Some(e) = ResponseError::try_from_code(resp.error_code) {
            return Err(refused(self.addr(), format!("handshake: {e:?}")));
        }
        let mut client = ScramClient::new(
            credentials.mechanism,
            &credentials.user,
            &credentials.password,
        );
        let mut step = SaslAuthenticateRequest::default();
        step.auth_bytes = Bytes::from(client.first());
        let first = self.call(2, &step).await?;
        if first.error_code != 0 {
            let message = first
                .error_message
                .map(|m| m.to_string())
                .unwrap_or_default();
            return Err(refused(self.addr(), message));
        }
        step.auth_bytes = Bytes::from(
            client
                .final_message(&first.auth_bytes)
                .map_err(|e| refused(self.addr(), e.to_string()))?,
        );
        let last = self.call(2, &step).await?;
        if last.error_code != 0 {
            let message = last
                .error_message
                .map(|m| m.to_string())
                .unwrap_or_default();
            return Err(refused(self.addr(), message));
        }
        client.verify_server_final(&last.auth_bytes).map_err(|_| {
            refused(
                self.addr(),
                "the broker's server-final does not verify".into(),
            )
        })
    }
}
