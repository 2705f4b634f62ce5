//! AlterPartition: a partition leader shrinking or expanding its ISR.
//!
//! Every check runs before anything changes, so a refused update leaves the partition exactly
//! as the leader last saw it and its retry (with refreshed epochs) starts from a clean slate.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;

use super::command::refuse;
use super::model::{is_eligible, partition_mut};
use super::settle::settle;
use super::{BrokerId, MetadataImage, PartitionMeta, Reply, NO_LEADER};

/// The fields of [`super::Command::AlterPartition`], borrowed.
pub(crate) struct IsrUpdate<'a> {
    pub(crate) topic: &'a str,
    pub(crate) partition: i32,
    pub(crate) leader: BrokerId,
    pub(crate) leader_epoch: i32,
    pub(crate) partition_epoch: i32,
    pub(crate) isr: &'a [BrokerId],
}

impl MetadataImage {
    /// [`super::Command::AlterPartition`].
    pub(super) fn alter_partition(&mut self, update: IsrUpdate<'_>) -> Reply {
        let brokers = &self.brokers;
        let Some(p) = partition_mut(&mut self.topics, update.topic, update.partition) else {
            return refuse(
                ResponseError::UnknownTopicOrPartition,
                format!("{}-{} does not exist", update.topic, update.partition),
            );
        };
        if let Err(reply) = validate(p, &update, |id| is_eligible(brokers, id)) {
            return reply;
        }
        p.update(true, |p| {
            p.isr = update.isr.to_vec();
            settle(brokers, p);
        });
        Reply::Partition(p.clone())
    }
}

fn validate(
    p: &PartitionMeta,
    update: &IsrUpdate<'_>,
    eligible: impl Fn(BrokerId) -> bool,
) -> Result<(), Reply> {
    let name = format!("{}-{}", update.topic, update.partition);
    if p.leader == NO_LEADER || update.leader != p.leader {
        return Err(refuse(
            ResponseError::NotLeaderOrFollower,
            format!(
                "broker {} does not lead {name} (leader is {})",
                update.leader, p.leader
            ),
        ));
    }
    if update.leader_epoch < p.leader_epoch {
        return Err(refuse(
            ResponseError::FencedLeaderEpoch,
            format!(
                "leader epoch {} of {name} is stale (current {})",
                update.leader_epoch, p.leader_epoch
            ),
        ));
    }
    if update.leader_epoch > p.leader_epoch {
        // The proposer has seen an election this log has not: it cannot be this log's leader.
        return Err(refuse(
            ResponseError::NotLeaderOrFollower,
            format!(
                "leader epoch {} of {name} is ahead of the current {}",
                update.leader_epoch, p.leader_epoch
            ),
        ));
    }
    if update.partition_epoch != p.partition_epoch {
        return Err(refuse(
            ResponseError::InvalidUpdateVersion,
            format!(
                "partition epoch {} of {name} is not the current {}",
                update.partition_epoch, p.partition_epoch
            ),
        ));
    }
    if !update.isr.contains(&update.leader) {
        return Err(refuse(
            ResponseError::InvalidRequest,
            format!(
                "the new ISR of {name} does not contain its leader {}",
                update.leader
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for &r in update.isr {
        if !seen.insert(r) {
            return Err(refuse(
                ResponseError::InvalidRequest,
                format!("the new ISR of {name} lists broker {r} twice"),
            ));
        }
        if !p.replicas.contains(&r) {
            return Err(refuse(
                ResponseError::IneligibleReplica,
                format!("broker {r} is not a replica of {name}"),
            ));
        }
        // Members already in sync may stay (the leader itself may be shutting down); only
        // additions must be able to serve.
        if !p.isr.contains(&r) && !eligible(r) {
            return Err(refuse(
                ResponseError::IneligibleReplica,
                format!("broker {r} is fenced, shutting down or unregistered and cannot join the ISR of {name}"),
            ));
        }
    }
    Ok(())
}
