//! Helpers of Sluice's end-to-end tests: a control plane (API + reconciler + local runtime) in
//! the test process, over a real Postgres and real `sluice-broker` processes.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use sluice_api::{AppState, AuthConfig, Authenticator, TokenRequest};
use sluice_model::Role;
use sluice_reconciler::local::{LocalConfig, LocalRuntime};
use sluice_reconciler::{Context, Reconciler};
use sluice_store::Store;
use tokio::task::JoinHandle;

const SECRET: &[u8] = b"e2e-secret-that-is-at-least-32-bytes-long";

/// The `sluice-broker` executable: `SLUICE_BROKER_BIN`, else next to the test's target
/// directory (`.ci/test` builds it first; `cargo nextest run --workspace` builds it too, for the
/// broker's own tests).
pub fn broker_bin() -> PathBuf {
    if let Ok(p) = std::env::var("SLUICE_BROKER_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable");
    // target/debug/deps/<test> → target/debug/sluice-broker
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("sluice-broker");
    assert!(
        bin.exists(),
        "no broker at {}: run `cargo build -p sluice-broker` or set SLUICE_BROKER_BIN",
        bin.display()
    );
    bin
}

/// Reconciler settings for tests: short resync and lease, so healing and takeover are quick.
pub fn test_context(holder: &str) -> Context {
    Context {
        holder: holder.into(),
        lease_ttl: Duration::from_secs(2),
        resync_interval: Duration::from_millis(300),
        ready_timeout: Duration::from_secs(20),
        wait_interval: Duration::from_millis(50),
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(2),
        reassign_timeout: Duration::from_secs(120),
        ..Context::default()
    }
}

/// Broker properties of the end-to-end tests: replicated clusters with short failure detection,
/// so a killed broker is fenced (and its leaderships move) within about a second, and a
/// controlled shutdown or a catch-up does not hold a test up for long.
pub const FAST_BROKER_PROPERTIES: &str = "num.partitions=3\n\
    min.insync.replicas=2\n\
    broker.heartbeat.interval.ms=200\n\
    broker.session.timeout.ms=1500\n\
    replica.lag.time.max.ms=3000\n\
    replica.fetch.wait.max.ms=200\n\
    controlled.shutdown.timeout.ms=10000\n\
    group.initial.rebalance.delay.ms=0\n";

/// The local runtime's settings for tests: [`FAST_BROKER_PROPERTIES`], and a controlled
/// shutdown bounded by 20 s.
pub fn replicated_config(root: &Path) -> LocalConfig {
    let mut cfg = LocalConfig::new(root, broker_bin());
    cfg.extra_properties = FAST_BROKER_PROPERTIES.into();
    cfg.stop_timeout = Duration::from_secs(20);
    cfg
}

/// A reconciler over the local runtime rooted at `root`, running in a task.
pub fn start_reconciler(store: &Store, root: &Path, holder: &str) -> JoinHandle<()> {
    start_reconciler_with(store, LocalConfig::new(root, broker_bin()), holder)
}

/// A reconciler over a local runtime configured by `cfg`, running in a task.
pub fn start_reconciler_with(store: &Store, cfg: LocalConfig, holder: &str) -> JoinHandle<()> {
    let runtime = LocalRuntime::new(cfg);
    let rec = Reconciler::new(store.clone(), Arc::new(runtime), test_context(holder));
    tokio::spawn(async move {
        rec.run().await.expect("reconciler");
    })
}

/// The API on port 0 with an HS256 secret, and a client with an admin token.
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    _server: JoinHandle<()>,
}

impl Api {
    pub async fn start(store: &Store) -> Api {
        let auth = AuthConfig {
            hs_secret: Some(SECRET.to_vec()),
            public_key_pems: vec![],
            jwks_json: None,
            jwks_url: None,
            issuer: "sluice".into(),
            audience: "sluice-api".into(),
            leeway_secs: 5,
        };
        let state = AppState::new(store.clone(), Authenticator::new(&auth).expect("auth"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = sluice_api::run(
                listener,
                sluice_api::router(state),
                std::future::pending::<()>(),
            )
            .await;
        });
        let token = sluice_api::mint_hs256(
            SECRET,
            &TokenRequest {
                subject: "e2e",
                tenant: "default",
                roles: &[Role::Admin],
                ttl: Duration::from_secs(3600),
                issuer: "sluice",
                audience: "sluice-api",
            },
        )
        .unwrap();
        Api {
            base,
            http: reqwest::Client::new(),
            token,
            _server: server,
        }
    }
}

/// Stops the server with the test, so its database connections close.
impl Drop for Api {
    fn drop(&mut self) {
        self._server.abort();
    }
}

impl Api {
    /// Sends a request; returns the status code and the JSON body (Null when empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(Method::GET, path, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }
}

/// Polls `cond` until it returns `Some`, failing with `what` after `secs`.
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut cond: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = cond().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Pids of live processes whose command line mentions `needle` (zombies excluded).
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat
            .rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z'))
        {
            continue;
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(needle) && pid != std::process::id() {
            out.push(pid);
        }
    }
    out
}

/// Runs kcat with `args`, feeding `input`; returns stdout. Fails the test on a non-zero exit.
pub fn kcat(args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("kcat")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kcat (installed by .ci/install-broker-deps)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kcat {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `python3 crates/sluice-broker/tests/clients/ck_replicated_producer.py`: an idempotent
/// acks=all confluent-kafka producer writing `"<partition>:<seq>"` values until stopped.
pub struct Producer {
    child: std::process::Child,
    stop: PathBuf,
    out: PathBuf,
    log: PathBuf,
}

/// What a [`Producer`] reported when it stopped.
#[derive(Debug)]
pub struct Produced {
    /// Every acknowledged value.
    pub acked: Vec<String>,
    /// Delivery errors the application saw.
    pub errors: u64,
    /// Its whole output.
    pub log: String,
}

impl Producer {
    /// Starts writing to `partitions` partitions of `topic` at up to `rate` records/s; its files
    /// live in `dir`, named after `name`.
    pub fn start(
        dir: &Path,
        name: &str,
        bootstrap: &str,
        topic: &str,
        partitions: u32,
        rate: u32,
    ) -> Producer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/sluice-broker/tests/clients/ck_replicated_producer.py");
        let stop = dir.join(format!("{name}.stop"));
        let out = dir.join(format!("{name}.acked"));
        let log = dir.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new("python3")
            .arg(&script)
            .args([bootstrap, topic, &partitions.to_string(), &rate.to_string()])
            .arg(&stop)
            .arg(&out)
            .stdin(std::process::Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("python3 with confluent-kafka (installed by .ci/install-broker-deps)");
        Producer {
            child,
            stop,
            out,
            log,
        }
    }

    /// Records acknowledged so far (its last PROGRESS line).
    pub fn acked_so_far(&self) -> u64 {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("PROGRESS "))
            .filter_map(|n| n.trim().parse().ok())
            .next_back()
            .unwrap_or(0)
    }

    /// Waits until at least `n` records were acknowledged.
    pub async fn wait_acked(&mut self, n: u64, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.acked_so_far() < n {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "producer exited with {status}: {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "producer acknowledged {} < {n} within {secs} s: {}",
                self.acked_so_far(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops it (it flushes what it has in flight first) and returns what it reported.
    pub async fn finish(mut self) -> Produced {
        std::fs::write(&self.stop, b"stop").unwrap();
        let deadline = Instant::now() + Duration::from_secs(240);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "producer did not stop: {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(status.success(), "producer failed with {status}: {log}");
        let field = |name: &str| -> u64 {
            log.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in the producer's output: {log}"))
        };
        let acked_n = field("ACKED ");
        let errors = field("ERRORS ");
        let acked: Vec<String> = std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(acked.len() as u64, acked_n, "{log}");
        Produced { acked, errors, log }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
