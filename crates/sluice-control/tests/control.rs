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

/// Starts `dev` in `state` with no DATABASE_URL, and reads the endpoint and token it prints.
fn start_dev(state: &std::path::Path) -> Dev {
    let mut child = Command::new(BIN)
        .args(["dev", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(state)
        .env_remove("DATABASE_URL")
        .env_remove("SLUICE_JWT_SECRET")
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

/// `dev` with nothing set up: a private Postgres under the state directory, kept between runs,
/// and a signing key kept too, so a token from the first run still works in the second.
#[tokio::test(flavor = "multi_thread")]
async fn dev_runs_with_embedded_defaults_and_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    // Postgres runs as the `postgres` user under root: it must be able to reach the directory.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let state = dir.path().join("state");
    let http = reqwest::Client::new();

    let dev = start_dev(&state);
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
    assert!(state.join("pg/data/PG_VERSION").exists());
    assert!(
        !state.join("pg/data/postmaster.pid").exists(),
        "Postgres stopped with dev"
    );

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
}
