//! One group's membership state machine: Kafka's classic rebalance protocol (join phase,
//! leader assignment, stable), kept free of I/O and clocks so it can be tested in isolation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::types::{Committed, GroupState, JoinOutcome, SyncOutcome};

#[derive(Debug)]
pub(super) struct Member {
    pub(super) instance_id: Option<String>,
    pub(super) client_id: String,
    pub(super) client_host: String,
    pub(super) session_timeout: Duration,
    pub(super) rebalance_timeout: Duration,
    pub(super) protocols: Vec<(String, Bytes)>,
    pub(super) assignment: Bytes,
    pub(super) join_waiter: Option<oneshot::Sender<JoinOutcome>>,
    pub(super) sync_waiter: Option<oneshot::Sender<SyncOutcome>>,
    pub(super) last_seen: Instant,
}

#[derive(Debug)]
pub(super) struct Group {
    pub(super) state: GroupState,
    pub(super) generation: i32,
    pub(super) protocol_type: Option<String>,
    pub(super) protocol: Option<String>,
    pub(super) leader: Option<String>,
    pub(super) members: BTreeMap<String, Member>,
    pub(super) pending: HashSet<String>,
    pub(super) rebalance_deadline: Option<Instant>,
    // Kafka's initial delayed join: a group forming from empty waits this long (extended by
    // each newcomer) so members starting together land in one generation.
    pub(super) hold_until: Option<Instant>,
    pub(super) offsets: BTreeMap<(String, i32), Committed>,
    /// Wall-clock time (ms) the retention sweep first saw the group without members; offsets
    /// of a group that had members expire counting from here.
    pub(super) empty_since_ms: Option<i64>,
}

impl Group {
    pub(super) fn new() -> Group {
        Group {
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: HashSet::new(),
            rebalance_deadline: None,
            hold_until: None,
            offsets: BTreeMap::new(),
            empty_since_ms: None,
        }
    }

    pub(super) fn static_member(&self, instance: &str) -> Option<String> {
        self.members
            .iter()
            .find(|(_, m)| m.instance_id.as_deref() == Some(instance))
            .map(|(id, _)| id.clone())
    }

    pub(super) fn prepare_rebalance(&mut self, now: Instant) {
        if self.state == GroupState::PreparingRebalance {
            return;
        }
        for m in self.members.values_mut() {
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(SyncOutcome {
                    error: ResponseError::RebalanceInProgress.code(),
                    ..Default::default()
                });
            }
        }
        let timeout = self
            .members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default();
        self.state = GroupState::PreparingRebalance;
        self.rebalance_deadline = Some(now + timeout);
    }

    /// Completes the join phase if every member has rejoined, or `force` (deadline passed).
    /// Returns whether the generation changed.
    pub(super) fn maybe_complete_join(&mut self, force: bool) -> bool {
        if self.state != GroupState::PreparingRebalance {
            return false;
        }
        if !force
            && (self.hold_until.is_some() || self.members.values().any(|m| m.join_waiter.is_none()))
        {
            return false;
        }
        self.hold_until = None;
        self.members.retain(|_, m| m.join_waiter.is_some());
        self.generation += 1;
        self.rebalance_deadline = None;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            return true;
        }
        self.protocol = self.select_protocol();
        if self
            .leader
            .as_ref()
            .is_none_or(|l| !self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.state = GroupState::CompletingRebalance;
        let protocol = self.protocol.clone().unwrap_or_default();
        let all: Vec<(String, Option<String>, Bytes)> = self
            .members
            .iter()
            .map(|(id, m)| {
                let meta = m
                    .protocols
                    .iter()
                    .find(|(n, _)| *n == protocol)
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default();
                (id.clone(), m.instance_id.clone(), meta)
            })
            .collect();
        let leader = self.leader.clone().unwrap_or_default();
        for (id, m) in self.members.iter_mut() {
            if let Some(w) = m.join_waiter.take() {
                let _ = w.send(JoinOutcome {
                    error: 0,
                    generation: self.generation,
                    protocol_type: self.protocol_type.clone(),
                    protocol_name: self.protocol.clone(),
                    leader: leader.clone(),
                    member_id: id.clone(),
                    members: if *id == leader {
                        all.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
        }
        true
    }

    /// The protocol supported by all members with the most votes, each member voting for its
    /// most preferred common protocol (ties go to the first member's preference order).
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| candidates_contains(self, n))
            .collect();
        let mut votes: HashMap<&String, usize> = HashMap::new();
        for m in self.members.values() {
            if let Some((p, _)) = m.protocols.iter().find(|(p, _)| candidates.contains(&p)) {
                *votes.entry(p).or_default() += 1;
            }
        }
        let mut best: Option<(&String, usize)> = None;
        for c in candidates {
            let v = votes.get(c).copied().unwrap_or(0);
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((c, v));
            }
        }
        best.map(|(c, _)| c.clone())
    }

    /// Answers every waiting JoinGroup and SyncGroup with `error`: the group is no longer
    /// coordinated here, and a waiter left hanging would only time out on the client.
    pub(super) fn abandon(&mut self, error: ResponseError) {
        for (id, m) in self.members.iter_mut() {
            if let Some(w) = m.join_waiter.take() {
                let _ = w.send(JoinOutcome {
                    error: error.code(),
                    generation: -1,
                    member_id: id.clone(),
                    ..Default::default()
                });
            }
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(SyncOutcome {
                    error: error.code(),
                    ..Default::default()
                });
            }
        }
    }

    pub(super) fn remove_member(&mut self, id: &str, now: Instant) {
        if let Some(m) = self.members.remove(id) {
            if let Some(w) = m.join_waiter {
                let _ = w.send(JoinOutcome {
                    error: ResponseError::UnknownMemberId.code(),
                    member_id: id.to_string(),
                    ..Default::default()
                });
            }
        }
        if self.members.is_empty() && self.state != GroupState::PreparingRebalance {
            self.generation += 1;
            self.state = GroupState::Empty;
            self.leader = None;
            self.protocol = None;
            return;
        }
        self.prepare_rebalance(now);
        self.maybe_complete_join(false);
    }
}

pub(super) fn candidates_contains(g: &Group, p: &str) -> bool {
    g.members
        .values()
        .all(|m| m.protocols.iter().any(|(q, _)| q == p))
}
