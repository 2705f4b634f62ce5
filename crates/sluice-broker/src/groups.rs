//! Classic consumer-group coordinator: membership, generations, rebalances, static members and
//! committed offsets. State changes that must survive a restart (offsets, group generation and
//! protocol) are written to `__consumer_offsets` before they are acknowledged and replayed on start.
//!
//! Everything here is synchronous; handlers that must wait (JoinGroup, SyncGroup) get a oneshot
//! receiver that is completed when the rebalance reaches the right phase.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::broker::{now_ms, Broker, Partition, CONSUMER_OFFSETS};

/// Group state as reported by DescribeGroups/ListGroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (possibly committed offsets).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Waiting for the leader's assignment.
    CompletingRebalance,
    /// Assignment distributed.
    Stable,
}

impl GroupState {
    /// Kafka's name of the state.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// Answer to a JoinGroup, independent of the protocol version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JoinOutcome {
    /// Kafka error code.
    pub error: i16,
    /// Generation joined.
    pub generation: i32,
    /// Group protocol type.
    pub protocol_type: Option<String>,
    /// Chosen assignor.
    pub protocol_name: Option<String>,
    /// Leader member id.
    pub leader: String,
    /// The joining member's id.
    pub member_id: String,
    /// For the leader only: every member with its metadata for the chosen protocol.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

/// Answer to a SyncGroup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncOutcome {
    /// Kafka error code.
    pub error: i16,
    /// Group protocol type.
    pub protocol_type: Option<String>,
    /// Chosen assignor.
    pub protocol_name: Option<String>,
    /// This member's assignment.
    pub assignment: Bytes,
}

/// Either an immediate answer or one that arrives when the rebalance progresses.
#[derive(Debug)]
pub enum Reply<T> {
    /// Answer now.
    Now(T),
    /// Answer later.
    Wait(oneshot::Receiver<T>),
}

/// JoinGroup parameters.
#[derive(Debug, Clone, Default)]
pub struct JoinParams {
    /// Group id.
    pub group_id: String,
    /// Member id, empty for a new member.
    pub member_id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Client id from the request header.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout_ms: i32,
    /// Rebalance timeout.
    pub rebalance_timeout_ms: i32,
    /// Protocol type, e.g. "consumer".
    pub protocol_type: String,
    /// Supported assignors with their metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// Whether the client understands MEMBER_ID_REQUIRED (JoinGroup v4+).
    pub require_known_member_id: bool,
}

#[derive(Debug)]
struct Member {
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    join_waiter: Option<oneshot::Sender<JoinOutcome>>,
    sync_waiter: Option<oneshot::Sender<SyncOutcome>>,
    last_seen: Instant,
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// Next offset to consume.
    pub offset: i64,
    /// Leader epoch of the committed record.
    pub leader_epoch: i32,
    /// Client metadata.
    pub metadata: Option<String>,
}

#[derive(Debug)]
struct Group {
    state: GroupState,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    pending: HashSet<String>,
    rebalance_deadline: Option<Instant>,
    // Kafka's initial delayed join: a group forming from empty waits this long (extended by
    // each newcomer) so members starting together land in one generation.
    hold_until: Option<Instant>,
    offsets: BTreeMap<(String, i32), Committed>,
}

impl Group {
    fn new() -> Group {
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
        }
    }

    fn static_member(&self, instance: &str) -> Option<String> {
        self.members
            .iter()
            .find(|(_, m)| m.instance_id.as_deref() == Some(instance))
            .map(|(id, _)| id.clone())
    }

    fn prepare_rebalance(&mut self, now: Instant) {
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
    fn maybe_complete_join(&mut self, force: bool) -> bool {
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

    fn remove_member(&mut self, id: &str, now: Instant) {
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

fn candidates_contains(g: &Group, p: &str) -> bool {
    g.members
        .values()
        .all(|m| m.protocols.iter().any(|(q, _)| q == p))
}

/// Record persisted in `__consumer_offsets`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t")]
enum StoredKey {
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

/// The group coordinator.
#[derive(Debug, Default)]
pub struct GroupCoordinator {
    groups: Mutex<HashMap<String, Group>>,
    // The `__consumer_offsets` replica this broker leads, while it is the coordinator.
    log: Mutex<Option<Arc<Partition>>>,
    min_session_ms: OnceLock<(i32, i32)>,
    initial_delay: OnceLock<Duration>,
    // Wakes followers' fetches after a write, and waits for the high watermark.
    notify: OnceLock<Arc<tokio::sync::watch::Sender<u64>>>,
    // Unit tests: coordinate without a `__consumer_offsets` log.
    memory_only: bool,
    next_member: std::sync::atomic::AtomicU64,
}

impl GroupCoordinator {
    fn new_member_id(&self, client_id: &str) -> String {
        let n = self
            .next_member
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{client_id}-{}-{n}", uuid::Uuid::new_v4().simple())
    }

    fn persist(&self, records: Vec<(StoredKey, Option<Vec<u8>>)>) -> Result<(), ResponseError> {
        let Some(log) = self.log.lock().expect("poisoned").clone() else {
            if self.memory_only {
                return Ok(());
            }
            return Err(ResponseError::NotCoordinator);
        };
        let batch = crate::storage::encode_batch(
            records
                .iter()
                .map(|(k, v)| (serde_json::to_vec(k).unwrap_or_default(), v.clone())),
            now_ms(),
        )
        .map_err(|_| ResponseError::UnknownServerError)?;
        let appended = {
            let mut store = log.store.lock().expect("poisoned");
            if !store.replica.leads(-1) {
                return Err(ResponseError::NotCoordinator);
            }
            let epoch = store.replica.leader_epoch;
            store.append(&batch, now_ms(), epoch)
        }
        .map_err(|e| {
            tracing::error!(error = ?e, "writing group state to {CONSUMER_OFFSETS} failed");
            ResponseError::CoordinatorNotAvailable
        })?;
        if !appended.sync.is_complete() {
            tokio::task::block_in_place(|| appended.sync.wait()).map_err(|e| {
                tracing::error!(error = %e, "syncing {CONSUMER_OFFSETS} failed");
                ResponseError::CoordinatorNotAvailable
            })?;
        }
        log.store
            .lock()
            .expect("poisoned")
            .mark_durable(appended.end_offset);
        let Some(notify) = self.notify.get() else {
            return Ok(());
        };
        let mut changes = notify.subscribe();
        notify.send_modify(|n| *n = n.wrapping_add(1));
        // Committed state must survive a coordinator failover: wait until the ISR holds it.
        let end = appended.end_offset;
        let wait = async move {
            loop {
                changes.borrow_and_update();
                {
                    let store = log.store.lock().expect("poisoned");
                    if !store.replica.leads(-1) {
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
            tracing::warn!("group state not replicated in time");
            Err(ResponseError::RequestTimedOut)
        })
    }

    /// Whether this broker coordinates groups now (it leads `__consumer_offsets`).
    pub fn is_active(&self) -> bool {
        self.memory_only || self.log.lock().expect("poisoned").is_some()
    }

    /// A coordinator that keeps state in memory only and always coordinates (unit tests).
    pub fn in_memory() -> GroupCoordinator {
        GroupCoordinator {
            memory_only: true,
            ..GroupCoordinator::default()
        }
    }

    fn persist_group(&self, id: &str, g: &Group) {
        let value = StoredGroup {
            protocol_type: g.protocol_type.clone(),
            protocol: g.protocol.clone(),
            generation: g.generation,
        };
        let _ = self.persist(vec![(
            StoredKey::Group { g: id.to_string() },
            serde_json::to_vec(&value).ok(),
        )]);
    }

    /// Handles JoinGroup.
    pub fn join(&self, p: JoinParams, now: Instant) -> Reply<JoinOutcome> {
        let fail = |e: ResponseError, member_id: &str| {
            Reply::Now(JoinOutcome {
                error: e.code(),
                generation: -1,
                member_id: member_id.to_string(),
                ..Default::default()
            })
        };
        if !self.is_active() {
            return fail(ResponseError::NotCoordinator, &p.member_id);
        }
        let (min, max) = *self.min_session_ms.get().unwrap_or(&(6_000, 1_800_000));
        if p.group_id.is_empty() {
            return fail(ResponseError::InvalidGroupId, &p.member_id);
        }
        if p.session_timeout_ms < min || p.session_timeout_ms > max {
            return fail(ResponseError::InvalidSessionTimeout, &p.member_id);
        }
        if p.protocol_type.is_empty() || p.protocols.is_empty() {
            return fail(ResponseError::InconsistentGroupProtocol, &p.member_id);
        }
        let mut groups = self.groups.lock().expect("poisoned");
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
        let delay = self.initial_delay.get().copied().unwrap_or_default();
        if !delay.is_zero() && (was_empty || group.hold_until.is_some()) {
            let until = now + delay;
            group.hold_until = Some(group.rebalance_deadline.map_or(until, |d| until.min(d)));
        }
        if group.maybe_complete_join(false) {
            let g = &*group;
            self.persist_group(&p.group_id, g);
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
        let fail = |e: ResponseError| {
            Reply::Now(SyncOutcome {
                error: e.code(),
                ..Default::default()
            })
        };
        if !self.is_active() {
            return fail(ResponseError::NotCoordinator);
        }
        let mut groups = self.groups.lock().expect("poisoned");
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
                    self.persist_group(group_id, g);
                }
                Reply::Wait(rx)
            }
        }
    }

    /// Handles Heartbeat; returns the error code.
    pub fn heartbeat(&self, group_id: &str, generation: i32, member_id: &str, now: Instant) -> i16 {
        if !self.is_active() {
            return ResponseError::NotCoordinator.code();
        }
        let mut groups = self.groups.lock().expect("poisoned");
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
    }

    /// Handles LeaveGroup for each (member id, instance id); returns per-member error codes.
    pub fn leave(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
        now: Instant,
    ) -> Result<Vec<i16>, i16> {
        if !self.is_active() {
            return Err(ResponseError::NotCoordinator.code());
        }
        let mut groups = self.groups.lock().expect("poisoned");
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
        self.persist_group(group_id, g);
        Ok(out)
    }

    /// Expires members whose session lapsed and completes overdue rebalances.
    pub fn tick(&self, now: Instant) {
        let mut groups = self.groups.lock().expect("poisoned");
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
                self.persist_group(id, g);
            }
        }
    }

    /// Handles OffsetCommit for one group; returns one error code per offset, in order.
    pub fn commit(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        offsets: Vec<(String, i32, Committed)>,
    ) -> Vec<i16> {
        if !self.is_active() {
            return vec![ResponseError::NotCoordinator.code(); offsets.len()];
        }
        let mut groups = self.groups.lock().expect("poisoned");
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
        if let Err(e) = check {
            return vec![e.code(); offsets.len()];
        }
        let records = offsets
            .iter()
            .map(|(t, p, c)| {
                (
                    StoredKey::Offset {
                        g: group_id.to_string(),
                        topic: t.clone(),
                        p: *p,
                    },
                    serde_json::to_vec(c).ok(),
                )
            })
            .collect();
        if let Err(e) = self.persist(records) {
            return vec![e.code(); offsets.len()];
        }
        let n = offsets.len();
        for (t, p, c) in offsets {
            group.offsets.insert((t, p), c);
        }
        vec![0; n]
    }

    /// Committed offsets of a group: all, or for the listed topics/partitions.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        wanted: Option<Vec<(String, Vec<i32>)>>,
    ) -> OffsetRows {
        let groups = self.groups.lock().expect("poisoned");
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
                let mut by_topic: BTreeMap<String, Vec<(i32, Option<Committed>)>> = BTreeMap::new();
                for ((t, p), c) in offsets.into_iter().flatten() {
                    by_topic
                        .entry(t.clone())
                        .or_default()
                        .push((*p, Some(c.clone())));
                }
                by_topic.into_iter().collect()
            }
        }
    }

    /// (group id, protocol type, state) of every group.
    pub fn list(&self) -> Vec<(String, String, GroupState)> {
        let groups = self.groups.lock().expect("poisoned");
        groups
            .iter()
            .map(|(id, g)| {
                (
                    id.clone(),
                    g.protocol_type.clone().unwrap_or_default(),
                    g.state,
                )
            })
            .collect()
    }

    /// Description of one group for DescribeGroups.
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let groups = self.groups.lock().expect("poisoned");
        let g = groups.get(group_id)?;
        let protocol = g.protocol.clone().unwrap_or_default();
        Some(GroupDescription {
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
        })
    }

    /// Deletes an empty group and its offsets.
    pub fn delete(&self, group_id: &str) -> Result<(), ResponseError> {
        if !self.is_active() {
            return Err(ResponseError::NotCoordinator);
        }
        let mut groups = self.groups.lock().expect("poisoned");
        let Some(g) = groups.get(group_id) else {
            return Err(ResponseError::GroupIdNotFound);
        };
        if !g.members.is_empty() {
            return Err(ResponseError::NonEmptyGroup);
        }
        let mut tombstones: Vec<(StoredKey, Option<Vec<u8>>)> = g
            .offsets
            .keys()
            .map(|(t, p)| {
                (
                    StoredKey::Offset {
                        g: group_id.to_string(),
                        topic: t.clone(),
                        p: *p,
                    },
                    None,
                )
            })
            .collect();
        tombstones.push((
            StoredKey::Group {
                g: group_id.to_string(),
            },
            None,
        ));
        self.persist(tombstones)?;
        groups.remove(group_id);
        Ok(())
    }

    fn apply_stored(&self, key: &[u8], value: Option<&[u8]>) {
        let Ok(key) = serde_json::from_slice::<StoredKey>(key) else {
            return;
        };
        let mut groups = self.groups.lock().expect("poisoned");
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
}

/// Committed offsets by topic, then partition (`None`: nothing committed).
pub type OffsetRows = Vec<(String, Vec<(i32, Option<Committed>)>)>;

/// DescribeGroups view of a group.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    /// State.
    pub state: GroupState,
    /// Protocol type.
    pub protocol_type: String,
    /// Chosen protocol.
    pub protocol: String,
    /// Members.
    pub members: Vec<MemberDescription>,
}

/// DescribeGroups view of a member.
#[derive(Debug, Clone)]
pub struct MemberDescription {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Metadata for the chosen protocol.
    pub metadata: Bytes,
    /// Current assignment.
    pub assignment: Bytes,
}

/// Makes this broker the group coordinator (it became leader of `__consumer_offsets`:
/// replay the log into group state) or stops coordinating (leadership moved: forget the
/// groups, whose members rejoin at the new coordinator).
pub fn set_coordinator(broker: &Broker, active: bool) {
    let g = &broker.groups;
    let _ = g.initial_delay.set(Duration::from_millis(
        broker.config.group_initial_rebalance_delay_ms,
    ));
    let _ = g.min_session_ms.set((
        broker.config.group_min_session_timeout_ms,
        broker.config.group_max_session_timeout_ms,
    ));
    let _ = g.notify.set(broker.appended.clone());
    if active == g.is_active() {
        return;
    }
    if !active {
        *g.log.lock().expect("poisoned") = None;
        g.groups.lock().expect("poisoned").clear();
        tracing::info!("no longer the group coordinator");
        return;
    }
    let Ok(partition) = broker.partition(CONSUMER_OFFSETS, 0) else {
        return;
    };
    // Up to the log end, not the high watermark: a new leader's log holds everything the old
    // one committed, while its high watermark catches up only as followers fetch.
    let records = partition.store.lock().expect("poisoned").read_all_records();
    let records = match records {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "replaying {CONSUMER_OFFSETS} failed");
            return;
        }
    };
    let mut groups = g.groups.lock().expect("poisoned");
    groups.clear();
    drop(groups);
    for (key, value) in records {
        g.apply_stored(&key, value.as_deref());
    }
    *g.log.lock().expect("poisoned") = Some(partition);
    let n = g.groups.lock().expect("poisoned").len();
    tracing::info!(
        groups = n,
        "coordinating groups: replayed {CONSUMER_OFFSETS}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(member: &str, client: &str) -> JoinParams {
        JoinParams {
            group_id: "g".into(),
            member_id: member.into(),
            client_id: client.into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(b"m"))],
            require_known_member_id: true,
            ..Default::default()
        }
    }

    fn now_outcome<T: std::fmt::Debug>(r: Reply<T>) -> T {
        match r {
            Reply::Now(t) => t,
            Reply::Wait(_) => panic!("expected an immediate answer"),
        }
    }

    fn wait<T>(r: Reply<T>) -> oneshot::Receiver<T> {
        match r {
            Reply::Wait(rx) => rx,
            Reply::Now(_) => panic!("expected to wait"),
        }
    }

    #[test]
    fn two_members_join_sync_and_rebalance_on_leave() {
        let c = GroupCoordinator::in_memory();
        let t = Instant::now();
        let first = now_outcome(c.join(params("", "a"), t));
        assert_eq!(first.error, ResponseError::MemberIdRequired.code());
        let mut rx_a = wait(c.join(params(&first.member_id, "a"), t));
        let a = rx_a.try_recv().unwrap();
        assert_eq!(
            (a.error, a.generation, a.leader.clone()),
            (0, 1, a.member_id.clone())
        );
        assert_eq!(a.members.len(), 1);
        let mut sync_a = wait(c.sync(
            "g",
            1,
            &a.member_id,
            vec![(a.member_id.clone(), Bytes::from_static(b"A"))],
        ));
        assert_eq!(
            sync_a.try_recv().unwrap().assignment,
            Bytes::from_static(b"A")
        );
        assert_eq!(c.heartbeat("g", 1, &a.member_id, t), 0);

        // A second member triggers a rebalance that waits for the first to rejoin.
        let b_id = now_outcome(c.join(params("", "b"), t)).member_id;
        let mut rx_b = wait(c.join(params(&b_id, "b"), t));
        assert!(rx_b.try_recv().is_err());
        assert_eq!(
            c.heartbeat("g", 1, &a.member_id, t),
            ResponseError::RebalanceInProgress.code()
        );
        let mut rx_a = wait(c.join(params(&a.member_id, "a"), t));
        let (a2, b2) = (rx_a.try_recv().unwrap(), rx_b.try_recv().unwrap());
        assert_eq!((a2.generation, b2.generation), (2, 2));
        assert_eq!(a2.leader, a.member_id, "the leader is kept");
        assert_eq!((a2.members.len(), b2.members.len()), (2, 0));
        let mut sb = wait(c.sync("g", 2, &b_id, vec![]));
        assert!(sb.try_recv().is_err(), "followers wait for the leader");
        let _ = c.sync(
            "g",
            2,
            &a.member_id,
            vec![(b_id.clone(), Bytes::from_static(b"B"))],
        );
        assert_eq!(sb.try_recv().unwrap().assignment, Bytes::from_static(b"B"));
        assert_eq!(
            c.sync("g", 1, &b_id, vec![]).now_error(),
            ResponseError::IllegalGeneration.code()
        );

        // The leader leaves: the remaining member rejoins alone into generation 3.
        assert_eq!(
            c.leave("g", &[(a.member_id.clone(), None)], t).unwrap(),
            vec![0]
        );
        let mut rx_b = wait(c.join(params(&b_id, "b"), t));
        let b3 = rx_b.try_recv().unwrap();
        assert_eq!((b3.generation, b3.leader.clone()), (3, b_id.clone()));
        assert_eq!(c.describe("g").unwrap().members.len(), 1);
    }

    #[test]
    fn members_starting_together_share_the_first_generation() {
        let c = GroupCoordinator::in_memory();
        c.initial_delay.set(Duration::from_millis(3000)).unwrap();
        let t = Instant::now();
        let a = now_outcome(c.join(params("", "a"), t)).member_id;
        let mut rx_a = wait(c.join(params(&a, "a"), t));
        let b = now_outcome(c.join(params("", "b"), t)).member_id;
        let mut rx_b = wait(c.join(params(&b, "b"), t + Duration::from_millis(2000)));
        c.tick(t + Duration::from_millis(3500));
        assert!(rx_a.try_recv().is_err(), "the newcomer extended the delay");
        c.tick(t + Duration::from_millis(5100));
        let (ja, jb) = (rx_a.try_recv().unwrap(), rx_b.try_recv().unwrap());
        assert_eq!((ja.generation, jb.generation), (1, 1));
        assert_eq!(ja.members.len() + jb.members.len(), 2);
    }

    #[test]
    fn expired_sessions_and_overdue_rebalances() {
        let c = GroupCoordinator::in_memory();
        let t = Instant::now();
        let a = now_outcome(c.join(params("", "a"), t)).member_id;
        let _ = c.join(params(&a, "a"), t);
        let _ = c.sync("g", 1, &a, vec![]);
        let b = now_outcome(c.join(params("", "b"), t)).member_id;
        let mut rx_b = wait(c.join(params(&b, "b"), t));
        // `a` never rejoins: after the rebalance timeout `b` gets generation 2 alone.
        c.tick(t + Duration::from_secs(31));
        let out = rx_b.try_recv().unwrap();
        assert_eq!((out.generation, out.leader.as_str()), (2, b.as_str()));
        let _ = c.sync("g", 2, &b, vec![]);
        c.tick(t + Duration::from_secs(60));
        assert_eq!(c.describe("g").unwrap().state, GroupState::Empty);
    }

    #[test]
    fn static_member_rejoins_stable_group_without_rebalance() {
        let c = GroupCoordinator::in_memory();
        let t = Instant::now();
        let mut leader = params("", "a");
        leader.instance_id = Some("i1".into());
        let first = wait(c.join(leader.clone(), t)).try_recv().unwrap();
        let _ = c.sync("g", 1, &first.member_id, vec![]);
        let mut p = params("", "b");
        p.instance_id = Some("i2".into());
        let mut rx_b = wait(c.join(p.clone(), t));
        let mut leader_again = leader.clone();
        leader_again.member_id = first.member_id.clone();
        let mut rx_a = wait(c.join(leader_again, t));
        let (a2, b2) = (rx_a.try_recv().unwrap(), rx_b.try_recv().unwrap());
        assert_eq!(
            (a2.generation, a2.leader.as_str()),
            (2, first.member_id.as_str())
        );
        let assignments = vec![
            (a2.member_id.clone(), Bytes::from_static(b"A")),
            (b2.member_id.clone(), Bytes::from_static(b"B")),
        ];
        let _ = c.sync("g", 2, &a2.member_id, assignments);

        // The follower restarts: same generation, no rebalance, its assignment kept.
        let again = now_outcome(c.join(p.clone(), t));
        assert_eq!((again.error, again.generation), (0, 2));
        assert_ne!(again.member_id, b2.member_id);
        assert_eq!(
            now_outcome(c.sync("g", 2, &again.member_id, vec![])).assignment,
            Bytes::from_static(b"B")
        );
        assert_eq!(
            c.heartbeat("g", 2, &a2.member_id, t),
            0,
            "the other member was not disturbed"
        );
        assert_eq!(
            c.heartbeat("g", 2, &b2.member_id, t),
            ResponseError::UnknownMemberId.code()
        );
        let mut stale = p;
        stale.member_id = b2.member_id;
        assert_eq!(
            now_outcome(c.join(stale, t)).error,
            ResponseError::FencedInstanceId.code()
        );

        // The leader restarts: it needs the member list, so a rebalance runs.
        assert!(matches!(c.join(leader, t), Reply::Wait(_)));
    }

    #[test]
    fn offsets_commit_rules() {
        let c = GroupCoordinator::in_memory();
        let t = Instant::now();
        let off = |o| {
            vec![(
                "t".to_string(),
                0,
                Committed {
                    offset: o,
                    leader_epoch: -1,
                    metadata: None,
                },
            )]
        };
        assert_eq!(c.commit("simple", -1, "", off(5)), vec![0]);
        assert_eq!(
            c.fetch_offsets("simple", None)[0].1[0]
                .1
                .as_ref()
                .unwrap()
                .offset,
            5
        );
        let a = now_outcome(c.join(params("", "a"), t)).member_id;
        let _ = c.join(params(&a, "a"), t);
        assert_eq!(
            c.commit("g", 1, &a, off(1)),
            vec![ResponseError::RebalanceInProgress.code()]
        );
        let _ = c.sync("g", 1, &a, vec![]);
        assert_eq!(c.commit("g", 1, &a, off(7)), vec![0]);
        assert_eq!(
            c.commit("g", 0, &a, off(8)),
            vec![ResponseError::IllegalGeneration.code()]
        );
        assert_eq!(
            c.commit("g", 1, "nobody", off(8)),
            vec![ResponseError::UnknownMemberId.code()]
        );
        assert_eq!(c.delete("g"), Err(ResponseError::NonEmptyGroup));
        assert_eq!(c.delete("simple"), Ok(()));
        assert_eq!(c.delete("simple"), Err(ResponseError::GroupIdNotFound));
    }

    trait NowError {
        fn now_error(self) -> i16;
    }
    impl NowError for Reply<SyncOutcome> {
        fn now_error(self) -> i16 {
            now_outcome(self).error
        }
    }
}
