//! What a group leaves in its `__consumer_offsets` partition, and how it is read back.
//!
//! Only what must survive a coordinator failover is written: committed offsets and a group's
//! generation and protocol (so a new coordinator does not hand out a generation the old one
//! already used). Members are not: they rejoin the new coordinator. Records are keyed so the
//! latest per key wins, and a null value deletes.
//!
//! A write becomes group state as soon as it is in the leader's log (a leader never truncates
//! its own log, so the two agree for as long as this broker leads at that epoch), and is
//! acknowledged to the client once the partition's ISR holds it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::group::Group;
use super::shards::{GroupCoordinator, Shard};
use super::Committed;
use crate::clock::now_ms;
use crate::partition::{Partition, CONSUMER_OFFSETS};
use crate::storage::KeyValue;

/// Key of a record in `__consumer_offsets`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t")]
pub(super) enum StoredKey {
    #[serde(rename = "o")]
    Offset { g: String, topic: String, p: i32 },
    #[serde(rename = "g")]
    Group { g: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredGroup {
    protocol_type: Option<String>,
    protocol: Option<String>,
    generation: i32,
}

/// How long a group write waits for the ISR before failing the request.
const PERSIST_TIMEOUT: Duration = Duration::from_secs(5);

/// A record and its value (`None`: a tombstone).
pub(super) type StoredRecord = (StoredKey, Option<Vec<u8>>);

/// The record of one committed offset.
pub(super) fn offset_record(
    group: &str,
    topic: &str,
    p: i32,
    c: Option<&Committed>,
) -> StoredRecord {
    (
        StoredKey::Offset {
            g: group.to_string(),
            topic: topic.to_string(),
            p,
        },
        c.and_then(|c| serde_json::to_vec(c).ok()),
    )
}

/// The record of a group's generation and protocol (`None`: the group is deleted).
pub(super) fn group_record(group: &str, g: Option<&Group>) -> StoredRecord {
    let value = g.map(|g| StoredGroup {
        protocol_type: g.protocol_type.clone(),
        protocol: g.protocol.clone(),
        generation: g.generation,
    });
    (
        StoredKey::Group {
            g: group.to_string(),
        },
        value.and_then(|v| serde_json::to_vec(&v).ok()),
    )
}

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
        let batch = crate::storage::encode_batch(
            records
                .iter()
                .map(|(k, v)| (serde_json::to_vec(k).unwrap_or_default(), v.clone())),
            now_ms(),
        )
        .map_err(|_| ResponseError::UnknownServerError)?;
        let epoch = shard.epoch;
        let appended = {
            let mut store = log.store.lock().expect("poisoned");
            if !store.replica.leads(epoch) {
                return Err(ResponseError::NotCoordinator);
            }
            store.append(&batch, now_ms(), epoch)
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
        log.store
            .lock()
            .expect("poisoned")
            .mark_durable(appended.end_offset);
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
        let (Some((log, epoch, end)), Some(notify)) = (self.write, self.notify) else {
            return Ok(());
        };
        let index = log.index;
        let mut changes = notify.subscribe();
        let wait = async move {
            loop {
                changes.borrow_and_update();
                {
                    let store = log.store.lock().expect("poisoned");
                    if !store.replica.leads(epoch) {
                        return Err(ResponseError::NotCoordinator);
                    }
                    if store.high_watermark() >= end {
                        return Ok(());
                    }
                }
                if changes.changed().await.is_err() {
                    return Err(ResponseError::CoordinatorNotAvailable);
                }
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

/// Rebuilds a partition's groups (generations, protocols, committed offsets) from its records,
/// oldest first.
pub(super) fn replay(records: Vec<KeyValue>) -> HashMap<String, Group> {
    let mut groups = HashMap::new();
    for (key, value) in records {
        apply_stored(&mut groups, &key, value.as_deref());
    }
    groups
}

fn apply_stored(groups: &mut HashMap<String, Group>, key: &[u8], value: Option<&[u8]>) {
    let Ok(key) = serde_json::from_slice::<StoredKey>(key) else {
        return;
    };
    match key {
        StoredKey::Offset { g, topic, p } => {
            match value.and_then(|v| serde_json::from_slice::<Committed>(v).ok()) {
                Some(c) => {
                    groups
                        .entry(g)
                        .or_insert_with(Group::new)
                        .offsets
                        .insert((topic, p), c);
                }
                None => {
                    if let Some(group) = groups.get_mut(&g) {
                        group.offsets.remove(&(topic, p));
                    }
                }
            }
        }
        StoredKey::Group { g } => {
            match value.and_then(|v| serde_json::from_slice::<StoredGroup>(v).ok()) {
                Some(s) => {
                    let group = groups.entry(g).or_insert_with(Group::new);
                    group.generation = s.generation;
                    group.protocol_type = s.protocol_type;
                    group.protocol = s.protocol;
                }
                None => {
                    groups.remove(&g);
                }
            }
        }
    }
}
