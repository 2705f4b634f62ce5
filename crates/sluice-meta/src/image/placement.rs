//! Replica placement for new partitions: rack-aware round robin, like Kafka's.
//!
//! Eligible brokers are laid out in a rack-alternating ring (first broker of each rack, then
//! the second of each, ...). Partition `p` starts at ring position `start + p`, so leaders
//! (the first replica) of a topic's partitions go round the brokers evenly, and its followers
//! are the next brokers on the ring, skipping racks that already hold a replica while some
//! rack holds none.

use std::collections::{BTreeMap, BTreeSet};

use super::model::is_eligible;
use super::{BrokerId, BrokerRegistration, PartitionMeta};

type Brokers = BTreeMap<BrokerId, BrokerRegistration>;

/// One slot of the placement ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot<'a> {
    /// The broker.
    pub(crate) id: BrokerId,
    /// Its rack; brokers without one share the `None` rack.
    pub(crate) rack: Option<&'a str>,
}

/// Eligible brokers in rack-alternating order: racks by name (no rack first), brokers by id.
pub(crate) fn ring(brokers: &Brokers) -> Vec<Slot<'_>> {
    let mut by_rack: BTreeMap<Option<&str>, Vec<BrokerId>> = BTreeMap::new();
    for (&id, b) in brokers {
        if is_eligible(brokers, id) {
            by_rack.entry(b.rack.as_deref()).or_default().push(id);
        }
    }
    let deepest = by_rack.values().map(Vec::len).max().unwrap_or(0);
    let mut ring = Vec::new();
    for round in 0..deepest {
        for (rack, ids) in &by_rack {
            if let Some(&id) = ids.get(round) {
                ring.push(Slot { id, rack: *rack });
            }
        }
    }
    ring
}

/// Replica lists for partitions `first_partition .. first_partition + count` of a topic whose
/// partition 0 starts at ring position `start`. `replication_factor` is clamped to the ring.
pub(crate) fn place(
    ring: &[Slot<'_>],
    start: usize,
    first_partition: usize,
    count: usize,
    replication_factor: usize,
) -> Vec<Vec<BrokerId>> {
    let n = ring.len();
    if n == 0 {
        return Vec::new();
    }
    let rf = replication_factor.clamp(1, n);
    let racks = ring.iter().map(|s| s.rack).collect::<BTreeSet<_>>().len();
    (first_partition..first_partition.saturating_add(count))
        .map(|p| {
            let head = (start % n + p % n) % n;
            let mut chosen = vec![ring[head].id];
            let mut used_racks = BTreeSet::from([ring[head].rack]);
            // First pass: a new rack for each replica until every rack has one.
            for k in 1..n {
                if chosen.len() == rf {
                    break;
                }
                let slot = &ring[(head + k) % n];
                if used_racks.contains(&slot.rack) && used_racks.len() < racks {
                    continue;
                }
                chosen.push(slot.id);
                used_racks.insert(slot.rack);
            }
            // Second pass: fill from whatever the first skipped, still in ring order.
            for k in 1..n {
                if chosen.len() == rf {
                    break;
                }
                let id = ring[(head + k) % n].id;
                if !chosen.contains(&id) {
                    chosen.push(id);
                }
            }
            chosen
        })
        .collect()
}

/// Why an explicit replica list is unusable, if it is: empty, a broker twice, or a broker that
/// is not registered.
pub(crate) fn check_assignment(brokers: &Brokers, replicas: &[BrokerId]) -> Result<(), String> {
    if replicas.is_empty() {
        return Err("empty replica list".into());
    }
    let mut seen = BTreeSet::new();
    for &r in replicas {
        if !seen.insert(r) {
            return Err(format!("broker {r} is listed twice"));
        }
        if !brokers.contains_key(&r) {
            return Err(format!("broker {r} is not registered"));
        }
    }
    Ok(())
}

/// A new partition on `replicas`. Replicas that cannot serve yet (fenced, shutting down; only
/// possible with an explicit assignment) stay out of the ISR so the fencing invariant holds;
/// the first one that can serve leads. `None` if none can.
pub(crate) fn new_partition(brokers: &Brokers, replicas: &[BrokerId]) -> Option<PartitionMeta> {
    let isr: Vec<BrokerId> = replicas
        .iter()
        .copied()
        .filter(|&r| is_eligible(brokers, r))
        .collect();
    Some(PartitionMeta {
        replicas: replicas.to_vec(),
        leader: *isr.first()?,
        isr,
        leader_epoch: 0,
        partition_epoch: 0,
        adding: Vec::new(),
        removing: Vec::new(),
    })
}
