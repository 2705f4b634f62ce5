//! A minimal SCRAM client, for tests only.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::messages::escape_saslname;
use super::ScramMechanism;
use crate::crypto;

/// The client side of an exchange: client-first, client-final, server-final check.
pub(super) struct Client {
    mechanism: ScramMechanism,
    pub(super) gs2_header: String,
    first_bare: String,
    nonce: String,
    password: String,
    auth_message: Option<String>,
    salted: Option<Vec<u8>>,
}

impl Client {
    pub(super) fn new(mechanism: ScramMechanism, user: &str, password: &str, nonce: &str) -> Self {
        Client {
            mechanism,
            gs2_header: "n,,".into(),
            first_bare: format!("n={},r={nonce}", escape_saslname(user)),
            nonce: nonce.into(),
            password: password.into(),
            auth_message: None,
            salted: None,
        }
    }

    pub(super) fn first(&self) -> Vec<u8> {
        format!("{}{}", self.gs2_header, self.first_bare).into_bytes()
    }

    /// client-final for server-first, with `nonce_override` to tamper with it.
    pub(super) fn final_message(
        &mut self,
        server_first: &[u8],
        nonce_override: Option<&str>,
    ) -> Vec<u8> {
        let sf = std::str::from_utf8(server_first).unwrap();
        let mut parts = sf.split(',');
        let nonce = parts.next().unwrap().strip_prefix("r=").unwrap();
        assert!(nonce.starts_with(&self.nonce));
        let salt = B64
            .decode(parts.next().unwrap().strip_prefix("s=").unwrap())
            .unwrap();
        let iterations: u32 = parts
            .next()
            .unwrap()
            .strip_prefix("i=")
            .unwrap()
            .parse()
            .unwrap();
        let m = self.mechanism;
        let salted = crypto::hi(m, self.password.as_bytes(), &salt, iterations);
        let client_key = crypto::hmac(m, &salted, b"Client Key");
        let stored_key = crypto::hash(m, &client_key);
        let without_proof = format!(
            "c={},r={}",
            B64.encode(&self.gs2_header),
            nonce_override.unwrap_or(nonce)
        );
        let auth_message = format!("{},{sf},{without_proof}", self.first_bare);
        let signature = crypto::hmac(m, &stored_key, auth_message.as_bytes());
        let proof = crypto::xor(&client_key, &signature);
        self.auth_message = Some(auth_message);
        self.salted = Some(salted);
        format!("{without_proof},p={}", B64.encode(proof)).into_bytes()
    }

    /// Checks server-final's signature.
    pub(super) fn verify_server_final(&self, server_final: &[u8]) -> bool {
        let m = self.mechanism;
        let server_key = crypto::hmac(m, self.salted.as_ref().unwrap(), b"Server Key");
        let expected = crypto::hmac(
            m,
            &server_key,
            self.auth_message.as_ref().unwrap().as_bytes(),
        );
        server_final == format!("v={}", B64.encode(expected)).as_bytes()
    }
}
