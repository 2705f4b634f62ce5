//! SASL PLAIN (RFC 4616), verified against the SCRAM credential store.
//!
//! This module owns parsing `authzid \0 authcid \0 passwd` and checking the
//! password without ever storing it: the password is salted with the stored
//! credential's salt and iteration count and the resulting StoredKey is
//! compared in constant time. Passwords are checked against the strongest
//! mechanism the user has a credential for (SCRAM-SHA-512, then -256).
//! Unknown users cost one PBKDF2 derivation too (a fake SHA-512 credential
//! at 4096 iterations), so timing shows at most the user's iteration count.
//!
//! PLAIN sends the password in clear: the broker should only offer it on TLS
//! listeners.

use std::fmt;

use crate::scram::{CredentialStore, ScramCredential, ScramMechanism};

/// Why a PLAIN authentication failed; `Display` is safe to send to the client
/// (Kafka's texts where Kafka has one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlainError {
    /// Not three NUL-separated UTF-8 fields.
    #[error("Invalid SASL/PLAIN response: expected 3 tokens, got {0}")]
    WrongTokenCount(usize),
    /// A field is not UTF-8.
    #[error("Invalid SASL/PLAIN response: not UTF-8")]
    NotUtf8,
    /// The authentication id is empty.
    #[error("Authentication failed: username not specified")]
    EmptyUsername,
    /// The password is empty.
    #[error("Authentication failed: password not specified")]
    EmptyPassword,
    /// An authorization id other than the user name.
    #[error("Authentication failed: Client requested an authorization id that is different from username")]
    AuthorizationIdMismatch,
    /// Wrong password or unknown user (indistinguishable on purpose).
    #[error("Authentication failed: Invalid username or password")]
    InvalidCredentials,
}

/// The three fields of a PLAIN message. `Debug` redacts the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainMessage<'a> {
    /// The authorization id (empty when not given).
    pub authzid: &'a str,
    /// The authentication id: the user name.
    pub username: &'a str,
    /// The password, in clear.
    pub password: &'a str,
}

impl fmt::Debug for PlainMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainMessage")
            .field("authzid", &self.authzid)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Parses `authzid \0 authcid \0 passwd`, checking what Kafka's PlainSaslServer
/// checks: three fields, a non-empty user name and password, and an authzid
/// that is empty or equal to the user name.
pub fn parse(message: &[u8]) -> Result<PlainMessage<'_>, PlainError> {
    let text = std::str::from_utf8(message).map_err(|_| PlainError::NotUtf8)?;
    let tokens: Vec<&str> = text.split('\0').collect();
    let [authzid, username, password] = tokens[..] else {
        return Err(PlainError::WrongTokenCount(tokens.len()));
    };
    if username.is_empty() {
        return Err(PlainError::EmptyUsername);
    }
    if password.is_empty() {
        return Err(PlainError::EmptyPassword);
    }
    if !authzid.is_empty() && authzid != username {
        return Err(PlainError::AuthorizationIdMismatch);
    }
    Ok(PlainMessage {
        authzid,
        username,
        password,
    })
}

/// Authenticates a PLAIN message against `store`; returns the user name.
///
/// `fake_credential_secret` plays the same role as in
/// [`ScramServer::new`](crate::scram::ScramServer::new).
pub fn authenticate(
    message: &[u8],
    store: &impl CredentialStore,
    fake_credential_secret: &[u8],
) -> Result<String, PlainError> {
    let msg = parse(message)?;
    let found = ScramMechanism::ALL
        .iter()
        .find_map(|&m| store.scram_credential(msg.username, m).map(|c| (m, c)))
        .filter(|(m, c)| {
            (m.min_iterations()..=m.max_iterations()).contains(&c.iterations) && !c.salt.is_empty()
        });
    let known_user = found.is_some();
    let (mechanism, credential) = found.unwrap_or_else(|| {
        let m = ScramMechanism::Sha512;
        (
            m,
            ScramCredential::fake(fake_credential_secret, m, msg.username),
        )
    });
    let ok = credential.verify_password(mechanism, msg.password);
    if ok & known_user {
        Ok(msg.username.to_owned())
    } else {
        Err(PlainError::InvalidCredentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scram::InMemoryCredentialStore;

    const SECRET: &[u8] = b"fake secret";

    fn store() -> InMemoryCredentialStore {
        let mut s = InMemoryCredentialStore::new();
        let m = ScramMechanism::Sha256;
        s.upsert(
            "alice",
            m,
            ScramCredential::derive(m, "pw256", b"salt", 4096).unwrap(),
        );
        let m = ScramMechanism::Sha512;
        s.upsert(
            "bob",
            m,
            ScramCredential::derive(m, "pw512", b"salt", 4096).unwrap(),
        );
        s.upsert("bob", ScramMechanism::Sha256, {
            ScramCredential::derive(ScramMechanism::Sha256, "old", b"salt", 4096).unwrap()
        });
        s
    }

    #[test]
    fn parses_the_three_fields() {
        let m = parse(b"\0alice\0pw").unwrap();
        assert_eq!((m.authzid, m.username, m.password), ("", "alice", "pw"));
        let m = parse(b"alice\0alice\0p\x01w").unwrap();
        assert_eq!(m.password, "p\u{1}w");
        assert!(!format!("{m:?}").contains("p\\u{1}w"));
        assert!(format!("{m:?}").contains("<redacted>"));
    }

    #[test]
    fn refuses_malformed_messages() {
        assert_eq!(parse(b"alice\0pw"), Err(PlainError::WrongTokenCount(2)));
        assert_eq!(parse(b""), Err(PlainError::WrongTokenCount(1)));
        assert_eq!(parse(b"\0a\0b\0c"), Err(PlainError::WrongTokenCount(4)));
        assert_eq!(parse(b"\0\0pw"), Err(PlainError::EmptyUsername));
        assert_eq!(parse(b"\0alice\0"), Err(PlainError::EmptyPassword));
        assert_eq!(
            parse(b"bob\0alice\0pw"),
            Err(PlainError::AuthorizationIdMismatch)
        );
        assert_eq!(parse(b"\0al\xffice\0pw"), Err(PlainError::NotUtf8));
        assert_eq!(
            PlainError::WrongTokenCount(2).to_string(),
            "Invalid SASL/PLAIN response: expected 3 tokens, got 2"
        );
    }

    #[test]
    fn authenticates_against_scram_credentials() {
        let s = store();
        assert_eq!(
            authenticate(b"\0alice\0pw256", &s, SECRET).unwrap(),
            "alice"
        );
        assert_eq!(
            authenticate(b"alice\0alice\0pw256", &s, SECRET).unwrap(),
            "alice"
        );
        // The strongest mechanism's credential is the one checked.
        assert_eq!(authenticate(b"\0bob\0pw512", &s, SECRET).unwrap(), "bob");
        assert_eq!(
            authenticate(b"\0bob\0old", &s, SECRET),
            Err(PlainError::InvalidCredentials)
        );
    }

    #[test]
    fn wrong_password_and_unknown_user_fail_alike() {
        let s = store();
        let wrong = authenticate(b"\0alice\0nope", &s, SECRET).unwrap_err();
        let unknown = authenticate(b"\0mallory\0nope", &s, SECRET).unwrap_err();
        assert_eq!(wrong, PlainError::InvalidCredentials);
        assert_eq!(wrong, unknown);
        assert!(!wrong.to_string().contains("nope"));
    }

    #[test]
    fn random_messages_never_panic() {
        use rand::{Rng, RngCore, SeedableRng};
        let s = store();
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for _ in 0..500 {
            let mut msg = vec![0u8; rng.random_range(0..24)];
            rng.fill_bytes(&mut msg);
            for b in &mut msg {
                if *b < 64 {
                    *b = 0;
                }
            }
            let _ = parse(&msg);
        }
        // Two fields that parse: the full check runs (and fails).
        assert!(authenticate(b"\0x\0y", &s, SECRET).is_err());
    }

    #[test]
    fn unusable_credential_is_refused() {
        let mut s = InMemoryCredentialStore::new();
        let m = ScramMechanism::Sha256;
        let mut c = ScramCredential::derive(m, "pw", b"salt", 4096).unwrap();
        c.iterations = 100;
        s.upsert("weak", m, c);
        assert_eq!(
            authenticate(b"\0weak\0pw", &s, SECRET),
            Err(PlainError::InvalidCredentials)
        );
    }
}
