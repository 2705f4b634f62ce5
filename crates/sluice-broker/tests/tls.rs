//! TLS listeners: real clients (kcat, the Kafka client's TLS connection) against SSL
//! listeners, client certificates, per-listener Metadata addresses, certificate rotation
//! without a restart, and replication between brokers over TLS.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::certs::{write_atomically, ClientCert, Pki};
use common::cluster::{wait_for, Cluster};
use common::{kcat, raw, TestBroker};
use kafka_protocol::messages::{
    ApiVersionsRequest, FindCoordinatorRequest, FindCoordinatorResponse, MetadataRequest,
    MetadataResponse,
};
use kafka_protocol::protocol::StrBytes;
use sluice_broker::config::parse_properties;
use sluice_kafka_client::{ClientTls, Connection};

/// A broker whose listeners and TLS settings are `props` (ports 0: ephemeral).
fn broker(dir: &Path, props: &str) -> TestBroker {
    let props = parse_properties(props);
    TestBroker::start(dir, 0, |cfg| cfg.apply_properties(&props).unwrap())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Connects (over TLS when given) and asks ApiVersions; the error text if anything fails.
async fn api_versions(addr: SocketAddr, tls: Option<&ClientTls>) -> Result<Connection, String> {
    let mut c = Connection::connect_with(&addr.to_string(), "tls-test", tls)
        .await
        .map_err(|e| e.to_string())?;
    c.call(3, &ApiVersionsRequest::default())
        .await
        .map_err(|e| e.to_string())?;
    Ok(c)
}

/// kcat's TLS flags trusting `pki`, with `cert` for mutual TLS.
fn kcat_tls(pki: &Pki, cert: Option<&ClientCert>) -> Vec<String> {
    let mut args = vec![
        "-X".to_string(),
        "security.protocol=SSL".to_string(),
        "-X".to_string(),
        format!("ssl.ca.location={}", pki.ca_pem.display()),
    ];
    if let Some(c) = cert {
        args.extend([
            "-X".to_string(),
            format!("ssl.certificate.location={}", c.cert.display()),
            "-X".to_string(),
            format!("ssl.key.location={}", c.key.display()),
        ]);
    }
    args
}

fn kcat_with(base: &[&str], tls: &[String], input: Option<&[u8]>) -> String {
    let mut args: Vec<&str> = base.to_vec();
    args.extend(tls.iter().map(String::as_str));
    kcat(&args, input)
}

/// Whether kcat can read metadata at `addr` with `tls` flags.
fn kcat_metadata_ok(addr: SocketAddr, tls: &[String]) -> bool {
    Command::new("kcat")
        .args(["-L", "-m", "5", "-b", &addr.to_string()])
        .args(tls)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

fn metric(broker: &TestBroker, name: &str, labels: &str) -> u64 {
    broker
        .metrics()
        .lines()
        .find(|l| l.starts_with(name) && l.contains(labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[test]
fn ssl_listener_serves_kcat_and_refuses_plaintext_clients() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "main");
    let keystore = pki.keystore("broker.pem");
    let b = broker(
        &dir.path().join("data"),
        &format!(
            "listeners=SSL://127.0.0.1:0\nssl.keystore.type=PEM\nssl.keystore.location={}\n",
            keystore.display()
        ),
    );
    let addr = b.listener("SSL");
    let tls = kcat_tls(&pki, None);
    let bootstrap = addr.to_string();
    kcat_with(
        &["-P", "-b", &bootstrap, "-t", "secure", "-p", "0"],
        &tls,
        Some(b"one\ntwo\nthree\n"),
    );
    let out = kcat_with(
        &[
            "-C",
            "-b",
            &bootstrap,
            "-t",
            "secure",
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        &tls,
        None,
    );
    assert_eq!(out.lines().collect::<Vec<_>>(), ["one", "two", "three"]);

    // A plaintext client on the TLS port: its bytes are no TLS handshake; it is closed.
    let mut s = raw::connect(addr);
    std::io::Write::write_all(&mut s, &raw::frame(3, 1, &ApiVersionsRequest::default())).unwrap();
    // The broker answers with at most a TLS alert record (content type 21), then closes.
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut s, &mut answer);
    assert!(
        answer.is_empty() || answer[0] == 21,
        "plaintext request on the TLS port got {answer:?}"
    );
    // ... and the broker still serves TLS clients.
    assert!(kcat_metadata_ok(addr, &tls));
    assert!(metric(&b, "sluice_broker_connections_refused", "tls_handshake") >= 1);
    b.stop();
}

#[test]
fn client_auth_required_needs_a_certificate_from_the_trust_store() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "main");
    let other = Pki::new(dir.path(), "other");
    let b = broker(
        &dir.path().join("data"),
        &format!(
            "listeners=SSL://127.0.0.1:0\nssl.keystore.location={}\n\
             ssl.truststore.type=PEM\nssl.truststore.location={}\nssl.client.auth=required\n",
            pki.keystore("broker.pem").display(),
            pki.ca_pem.display()
        ),
    );
    let addr = b.listener("SSL");
    let good = pki.client("alice");
    let stranger = other.client("mallory");
    let rt = rt();
    let without = rt.block_on(api_versions(addr, Some(&pki.client_tls(None))));
    assert!(without.is_err(), "served a client without a certificate");
    let foreign = rt.block_on(api_versions(addr, Some(&pki.client_tls(Some(&stranger)))));
    assert!(foreign.is_err(), "served a certificate from another CA");
    let expired = pki.expired_client("alice");
    let stale = rt.block_on(api_versions(addr, Some(&pki.client_tls(Some(&expired)))));
    assert!(stale.is_err(), "served an expired certificate");
    rt.block_on(api_versions(addr, Some(&pki.client_tls(Some(&good)))))
        .expect("a client with a certificate from the trust store is served");

    // The same with a real client.
    assert!(!kcat_metadata_ok(addr, &kcat_tls(&pki, None)));
    assert!(kcat_metadata_ok(addr, &kcat_tls(&pki, Some(&good))));
    b.stop();
}

/// PEM as one properties line, as Kafka's inline `ssl.*` values are often given.
fn one_line(pem: &str) -> String {
    pem.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn client_auth_requested_serves_clients_with_and_without_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "main");
    // Inline PEM this time: ssl.keystore.certificate.chain/.key and ssl.truststore.certificates.
    let keystore = std::fs::read_to_string(pki.keystore("broker.pem")).unwrap();
    let split = keystore.find("-----BEGIN CERTIFICATE").unwrap();
    let b = broker(
        &dir.path().join("data"),
        &format!(
            "listeners=SSL://127.0.0.1:0\nssl.keystore.key={}\nssl.keystore.certificate.chain={}\n\
             ssl.truststore.certificates={}\nssl.client.auth=requested\n",
            one_line(&keystore[..split]),
            one_line(&keystore[split..]),
            one_line(&std::fs::read_to_string(&pki.ca_pem).unwrap()),
        ),
    );
    let addr = b.listener("SSL");
    let rt = rt();
    rt.block_on(api_versions(addr, Some(&pki.client_tls(None))))
        .expect("no certificate is fine when only requested");
    let good = pki.client("bob");
    rt.block_on(api_versions(addr, Some(&pki.client_tls(Some(&good)))))
        .expect("with a certificate");
    b.stop();
}

async fn metadata_and_coordinator(
    addr: SocketAddr,
    tls: Option<&ClientTls>,
) -> (Vec<(String, i32)>, Option<(String, i32)>) {
    let mut c = api_versions(addr, tls).await.unwrap();
    let mut req = MetadataRequest::default();
    req.topics = None;
    let resp: MetadataResponse = c.call(12, &req).await.unwrap();
    let brokers = resp
        .brokers
        .iter()
        .map(|b| (b.host.to_string(), b.port))
        .collect();
    let mut find = FindCoordinatorRequest::default();
    find.key = StrBytes::from_static_str("group-1");
    let resp: FindCoordinatorResponse = c.call(3, &find).await.unwrap();
    let coordinator = (resp.error_code == 0).then(|| (resp.host.to_string(), resp.port));
    (brokers, coordinator)
}

#[test]
fn metadata_and_find_coordinator_answer_with_the_clients_listener() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "main");
    let b = broker(
        &dir.path().join("data"),
        &format!(
            "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0\nssl.keystore.location={}\n\
             offsets.topic.replication.factor=1\noffsets.topic.num.partitions=1\n",
            pki.keystore("broker.pem").display()
        ),
    );
    let (plain, ssl) = (b.listener("PLAINTEXT"), b.listener("SSL"));
    let tls = pki.client_tls(None);
    let rt = rt();
    let mut answers = Vec::new();
    wait_for(Duration::from_secs(30), "a group coordinator", || {
        let p = rt.block_on(metadata_and_coordinator(plain, None));
        let s = rt.block_on(metadata_and_coordinator(ssl, Some(&tls)));
        let ready = p.1.is_some() && s.1.is_some();
        answers = vec![p, s];
        ready
    });
    let here = |a: SocketAddr| ("127.0.0.1".to_string(), i32::from(a.port()));
    assert_eq!(answers[0].0, [here(plain)], "Metadata on PLAINTEXT");
    assert_eq!(
        answers[0].1,
        Some(here(plain)),
        "FindCoordinator on PLAINTEXT"
    );
    assert_eq!(answers[1].0, [here(ssl)], "Metadata on SSL");
    assert_eq!(answers[1].1, Some(here(ssl)), "FindCoordinator on SSL");
    b.stop();
}

async fn metadata_brokers(addr: SocketAddr, tls: Option<&ClientTls>) -> Vec<(i32, i32)> {
    let mut c = api_versions(addr, tls).await.unwrap();
    let resp: MetadataResponse = c.call(12, &MetadataRequest::default()).await.unwrap();
    let mut brokers: Vec<(i32, i32)> = resp.brokers.iter().map(|b| (b.node_id.0, b.port)).collect();
    brokers.sort();
    brokers
}

#[test]
fn brokers_without_the_clients_listener_are_left_out_of_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "main");
    let keystore = pki.keystore("broker.pem");
    let ssl_port = common::cluster::free_port();
    // Broker 2 alone has an SSL listener besides PLAINTEXT.
    let cluster = Cluster::start_each(&dir.path().join("cluster"), 2, "", |i| {
        if i == 1 {
            format!(
                "listeners=PLAINTEXT://127.0.0.1:{{port}},SSL://127.0.0.1:{ssl_port}\n\
                 ssl.keystore.location={}",
                keystore.display()
            )
        } else {
            String::new()
        }
    });
    let (p1, p2) = (cluster.nodes[0].port, cluster.nodes[1].port);
    let rt = rt();
    let plain: SocketAddr = cluster.nodes[0].addr().parse().unwrap();
    assert_eq!(
        rt.block_on(metadata_brokers(plain, None)),
        [(1, i32::from(p1)), (2, i32::from(p2))]
    );
    let ssl = SocketAddr::from(([127, 0, 0, 1], ssl_port));
    assert_eq!(
        rt.block_on(metadata_brokers(ssl, Some(&pki.client_tls(None)))),
        [(2, i32::from(ssl_port))]
    );
}

#[test]
fn certificates_rotate_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let old_ca = Pki::new(dir.path(), "old");
    let new_ca = Pki::new(dir.path(), "new");
    let keystore = old_ca.keystore("broker.pem");
    let b = broker(
        &dir.path().join("data"),
        &format!(
            "listeners=SSL://127.0.0.1:0\nssl.keystore.location={}\n",
            keystore.display()
        ),
    );
    let addr = b.listener("SSL");
    let (trust_old, trust_new) = (old_ca.client_tls(None), new_ca.client_tls(None));
    let rt = rt();
    let mut open = rt.block_on(api_versions(addr, Some(&trust_old))).unwrap();
    assert!(rt.block_on(api_versions(addr, Some(&trust_new))).is_err());

    // A broken file is refused; the old certificate stays in use.
    write_atomically(&keystore, "-----BEGIN CERTIFICATE-----\nnot base64\n");
    wait_for(
        Duration::from_secs(20),
        "the bad keystore to be refused",
        || {
            metric(
                &b,
                "sluice_broker_tls_certificate_reloads",
                "result=\"error\"",
            ) >= 1
        },
    );
    rt.block_on(api_versions(addr, Some(&trust_old)))
        .expect("old certificate still served after a bad file");

    // A new certificate from another CA: new connections get it.
    new_ca.keystore("broker.pem");
    wait_for(
        Duration::from_secs(20),
        "the new keystore to be loaded",
        || metric(&b, "sluice_broker_tls_certificate_reloads", "result=\"ok\"") >= 1,
    );
    rt.block_on(api_versions(addr, Some(&trust_new)))
        .expect("new connections get the new certificate");
    assert!(rt.block_on(api_versions(addr, Some(&trust_old))).is_err());
    // The connection opened before keeps working.
    let meta: MetadataResponse = rt
        .block_on(open.call(12, &MetadataRequest::default()))
        .expect("the open connection survives the rotation");
    assert_eq!(meta.brokers.len(), 1);
    b.stop();
}

#[test]
fn replication_between_brokers_runs_over_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "cluster");
    let keystore = pki.keystore("broker.pem");
    let admin = pki.client("admin");
    // The listener named PLAINTEXT speaks SSL: every connection, the followers' included,
    // is TLS with a client certificate.
    let extra = format!(
        "listener.security.protocol.map=PLAINTEXT:SSL\nssl.keystore.location={}\n\
         ssl.truststore.location={}\nssl.client.auth=required\n\
         num.partitions=1\ndefault.replication.factor=3\nmin.insync.replicas=3",
        keystore.display(),
        pki.ca_pem.display()
    );
    let mut cluster = Cluster::start(&dir.path().join("cluster"), 3, &extra);
    let tls = kcat_tls(&pki, Some(&admin));
    cluster.client_args = tls.clone();
    let bootstrap = cluster.bootstrap();
    kcat_with(
        &["-P", "-b", &bootstrap, "-t", "mirrored", "-X", "acks=all"],
        &tls,
        Some(b"a\nb\nc\n"),
    );
    cluster.wait_fully_replicated("mirrored", 1, 3, Duration::from_secs(60));
    // The leader goes; a follower that copied over TLS serves everything.
    let leader = cluster.leader_of("mirrored", 0, Duration::from_secs(30));
    cluster.kill(leader);
    let mut got = String::new();
    wait_for(
        Duration::from_secs(60),
        "a new leader serving the records",
        || {
            let out = Command::new("kcat")
                .args([
                    "-C",
                    "-b",
                    &cluster.bootstrap(),
                    "-t",
                    "mirrored",
                    "-o",
                    "beginning",
                    "-e",
                    "-q",
                ])
                .args(&tls)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .unwrap();
            got = String::from_utf8_lossy(&out.stdout).into_owned();
            out.status.success() && got.lines().count() == 3
        },
    );
    assert_eq!(got.lines().collect::<Vec<_>>(), ["a", "b", "c"]);
}
