//! Reconciler benchmark; prints its figures.
//!
//! `cargo run --release -p sluice-reconciler --example bench` with `DATABASE_URL` pointing at a
//! Postgres where it may create a scratch database (dropped at the end). Measures:
//! 1. a full resync of N clusters (default 1,000; `BENCH_CLUSTERS`) with the simulated
//!    runtime: wall time and CPU time of this process;
//! 2. with `SLUICE_BROKER_BIN` set, create → ACTIVE of a 3-broker cluster on the local runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_model::{ClusterState, CreateClusterRequest, TenantId};
use sluice_reconciler::local::{LocalConfig, LocalRuntime};
use sluice_reconciler::sim::SimRuntime;
use sluice_reconciler::{Context, PassOutcome, Reconciler, Runtime};
use sluice_store::Store;
use sqlx::Connection;

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat.rsplit_once(") ").expect("stat").1.split(' ').collect();
    // utime and stime are fields 14 and 15 (1-based), in clock ticks of 1/100 s on Linux.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

fn request(name: &str, brokers: u32) -> sluice_model::ValidCreateCluster {
    serde_json::from_value::<CreateClusterRequest>(serde_json::json!({
        "name": name, "kafka_version": "3.7.0", "broker_count": brokers, "storage_gib": 10
    }))
    .unwrap()
    .validate()
    .unwrap()
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let n: usize = std::env::var("BENCH_CLUSTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let db = format!("sluice_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let bench_url = match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db}"),
        None => panic!("DATABASE_URL needs a database name"),
    };
    let store = Store::connect(&bench_url, 20).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = TenantId::parse("bench").unwrap();

    // 1. Resync of N clusters, simulated runtime.
    for i in 0..n {
        store
            .create_cluster(&tenant, &request(&format!("c{i}"), 3), "fp")
            .await
            .unwrap();
    }
    let sim = Arc::new(SimRuntime::new());
    let rec = Reconciler::new(store.clone(), sim, Context::default());
    let t = Instant::now();
    rec.reconcile_all().await.unwrap();
    println!(
        "first pass, {n} clusters CREATING → ACTIVE (simulated brokers): {:?}",
        t.elapsed()
    );
    // CPU time is counted in 10 ms ticks: average over enough rounds to be meaningful.
    let rounds = 20;
    let (wall, cpu) = (Instant::now(), cpu_time());
    let mut slowest = Duration::ZERO;
    for _ in 0..rounds {
        let t = Instant::now();
        let done = rec.reconcile_all().await.unwrap();
        assert_eq!(done, n);
        slowest = slowest.max(t.elapsed());
    }
    let (wall, cpu) = (wall.elapsed(), cpu_time() - cpu);
    println!(
        "full resync of {n} ACTIVE clusters: {:?} mean, {slowest:?} slowest wall; {:.2} cores of CPU in this process",
        wall / rounds,
        cpu.as_secs_f64() / wall.as_secs_f64()
    );

    // 2. Create → ACTIVE with real brokers.
    if let Ok(bin) = std::env::var("SLUICE_BROKER_BIN") {
        let root = std::env::temp_dir().join(format!("sluice-bench-{db}"));
        let runtime = Arc::new(LocalRuntime::new(LocalConfig::new(&root, bin)));
        let ctx = Context {
            wait_interval: Duration::from_millis(10),
            ..Context::default()
        };
        let rec = Reconciler::new(store.clone(), runtime.clone(), ctx);
        for i in 0..3 {
            let t = Instant::now();
            let id = store
                .create_cluster(&tenant, &request(&format!("local{i}"), 3), "fp")
                .await
                .unwrap()
                .cluster
                .id;
            while store.cluster_state(id).await.unwrap() != ClusterState::Active {
                if let PassOutcome::Retry(d) = rec.pass(id, None, false).await.unwrap() {
                    tokio::time::sleep(d).await;
                }
            }
            println!("create → ACTIVE, 3 local brokers: {:?}", t.elapsed());
            for b in 1..=3 {
                runtime.remove_broker(id, b).await.unwrap();
            }
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    drop(rec);
    store.pool().close().await;
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
