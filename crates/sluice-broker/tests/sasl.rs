//! SASL listeners: real clients (kcat, kafka-python, confluent-kafka) over SASL_PLAINTEXT and
//! SASL_SSL with SCRAM, the refusals (wrong password, unknown user, unknown mechanism, requests
//! before authentication, oversized pre-authentication frames), PLAIN, the v0 handshake's raw
//! tokens, KIP-368 session expiry and re-authentication, and replication between brokers that
//! authenticate to each other.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use common::certs::Pki;
use common::cluster::{wait_for, Cluster};
use common::{kcat, python, raw, TestBroker};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ApiVersionsRequest, MetadataRequest, SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kafka_protocol::protocol::StrBytes;
use sluice_auth::{ScramClient, ScramMechanism};
use sluice_broker::config::parse_properties;
use sluice_kafka_client::{Connection, SaslCredentials};

const USERS: &str = "admin:admin-secret\nbroker:broker-secret\nalice:alice-pw\nbob:bob-pw\n";

fn users_file(dir: &Path) -> PathBuf {
    let path = dir.join("users");
    std::fs::write(&path, USERS).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A broker with one SASL_PLAINTEXT listener (also the inter-broker one) and `extra`
/// properties; returns once `alice` can authenticate.
fn sasl_broker(dir: &Path, extra: &str) -> TestBroker {
    let users = users_file(dir);
    let props = parse_properties(&format!(
        "listeners=SASL_PLAINTEXT://127.0.0.1:0\nsasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN\n\
         sluice.sasl.users.file={}\nsluice.inter.broker.sasl.username=broker\n{extra}",
        users.display()
    ));
    let broker = TestBroker::start(&dir.join("data"), 0, |cfg| {
        cfg.apply_properties(&props).unwrap()
    });
    let addr = broker.addr;
    wait_for(Duration::from_secs(30), "the bootstrap users", || {
        rt().block_on(scram(addr, ScramMechanism::Sha512, "alice", "alice-pw"))
            .is_ok()
    });
    broker
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Authenticates a new connection; the broker's refusal as text.
async fn scram(
    addr: SocketAddr,
    mechanism: ScramMechanism,
    user: &str,
    password: &str,
) -> Result<Connection, String> {
    let mut c = Connection::connect(&addr.to_string(), "sasl-test")
        .await
        .map_err(|e| e.to_string())?;
    c.authenticate(&SaslCredentials {
        mechanism,
        user: user.into(),
        password: password.into(),
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(c)
}

fn handshake(s: &mut TcpStream, version: i16, mechanism: &str) -> i16 {
    let mut req = SaslHandshakeRequest::default();
    req.mechanism = StrBytes::from_string(mechanism.into());
    raw::call(s, version, &req).error_code
}

fn authenticate(s: &mut TcpStream, token: Vec<u8>) -> (i16, Option<String>, Bytes, i64) {
    let mut req = SaslAuthenticateRequest::default();
    req.auth_bytes = Bytes::from(token);
    let resp = raw::call(s, 2, &req);
    (
        resp.error_code,
        resp.error_message.map(|m| m.to_string()),
        resp.auth_bytes,
        resp.session_lifetime_ms,
    )
}

/// A whole SCRAM-SHA-512 exchange on a raw socket; the last answer.
fn raw_scram(s: &mut TcpStream, user: &str, password: &str) -> (i16, Option<String>, i64) {
    assert_eq!(handshake(s, 1, "SCRAM-SHA-512"), 0);
    let mut client = ScramClient::new(ScramMechanism::Sha512, user, password);
    let (code, message, server_first, _) = authenticate(s, client.first());
    assert_eq!(code, 0, "{message:?}");
    let (code, message, server_final, lifetime) =
        authenticate(s, client.final_message(&server_first).unwrap());
    if code == 0 {
        client.verify_server_final(&server_final).unwrap();
    }
    (code, message, lifetime)
}

fn kcat_sasl(mechanism: &str, user: &str, password: &str) -> Vec<String> {
    [
        "security.protocol=SASL_PLAINTEXT".to_string(),
        format!("sasl.mechanisms={mechanism}"),
        format!("sasl.username={user}"),
        format!("sasl.password={password}"),
    ]
    .into_iter()
    .flat_map(|x| ["-X".to_string(), x])
    .collect()
}

#[test]
fn kcat_produces_and_consumes_as_a_group_member_with_scram_sha_512() {
    let dir = tempfile::tempdir().unwrap();
    let broker = sasl_broker(dir.path(), "");
    let b = broker.bootstrap();
    let sasl = kcat_sasl("SCRAM-SHA-512", "alice", "alice-pw");
    let mut args: Vec<&str> = vec!["-P", "-b", &b, "-t", "scram-topic"];
    args.extend(sasl.iter().map(String::as_str));
    kcat(&args, Some(b"one\ntwo\nthree\n"));
    let mut args: Vec<&str> = vec![
        "-C",
        "-b",
        &b,
        "-o",
        "beginning",
        "-G",
        "scram-group",
        "scram-topic",
        "-e",
        "-q",
    ];
    args.extend(sasl.iter().map(String::as_str));
    let out = kcat(&args, None);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["one", "two", "three"]);
}

#[test]
fn python_clients_over_sasl_plaintext_and_sasl_ssl() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "sasl");
    let keystore = pki.keystore("broker.pem");
    let broker = sasl_broker(
        dir.path(),
        &format!(
            "listeners=SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0\n\
             inter.broker.listener.name=SASL_PLAINTEXT\nssl.keystore.location={}",
            keystore.display()
        ),
    );
    let plain = broker.listener("SASL_PLAINTEXT").to_string();
    let tls = broker.listener("SASL_SSL").to_string();
    let ca = pki.ca_pem.display().to_string();
    for (lib, bootstrap, protocol, mechanism, ca) in [
        (
            "kafka-python",
            &plain,
            "SASL_PLAINTEXT",
            "SCRAM-SHA-256",
            None,
        ),
        ("kafka-python", &tls, "SASL_SSL", "SCRAM-SHA-512", Some(&ca)),
        (
            "confluent-kafka",
            &plain,
            "SASL_PLAINTEXT",
            "SCRAM-SHA-512",
            None,
        ),
        (
            "confluent-kafka",
            &tls,
            "SASL_SSL",
            "SCRAM-SHA-512",
            Some(&ca),
        ),
        ("confluent-kafka", &tls, "SASL_SSL", "PLAIN", Some(&ca)),
    ] {
        let topic = format!("{lib}-{protocol}-{mechanism}").to_lowercase();
        let mut args = vec![lib, bootstrap, protocol, mechanism, "bob", "bob-pw", &topic];
        args.extend(ca.map(String::as_str));
        let out = python("sasl_clients.py", &args);
        assert!(
            out.contains("ok 50 records, committed 50"),
            "{lib} {protocol} {mechanism}: {out}"
        );
    }
}

#[test]
fn wrong_passwords_and_unknown_users_are_refused_alike_and_the_connection_closes() {
    let dir = tempfile::tempdir().unwrap();
    let broker = sasl_broker(dir.path(), "connection.failed.authentication.delay.ms=0");
    let mut answers = Vec::new();
    for (user, password) in [("alice", "wrong"), ("mallory", "guess")] {
        let mut s = raw::connect(broker.addr);
        let (code, message, _) = raw_scram(&mut s, user, password);
        assert_eq!(code, ResponseError::SaslAuthenticationFailed.code());
        assert!(
            raw::closed(&mut s),
            "the connection stays open after a failure"
        );
        answers.push(message);
    }
    assert_eq!(
        answers[0], answers[1],
        "an unknown user must look like a wrong password"
    );
    assert_eq!(
        answers[0].as_deref(),
        Some("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")
    );
    // The broker goes on serving: the right password works.
    let mut s = raw::connect(broker.addr);
    assert_eq!(raw_scram(&mut s, "alice", "alice-pw").0, 0);
    let metadata = raw::call(&mut s, 12, &MetadataRequest::default());
    assert_eq!(metadata.brokers.len(), 1);
    let metrics = broker.metrics();
    assert!(metrics.contains("sasl_authentication_failed"), "{metrics}");
}

#[test]
fn nothing_but_api_versions_and_sasl_is_served_before_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let broker = sasl_broker(dir.path(), "");
    let mut s = raw::connect(broker.addr);
    let versions = raw::call(&mut s, 3, &ApiVersionsRequest::default());
    assert_eq!(versions.error_code, 0);
    assert!(versions.api_keys.iter().any(|k| k.api_key == 36));
    // Any other request closes the connection unanswered.
    s.write_all(&raw::frame(12, 7, &MetadataRequest::default()))
        .unwrap();
    assert!(raw::closed(&mut s));
    // So does a request in place of SaslAuthenticate after the handshake.
    let mut s = raw::connect(broker.addr);
    assert_eq!(handshake(&mut s, 1, "SCRAM-SHA-512"), 0);
    s.write_all(&raw::frame(12, 8, &MetadataRequest::default()))
        .unwrap();
    assert!(raw::closed(&mut s));
    // An unknown mechanism is refused, with the ones on offer, and the connection closes.
    let mut s = raw::connect(broker.addr);
    let mut req = SaslHandshakeRequest::default();
    req.mechanism = StrBytes::from_static_str("GSSAPI");
    let resp = raw::call(&mut s, 1, &req);
    assert_eq!(
        resp.error_code,
        ResponseError::UnsupportedSaslMechanism.code()
    );
    let offered: Vec<String> = resp.mechanisms.iter().map(|m| m.to_string()).collect();
    assert_eq!(offered, ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]);
    assert!(raw::closed(&mut s));
    // A frame past sasl.server.max.receive.size before authentication closes the connection
    // without the broker reading (or allocating) it.
    let mut s = raw::connect(broker.addr);
    s.write_all(&(1i32 << 20).to_be_bytes()).unwrap();
    assert!(raw::closed(&mut s));
}

#[test]
fn plain_and_the_v0_handshakes_raw_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let broker = sasl_broker(dir.path(), "connection.failed.authentication.delay.ms=0");
    // PLAIN through SaslAuthenticate.
    let mut s = raw::connect(broker.addr);
    assert_eq!(handshake(&mut s, 1, "PLAIN"), 0);
    let (code, message, _, _) = authenticate(&mut s, b"\0alice\0alice-pw".to_vec());
    assert_eq!(code, 0, "{message:?}");
    assert_eq!(
        raw::call(&mut s, 12, &MetadataRequest::default())
            .brokers
            .len(),
        1
    );
    // A v0 handshake: the token goes raw, length-prefixed, and comes back the same way.
    let mut s = raw::connect(broker.addr);
    assert_eq!(handshake(&mut s, 0, "PLAIN"), 0);
    let token = b"\0alice\0alice-pw";
    s.write_all(&(token.len() as i32).to_be_bytes()).unwrap();
    s.write_all(token).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    assert_eq!(i32::from_be_bytes(len), 0, "PLAIN's final token is empty");
    assert_eq!(
        raw::call(&mut s, 12, &MetadataRequest::default())
            .brokers
            .len(),
        1
    );
    // A wrong raw token closes the connection.
    let mut s = raw::connect(broker.addr);
    assert_eq!(handshake(&mut s, 0, "PLAIN"), 0);
    let token = b"\0alice\0nope";
    s.write_all(&(token.len() as i32).to_be_bytes()).unwrap();
    s.write_all(token).unwrap();
    assert!(raw::closed(&mut s));
}

#[test]
fn sessions_expire_and_re_authenticate_as_the_same_user_only() {
    let dir = tempfile::tempdir().unwrap();
    let broker = sasl_broker(
        dir.path(),
        "connections.max.reauth.ms=1500\nconnection.failed.authentication.delay.ms=0",
    );
    let mut s = raw::connect(broker.addr);
    let (code, _, lifetime) = raw_scram(&mut s, "alice", "alice-pw");
    assert_eq!((code, lifetime), (0, 1500));
    // Re-authenticating before expiry renews the session; the connection goes on.
    let (code, _, lifetime) = raw_scram(&mut s, "alice", "alice-pw");
    assert_eq!((code, lifetime), (0, 1500));
    assert_eq!(
        raw::call(&mut s, 12, &MetadataRequest::default())
            .brokers
            .len(),
        1
    );
    // Another user cannot take the connection over.
    let (code, message, _) = raw_scram(&mut s, "bob", "bob-pw");
    assert_eq!(code, ResponseError::SaslAuthenticationFailed.code());
    assert!(message.unwrap().contains("Cannot change principals"));
    assert!(raw::closed(&mut s));
    // Past its lifetime, a session's next request closes the connection.
    let mut s = raw::connect(broker.addr);
    assert_eq!(raw_scram(&mut s, "alice", "alice-pw").0, 0);
    std::thread::sleep(Duration::from_millis(1600));
    s.write_all(&raw::frame(12, 9, &MetadataRequest::default()))
        .unwrap();
    assert!(raw::closed(&mut s));
}

#[test]
fn sasl_handshakes_on_a_plaintext_listener_are_illegal_sasl_state() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let mut s = raw::connect(broker.addr);
    assert_eq!(
        handshake(&mut s, 1, "SCRAM-SHA-512"),
        ResponseError::IllegalSaslState.code()
    );
}

#[test]
fn brokers_replicate_to_each_other_over_sasl_scram() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path());
    let extra = format!(
        "listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT\n\
         sluice.sasl.users.file={}\nsluice.inter.broker.sasl.username=broker\n\
         num.partitions=1\ndefault.replication.factor=3\nmin.insync.replicas=3",
        users.display()
    );
    let mut cluster = Cluster::start(&dir.path().join("cluster"), 3, &extra);
    let sasl = kcat_sasl("SCRAM-SHA-512", "admin", "admin-secret");
    cluster.client_args = sasl.clone();
    let b = cluster.bootstrap();
    let mut args: Vec<&str> = vec!["-P", "-b", &b, "-t", "mirrored", "-X", "acks=all"];
    args.extend(sasl.iter().map(String::as_str));
    kcat(&args, Some(b"a\nb\nc\n"));
    cluster.wait_fully_replicated("mirrored", 1, 3, Duration::from_secs(60));
    let leader = cluster.leader_of("mirrored", 0, Duration::from_secs(30));
    cluster.kill(leader);
    let mut args: Vec<String> = [
        "-C",
        "-b",
        &cluster.bootstrap(),
        "-t",
        "mirrored",
        "-o",
        "beginning",
        "-e",
        "-q",
    ]
    .map(String::from)
    .to_vec();
    args.extend(sasl);
    let mut got = String::new();
    wait_for(
        Duration::from_secs(60),
        "a new leader serving the records",
        || {
            let out = std::process::Command::new("kcat")
                .args(&args)
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .output()
                .unwrap();
            got = String::from_utf8_lossy(&out.stdout).into_owned();
            out.status.success() && got.lines().count() == 3
        },
    );
    assert_eq!(got.lines().collect::<Vec<_>>(), ["a", "b", "c"]);
}
