//! A real API on an ephemeral port over the test's own database, and the real `sluice` binary
//! run against it with a private HOME, so nothing of the machine's user leaks in or out.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_api::{AppState, AuthConfig, Authenticator, TokenRequest};
use sluice_model::{Cluster, ClusterOperation, OperationStep, Role, StepStatus};
use sluice_store::Store;
use sqlx::PgPool;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

pub(crate) const SECRET: &[u8] = b"sluice-cli-tests-secret-at-least-32-bytes";
pub(crate) const ISSUER: &str = "sluice-test";
pub(crate) const AUDIENCE: &str = "sluice";
/// Generous: the machine is shared with other builds.
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);

pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sluice")
}

pub(crate) fn mint(secret: &[u8], roles: &[Role], tenant: &str) -> String {
    let req = TokenRequest {
        subject: "tester",
        tenant,
        roles,
        ttl: Duration::from_secs(3600),
        issuer: ISSUER,
        audience: AUDIENCE,
    };
    sluice_api::mint_hs256(secret, &req).expect("mint")
}

pub(crate) struct Out {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub(crate) fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    pub(crate) fn json(&self) -> Value {
        assert_eq!(
            self.code(),
            0,
            "stderr: {}\nstdout: {}",
            self.stderr,
            self.stdout
        );
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    pub(crate) fn ok(&self) -> &str {
        assert_eq!(
            self.code(),
            0,
            "stderr: {}\nstdout: {}",
            self.stderr,
            self.stdout
        );
        &self.stdout
    }
}

pub(crate) struct Env {
    pub endpoint: String,
    pub token: String,
    pub store: Store,
    pub home: TempDir,
    http: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

impl Env {
    pub(crate) async fn start(pool: PgPool) -> Env {
        Self::start_with(pool, |router, _| router).await
    }

    /// Like [`Env::start`], with the API's router wrapped by `wrap` (which gets the Store too).
    pub(crate) async fn start_with(
        pool: PgPool,
        wrap: impl FnOnce(axum::Router, Store) -> axum::Router,
    ) -> Env {
        let auth = Authenticator::new(&AuthConfig {
            hs_secret: Some(SECRET.to_vec()),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            ..AuthConfig::default()
        })
        .expect("auth");
        let store = Store::from_pool(pool);
        let router = wrap(
            sluice_api::router(AppState::new(store.clone(), auth)),
            store.clone(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(sluice_api::run(listener, router, async {
            let _ = rx.await;
        }));
        Env {
            endpoint: format!("http://{addr}"),
            token: mint(SECRET, &[Role::Admin], "acme"),
            store,
            home: tempfile::tempdir().expect("tempdir"),
            http: reqwest::Client::new(),
            _shutdown: tx,
        }
    }

    pub(crate) fn config_home(&self) -> PathBuf {
        self.home.path().join("xdg")
    }

    /// The binary with a clean environment: only this API, this token and the private HOME.
    pub(crate) fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(bin());
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.config_home())
            .env("SLUICE_ENDPOINT", &self.endpoint)
            .env("SLUICE_TOKEN", &self.token)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    pub(crate) async fn output(mut c: tokio::process::Command) -> Out {
        let out = tokio::time::timeout(DEADLINE, c.output())
            .await
            .expect("sluice hung")
            .expect("spawn sluice");
        Out {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) async fn run(&self, args: &[&str]) -> Out {
        Self::output(self.command(args)).await
    }

    /// The API's own answer as text, byte for byte.
    pub(crate) async fn api_text(&self, path: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", self.endpoint))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("api");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.text().await.expect("text")
    }

    /// The API's own answer, for comparing with what the CLI printed.
    pub(crate) async fn api(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.endpoint))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("api");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.expect("json")
    }

    /// Creates a cluster through the CLI and makes it ACTIVE, as the reconciler would.
    pub(crate) async fn active_cluster(&self, name: &str) -> Cluster {
        let out = self
            .run(&[
                "-o",
                "json",
                "clusters",
                "create",
                name,
                "--broker-count",
                "3",
                "--storage-gib",
                "10",
            ])
            .await;
        let co: ClusterOperation = serde_json::from_value(out.json()).expect("ClusterOperation");
        self.store
            .complete_operation(co.operation.id)
            .await
            .expect("complete");
        serde_json::from_value(self.api(&format!("/v1/clusters/{}", co.cluster.id)).await)
            .expect("cluster")
    }
}

pub(crate) fn step(name: &str, status: StepStatus, broker: u32) -> OperationStep {
    let now = chrono::Utc::now();
    OperationStep {
        name: name.into(),
        status,
        broker_id: Some(broker),
        started_at: (status != StepStatus::Pending).then_some(now),
        ended_at: matches!(status, StepStatus::Complete | StepStatus::Failed).then_some(now),
        message: None,
    }
}

/// A running `sluice`, its stdout read line by line as it comes.
pub(crate) struct Live {
    pub child: tokio::process::Child,
    lines: mpsc::UnboundedReceiver<String>,
    pub seen: Vec<String>,
}

impl Live {
    pub(crate) fn spawn(mut c: tokio::process::Command) -> Live {
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn sluice");
        let (tx, rx) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout");
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Live {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle`, returning it.
    pub(crate) async fn expect_line(&mut self, needle: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            let left = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.lines.recv()).await {
                Ok(Some(l)) => self.seen.push(l),
                _ => panic!("no line with {needle:?}; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Waits for the process to end; answers its exit code, the rest of stdout, and stderr.
    pub(crate) async fn finish(mut self) -> (i32, String, String) {
        let mut stderr = self.child.stderr.take().expect("stderr");
        let status = tokio::time::timeout(DEADLINE, self.child.wait())
            .await
            .expect("sluice hung")
            .expect("wait");
        while let Some(l) = self.lines.recv().await {
            self.seen.push(l);
        }
        let mut err = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err)
            .await
            .expect("stderr");
        (status.code().unwrap_or(-1), self.seen.join("\n"), err)
    }
}

/// The id in a line such as "Operation <uuid> REBOOT_BROKER is PENDING.".
pub(crate) fn uuid_in(line: &str) -> Uuid {
    line.split_whitespace()
        .find_map(|w| {
            Uuid::parse_str(w.trim_matches(|c: char| !c.is_ascii_hexdigit() && c != '-')).ok()
        })
        .unwrap_or_else(|| panic!("no uuid in {line:?}"))
}

pub(crate) fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}
