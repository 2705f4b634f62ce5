//! The reconciler loop against a real Postgres and the simulated runtime.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sluice_model::{
    ClusterState, CreateClusterRequest, OperationStep, OperationType, SpecChange, StepStatus,
    TenantId,
};
use sluice_reconciler::sim::SimRuntime;
use sluice_reconciler::{Context, PassOutcome, Reconciler};
use sluice_store::{PageRequest, Store};
use sqlx::PgPool;
use uuid::Uuid;

fn fast(holder: &str) -> Context {
    Context {
        holder: holder.into(),
        lease_ttl: Duration::from_secs(1),
        resync_interval: Duration::from_millis(200),
        max_attempts: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ready_timeout: Duration::from_secs(5),
        wait_interval: Duration::from_millis(20),
        ..Context::default()
    }
}

fn tenant() -> TenantId {
    TenantId::parse("t1").unwrap()
}

async fn create(store: &Store, name: &str, brokers: u32) -> Uuid {
    let req = serde_json::from_value::<CreateClusterRequest>(serde_json::json!({
        "name": name, "kafka_version": "3.7.0", "broker_count": brokers, "storage_gib": 10
    }))
    .unwrap()
    .validate()
    .unwrap();
    store
        .create_cluster(&tenant(), &req, name)
        .await
        .unwrap()
        .cluster
        .id
}

/// Polls `cond` until it holds, failing after `secs`.
async fn until<F, Fut>(secs: u64, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn state(store: &Store, id: Uuid) -> Option<ClusterState> {
    store.cluster_state(id).await.ok()
}

async fn update(store: &Store, id: Uuid, change: SpecChange) {
    let v = store
        .get_cluster(&tenant(), id)
        .await
        .unwrap()
        .current_version;
    store
        .update_cluster(&tenant(), id, v, &change)
        .await
        .unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn lifecycle_create_scale_reboot_heal_delete(pool: PgPool) {
    let store = Store::from_pool(pool);
    let sim = Arc::new(SimRuntime::new());
    let rec = Reconciler::new(store.clone(), sim.clone(), fast("a"));
    let task = tokio::spawn(rec.run());

    let id = create(&store, "life", 3).await;
    until(5, "ACTIVE", || async {
        state(&store, id).await == Some(ClusterState::Active)
    })
    .await;
    assert_eq!(sim.brokers(id).len(), 3);
    assert_eq!(store.list_nodes(&tenant(), id).await.unwrap().len(), 3);
    let ops = store
        .list_operations(
            &tenant(),
            id,
            PageRequest {
                after: None,
                limit: 50,
            },
        )
        .await
        .unwrap()
        .items;
    let create_op = &ops[0];
    assert_eq!(create_op.operation_type, OperationType::CreateCluster);
    let provisioned: Vec<_> = create_op
        .steps
        .iter()
        .filter(|s| s.name == "PROVISION_BROKER" && s.status == StepStatus::Complete)
        .map(|s| s.broker_id)
        .collect();
    assert_eq!(provisioned, vec![Some(1), Some(2), Some(3)]);

    update(&store, id, SpecChange::BrokerCount(4)).await;
    until(5, "4 brokers", || async {
        state(&store, id).await == Some(ClusterState::Active) && sim.brokers(id).len() == 4
    })
    .await;
    assert_eq!(sim.rebalances(id), 1, "replicas moved onto the new broker");
    sim.set_partitions(id, 4, 5);
    update(&store, id, SpecChange::BrokerCount(3)).await;
    until(5, "3 brokers", || async {
        state(&store, id).await == Some(ClusterState::Active) && sim.brokers(id).len() == 3
    })
    .await;
    assert_eq!(store.list_nodes(&tenant(), id).await.unwrap().len(), 3);
    assert_eq!(sim.drains(id), 1, "drained before it was removed");
    assert_eq!(sim.rebalances(id), 1, "a scale-in does not rebalance");
    let ops = store
        .list_operations(
            &tenant(),
            id,
            PageRequest {
                after: None,
                limit: 50,
            },
        )
        .await
        .unwrap()
        .items;
    let names: Vec<&str> = ops[0].steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["DRAIN_BROKER", "DECOMMISSION_BROKER"]);
    let names: Vec<&str> = ops[1].steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["PROVISION_BROKER", "REBALANCE_PARTITIONS"]);

    update(&store, id, SpecChange::RebootBroker(2)).await;
    until(5, "reboot", || async {
        state(&store, id).await == Some(ClusterState::Active) && sim.starts(id, 2) == 2
    })
    .await;
    assert_eq!((sim.starts(id, 1), sim.starts(id, 3)), (1, 1));

    // A version change restarts every broker once.
    update(&store, id, SpecChange::KafkaVersion("3.8.0".into())).await;
    until(5, "version rolled", || async {
        state(&store, id).await == Some(ClusterState::Active) && sim.starts(id, 3) == 2
    })
    .await;
    assert_eq!((sim.starts(id, 1), sim.starts(id, 2)), (2, 3));

    sim.kill(id, 1);
    until(5, "heal", || async {
        state(&store, id).await == Some(ClusterState::Active) && sim.starts(id, 1) == 3
    })
    .await;
    let ops = store
        .list_operations(
            &tenant(),
            id,
            PageRequest {
                after: None,
                limit: 50,
            },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(ops[0].operation_type, OperationType::HealCluster);
    assert_eq!(ops[0].steps[0].name, "HEAL_BROKER");
    assert_eq!(ops[0].steps[0].broker_id, Some(1));

    store.delete_cluster(&tenant(), id, None).await.unwrap();
    until(5, "deleted", || async { state(&store, id).await.is_none() }).await;
    assert!(sim.brokers(id).is_empty());
    task.abort();
}

#[sqlx::test(migrations = "../../migrations")]
async fn create_fails_after_bounded_retries(pool: PgPool) {
    let store = Store::from_pool(pool);
    let sim = Arc::new(SimRuntime::new());
    sim.fail_next_starts(1000);
    let task = tokio::spawn(Reconciler::new(store.clone(), sim.clone(), fast("a")).run());
    let id = create(&store, "doomed", 3).await;
    until(10, "FAILED", || async {
        state(&store, id).await == Some(ClusterState::Failed)
    })
    .await;
    let c = store.get_cluster(&tenant(), id).await.unwrap();
    assert_eq!(c.state_info.unwrap().code, "step-failed");
    let op = &store
        .list_operations(
            &tenant(),
            id,
            PageRequest {
                after: None,
                limit: 50,
            },
        )
        .await
        .unwrap()
        .items[0];
    let failed = op
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
        .count();
    assert_eq!(
        failed,
        3 * 3,
        "three attempts of three provisioning steps: {op:?}"
    );
    task.abort();
}

#[sqlx::test(migrations = "../../migrations")]
async fn failed_update_rolls_back_and_a_stuck_broker_heals_without_failing(pool: PgPool) {
    let store = Store::from_pool(pool);
    let sim = Arc::new(SimRuntime::new());
    let task = tokio::spawn(Reconciler::new(store.clone(), sim.clone(), fast("a")).run());
    let id = create(&store, "rolled", 3).await;
    until(5, "ACTIVE", || async {
        state(&store, id).await == Some(ClusterState::Active)
    })
    .await;

    // Broker 1 cannot start any more: the version change gives up and is rolled back.
    sim.fail_next_starts(1_000_000);
    update(&store, id, SpecChange::KafkaVersion("3.8.0".into())).await;
    until(10, "rollback", || async {
        let c = store.get_cluster(&tenant(), id).await.unwrap();
        c.spec.kafka_version == "3.7.0" && c.state != ClusterState::Updating
    })
    .await;
    let ops = store
        .list_operations(
            &tenant(),
            id,
            PageRequest {
                after: None,
                limit: 50,
            },
        )
        .await
        .unwrap()
        .items;
    let failed = ops
        .iter()
        .find(|o| o.operation_type == OperationType::UpdateKafkaVersion)
        .unwrap();
    assert_eq!(failed.state, sluice_model::OperationState::UpdateFailed);

    // Broker 1 was stopped for its restart and cannot come back: the cluster heals, retrying,
    // and is never FAILED while brokers 2 and 3 serve.
    until(5, "HEALING", || async {
        state(&store, id).await == Some(ClusterState::Healing)
    })
    .await;
    let watch_until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < watch_until {
        assert_eq!(state(&store, id).await, Some(ClusterState::Healing));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sim.fail_next_starts(0);
    until(5, "healed", || async {
        state(&store, id).await == Some(ClusterState::Active)
    })
    .await;
    assert_eq!(sim.brokers(id).len(), 3);
    assert!(sim
        .brokers(id)
        .iter()
        .all(|b| b.fingerprint.starts_with("3.7.0/")));
    task.abort();
}

#[sqlx::test(migrations = "../../migrations")]
async fn delete_is_not_held_up_by_a_failing_create_backing_off(pool: PgPool) {
    let store = Store::from_pool(pool);
    let sim = Arc::new(SimRuntime::new());
    sim.fail_next_starts(1_000_000);
    let ctx = Context {
        max_attempts: 100,
        backoff_base: Duration::from_secs(60),
        backoff_max: Duration::from_secs(60),
        ..fast("a")
    };
    let task = tokio::spawn(Reconciler::new(store.clone(), sim.clone(), ctx).run());
    let id = create(&store, "slow", 3).await;
    until(5, "a failed attempt", || async {
        let c = store.get_cluster(&tenant(), id).await.unwrap();
        let op = store
            .get_operation(&tenant(), c.active_operation_id.unwrap())
            .await
            .unwrap();
        op.steps.iter().any(|s| s.status == StepStatus::Failed)
    })
    .await;
    store.delete_cluster(&tenant(), id, None).await.unwrap();
    until(5, "deleted despite the back-off", || async {
        state(&store, id).await.is_none()
    })
    .await;
    task.abort();
}

#[sqlx::test(migrations = "../../migrations")]
async fn lease_is_taken_over_when_its_holder_dies(pool: PgPool) {
    let store = Store::from_pool(pool);
    let sim = Arc::new(SimRuntime::new());
    let a = Reconciler::new(store.clone(), sim.clone(), fast("a"));
    let b = Reconciler::new(store.clone(), sim.clone(), fast("b"));
    let task_a = tokio::spawn(a.clone().run());
    let id = create(&store, "leased", 3).await;
    until(5, "ACTIVE", || async {
        state(&store, id).await == Some(ClusterState::Active)
    })
    .await;
    // A holds the lease: B may not touch the cluster.
    assert_eq!(b.pass(id, None, false).await.unwrap(), PassOutcome::NotOurs);

    task_a.abort();
    let died = Instant::now();
    let task_b = tokio::spawn(b.clone().run());
    update(&store, id, SpecChange::BrokerCount(4)).await;
    until(5, "B scaled out", || async {
        state(&store, id).await == Some(ClusterState::Active) && sim.brokers(id).len() == 4
    })
    .await;
    let took = died.elapsed();
    assert!(took < Duration::from_secs(3), "takeover took {took:?}");
    assert_eq!(a.pass(id, None, false).await.unwrap(), PassOutcome::NotOurs);
    task_b.abort();
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_interrupted_step_is_resumed_not_duplicated(pool: PgPool) {
    let store = Store::from_pool(pool);
    let sim = Arc::new(SimRuntime::new());
    let id = create(&store, "resumed", 3).await;
    // A previous control plane started broker 1 and died before recording the outcome.
    let op_id = store
        .get_cluster(&tenant(), id)
        .await
        .unwrap()
        .active_operation_id
        .unwrap();
    let step = OperationStep {
        name: "PROVISION_BROKER".into(),
        status: StepStatus::InProgress,
        broker_id: Some(1),
        started_at: Some(Utc::now()),
        ended_at: None,
        message: None,
    };
    store.record_steps(op_id, &[step]).await.unwrap();
    use sluice_reconciler::Runtime;
    let snap = store
        .cluster_snapshots(Some(&[id]))
        .await
        .unwrap()
        .pop()
        .unwrap();
    sim.start_broker(&sluice_reconciler::BrokerSpec {
        cluster_id: id,
        broker_id: 1,
        kafka_version: "3.7.0".into(),
        storage_gib: 10,
        cpu_millis: snap.spec.broker_resources.cpu_millis,
        memory_mib: snap.spec.broker_resources.memory_mib,
        broker_count: snap.spec.broker_count,
        zone_count: snap.spec.zone_count,
        server_properties: String::new(),
        fingerprint: sluice_reconciler::planner::fingerprint(&snap.spec),
    })
    .await
    .unwrap();

    let rec = Reconciler::new(store.clone(), sim.clone(), fast("a"));
    assert_eq!(rec.pass(id, None, false).await.unwrap(), PassOutcome::Idle);
    assert_eq!(state(&store, id).await, Some(ClusterState::Active));
    assert_eq!(sim.starts(id, 1), 1, "broker 1 was not started again");
    let op = store.get_operation(&tenant(), op_id).await.unwrap();
    let ones = op.steps.iter().filter(|s| s.broker_id == Some(1)).count();
    assert_eq!(ones, 1, "{:?}", op.steps);
    assert!(op.steps.iter().all(|s| s.status == StepStatus::Complete));
}

#[sqlx::test(migrations = "../../migrations")]
async fn scale_in_waits_while_a_broker_cannot_be_asked_then_drains_it(pool: PgPool) {
    let store = Store::from_pool(pool);
    let sim = Arc::new(SimRuntime::new());
    let rec = Reconciler::new(store.clone(), sim.clone(), fast("a"));
    let id = create(&store, "held", 4).await;
    assert_eq!(rec.pass(id, None, false).await.unwrap(), PassOutcome::Idle);
    sim.hide_partitions(id, 4);
    update(&store, id, SpecChange::BrokerCount(3)).await;
    assert!(matches!(
        rec.pass(id, None, false).await.unwrap(),
        PassOutcome::Retry(_)
    ));
    assert_eq!(sim.brokers(id).len(), 4);
    assert_eq!(state(&store, id).await, Some(ClusterState::Updating));
    let info = store
        .get_cluster(&tenant(), id)
        .await
        .unwrap()
        .state_info
        .unwrap();
    assert_eq!(info.code, "blocked");
    assert!(
        info.message.contains("broker 4 cannot be asked"),
        "{info:?}"
    );
    // Explaining again the same way writes nothing, so it does not wake the reconciler again.
    let mut changes = store.listen_cluster_changes().await.unwrap();
    assert!(matches!(
        rec.pass(id, None, false).await.unwrap(),
        PassOutcome::Retry(_)
    ));
    let woke = tokio::time::timeout(Duration::from_millis(300), changes.recv()).await;
    assert!(woke.is_err(), "no notification: {woke:?}");
    sim.set_partitions(id, 4, 7);
    assert_eq!(rec.pass(id, None, false).await.unwrap(), PassOutcome::Idle);
    assert_eq!(sim.brokers(id).len(), 3);
    assert_eq!(sim.drains(id), 1);
    assert_eq!(state(&store, id).await, Some(ClusterState::Active));
    let c = store.get_cluster(&tenant(), id).await.unwrap();
    assert!(c.state_info.is_none(), "cleared on completion");
}
