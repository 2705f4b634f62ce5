//! Committed offsets: OffsetCommit, OffsetFetch and DeleteGroups.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::error::ResponseError;

use super::group::Group;
use super::persist::Pending;
use super::records::{group_record, offset_record};
use super::shards::{GroupCoordinator, Shard};
use super::types::{Committed, GroupState, OffsetRows};

impl GroupCoordinator {
    /// Handles OffsetCommit for one group; returns one error code per offset, in order.
    pub fn commit(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        offsets: Vec<(String, i32, Committed)>,
    ) -> Vec<i16> {
        let n = offsets.len();
        let written = self
            .with_groups(group_id, |shard, groups| {
                self.commit_in(shard, groups, group_id, generation, member_id, offsets)
            })
            .and_then(|w| w)
            .and_then(Pending::replicated);
        match written {
            Ok(()) => vec![0; n],
            Err(e) => vec![e.code(); n],
        }
    }

    fn commit_in(
        &self,
        shard: &Shard,
        groups: &mut HashMap<String, Group>,
        group_id: &str,
        generation: i32,
        member_id: &str,
        offsets: Vec<(String, i32, Committed)>,
    ) -> Result<Pending, ResponseError> {
        let group = groups
            .entry(group_id.to_string())
            .or_insert_with(Group::new);
        let check = if generation < 0 && member_id.is_empty() {
            if group.members.is_empty() {
                Ok(())
            } else {
                Err(ResponseError::UnknownMemberId)
            }
        } else if !group.members.contains_key(member_id) {
            Err(ResponseError::UnknownMemberId)
        } else if generation != group.generation {
            Err(ResponseError::IllegalGeneration)
        } else if group.state == GroupState::CompletingRebalance {
            Err(ResponseError::RebalanceInProgress)
        } else {
            Ok(())
        };
        check?;
        let records = offsets
            .iter()
            .map(|(t, p, c)| offset_record(group_id, t, *p, Some(c)))
            .collect();
        let pending = self.append(shard, records)?;
        for (t, p, c) in offsets {
            group.offsets.insert((t, p), c);
        }
        Ok(pending)
    }

    /// Committed offsets of a group: all, or for the listed topics/partitions. Never an empty
    /// answer from a broker that does not coordinate the group: the consumer would take it as
    /// "nothing committed" and reset its position.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        wanted: Option<Vec<(String, Vec<i32>)>>,
    ) -> Result<OffsetRows, ResponseError> {
        self.with_groups(group_id, |_, groups| {
            let offsets = groups.get(group_id).map(|g| &g.offsets);
            match wanted {
                Some(w) => w
                    .into_iter()
                    .map(|(t, ps)| {
                        let rows = ps
                            .into_iter()
                            .map(|p| (p, offsets.and_then(|o| o.get(&(t.clone(), p)).cloned())))
                            .collect();
                        (t, rows)
                    })
                    .collect(),
                None => {
                    let mut by_topic: BTreeMap<String, Vec<(i32, Option<Committed>)>> =
                        BTreeMap::new();
                    for ((t, p), c) in offsets.into_iter().flatten() {
                        by_topic
                            .entry(t.clone())
                            .or_default()
                            .push((*p, Some(c.clone())));
                    }
                    by_topic.into_iter().collect()
                }
            }
        })
    }

    /// Deletes an empty group and its offsets.
    pub fn delete(&self, group_id: &str) -> Result<(), ResponseError> {
        let pending = self.with_groups(group_id, |shard, groups| {
            let Some(g) = groups.get(group_id) else {
                return Err(ResponseError::GroupIdNotFound);
            };
            if !g.members.is_empty() {
                return Err(ResponseError::NonEmptyGroup);
            }
            let mut tombstones: Vec<_> = g
                .offsets
                .keys()
                .map(|(t, p)| offset_record(group_id, t, *p, None))
                .collect();
            tombstones.push(group_record(group_id, None));
            let pending = self.append(shard, tombstones)?;
            groups.remove(group_id);
            Ok(pending)
        })??;
        pending.replicated()
    }
}
