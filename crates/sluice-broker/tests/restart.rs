//! The broker is restarted while a producer is mid-stream: nothing acknowledged may be lost.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{kcat, TestBroker};

#[test]
fn restart_mid_stream_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let port = broker.addr.port();
    let bootstrap = broker.bootstrap();
    kcat(&["-b", &bootstrap, "-P", "-t", "durable"], Some(b"seed\n"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/kp_produce_forever.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args([bootstrap.as_str(), "durable", "1500"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait for the producer to be well under way, then restart the broker under it.
    for line in lines.by_ref() {
        if line.unwrap().starts_with("PROGRESS 300") {
            break;
        }
    }
    broker.stop();
    let broker = TestBroker::start(dir.path(), port, |_| {});
    let mut acked = None;
    for line in lines {
        let line = line.unwrap();
        if let Some(list) = line.strip_prefix("ACKED ") {
            acked = Some(list.split(',').map(|v| v.to_string()).collect::<Vec<_>>());
        }
    }
    assert!(child.wait().unwrap().success());
    let acked = acked.expect("producer reported its acknowledgements");
    assert_eq!(acked.len(), 1500);
    let out = kcat(
        &[
            "-b",
            &broker.bootstrap(),
            "-C",
            "-t",
            "durable",
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%s\n",
        ],
        None,
    );
    let stored: std::collections::HashSet<&str> = out.lines().collect();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|v| !stored.contains(v.as_str()))
        .collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
}
