use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::{Rng, RngCore, SeedableRng};

use super::messages::{escape_saslname, unescape_saslname};
use super::test_client::Client;
use super::*;

const SECRET: &[u8] = b"test fake-credential secret, 32+ bytes long";

fn store_with(user: &str, password: &str, m: ScramMechanism) -> InMemoryCredentialStore {
    let mut store = InMemoryCredentialStore::new();
    store.upsert(
        user,
        m,
        ScramCredential::generate(m, password, 4096).unwrap(),
    );
    store
}

fn run(
    m: ScramMechanism,
    store: &InMemoryCredentialStore,
    user: &str,
    password: &str,
) -> Result<ScramOutcome, ScramError> {
    let mut client = Client::new(m, user, password, "fyko+d2lbbFgONRv9qkxdawL");
    let mut server = ScramServer::new(m, SECRET);
    let sf = server.handle_client_first(&client.first(), store)?;
    let outcome = server.handle_client_final(&client.final_message(&sf, None))?;
    assert!(client.verify_server_final(&outcome.server_final));
    assert_eq!(server.authenticated_user(), Some(outcome.username.as_str()));
    Ok(outcome)
}

#[test]
fn mechanism_names_codes_and_limits() {
    use ScramMechanism::*;
    assert_eq!(Sha256.mechanism_name(), "SCRAM-SHA-256");
    assert_eq!(Sha512.to_string(), "SCRAM-SHA-512");
    assert_eq!(
        ScramMechanism::from_mechanism_name("SCRAM-SHA-512"),
        Some(Sha512)
    );
    assert_eq!(ScramMechanism::from_mechanism_name("scram-sha-512"), None);
    assert_eq!((Sha256.wire_code(), Sha512.wire_code()), (1, 2));
    assert_eq!(ScramMechanism::from_wire_code(1), Some(Sha256));
    assert_eq!(ScramMechanism::from_wire_code(2), Some(Sha512));
    assert_eq!(ScramMechanism::from_wire_code(0), None);
    for m in ScramMechanism::ALL {
        assert_eq!((m.min_iterations(), m.max_iterations()), (4096, 16384));
    }
    assert_eq!(serde_json::to_string(&Sha256).unwrap(), "\"SCRAM-SHA-256\"");
}

/// RFC 7677 §3: the SCRAM-SHA-256 example conversation.
#[test]
fn rfc7677_example_conversation() {
    let m = ScramMechanism::Sha256;
    let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
    let mut store = InMemoryCredentialStore::new();
    store.upsert(
        "user",
        m,
        ScramCredential::derive(m, "pencil", &salt, 4096).unwrap(),
    );
    let mut server =
        ScramServer::new(m, SECRET).with_fixed_server_nonce("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    let sf = server
        .handle_client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", &store)
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&sf).unwrap(),
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    );
    let outcome = server
        .handle_client_final(
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
              p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        )
        .unwrap();
    assert_eq!(outcome.username, "user");
    assert_eq!(
        std::str::from_utf8(&outcome.server_final).unwrap(),
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    );
    // The test client computes the same proof.
    let mut client = Client::new(m, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    let cf = client.final_message(&sf, None);
    assert!(cf.ends_with(b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
}

#[test]
fn sha512_and_sha256_right_password() {
    for m in ScramMechanism::ALL {
        let store = store_with("alice", "s3cret", m);
        assert_eq!(run(m, &store, "alice", "s3cret").unwrap().username, "alice");
    }
}

#[test]
fn wrong_password_and_unknown_user_fail_alike() {
    let m = ScramMechanism::Sha512;
    let store = store_with("alice", "s3cret", m);
    let wrong = run(m, &store, "alice", "guess").unwrap_err();
    let unknown = run(m, &store, "mallory", "guess").unwrap_err();
    assert_eq!(wrong, ScramError::InvalidCredentials(m));
    assert_eq!(wrong, unknown);
    assert_eq!(
        wrong.to_string(),
        "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
    );
    // A user with only the other mechanism's credential is unknown here.
    let store256 = store_with("bob", "pw", ScramMechanism::Sha256);
    assert_eq!(
        run(m, &store256, "bob", "pw").unwrap_err(),
        ScramError::InvalidCredentials(m)
    );
}

#[test]
fn unknown_user_server_first_looks_real_and_is_stable() {
    let m = ScramMechanism::Sha512;
    let store = InMemoryCredentialStore::new();
    let first = |user: &str| {
        let mut s = ScramServer::new(m, SECRET).with_fixed_server_nonce("N");
        let msg = format!("n,,n={user},r=abc");
        String::from_utf8(s.handle_client_first(msg.as_bytes(), &store).unwrap()).unwrap()
    };
    let a = first("ghost");
    assert_eq!(a, first("ghost"), "same salt on every attempt");
    assert_ne!(a, first("ghost2"));
    let salt = a.split(',').nth(1).unwrap().strip_prefix("s=").unwrap();
    assert_eq!(B64.decode(salt).unwrap().len(), 32);
    assert!(a.ends_with(",i=4096"));
    // A different secret gives a different fake salt.
    let mut s = ScramServer::new(m, b"other").with_fixed_server_nonce("N");
    assert_ne!(
        s.handle_client_first(b"n,,n=ghost,r=abc", &store).unwrap(),
        a.into_bytes()
    );
}

#[test]
fn unusable_stored_credential_is_treated_as_unknown() {
    let m = ScramMechanism::Sha256;
    let mut cred = ScramCredential::derive(m, "pw", b"salt", 4096).unwrap();
    cred.iterations = 1000;
    let mut store = InMemoryCredentialStore::new();
    store.upsert("weak", m, cred);
    assert_eq!(
        run(m, &store, "weak", "pw").unwrap_err(),
        ScramError::InvalidCredentials(m)
    );
}

#[test]
fn tampered_nonce_is_refused() {
    let m = ScramMechanism::Sha512;
    let store = store_with("alice", "s3cret", m);
    let mut client = Client::new(m, "alice", "s3cret", "clientnonce");
    let mut server = ScramServer::new(m, SECRET);
    let sf = server.handle_client_first(&client.first(), &store).unwrap();
    let cf = client.final_message(&sf, Some("clientnonceFORGED"));
    assert_eq!(
        server.handle_client_final(&cf),
        Err(ScramError::InvalidNonce)
    );
    assert_eq!(server.authenticated_user(), None);
}

#[test]
fn replayed_client_final_is_refused() {
    let m = ScramMechanism::Sha512;
    let store = store_with("alice", "s3cret", m);
    let mut client = Client::new(m, "alice", "s3cret", "clientnonce");
    let mut server = ScramServer::new(m, SECRET);
    let sf = server.handle_client_first(&client.first(), &store).unwrap();
    let cf = client.final_message(&sf, None);
    server.handle_client_final(&cf).unwrap();
    // Again on the same exchange.
    assert_eq!(
        server.handle_client_final(&cf),
        Err(ScramError::InvalidState)
    );
    assert_eq!(
        server.authenticated_user(),
        None,
        "a refused message ends the exchange"
    );
    // On a new exchange: its server nonce differs.
    let mut server2 = ScramServer::new(m, SECRET);
    server2
        .handle_client_first(&client.first(), &store)
        .unwrap();
    assert_eq!(
        server2.handle_client_final(&cf),
        Err(ScramError::InvalidNonce)
    );
}

#[test]
fn out_of_order_and_failed_exchanges_refuse_everything() {
    let m = ScramMechanism::Sha256;
    let store = store_with("alice", "pw", m);
    let mut server = ScramServer::new(m, SECRET);
    assert_eq!(
        server.handle_client_final(b"c=biws,r=x,p=AAAA"),
        Err(ScramError::InvalidState)
    );
    assert_eq!(
        server.handle_client_first(b"n,,n=alice,r=abc", &store),
        Err(ScramError::InvalidState)
    );
    let mut server = ScramServer::new(m, SECRET);
    server
        .handle_client_first(b"n,,n=alice,r=abc", &store)
        .unwrap();
    assert_eq!(
        server.handle_client_first(b"n,,n=alice,r=abc", &store),
        Err(ScramError::InvalidState)
    );
    let mut server = ScramServer::new(m, SECRET);
    assert!(server.handle_client_first(b"garbage", &store).is_err());
    assert_eq!(
        server.handle_client_final(b"c=biws,r=x,p=AAAA"),
        Err(ScramError::InvalidState)
    );
    assert!(format!("{server:?}").contains("Failed"));
}

#[test]
fn gs2_header_variants() {
    let m = ScramMechanism::Sha256;
    let store = store_with("alice", "pw", m);
    let first = |msg: &str| ScramServer::new(m, SECRET).handle_client_first(msg.as_bytes(), &store);
    assert_eq!(
        first("p=tls-unique,,n=alice,r=abc"),
        Err(ScramError::ChannelBindingNotSupported)
    );
    assert!(first("y,,n=alice,r=abc").is_ok());
    assert!(first("n,a=alice,n=alice,r=abc").is_ok());
    assert_eq!(
        first("n,a=bob,n=alice,r=abc"),
        Err(ScramError::AuthorizationIdMismatch)
    );
    assert!(matches!(
        first("x,,n=alice,r=abc"),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(
        first("n,b=alice,n=alice,r=abc"),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(
        first("n,,m=ext,n=alice,r=abc"),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(
        first("n,,n=,r=abc"),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(
        first("n,,n=alice,r="),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(first("n,,n=alice"), Err(ScramError::Malformed(_))));
    assert!(matches!(
        first("n,,r=abc,n=alice"),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(
        first("n,,n=al=ice,r=abc"),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(
        first("n,,n=alice,r=a\u{7f}b"),
        Err(ScramError::Malformed(_))
    ));
    assert_eq!(
        first("n,,n=alice,r=abc,tokenauth=true"),
        Err(ScramError::DelegationTokenNotSupported)
    );
    assert!(first("n,,n=alice,r=abc,tokenauth=false").is_ok());
    assert_eq!(
        first("n,,n=alice,r=abc,foo=bar"),
        Err(ScramError::UnsupportedExtension)
    );
}

#[test]
fn y_flag_and_authzid_round_trip_through_channel_binding() {
    let m = ScramMechanism::Sha512;
    let store = store_with("alice", "pw", m);
    for header in ["y,,", "n,a=alice,"] {
        let mut client = Client::new(m, "alice", "pw", "nonce");
        client.gs2_header = header.into();
        let mut server = ScramServer::new(m, SECRET);
        let sf = server.handle_client_first(&client.first(), &store).unwrap();
        let cf = client.final_message(&sf, None);
        assert_eq!(server.handle_client_final(&cf).unwrap().username, "alice");
    }
}

#[test]
fn channel_binding_attribute_must_echo_the_gs2_header() {
    let m = ScramMechanism::Sha512;
    let store = store_with("alice", "pw", m);
    let mut client = Client::new(m, "alice", "pw", "nonce");
    let mut server = ScramServer::new(m, SECRET);
    let sf = server.handle_client_first(&client.first(), &store).unwrap();
    let cf = String::from_utf8(client.final_message(&sf, None)).unwrap();
    // "eSws" is base64("y,,"), but the client sent "n,,".
    let cf = cf.replacen("c=biws", "c=eSws", 1);
    assert_eq!(
        server.handle_client_final(cf.as_bytes()),
        Err(ScramError::ChannelBindingMismatch)
    );
}

#[test]
fn escaped_user_names() {
    assert_eq!(unescape_saslname("a=2Cb=3Dc").unwrap(), "a,b=c");
    assert_eq!(escape_saslname("a,b=c"), "a=2Cb=3Dc");
    assert!(unescape_saslname("a=2").is_err());
    assert!(unescape_saslname("a=2c").is_err());
    assert!(unescape_saslname("").is_err());
    let m = ScramMechanism::Sha512;
    let store = store_with("CN=x,O=y", "pw", m);
    assert_eq!(
        run(m, &store, "CN=x,O=y", "pw").unwrap().username,
        "CN=x,O=y"
    );
    let store = store_with("jürgen", "pässword", m);
    assert_eq!(
        run(m, &store, "jürgen", "pässword").unwrap().username,
        "jürgen"
    );
}

#[test]
fn malformed_client_final() {
    let m = ScramMechanism::Sha256;
    let store = store_with("alice", "pw", m);
    let fin = |msg: &str| {
        let mut s = ScramServer::new(m, SECRET).with_fixed_server_nonce("S");
        s.handle_client_first(b"n,,n=alice,r=C", &store).unwrap();
        s.handle_client_final(msg.as_bytes())
    };
    let proof = B64.encode([0u8; 32]);
    assert_eq!(
        fin(&format!("c=biws,r=CS,p={proof}")),
        Err(ScramError::InvalidCredentials(m))
    );
    assert_eq!(
        fin("c=biws,r=CS,p=AAAA"),
        Err(ScramError::InvalidCredentials(m))
    );
    assert_eq!(
        fin(&format!("c=biws,r=CS,ext=1,p={proof}")),
        Err(ScramError::InvalidCredentials(m))
    );
    assert!(matches!(fin("c=biws,r=CS"), Err(ScramError::Malformed(_))));
    assert!(matches!(
        fin("c=biws,r=CS,p=!!"),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(
        fin(&format!("r=CS,c=biws,p={proof}")),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(
        fin(&format!("c=b!ws,r=CS,p={proof}")),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(
        fin(&format!("c=biws,p={proof}")),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(
        fin(&format!("c=biws,r=CS,,p={proof}")),
        Err(ScramError::Malformed(_))
    ));
    assert!(matches!(fin("\u{0}"), Err(ScramError::Malformed(_))));
}

#[test]
fn random_bytes_never_panic() {
    let m = ScramMechanism::Sha256;
    let store = store_with("alice", "pw", m);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let alphabet = b"nyp=,arcsiv0123456789abcdefABCDEF+/=\0\xff";
    for i in 0..2000 {
        let len = rng.random_range(0..64);
        let mut msg = vec![0u8; len];
        if i % 2 == 0 {
            rng.fill_bytes(&mut msg);
        } else {
            for b in &mut msg {
                *b = alphabet[rng.random_range(0..alphabet.len())];
            }
        }
        let mut s = ScramServer::new(m, SECRET);
        let _ = s.handle_client_first(&msg, &store);
        let mut s = ScramServer::new(m, SECRET).with_fixed_server_nonce("S");
        s.handle_client_first(b"n,,n=alice,r=C", &store).unwrap();
        let mut fin = b"c=biws,r=CS,".to_vec();
        fin.extend_from_slice(&msg);
        assert!(s.handle_client_final(&fin).is_err());
    }
    let huge = vec![b'a'; 100_000];
    assert!(ScramServer::new(m, SECRET)
        .handle_client_first(&huge, &store)
        .is_err());
}

#[test]
fn errors_never_carry_secrets() {
    let all = [
        ScramError::Malformed("x"),
        ScramError::ChannelBindingNotSupported,
        ScramError::ChannelBindingMismatch,
        ScramError::AuthorizationIdMismatch,
        ScramError::UnsupportedExtension,
        ScramError::DelegationTokenNotSupported,
        ScramError::InvalidNonce,
        ScramError::InvalidCredentials(ScramMechanism::Sha256),
        ScramError::InvalidState,
    ];
    for e in all {
        assert!(e.to_string().starts_with("Authentication failed"), "{e}");
    }
}

#[test]
fn librdkafkas_repeated_client_nonce_is_accepted_as_kafka_does() {
    // librdkafka before 2.1 sends r=<client nonce><combined nonce>; Kafka's server checks
    // that the nonce ends with the combined one, and so must we.
    let m = ScramMechanism::Sha512;
    let store = store_with("alice", "s3cret", m);
    let mut client = Client::new(m, "alice", "s3cret", "clientnonce");
    let mut server = ScramServer::new(m, SECRET);
    let sf = server.handle_client_first(&client.first(), &store).unwrap();
    let combined = std::str::from_utf8(&sf).unwrap()[2..]
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let cf = client.final_message(&sf, Some(&format!("clientnonce{combined}")));
    let outcome = server.handle_client_final(&cf).unwrap();
    assert_eq!(outcome.username, "alice");
    assert!(client.verify_server_final(&outcome.server_final));
}
