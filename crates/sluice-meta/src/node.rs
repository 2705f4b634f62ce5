//! A broker's metadata node: the Raft member, its RPCs, proposals and broker liveness.
//!
//! SKELETON: the public API below is the contract the broker codes against; the bodies are
//! being written (openraft glue, persistence, HTTP RPCs).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::error::MetaError;
use crate::image::{BrokerId, BrokerRegistration, Command, MetadataImage, Reply};

/// Configuration of a metadata node.
#[derive(Debug, Clone)]
pub struct MetaConfig {
    /// This broker (its `id`, addresses, rack and a fresh `incarnation`; `fenced` and
    /// `shutting_down` are ignored).
    pub broker: BrokerRegistration,
    /// `controller.quorum.voters`: voter id → `host:port` of its admin listener. A broker not
    /// listed joins as a learner through one of them. Empty means a single-broker cluster
    /// whose only voter is this broker.
    pub voters: BTreeMap<BrokerId, String>,
    /// Directory for the Raft log, vote and snapshots (created if missing).
    pub dir: PathBuf,
    /// `broker.heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `broker.session.timeout.ms`: a broker silent this long is fenced.
    pub session_timeout: Duration,
}

/// A running metadata node. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct MetaNode {
    image: watch::Receiver<Arc<MetadataImage>>,
}

impl MetaNode {
    /// Opens persistent state, starts Raft (initializing the cluster from `voters` when this is
    /// a voter with empty state), and starts registration and heartbeats in the background.
    /// Returns once the node runs; see [`MetaNode::wait_registered`].
    pub async fn start(config: MetaConfig) -> Result<Arc<MetaNode>, MetaError> {
        let _ = config;
        Err(MetaError::Config("not implemented yet".into()))
    }

    /// Routes (under `/meta/`) to mount on the broker's admin listener: Raft RPCs, proposal
    /// forwarding, registration and heartbeats.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
    }

    /// The latest applied image, published after every apply.
    pub fn image(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.image.clone()
    }

    /// The latest applied image.
    pub fn current(&self) -> Arc<MetadataImage> {
        self.image.borrow().clone()
    }

    /// The Raft leader (the controller), if known.
    pub fn controller_id(&self) -> Option<BrokerId> {
        None
    }

    /// Proposes a command to the controller (forwarding if this node is not the leader),
    /// waits until it is committed and applied locally too, and returns what apply answered.
    pub async fn propose(&self, command: Command, timeout: Duration) -> Result<Reply, MetaError> {
        let _ = (command, timeout);
        Err(MetaError::NoController("not implemented yet".into()))
    }

    /// Waits until this broker is registered and unfenced in the local image.
    pub async fn wait_registered(&self, timeout: Duration) -> Result<(), MetaError> {
        let _ = timeout;
        Err(MetaError::Timeout("not implemented yet".into()))
    }

    /// Controlled shutdown: proposes `BeginControlledShutdown` and waits (up to `timeout`)
    /// until the local image shows this broker leading no partition; stops heartbeats so
    /// the broker is fenced once it is gone.
    pub async fn controlled_shutdown(&self, timeout: Duration) -> Result<(), MetaError> {
        let _ = timeout;
        Ok(())
    }

    /// Stops Raft and background tasks.
    pub async fn shutdown(&self) {}
}
