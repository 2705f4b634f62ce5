//! The `sluice-control` binary as a user runs it.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sluice_api::{AuthConfig, Authenticator};
use sluice_model::Role;

const BIN: &str = env!("CARGO_BIN_EXE_sluice-control");
const SECRET: &str = "control-test-secret-control-test-secret";

#[tokio::test]
async fn token_mints_what_the_api_accepts() {
    let out = Command::new(BIN)
        .args([
            "token",
            "--tenant",
            "acme",
            "--role",
            "operator",
            "--ttl",
            "10m",
            "--jwt-issuer",
            "me",
        ])
        .env("SLUICE_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let auth = Authenticator::new(&AuthConfig {
        hs_secret: Some(SECRET.into()),
        issuer: "me".into(),
        audience: "sluice-api".into(),
        ..AuthConfig::default()
    })
    .unwrap();
    let caller = auth.verify(token.trim()).await.unwrap();
    assert_eq!(caller.tenant.as_str(), "acme");
    assert_eq!(caller.role, Some(Role::Operator));

    let bad = Command::new(BIN)
        .args(["token", "--tenant", "acme", "--role", "root"])
        .env("SLUICE_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("viewer, operator or admin"));
}

#[test]
fn serve_refuses_to_start_without_a_database_or_keys() {
    let out = Command::new(BIN)
        .args(["serve"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL"));
    let out = Command::new(BIN)
        .args(["serve", "--database-url", "postgres://127.0.0.1:1/x"])
        .env_remove("SLUICE_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no verification key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Dev {
    child: Child,
    endpoint: String,
    token: String,
}

impl Drop for Dev {
    /// A test that fails half-way still stops its dev (and so the dev's Postgres).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
        }
    }
}

/// Starts `dev` in `cwd` with `args` and no DATABASE_URL, and reads the endpoint and token it
/// prints.
fn spawn_dev(cwd: &std::path::Path, args: &[&str]) -> Dev {
    let mut child = Command::new(BIN)
        .arg("dev")
        .args(args)
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("SLUICE_JWT_SECRET")
        .env_remove("SLUICE_LISTEN")
        .env_remove("SLUICE_STATE_DIR")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("export SLUICE_ENDPOINT=") {
            let (endpoint, token) = rest
                .split_once(" SLUICE_TOKEN=")
                .expect("endpoint and token");
            return Dev {
                child,
                endpoint: endpoint.to_owned(),
                token: token.to_owned(),
            };
        }
    }
    let _ = child.kill();
    let status = child.wait();
    panic!("dev exited without printing its endpoint: {status:?}");
}

/// Starts `dev` with the state directory `state` on any free port.
fn start_dev(state: &std::path::Path) -> Dev {
    let cwd = state.parent().unwrap();
    spawn_dev(
        cwd,
        &[
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
            state.to_str().unwrap(),
        ],
    )
}

async fn wait_ready(http: &reqwest::Client, endpoint: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(format!("{endpoint}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "dev never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn stop(mut dev: Dev) {
    let status = Command::new("kill")
        .args(["-TERM", &dev.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(code) = dev.child.try_wait().unwrap() {
            assert!(code.success(), "dev exited with {code}");
            return;
        }
        assert!(Instant::now() < deadline, "dev did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

/// Where dev keeps the private Postgres of `state`: under it, or (as root, since the `postgres`
/// user may not reach it) in the directory `pg/location` names.
fn pg_home(state: &std::path::Path) -> std::path::PathBuf {
    if is_root() {
        let at = std::fs::read_to_string(state.join("pg/location")).expect("pg/location");
        std::path::PathBuf::from(at.trim())
    } else {
        state.join("pg")
    }
}

/// Removes root's private Postgres directory of `state`, which lives outside the test's
/// temporary directory.
fn remove_pg_home(state: &std::path::Path) {
    if is_root() {
        let _ = std::fs::remove_dir_all(pg_home(state));
    }
}

/// `dev` with nothing set up: a private Postgres under the state directory, kept between runs,
/// and a signing key kept too, so a token from the first run still works in the second.
#[tokio::test(flavor = "multi_thread")]
async fn dev_runs_with_embedded_defaults_and_keeps_state() {
    // As a user clones into their home (0700) and runs dev there: under root, Postgres runs as
    // the `postgres` user, which cannot enter this directory, nor change back to it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let state = dir.path().join(".sluice");
    let http = reqwest::Client::new();

    let dev = spawn_dev(dir.path(), &["--listen", "127.0.0.1:0"]);
    wait_ready(&http, &dev.endpoint).await;
    let created = http
        .post(format!("{}/v1/clusters", dev.endpoint))
        .bearer_auth(&dev.token)
        .json(&serde_json::json!({"name": "kept", "kafka_version": "3.7.0", "broker_count": 1, "storage_gib": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let first_token = dev.token.clone();
    stop(dev);
    let data = pg_home(&state).join("data");
    assert!(data.join("PG_VERSION").exists());
    assert!(
        !data.join("postmaster.pid").exists(),
        "Postgres stopped with dev"
    );
    // The user's directory kept its permissions, and the signing secret is the owner's alone.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir.path()), 0o700);
    assert_eq!(mode(&state.join("jwt-secret")), 0o600);

    let dev = start_dev(&state);
    wait_ready(&http, &dev.endpoint).await;
    let list: serde_json::Value = http
        .get(format!("{}/v1/clusters", dev.endpoint))
        .bearer_auth(&first_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["clusters"][0]["name"], "kept");

    // dev runs the reconciler: the cluster's broker (started by the first run, or by this one)
    // is ACTIVE, and deleting the cluster stops it, so the test leaves no process behind.
    let id = list["clusters"][0]["id"].as_str().unwrap().to_owned();
    let cluster_url = format!("{}/v1/clusters/{id}", dev.endpoint);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let c: serde_json::Value = http
            .get(&cluster_url)
            .bearer_auth(&first_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if c["state"] == "ACTIVE" {
            break;
        }
        assert!(Instant::now() < deadline, "cluster never ACTIVE: {c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deleted = http
        .delete(&cluster_url)
        .bearer_auth(&first_token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), reqwest::StatusCode::ACCEPTED);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = http
            .get(&cluster_url)
            .bearer_auth(&first_token)
            .send()
            .await
            .unwrap();
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            break;
        }
        assert!(Instant::now() < deadline, "cluster never deleted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !state.join("brokers").join(&id).exists(),
        "broker data removed"
    );
    stop(dev);
    remove_pg_home(&state);
}

/// Runs `dev --listen listen` in `cwd`, which must refuse to start: returns what it said,
/// checked to be one line even with backtraces asked for.
fn dev_refused(cwd: &std::path::Path, listen: &str) -> String {
    let out = Command::new(BIN)
        .args(["dev", "--listen", listen])
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("SLUICE_STATE_DIR")
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.trim().lines().count(),
        1,
        "one line, no backtrace: {err}"
    );
    err
}

/// Two devs side by side, each with its own state directory, while the default port is taken:
/// both serve (on other ports), and a third on a state directory in use is refused in one line.
#[tokio::test(flavor = "multi_thread")]
async fn devs_side_by_side_and_on_a_taken_port() {
    // Hold the default port, unless something already does: either way it is taken.
    let _held = std::net::TcpListener::bind("127.0.0.1:8080");
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();

    let a = spawn_dev(a_dir.path(), &[]);
    let b = spawn_dev(b_dir.path(), &[]);
    for dev in [&a, &b] {
        assert!(
            !dev.endpoint.ends_with(":8080"),
            "dev moved off the taken default port: {}",
            dev.endpoint
        );
        wait_ready(&http, &dev.endpoint).await;
        let list = http
            .get(format!("{}/v1/clusters", dev.endpoint))
            .bearer_auth(&dev.token)
            .send()
            .await
            .unwrap();
        assert_eq!(list.status(), reqwest::StatusCode::OK);
    }
    assert_ne!(a.endpoint, b.endpoint);

    // A second dev on a's state directory: refused before it starts anything, in one line,
    // even with backtraces asked for.
    let err = dev_refused(a_dir.path(), "127.0.0.1:0");
    assert!(
        err.contains(&format!(
            "another sluice-control dev (pid {})",
            a.child.id()
        )) && err.contains("--state-dir"),
        "{err}"
    );

    // A port the user chose that is taken is an error naming the flag, not a silent move.
    let taken = a.endpoint.trim_start_matches("http://").to_owned();
    let c_dir = tempfile::tempdir().unwrap();
    let err = dev_refused(c_dir.path(), &taken);
    assert!(
        err.contains("already in use") && err.contains("--listen"),
        "{err}"
    );

    stop(a);
    stop(b);
    remove_pg_home(&a_dir.path().join(".sluice"));
    remove_pg_home(&b_dir.path().join(".sluice"));
}
