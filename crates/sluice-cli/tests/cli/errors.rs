//! The main failure modes: the message on stderr and the documented exit code.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sluice_model::{Role, SpecChange, TenantId};
use sqlx::PgPool;

use crate::harness::{mint, Env};

#[sqlx::test(migrations = "../../migrations")]
async fn failures_have_clear_messages_and_exit_codes(pool: PgPool) {
    let env = Env::start(pool).await;
    let cluster = env.active_cluster("orders").await;
    let id = cluster.id.to_string();

    // Connection refused: a port that was just free.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = env
        .run(&[
            "--endpoint",
            &format!("http://127.0.0.1:{port}"),
            "clusters",
            "list",
        ])
        .await;
    assert_eq!(out.code(), 3, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: cannot reach the Sluice API at http://127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.to_lowercase().contains("refused"),
        "{}",
        out.stderr
    );

    // A token that is not a JWT, and one signed with another secret: 401, exit 4.
    for token in [
        "garbage".to_owned(),
        mint(
            b"another-secret-of-at-least-32-bytes!!",
            &[Role::Admin],
            "acme",
        ),
    ] {
        let out = env
            .run(&["--token", &token, "clusters", "describe", &id])
            .await;
        assert_eq!(out.code(), 4, "{}", out.stderr);
        let first = out.stderr.lines().next().unwrap();
        assert!(
            first.starts_with("error: ") && first.ends_with("(unauthorized)"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("sluice login"), "{}", out.stderr);
    }
    // An expired token: 401, exit 4, with the server's reason.
    let out = env
        .run(&["--token", &expired_token(), "clusters", "list"])
        .await;
    assert_eq!(out.code(), 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("ExpiredSignature") && out.stderr.contains("(unauthorized)"),
        "{}",
        out.stderr
    );

    // A viewer may not change anything: 403, exit 4.
    let viewer = mint(crate::harness::SECRET, &[Role::Viewer], "acme");
    let out = env
        .run(&[
            "--token",
            &viewer,
            "clusters",
            "scale",
            &id,
            "--broker-count",
            "6",
        ])
        .await;
    assert_eq!(out.code(), 4, "{}", out.stderr);
    assert!(out.stderr.contains("(forbidden)"), "{}", out.stderr);

    // Not found: an unknown id (the API's 404), an unknown name, another tenant's cluster.
    let missing = uuid::Uuid::now_v7().to_string();
    let out = env.run(&["clusters", "describe", &missing]).await;
    assert_eq!(out.code(), 5, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("error: ") && out.stderr.trim_end().ends_with("(cluster-not-found)"),
        "{}",
        out.stderr
    );
    let out = env.run(&["clusters", "describe", "nope"]).await;
    assert_eq!(out.code(), 5, "{}", out.stderr);
    assert!(
        out.stderr.contains("no cluster named \"nope\""),
        "{}",
        out.stderr
    );
    let other = mint(crate::harness::SECRET, &[Role::Admin], "other-tenant");
    assert_eq!(
        env.run(&["--token", &other, "clusters", "describe", &id])
            .await
            .code(),
        5
    );
    assert_eq!(
        env.run(&["operations", "describe", &missing]).await.code(),
        5
    );

    // Validation: one line, then each field indented.
    let out = env
        .run(&[
            "clusters",
            "create",
            "9bad",
            "--broker-count",
            "4",
            "--zones",
            "3",
            "--storage-gib",
            "0",
        ])
        .await;
    assert_eq!(out.code(), 7, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: ") && lines[0].ends_with("(validation-failed)"),
        "{}",
        out.stderr
    );
    for field in ["  name: ", "  storage_gib: ", "  broker_count: "] {
        assert!(
            lines.iter().any(|l| l.starts_with(field)),
            "{field} in {}",
            out.stderr
        );
    }
    let out = env
        .run(&["clusters", "grow-storage", "orders", "--storage-gib", "5"])
        .await;
    assert_eq!(
        out.code(),
        6,
        "shrinking conflicts with the cluster: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("storage_gib: storage can only grow"),
        "{}",
        out.stderr
    );

    // Version conflict with --if-version: no read, no retry, exit 6 with the current version.
    let stale = (cluster.current_version - 1).to_string();
    let out = env
        .run(&[
            "clusters",
            "scale",
            "orders",
            "--broker-count",
            "6",
            "--if-version",
            &stale,
        ])
        .await;
    assert_eq!(out.code(), 6, "{}", out.stderr);
    assert!(out.stderr.contains("(version-conflict)"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("at version {}", cluster.current_version)),
        "{}",
        out.stderr
    );
    let out = env
        .run(&[
            "clusters",
            "delete",
            "orders",
            "--yes",
            "--if-version",
            &stale,
        ])
        .await;
    assert_eq!(out.code(), 6, "{}", out.stderr);
    // The right version goes through.
    let current = cluster.current_version.to_string();
    let out = env
        .run(&[
            "clusters",
            "scale",
            "orders",
            "--broker-count",
            "6",
            "--if-version",
            &current,
        ])
        .await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    // The cluster is UPDATING now: another change is a conflict of state.
    let out = env
        .run(&["clusters", "reboot-broker", "orders", "--broker-id", "1"])
        .await;
    assert_eq!(out.code(), 6, "{}", out.stderr);
    assert!(
        out.stderr.contains("(invalid-state)") && out.stderr.contains("the cluster is UPDATING"),
        "{}",
        out.stderr
    );

    // Usage: clap's own errors and a missing endpoint are 2.
    assert_eq!(env.run(&["clusters", "scale", "orders"]).await.code(), 2);
    assert_eq!(
        env.run(&["operations", "describe", "not-a-uuid"])
            .await
            .code(),
        2
    );
    let mut c = env.command(&["clusters", "list"]);
    c.env_remove("SLUICE_ENDPOINT");
    let out = Env::output(c).await;
    assert_eq!(out.code(), 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no API endpoint configured"),
        "{}",
        out.stderr
    );
}

fn expired_token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = sluice_api::Claims {
        sub: "tester".into(),
        tenant: Some("acme".into()),
        roles: vec!["admin".into()],
        exp: now - 3600,
        nbf: None,
        iat: Some(now - 7200),
        iss: crate::harness::ISSUER.into(),
        aud: crate::harness::AUDIENCE.into(),
    };
    let key = jsonwebtoken::EncodingKey::from_secret(crate::harness::SECRET);
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn help_documents_exit_codes(pool: PgPool) {
    let env = Env::start(pool).await;
    let help = env.run(&["--help"]).await;
    for line in [
        "Exit codes:",
        "3    cannot connect",
        "5    not found",
        "8    timed out waiting",
    ] {
        assert!(help.ok().contains(line), "{line}");
    }
}

/// Between the CLI's read of the cluster and its update, someone else changes the cluster: the
/// CLI's update meets a version conflict, and it retries once with the new version.
#[sqlx::test(migrations = "../../migrations")]
async fn a_version_conflict_is_retried_once_with_the_new_version(pool: PgPool) {
    let fired = Arc::new(AtomicBool::new(false));
    let seen = fired.clone();
    let env = Env::start_with(pool, move |router, store| {
        router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let (store, fired) = (store.clone(), fired.clone());
                async move {
                    let path = req.uri().path().to_owned();
                    if req.method() == axum::http::Method::PUT
                        && path.ends_with("/broker-count")
                        && !fired.swap(true, Ordering::SeqCst)
                    {
                        let id = path.split('/').nth(3).unwrap().parse().unwrap();
                        let tenant = TenantId::parse("acme").unwrap();
                        let v = store
                            .get_cluster(&tenant, id)
                            .await
                            .unwrap()
                            .current_version;
                        let change = SpecChange::Storage(50);
                        let out = store.update_cluster(&tenant, id, v, &change).await.unwrap();
                        store.complete_operation(out.operation.id).await.unwrap();
                    }
                    next.run(req).await
                }
            },
        ))
    })
    .await;
    let before = env.active_cluster("orders").await;
    let out = env
        .run(&[
            "-o",
            "json",
            "clusters",
            "scale",
            "orders",
            "--broker-count",
            "6",
        ])
        .await;
    assert!(
        seen.load(Ordering::SeqCst),
        "the concurrent change happened"
    );
    let doc = out.json();
    assert!(out.stderr.contains("retrying once"), "{}", out.stderr);
    assert_eq!(doc["cluster"]["spec"]["broker_count"], 6);
    assert_eq!(
        doc["cluster"]["spec"]["storage_gib"], 50,
        "the other change is kept"
    );
    assert_eq!(
        doc["cluster"]["current_version"],
        before.current_version + 2
    );

    // Strict scripts get the conflict instead.
    let stale = before.current_version.to_string();
    let strict = env
        .run(&[
            "clusters",
            "scale",
            "orders",
            "--broker-count",
            "9",
            "--if-version",
            &stale,
        ])
        .await;
    assert_eq!(strict.code(), 6, "{}", strict.stderr);
}
