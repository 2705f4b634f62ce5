//! The metadata image and the commands that change it: a pure, deterministic state machine.
//!
//! Kafka error codes in [`Reply::Error`] and [`PartitionResult`] are the codes Kafka's controller
//! returns for the same request (see `kafka_protocol::error::ResponseError`).
//!
//! This file only dispatches ([`MetadataImage::apply`]); what the image holds is in `model`, the
//! commands and replies in `command`, and each command's rules in a module of its own, over
//! the shared rules of `leadership` (who may lead) and `settle` (what follows any ISR or
//! replica change). No module imports from one that imports it.

mod acls;
mod brokers;
mod cluster;
mod command;
mod election;
mod isr;
mod leadership;
mod model;
mod placement;
mod reassign;
mod scram;
mod security;
mod settle;
#[cfg(test)]
mod tests;
mod topics;
mod transition;

pub use acls::AclDelta;
pub use command::{Command, PartitionResult, Reply};
pub use model::{
    BrokerEndpoint, BrokerId, BrokerRegistration, MetadataImage, PartitionMeta, TopicMeta,
    MAX_PARTITIONS_PER_TOPIC, NO_LEADER, PRODUCER_ID_BLOCK,
};
pub use security::{
    operation, pattern_type, permission, resource_type, AclBinding, AclBindingFilter,
    AclCreationResult, AclDeletionResult, ScramCredential, ScramDeletion, ScramResult,
    ScramUpsertion, CLUSTER_RESOURCE_NAME, SCRAM_MAX_ITERATIONS, SCRAM_MIN_ITERATIONS,
    SCRAM_SHA_256, SCRAM_SHA_512, WILDCARD_RESOURCE,
};

impl MetadataImage {
    /// Applies one committed command at log index `index`; deterministic, never panics on any
    /// input (bad commands are refused with [`Reply::Error`], changing nothing).
    pub fn apply(&mut self, index: u64, command: &Command) -> Reply {
        self.applied_index = index;
        match command {
            Command::RegisterBroker(registration) => self.register_broker(registration),
            Command::UnfenceBroker { id, incarnation } => self.unfence_broker(*id, *incarnation),
            Command::FenceBroker { id } => self.fence_broker(*id),
            Command::BeginControlledShutdown { id } => self.begin_controlled_shutdown(*id),
            Command::UnregisterBroker { id } => self.unregister_broker(*id),
            Command::CreateTopic {
                name,
                id,
                partitions,
                replication_factor,
                default_replication_factor,
                assignments,
                configs,
                validate_only,
            } => self.create_topic(topics::NewTopic {
                name,
                id: *id,
                partitions: *partitions,
                replication_factor: *replication_factor,
                default_replication_factor: *default_replication_factor,
                assignments: assignments.as_deref(),
                configs,
                validate_only: *validate_only,
            }),
            Command::DeleteTopic { name } => self.delete_topic(name),
            Command::CreatePartitions {
                name,
                count,
                assignments,
                validate_only,
            } => self.create_partitions(name, *count, assignments.as_deref(), *validate_only),
            Command::SetTopicConfigs { name, configs } => self.set_topic_configs(name, configs),
            Command::SetBrokerConfigs { configs } => self.set_broker_configs(configs),
            Command::AlterPartition {
                topic,
                partition,
                leader,
                leader_epoch,
                partition_epoch,
                isr,
            } => self.alter_partition(isr::IsrUpdate {
                topic,
                partition: *partition,
                leader: *leader,
                leader_epoch: *leader_epoch,
                partition_epoch: *partition_epoch,
                isr,
            }),
            Command::ElectLeaders {
                preferred,
                partitions,
            } => self.elect_leaders(*preferred, partitions.as_deref()),
            Command::AlterReassignments { entries } => self.alter_reassignments(entries),
            Command::AllocateProducerIds { broker } => self.allocate_producer_ids(*broker),
            Command::AlterScramCredentials {
                upsertions,
                deletions,
            } => self.alter_scram_credentials(upsertions, deletions),
            Command::CreateAcls { bindings } => self.create_acls(bindings),
            Command::DeleteAcls { filters } => self.delete_acls(filters),
        }
    }
}
