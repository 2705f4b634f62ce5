//! `--wait`: the CLI follows an operation that the test moves along through the Store, as the
//! reconciler would; plain lines when piped, a live display in a terminal (tmux).

use std::process::Command;
use std::time::{Duration, Instant};

use sluice_model::{ClusterState, ErrorInfo, OperationState, StepStatus};
use sqlx::PgPool;
use uuid::Uuid;

use crate::harness::{bin, step, uuid_in, Env, Live, DEADLINE};

#[sqlx::test(migrations = "../../migrations")]
async fn wait_follows_each_step_to_success(pool: PgPool) {
    let env = Env::start(pool).await;
    env.active_cluster("orders").await;
    let mut live = Live::spawn(env.command(&[
        "clusters",
        "reboot-broker",
        "orders",
        "--broker-id",
        "2",
        "--wait",
        "--poll-interval",
        "50ms",
    ]));
    let op = uuid_in(&live.expect_line("Operation ").await);
    live.expect_line("operation REBOOT_BROKER PENDING").await;

    let stop = |s| step("STOP_BROKER", s, 2);
    let start = |s| step("START_BROKER", s, 2);
    env.store
        .record_steps(
            op,
            &[stop(StepStatus::InProgress), start(StepStatus::Pending)],
        )
        .await
        .unwrap();
    live.expect_line("step 1/2 STOP_BROKER (broker 2) started")
        .await;
    env.store
        .record_steps(
            op,
            &[stop(StepStatus::Complete), start(StepStatus::InProgress)],
        )
        .await
        .unwrap();
    live.expect_line("step 1/2 STOP_BROKER (broker 2) done")
        .await;
    live.expect_line("step 2/2 START_BROKER (broker 2) started")
        .await;
    env.store
        .record_steps(
            op,
            &[stop(StepStatus::Complete), start(StepStatus::Complete)],
        )
        .await
        .unwrap();
    env.store.complete_operation(op).await.unwrap();

    let (code, stdout, stderr) = live.finish().await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let last = stdout.lines().last().unwrap();
    assert!(
        last.contains("✓") && last.contains("UPDATE_COMPLETE"),
        "{stdout}"
    );
    // One line per transition, each with the elapsed time.
    assert_eq!(
        stdout.matches("STOP_BROKER (broker 2) started").count(),
        1,
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .filter(|l| l.contains("step "))
            .all(|l| l.starts_with('[') && l.contains("s] ")),
        "{stdout}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn wait_exits_non_zero_with_the_error_when_the_operation_fails(pool: PgPool) {
    let env = Env::start(pool).await;
    let cluster = env.active_cluster("orders").await;
    // -o json: progress on stderr, the final operation document on stdout.
    let mut c = env.command(&[
        "-o",
        "json",
        "clusters",
        "scale",
        "orders",
        "--broker-count",
        "6",
        "--wait",
        "--poll-interval",
        "50ms",
    ]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let op = active_operation(&env, cluster.id).await;
    env.store
        .record_steps(op, &[step("ADD_BROKER", StepStatus::Failed, 4)])
        .await
        .unwrap();
    let error = ErrorInfo {
        code: "broker-start-failed".into(),
        message: "broker 4 did not start".into(),
    };
    env.store
        .fail_operation(op, &error, ClusterState::Active)
        .await
        .unwrap();

    let out = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains("error: operation")
            && stderr.contains("broker 4 did not start (broker-start-failed)"),
        "{stderr}"
    );
    assert!(stderr.contains("UPDATE_FAILED"), "{stderr}");
    let doc: serde_json::Value =
        serde_json::from_str(&stdout).expect("the final operation as JSON");
    assert_eq!(doc, env.api(&format!("/v1/operations/{op}")).await);
    assert_eq!(doc["state"], OperationState::UpdateFailed.as_str());
}

#[sqlx::test(migrations = "../../migrations")]
async fn wait_gives_up_after_its_timeout(pool: PgPool) {
    let env = Env::start(pool).await;
    let cluster = env.active_cluster("orders").await;
    env.run(&["clusters", "grow-storage", "orders", "--storage-gib", "20"])
        .await
        .ok();
    let op = active_operation(&env, cluster.id).await.to_string();
    let out = env
        .run(&[
            "operations",
            "wait",
            &op,
            "--timeout",
            "300ms",
            "--poll-interval",
            "50ms",
        ])
        .await;
    assert_eq!(out.code(), 8, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("sluice operations wait {op}")),
        "{}",
        out.stderr
    );
    // A finished operation is waited for at once.
    env.store
        .complete_operation(op.parse().unwrap())
        .await
        .unwrap();
    let out = env.run(&["operations", "wait", &op]).await;
    assert!(out.ok().contains("UPDATE_COMPLETE"), "{}", out.stdout);
}

/// The operation the cluster is running, once it has one.
async fn active_operation(env: &Env, cluster: Uuid) -> Uuid {
    let end = Instant::now() + DEADLINE;
    loop {
        let c = env.api(&format!("/v1/clusters/{cluster}")).await;
        if let Some(id) = c["active_operation_id"].as_str() {
            let op = env.api(&format!("/v1/operations/{id}")).await;
            if op["operation_type"] != "CREATE_CLUSTER" {
                return id.parse().unwrap();
            }
        }
        assert!(Instant::now() < end, "no operation started on {cluster}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A tmux server on a socket in the test's temporary HOME (removed with it), killed when dropped.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            // Inside another tmux (a developer's shell), a new server must not nest into it.
            .env_remove("TMUX")
            .args(args)
            .output()
            .expect("tmux is needed for this test: apt-get install -y tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "cli"]).stdout)
            .into_owned()
    }

    async fn expect(&self, needle: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < end,
                "{needle:?} never appeared; screen:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn progress_renders_live_in_a_terminal(pool: PgPool) {
    let env = Env::start(pool).await;
    let cluster = env.active_cluster("orders").await;
    let tmux = Tmux {
        socket: env.home.path().join("tmux.sock"),
    };
    let script = format!(
        "env -i PATH=\"$PATH\" HOME={home} TERM=xterm-256color SLUICE_ENDPOINT={ep} SLUICE_TOKEN={tok} \
         {bin} clusters scale orders --broker-count 6 --wait --poll-interval 100ms; echo EXIT=$?; sleep 600",
        home = env.home.path().display(),
        ep = env.endpoint,
        tok = env.token,
        bin = bin(),
    );
    let started = tmux.tmux(&[
        "new-session",
        "-d",
        "-s",
        "cli",
        "-x",
        "120",
        "-y",
        "30",
        &script,
    ]);
    assert!(
        started.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&started.stderr)
    );

    let op = active_operation(&env, cluster.id).await;
    // The live line: a spinner with elapsed time, the operation and its state.
    tmux.expect("UPDATE_BROKER_COUNT PENDING (0/0 steps)").await;
    let add = |b, s| step("ADD_BROKER", s, b);
    env.store
        .record_steps(
            op,
            &[add(4, StepStatus::InProgress), add(5, StepStatus::Pending)],
        )
        .await
        .unwrap();
    let screen = tmux.expect("· step 1/2 ADD_BROKER (broker 4)").await;
    assert!(
        screen.contains("[00:00:"),
        "elapsed time on the live line:\n{screen}"
    );
    env.store
        .record_steps(
            op,
            &[add(4, StepStatus::Complete), add(5, StepStatus::InProgress)],
        )
        .await
        .unwrap();
    tmux.expect("step 1/2 ADD_BROKER (broker 4) done").await;
    tmux.expect("(1/2 steps) · step 2/2 ADD_BROKER (broker 5)")
        .await;
    env.store
        .record_steps(
            op,
            &[add(4, StepStatus::Complete), add(5, StepStatus::Complete)],
        )
        .await
        .unwrap();
    env.store.complete_operation(op).await.unwrap();

    let screen = tmux.expect("EXIT=").await;
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        screen.contains(&format!(
            "✓ operation {op} UPDATE_BROKER_COUNT UPDATE_COMPLETE"
        )),
        "{screen}"
    );
    assert!(
        screen.contains("step 2/2 ADD_BROKER (broker 5) done"),
        "{screen}"
    );
    // The live line is gone once the operation ended: nothing is left spinning.
    assert!(!screen.contains("steps) ·"), "{screen}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn delete_with_wait_ends_when_the_cluster_is_gone(pool: PgPool) {
    let env = Env::start(pool).await;
    env.active_cluster("orders").await;
    let mut live = Live::spawn(env.command(&[
        "clusters",
        "delete",
        "orders",
        "--yes",
        "--wait",
        "--poll-interval",
        "50ms",
    ]));
    let op = uuid_in(&live.expect_line("Operation ").await);
    live.expect_line("operation DELETE_CLUSTER PENDING").await;
    env.store.complete_operation(op).await.unwrap();
    let (code, stdout, stderr) = live.finish().await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("DELETE_CLUSTER UPDATE_COMPLETE"),
        "{stdout}"
    );
    assert_eq!(env.run(&["clusters", "describe", "orders"]).await.code(), 5);
}

#[sqlx::test(migrations = "../../migrations")]
async fn interrupting_a_wait_says_the_operation_goes_on(pool: PgPool) {
    let env = Env::start(pool).await;
    let cluster = env.active_cluster("orders").await;
    env.run(&["clusters", "grow-storage", "orders", "--storage-gib", "20"])
        .await
        .ok();
    let op = active_operation(&env, cluster.id).await.to_string();
    let mut live =
        Live::spawn(env.command(&["operations", "wait", &op, "--poll-interval", "50ms"]));
    live.expect_line("operation UPDATE_BROKER_STORAGE PENDING")
        .await;
    let pid = live.child.id().unwrap().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let (code, stdout, stderr) = live.finish().await;
    assert_eq!(code, 130, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("sluice operations wait {op}")),
        "{stderr}"
    );
}
