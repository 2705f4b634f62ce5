//! Every cluster, operation and tag command, its json and yaml output compared with the API's.

use serde_json::Value;
use sluice_model::{ClusterOperation, Node};
use sqlx::PgPool;

use crate::harness::Env;

fn co(v: Value) -> ClusterOperation {
    serde_json::from_value(v).expect("ClusterOperation")
}

#[sqlx::test(migrations = "../../migrations")]
async fn cluster_lifecycle_through_every_command(pool: PgPool) {
    let env = Env::start(pool).await;

    // create: json is the API's answer, and the cluster it names is what GET shows.
    let created = env
        .run(&[
            "-o",
            "json",
            "clusters",
            "create",
            "orders",
            "--broker-count",
            "3",
            "--storage-gib",
            "10",
            "--tag",
            "env=prod",
        ])
        .await
        .json();
    let cluster_id = created["cluster"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["cluster"],
        env.api(&format!("/v1/clusters/{cluster_id}")).await
    );
    assert_eq!(created["operation"]["operation_type"], "CREATE_CLUSTER");
    let op_id = co(created.clone()).operation.id;
    env.store.complete_operation(op_id).await.unwrap();

    // describe by name and by id, json and yaml, all equal to the API's document.
    let api_cluster = env.api(&format!("/v1/clusters/{cluster_id}")).await;
    assert_eq!(
        env.run(&["-o", "json", "clusters", "describe", "orders"])
            .await
            .json(),
        api_cluster
    );
    let yaml = env
        .run(&["-o", "yaml", "clusters", "describe", &cluster_id])
        .await;
    let parsed: Value = serde_norway::from_str(yaml.ok()).expect("yaml");
    assert_eq!(parsed, api_cluster);
    // Not just equal as values: the same document, keys in the server's order, only indented.
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    let text = env
        .run(&["-o", "json", "clusters", "describe", "orders"])
        .await;
    let api_text = env.api_text(&format!("/v1/clusters/{cluster_id}")).await;
    assert_eq!(squeeze(text.ok()), squeeze(&api_text));
    let table = env.run(&["clusters", "describe", "orders"]).await;
    assert!(
        table.ok().contains("ACTIVE") && table.stdout.contains("env=prod"),
        "{}",
        table.stdout
    );

    // list: json/yaml equal to the API's page; the table names the cluster.
    env.run(&["clusters", "create", "payments", "--storage-gib", "10"])
        .await
        .ok();
    assert_eq!(
        env.run(&["-o", "json", "clusters", "list"]).await.json(),
        env.api("/v1/clusters").await
    );
    let yaml: Value = serde_norway::from_str(
        env.run(&["-o", "yaml", "clusters", "ls", "--name-prefix", "ord"])
            .await
            .ok(),
    )
    .unwrap();
    assert_eq!(yaml, env.api("/v1/clusters?name_prefix=ord").await);
    let page = env
        .run(&["-o", "json", "clusters", "list", "--max-results", "1"])
        .await
        .json();
    assert_eq!(page["clusters"].as_array().unwrap().len(), 1);
    assert!(page["next_token"].is_string());
    let all = env
        .run(&[
            "-o",
            "json",
            "clusters",
            "list",
            "--max-results",
            "1",
            "--all",
        ])
        .await
        .json();
    assert_eq!(all["clusters"].as_array().unwrap().len(), 2);
    let active = env
        .run(&["-o", "json", "clusters", "list", "--state", "active"])
        .await
        .json();
    assert_eq!(active["clusters"].as_array().unwrap().len(), 1);
    let t = env.run(&["clusters", "list"]).await;
    assert!(
        t.ok().contains("NAME") && t.stdout.contains("orders") && t.stdout.contains("payments"),
        "{}",
        t.stdout
    );

    // nodes and bootstrap brokers, once the runtime reported brokers.
    let id = uuid::Uuid::parse_str(&cluster_id).unwrap();
    for b in 1..=3u32 {
        let node = Node {
            broker_id: b,
            host: "127.0.0.1".into(),
            port: 19091 + b as u16,
            zone: Some("z1".into()),
            state: "RUNNING".into(),
            kafka_version: "4.0.0".into(),
            updated_at: chrono::Utc::now(),
        };
        env.store.upsert_node(id, &node).await.unwrap();
    }
    let nodes = env
        .run(&["-o", "json", "clusters", "nodes", "orders"])
        .await
        .json();
    assert_eq!(
        nodes,
        env.api(&format!("/v1/clusters/{cluster_id}/nodes")).await
    );
    assert!(env
        .run(&["clusters", "nodes", "orders"])
        .await
        .ok()
        .contains("RUNNING"));
    let bb = env.run(&["clusters", "bootstrap-brokers", "orders"]).await;
    assert_eq!(
        bb.ok().trim(),
        "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"
    );
    let bbj = env
        .run(&["-o", "json", "clusters", "bootstrap-brokers", "orders"])
        .await
        .json();
    assert_eq!(
        bbj,
        env.api(&format!("/v1/clusters/{cluster_id}/bootstrap-brokers"))
            .await
    );

    // Each update: the CLI reads the version itself; the operation it prints is the API's.
    let updates: Vec<Vec<&str>> = vec![
        vec!["scale", "orders", "--broker-count", "6"],
        vec!["grow-storage", "orders", "--storage-gib", "20"],
        vec![
            "set-broker-type",
            "orders",
            "--broker-type",
            "kafka.m5.xlarge",
        ],
        vec![
            "set-broker-type",
            "orders",
            "--cpu-millis",
            "3000",
            "--memory-mib",
            "4096",
        ],
        vec!["reboot-broker", "orders", "--broker-id", "2"],
    ];
    for u in updates {
        let mut args = vec!["-o", "json", "clusters"];
        args.extend(u.iter().copied());
        let out = env.run(&args).await.json();
        let op = co(out.clone()).operation;
        assert_eq!(
            out["operation"],
            env.api(&format!("/v1/operations/{}", op.id)).await,
            "{u:?}"
        );
        env.store.complete_operation(op.id).await.unwrap();
    }
    let c = env.api(&format!("/v1/clusters/{cluster_id}")).await;
    assert_eq!(c["spec"]["broker_count"], 6);
    assert_eq!(c["spec"]["storage_gib"], 20);
    assert_eq!(c["spec"]["broker_resources"]["cpu_millis"], 3000);

    // upgrade needs an older version to start from: a fresh cluster on 3.6.0.
    let old = env
        .run(&[
            "-o",
            "json",
            "clusters",
            "create",
            "legacy",
            "--kafka-version",
            "3.6.0",
            "--storage-gib",
            "10",
        ])
        .await
        .json();
    env.store
        .complete_operation(co(old).operation.id)
        .await
        .unwrap();
    let up = env
        .run(&["clusters", "upgrade", "legacy", "--kafka-version", "3.7.0"])
        .await;
    assert!(up.ok().contains("UPDATE_KAFKA_VERSION"), "{}", up.stdout);
    assert!(
        up.stdout.contains("sluice operations wait"),
        "{}",
        up.stdout
    );
    let op_id = crate::harness::uuid_in(
        up.stdout
            .lines()
            .find(|l| l.starts_with("Operation"))
            .unwrap(),
    );
    env.store.complete_operation(op_id).await.unwrap();

    // apply-config takes a configuration by name and its latest revision.
    env.run(&[
        "configurations",
        "create",
        "--name",
        "base",
        "--property",
        "num.partitions=6",
    ])
    .await
    .ok();
    let out = env
        .run(&[
            "-o",
            "json",
            "clusters",
            "apply-config",
            "orders",
            "--configuration",
            "base",
        ])
        .await
        .json();
    assert_eq!(out["operation"]["target"]["configuration"]["revision"], 1);
    env.store
        .complete_operation(co(out).operation.id)
        .await
        .unwrap();

    // operations: list and describe equal the API's.
    let ops = env
        .run(&["-o", "json", "operations", "list", "orders", "--all"])
        .await
        .json();
    let api_ops = env
        .api(&format!(
            "/v1/clusters/{cluster_id}/operations?max_results=100"
        ))
        .await;
    assert_eq!(ops, api_ops);
    assert_eq!(ops["operations"].as_array().unwrap().len(), 7);
    let first = ops["operations"][0]["id"].as_str().unwrap();
    let one = env
        .run(&["-o", "yaml", "operations", "describe", first])
        .await;
    assert_eq!(
        serde_norway::from_str::<Value>(one.ok()).unwrap(),
        env.api(&format!("/v1/operations/{first}")).await
    );
    assert!(env
        .run(&["ops", "list", "orders"])
        .await
        .ok()
        .contains("UPDATE_CONFIGURATION"));
    assert!(env
        .run(&["operations", "describe", first])
        .await
        .ok()
        .contains("UPDATE_COMPLETE"));

    // tags on a cluster.
    let added = env
        .run(&[
            "-o",
            "json",
            "tags",
            "add",
            "--cluster",
            "orders",
            "team=data",
            "tier=1",
        ])
        .await
        .json();
    assert_eq!(
        added,
        serde_json::json!({"tags": {"env": "prod", "team": "data", "tier": "1"}})
    );
    let removed = env
        .run(&[
            "-o",
            "json",
            "tags",
            "remove",
            "--cluster",
            &cluster_id,
            "env",
            "tier",
        ])
        .await
        .json();
    assert_eq!(removed, serde_json::json!({"tags": {"team": "data"}}));
    assert_eq!(
        env.run(&["-o", "json", "tags", "list", "--cluster", "orders"])
            .await
            .json(),
        env.api(&format!("/v1/clusters/{cluster_id}/tags")).await
    );
    assert!(env
        .run(&["tags", "list", "--cluster", "orders"])
        .await
        .ok()
        .contains("team"));

    // delete refuses without --yes when nobody can be asked, then deletes.
    let refused = env.run(&["clusters", "delete", "payments"]).await;
    assert_eq!(refused.code(), 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    let del = env
        .run(&["-o", "json", "clusters", "delete", "orders", "--yes"])
        .await
        .json();
    assert_eq!(del["operation"]["operation_type"], "DELETE_CLUSTER");
    assert_eq!(del["cluster"]["state"], "DELETING");
}

#[sqlx::test(migrations = "../../migrations")]
async fn completions_for_each_shell(pool: PgPool) {
    let env = Env::start(pool).await;
    for shell in ["bash", "zsh", "fish"] {
        let out = env.run(&["completions", shell]).await;
        assert!(out.ok().contains("clusters"), "{shell}");
        assert!(out.stdout.contains("reboot-broker"), "{shell}");
    }
}

/// `sluice … | head` closes the pipe early: the CLI ends quietly instead of panicking.
#[sqlx::test(migrations = "../../migrations")]
async fn a_closed_pipe_ends_quietly(pool: PgPool) {
    let env = Env::start(pool).await;
    let mut c = env.command(&["completions", "bash"]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
