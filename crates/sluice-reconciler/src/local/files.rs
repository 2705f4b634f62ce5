//! What the local runtime keeps on disk beside each broker and cluster: `broker.json` (the
//! broker's ports and what it was started with) and `quorum.json` (the metadata quorum's voters,
//! fixed at the cluster's first start).

use serde::{Deserialize, Serialize};

/// What `broker.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct BrokerMeta {
    pub(super) broker_id: u32,
    pub(super) port: u16,
    pub(super) admin_port: u16,
    pub(super) fingerprint: String,
    pub(super) kafka_version: String,
    pub(super) storage_gib: u32,
    /// When the process was last started, ms since the epoch (for the start-up grace).
    pub(super) started_at_ms: i64,
}

/// What `quorum.json` holds: the cluster's metadata quorum voters, fixed at its first start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Quorum {
    pub(super) voters: Vec<Voter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Voter {
    pub(super) id: u32,
    pub(super) admin_port: u16,
}

impl Quorum {
    /// `controller.quorum.voters`: `id@127.0.0.1:admin_port,…`.
    pub(super) fn voters_flag(&self) -> String {
        self.voters
            .iter()
            .map(|v| format!("{}@127.0.0.1:{}", v.id, v.admin_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub(super) fn admin_port(&self, broker_id: u32) -> Option<u16> {
        self.voters
            .iter()
            .find(|v| v.id == broker_id)
            .map(|v| v.admin_port)
    }
}
