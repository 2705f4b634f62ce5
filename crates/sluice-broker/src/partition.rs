//! One local replica of a partition ([`Partition`]), where it lives on disk, and the checks a
//! request makes on it (leadership and the client's leader epoch).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kafka_protocol::error::ResponseError;

use crate::replica::state::Role;
use crate::storage::PartitionStore;

/// Name of the internal topic holding committed offsets and group metadata.
pub const CONSUMER_OFFSETS: &str = "__consumer_offsets";

/// One local replica: its log, producer and replication state behind a lock.
#[derive(Debug)]
pub struct Partition {
    /// Topic name, for metrics labels.
    pub topic: String,
    /// Partition index.
    pub index: i32,
    /// Id of the topic this replica belongs to (a re-created topic gets new replicas).
    pub topic_id: uuid::Uuid,
    /// Log, idempotence and replication state.
    pub store: Mutex<PartitionStore>,
}

/// Directory of one local replica.
pub fn partition_dir(data_dir: &Path, topic: &str, p: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{p}"))
}

/// NOT_LEADER_OR_FOLLOWER unless the replica leads; the client's epoch checked as Kafka does.
pub fn check_leader(store: &PartitionStore, current_epoch: i32) -> Result<(), ResponseError> {
    if !store.replica.leads(-1) {
        return Err(ResponseError::NotLeaderOrFollower);
    }
    check_epoch(store, current_epoch)
}

/// Like [`check_leader`], also accepting a follower (KIP-392: consumers may read from one).
pub fn check_replica(store: &PartitionStore, current_epoch: i32) -> Result<(), ResponseError> {
    if !matches!(store.replica.role, Role::Leader | Role::Follower { .. }) {
        return Err(ResponseError::NotLeaderOrFollower);
    }
    check_epoch(store, current_epoch)
}

/// Kafka's epoch check: a client behind this replica's leader epoch is fenced, one ahead of
/// it knows of a leader this replica has not heard of yet.
fn check_epoch(store: &PartitionStore, current_epoch: i32) -> Result<(), ResponseError> {
    if current_epoch >= 0 {
        if current_epoch < store.replica.leader_epoch {
            return Err(ResponseError::FencedLeaderEpoch);
        }
        if current_epoch > store.replica.leader_epoch {
            return Err(ResponseError::UnknownLeaderEpoch);
        }
    }
    Ok(())
}
