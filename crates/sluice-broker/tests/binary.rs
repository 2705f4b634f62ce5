//! The `sluice-broker` binary: flags and properties file, SIGTERM drains and exits 0, and the
//! data written before is there after a restart.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A broker process that is killed if the test fails before stopping it.
struct Proc(Child);

impl std::ops::Deref for Proc {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Proc {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

use common::kcat;

fn spawn(dir: &std::path::Path, port: u16) -> (Proc, String) {
    let props = dir.join("server.properties");
    std::fs::write(
        &props,
        format!(
            "num.partitions=2\nlog.dirs={}\nauto.create.topics.enable=true\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let mut child = Proc(
        Command::new(env!("CARGO_BIN_EXE_sluice-broker"))
            .args([
                "--config",
                props.to_str().unwrap(),
                "--node-id",
                "7",
                "--listeners",
            ])
            .arg(format!("PLAINTEXT://127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut addr = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("broker listening") {
            addr = line
                .split("addr=")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            break;
        }
    }
    assert!(!addr.is_empty(), "broker did not start");
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn kill(child: &mut Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn sigterm(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "graceful shutdown exits 0");
}

#[test]
fn sigterm_is_graceful_and_data_survives() {
    let dir = tempfile::tempdir().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (mut child, addr) = spawn(dir.path(), free);
    let meta = kcat(&["-b", &addr, "-L", "-t", "bin"], None);
    assert!(meta.contains("broker 7 at 127.0.0.1"), "{meta}");
    assert!(
        meta.contains("with 2 partitions"),
        "num.partitions from the properties file: {meta}"
    );
    let input: String = (0..1000).map(|i| format!("{i}\n")).collect();
    kcat(
        &["-b", &addr, "-P", "-t", "bin", "-p", "0"],
        Some(input.as_bytes()),
    );
    sigterm(&mut child);

    let (mut child, addr) = spawn(dir.path(), free);
    let out = kcat(
        &[
            "-b",
            &addr,
            "-C",
            "-t",
            "bin",
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        None,
    );
    assert_eq!(out.lines().count(), 1000);
    sigterm(&mut child);
}

#[test]
fn sigkill_mid_stream_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (mut broker, addr) = spawn(dir.path(), free);
    kcat(
        &["-b", &addr, "-P", "-t", "crash", "-p", "0"],
        Some(b"seed\n"),
    );
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients/kp_produce_forever.py");
    let mut producer = Command::new("python3")
        .arg(script)
        .args([addr.as_str(), "crash", "1500"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(producer.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().starts_with("PROGRESS 300") {
            break;
        }
    }
    kill(&mut broker, "-KILL");
    broker.wait().unwrap();
    let (mut broker, addr) = spawn(dir.path(), free);
    let mut acked = Vec::new();
    for line in lines {
        if let Some(list) = line.unwrap().strip_prefix("ACKED ") {
            acked = list.split(',').map(String::from).collect();
        }
    }
    assert!(producer.wait().unwrap().success());
    assert_eq!(acked.len(), 1500);
    let out = kcat(
        &[
            "-b",
            &addr,
            "-C",
            "-t",
            "crash",
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        None,
    );
    let stored: std::collections::HashSet<&str> = out.lines().collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|v| !stored.contains(v.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged but lost after SIGKILL: {lost:?}"
    );
    sigterm(&mut broker);
}
