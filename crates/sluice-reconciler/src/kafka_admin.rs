//! The reconciler's Kafka admin client: what a runtime asks a replicated cluster through the
//! Kafka protocol (kafka-protocol codecs, one fresh connection per exchange, like
//! [`crate::probe`]).
//!
//! - [`describe_any`]: Metadata for all topics (replicas, ISR, leader, controller) plus
//!   ListPartitionReassignments, from the first broker that answers → [`ClusterView`], whose
//!   [`ClusterView::safe`] is the rolling-restart gate;
//! - [`drain`]: moves every replica off a leaving broker (AlterPartitionReassignments) and waits
//!   until it holds nothing; [`rebalance`]: spreads replicas so per-broker counts differ by at
//!   most one, then runs a preferred-leader election (ElectLeaders).
//!
//! The placement rules are pure ([`plan_drain`], [`plan_rebalance`]) and unit-tested. They
//! weigh partitions, not bytes: Metadata carries no sizes (nor does the broker's `/cluster`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId,
    ElectLeadersRequest, ElectLeadersResponse, ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse, MetadataRequest, MetadataResponse, TopicName,
    UnregisterBrokerRequest, UnregisterBrokerResponse,
};
use kafka_protocol::protocol::StrBytes;

use sluice_kafka_client::Connection;

/// One partition as Metadata shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub topic: String,
    pub index: i32,
    /// -1 when the partition has no leader.
    pub leader: i32,
    /// In order: the first is the preferred leader.
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// What the brokers report about the cluster as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterView {
    /// Live (unfenced) brokers.
    pub brokers: Vec<i32>,
    /// The metadata quorum's leader.
    pub controller: Option<u32>,
    /// Every partition, internal topics (`__consumer_offsets`) included.
    pub partitions: Vec<PartitionInfo>,
    /// Partitions with a reassignment in progress.
    pub reassigning: usize,
}

fn same_set(a: &[i32], b: &[i32]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

impl ClusterView {
    /// One broker may go down for a moment without losing availability or acknowledged data:
    /// every partition has a leader and a full ISR, and nothing is being reassigned.
    pub fn safe(&self) -> bool {
        self.reassigning == 0
            && self
                .partitions
                .iter()
                .all(|p| p.leader >= 0 && same_set(&p.isr, &p.replicas))
    }

    /// Replicas `broker` holds.
    pub fn replicas_on(&self, broker: i32) -> usize {
        self.partitions
            .iter()
            .filter(|p| p.replicas.contains(&broker))
            .count()
    }
}

/// A reassignment: (topic, partition, target replicas in order).
pub type Move = (String, i32, Vec<i32>);

fn counts(view: &ClusterView, brokers: &[i32]) -> BTreeMap<i32, usize> {
    brokers.iter().map(|b| (*b, view.replicas_on(*b))).collect()
}

/// Moves every replica on `leaving` to a broker of `keep`: for each partition, the kept broker
/// with the fewest replicas (lowest id on a tie) that is not already a replica, in the leaving
/// broker's place (so the preferred leader stays first). When every kept broker already is a
/// replica, the leaving replica is dropped (the replication factor shrinks to the brokers left).
pub fn plan_drain(view: &ClusterView, leaving: i32, keep: &[i32]) -> Vec<Move> {
    let keep: Vec<i32> = keep.iter().copied().filter(|b| *b != leaving).collect();
    let mut count = counts(view, &keep);
    let mut moves = Vec::new();
    for p in &view.partitions {
        if !p.replicas.contains(&leaving) {
            continue;
        }
        let to = count
            .iter()
            .filter(|(b, _)| !p.replicas.contains(b))
            .min_by_key(|(b, n)| (**n, **b))
            .map(|(b, _)| *b);
        let target: Vec<i32> = match to {
            Some(to) => {
                *count.get_mut(&to).expect("a kept broker") += 1;
                p.replicas
                    .iter()
                    .map(|r| if *r == leaving { to } else { *r })
                    .collect()
            }
            None => p
                .replicas
                .iter()
                .copied()
                .filter(|r| *r != leaving)
                .collect(),
        };
        if !target.is_empty() {
            moves.push((p.topic.clone(), p.index, target));
        }
    }
    moves
}

/// Moves replicas from the fullest to the emptiest of `brokers` until their replica counts
/// differ by at most one (replicas on other brokers are left alone). Each move replaces one
/// replica in place; it takes a preferred-leader slot (first replica) when the donor has more
/// of those than the recipient by two or more, so leadership spreads too after a
/// preferred-leader election.
pub fn plan_rebalance(view: &ClusterView, brokers: &[i32]) -> Vec<Move> {
    if brokers.len() < 2 {
        return Vec::new();
    }
    let mut targets: Vec<Vec<i32>> = view.partitions.iter().map(|p| p.replicas.clone()).collect();
    let mut count = counts(view, brokers);
    let mut firsts: BTreeMap<i32, usize> = brokers
        .iter()
        .map(|b| (*b, targets.iter().filter(|r| r.first() == Some(b)).count()))
        .collect();
    let mut changed = vec![false; targets.len()];
    for _ in 0..targets.len() * brokers.len() {
        // Fullest (highest id on a tie) and emptiest (lowest id on a tie).
        let (&from, &max) = count
            .iter()
            .max_by_key(|(b, n)| (**n, **b))
            .expect("brokers");
        let (&to, &min) = count
            .iter()
            .min_by_key(|(b, n)| (**n, -**b))
            .expect("brokers");
        if max <= min + 1 {
            break;
        }
        let lead = firsts[&from] >= firsts[&to] + 2;
        let candidates = || {
            targets
                .iter()
                .enumerate()
                .filter(|(_, r)| r.contains(&from) && !r.contains(&to))
        };
        // Prefer the slot kind wanted, and partitions not yet moved (fewer reassignments).
        let pick = candidates()
            .min_by_key(|(i, r)| ((r.first() == Some(&from)) != lead, changed[*i], *i))
            .map(|(i, _)| i);
        let Some(i) = pick else { break };
        if targets[i].first() == Some(&from) {
            *firsts.get_mut(&from).expect("broker") -= 1;
            *firsts.get_mut(&to).expect("broker") += 1;
        }
        for r in targets[i].iter_mut() {
            if *r == from {
                *r = to;
            }
        }
        changed[i] = true;
        *count.get_mut(&from).expect("broker") -= 1;
        *count.get_mut(&to).expect("broker") += 1;
    }
    view.partitions
        .iter()
        .zip(targets)
        .zip(changed)
        .filter(|(_, c)| *c)
        .map(|((p, t), _)| (p.topic.clone(), p.index, t))
        .collect()
}

async fn connect(addr: SocketAddr) -> Result<Connection, String> {
    Connection::connect(&addr.to_string(), crate::probe::CLIENT_ID)
        .await
        .map_err(|e| e.to_string())
}

async fn within<T>(
    timeout: Duration,
    addr: SocketAddr,
    f: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(timeout, f)
        .await
        .map_err(|_| format!("{addr}: no answer within {timeout:?}"))?
        .map_err(|e| format!("{addr}: {e}"))
}

/// Metadata (all topics) and the reassignments in progress, from the broker at `addr`.
pub async fn describe(addr: SocketAddr, timeout: Duration) -> Result<ClusterView, String> {
    within(timeout, addr, async {
        let mut conn = connect(addr).await?;
        let meta: MetadataResponse = conn
            .send(
                ApiKey::Metadata,
                1,
                &MetadataRequest::default().with_topics(None),
            )
            .await
            .map_err(|e| e.to_string())?;
        let list: ListPartitionReassignmentsResponse = conn
            .send(
                ApiKey::ListPartitionReassignments,
                0,
                &ListPartitionReassignmentsRequest::default()
                    .with_timeout_ms(timeout.as_millis() as i32),
            )
            .await
            .map_err(|e| e.to_string())?;
        if list.error_code != 0 {
            return Err(format!(
                "ListPartitionReassignments error code {}",
                list.error_code
            ));
        }
        let mut partitions = Vec::new();
        for t in &meta.topics {
            let Some(name) = &t.name else { continue };
            if t.error_code != 0 {
                continue;
            }
            for p in &t.partitions {
                partitions.push(PartitionInfo {
                    topic: name.0.to_string(),
                    index: p.partition_index,
                    leader: p.leader_id.0,
                    replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                    isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                });
            }
        }
        partitions.sort_by(|a, b| (&a.topic, a.index).cmp(&(&b.topic, b.index)));
        let mut brokers: Vec<i32> = meta.brokers.iter().map(|b| b.node_id.0).collect();
        brokers.sort_unstable();
        Ok(ClusterView {
            brokers,
            controller: u32::try_from(meta.controller_id.0).ok().filter(|c| *c > 0),
            partitions,
            reassigning: list.topics.iter().map(|t| t.partitions.len()).sum(),
        })
    })
    .await
}

/// [`describe`] from the first of `addrs` that answers; the address that answered with it.
pub async fn describe_any(
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(SocketAddr, ClusterView), String> {
    let mut errors = Vec::new();
    for a in addrs {
        match describe(*a, timeout).await {
            Ok(v) => return Ok((*a, v)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        return Err("no broker to ask".into());
    }
    Err(errors.join("; "))
}

/// Starts the reassignments of `moves` through the broker at `addr`.
pub async fn reassign(addr: SocketAddr, moves: &[Move], timeout: Duration) -> Result<(), String> {
    if moves.is_empty() {
        return Ok(());
    }
    let mut topics: Vec<ReassignableTopic> = Vec::new();
    for (topic, index, target) in moves {
        let mut p = ReassignablePartition::default();
        p.partition_index = *index;
        p.replicas = Some(target.iter().copied().map(BrokerId).collect());
        match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
            Some(t) => t.partitions.push(p),
            None => {
                let mut t = ReassignableTopic::default();
                t.name = TopicName(StrBytes::from_string(topic.clone()));
                t.partitions.push(p);
                topics.push(t);
            }
        }
    }
    within(timeout, addr, async {
        let mut conn = connect(addr).await?;
        let mut req = AlterPartitionReassignmentsRequest::default();
        req.timeout_ms = timeout.as_millis() as i32;
        req.topics = topics;
        // v0: a drain may shrink a partition's replication factor to the brokers left.
        let resp: AlterPartitionReassignmentsResponse = conn
            .send(ApiKey::AlterPartitionReassignments, 0, &req)
            .await
            .map_err(|e| e.to_string())?;
        if resp.error_code != 0 {
            return Err(format!(
                "AlterPartitionReassignments error code {}: {}",
                resp.error_code,
                resp.error_message.as_deref().unwrap_or("")
            ));
        }
        let failed: Vec<String> = resp
            .responses
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .filter(|p| p.error_code != 0)
                    .map(move |p| {
                        format!(
                            "{}-{}: error code {} {}",
                            t.name.0,
                            p.partition_index,
                            p.error_code,
                            p.error_message.as_deref().unwrap_or("")
                        )
                    })
            })
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "AlterPartitionReassignments refused {}",
                failed.join(", ")
            ))
        }
    })
    .await
}

/// Preferred-leader election of every partition (a partition already led by its preferred
/// replica answers ELECTION_NOT_NEEDED, which is fine).
pub async fn elect_preferred(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    within(timeout, addr, async {
        let mut conn = connect(addr).await?;
        let mut req = ElectLeadersRequest::default();
        req.election_type = 0;
        req.topic_partitions = None;
        req.timeout_ms = timeout.as_millis() as i32;
        let resp: ElectLeadersResponse = conn
            .send(ApiKey::ElectLeaders, 1, &req)
            .await
            .map_err(|e| e.to_string())?;
        if resp.error_code != 0 {
            return Err(format!("ElectLeaders error code {}", resp.error_code));
        }
        Ok(())
    })
    .await
}

/// UnregisterBroker: removes a decommissioned (stopped, drained) broker from the cluster's
/// metadata, through the first broker that answers. Already unregistered counts as done.
pub async fn unregister(
    addrs: &[SocketAddr],
    broker: i32,
    timeout: Duration,
) -> Result<(), String> {
    /// Kafka's BROKER_ID_NOT_REGISTERED.
    const NOT_REGISTERED: i16 = 102;
    let mut last = "no broker to ask".to_string();
    for addr in addrs {
        let outcome = within(timeout, *addr, async {
            let mut conn = connect(*addr).await?;
            let mut req = UnregisterBrokerRequest::default();
            req.broker_id = BrokerId(broker);
            let resp: UnregisterBrokerResponse = conn
                .send(ApiKey::UnregisterBroker, 0, &req)
                .await
                .map_err(|e| e.to_string())?;
            match resp.error_code {
                0 | NOT_REGISTERED => Ok(()),
                code => Err(format!(
                    "UnregisterBroker error code {code}: {}",
                    resp.error_message
                        .map(|m| m.to_string())
                        .unwrap_or_default()
                )),
            }
        })
        .await;
        match outcome {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// How often the waits below look again.
const POLL: Duration = Duration::from_millis(200);

/// Moves every replica off `leaving` to `keep` ([`plan_drain`]) and waits, up to `timeout`,
/// until no reassignment is in progress and Metadata shows `leaving` holding nothing. Safe to
/// run again after an interruption: it plans from what the brokers report, and a topic created
/// meanwhile with a replica on `leaving` is moved too.
pub async fn drain(
    addrs: &[SocketAddr],
    leaving: i32,
    keep: &[i32],
    timeout: Duration,
    rpc_timeout: Duration,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last;
    loop {
        match describe_any(addrs, rpc_timeout).await {
            Ok((addr, view)) => {
                let held = view.replicas_on(leaving);
                if held == 0 && view.reassigning == 0 {
                    return Ok(());
                }
                last = format!(
                    "broker {leaving} still holds {held} replicas; {} reassignments in progress",
                    view.reassigning
                );
                if view.reassigning == 0 {
                    let moves = plan_drain(&view, leaving, keep);
                    tracing::info!(leaving, moves = moves.len(), "draining broker");
                    if let Err(e) = reassign(addr, &moves, rpc_timeout).await {
                        last = e;
                    }
                }
            }
            Err(e) => last = e,
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "draining broker {leaving} did not finish within {} s: {last}",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Spreads replicas over `brokers` ([`plan_rebalance`]), waits up to `timeout` until the
/// reassignments finish, then elects preferred leaders so leadership spreads too. Safe to run
/// again: a balanced cluster gets no moves, only the election.
pub async fn rebalance(
    addrs: &[SocketAddr],
    brokers: &[i32],
    timeout: Duration,
    rpc_timeout: Duration,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pending: Option<Vec<Move>> = None;
    let mut last;
    loop {
        match describe_any(addrs, rpc_timeout).await {
            Ok((addr, view)) => {
                last = format!("{} reassignments in progress", view.reassigning);
                if view.reassigning == 0 {
                    match &pending {
                        // Ours are done once Metadata shows every target (a broker's image may
                        // lag the commit for a moment).
                        Some(moves) => {
                            let done = moves.iter().all(|(t, i, target)| {
                                view.partitions.iter().any(|p| {
                                    &p.topic == t && p.index == *i && same_set(&p.replicas, target)
                                })
                            });
                            if done {
                                return elect_preferred(addr, rpc_timeout).await;
                            }
                            last = "waiting for Metadata to show the moved replicas".into();
                        }
                        None => {
                            let moves = plan_rebalance(&view, brokers);
                            if moves.is_empty() {
                                return elect_preferred(addr, rpc_timeout).await;
                            }
                            tracing::info!(moves = moves.len(), ?brokers, "rebalancing replicas");
                            match reassign(addr, &moves, rpc_timeout).await {
                                Ok(()) => pending = Some(moves),
                                Err(e) => last = e,
                            }
                        }
                    }
                }
            }
            Err(e) => last = e,
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "rebalancing over brokers {brokers:?} did not finish within {} s: {last}",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(topic: &str, index: i32, replicas: &[i32]) -> PartitionInfo {
        PartitionInfo {
            topic: topic.into(),
            index,
            leader: replicas[0],
            replicas: replicas.to_vec(),
            isr: replicas.to_vec(),
        }
    }

    fn view(parts: Vec<PartitionInfo>) -> ClusterView {
        ClusterView {
            brokers: vec![1, 2, 3, 4],
            controller: Some(1),
            partitions: parts,
            reassigning: 0,
        }
    }

    fn apply(v: &mut ClusterView, moves: &[Move]) {
        for (t, i, target) in moves {
            let p = v
                .partitions
                .iter_mut()
                .find(|p| &p.topic == t && p.index == *i)
                .unwrap();
            p.replicas = target.clone();
            p.isr = target.clone();
            p.leader = target[0];
        }
    }

    #[test]
    fn safe_needs_leaders_full_isrs_and_no_reassignment() {
        let mut v = view(vec![part("a", 0, &[1, 2, 3])]);
        assert!(v.safe());
        v.partitions[0].isr = vec![1, 2];
        assert!(!v.safe());
        v.partitions[0].isr = vec![3, 2, 1];
        assert!(v.safe(), "order does not matter");
        v.partitions[0].leader = -1;
        assert!(!v.safe());
        v.partitions[0].leader = 2;
        v.reassigning = 1;
        assert!(!v.safe());
    }

    #[test]
    fn drain_moves_each_replica_to_the_emptiest_kept_broker_in_place() {
        // 4 brokers, RF 3, 8 partitions assigned round-robin.
        let parts: Vec<_> = (0..8)
            .map(|i| {
                let r: Vec<i32> = (0..3).map(|k| ((i + k) % 4) + 1).collect();
                part("t", i, &r)
            })
            .collect();
        let mut v = view(parts);
        let before = v.partitions.clone();
        let moves = plan_drain(&v, 4, &[1, 2, 3]);
        assert_eq!(moves.len(), 6, "every partition with a replica on 4");
        for (_, i, target) in &moves {
            let old = &before[*i as usize].replicas;
            assert!(!target.contains(&4));
            assert_eq!(target.len(), 3);
            for (k, r) in old.iter().enumerate() {
                if *r != 4 {
                    assert_eq!(target[k], *r, "other replicas keep their place");
                }
            }
        }
        apply(&mut v, &moves);
        assert_eq!(v.replicas_on(4), 0);
        // RF 3 over the 3 brokers left: each holds all 8.
        for b in 1..=3 {
            assert_eq!(v.replicas_on(b), 8);
        }
    }

    #[test]
    fn drain_balances_when_there_is_room_and_shrinks_rf_when_there_is_not() {
        // RF 2 on 4 brokers, draining 4 into 1..3: the emptiest wins each time.
        let parts = vec![
            part("t", 0, &[4, 1]),
            part("t", 1, &[4, 2]),
            part("t", 2, &[4, 3]),
            part("t", 3, &[1, 2]),
        ];
        let v = view(parts);
        let moves = plan_drain(&v, 4, &[1, 2, 3]);
        // counts before: 1→2, 2→2, 3→1. p0 [4,1] → 3 (fewest), p1 [4,2] → 1 or 3: 3 has 2, 1 has 2 → 1
        assert_eq!(
            moves,
            vec![
                ("t".into(), 0, vec![3, 1]),
                ("t".into(), 1, vec![1, 2]),
                ("t".into(), 2, vec![2, 3]),
            ]
        );
        // Two brokers left under RF 3: the leaving replica is dropped.
        let v = view(vec![part("t", 0, &[3, 1, 2])]);
        assert_eq!(
            plan_drain(&v, 3, &[1, 2]),
            vec![("t".into(), 0, vec![1, 2])]
        );
    }

    #[test]
    fn rebalance_evens_replicas_and_preferred_leaders_onto_a_new_broker() {
        // 3 brokers, RF 3, 12 partitions: every broker holds 12; broker 4 is new and empty.
        let parts: Vec<_> = (0..12)
            .map(|i| {
                let r: Vec<i32> = (0..3).map(|k| ((i + k) % 3) + 1).collect();
                part("t", i, &r)
            })
            .collect();
        let mut v = view(parts);
        let moves = plan_rebalance(&v, &[1, 2, 3, 4]);
        apply(&mut v, &moves);
        let counts: Vec<usize> = (1..=4).map(|b| v.replicas_on(b)).collect();
        assert_eq!(counts, vec![9, 9, 9, 9], "{moves:?}");
        let firsts: Vec<usize> = (1..=4)
            .map(|b| v.partitions.iter().filter(|p| p.replicas[0] == b).count())
            .collect();
        let (lo, hi) = (firsts.iter().min().unwrap(), firsts.iter().max().unwrap());
        assert!(hi - lo <= 1, "preferred leaders spread: {firsts:?}");
        for p in &v.partitions {
            let mut r = p.replicas.clone();
            r.sort_unstable();
            r.dedup();
            assert_eq!(r.len(), 3, "no duplicate replica: {p:?}");
        }
        // Balanced already: nothing to move.
        assert!(plan_rebalance(&v, &[1, 2, 3, 4]).is_empty());
    }

    #[test]
    fn rebalance_ends_within_one_for_uneven_totals() {
        // 5 partitions RF 3 = 15 replicas over 4 brokers → 4,4,4,3 in some order.
        for n in 1..=7 {
            let parts: Vec<_> = (0..n)
                .map(|i| part("t", i, &[1, 2, 3]))
                .chain(std::iter::once(part("__consumer_offsets", 0, &[2, 3, 1])))
                .collect();
            let mut v = view(parts);
            let moves = plan_rebalance(&v, &[1, 2, 3, 4]);
            apply(&mut v, &moves);
            let counts: Vec<usize> = (1..=4).map(|b| v.replicas_on(b)).collect();
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(hi - lo <= 1, "n={n}: {counts:?}");
        }
    }
}
