//! A broker's metadata node: the Raft member, its RPCs, proposals and broker liveness.
//!
//! * `meta_node`: the node's state ([`MetaNode`]) and read-only accessors; `config`: its
//!   configuration; `raft_types`: openraft's type configuration.
//! * `store`: durable Raft log, vote and purge marker.
//! * `state_machine`: the [`MetadataImage`](crate::MetadataImage) as Raft state machine, snapshots, publishing.
//! * `network`: HTTP client for Raft and leader-bound requests, signed (`auth`).
//! * `auth`: the admin port's shared-secret request signatures (server and client side).
//! * `rpc`: the axum routes under `/meta/`.
//! * `leader`: requests that must run on the controller (proposals, registration,
//!   heartbeats): handled locally on the leader, forwarded otherwise.
//! * `liveness`: the registration/heartbeat loop of every broker and the controller's fencing,
//!   over what `clocks` remembers.
//!
//! This file starts, proposes through and stops a node; no module imports from one that
//! imports it.

pub mod auth;
mod clocks;
mod config;
mod leader;
mod liveness;
mod meta_node;
mod network;
mod raft_types;
mod rpc;
mod state_machine;
mod store;

pub use config::{MetaConfig, RaftTuning};
pub use meta_node::MetaNode;
pub use raft_types::TypeConfig;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{InitializeError, RaftError};
use openraft::{BasicNode, Raft};
use tokio::sync::watch;
use tokio::time::Instant;

use self::clocks::Liveness;
use self::raft_types::NodeId;
use crate::error::MetaError;
use crate::image::{BrokerId, Command, Reply};
impl MetaNode {
    /// Opens persistent state, starts Raft (initializing the cluster from `voters` when this is
    /// a voter with empty state), and starts registration and heartbeats in the background.
    /// Returns once the node runs; see [`MetaNode::wait_registered`].
    pub async fn start(config: MetaConfig) -> Result<Arc<MetaNode>, MetaError> {
        Self::start_tuned(config, RaftTuning::default()).await
    }

    /// [`MetaNode::start`] with explicit Raft timing and snapshot settings.
    pub async fn start_tuned(
        config: MetaConfig,
        tuning: RaftTuning,
    ) -> Result<Arc<MetaNode>, MetaError> {
        let id = config.broker.id;
        let node_id = to_node_id(id)?;
        if config.heartbeat_interval.is_zero()
            || config.session_timeout <= config.heartbeat_interval
        {
            return Err(MetaError::Config(
                "heartbeat interval must be positive and shorter than the session timeout".into(),
            ));
        }
        let voters = if config.voters.is_empty() {
            BTreeMap::from([(id, config.broker.rpc_addr.clone())])
        } else {
            config.voters.clone()
        };
        if let Some(addr) = voters.get(&id).filter(|a| **a != config.broker.rpc_addr) {
            // Peers reach this voter at the configured address, not at `rpc_addr`.
            tracing::warn!(voter = id, configured = %addr, rpc_addr = %config.broker.rpc_addr,
                "voter address differs from this broker's rpc address");
        }
        let members = voters
            .iter()
            .map(|(v, addr)| Ok((to_node_id(*v)?, BasicNode { addr: addr.clone() })))
            .collect::<Result<BTreeMap<_, _>, MetaError>>()?;
        let raft_config = Arc::new(tuning.raft_config()?);

        let dir = config.dir.clone();
        let (log, sm, image) = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            let log = store::LogStore::open(&dir)?;
            let (sm, image) = state_machine::StateMachine::open(&dir)?;
            Ok::<_, std::io::Error>((log, sm, image))
        })
        .await
        .map_err(|e| MetaError::Storage(e.to_string()))?
        .map_err(|e| MetaError::Storage(format!("{}: {e}", config.dir.display())))?;

        let signer = config
            .admin_auth
            .as_ref()
            .map(|a| auth::Signer::new(a.secret().clone(), id));
        let client = network::http_client(signer)
            .map_err(|e| MetaError::Config(format!("http client: {e}")))?;
        let raft = Raft::new(
            node_id,
            raft_config,
            network::Network {
                client: client.clone(),
            },
            log,
            sm,
        )
        .await
        .map_err(|e| MetaError::Raft(e.to_string()))?;

        if members.contains_key(&node_id) {
            let initialized = raft
                .is_initialized()
                .await
                .map_err(|e| MetaError::Raft(e.to_string()))?;
            if !initialized {
                // Every voter does this with the same membership; openraft makes that safe,
                // and a peer that got there first makes ours NotAllowed, which is fine.
                match raft.initialize(members).await {
                    Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                    Err(e) => return Err(MetaError::Raft(format!("initialize: {e}"))),
                }
            }
        }

        let (stopped, _) = watch::channel(false);
        let node = Arc::new(MetaNode {
            image,
            raft,
            id,
            node_id,
            liveness: Liveness::new(),
            config,
            voters,
            client,
            stopped,
            tasks: Mutex::new(Vec::new()),
        });
        let handles = vec![
            tokio::spawn(liveness::broker_loop(Arc::downgrade(&node))),
            tokio::spawn(liveness::controller_loop(Arc::downgrade(&node))),
        ];
        store::lock(&node.tasks).extend(handles);
        Ok(node)
    }

    /// Routes (under `/meta/`) to mount on the broker's admin listener: Raft RPCs, proposal
    /// forwarding, registration and heartbeats. With [`MetaConfig::admin_auth`] every one
    /// requires a signed request (401 otherwise, before its body is read as JSON).
    pub fn router(self: &Arc<Self>) -> axum::Router {
        let routes = rpc::router(self.clone());
        match &self.config.admin_auth {
            Some(auth) => auth.protect(routes),
            None => routes,
        }
    }

    /// Proposes a command to the controller (forwarding if this node is not the leader),
    /// waits until it is committed and applied locally too, and returns what apply answered.
    ///
    /// A forwarded proposal is retried only when it certainly was not delivered (connect
    /// refused, or the peer is not the leader); an ambiguous failure is returned as an error
    /// because the command may still be applied.
    pub async fn propose(&self, command: Command, timeout: Duration) -> Result<Reply, MetaError> {
        self.propose_indexed(command, timeout)
            .await
            .map(|(reply, _)| reply)
    }

    /// [`MetaNode::propose`] that also returns the log index the command was applied at.
    pub async fn propose_indexed(
        &self,
        command: Command,
        timeout: Duration,
    ) -> Result<(Reply, u64), MetaError> {
        let deadline = Instant::now() + timeout;
        let (reply, index) = self.call_propose(command, deadline).await?;
        self.wait_image(deadline, "local apply of the proposal", |img| {
            img.applied_index >= index
        })
        .await?;
        Ok((reply, index))
    }

    /// Waits until this broker is registered and unfenced in the local image.
    pub async fn wait_registered(&self, timeout: Duration) -> Result<(), MetaError> {
        let (id, incarnation) = (self.id, self.config.broker.incarnation);
        self.wait_image(Instant::now() + timeout, "registration", |img| {
            img.brokers
                .get(&id)
                .is_some_and(|b| b.incarnation == incarnation && !b.fenced)
        })
        .await
    }

    /// Controlled shutdown: proposes `BeginControlledShutdown` and waits (up to `timeout`)
    /// until the local image shows this broker leading no partition; stops heartbeats so
    /// the broker is fenced once it is gone.
    ///
    /// Heartbeats stop whatever the outcome (the broker is going away); an error says the
    /// leaderships could not all be moved in time, or the proposal failed or was refused.
    pub async fn controlled_shutdown(&self, timeout: Duration) -> Result<(), MetaError> {
        let deadline = Instant::now() + timeout;
        // From now on heartbeats say "shutting down" so the controller does not unfence us.
        self.liveness.begin_shutdown();
        let id = self.id;
        let result = async {
            let reply = self
                .propose(Command::BeginControlledShutdown { id }, timeout)
                .await?;
            if let Reply::Error { code, message } = reply {
                return Err(MetaError::Rejected { code, message });
            }
            // Done once every leadership that another in-sync replica could take has moved; a
            // partition only this broker holds in sync has nowhere to go and must not hold up
            // the shutdown (a single-broker cluster, or an ISR already shrunk to the leader).
            self.wait_image(deadline, "leadership moving away", |img| {
                img.topics.values().all(|t| {
                    t.partitions.iter().all(|p| {
                        p.leader != id || !p.isr.iter().any(|r| *r != id && img.eligible(*r))
                    })
                })
            })
            .await
        }
        .await;
        self.liveness.stop_heartbeats();
        result
    }

    /// Tells the controller this broker cannot reach `suspect` (for example a follower whose
    /// connection to its leader broke). Best effort: errors are logged, not returned.
    pub async fn report_unreachable(&self, suspect: BrokerId) {
        let request = leader::LeaderRequest::Unreachable {
            reporter: self.id,
            suspect,
        };
        let deadline = Instant::now() + self.config.heartbeat_interval;
        if let Err(e) = self.call_leader(request, deadline, false).await {
            tracing::debug!(suspect, error = %e, "reporting an unreachable broker failed");
        }
    }

    /// Stops Raft and background tasks.
    pub async fn shutdown(&self) {
        self.stopped.send_replace(true);
        let tasks = std::mem::take(&mut *store::lock(&self.tasks));
        for t in tasks {
            t.abort();
        }
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
    }
}

/// Raft node id of a broker id (broker ids are non-negative).
fn to_node_id(id: BrokerId) -> Result<NodeId, MetaError> {
    NodeId::try_from(id)
        .map_err(|_| MetaError::Config(format!("broker id {id} must not be negative")))
}
