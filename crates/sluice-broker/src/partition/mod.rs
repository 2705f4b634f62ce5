//! One local replica of a partition: [`Partition`], the single owner of its log, producer and
//! replication state, as Kafka's `Partition.scala` is.
//!
//! The state sits behind a lock no one outside this module can take. Everything a request or
//! a background task does to a replica is one of its operations, each taking the lock once:
//! the leader's in [`leader`] (append and the acks wait, fetch reads, offset and epoch lookups,
//! delete-records, ISR upkeep), the follower's in [`follower`] (truncation, appending what the
//! leader sent), metadata changes and housekeeping in [`upkeep`]. Operations that must read or
//! write files at length (a fetch's bytes, a cleaner pass) hand back what to do and let go of
//! the lock first.
//!
//! A panic while the lock is held (a bug) poisons it. The next operation does not inherit a
//! state the panic left half changed: it reopens the log from its files, as a restart would,
//! and carries on; if even that fails, the replica is taken offline (KAFKA_STORAGE_ERROR to
//! every request, as Kafka does for a failed log directory) and the next housekeeping pass
//! tries again.

pub mod follower;
pub mod leader;
mod store;
pub mod upkeep;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use kafka_protocol::error::ResponseError;
use tokio::sync::watch;

use crate::error::BrokerError;
use crate::replica::state::{ReplicaState, Role};
use crate::topic_config::TopicSettings;
use store::PartitionStore;

pub use store::{error_code, Appended};

/// Name of the internal topic holding committed offsets and group metadata.
pub const CONSUMER_OFFSETS: &str = "__consumer_offsets";

/// Directory of one local replica.
pub fn partition_dir(data_dir: &Path, topic: &str, p: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{p}"))
}

/// One local replica: who it is, and its state behind a lock only its operations take.
#[derive(Debug)]
pub struct Partition {
    /// Topic name, for metrics labels.
    pub topic: String,
    /// Partition index.
    pub index: i32,
    /// Id of the topic this replica belongs to (a re-created topic gets new replicas).
    pub topic_id: uuid::Uuid,
    state: Mutex<Guarded>,
    /// The broker's progress signal: waiters (acks=all produces, long-polling fetches, group
    /// commits) re-check their condition when it ticks.
    progress: Arc<watch::Sender<u64>>,
}

/// What the lock guards: the store, unless a failed recovery took the replica offline.
#[derive(Debug)]
struct Guarded {
    store: PartitionStore,
    /// Set when reopening the log after a panic failed; cleared by a later successful reopen.
    failed: bool,
}

impl Partition {
    /// Opens (or creates) the replica's log in `dir`, with no role until the metadata image
    /// gives it one.
    pub fn open(
        topic: &str,
        index: i32,
        topic_id: uuid::Uuid,
        dir: &Path,
        settings: &TopicSettings,
        replica: ReplicaState,
        progress: Arc<watch::Sender<u64>>,
    ) -> Result<Partition, BrokerError> {
        let store = PartitionStore::open(dir, settings, replica)?;
        Ok(Partition {
            topic: topic.to_string(),
            index,
            topic_id,
            state: Mutex::new(Guarded {
                store,
                failed: false,
            }),
            progress,
        })
    }

    /// The state, for one operation. A poisoned lock is recovered here (see the module docs);
    /// an offline replica answers KAFKA_STORAGE_ERROR.
    fn state(&self) -> Result<MutexGuard<'_, Guarded>, ResponseError> {
        let guard = self.lock_recovering();
        if guard.failed {
            return Err(ResponseError::KafkaStorageError);
        }
        Ok(guard)
    }

    fn lock_recovering(&self) -> MutexGuard<'_, Guarded> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                self.state.clear_poison();
                tracing::error!(topic = %self.topic, partition = self.index, "an operation on this replica panicked; reopening its log from its files");
                self.reopen(&mut guard);
                guard
            }
        }
    }

    fn reopen(&self, guard: &mut Guarded) {
        match guard.store.reopen() {
            Ok(()) => {
                if guard.failed {
                    tracing::info!(topic = %self.topic, partition = self.index, "replica back online");
                }
                guard.failed = false;
            }
            Err(e) => {
                tracing::error!(topic = %self.topic, partition = self.index, error = %e, "reopening the replica failed; it is offline until a later attempt succeeds");
                guard.failed = true;
            }
        }
        // Waiters on this replica re-check (and see the new state or the error).
        self.notify();
    }

    /// Ticks the broker's progress signal.
    pub fn notify(&self) {
        self.progress.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The replica's current leader epoch.
    pub fn leader_epoch(&self) -> Result<i32, ResponseError> {
        Ok(self.state()?.store.replica.leader_epoch)
    }

    /// Whether this replica leads at `epoch` (-1: at any epoch).
    pub fn leads(&self, epoch: i32) -> bool {
        self.state().is_ok_and(|s| s.store.replica.leads(epoch))
    }

    /// Log start, log end and high watermark.
    pub fn offsets(&self) -> Result<Offsets, ResponseError> {
        let s = self.state()?;
        Ok(Offsets {
            log_start: s.store.log_start_offset(),
            log_end: s.store.log_end_offset(),
            high_watermark: s.store.high_watermark(),
        })
    }

    /// NOT_LEADER_OR_FOLLOWER unless this replica leads; the client's epoch (-1: any) checked
    /// as Kafka does.
    pub fn check_leader(&self, current_epoch: i32) -> Result<(), ResponseError> {
        check_leader(&self.state()?.store, current_epoch)
    }

    /// Makes the next operation find the lock poisoned, as a panic under it would.
    #[cfg(test)]
    pub(crate) fn poison_for_test(&self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = self.state.lock();
            panic!("poisoning the partition lock for a test");
        }));
    }
}

/// A replica's log offsets at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    /// First offset.
    pub log_start: i64,
    /// Next offset to be assigned.
    pub log_end: i64,
    /// Offset up to which records are visible to consumers.
    pub high_watermark: i64,
}

/// NOT_LEADER_OR_FOLLOWER unless the replica leads; the client's epoch checked as Kafka does.
fn check_leader(store: &PartitionStore, current_epoch: i32) -> Result<(), ResponseError> {
    if !store.replica.leads(-1) {
        return Err(ResponseError::NotLeaderOrFollower);
    }
    check_epoch(store, current_epoch)
}

/// Like [`check_leader`], also accepting a follower (KIP-392: consumers may read from one).
fn check_replica(store: &PartitionStore, current_epoch: i32) -> Result<(), ResponseError> {
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

#[cfg(test)]
mod tests;
