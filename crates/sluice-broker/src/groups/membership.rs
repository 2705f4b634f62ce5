//! Membership: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, session expiry, and the views
//! DescribeGroups and ListGroups report. Each request works under its partition's lock only.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::group::{candidates_contains, Group, Member};
use super::shards::{GroupCoordinator, Settings, Shard};
use super::types::{
    GroupDescription, GroupState, JoinOutcome, JoinParams, ListedGroup, MemberDescription, Reply,
    SyncOutcome,
};

fn join_failed(e: ResponseError, member_id: &str) -> Reply<JoinOutcome> {
    Reply::Now(JoinOutcome {
        error: e.code(),
        generation: -1,
        member_id: member_id.to_string(),
        ..Default::default()
    })
}

/// SyncGroup's immediate answer with `e`.
fn sync_failed(e: ResponseError) -> Reply<SyncOutcome> {
    Reply::Now(SyncOutcome {
        error: e.code(),
        ..Default::default()
    })
}

impl GroupCoordinator {
    fn new_member_id(&self, client_id: &str) -> String {
        let n = self.next_member.fetch_add(1, Ordering::Relaxed);
        format!("{client_id}-{}-{n}", uuid::Uuid::new_v4().simple())
    }

    /// Handles JoinGroup.
    pub fn join(&self, p: JoinParams, now: Instant) -> Reply<JoinOutcome> {
        if p.group_id.is_empty() {
            return join_failed(ResponseError::InvalidGroupId, &p.member_id);
        }
        let group_id = p.group_id.clone();
        let member_id = p.member_id.clone();
        self.with_groups(&group_id, |shard, groups| {
            self.join_in(shard, groups, p, now)
        })
        .unwrap_or_else(|e| join_failed(e, &member_id))
    }

    fn join_in(
        &self,
        shard: &Shard,
        groups: &mut HashMap<String, Group>,
        p: JoinParams,
        now: Instant,
    ) -> Reply<JoinOutcome> {
        let fail = join_failed;
        let Settings {
            min_session_ms: min,
            max_session_ms: max,
            ..
        } = self.settings;
        if p.session_timeout_ms < min || p.session_timeout_ms > max {
            return fail(ResponseError::InvalidSessionTimeout, &p.member_id);
        }
        if p.protocol_type.is_empty() || p.protocols.is_empty() {
            return fail(ResponseError::InconsistentGroupProtocol, &p.member_id);
        }
        let group = groups.entry(p.group_id.clone()).or_insert_with(Group::new);
        if !group.members.is_empty() {
            let type_ok = group.protocol_type.as_deref() == Some(p.protocol_type.as_str());
            let common = p
                .protocols
                .iter()
                .any(|(n, _)| candidates_contains(group, n));
            if !type_ok || !common {
                return fail(ResponseError::InconsistentGroupProtocol, &p.member_id);
            }
        }
        let mut member_id = p.member_id.clone();
        if member_id.is_empty() {
            member_id = self.new_member_id(&p.client_id);
            if let Some(instance) = &p.instance_id {
                if let Some(old) = group.static_member(instance) {
                    // A restarted static member takes over its old slot without a rebalance
                    // when the group is stable. A returning leader rebalances instead, since
                    // only a join round hands it the member list it assigns from.
                    let mut m = group.members.remove(&old).expect("static member exists");
                    if let Some(w) = m.join_waiter.take() {
                        let _ = w.send(JoinOutcome {
                            error: ResponseError::FencedInstanceId.code(),
                            member_id: old.clone(),
                            ..Default::default()
                        });
                    }
                    m.last_seen = now;
                    m.protocols = p.protocols.clone();
                    let was_leader = group.leader.as_deref() == Some(old.as_str());
                    if was_leader {
                        group.leader = Some(member_id.clone());
                    }
                    group.members.insert(member_id.clone(), m);
                    if group.state == GroupState::Stable && !was_leader {
                        return Reply::Now(JoinOutcome {
                            error: 0,
                            generation: group.generation,
                            protocol_type: group.protocol_type.clone(),
                            protocol_name: group.protocol.clone(),
                            leader: group.leader.clone().unwrap_or_default(),
                            member_id,
                            members: Vec::new(),
                        });
                    }
                }
            } else if p.require_known_member_id {
                group.pending.insert(member_id.clone());
                return fail(ResponseError::MemberIdRequired, &member_id);
            }
        } else if p
            .instance_id
            .as_ref()
            .and_then(|i| group.static_member(i))
            .is_some_and(|id| id != member_id)
        {
            // Another process took over this group.instance.id.
            return fail(ResponseError::FencedInstanceId, &member_id);
        } else if !group.members.contains_key(&member_id) && !group.pending.remove(&member_id) {
            return fail(ResponseError::UnknownMemberId, &member_id);
        }
        let (tx, rx) = oneshot::channel();
        if group.members.is_empty() {
            group.protocol_type = Some(p.protocol_type.clone());
        }
        let entry = group
            .members
            .entry(member_id.clone())
            .or_insert_with(|| Member {
                instance_id: p.instance_id.clone(),
                client_id: p.client_id.clone(),
                client_host: p.client_host.clone(),
                session_timeout: Duration::ZERO,
                rebalance_timeout: Duration::ZERO,
                protocols: Vec::new(),
                assignment: Bytes::new(),
                join_waiter: None,
                sync_waiter: None,
                last_seen: now,
            });
        entry.session_timeout = Duration::from_millis(p.session_timeout_ms as u64);
        entry.rebalance_timeout = Duration::from_millis(p.rebalance_timeout_ms.max(0) as u64);
        entry.protocols = p.protocols;
        entry.last_seen = now;
        if let Some(old) = entry.join_waiter.replace(tx) {
            let _ = old.send(JoinOutcome {
                error: ResponseError::UnknownMemberId.code(),
                ..Default::default()
            });
        }
        let was_empty = group.state == GroupState::Empty;
        group.prepare_rebalance(now);
        let delay = self.settings.initial_delay;
        if !delay.is_zero() && (was_empty || group.hold_until.is_some()) {
            let until = now + delay;
            group.hold_until = Some(group.rebalance_deadline.map_or(until, |d| until.min(d)));
        }
        if group.maybe_complete_join(false) {
            let g = &*group;
            self.persist_group(shard, &p.group_id, g);
        }
        Reply::Wait(rx)
    }

    /// Handles SyncGroup.
    pub fn sync(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        assignments: Vec<(String, Bytes)>,
    ) -> Reply<SyncOutcome> {
        self.with_groups(group_id, |shard, groups| {
            self.sync_in(shard, groups, group_id, generation, member_id, assignments)
        })
        .unwrap_or_else(sync_failed)
    }

    fn sync_in(
        &self,
        shard: &Shard,
        groups: &mut HashMap<String, Group>,
        group_id: &str,
        generation: i32,
        member_id: &str,
        assignments: Vec<(String, Bytes)>,
    ) -> Reply<SyncOutcome> {
        let fail = sync_failed;
        let Some(group) = groups.get_mut(group_id) else {
            return fail(ResponseError::UnknownMemberId);
        };
        if !group.members.contains_key(member_id) {
            return fail(ResponseError::UnknownMemberId);
        }
        if generation != group.generation {
            return fail(ResponseError::IllegalGeneration);
        }
        let outcome = |g: &Group, assignment: Bytes| SyncOutcome {
            error: 0,
            protocol_type: g.protocol_type.clone(),
            protocol_name: g.protocol.clone(),
            assignment,
        };
        match group.state {
            GroupState::Empty | GroupState::PreparingRebalance => {
                fail(ResponseError::RebalanceInProgress)
            }
            GroupState::Stable => {
                let a = group.members[member_id].assignment.clone();
                Reply::Now(outcome(group, a))
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                group
                    .members
                    .get_mut(member_id)
                    .expect("checked")
                    .sync_waiter = Some(tx);
                if group.leader.as_deref() == Some(member_id) {
                    let mut map: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in group.members.values_mut() {
                        m.assignment = Bytes::new();
                    }
                    for (id, m) in group.members.iter_mut() {
                        m.assignment = map.remove(id).unwrap_or_default();
                    }
                    group.state = GroupState::Stable;
                    let snapshot: Vec<(Option<oneshot::Sender<SyncOutcome>>, Bytes)> = group
                        .members
                        .values_mut()
                        .map(|m| (m.sync_waiter.take(), m.assignment.clone()))
                        .collect();
                    for (w, a) in snapshot {
                        if let Some(w) = w {
                            let _ = w.send(outcome(group, a));
                        }
                    }
                    let g = &*group;
                    self.persist_group(shard, group_id, g);
                }
                Reply::Wait(rx)
            }
        }
    }

    /// Handles Heartbeat; returns the error code.
    pub fn heartbeat(&self, group_id: &str, generation: i32, member_id: &str, now: Instant) -> i16 {
        self.with_groups(group_id, |_, groups| {
            let Some(group) = groups.get_mut(group_id) else {
                return ResponseError::UnknownMemberId.code();
            };
            let Some(m) = group.members.get_mut(member_id) else {
                return ResponseError::UnknownMemberId.code();
            };
            m.last_seen = now;
            if group.state == GroupState::PreparingRebalance {
                return ResponseError::RebalanceInProgress.code();
            }
            if generation != group.generation {
                return ResponseError::IllegalGeneration.code();
            }
            0
        })
        .unwrap_or_else(|e| e.code())
    }

    /// Handles LeaveGroup for each (member id, instance id); returns per-member error codes.
    pub fn leave(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
        now: Instant,
    ) -> Result<Vec<i16>, i16> {
        self.with_groups(group_id, |shard, groups| {
            self.leave_in(shard, groups, group_id, members, now)
        })
        .unwrap_or_else(|e| Err(e.code()))
    }

    fn leave_in(
        &self,
        shard: &Shard,
        groups: &mut HashMap<String, Group>,
        group_id: &str,
        members: &[(String, Option<String>)],
        now: Instant,
    ) -> Result<Vec<i16>, i16> {
        let Some(group) = groups.get_mut(group_id) else {
            return Err(ResponseError::UnknownMemberId.code());
        };
        let mut out = Vec::new();
        for (member_id, instance) in members {
            let id = match instance {
                Some(i) => match group.static_member(i) {
                    Some(id) if member_id.is_empty() || *id == *member_id => Some(id),
                    Some(_) => {
                        out.push(ResponseError::FencedInstanceId.code());
                        continue;
                    }
                    None => None,
                },
                None => group
                    .members
                    .contains_key(member_id)
                    .then(|| member_id.clone()),
            };
            match id {
                Some(id) => {
                    group.remove_member(&id, now);
                    out.push(0);
                }
                None => out.push(ResponseError::UnknownMemberId.code()),
            }
        }
        let g = &*group;
        self.persist_group(shard, group_id, g);
        Ok(out)
    }

    /// Expires members whose session lapsed and completes overdue rebalances.
    pub fn tick(&self, now: Instant) {
        for shard in self.active_shards().0 {
            let mut state = shard.state.lock().expect("poisoned");
            if !state.retired {
                self.tick_shard(&shard, &mut state.groups, now);
            }
        }
    }

    fn tick_shard(&self, shard: &Shard, groups: &mut HashMap<String, Group>, now: Instant) {
        for (id, group) in groups.iter_mut() {
            let expired: Vec<String> = group
                .members
                .iter()
                .filter(|(_, m)| {
                    m.join_waiter.is_none() && now.duration_since(m.last_seen) > m.session_timeout
                })
                .map(|(id, _)| id.clone())
                .collect();
            let mut changed = false;
            for m in expired {
                tracing::info!(group = %id, member = %m, state = ?group.state, "member session expired");
                group.remove_member(&m, now);
                changed = true;
            }
            if group.hold_until.is_some_and(|h| now >= h) {
                group.hold_until = None;
                changed |= group.maybe_complete_join(false);
            }
            if group.rebalance_deadline.is_some_and(|d| now >= d) {
                changed |= group.maybe_complete_join(true);
            }
            if changed {
                let g = &*group;
                self.persist_group(shard, id, g);
            }
        }
    }

    /// Every group of the partitions this broker coordinates, and whether a partition it
    /// leads is still being replayed (its groups are missing from the list).
    pub fn list(&self) -> (Vec<ListedGroup>, bool) {
        let (shards, loading) = self.active_shards();
        let mut out = Vec::new();
        for shard in shards {
            let state = shard.state.lock().expect("poisoned");
            if state.retired {
                continue;
            }
            out.extend(state.groups.iter().map(|(id, g)| {
                (
                    id.clone(),
                    g.protocol_type.clone().unwrap_or_default(),
                    g.state,
                )
            }));
        }
        (out, loading)
    }

    /// Description of one group for DescribeGroups (`None`: no such group).
    pub fn describe(&self, group_id: &str) -> Result<Option<GroupDescription>, ResponseError> {
        self.with_groups(group_id, |_, groups| groups.get(group_id).map(describe))
    }
}

fn describe(g: &Group) -> GroupDescription {
    let protocol = g.protocol.clone().unwrap_or_default();
    GroupDescription {
        state: g.state,
        protocol_type: g.protocol_type.clone().unwrap_or_default(),
        protocol: protocol.clone(),
        members: g
            .members
            .iter()
            .map(|(id, m)| MemberDescription {
                member_id: id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: m
                    .protocols
                    .iter()
                    .find(|(n, _)| *n == protocol)
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default(),
                assignment: m.assignment.clone(),
            })
            .collect(),
    }
}
