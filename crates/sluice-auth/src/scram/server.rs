//! The server side of a SCRAM exchange: a two-step state machine.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::messages::{self, ClientFirst};
use super::{CredentialStore, ScramCredential, ScramError, ScramMechanism};
use crate::crypto;

/// What a successful exchange yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramOutcome {
    /// The authenticated user name (unescaped): the principal is `User:<username>`.
    pub username: String,
    /// The server-final message (`v=...`) to send in the last SaslAuthenticate response.
    pub server_final: Vec<u8>,
}

enum State {
    /// Waiting for client-first.
    Initial,
    /// Server-first sent; waiting for client-final.
    ServerFirstSent(Box<Exchange>),
    /// The exchange succeeded.
    Complete { username: String },
    /// The exchange failed; every further message is refused.
    Failed,
}

struct Exchange {
    client_first: ClientFirst,
    server_first: String,
    nonce: String,
    credential: ScramCredential,
    /// False when `credential` is a fake one (unknown user, unusable credential).
    known_user: bool,
}

/// The server side of one SCRAM authentication (one per connection attempt).
///
/// ```
/// use sluice_auth::scram::{InMemoryCredentialStore, ScramCredential, ScramMechanism, ScramServer};
/// let mut store = InMemoryCredentialStore::new();
/// let cred = ScramCredential::derive(ScramMechanism::Sha512, "secret", b"salt", 4096).unwrap();
/// store.upsert("alice", ScramMechanism::Sha512, cred);
/// let mut server = ScramServer::new(ScramMechanism::Sha512, b"per-cluster fake-credential secret");
/// let server_first = server.handle_client_first(b"n,,n=alice,r=abc", &store).unwrap();
/// assert!(server_first.starts_with(b"r=abc"));
/// ```
pub struct ScramServer {
    mechanism: ScramMechanism,
    fake_secret: Vec<u8>,
    fixed_nonce: Option<String>,
    state: State,
}

impl fmt::Debug for ScramServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Initial => "Initial",
            State::ServerFirstSent(_) => "ServerFirstSent",
            State::Complete { .. } => "Complete",
            State::Failed => "Failed",
        };
        f.debug_struct("ScramServer")
            .field("mechanism", &self.mechanism)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl ScramServer {
    /// A server for `mechanism`. `fake_credential_secret` is a server-side
    /// secret (e.g. per cluster, at least 32 random bytes) from which unknown
    /// users' fake salts and keys are derived: keep it stable across
    /// restarts so an unknown user's salt does not change between attempts,
    /// and secret: whoever knows it can tell fake salts from real ones.
    pub fn new(mechanism: ScramMechanism, fake_credential_secret: &[u8]) -> Self {
        ScramServer {
            mechanism,
            fake_secret: fake_credential_secret.to_vec(),
            fixed_nonce: None,
            state: State::Initial,
        }
    }

    /// Uses `nonce` as the server's part of the nonce instead of a random
    /// one. For test vectors only: a fixed nonce lets client-final messages
    /// be replayed.
    pub fn with_fixed_server_nonce(mut self, nonce: &str) -> Self {
        self.fixed_nonce = Some(nonce.to_owned());
        self
    }

    /// The mechanism this exchange uses.
    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    /// Whether server-first has been sent and client-final is next.
    pub fn awaits_final(&self) -> bool {
        matches!(self.state, State::ServerFirstSent(_))
    }

    /// The authenticated user name once the exchange has succeeded.
    pub fn authenticated_user(&self) -> Option<&str> {
        match &self.state {
            State::Complete { username } => Some(username),
            _ => None,
        }
    }

    /// Step 1: takes client-first (`n,,n=user,r=nonce`), looks the user up in
    /// `store` and returns server-first (`r=...,s=...,i=...`).
    ///
    /// An unknown user gets a server-first built from a fake credential; the
    /// failure comes at step 2, as for a wrong password. Any error ends the
    /// exchange.
    pub fn handle_client_first(
        &mut self,
        client_first: &[u8],
        store: &impl CredentialStore,
    ) -> Result<Vec<u8>, ScramError> {
        if !matches!(self.state, State::Initial) {
            self.state = State::Failed;
            return Err(ScramError::InvalidState);
        }
        self.state = State::Failed;
        let client_first = messages::parse_client_first(client_first)?;
        if client_first.token_auth {
            return Err(ScramError::DelegationTokenNotSupported);
        }
        if let Some(authzid) = &client_first.authzid {
            if *authzid != client_first.username {
                return Err(ScramError::AuthorizationIdMismatch);
            }
        }
        let m = self.mechanism;
        let found = store
            .scram_credential(&client_first.username, m)
            .filter(|c| {
                (m.min_iterations()..=m.max_iterations()).contains(&c.iterations)
                    && !c.salt.is_empty()
                    && c.stored_key.len() == m.hash_len()
                    && c.server_key.len() == m.hash_len()
            });
        let known_user = found.is_some();
        let credential = found
            .unwrap_or_else(|| ScramCredential::fake(&self.fake_secret, m, &client_first.username));
        let server_nonce = match &self.fixed_nonce {
            Some(n) => n.clone(),
            None => URL_SAFE_NO_PAD.encode(crypto::random_bytes(24)),
        };
        let nonce = format!("{}{}", client_first.nonce, server_nonce);
        let server_first =
            messages::format_server_first(&nonce, &credential.salt, credential.iterations);
        let reply = server_first.clone().into_bytes();
        self.state = State::ServerFirstSent(Box::new(Exchange {
            client_first,
            server_first,
            nonce,
            credential,
            known_user,
        }));
        Ok(reply)
    }

    /// Step 2: takes client-final (`c=biws,r=...,p=...`), checks the channel
    /// binding, the nonce and (in constant time) the proof, and returns the
    /// user name and server-final (`v=...`). Any error ends the exchange.
    pub fn handle_client_final(&mut self, client_final: &[u8]) -> Result<ScramOutcome, ScramError> {
        let exchange = match std::mem::replace(&mut self.state, State::Failed) {
            State::ServerFirstSent(exchange) => exchange,
            _ => return Err(ScramError::InvalidState),
        };
        let m = self.mechanism;
        let client_final = messages::parse_client_final(client_final)?;
        if client_final.channel_binding != exchange.client_first.gs2_header.as_bytes() {
            return Err(ScramError::ChannelBindingMismatch);
        }
        // Kafka's ScramSaslServer checks `endsWith`, not equality, and librdkafka before 2.1
        // relies on it: it sends its own nonce again in front of the combined one. The proof
        // covers the message as sent, so nothing is weakened.
        if !client_final.nonce.ends_with(&exchange.nonce) {
            return Err(ScramError::InvalidNonce);
        }
        if client_final.proof.len() != m.hash_len() {
            return Err(ScramError::InvalidCredentials(m));
        }
        let auth_message = format!(
            "{},{},{}",
            exchange.client_first.bare, exchange.server_first, client_final.without_proof
        );
        let cred = &exchange.credential;
        let client_signature = crypto::hmac(m, &cred.stored_key, auth_message.as_bytes());
        let client_key = crypto::xor(&client_final.proof, &client_signature);
        let proof_ok = crypto::ct_eq(&crypto::hash(m, &client_key), &cred.stored_key);
        if !(proof_ok & exchange.known_user) {
            return Err(ScramError::InvalidCredentials(m));
        }
        let server_signature = crypto::hmac(m, &cred.server_key, auth_message.as_bytes());
        let username = exchange.client_first.username.clone();
        self.state = State::Complete {
            username: username.clone(),
        };
        Ok(ScramOutcome {
            username,
            server_final: messages::format_server_final(&server_signature).into_bytes(),
        })
    }
}
