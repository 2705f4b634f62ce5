//! Who may lead a partition: the first eligible ISR member in `replicas` order (so the
//! preferred leader wins whenever it can), and handing leadership away from a broker that is
//! going. Clean rules only; the unclean election of ElectLeaders is in `election`.

use std::collections::BTreeMap;

use super::model::is_eligible;
use super::{BrokerId, BrokerRegistration, PartitionMeta, NO_LEADER};

type Brokers = BTreeMap<BrokerId, BrokerRegistration>;

/// The first replica (preferred order) that is in the ISR and eligible, or [`NO_LEADER`].
pub(crate) fn pick_leader(brokers: &Brokers, p: &PartitionMeta) -> BrokerId {
    p.replicas
        .iter()
        .copied()
        .find(|&r| p.isr.contains(&r) && is_eligible(brokers, r))
        .unwrap_or(NO_LEADER)
}

/// Gives a partition whose leader is gone from the ISR (or that has none) a clean leader if
/// one exists.
pub(crate) fn ensure_leader(brokers: &Brokers, p: &mut PartitionMeta) {
    if p.leader != NO_LEADER && p.isr.contains(&p.leader) {
        return;
    }
    p.leader = pick_leader(brokers, p);
}

/// Takes leadership and ISR membership away from `id`, which has just become ineligible.
///
/// A leadership with no eligible successor stays with `id` if `keep_stranded` (controlled
/// shutdown: the broker is still serving and retries) and otherwise goes to [`NO_LEADER`]
/// (fencing: the broker is gone). `id` leaves the ISR only where others remain, so the last
/// in-sync replica is remembered and unclean election stays off.
pub(crate) fn hand_off(
    brokers: &Brokers,
    p: &mut PartitionMeta,
    id: BrokerId,
    keep_stranded: bool,
) {
    if p.leader == id {
        let next = pick_leader(brokers, p);
        if next != NO_LEADER || !keep_stranded {
            p.leader = next;
        }
    }
    if p.leader != id && p.isr.len() > 1 {
        p.isr.retain(|&r| r != id);
    }
}
