//! [`MetaNode`]: the state of a running metadata node (its Raft handle, published image,
//! configuration, liveness state and background tasks) and the read-only ways to look at it.
//! Starting, proposing and stopping are in the `node` module; serving the controller's
//! requests in `leader`; heartbeats and fencing in `liveness`; the HTTP routes in `rpc`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use openraft::{BasicNode, Raft};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::clocks::Liveness;
use super::config::MetaConfig;
use super::raft_types::{NodeId, TypeConfig};
use crate::error::MetaError;
use crate::image::{BrokerId, MetadataImage};

/// A running metadata node. Cheap to share (`Arc`).
pub struct MetaNode {
    pub(super) image: watch::Receiver<Arc<MetadataImage>>,
    pub(super) raft: Raft<TypeConfig>,
    pub(super) id: BrokerId,
    pub(super) node_id: NodeId,
    pub(super) config: MetaConfig,
    /// The voters actually used (this broker alone when `config.voters` is empty).
    pub(super) voters: BTreeMap<BrokerId, String>,
    pub(super) client: super::network::RpcClient,
    pub(super) liveness: Liveness,
    /// Set by [`MetaNode::shutdown`]: RPC handlers answer 503 and loops end.
    pub(super) stopped: watch::Sender<bool>,
    pub(super) tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for MetaNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `Raft` has no Debug; the id and voters identify the node.
        f.debug_struct("MetaNode")
            .field("id", &self.id)
            .field("voters", &self.voters)
            .finish_non_exhaustive()
    }
}

impl MetaNode {
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
        self.raft
            .metrics()
            .borrow()
            .current_leader
            .and_then(|l| BrokerId::try_from(l).ok())
    }

    /// Raft metrics of this node (state, term, log and applied indexes, membership).
    pub fn raft_metrics(&self) -> watch::Receiver<openraft::RaftMetrics<u64, BasicNode>> {
        self.raft.metrics()
    }

    /// Whether [`MetaNode::shutdown`] was called.
    pub(super) fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Waits until `pred` holds on the local image, or `deadline`.
    pub(super) async fn wait_image(
        &self,
        deadline: Instant,
        what: &str,
        pred: impl FnMut(&Arc<MetadataImage>) -> bool,
    ) -> Result<(), MetaError> {
        let mut rx = self.image.clone();
        let res = tokio::time::timeout_at(deadline, rx.wait_for(pred)).await;
        match res {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(MetaError::Raft("state machine stopped".into())),
            Err(_) => Err(MetaError::Timeout(what.to_string())),
        }
    }
}
