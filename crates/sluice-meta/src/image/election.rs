//! Leader election: who may lead a partition, handing leadership away from a broker that is
//! going, and the ElectLeaders command.
//!
//! Clean elections only ever pick an eligible ISR member, first in `replicas` order so the
//! preferred leader wins whenever it can; only an explicit unclean ElectLeaders looks outside
//! the ISR.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

use super::{
    is_eligible, partition_mut, reassign, BrokerId, BrokerRegistration, MetadataImage,
    PartitionMeta, PartitionResult, Reply, NO_LEADER,
};

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

/// Follow-ups owed after any change of a partition's ISR or replicas: finish a reassignment
/// whose targets are all in sync, and move leadership off a shutting-down leader as soon as
/// someone can take it (what its controlled shutdown is waiting for).
pub(crate) fn settle(brokers: &Brokers, p: &mut PartitionMeta) {
    reassign::complete_if_satisfied(brokers, p);
    if p.leader != NO_LEADER && !is_eligible(brokers, p.leader) {
        let leader = p.leader;
        hand_off(brokers, p, leader, true);
    }
}

impl MetadataImage {
    /// [`super::Command::ElectLeaders`].
    pub(super) fn elect_leaders(
        &mut self,
        preferred: bool,
        partitions: Option<&[(String, i32)]>,
    ) -> Reply {
        let explicit = partitions.is_some();
        let targets: Vec<(String, i32)> = match partitions {
            Some(list) => list.to_vec(),
            None => self
                .topics
                .iter()
                .flat_map(|(name, t)| {
                    (0..t.partitions.len()).map(move |i| (name.clone(), i as i32))
                })
                .collect(),
        };
        let mut results = Vec::with_capacity(targets.len());
        for (topic, partition) in targets {
            let brokers = &self.brokers;
            let error = match partition_mut(&mut self.topics, &topic, partition) {
                None => Some(ResponseError::UnknownTopicOrPartition),
                Some(p) if preferred => elect_preferred(brokers, p),
                Some(p) => elect_unclean(brokers, p),
            };
            // Kafka leaves partitions that needed nothing out of an "elect everything" answer,
            // which would otherwise list the whole cluster.
            if !explicit && error == Some(ResponseError::ElectionNotNeeded) {
                continue;
            }
            results.push(PartitionResult {
                topic,
                partition,
                error_code: error.map_or(0, |e| e.code()),
            });
        }
        Reply::Partitions(results)
    }
}

/// Moves leadership to `replicas[0]` if it is in sync and eligible.
fn elect_preferred(brokers: &Brokers, p: &mut PartitionMeta) -> Option<ResponseError> {
    let Some(&preferred) = p.replicas.first() else {
        return Some(ResponseError::PreferredLeaderNotAvailable);
    };
    if p.leader == preferred {
        return Some(ResponseError::ElectionNotNeeded);
    }
    if !p.isr.contains(&preferred) || !is_eligible(brokers, preferred) {
        return Some(ResponseError::PreferredLeaderNotAvailable);
    }
    p.update(false, |p| p.leader = preferred);
    None
}

/// Gives a leaderless partition a leader: an eligible ISR member if there is one, otherwise
/// any eligible replica, accepting the loss of whatever only the old ISR had.
fn elect_unclean(brokers: &Brokers, p: &mut PartitionMeta) -> Option<ResponseError> {
    if p.leader != NO_LEADER {
        return Some(ResponseError::ElectionNotNeeded);
    }
    let clean = pick_leader(brokers, p);
    let leader = if clean != NO_LEADER {
        clean
    } else {
        match p
            .replicas
            .iter()
            .copied()
            .find(|&r| is_eligible(brokers, r))
        {
            Some(r) => r,
            None => return Some(ResponseError::EligibleLeadersNotAvailable),
        }
    };
    p.update(false, |p| {
        p.leader = leader;
        if !p.isr.contains(&leader) {
            // The old ISR's data is what is being given up: the new leader's log is the truth.
            p.isr = vec![leader];
        }
        settle(brokers, p);
    });
    None
}
