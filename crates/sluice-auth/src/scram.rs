//! SASL SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka does them.
//!
//! This module owns the stored form of a user's password ([`ScramCredential`]:
//! salt, iteration count, `StoredKey`, `ServerKey` — never the password), the
//! lookup of credentials ([`CredentialStore`]) and the server side of the
//! two-round exchange ([`ScramServer`]). The broker carries the bytes in
//! SaslAuthenticate frames and maps a [`ScramError`] to Kafka's
//! `SASL_AUTHENTICATION_FAILED` with the error's `Display` as the message.
//!
//! Differences from Kafka, all deliberate:
//! * an unknown user is not rejected at the first message: the exchange goes
//!   on with a fake credential derived from a server secret (stable per user
//!   name, so repeated attempts see the same salt) and fails at the proof,
//!   with the same message a wrong password gets;
//! * the `c=` attribute of client-final is checked against the GS2 header;
//! * the GS2 flag `y` is accepted (no `-PLUS` mechanism is offered), `p=` is
//!   refused;
//! * user names may be any UTF-8 (Kafka's pattern allows ASCII only).
//! * delegation tokens (`tokenauth=true`) are not supported and are refused.

use std::collections::HashMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::crypto;

mod client;
#[cfg(test)]
mod credential_tests;
mod messages;
mod server;
#[cfg(test)]
mod test_client;
#[cfg(test)]
mod tests;

pub use client::ScramClient;
pub use server::{ScramOutcome, ScramServer};

/// Kafka's `UNACCEPTABLE_CREDENTIAL` error code (AlterUserScramCredentials).
pub const UNACCEPTABLE_CREDENTIAL: i16 = 93;

/// A SCRAM mechanism Kafka supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ScramMechanism {
    /// `SCRAM-SHA-256` (RFC 7677).
    #[serde(rename = "SCRAM-SHA-256")]
    Sha256,
    /// `SCRAM-SHA-512`.
    #[serde(rename = "SCRAM-SHA-512")]
    Sha512,
}

impl ScramMechanism {
    /// Both mechanisms, strongest first.
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha512, ScramMechanism::Sha256];

    /// The SASL mechanism name (`SCRAM-SHA-256`, `SCRAM-SHA-512`).
    pub fn mechanism_name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// Parses a SASL mechanism name (exact, as Kafka compares them).
    pub fn from_mechanism_name(name: &str) -> Option<Self> {
        match name {
            "SCRAM-SHA-256" => Some(ScramMechanism::Sha256),
            "SCRAM-SHA-512" => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    /// The code Describe/AlterUserScramCredentials use on the wire (1, 2).
    pub fn wire_code(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    /// The mechanism for a wire code; `None` for 0 (`UNKNOWN`) and others.
    pub fn from_wire_code(code: i8) -> Option<Self> {
        match code {
            1 => Some(ScramMechanism::Sha256),
            2 => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    /// The fewest PBKDF2 iterations Kafka accepts (4096).
    pub fn min_iterations(self) -> u32 {
        4096
    }

    /// The most PBKDF2 iterations Kafka accepts (16384).
    pub fn max_iterations(self) -> u32 {
        16384
    }

    /// Length in bytes of the hash (and of keys, proofs and signatures).
    pub fn hash_len(self) -> usize {
        match self {
            ScramMechanism::Sha256 => 32,
            ScramMechanism::Sha512 => 64,
        }
    }
}

impl fmt::Display for ScramMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mechanism_name())
    }
}

/// Why a credential could not be made; maps to Kafka's `UNACCEPTABLE_CREDENTIAL`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Fewer iterations than the mechanism's minimum.
    #[error("Too few iterations: {iterations} (minimum {min})")]
    TooFewIterations {
        /// What was asked for.
        iterations: u32,
        /// The mechanism's minimum.
        min: u32,
    },
    /// More iterations than the mechanism's maximum.
    #[error("Too many iterations: {iterations} (maximum {max})")]
    TooManyIterations {
        /// What was asked for.
        iterations: u32,
        /// The mechanism's maximum.
        max: u32,
    },
    /// An empty salt.
    #[error("Salt must not be empty")]
    EmptySalt,
    /// An empty salted password (AlterUserScramCredentials).
    #[error("Salted password must not be empty")]
    EmptySaltedPassword,
}

impl CredentialError {
    /// The Kafka error code this maps to (`UNACCEPTABLE_CREDENTIAL`, 93).
    pub fn kafka_error_code(&self) -> i16 {
        UNACCEPTABLE_CREDENTIAL
    }
}

/// A user's stored SCRAM credential for one mechanism (RFC 5802 §3).
///
/// Holds what the server needs and nothing that lets anyone log in as the
/// user: `StoredKey = H(HMAC(SaltedPassword, "Client Key"))` and
/// `ServerKey = HMAC(SaltedPassword, "Server Key")`. Serialized with the
/// byte fields in standard base64. `Debug` redacts the keys.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramCredential {
    /// The salt, as sent to clients in server-first.
    #[serde(with = "b64")]
    pub salt: Vec<u8>,
    /// PBKDF2 iteration count.
    pub iterations: u32,
    /// `H(ClientKey)`: what a client proof is checked against.
    #[serde(with = "b64")]
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`: signs server-final.
    #[serde(with = "b64")]
    pub server_key: Vec<u8>,
}

impl fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredential")
            .field("salt", &B64.encode(&self.salt))
            .field("iterations", &self.iterations)
            .field("stored_key", &"<redacted>")
            .field("server_key", &"<redacted>")
            .finish()
    }
}

impl ScramCredential {
    /// Derives the credential for `password` with the given salt and
    /// iteration count (`SaltedPassword = Hi(password, salt, i)`). The
    /// password is used as its UTF-8 bytes, without SASLprep, as Kafka does.
    pub fn derive(
        mechanism: ScramMechanism,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, CredentialError> {
        check_params(mechanism, salt, iterations)?;
        let salted = crypto::hi(mechanism, password.as_bytes(), salt, iterations);
        Ok(Self::from_salted_unchecked(
            mechanism, salt, &salted, iterations,
        ))
    }

    /// Derives a credential for `password` with a fresh random 32-byte salt.
    pub fn generate(
        mechanism: ScramMechanism,
        password: &str,
        iterations: u32,
    ) -> Result<Self, CredentialError> {
        Self::derive(mechanism, password, &crypto::random_bytes(32), iterations)
    }

    /// Builds the credential from a client-supplied salted password, as an
    /// AlterUserScramCredentials upsertion carries it (`salt`,
    /// `salted_password`, `iterations`); the salted password itself is not kept.
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salt: &[u8],
        salted_password: &[u8],
        iterations: u32,
    ) -> Result<Self, CredentialError> {
        check_params(mechanism, salt, iterations)?;
        if salted_password.is_empty() {
            return Err(CredentialError::EmptySaltedPassword);
        }
        Ok(Self::from_salted_unchecked(
            mechanism,
            salt,
            salted_password,
            iterations,
        ))
    }

    pub(crate) fn from_salted_unchecked(
        mechanism: ScramMechanism,
        salt: &[u8],
        salted_password: &[u8],
        iterations: u32,
    ) -> Self {
        let client_key = crypto::hmac(mechanism, salted_password, b"Client Key");
        ScramCredential {
            salt: salt.to_vec(),
            iterations,
            stored_key: crypto::hash(mechanism, &client_key),
            server_key: crypto::hmac(mechanism, salted_password, b"Server Key"),
        }
    }

    /// Whether `password` is this credential's password (constant-time
    /// comparison of the StoredKey; costs one PBKDF2 derivation).
    pub fn verify_password(&self, mechanism: ScramMechanism, password: &str) -> bool {
        let salted = crypto::hi(mechanism, password.as_bytes(), &self.salt, self.iterations);
        let client_key = crypto::hmac(mechanism, &salted, b"Client Key");
        crypto::ct_eq(&crypto::hash(mechanism, &client_key), &self.stored_key)
    }

    /// A credential that matches no password, the same for every call with
    /// the same `secret`, mechanism and user name: what unknown users are
    /// checked against so that they look like known ones.
    pub(crate) fn fake(secret: &[u8], mechanism: ScramMechanism, username: &str) -> Self {
        let tag = |label: &[u8]| {
            crypto::hmac_sha256(
                secret,
                &[
                    label,
                    mechanism.mechanism_name().as_bytes(),
                    b"\0",
                    username.as_bytes(),
                ],
            )
        };
        let seed = tag(b"sluice-fake-scram-key");
        let salted = crypto::hmac(mechanism, &seed, b"salted");
        Self::from_salted_unchecked(
            mechanism,
            &tag(b"sluice-fake-scram-salt"),
            &salted,
            mechanism.min_iterations(),
        )
    }
}

fn check_params(
    mechanism: ScramMechanism,
    salt: &[u8],
    iterations: u32,
) -> Result<(), CredentialError> {
    if iterations < mechanism.min_iterations() {
        return Err(CredentialError::TooFewIterations {
            iterations,
            min: mechanism.min_iterations(),
        });
    }
    if iterations > mechanism.max_iterations() {
        return Err(CredentialError::TooManyIterations {
            iterations,
            max: mechanism.max_iterations(),
        });
    }
    if salt.is_empty() {
        return Err(CredentialError::EmptySalt);
    }
    Ok(())
}

/// Where SCRAM (and PLAIN) look up a user's credential for a mechanism.
///
/// Implemented for [`InMemoryCredentialStore`] and for any
/// `Fn(&str, ScramMechanism) -> Option<ScramCredential>`.
pub trait CredentialStore {
    /// The credential of `username` for `mechanism`, if the user has one.
    fn scram_credential(
        &self,
        username: &str,
        mechanism: ScramMechanism,
    ) -> Option<ScramCredential>;
}

impl<F> CredentialStore for F
where
    F: Fn(&str, ScramMechanism) -> Option<ScramCredential>,
{
    fn scram_credential(
        &self,
        username: &str,
        mechanism: ScramMechanism,
    ) -> Option<ScramCredential> {
        self(username, mechanism)
    }
}

/// A credential store in a `HashMap`, keyed by user name and mechanism: what
/// the broker keeps from replicated `UserScramCredentialRecord`s.
#[derive(Debug, Clone, Default)]
pub struct InMemoryCredentialStore {
    credentials: HashMap<(String, ScramMechanism), ScramCredential>,
}

impl InMemoryCredentialStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (adds or replaces) a user's credential for a mechanism.
    pub fn upsert(
        &mut self,
        username: &str,
        mechanism: ScramMechanism,
        credential: ScramCredential,
    ) {
        self.credentials
            .insert((username.to_owned(), mechanism), credential);
    }

    /// Removes a user's credential for a mechanism; whether it was there.
    pub fn remove(&mut self, username: &str, mechanism: ScramMechanism) -> bool {
        self.credentials
            .remove(&(username.to_owned(), mechanism))
            .is_some()
    }

    /// The mechanisms and iteration counts a user has credentials for, as
    /// DescribeUserScramCredentials reports them (strongest first).
    pub fn describe(&self, username: &str) -> Vec<(ScramMechanism, u32)> {
        ScramMechanism::ALL
            .iter()
            .filter_map(|&m| {
                self.credentials
                    .get(&(username.to_owned(), m))
                    .map(|c| (m, c.iterations))
            })
            .collect()
    }

    /// Number of (user, mechanism) credentials held.
    pub fn len(&self) -> usize {
        self.credentials.len()
    }

    /// Whether the store holds no credential.
    pub fn is_empty(&self) -> bool {
        self.credentials.is_empty()
    }
}

impl CredentialStore for InMemoryCredentialStore {
    fn scram_credential(
        &self,
        username: &str,
        mechanism: ScramMechanism,
    ) -> Option<ScramCredential> {
        self.credentials
            .get(&(username.to_owned(), mechanism))
            .cloned()
    }
}

/// Why a SCRAM exchange failed. `Display` is safe to send to the client: it
/// never includes a password, key, proof or (for credential failures) a hint
/// of whether the user exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    /// The message is not valid SCRAM syntax (the reason is a fixed text).
    #[error("Authentication failed: invalid SCRAM message: {0}")]
    Malformed(&'static str),
    /// The client asked for channel binding (`p=`), which is not offered.
    #[error("Authentication failed: channel binding is not supported")]
    ChannelBindingNotSupported,
    /// The `c=` attribute of client-final does not match the GS2 header.
    #[error("Authentication failed: channel binding data does not match")]
    ChannelBindingMismatch,
    /// An authorization id other than the user name (Kafka's text).
    #[error("Authentication failed: Client requested an authorization id that is different from username")]
    AuthorizationIdMismatch,
    /// A client-first extension other than `tokenauth`.
    #[error("Authentication failed: Unsupported extensions")]
    UnsupportedExtension,
    /// `tokenauth=true`: delegation-token authentication is not supported.
    #[error("Authentication failed: delegation token authentication is not supported")]
    DelegationTokenNotSupported,
    /// The nonce of client-final is not the one the server sent (Kafka's text).
    #[error("Authentication failed: Invalid client nonce in the final client message.")]
    InvalidNonce,
    /// Wrong password or unknown user (indistinguishable on purpose; Kafka's text).
    #[error("Authentication failed during authentication due to invalid credentials with SASL mechanism {0}")]
    InvalidCredentials(ScramMechanism),
    /// A message arrived out of order, or after the exchange finished or failed.
    #[error("Authentication failed: unexpected SCRAM message in this state")]
    InvalidState,
}

/// Serde helper: `Vec<u8>` as a standard base64 string.
mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}
