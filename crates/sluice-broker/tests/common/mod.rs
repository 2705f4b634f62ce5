//! Shared harness: an in-process broker on an ephemeral port and runners for real clients.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sluice_broker::config::ListenerProps;
use sluice_broker::BrokerConfig;
use tokio::sync::oneshot;

/// A broker running on its own runtime.
pub(crate) struct TestBroker {
    /// The first listener's address.
    pub addr: SocketAddr,
    /// Every listener's name and bound address.
    pub listeners: Vec<(String, SocketAddr)>,
    pub admin: SocketAddr,
    pub dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), sluice_broker::error::BrokerError>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl TestBroker {
    /// Starts a broker on `port` (0 = any) over `dir`.
    pub(crate) fn start(
        dir: &Path,
        port: u16,
        tweak: impl FnOnce(&mut BrokerConfig),
    ) -> TestBroker {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .try_init();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let admin_std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        admin_std.set_nonblocking(true).unwrap();
        let admin = admin_std.local_addr().unwrap();
        let mut config = BrokerConfig {
            listener_props: ListenerProps {
                listeners: format!("PLAINTEXT://127.0.0.1:{port}"),
                ..ListenerProps::default()
            },
            data_dir: dir.to_path_buf(),
            group_min_session_timeout_ms: 1000,
            ..BrokerConfig::default()
        };
        config.resolve_listeners().unwrap();
        config.admin.secret_file = Some(write_admin_secret(&dir.join("__sluice")));
        tweak(&mut config);
        // Listeners on port 0 get an ephemeral port, advertised as bound.
        let mut bound = Vec::new();
        for l in &mut config.listeners {
            let s = bind_retrying(l.bind);
            s.set_nonblocking(true).unwrap();
            l.bind = s.local_addr().unwrap();
            if l.advertised_port == 0 {
                l.advertised_port = l.bind.port();
            }
            bound.push(s);
        }
        let listeners: Vec<(String, SocketAddr)> = config
            .listeners
            .iter()
            .map(|l| (l.name.clone(), l.bind))
            .collect();
        let addr = listeners[0].1;
        let (tx, rx) = oneshot::channel::<()>();
        let handle = rt.spawn(async move {
            let bound = bound
                .into_iter()
                .map(|s| tokio::net::TcpListener::from_std(s).unwrap())
                .collect();
            let admin = tokio::net::TcpListener::from_std(admin_std).unwrap();
            sluice_broker::run_with_admin(bound, Some(admin), config, async {
                let _ = rx.await;
            })
            .await
        });
        TestBroker {
            addr,
            listeners,
            admin,
            dir: dir.to_path_buf(),
            stop: Some(tx),
            handle: Some(handle),
            rt: Some(rt),
        }
    }

    /// `host:port` for clients.
    pub(crate) fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// Bound address of the listener named `name`.
    pub(crate) fn listener(&self, name: &str) -> SocketAddr {
        self.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("no listener {name}"))
    }

    /// Graceful shutdown; panics if the broker failed.
    pub(crate) fn stop(mut self) {
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
    pub(crate) fn metrics(&self) -> String {
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

/// The admin secret every test broker of this process shares (a broker refuses to serve its
/// admin port without one).
pub(crate) const ADMIN_SECRET: [u8; 32] = *b"sluice-test-admin-secret-32bytes";

/// Writes [`ADMIN_SECRET`] to `dir/admin.secret`, mode 0600; returns the path.
pub(crate) fn write_admin_secret(dir: &Path) -> PathBuf {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("admin.secret");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    f.write_all(&ADMIN_SECRET).unwrap();
    path
}

fn bind_retrying(addr: SocketAddr) -> std::net::TcpListener {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => return l,
            Err(e) if Instant::now() < deadline => {
                eprintln!("bind {addr}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("bind {addr}: {e}"),
        }
    }
}

/// Longest a client script may run; a hung client fails the test instead of hanging CI.
pub(crate) const CLIENT_TIMEOUT: Duration = Duration::from_secs(240);

/// Runs a command to completion within [`CLIENT_TIMEOUT`]; panics with its output if it fails.
pub(crate) fn run_ok(cmd: &mut Command) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (run .ci/install-broker-deps)"));
    wait_ok(child, &format!("{cmd:?}"))
}

/// Waits for a spawned client (stdout/stderr piped) within [`CLIENT_TIMEOUT`]; panics with its
/// output if it fails or hangs.
pub(crate) fn wait_ok(mut child: std::process::Child, what_ran: &str) -> Output {
    use std::io::Read;
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out_reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    let report = |what: String| -> ! {
        panic!(
            "{what_ran} {what}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )
    };
    match status {
        None => report(format!("did not finish within {CLIENT_TIMEOUT:?}")),
        Some(status) if !status.success() => report(format!("failed with {status}")),
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
    }
}

/// `python3 tests/clients/<script> args...`, which must succeed.
pub(crate) fn python(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);
    let out = run_ok(Command::new("python3").arg(path).args(args));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Offsets of every record of `topic`-`partition`, from the log start to the end, as kcat
/// consumes them through `bootstrap`.
pub(crate) fn consumed_offsets(bootstrap: &str, topic: &str, partition: i32) -> Vec<i64> {
    let p = partition.to_string();
    let args = [
        "-b",
        bootstrap,
        "-C",
        "-t",
        topic,
        "-p",
        &p,
        "-o",
        "beginning",
        "-e",
        "-f",
        "%o\n",
    ];
    kcat(&args, None)
        .lines()
        .map(|l| l.parse().expect("an offset per line"))
        .collect()
}

/// Runs kcat with `args`, feeding `input` on stdin.
pub(crate) fn kcat(args: &[&str], input: Option<&[u8]>) -> String {
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
    let out = wait_ok(child, &format!("kcat {args:?}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exact protocol checks over a blocking socket, with the frames of the one Kafka client
/// (`sluice_kafka_client`): whole calls, and raw frames for what no well-behaved client sends.
pub(crate) mod raw {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use bytes::{Bytes, BytesMut};
    use kafka_protocol::protocol::{Request, StrBytes};
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    use sluice_kafka_client::{blocking, frame};

    pub(crate) fn connect(addr: std::net::SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Encodes a request frame.
    pub(crate) fn frame<R: Request>(version: i16, correlation_id: i32, req: &R) -> Vec<u8> {
        frame::encode_request(
            version,
            correlation_id,
            Some(StrBytes::from_static_str("raw-test")),
            req,
        )
        .unwrap()
        .to_vec()
    }

    /// Reads one response frame; `None` if the broker closed the connection (or said nothing
    /// within the read timeout).
    pub(crate) fn read_frame(s: &mut TcpStream) -> Option<Bytes> {
        blocking::read_frame(s, usize::MAX).ok().flatten()
    }

    /// Decodes a response frame for request type `R`.
    pub(crate) fn decode<R: Request>(version: i16, frame: Bytes) -> (i32, R::Response) {
        frame::decode_response::<R>(version, frame).unwrap()
    }

    /// Sends one request and waits for its response.
    pub(crate) fn call<R: Request>(s: &mut TcpStream, version: i16, req: &R) -> R::Response {
        s.write_all(&frame(version, 7, req)).unwrap();
        let (cid, resp) = decode::<R>(version, read_frame(s).expect("connection closed"));
        assert_eq!(cid, 7);
        resp
    }

    /// Whether the broker closed the connection (EOF or reset) within the read timeout.
    pub(crate) fn closed(s: &mut TcpStream) -> bool {
        let mut b = [0u8; 1];
        matches!(s.read(&mut b), Ok(0) | Err(_)) && !matches!(s.read(&mut b), Ok(n) if n > 0)
    }

    /// A v2 batch of `n` records, optionally idempotent.
    pub(crate) fn batch(n: usize, producer: Option<(i64, i16, i32)>) -> Bytes {
        let (pid, epoch, seq) = producer.unwrap_or((-1, -1, -1));
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: pid,
                producer_epoch: epoch,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // A constant offset - sequence keeps the encoder to one batch.
                sequence: if seq < 0 { i as i32 } else { seq + i as i32 },
                timestamp: 1_700_000_000_000 + i as i64,
                key: Some(Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(format!("v{i}"))),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            &records,
            &RecordEncodeOptions {
                version: 2,
                compression: Compression::None,
            },
        )
        .unwrap();
        if seq < 0 {
            return Bytes::from(sluice_broker::batch::without_sequence(buf.to_vec()));
        }
        buf.freeze()
    }
}

pub(crate) mod certs;
pub(crate) mod cluster;

/// Admin requests the Kafka command-line tools would send, through [`raw`].
pub(crate) mod admin {
    use kafka_protocol::messages::alter_partition_reassignments_request::{
        ReassignablePartition, ReassignableTopic,
    };
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::{
        AlterPartitionReassignmentsRequest, BrokerId, MetadataRequest, TopicName,
        UnregisterBrokerRequest,
    };
    use kafka_protocol::protocol::StrBytes;

    use super::raw;

    /// UnregisterBroker for `id` through broker `addr`; returns the error code.
    pub(crate) fn unregister(addr: &str, id: i32) -> i16 {
        let mut s = raw::connect(addr.parse().unwrap());
        let mut req = UnregisterBrokerRequest::default();
        req.broker_id = BrokerId(id);
        raw::call(&mut s, 0, &req).error_code
    }

    /// Replica lists of `topic`'s partitions, from broker `addr`.
    pub(crate) fn replicas(addr: &str, topic: &str) -> Vec<Vec<i32>> {
        let mut s = raw::connect(addr.parse().unwrap());
        let mut req = MetadataRequest::default();
        let mut t = MetadataRequestTopic::default();
        t.name = Some(TopicName(StrBytes::from_string(topic.to_string())));
        req.topics = Some(vec![t]);
        let resp = raw::call(&mut s, 12, &req);
        let mut parts: Vec<_> = resp.topics[0]
            .partitions
            .iter()
            .map(|p| {
                (
                    p.partition_index,
                    p.replica_nodes.iter().map(|b| b.0).collect(),
                )
            })
            .collect();
        parts.sort_by_key(|p: &(i32, Vec<i32>)| p.0);
        parts.into_iter().map(|p| p.1).collect()
    }

    /// Reassigns every replica of `topic` on broker `from` to one of `to` (first not already a
    /// replica); panics on any error code. Returns how many partitions move.
    pub(crate) fn reassign_off(
        addr: &str,
        topic: &str,
        partitions: usize,
        from: i32,
        to: &[i32],
    ) -> usize {
        let current = replicas(addr, topic);
        assert_eq!(current.len(), partitions);
        let mut t = ReassignableTopic::default();
        t.name = TopicName(StrBytes::from_string(topic.to_string()));
        for (i, reps) in current.iter().enumerate() {
            if !reps.contains(&from) {
                continue;
            }
            let target: Vec<i32> = reps
                .iter()
                .map(|r| {
                    if *r == from {
                        *to.iter()
                            .find(|c| !reps.contains(c))
                            .expect("a free broker")
                    } else {
                        *r
                    }
                })
                .collect();
            let mut p = ReassignablePartition::default();
            p.partition_index = i as i32;
            p.replicas = Some(target.into_iter().map(BrokerId).collect());
            t.partitions.push(p);
        }
        let moved = t.partitions.len();
        let mut req = AlterPartitionReassignmentsRequest::default();
        req.timeout_ms = 30_000;
        req.topics = vec![t];
        let mut s = raw::connect(addr.parse().unwrap());
        let resp = raw::call(&mut s, 0, &req);
        assert_eq!(resp.error_code, 0, "{resp:?}");
        for t in &resp.responses {
            for p in &t.partitions {
                assert_eq!(p.error_code, 0, "{p:?}");
            }
        }
        moved
    }
}
