//! The metadata RPCs over real HTTP with signatures: a voter holding another secret can neither
//! disturb the quorum (its votes and appends are refused) nor read or change its metadata.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_meta::{AdminAuth, AdminSecret, BrokerRegistration, Command, MetaConfig, MetaNode};
use tokio::net::TcpListener;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

async fn start(
    id: i32,
    listener: TcpListener,
    voters: &BTreeMap<i32, String>,
    dir: &std::path::Path,
    secret: u8,
) -> Arc<MetaNode> {
    let addr = listener.local_addr().expect("addr");
    let config = MetaConfig {
        broker: BrokerRegistration {
            id,
            host: "127.0.0.1".into(),
            port: 19092 + id,
            rack: None,
            rpc_addr: addr.to_string(),
            incarnation: Uuid::new_v4(),
            fenced: false,
            shutting_down: false,
            listeners: Vec::new(),
        },
        voters: voters.clone(),
        dir: dir.join(format!("n{id}")),
        heartbeat_interval: Duration::from_millis(100),
        session_timeout: Duration::from_millis(1000),
        admin_auth: Some(AdminAuth::new(
            AdminSecret::from_bytes(&[secret; 32]).expect("secret"),
        )),
    };
    let node = MetaNode::start(config).await.expect("start");
    let router = node.router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voter_with_another_secret_is_shut_out() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(TcpListener::bind("127.0.0.1:0").await.expect("bind"));
    }
    let voters: BTreeMap<i32, String> = listeners
        .iter()
        .enumerate()
        .map(|(i, l)| (i as i32 + 1, l.local_addr().expect("addr").to_string()))
        .collect();
    let mut nodes = Vec::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let id = i as i32 + 1;
        // Node 3 has another cluster's secret.
        let secret = if id == 3 { 2 } else { 1 };
        nodes.push(start(id, l, &voters, root.path(), secret).await);
    }

    // Nodes 1 and 2 form the quorum on their own and commit.
    let (_, index) = nodes[0]
        .propose_indexed(Command::AllocateProducerIds { broker: 1 }, WAIT)
        .await
        .expect("the two nodes sharing a secret commit");
    let mut image = nodes[1].image();
    tokio::time::timeout(WAIT, image.wait_for(|i| i.applied_index >= index))
        .await
        .expect("node 2 applies")
        .expect("running");
    let leader = nodes[0].controller_id().expect("a leader");
    assert!(leader == 1 || leader == 2, "leader {leader}");

    // Node 3 campaigns with ever higher terms, refused every time: the leader stays.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(nodes[0].controller_id(), Some(leader));
    assert_eq!(nodes[1].controller_id(), Some(leader));
    // It never receives the metadata, and cannot propose.
    assert!(nodes[2].current().applied_index < index);
    let refused = nodes[2]
        .propose(
            Command::AllocateProducerIds { broker: 3 },
            Duration::from_secs(2),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(nodes[2].current().applied_index < index);

    for n in nodes {
        n.shutdown().await;
    }
}
