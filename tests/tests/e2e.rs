//! The whole product on one host: REST API + reconciler + local runtime + real `sluice-broker`
//! processes forming one replicated Kafka cluster + kcat and confluent-kafka, against a real
//! Postgres. One test walks a cluster through its life, since each step starts from the
//! previous one's cluster.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use sluice_e2e::{
    broker_bin, kcat, processes_mentioning, replicated_config, start_reconciler_with, wait_for,
    Api, Produced, Producer,
};
use sluice_reconciler::kafka_admin::{self, ClusterView};
use sluice_reconciler::local::LocalConfig;
use sluice_store::Store;
use sqlx::PgPool;

async fn cluster(api: &Api, id: &str) -> Value {
    api.get(&format!("/v1/clusters/{id}")).await
}

/// Waits for ACTIVE; on timeout, fails showing the cluster and its latest operation.
async fn wait_active(api: &Api, id: &str, secs: u64, what: &str) -> Value {
    let deadline = Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let c = cluster(api, id).await;
        if c["state"] == "ACTIVE" {
            return c;
        }
        if Instant::now() > deadline {
            let op = latest_operation(api, id).await;
            panic!("timed out after {secs} s waiting for {what}: {c}\n{op}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

async fn latest_operation(api: &Api, id: &str) -> Value {
    api.get(&format!("/v1/clusters/{id}/operations?max_results=1"))
        .await["operations"][0]
        .clone()
}

fn pid_of(root: &std::path::Path, id: &str, broker: u32) -> u32 {
    let data = root.join(id).join(format!("broker-{broker}")).join("data");
    let pids = processes_mentioning(&data.display().to_string());
    assert_eq!(
        pids.len(),
        1,
        "broker {broker} runs as exactly one process: {pids:?}"
    );
    pids[0]
}

/// Metadata and reassignments as the brokers report them, from the first that answers.
async fn describe(bootstrap: &str) -> ClusterView {
    let addrs: Vec<SocketAddr> = bootstrap.split(',').map(|a| a.parse().unwrap()).collect();
    kafka_admin::describe_any(&addrs, Duration::from_secs(5))
        .await
        .unwrap()
        .1
}

/// Every value of `topic`, from the beginning.
fn consume_all(bootstrap: &str, topic: &str) -> Vec<String> {
    let out = kcat(
        &[
            "-C",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%s\n",
        ],
        "",
    );
    out.lines().map(str::to_owned).collect()
}

/// Every acknowledged value is in the topic, exactly once.
fn nothing_acknowledged_lost(bootstrap: &str, topic: &str, produced: &Produced, what: &str) {
    let consumed = consume_all(bootstrap, topic);
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for v in &consumed {
        *seen.entry(v.as_str()).or_default() += 1;
    }
    let lost: Vec<&String> = produced
        .acked
        .iter()
        .filter(|v| !seen.contains_key(v.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{what}: {} of {} acknowledged records lost, e.g. {:?}",
        lost.len(),
        produced.acked.len(),
        &lost[..lost.len().min(10)]
    );
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(10).collect();
    assert!(dups.is_empty(), "{what}: duplicates {dups:?}");
    println!(
        "{what}: {} acknowledged, {} consumed, {} delivery errors",
        produced.acked.len(),
        consumed.len(),
        produced.errors
    );
}

/// Names of the operation's completed steps, with their brokers, in order.
fn completed_steps(op: &Value) -> Vec<(String, Option<u64>)> {
    op["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "COMPLETE")
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["broker_id"].as_u64(),
            )
        })
        .collect()
}

fn produce_and_consume(bootstrap: &str, topic: &str, records: &[&str]) {
    let input = records.join("\n") + "\n";
    kcat(&["-P", "-b", bootstrap, "-t", topic], &input);
    let out = kcat(
        &[
            "-C",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        "",
    );
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got, records, "consumed from {bootstrap}");
}

#[sqlx::test(migrations = "../migrations")]
async fn cluster_lifecycle_with_real_brokers(pool: PgPool) {
    let store = Store::from_pool(pool);
    let api = Api::start(&store).await;
    // Kept when the test fails, for the broker logs; removed at the end.
    let root = std::env::temp_dir().join(format!("sluice-e2e-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&root).unwrap();
    println!("broker directories under {}", root.display());
    let test_started = Instant::now();
    let mut reconciler = start_reconciler_with(&store, replicated_config(&root), "e2e-first");

    // Create a 3-broker cluster over REST → ACTIVE.
    let started = Instant::now();
    let (s, created) = api
        .call(
            Method::POST,
            "/v1/clusters",
            Some(json!({"name": "orders", "kafka_version": "3.7.0", "broker_count": 3, "storage_gib": 10})),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let id = created["cluster"]["id"].as_str().unwrap().to_owned();
    wait_active(&api, &id, 30, "create → ACTIVE").await;
    println!(
        "create → ACTIVE for 3 local brokers: {:?}",
        started.elapsed()
    );

    // Bootstrap brokers and nodes report the real addresses.
    let bootstrap = api
        .get(&format!("/v1/clusters/{id}/bootstrap-brokers"))
        .await["bootstrap_brokers"]
        .as_str()
        .unwrap()
        .to_owned();
    let addrs: Vec<&str> = bootstrap.split(',').collect();
    assert_eq!(addrs.len(), 3, "{bootstrap}");
    let nodes = api.get(&format!("/v1/clusters/{id}/nodes")).await;
    assert!(nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["state"] == "RUNNING"));

    // One Kafka cluster: a 3-voter metadata quorum, every broker listed by Metadata.
    let quorum = std::fs::read_to_string(root.join(&id).join("quorum.json")).unwrap();
    assert_eq!(quorum.matches("\"id\"").count(), 3, "{quorum}");
    // Its admin port is authenticated with a per-cluster secret only its owner may read.
    let secret = root.join(&id).join("admin.secret");
    let meta = std::fs::metadata(&secret).unwrap();
    assert_eq!(meta.len(), 32);
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    let view = describe(&bootstrap).await;
    assert_eq!(view.brokers, [1, 2, 3], "{view:?}");
    assert!(view.controller.is_some(), "{view:?}");

    // Produce 10k records with a real client at acks=all and consume them back; the topic is
    // auto-created with replication factor 3.
    let records: Vec<String> = (0..10_000).map(|i| format!("record-{i}")).collect();
    let started = Instant::now();
    kcat(
        &["-P", "-b", &bootstrap, "-t", "orders", "-X", "acks=all"],
        &(records.join("\n") + "\n"),
    );
    let mut got = consume_all(&bootstrap, "orders");
    println!("10k records produced and consumed: {:?}", started.elapsed());
    got.sort();
    let mut want = records.clone();
    want.sort();
    assert_eq!(got, want, "consumed what was produced");
    let view = describe(&bootstrap).await;
    let orders: Vec<_> = view
        .partitions
        .iter()
        .filter(|p| p.topic == "orders")
        .collect();
    assert_eq!(orders.len(), 3, "{view:?}");
    for p in &orders {
        assert_eq!(p.replicas.len(), 3, "replication factor 3: {p:?}");
    }
    wait_for(30, "orders fully replicated", || async {
        describe(&bootstrap).await.safe().then_some(())
    })
    .await;

    // A producer writes continuously (idempotent, acks=all) through the rolling restart and
    // the reboot: 0 errors, nothing acknowledged lost.
    let mut producer = Producer::start(&root, "rolling", &bootstrap, "live", 3, 300);
    producer.wait_acked(300, 60).await;

    // Apply a configuration revision → rolling restart, one broker at a time, as steps, the
    // controller last.
    let (s, cfg) = api
        .call(
            Method::POST,
            "/v1/configurations",
            Some(json!({"name": "tuned", "server_properties": {"log.retention.ms": 3600000}})),
        )
        .await;
    assert_eq!(s, 201, "{cfg}");
    let cfg_id = cfg["id"].as_str().unwrap().to_owned();
    let pids_before: Vec<u32> = (1..=3).map(|b| pid_of(&root, &id, b)).collect();
    let controller = describe(&bootstrap).await.controller;
    let version = cluster(&api, &id).await["current_version"].clone();
    let started = Instant::now();
    let (s, op) = api
        .call(
            Method::PUT,
            &format!("/v1/clusters/{id}/configuration"),
            Some(
                json!({"current_version": version, "configuration": {"id": cfg_id, "revision": 1}}),
            ),
        )
        .await;
    assert_eq!(s, 202, "{op}");
    wait_active(&api, &id, 180, "rolling restart").await;
    println!(
        "rolling restart of 3 brokers under load: {:?}",
        started.elapsed()
    );
    let op = latest_operation(&api, &id).await;
    assert_eq!(op["operation_type"], "UPDATE_CONFIGURATION");
    assert_eq!(op["state"], "UPDATE_COMPLETE");
    let steps = op["steps"].as_array().unwrap();
    let restarted: Vec<u64> = steps
        .iter()
        .filter(|s| s["name"] == "RESTART_BROKER" && s["status"] == "COMPLETE")
        .map(|s| s["broker_id"].as_u64().unwrap())
        .collect();
    let mut sorted = restarted.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [1, 2, 3], "{op}");
    println!("restart order {restarted:?}, controller before: {controller:?}");
    for st in steps {
        println!(
            "  {} {}: {} → {}",
            st["name"], st["broker_id"], st["started_at"], st["ended_at"]
        );
    }
    if std::env::var_os("SLUICE_E2E_KEEP").is_some() {
        // For a person looking into a slow restart: the broker logs as they were.
        for b in 1..=3 {
            let from = root.join(&id).join(format!("broker-{b}/broker.log"));
            let _ = std::fs::copy(&from, root.join(format!("rolling-broker-{b}.log")));
        }
    }
    if let Some(c) = controller {
        // The controller does not move while followers restart, so it goes last.
        assert_eq!(
            restarted.last(),
            Some(&u64::from(c)),
            "controller last: {op}"
        );
    }
    for w in steps.windows(2) {
        // Never two at once: each restart ended before the next began.
        assert!(
            w[0]["ended_at"].as_str() <= w[1]["started_at"].as_str(),
            "{op}"
        );
    }
    for b in 1..=3u32 {
        assert_ne!(
            pid_of(&root, &id, b),
            pids_before[b as usize - 1],
            "broker {b} restarted"
        );
    }
    let props = std::fs::read_to_string(root.join(&id).join("broker-1/server.properties")).unwrap();
    assert!(props.contains("log.retention.ms=3600000"), "{props}");

    // Reboot broker 2: only broker 2 restarts.
    let pids: Vec<u32> = (1..=3).map(|b| pid_of(&root, &id, b)).collect();
    let version = cluster(&api, &id).await["current_version"].clone();
    let (s, op) = api
        .call(
            Method::POST,
            &format!("/v1/clusters/{id}/reboot-broker"),
            Some(json!({"current_version": version, "broker_id": 2})),
        )
        .await;
    assert_eq!(s, 202, "{op}");
    wait_active(&api, &id, 60, "reboot").await;
    assert_eq!(pid_of(&root, &id, 1), pids[0]);
    assert_ne!(pid_of(&root, &id, 2), pids[1]);
    assert_eq!(pid_of(&root, &id, 3), pids[2]);
    let produced = producer.finish().await;
    assert_eq!(
        produced.errors, 0,
        "rolling restart and reboot surfaced produce errors: {}",
        produced.log
    );
    nothing_acknowledged_lost(&bootstrap, "live", &produced, "rolling restart + reboot");
    // The 10k records survived the restarts.
    assert_eq!(consume_all(&bootstrap, "orders").len(), 10_000);

    // Grow storage: in place, no restart.
    let pids: Vec<u32> = (1..=3).map(|b| pid_of(&root, &id, b)).collect();
    let version = cluster(&api, &id).await["current_version"].clone();
    let (s, op) = api
        .call(
            Method::PUT,
            &format!("/v1/clusters/{id}/storage"),
            Some(json!({"current_version": version, "storage_gib": 20})),
        )
        .await;
    assert_eq!(s, 202, "{op}");
    wait_active(&api, &id, 30, "storage grown").await;
    for b in 1..=3u32 {
        assert_eq!(
            pid_of(&root, &id, b),
            pids[b as usize - 1],
            "broker {b} kept running"
        );
        let meta = std::fs::read_to_string(root.join(&id).join(format!("broker-{b}/broker.json")))
            .unwrap();
        assert!(meta.contains("\"storage_gib\": 20"), "{meta}");
    }

    // Another producer through kill -9, scale-out and scale-in: nothing acknowledged lost.
    let mut producer = Producer::start(&root, "failures", &bootstrap, "live2", 3, 300);
    producer.wait_acked(300, 60).await;

    // kill -9 broker 3 → HEALING → ACTIVE on its own, same address.
    let victim = pid_of(&root, &id, 3);
    let started = Instant::now();
    std::process::Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    wait_for(20, "HEALING", || async {
        (cluster(&api, &id).await["state"] == "HEALING").then_some(())
    })
    .await;
    wait_active(&api, &id, 60, "healed").await;
    println!("kill -9 → ACTIVE: {:?}", started.elapsed());
    assert_ne!(pid_of(&root, &id, 3), victim);
    let healed = latest_operation(&api, &id).await;
    assert_eq!(healed["operation_type"], "HEAL_CLUSTER", "{healed}");
    wait_for(60, "broker 3 back in every ISR", || async {
        describe(&bootstrap).await.safe().then_some(())
    })
    .await;

    // kill -9 every broker (a host reboot): the heal starts them together, since a metadata
    // quorum without its majority only comes back when enough voters start at once.
    let victims: Vec<u32> = (1..=3).map(|b| pid_of(&root, &id, b)).collect();
    let started = Instant::now();
    for v in &victims {
        std::process::Command::new("kill")
            .args(["-9", &v.to_string()])
            .status()
            .unwrap();
    }
    wait_for(20, "HEALING after a full outage", || async {
        (cluster(&api, &id).await["state"] == "HEALING").then_some(())
    })
    .await;
    wait_active(&api, &id, 90, "healed after a full outage").await;
    println!("kill -9 of all 3 → ACTIVE: {:?}", started.elapsed());
    let healed = latest_operation(&api, &id).await;
    let healed_steps = completed_steps(&healed);
    assert!(
        healed_steps.len() == 3 && healed_steps.iter().all(|(n, _)| n == "HEAL_BROKER"),
        "{healed}"
    );
    wait_for(60, "every replica back in sync", || async {
        describe(&bootstrap).await.safe().then_some(())
    })
    .await;
    println!("… and every replica in sync: {:?}", started.elapsed());

    // Scale 3 → 4: replicas move onto broker 4, leadership spreads.
    let version = cluster(&api, &id).await["current_version"].clone();
    let started = Instant::now();
    let (s, op) = api
        .call(
            Method::PUT,
            &format!("/v1/clusters/{id}/broker-count"),
            Some(json!({"current_version": version, "broker_count": 4})),
        )
        .await;
    assert_eq!(s, 202, "{op}");
    wait_active(&api, &id, 180, "scaled out").await;
    println!("scale 3 → 4 with rebalance: {:?}", started.elapsed());
    let op = latest_operation(&api, &id).await;
    assert_eq!(
        completed_steps(&op),
        [
            ("PROVISION_BROKER".to_owned(), Some(4)),
            ("REBALANCE_PARTITIONS".to_owned(), None)
        ],
        "{op}"
    );
    let nodes = api.get(&format!("/v1/clusters/{id}/nodes")).await;
    assert_eq!(nodes["nodes"].as_array().unwrap().len(), 4, "{nodes}");
    let view = describe(&bootstrap).await;
    assert_eq!(view.brokers, [1, 2, 3, 4], "{view:?}");
    let counts: Vec<usize> = (1..=4).map(|b| view.replicas_on(b)).collect();
    println!("replicas per broker after the rebalance: {counts:?}");
    assert!(counts[3] > 0, "broker 4 holds replicas: {view:?}");
    let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(hi - lo <= 1, "balanced by partitions: {counts:?}");
    // The preferred-leader election that closes the rebalance gives broker 4 leaderships too.
    let leaders = wait_for(10, "broker 4 to lead partitions", || async {
        let v = describe(&bootstrap).await;
        let leaders: Vec<usize> = (1..=4)
            .map(|b| v.partitions.iter().filter(|p| p.leader == b).count())
            .collect();
        (leaders[3] > 0).then_some(leaders)
    })
    .await;
    println!("leaders per broker after the rebalance: {leaders:?}");
    // broker 4 is a learner of the quorum, not a voter: the voters did not change.
    assert_eq!(
        std::fs::read_to_string(root.join(&id).join("quorum.json")).unwrap(),
        quorum
    );

    // Scale 4 → 3: broker 4 is drained first, then removed.
    let version = cluster(&api, &id).await["current_version"].clone();
    let started = Instant::now();
    let (s, op) = api
        .call(
            Method::PUT,
            &format!("/v1/clusters/{id}/broker-count"),
            Some(json!({"current_version": version, "broker_count": 3})),
        )
        .await;
    assert_eq!(s, 202, "{op}");
    wait_active(&api, &id, 180, "scaled in").await;
    println!("scale 4 → 3 with drain: {:?}", started.elapsed());
    let op = latest_operation(&api, &id).await;
    assert_eq!(
        completed_steps(&op),
        [
            ("DRAIN_BROKER".to_owned(), Some(4)),
            ("DECOMMISSION_BROKER".to_owned(), Some(4))
        ],
        "{op}"
    );
    let nodes = api.get(&format!("/v1/clusters/{id}/nodes")).await;
    assert_eq!(nodes["nodes"].as_array().unwrap().len(), 3, "{nodes}");
    assert!(
        !root.join(&id).join("broker-4").exists(),
        "broker 4's data removed"
    );
    assert!(
        processes_mentioning(&root.join(&id).join("broker-4").display().to_string()).is_empty()
    );
    let view = describe(&bootstrap).await;
    assert_eq!(view.replicas_on(4), 0, "{view:?}");
    assert!(
        view.partitions
            .iter()
            .all(|p| p.leader > 0 && p.leader != 4),
        "every partition led by a staying broker: {view:?}"
    );
    let produced = producer.finish().await;
    nothing_acknowledged_lost(
        &bootstrap,
        "live2",
        &produced,
        "kill -9 + scale out + scale in",
    );
    assert_eq!(consume_all(&bootstrap, "orders").len(), 10_000);
    let topics: HashSet<&str> = view.partitions.iter().map(|p| p.topic.as_str()).collect();
    println!("topics at the end: {topics:?}");

    // Kill the control plane mid-operation; a new one completes it without duplicate brokers.
    let (s, _) = api
        .call(
            Method::POST,
            &format!("/v1/configurations/{cfg_id}/revisions"),
            Some(json!({"server_properties": {"log.retention.ms": 7200000}})),
        )
        .await;
    assert_eq!(s, 201);
    let version = cluster(&api, &id).await["current_version"].clone();
    let (s, op) = api
        .call(
            Method::PUT,
            &format!("/v1/clusters/{id}/configuration"),
            Some(
                json!({"current_version": version, "configuration": {"id": cfg_id, "revision": 2}}),
            ),
        )
        .await;
    assert_eq!(s, 202, "{op}");
    wait_for(30, "first restart recorded", || async {
        let op = latest_operation(&api, &id).await;
        let started = op["steps"].as_array().is_some_and(|s| !s.is_empty());
        started.then_some(())
    })
    .await;
    reconciler.abort();
    let _ = (&mut reconciler).await;
    // A different replica: it must wait for the dead one's lease to expire, then take over.
    let reconciler = start_reconciler_with(&store, replicated_config(&root), "e2e-second");
    wait_active(
        &api,
        &id,
        180,
        "operation completed by the new control plane",
    )
    .await;
    let op = latest_operation(&api, &id).await;
    assert_eq!(op["state"], "UPDATE_COMPLETE", "{op}");
    for b in 1..=3u32 {
        pid_of(&root, &id, b); // exactly one process each
        let props =
            std::fs::read_to_string(root.join(&id).join(format!("broker-{b}/server.properties")))
                .unwrap();
        assert!(
            props.contains("log.retention.ms=7200000"),
            "broker {b}: {props}"
        );
    }

    // Delete → processes gone, data removed.
    let (s, _) = api
        .call(Method::DELETE, &format!("/v1/clusters/{id}"), None)
        .await;
    assert_eq!(s, 202);
    wait_for(30, "deleted", || async {
        let (s, _) = api
            .call(Method::GET, &format!("/v1/clusters/{id}"), None)
            .await;
        (s == 404).then_some(())
    })
    .await;
    assert!(processes_mentioning(&root.join(&id).display().to_string()).is_empty());
    assert!(!root.join(&id).exists(), "cluster data removed");
    if std::env::var_os("SLUICE_E2E_KEEP").is_none() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    reconciler.abort();
    let _ = reconciler.await;
    drop(api);
    println!("whole life: {:?}", test_started.elapsed());
}

/// A broker that stops answering (SIGSTOP: its process lives, its port accepts, nothing replies)
/// is noticed after the start-up grace, and healed: killed after the controlled-shutdown timeout,
/// started again with the same id and address.
#[sqlx::test(migrations = "../migrations")]
async fn a_frozen_broker_is_healed(pool: PgPool) {
    let store = Store::from_pool(pool);
    let api = Api::start(&store).await;
    let root = std::env::temp_dir().join(format!("sluice-e2e-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&root).unwrap();
    let mut cfg = LocalConfig::new(&root, broker_bin());
    cfg.start_grace = std::time::Duration::from_secs(1);
    cfg.stop_timeout = std::time::Duration::from_secs(1);
    cfg.probe_timeout = std::time::Duration::from_millis(500);
    let reconciler = start_reconciler_with(&store, cfg, "e2e-frozen");

    let (s, created) = api
        .call(
            Method::POST,
            "/v1/clusters",
            Some(json!({"name": "frozen", "kafka_version": "3.7.0", "broker_count": 1, "storage_gib": 10})),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let id = created["cluster"]["id"].as_str().unwrap().to_owned();
    wait_active(&api, &id, 30, "create").await;
    let before = api
        .get(&format!("/v1/clusters/{id}/bootstrap-brokers"))
        .await;
    let frozen = pid_of(&root, &id, 1);
    std::process::Command::new("kill")
        .args(["-STOP", &frozen.to_string()])
        .status()
        .unwrap();
    wait_for(30, "HEALING", || async {
        (cluster(&api, &id).await["state"] == "HEALING").then_some(())
    })
    .await;
    wait_active(&api, &id, 30, "healed").await;
    assert_ne!(
        pid_of(&root, &id, 1),
        frozen,
        "the frozen process was replaced"
    );
    let after = api
        .get(&format!("/v1/clusters/{id}/bootstrap-brokers"))
        .await;
    assert_eq!(before, after, "same address");
    let addr = after["bootstrap_brokers"].as_str().unwrap().to_owned();
    produce_and_consume(&addr, "after-heal", &["ok"]);

    let (s, _) = api
        .call(Method::DELETE, &format!("/v1/clusters/{id}"), None)
        .await;
    assert_eq!(s, 202);
    wait_for(30, "deleted", || async {
        let (s, _) = api
            .call(Method::GET, &format!("/v1/clusters/{id}"), None)
            .await;
        (s == 404).then_some(())
    })
    .await;
    assert!(processes_mentioning(&root.display().to_string()).is_empty());
    std::fs::remove_dir_all(&root).unwrap();
    reconciler.abort();
    let _ = reconciler.await;
}
