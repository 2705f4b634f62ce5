//! Partition reassignment: start, complete, cancel.
//!
//! While one runs, `replicas` is the target followed by the replicas being removed, `adding`
//! the replicas new to the partition and `removing` the ones leaving. It completes as soon as
//! every target replica is in the ISR, whichever command put them there (`settle`).

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

use super::leadership::ensure_leader;
use super::model::partition_mut;
use super::placement::check_assignment;
use super::settle::settle;
use super::{BrokerId, BrokerRegistration, MetadataImage, PartitionMeta, PartitionResult, Reply};

type Brokers = BTreeMap<BrokerId, BrokerRegistration>;

impl MetadataImage {
    /// [`super::Command::AlterReassignments`].
    pub(super) fn alter_reassignments(
        &mut self,
        entries: &[(String, i32, Option<Vec<BrokerId>>)],
    ) -> Reply {
        let results = entries
            .iter()
            .map(|(topic, partition, target)| {
                let brokers = &self.brokers;
                let error = match partition_mut(&mut self.topics, topic, *partition) {
                    None => Some(ResponseError::UnknownTopicOrPartition),
                    Some(p) => match target {
                        Some(target) => start(brokers, p, target),
                        None => cancel(brokers, p),
                    },
                };
                PartitionResult {
                    topic: topic.clone(),
                    partition: *partition,
                    error_code: error.map_or(0, |e| e.code()),
                }
            })
            .collect();
        Reply::Partitions(results)
    }
}

/// Starts (or replaces) a reassignment towards `target`, relative to the full current replica
/// list as Kafka does: replicas an earlier reassignment was adding and `target` drops are
/// removed like any other.
fn start(brokers: &Brokers, p: &mut PartitionMeta, target: &[BrokerId]) -> Option<ResponseError> {
    if check_assignment(brokers, target).is_err() {
        return Some(ResponseError::InvalidReplicaAssignment);
    }
    let removing: Vec<BrokerId> = p
        .replicas
        .iter()
        .copied()
        .filter(|r| !target.contains(r))
        .collect();
    let adding: Vec<BrokerId> = target
        .iter()
        .copied()
        .filter(|r| !p.replicas.contains(r))
        .collect();
    p.update(false, |p| {
        p.replicas = target.iter().chain(&removing).copied().collect();
        p.adding = adding;
        p.removing = removing;
        settle(brokers, p);
    });
    None
}

/// Cancels the reassignment in progress: back to the replicas it started from (`replicas`
/// minus `adding`, so in the current order), with the ISR cut to them.
fn cancel(brokers: &Brokers, p: &mut PartitionMeta) -> Option<ResponseError> {
    if p.adding.is_empty() && p.removing.is_empty() {
        return Some(ResponseError::NoReassignmentInProgress);
    }
    let original: Vec<BrokerId> = p
        .replicas
        .iter()
        .copied()
        .filter(|r| !p.adding.contains(r))
        .collect();
    let isr: Vec<BrokerId> = p
        .isr
        .iter()
        .copied()
        .filter(|r| original.contains(r))
        .collect();
    if isr.is_empty() {
        // Only new replicas are in sync: reverting would leave no in-sync replica, i.e. an
        // unclean election nobody asked for. The operator can reassign to a target instead.
        return Some(ResponseError::InvalidRequest);
    }
    p.update(false, |p| {
        p.replicas = original;
        p.isr = isr;
        p.adding.clear();
        p.removing.clear();
        ensure_leader(brokers, p);
        settle(brokers, p);
    });
    None
}
