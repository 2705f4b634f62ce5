//! The ElectLeaders command: preferred and unclean elections. Who may lead (and handing
//! leadership away from a broker that is going) is `leadership`.
//!
//! Clean elections only ever pick an eligible ISR member, first in `replicas` order so the
//! preferred leader wins whenever it can; only an explicit unclean ElectLeaders looks outside
//! the ISR.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

use super::leadership::pick_leader;
use super::model::{is_eligible, partition_mut};
use super::settle::settle;
use super::{
    BrokerId, BrokerRegistration, MetadataImage, PartitionMeta, PartitionResult, Reply, NO_LEADER,
};

type Brokers = BTreeMap<BrokerId, BrokerRegistration>;

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
