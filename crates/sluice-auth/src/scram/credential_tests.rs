//! Credentials, their store and their serialized form.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::*;
use crate::crypto;

const SECRET: &[u8] = b"test fake-credential secret, 32+ bytes long";

#[test]
fn credential_derivation_and_validation() {
    let m = ScramMechanism::Sha512;
    let derived = ScramCredential::derive(m, "pw", b"salt", 4096).unwrap();
    let salted = crypto::hi(m, b"pw", b"salt", 4096);
    assert_eq!(
        ScramCredential::from_salted_password(m, b"salt", &salted, 4096).unwrap(),
        derived
    );
    assert!(derived.verify_password(m, "pw"));
    assert!(!derived.verify_password(m, "pw2"));
    assert_eq!(
        (derived.stored_key.len(), derived.server_key.len()),
        (64, 64)
    );
    assert_eq!(
        ScramCredential::derive(m, "pw", b"salt", 4095),
        Err(CredentialError::TooFewIterations {
            iterations: 4095,
            min: 4096
        })
    );
    assert_eq!(
        ScramCredential::derive(m, "pw", b"salt", 16385),
        Err(CredentialError::TooManyIterations {
            iterations: 16385,
            max: 16384
        })
    );
    assert!(ScramCredential::derive(m, "pw", b"salt", 16384).is_ok());
    assert_eq!(
        ScramCredential::derive(m, "pw", b"", 4096),
        Err(CredentialError::EmptySalt)
    );
    let err = ScramCredential::from_salted_password(m, b"salt", b"", 4096).unwrap_err();
    assert_eq!(err, CredentialError::EmptySaltedPassword);
    assert_eq!(err.kafka_error_code(), 93);
    let a = ScramCredential::generate(m, "pw", 4096).unwrap();
    let b = ScramCredential::generate(m, "pw", 4096).unwrap();
    assert_ne!(a.salt, b.salt);
}

#[test]
fn credential_debug_redacts_and_serde_round_trips() {
    let cred = ScramCredential::derive(ScramMechanism::Sha256, "pw", b"salt", 4096).unwrap();
    let debug = format!("{cred:?}");
    assert!(debug.contains("<redacted>") && debug.contains("4096"));
    assert!(!debug.contains(&B64.encode(&cred.stored_key)));
    assert!(!debug.contains(&format!("{:?}", cred.stored_key)));
    let json = serde_json::to_string(&cred).unwrap();
    assert!(json.contains(&format!("\"salt\":\"{}\"", B64.encode(b"salt"))));
    assert_eq!(
        serde_json::from_str::<ScramCredential>(&json).unwrap(),
        cred
    );
    assert!(serde_json::from_str::<ScramCredential>(
        r#"{"salt":"!","iterations":4096,"stored_key":"","server_key":""}"#
    )
    .is_err());
}

#[test]
fn store_operations_and_closure_store() {
    let mut store = InMemoryCredentialStore::new();
    assert!(store.is_empty());
    let c256 = ScramCredential::derive(ScramMechanism::Sha256, "pw", b"s", 8192).unwrap();
    let c512 = ScramCredential::derive(ScramMechanism::Sha512, "pw", b"s", 4096).unwrap();
    store.upsert("alice", ScramMechanism::Sha256, c256.clone());
    store.upsert("alice", ScramMechanism::Sha512, c512);
    assert_eq!(store.len(), 2);
    assert_eq!(
        store.describe("alice"),
        vec![
            (ScramMechanism::Sha512, 4096),
            (ScramMechanism::Sha256, 8192)
        ]
    );
    assert!(store.remove("alice", ScramMechanism::Sha512));
    assert!(!store.remove("alice", ScramMechanism::Sha512));
    assert_eq!(store.describe("bob"), vec![]);
    let closure = |user: &str, m: ScramMechanism| {
        (user == "alice" && m == ScramMechanism::Sha256).then(|| c256.clone())
    };
    let mut server = ScramServer::new(ScramMechanism::Sha256, SECRET);
    assert!(server
        .handle_client_first(b"n,,n=alice,r=x", &closure)
        .is_ok());
}
