//! What is owed after any change of a partition's ISR or replicas, whichever command made it:
//! completing a reassignment whose targets are all in sync, and moving leadership off a
//! shutting-down leader as soon as someone can take it.

use std::collections::BTreeMap;

use super::leadership::{ensure_leader, hand_off};
use super::model::is_eligible;
use super::{BrokerId, BrokerRegistration, PartitionMeta, NO_LEADER};

type Brokers = BTreeMap<BrokerId, BrokerRegistration>;

/// Follow-ups owed after any change of a partition's ISR or replicas: finish a reassignment
/// whose targets are all in sync, and move leadership off a shutting-down leader as soon as
/// someone can take it (what its controlled shutdown is waiting for).
pub(crate) fn settle(brokers: &Brokers, p: &mut PartitionMeta) {
    complete_if_satisfied(brokers, p);
    if p.leader != NO_LEADER && !is_eligible(brokers, p.leader) {
        let leader = p.leader;
        hand_off(brokers, p, leader, true);
    }
}

/// Finishes the reassignment in progress if every target replica is in the ISR: the partition
/// keeps only its targets, and a leader outside them hands over to the first target in sync.
fn complete_if_satisfied(brokers: &Brokers, p: &mut PartitionMeta) {
    if p.adding.is_empty() && p.removing.is_empty() {
        return;
    }
    let target: Vec<BrokerId> = p
        .replicas
        .iter()
        .copied()
        .filter(|r| !p.removing.contains(r))
        .collect();
    if target.is_empty() || !target.iter().all(|r| p.isr.contains(r)) {
        return;
    }
    p.isr.retain(|r| target.contains(r));
    p.replicas = target;
    p.adding.clear();
    p.removing.clear();
    if !p.replicas.contains(&p.leader) {
        p.leader = NO_LEADER;
    }
    ensure_leader(brokers, p);
}
