//! In-process metadata clusters on 127.0.0.1: real HTTP servers, real Raft, real disk.
//!
//! Every wait is on a watch channel (image or Raft metrics) with a timeout, never a sleep.
//! Commands are used for their log position only (`applied_index`), except in the
//! registration and fencing tests, which need `MetadataImage::apply` to do its job.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sluice_meta::node::RaftTuning;
use sluice_meta::{AdminAuth, AdminSecret, BrokerRegistration, Command, MetaConfig, MetaNode};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

/// A running node and its HTTP server.
struct TestNode {
    id: i32,
    addr: SocketAddr,
    dir: PathBuf,
    voters: BTreeMap<i32, String>,
    node: Arc<MetaNode>,
    stop_server: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

async fn bind(addr: &str) -> TcpListener {
    TcpListener::bind(addr).await.expect("bind")
}

fn registration(id: i32, addr: SocketAddr) -> BrokerRegistration {
    BrokerRegistration {
        id,
        host: "127.0.0.1".into(),
        port: 19092 + id,
        rack: None,
        listeners: Vec::new(),
        rpc_addr: addr.to_string(),
        incarnation: Uuid::new_v4(),
        fenced: false,
        shutting_down: false,
    }
}

async fn launch(
    id: i32,
    listener: TcpListener,
    voters: BTreeMap<i32, String>,
    dir: &Path,
    tuning: RaftTuning,
) -> TestNode {
    let addr = listener.local_addr().expect("local addr");
    let config = MetaConfig {
        broker: registration(id, addr),
        voters: voters.clone(),
        dir: dir.to_path_buf(),
        heartbeat_interval: Duration::from_millis(100),
        session_timeout: Duration::from_millis(1000),
        // Every node signs its RPCs and requires signed ones, as brokers do.
        admin_auth: Some(AdminAuth::new(
            AdminSecret::from_bytes(&[7; 32]).expect("secret"),
        )),
    };
    let node = MetaNode::start_tuned(config, tuning).await.expect("start");
    let router = node.router();
    let (stop_server, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    TestNode {
        id,
        addr,
        dir: dir.to_path_buf(),
        voters,
        node,
        stop_server,
        server,
    }
}

/// Stops the node, then its server; returns what is needed to restart it.
async fn stop(t: TestNode) -> (i32, SocketAddr, PathBuf, BTreeMap<i32, String>) {
    t.node.shutdown().await;
    let _ = t.stop_server.send(());
    if tokio::time::timeout(Duration::from_secs(5), t.server)
        .await
        .is_err()
    {
        panic!("server of node {} did not stop", t.id);
    }
    (t.id, t.addr, t.dir, t.voters)
}

/// Starts `n` voters (ids 1..=n) with directories under `root`.
async fn cluster(n: i32, root: &Path, tuning: &RaftTuning) -> Vec<TestNode> {
    let mut listeners = Vec::new();
    for _ in 0..n {
        listeners.push(bind("127.0.0.1:0").await);
    }
    let voters: BTreeMap<i32, String> = listeners
        .iter()
        .enumerate()
        .map(|(i, l)| (i as i32 + 1, l.local_addr().expect("addr").to_string()))
        .collect();
    let mut nodes = Vec::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let id = i as i32 + 1;
        nodes.push(
            launch(
                id,
                l,
                voters.clone(),
                &root.join(format!("n{id}")),
                tuning.clone(),
            )
            .await,
        );
    }
    nodes
}

/// Waits until every node names the same leader among `nodes`; returns its id.
async fn agreed_leader(nodes: &[&TestNode]) -> i32 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let leaders: Vec<Option<i32>> = nodes.iter().map(|n| n.node.controller_id()).collect();
        if let Some(Some(l)) = leaders.first() {
            if leaders.iter().all(|x| *x == Some(*l)) && nodes.iter().any(|n| n.id == *l) {
                return *l;
            }
        }
        let mut m = nodes[0].node.raft_metrics();
        // Metrics change on every replication step: this wakes up promptly, without sleeping.
        if tokio::time::timeout_at(deadline, m.changed())
            .await
            .is_err()
        {
            panic!("no agreed leader in time: {leaders:?}");
        }
    }
}

async fn wait_applied(node: &TestNode, index: u64) {
    let mut rx = node.node.image();
    let res = tokio::time::timeout(WAIT, rx.wait_for(|img| img.applied_index >= index)).await;
    if !matches!(res, Ok(Ok(_))) {
        // Raft's view of the node says why (no leader, stuck replication, snapshot state).
        let m = node.node.raft_metrics().borrow().clone();
        panic!(
            "node {} did not apply index {index} (image at {}); raft: {m:?}",
            node.id,
            node.node.current().applied_index
        );
    }
}

fn cmd(i: i32) -> Command {
    Command::AllocateProducerIds { broker: i }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_voters_forward_fail_over_and_restart() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut nodes = cluster(3, root.path(), &RaftTuning::default()).await;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>()).await;

    // A follower's proposal is forwarded to the leader, and visible locally when it returns.
    let follower = nodes.iter().find(|n| n.id != leader).expect("follower");
    let (_, index) = follower
        .node
        .propose_indexed(cmd(1), WAIT)
        .await
        .expect("propose");
    assert!(follower.node.current().applied_index >= index);
    for n in &nodes {
        wait_applied(n, index).await;
    }

    // Stop the leader: the other two elect a new one and keep accepting proposals.
    let pos = nodes.iter().position(|n| n.id == leader).expect("leader");
    let stopped_at = tokio::time::Instant::now();
    let old = stop(nodes.remove(pos)).await;
    let new_leader = agreed_leader(&nodes.iter().collect::<Vec<_>>()).await;
    assert_ne!(new_leader, leader);
    let failover = stopped_at.elapsed();
    assert!(
        failover < Duration::from_secs(3),
        "failover took {failover:?}"
    );
    let (_, index2) = nodes[0]
        .node
        .propose_indexed(cmd(2), WAIT)
        .await
        .expect("propose after failover");
    assert!(index2 > index);
    for n in &nodes {
        wait_applied(n, index2).await;
    }

    // The old leader restarts from its directory and catches up, including what it missed.
    let (id, addr, dir, voters) = old;
    let restarted = launch(
        id,
        bind(&addr.to_string()).await,
        voters,
        &dir,
        RaftTuning::default(),
    )
    .await;
    wait_applied(&restarted, index2).await;
    let (_, index3) = restarted
        .node
        .propose_indexed(cmd(3), WAIT)
        .await
        .expect("propose from restarted");
    nodes.push(restarted);
    for n in &nodes {
        wait_applied(n, index3).await;
    }
    for n in nodes {
        stop(n).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_joins_and_receives_the_image() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut nodes = cluster(3, root.path(), &RaftTuning::default()).await;
    agreed_leader(&nodes.iter().collect::<Vec<_>>()).await;
    let (_, index) = nodes[0]
        .node
        .propose_indexed(cmd(1), WAIT)
        .await
        .expect("propose");

    let voters = nodes[0].voters.clone();
    let learner = launch(
        4,
        bind("127.0.0.1:0").await,
        voters,
        &root.path().join("n4"),
        RaftTuning::default(),
    )
    .await;
    // It registers through a voter, becomes a learner, and receives the log.
    wait_applied(&learner, index).await;
    let mut m = learner.node.raft_metrics();
    tokio::time::timeout(
        WAIT,
        m.wait_for(|m| {
            m.membership_config
                .membership()
                .learner_ids()
                .any(|l| l == 4)
        }),
    )
    .await
    .expect("learner in membership")
    .expect("metrics");
    // A learner proposes like anyone else (forwarded to the controller).
    let (_, index2) = learner
        .node
        .propose_indexed(cmd(4), WAIT)
        .await
        .expect("propose from learner");
    assert!(learner.node.current().applied_index >= index2);
    nodes.push(learner);
    for n in &nodes {
        wait_applied(n, index2).await;
    }
    for n in nodes {
        stop(n).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_purge_survive_restart_and_feed_new_learners() {
    let root = tempfile::tempdir().expect("tempdir");
    let tuning = RaftTuning {
        snapshot_every: 5,
        logs_to_keep: 0,
        ..RaftTuning::default()
    };
    let listener = bind("127.0.0.1:0").await;
    let addr = listener.local_addr().expect("addr");
    // Empty voters: a single-broker cluster whose only voter is this broker.
    let single = launch(
        1,
        listener,
        BTreeMap::new(),
        &root.path().join("n1"),
        tuning.clone(),
    )
    .await;
    let mut last = 0;
    for i in 0..20 {
        last = single
            .node
            .propose_indexed(cmd(i), WAIT)
            .await
            .expect("propose")
            .1;
    }
    let mut m = single.node.raft_metrics();
    tokio::time::timeout(
        WAIT,
        m.wait_for(|m| m.purged.is_some_and(|p| p.index >= 10)),
    )
    .await
    .expect("log purged after snapshot")
    .expect("metrics");

    // Restart: the image comes back from the snapshot plus the log after it.
    let (id, _, dir, voters) = stop(single).await;
    let single = launch(
        id,
        bind(&addr.to_string()).await,
        voters,
        &dir,
        tuning.clone(),
    )
    .await;
    wait_applied(&single, last).await;
    let last = single
        .node
        .propose_indexed(cmd(99), WAIT)
        .await
        .expect("propose after restart")
        .1;

    // A broker joining now can only be caught up by a snapshot (the log start is purged).
    let voters = BTreeMap::from([(1, addr.to_string())]);
    let learner = launch(
        2,
        bind("127.0.0.1:0").await,
        voters,
        &root.path().join("n2"),
        tuning,
    )
    .await;
    wait_applied(&learner, last).await;
    stop(learner).await;
    stop(single).await;
}

// Needs `MetadataImage::apply` (RegisterBroker/UnfenceBroker/FenceBroker): with the stub apply
// of this branch the image never lists brokers, so these fail until apply lands.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_register_unfence_and_are_fenced_when_silent() {
    let root = tempfile::tempdir().expect("tempdir");
    let tuning = RaftTuning::default();
    let listener = bind("127.0.0.1:0").await;
    let addr = listener.local_addr().expect("addr");
    let voters = BTreeMap::from([(1, addr.to_string())]);
    let controller = launch(
        1,
        listener,
        voters.clone(),
        &root.path().join("n1"),
        tuning.clone(),
    )
    .await;
    let broker = launch(
        2,
        bind("127.0.0.1:0").await,
        voters,
        &root.path().join("n2"),
        tuning,
    )
    .await;
    controller
        .node
        .wait_registered(WAIT)
        .await
        .expect("controller registered");
    broker
        .node
        .wait_registered(WAIT)
        .await
        .expect("broker registered");
    assert_eq!(broker.node.controller_id(), Some(1));

    // Controlled shutdown, then silence: the controller fences it.
    broker
        .node
        .controlled_shutdown(WAIT)
        .await
        .expect("controlled shutdown");
    let mut img = controller.node.image();
    tokio::time::timeout(
        WAIT,
        img.wait_for(|i| i.brokers.get(&2).is_some_and(|b| b.fenced)),
    )
    .await
    .expect("silent broker fenced")
    .expect("image");
    stop(broker).await;
    stop(controller).await;
}

// Also needs `MetadataImage::apply` (see above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_controller_keeps_live_brokers_and_fences_the_dead_one() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut nodes = cluster(3, root.path(), &RaftTuning::default()).await;
    for n in &nodes {
        n.node.wait_registered(WAIT).await.expect("registered");
    }
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>()).await;

    // The controller dies without a controlled shutdown: the new controller fences it after
    // a session timeout, while the survivors' heartbeats (now to the new controller) keep
    // them unfenced.
    let pos = nodes.iter().position(|n| n.id == leader).expect("leader");
    stop(nodes.remove(pos)).await;
    agreed_leader(&nodes.iter().collect::<Vec<_>>()).await;
    let mut img = nodes[0].node.image();
    tokio::time::timeout(
        WAIT,
        img.wait_for(|i| i.brokers.get(&leader).is_some_and(|b| b.fenced)),
    )
    .await
    .expect("dead controller fenced")
    .expect("image");
    let image = nodes[0].node.current();
    for n in &nodes {
        assert!(
            image.brokers.get(&n.id).is_some_and(|b| !b.fenced),
            "live broker {} was fenced",
            n.id
        );
    }
    for n in nodes {
        stop(n).await;
    }
}
