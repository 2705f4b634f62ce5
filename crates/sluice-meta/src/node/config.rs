//! How a metadata node is configured: [`MetaConfig`] (the broker, voters, directory and
//! liveness timing) and [`RaftTuning`] (openraft's timing and snapshot knobs).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use openraft::{Config, SnapshotPolicy};

use super::auth::AdminAuth;
use crate::error::MetaError;
use crate::image::{BrokerId, BrokerRegistration};

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
    /// The cluster's admin secret: the metadata routes require requests signed with it and
    /// this node signs its own. `None` serves and sends them unauthenticated (only for a
    /// broker configured with `sluice.admin.auth=none`).
    pub admin_auth: Option<AdminAuth>,
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
    pub(super) fn raft_config(&self) -> Result<Config, MetaError> {
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
