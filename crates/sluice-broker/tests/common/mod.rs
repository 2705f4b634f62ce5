//! Shared harness: an in-process broker on an ephemeral port and runners for real clients.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sluice_broker::BrokerConfig;
use tokio::sync::oneshot;

/// A broker running on its own runtime.
pub struct TestBroker {
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), sluice_broker::error::BrokerError>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl TestBroker {
    /// Starts a broker on `port` (0 = any) over `dir`.
    pub fn start(dir: &Path, port: u16, tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let std_listener = bind_retrying(port);
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let admin_std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        admin_std.set_nonblocking(true).unwrap();
        let admin = admin_std.local_addr().unwrap();
        let mut config = BrokerConfig {
            listener: addr,
            advertised: ("127.0.0.1".into(), addr.port()),
            data_dir: dir.to_path_buf(),
            group_min_session_timeout_ms: 1000,
            ..BrokerConfig::default()
        };
        tweak(&mut config);
        let (tx, rx) = oneshot::channel::<()>();
        let handle = rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let admin = tokio::net::TcpListener::from_std(admin_std).unwrap();
            sluice_broker::run_with_admin(listener, Some(admin), config, async {
                let _ = rx.await;
            })
            .await
        });
        TestBroker {
            addr,
            admin,
            dir: dir.to_path_buf(),
            stop: Some(tx),
            handle: Some(handle),
            rt: Some(rt),
        }
    }

    /// `host:port` for clients.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// Graceful shutdown; panics if the broker failed.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let (Some(rt), Some(handle)) = (self.rt.take(), self.handle.take()) {
            rt.block_on(handle).unwrap().unwrap();
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }

    /// Fetches `/metrics` from the admin listener.
    pub fn metrics(&self) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.admin).unwrap();
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.shutdown();
        }
    }
}

fn bind_retrying(port: u16) -> std::net::TcpListener {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => return l,
            Err(e) if Instant::now() < deadline => {
                eprintln!("bind {port}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("bind {port}: {e}"),
        }
    }
}

/// Runs a command to completion; panics with its output if it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (run .ci/install-broker-deps)"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// `python3 tests/clients/<script> args...`, which must succeed.
pub fn python(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);
    let out = run_ok(Command::new("python3").arg(path).args(args));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs kcat with `args`, feeding `input` on stdin.
pub fn kcat(args: &[&str], input: Option<&[u8]>) -> String {
    use std::io::Write;
    let mut child = Command::new("kcat")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run kcat: {e} (run .ci/install-broker-deps)"));
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        panic!(
            "kcat {args:?} failed with {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}
