//! The client side of a SCRAM exchange, for brokers authenticating to each other (follower
//! fetches on a SASL inter-broker listener) and for Sluice's own tools. No channel binding
//! (GS2 header `n,,`), no authorization id.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::messages::escape_saslname;
use super::{ScramError, ScramMechanism};
use crate::crypto;

/// One client exchange: [`first`](Self::first), [`final_message`](Self::final_message) for the
/// server-first, then [`verify_server_final`](Self::verify_server_final).
pub struct ScramClient {
    mechanism: ScramMechanism,
    first_bare: String,
    nonce: String,
    password: String,
    // Set by `final_message`: what server-final is checked against.
    expected_server_final: Option<Vec<u8>>,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

const GS2_HEADER: &str = "n,,";

impl ScramClient {
    /// A new exchange for `user` with a random nonce.
    pub fn new(mechanism: ScramMechanism, user: &str, password: &str) -> Self {
        let nonce = B64.encode(crypto::random_bytes(24));
        Self::with_nonce(mechanism, user, password, &nonce)
    }

    fn with_nonce(mechanism: ScramMechanism, user: &str, password: &str, nonce: &str) -> Self {
        ScramClient {
            mechanism,
            first_bare: format!("n={},r={nonce}", escape_saslname(user)),
            nonce: nonce.to_owned(),
            password: password.to_owned(),
            expected_server_final: None,
        }
    }

    /// client-first-message.
    pub fn first(&self) -> Vec<u8> {
        format!("{GS2_HEADER}{}", self.first_bare).into_bytes()
    }

    /// client-final-message for the server's `server_first`. Refuses a server nonce that does
    /// not extend ours, and an iteration count outside the mechanism's limits (a hostile
    /// server could otherwise make the client burn CPU).
    pub fn final_message(&mut self, server_first: &[u8]) -> Result<Vec<u8>, ScramError> {
        let sf =
            std::str::from_utf8(server_first).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in sf.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => {
                    salt = Some(
                        B64.decode(v)
                            .map_err(|_| ScramError::Malformed("salt is not base64"))?,
                    )
                }
                Some(("i", v)) => {
                    iterations = Some(
                        v.parse::<u32>()
                            .map_err(|_| ScramError::Malformed("bad iteration count"))?,
                    )
                }
                Some(("m", _)) => return Err(ScramError::UnsupportedExtension),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(ScramError::Malformed("server-first lacks r, s or i"));
        };
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(ScramError::InvalidNonce);
        }
        let m = self.mechanism;
        if !(m.min_iterations()..=m.max_iterations()).contains(&iterations) || salt.is_empty() {
            return Err(ScramError::Malformed(
                "iteration count or salt out of bounds",
            ));
        }
        let salted = crypto::hi(m, self.password.as_bytes(), &salt, iterations);
        let client_key = crypto::hmac(m, &salted, b"Client Key");
        let stored_key = crypto::hash(m, &client_key);
        let without_proof = format!("c={},r={nonce}", B64.encode(GS2_HEADER));
        let auth_message = format!("{},{sf},{without_proof}", self.first_bare);
        let signature = crypto::hmac(m, &stored_key, auth_message.as_bytes());
        let proof = crypto::xor(&client_key, &signature);
        let server_key = crypto::hmac(m, &salted, b"Server Key");
        let server_signature = crypto::hmac(m, &server_key, auth_message.as_bytes());
        self.expected_server_final =
            Some(format!("v={}", B64.encode(server_signature)).into_bytes());
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks server-final: the server proved it knows the credential (constant time).
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), ScramError> {
        match &self.expected_server_final {
            Some(expected) if crypto::ct_eq(expected, server_final) => Ok(()),
            Some(_) => Err(ScramError::InvalidCredentials(self.mechanism)),
            None => Err(ScramError::InvalidState),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scram::{InMemoryCredentialStore, ScramCredential, ScramServer};

    fn store(m: ScramMechanism) -> InMemoryCredentialStore {
        let mut s = InMemoryCredentialStore::new();
        let credential = ScramCredential::generate(m, "secret", 4096).unwrap();
        s.upsert("broker", m, credential);
        s
    }

    #[test]
    fn a_client_and_the_server_agree_on_both_mechanisms() {
        for m in ScramMechanism::ALL {
            let store = store(m);
            let mut server = ScramServer::new(m, b"fake");
            let mut client = ScramClient::new(m, "broker", "secret");
            let sf = server.handle_client_first(&client.first(), &store).unwrap();
            let cf = client.final_message(&sf).unwrap();
            let outcome = server.handle_client_final(&cf).unwrap();
            assert_eq!(outcome.username, "broker");
            client.verify_server_final(&outcome.server_final).unwrap();
        }
    }

    #[test]
    fn a_wrong_password_fails_at_the_server_and_a_forged_server_final_at_the_client() {
        let m = ScramMechanism::Sha512;
        let store = store(m);
        let mut server = ScramServer::new(m, b"fake");
        let mut client = ScramClient::new(m, "broker", "wrong");
        let sf = server.handle_client_first(&client.first(), &store).unwrap();
        let cf = client.final_message(&sf).unwrap();
        assert_eq!(
            server.handle_client_final(&cf).unwrap_err(),
            ScramError::InvalidCredentials(m)
        );
        assert!(client.verify_server_final(b"v=AAAA").is_err());
    }

    #[test]
    fn a_hostile_server_first_is_refused() {
        let m = ScramMechanism::Sha256;
        let mut client = ScramClient::with_nonce(m, "u", "p", "abc");
        for sf in [
            "r=xyz123,s=c2FsdA==,i=4096",    // nonce not ours
            "r=abc,s=c2FsdA==,i=4096",       // nonce not extended
            "r=abcdef,s=c2FsdA==,i=1000000", // iteration bomb
            "r=abcdef,s=c2FsdA==,i=10",      // too few
            "r=abcdef,i=4096",               // no salt
            "m=ext,r=abcdef,s=c2FsdA==,i=4096",
            "\u{ff}",
        ] {
            assert!(client.final_message(sf.as_bytes()).is_err(), "{sf}");
        }
        assert_eq!(
            client.verify_server_final(b"v=x"),
            Err(ScramError::InvalidState)
        );
    }
}
