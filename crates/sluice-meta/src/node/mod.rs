//! A broker's metadata node: the Raft member, its RPCs, proposals and broker liveness.
//!
//! * `store`: durable Raft log, vote and purge marker.
//! * `state_machine`: the [`MetadataImage`] as Raft state machine, snapshots, publishing.
//! * `network`: HTTP client for Raft and leader-bound requests.
//! * `rpc`: the axum routes under `/meta/`.
//! * `leader`: requests that must run on the controller (proposals, registration,
//!   heartbeats): handled locally on the leader, forwarded otherwise.
//! * `liveness`: the registration/heartbeat loop of every broker and the controller's fencing.

mod leader;
mod liveness;
mod network;
mod rpc;
mod state_machine;
mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{InitializeError, RaftError};
use openraft::{BasicNode, Config, Raft, SnapshotPolicy};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::MetaError;
use crate::image::{BrokerId, BrokerRegistration, Command, MetadataImage, Reply};

openraft::declare_raft_types!(
    /// openraft's type configuration of the metadata log.
    pub TypeConfig:
        D = Command,
        R = Reply,
        NodeId = u64,
        Node = BasicNode,
        SnapshotData = std::io::Cursor<Vec<u8>>,
);

/// Raft node id: the broker id.
pub(crate) type NodeId = u64;
/// One Raft log entry.
pub(crate) type Entry = openraft::Entry<TypeConfig>;

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

/// Raft timing and snapshot knobs. The defaults suit brokers on one LAN; tests shrink the
/// snapshot threshold to exercise log purging.
#[derive(Debug, Clone)]
pub struct RaftTuning {
    /// Leader heartbeat period.
    pub heartbeat: Duration,
    /// Lower bound of the randomized election timeout.
    pub election_timeout_min: Duration,
    /// Upper bound of the randomized election timeout.
    pub election_timeout_max: Duration,
    /// Build a snapshot after this many entries since the last one.
    pub snapshot_every: u64,
    /// Entries kept in the log behind a snapshot (so lagging followers catch up from the log
    /// instead of a snapshot); `0` purges everything a snapshot covers.
    pub logs_to_keep: u64,
}

impl Default for RaftTuning {
    fn default() -> Self {
        RaftTuning {
            heartbeat: Duration::from_millis(100),
            election_timeout_min: Duration::from_millis(300),
            election_timeout_max: Duration::from_millis(600),
            snapshot_every: 1000,
            logs_to_keep: 1000,
        }
    }
}

impl RaftTuning {
    fn raft_config(&self) -> Result<Config, MetaError> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Config {
            cluster_name: "sluice-meta".into(),
            heartbeat_interval: ms(self.heartbeat),
            election_timeout_min: ms(self.election_timeout_min),
            election_timeout_max: ms(self.election_timeout_max),
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_every.max(1)),
            max_in_snapshot_log_to_keep: self.logs_to_keep,
            // Snapshots are sent in one HTTP round trip per chunk; allow a slow peer some time.
            install_snapshot_timeout: 2000,
            // JSON encodes bytes as number arrays (~4x): keep each chunk's body well under the
            // RPC body limit.
            snapshot_max_chunk_size: 1 << 20,
            ..Default::default()
        }
        .validate()
        .map_err(|e| MetaError::Config(format!("raft config: {e}")))
    }
}

/// A running metadata node. Cheap to share (`Arc`).
pub struct MetaNode {
    image: watch::Receiver<Arc<MetadataImage>>,
    raft: Raft<TypeConfig>,
    id: BrokerId,
    node_id: NodeId,
    config: MetaConfig,
    /// The voters actually used (this broker alone when `config.voters` is empty).
    voters: BTreeMap<BrokerId, String>,
    client: reqwest::Client,
    liveness: liveness::Liveness,
    /// Set by [`MetaNode::shutdown`]: RPC handlers answer 503 and loops end.
    stopped: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
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

        let client =
            network::http_client().map_err(|e| MetaError::Config(format!("http client: {e}")))?;
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
            liveness: liveness::Liveness::new(),
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
    /// forwarding, registration and heartbeats.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        rpc::router(self.clone())
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

    /// Whether [`MetaNode::shutdown`] was called.
    fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Waits until `pred` holds on the local image, or `deadline`.
    async fn wait_image(
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

/// Raft node id of a broker id (broker ids are non-negative).
fn to_node_id(id: BrokerId) -> Result<NodeId, MetaError> {
    NodeId::try_from(id)
        .map_err(|_| MetaError::Config(format!("broker id {id} must not be negative")))
}
