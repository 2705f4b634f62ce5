//! The admin port is authenticated: forged metadata RPCs (no signature, another secret, a stale
//! timestamp, a tampered body) are refused with 401 and change nothing; signed ones work; a
//! broker that would serve them without a secret does not start.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::cluster::{wait_for, Cluster};
use common::ADMIN_SECRET;
use serde_json::{json, Value};
use sluice_meta::{AdminSecret, BrokerRegistration, Command as MetaCommand, Signer};

/// `POST path` with `body` and an optional `Authorization`; the status code.
fn post(port: u16, path: &str, auth: Option<&str>, body: &[u8]) -> u16 {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = auth.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\
         {auth}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn signer(secret: &[u8]) -> Signer {
    Signer::new(AdminSecret::from_bytes(secret).unwrap(), 1)
}

fn envelope(request: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "request": request, "timeout_ms": 5000, "forwarded": false }))
        .unwrap()
}

fn create_topic(name: &str) -> Value {
    let command = MetaCommand::CreateTopic {
        name: name.into(),
        id: uuid::Uuid::new_v4(),
        partitions: 1,
        replication_factor: Some(1),
        default_replication_factor: 1,
        assignments: None,
        configs: Default::default(),
        validate_only: false,
    };
    json!({ "Propose": serde_json::to_value(command).unwrap() })
}

/// What the forged requests would have changed: each broker's image position, controller and
/// brokers.
fn snapshot(cluster: &Cluster) -> Vec<(Value, Value, Value)> {
    (0..cluster.nodes.len())
        .map(|i| {
            let s = cluster.status(i).expect("status");
            (
                s["metadata_index"].clone(),
                s["controller_id"].clone(),
                s["brokers"].clone(),
            )
        })
        .collect()
}

fn refused_count(cluster: &Cluster, i: usize) -> u64 {
    let metrics = cluster.admin_get(i, "/metrics").expect("metrics");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("sluice_broker_admin_unauthenticated_requests_total "))
        .expect("the refusal counter")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn forged_metadata_rpcs_are_refused_and_change_nothing() {
    let root = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(root.path(), 3, "");
    let rogue = BrokerRegistration {
        id: 99,
        host: "evil".into(),
        port: 1,
        rack: None,
        rpc_addr: "evil:1".into(),
        incarnation: uuid::Uuid::new_v4(),
        fenced: false,
        shutting_down: false,
        listeners: Vec::new(),
    };
    let term = json!({ "leader_id": { "term": 1_000_000, "node_id": 9 }, "committed": true });
    let requests: Vec<(&str, Vec<u8>)> = vec![
        ("/meta/propose", envelope(create_topic("forged"))),
        ("/meta/register", envelope(json!({ "Register": rogue }))),
        (
            "/meta/heartbeat",
            envelope(
                json!({ "Heartbeat": { "id": 2, "incarnation": uuid::Uuid::nil(), "shutting_down": true } }),
            ),
        ),
        (
            "/meta/raft/vote",
            serde_json::to_vec(&json!({ "vote": term, "last_log_id": null })).unwrap(),
        ),
        (
            "/meta/raft/append",
            serde_json::to_vec(
                &json!({ "vote": term, "prev_log_id": null, "entries": [], "leader_commit": null }),
            )
            .unwrap(),
        ),
        ("/meta/raft/snapshot", b"{}".to_vec()),
    ];
    let before = snapshot(&cluster);
    let good = signer(&ADMIN_SECRET);
    let wrong = signer(&[0x55; 32]);
    for i in 0..cluster.nodes.len() {
        let port = cluster.nodes[i].admin_port;
        for (path, body) in &requests {
            let forgeries = [
                None,
                Some(wrong.authorization("POST", path, body)),
                Some(good.authorization_at("POST", path, body, now_ms() - 120_000)),
                Some(good.authorization("POST", path, b"{\"other\":true}")),
            ];
            for (n, auth) in forgeries.iter().enumerate() {
                let auth = auth.as_ref().map(|a| a.to_str().unwrap());
                assert_eq!(
                    post(port, path, auth, body),
                    401,
                    "forgery {n} of {path} on broker {i}"
                );
            }
        }
    }
    // Give a wrongly accepted vote or append time to show (an election, a new index).
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        snapshot(&cluster),
        before,
        "forged requests changed the metadata"
    );
    for i in 0..cluster.nodes.len() {
        assert_eq!(refused_count(&cluster, i), 4 * requests.len() as u64);
    }

    // The same proposal, signed, is served.
    let body = envelope(create_topic("signed"));
    let auth = good.authorization("POST", "/meta/propose", &body);
    let port = cluster.nodes[1].admin_port;
    assert_eq!(
        post(port, "/meta/propose", Some(auth.to_str().unwrap()), &body),
        200
    );
    let index = |s: &Vec<(Value, Value, Value)>| s[0].0.as_u64().unwrap();
    wait_for(
        Duration::from_secs(10),
        "the signed proposal to apply",
        || index(&snapshot(&cluster)) > index(&before),
    );
}

#[test]
fn a_broker_serving_the_admin_port_without_a_secret_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice-broker"))
        .args([
            "--listeners",
            "PLAINTEXT://127.0.0.1:0",
            "--admin-listener",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("SLUICE_ADMIN_SECRET_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the broker started without an admin secret");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success());
    assert!(
        err.contains("sluice.admin.secret.file") && err.contains("sluice.admin.auth=none"),
        "{err}"
    );
}
