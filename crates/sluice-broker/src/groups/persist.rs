//! Writing a group's records (`records`) to its `__consumer_offsets` partition.
//!
//! A write becomes group state as soon as it is in the leader's log (a leader never truncates
//! its own log, so the two agree for as long as this broker leads at that epoch), and is
//! acknowledged to the client once the partition's ISR holds it.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use tokio::sync::watch;

use super::group::Group;
use super::records::{group_record, StoredRecord};
use super::shards::{GroupCoordinator, Shard};
use crate::clock::now_ms;
use crate::partition::{Partition, CONSUMER_OFFSETS};

/// How long a group write waits for the ISR before failing the request.
const PERSIST_TIMEOUT: Duration = Duration::from_secs(5);

/// A write in the leader's log that its ISR may not hold yet.
#[must_use = "a group write is acknowledged only once replicated"]
pub(super) struct Pending {
    // `None`: nothing to wait for (in-memory coordinator).
    write: Option<(Arc<Partition>, i32, i64)>,
    notify: Option<Arc<watch::Sender<u64>>>,
}

impl GroupCoordinator {
    /// Appends `records` to the shard's partition (durably, if the topic is); called under
    /// the shard's lock so records land in the order their state changes were made. Waiting
    /// for the ISR is left to [`Pending::replicated`], after the lock is released: request
    /// handlers run on the runtime's few worker threads, and one holding the lock while
    /// followers catch up would leave none to serve the followers' fetches.
    /// NOT_COORDINATOR once the shard's leadership is gone.
    pub(super) fn append(
        &self,
        shard: &Shard,
        records: Vec<StoredRecord>,
    ) -> Result<Pending, ResponseError> {
        let Some(log) = shard.log.clone() else {
            return Ok(Pending {
                write: None,
                notify: None,
            });
        };
        let batch = crate::batch::encode_batch(
            records
                .iter()
                .map(|(k, v)| (serde_json::to_vec(k).unwrap_or_default(), v.clone())),
            now_ms(),
        )
        .map_err(|_| ResponseError::UnknownServerError)?;
        let epoch = shard.epoch;
        let appended = match log.append_at_epoch(&batch, epoch, now_ms()) {
            Err(ResponseError::NotLeaderOrFollower) => return Err(ResponseError::NotCoordinator),
            other => other,
        }
        .map_err(|e| {
            tracing::error!(error = ?e, partition = shard.index, "writing group state to {CONSUMER_OFFSETS} failed");
            ResponseError::CoordinatorNotAvailable
        })?;
        if !appended.sync.is_complete() {
            tokio::task::block_in_place(|| appended.sync.wait()).map_err(|e| {
                tracing::error!(error = %e, partition = shard.index, "syncing {CONSUMER_OFFSETS} failed");
                ResponseError::CoordinatorNotAvailable
            })?;
        }
        log.mark_durable(appended.end_offset);
        if let Some(notify) = &self.notify {
            // Followers long-polling this partition fetch the write at once.
            notify.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(Pending {
            write: Some((log, epoch, appended.end_offset)),
            notify: self.notify.clone(),
        })
    }

    /// Writes a group's generation and protocol without waiting for the ISR. Best effort:
    /// the rebalance has happened in memory either way (its members are answered before the
    /// write), and a write lost in a failover only means the new coordinator starts the group
    /// from an older generation, which its members' rejoin moves past.
    pub(super) fn persist_group(&self, shard: &Shard, id: &str, g: &Group) {
        let _ = self.append(shard, vec![group_record(id, Some(g))]);
    }
}

impl Pending {
    /// Waits until the partition's ISR holds the write: committed state must survive a
    /// coordinator failover before it is acknowledged.
    pub(super) fn replicated(self) -> Result<(), ResponseError> {
        let (Some((log, epoch, end)), Some(_)) = (self.write, self.notify) else {
            return Ok(());
        };
        let index = log.index;
        // Only this wait's own error reaches the caller: NOT_COORDINATOR if the partition's
        // leadership moved, as for any coordinator write.
        let wait = async move {
            match log.wait_replicated(epoch, end, 0).await {
                Err(ResponseError::NotLeaderOrFollower) => Err(ResponseError::NotCoordinator),
                Err(ResponseError::KafkaStorageError) => {
                    Err(ResponseError::CoordinatorNotAvailable)
                }
                other => other,
            }
        };
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| {
            handle.block_on(async { tokio::time::timeout(PERSIST_TIMEOUT, wait).await })
        })
        .unwrap_or_else(|_| {
            tracing::warn!(partition = index, "group state not replicated in time");
            Err(ResponseError::RequestTimedOut)
        })
    }
}
