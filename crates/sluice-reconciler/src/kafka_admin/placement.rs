//! Where replicas go, as pure functions of what Metadata showed: the cluster view and its
//! rolling-restart gate ([`ClusterView::safe`]), and the drain and rebalance plans. They weigh
//! partitions, not bytes: Metadata carries no sizes.

use std::collections::BTreeMap;

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

pub(crate) fn same_set(a: &[i32], b: &[i32]) -> bool {
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
