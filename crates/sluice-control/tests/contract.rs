//! The API contract: schemathesis, driven by the committed `openapi/sluice.json`, against a real
//! `sluice-control serve` (no reconciler: no brokers are needed) on a fresh database, as an outside
//! client. `.ci/contract.sh` runs it (and installs it when missing); this test starts the server,
//! hands the script an admin token, and fails with schemathesis's report when any check fails.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

const BIN: &str = env!("CARGO_BIN_EXE_sluice-control");
const SECRET: &str = "contract-test-secret-contract-test-secret";

/// The server process, stopped however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let (server, _) = base.rsplit_once('/').expect("a database URL");
    format!("{server}/{db}{query}")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_does_exactly_what_the_document_says() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test Postgres");
    let db = format!("sluice_contract_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&url).await.unwrap();
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .unwrap();

    let base = format!("http://127.0.0.1:{}", free_port());
    let server = Server(
        Command::new(BIN)
            .args(["serve", "--no-reconciler", "--listen"])
            .arg(base.trim_start_matches("http://"))
            .args(["--database-url", &with_database(&url, &db)])
            .env("SLUICE_JWT_SECRET", SECRET)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the server never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = Command::new(BIN)
        .args([
            "token", "--tenant", "contract", "--role", "admin", "--ttl", "2h",
        ])
        .env("SLUICE_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(token.status.success());
    let token = String::from_utf8(token.stdout).unwrap();

    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let started = Instant::now();
    let run = Command::new("bash")
        .arg(format!("{root}/.ci/contract.sh"))
        .args([&base, token.trim()])
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    eprintln!("schemathesis ({:.0?}):\n{report}", started.elapsed());

    drop(server);
    admin
        .execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
        .await
        .unwrap();
    assert!(
        run.status.success(),
        "the contract does not hold (report above)"
    );
}
