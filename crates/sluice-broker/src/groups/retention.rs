//! `offsets.retention.minutes`, as Kafka applies it since 2.1 (KIP-211): offsets never expire
//! while their group has members. Once a group that had members (a protocol type) is empty,
//! all its offsets expire together, retention after it emptied; a standalone consumer's
//! offsets (committed outside any membership) expire one by one, retention after each commit.
//! A group left with neither members nor offsets is deleted. Expiry writes tombstones, which
//! the compacted `__consumer_offsets` drops in time.
//!
//! "Emptied" is when this coordinator first saw the group without members; after a failover
//! or restart that is the replay, so a moved group gets a full retention period again, never
//! less. A standalone commit keeps its own timestamp across failovers (it is in the record);
//! one without (0, written before timestamps were kept) counts from the replay too.

use std::collections::HashMap;

use super::group::Group;
use super::records::{group_record, offset_record, StoredRecord};
use super::shards::{GroupCoordinator, Shard};

impl GroupCoordinator {
    /// Deletes the committed offsets that expired by `now_ms` in every partition this broker
    /// coordinates; returns how many.
    pub fn expire_offsets(&self, now_ms: i64) -> usize {
        let mut expired = 0;
        for shard in self.active_shards().0 {
            let mut state = shard.state.lock().expect("poisoned");
            if !state.retired {
                expired += self.expire_in(&shard, &mut state.groups, now_ms);
            }
        }
        expired
    }

    fn expire_in(&self, shard: &Shard, groups: &mut HashMap<String, Group>, now_ms: i64) -> usize {
        let retention = self.settings.offsets_retention_ms;
        let mut tombstones: Vec<StoredRecord> = Vec::new();
        let mut dead = Vec::new();
        let mut expired = 0;
        for (id, group) in groups.iter_mut() {
            if !group.members.is_empty() {
                group.empty_since_ms = None;
                continue;
            }
            let empty_since = *group.empty_since_ms.get_or_insert(now_ms);
            let due = |since: i64| now_ms.saturating_sub(since) >= retention;
            let gone: Vec<(String, i32)> = if group.protocol_type.is_some() {
                if due(empty_since) {
                    group.offsets.keys().cloned().collect()
                } else {
                    Vec::new()
                }
            } else {
                group
                    .offsets
                    .iter()
                    .filter(|(_, c)| {
                        due(if c.commit_timestamp_ms > 0 {
                            c.commit_timestamp_ms
                        } else {
                            empty_since
                        })
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            };
            let removed_here = gone.len();
            for (t, p) in gone {
                group.offsets.remove(&(t.clone(), p));
                tombstones.push(offset_record(id, &t, p, None));
            }
            expired += removed_here;
            if group.offsets.is_empty() && (removed_here > 0 || due(empty_since)) {
                tombstones.push(group_record(id, None));
                dead.push(id.clone());
            }
        }
        if tombstones.is_empty() {
            return 0;
        }
        for id in &dead {
            tracing::info!(group = %id, "group has no members and no offsets left; deleted");
            groups.remove(id);
        }
        // Expiry acknowledges no one: the write need not wait for the ISR. If it is lost in a
        // failover, the next coordinator expires the same offsets again later.
        if let Err(e) = self.append(shard, tombstones) {
            tracing::warn!(error = ?e, "writing offset expiry tombstones failed");
        }
        expired
    }
}
