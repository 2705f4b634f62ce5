//! The commands that change the image and what applying one answers: [`Command`], [`Reply`],
//! [`PartitionResult`], and [`refuse`], the one way a command says no.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::{BrokerId, BrokerRegistration, PartitionMeta};
use super::security::{
    AclBinding, AclBindingFilter, AclCreationResult, AclDeletionResult, ScramDeletion, ScramResult,
    ScramUpsertion,
};

/// One change to the image. Proposed by brokers (forwarded to the controller) or by the
/// controller itself (fencing), applied in log order on every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Registers (or re-registers after a restart) a broker, fenced. Its existing
    /// assignments are kept; a new incarnation of a broker that was unfenced is fenced first
    /// (same elections as [`Command::FenceBroker`]). Re-registering the same incarnation (a
    /// retried registration) only refreshes its addresses and rack. A negative id is
    /// INVALID_REQUEST.
    RegisterBroker(BrokerRegistration),
    /// Unfences a registered broker whose heartbeat names `incarnation` (ignored with
    /// `Reply::Error(STALE_BROKER_EPOCH)` otherwise); clears `shutting_down`. Partitions left
    /// without a leader whose last ISR member is this broker get it as leader (epoch bump).
    UnfenceBroker {
        /// The broker.
        id: BrokerId,
        /// Its current incarnation.
        incarnation: Uuid,
    },
    /// The controller lost the broker's heartbeats: fence it. For every partition it leads,
    /// elect the first replica (in `replicas` order) that is in the ISR, unfenced and not
    /// shutting down; none → leader = NO_LEADER (the ISR keeps its last member). It leaves
    /// every ISR with other members. Leader and partition epochs bump where anything changed.
    FenceBroker {
        /// The broker.
        id: BrokerId,
    },
    /// Controlled shutdown: mark it `shutting_down`, move each leadership it holds to another
    /// eligible ISR member, and remove it from every ISR that has other members.
    /// Replies [`Reply::ControlledShutdown`] with how many partitions it still leads (those
    /// with no other eligible ISR member); such a leadership moves as soon as an
    /// [`Command::AlterPartition`] brings an eligible member into its ISR. Repeatable.
    BeginControlledShutdown {
        /// The broker.
        id: BrokerId,
    },
    /// Removes a broker from the cluster (scale-in). Refused with `Reply::Error` while any
    /// partition still lists it as a replica.
    UnregisterBroker {
        /// The broker.
        id: BrokerId,
    },
    /// Creates a topic. Replica placement is rack-aware round robin over unfenced brokers
    /// that are not shutting down, deterministic given the image. `replication_factor`
    /// `None` means `min(default_replication_factor, eligible brokers)`; an explicit factor
    /// larger than the eligible brokers is INVALID_REPLICATION_FACTOR. Errors:
    /// TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
    /// INVALID_REPLICA_ASSIGNMENT (explicit assignments naming unknown brokers or duplicates).
    /// Initial leader = first replica, ISR = all replicas, epochs 0. Explicitly assigned
    /// replicas that are fenced or shutting down start outside the ISR and the first eligible
    /// one leads (none eligible: INVALID_REPLICA_ASSIGNMENT); a topic id already in use is
    /// TOPIC_ALREADY_EXISTS; more than [`MAX_PARTITIONS_PER_TOPIC`](super::MAX_PARTITIONS_PER_TOPIC) is INVALID_PARTITIONS.
    CreateTopic {
        /// Topic name (validated by the broker before proposing).
        name: String,
        /// Topic id chosen by the proposer.
        id: Uuid,
        /// Partition count.
        partitions: i32,
        /// Explicit replication factor, or `None` for the default.
        replication_factor: Option<i16>,
        /// Default replication factor of the proposing broker's configuration.
        default_replication_factor: i16,
        /// Explicit assignment per partition (overrides count and factor), if given.
        assignments: Option<Vec<Vec<BrokerId>>>,
        /// Config overrides (validated by the broker).
        configs: BTreeMap<String, String>,
        /// Check only: reply as if created, change nothing.
        validate_only: bool,
    },
    /// Deletes a topic (UNKNOWN_TOPIC_OR_PARTITION if absent).
    DeleteTopic {
        /// Topic name.
        name: String,
    },
    /// Grows a topic to `count` partitions, placed like [`Command::CreateTopic`] with the
    /// topic's current replication factor. Errors: UNKNOWN_TOPIC_OR_PARTITION,
    /// INVALID_PARTITIONS (not larger), INVALID_REPLICATION_FACTOR.
    CreatePartitions {
        /// Topic name.
        name: String,
        /// New total partition count.
        count: i32,
        /// Explicit assignment of the new partitions, if given.
        assignments: Option<Vec<Vec<BrokerId>>>,
        /// Check only.
        validate_only: bool,
    },
    /// Replaces a topic's config overrides.
    SetTopicConfigs {
        /// Topic name.
        name: String,
        /// The complete new set of overrides.
        configs: BTreeMap<String, String>,
    },
    /// Replaces the dynamic cluster-wide broker configs.
    SetBrokerConfigs {
        /// The complete new set.
        configs: BTreeMap<String, String>,
    },
    /// A partition leader changes its ISR (shrink on lag, expand on catch-up). Refused with
    /// NOT_LEADER_OR_FOLLOWER if `leader` is not the leader, FENCED_LEADER_EPOCH if
    /// `leader_epoch` is stale, INVALID_UPDATE_VERSION if `partition_epoch` is not current,
    /// INELIGIBLE_REPLICA if it adds a fenced, shutting-down or unassigned broker, and
    /// INVALID_REQUEST if the ISR would not contain the leader. On success bumps the partition
    /// epoch and replies [`Reply::Partition`] with the new state; completes a reassignment whose
    /// target replicas are now all in the ISR.
    AlterPartition {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The proposing leader.
        leader: BrokerId,
        /// Its leader epoch.
        leader_epoch: i32,
        /// The partition epoch it last saw.
        partition_epoch: i32,
        /// The new ISR.
        isr: Vec<BrokerId>,
    },
    /// ElectLeaders. `preferred`: make `replicas[0]` leader where it is in the ISR and eligible
    /// (ELECTION_NOT_NEEDED if it already leads, PREFERRED_LEADER_NOT_AVAILABLE otherwise).
    /// Unclean (`!preferred`): only partitions without a leader, electing any eligible replica
    /// even outside the ISR (ELIGIBLE_LEADERS_NOT_AVAILABLE if none). `partitions: None` means
    /// every partition, and then partitions that needed no election are left out of the reply.
    /// Replies [`Reply::Partitions`].
    ElectLeaders {
        /// Preferred (true) or unclean (false) election.
        preferred: bool,
        /// Which partitions, or all.
        partitions: Option<Vec<(String, i32)>>,
    },
    /// AlterPartitionReassignments: per partition, a target replica list or `None` to cancel a
    /// reassignment in progress. Starting one sets `replicas` = target then the removed ones,
    /// `adding`/`removing`; it completes (in [`Command::AlterPartition`] or here if already
    /// satisfied) when every target replica is in the ISR: `replicas` = target, the ISR keeps
    /// only targets, and a leader outside the target hands over to the first target replica in
    /// the ISR. Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT
    /// (empty, duplicates, unknown brokers), NO_REASSIGNMENT_IN_PROGRESS (cancel of none),
    /// INVALID_REQUEST (cancel when only added replicas are in the ISR: reverting would be an
    /// unclean election). A new target during a reassignment replaces it, relative to the
    /// current `replicas`. Replies [`Reply::Partitions`].
    AlterReassignments {
        /// `(topic, partition, target or cancel)`.
        entries: Vec<(String, i32, Option<Vec<BrokerId>>)>,
    },
    /// Hands out the next [`PRODUCER_ID_BLOCK`](super::PRODUCER_ID_BLOCK) producer ids: [`Reply::ProducerIds`].
    AllocateProducerIds {
        /// The asking broker (for logs).
        broker: BrokerId,
    },
    /// AlterUserScramCredentials, as Kafka's `ScramControlManager`: changes are per user,
    /// deletions then upsertions; a user named twice in one request (whatever the mechanisms)
    /// is DUPLICATE_RESOURCE and none of its changes apply. Per user: UNACCEPTABLE_CREDENTIAL
    /// (empty name; iterations outside
    /// [`SCRAM_MIN_ITERATIONS`](super::SCRAM_MIN_ITERATIONS)`..=`[`SCRAM_MAX_ITERATIONS`](super::SCRAM_MAX_ITERATIONS)),
    /// UNSUPPORTED_SASL_MECHANISM (a mechanism other than 1 or 2), RESOURCE_NOT_FOUND
    /// (deleting a credential that does not exist). The other users' changes apply.
    /// Replies [`Reply::ScramResults`], one per user in first-seen order.
    AlterScramCredentials {
        /// Credentials to set.
        upsertions: Vec<ScramUpsertion>,
        /// Credentials to remove.
        deletions: Vec<ScramDeletion>,
    },
    /// CreateAcls: stores each valid binding (an existing one succeeds unchanged); an invalid
    /// one (ANY, MATCH or UNKNOWN codes, empty resource name, a CLUSTER resource not named
    /// `kafka-cluster`, a principal without `Type:`) is INVALID_REQUEST. Replies
    /// [`Reply::AclsCreated`], one per binding.
    CreateAcls {
        /// The bindings.
        bindings: Vec<AclBinding>,
    },
    /// DeleteAcls: removes what each filter matches (a filter with an UNKNOWN code is
    /// INVALID_REQUEST). Replies [`Reply::AclsDeleted`], one per filter, with the bindings it
    /// removed.
    DeleteAcls {
        /// The filters.
        filters: Vec<AclBindingFilter>,
    },
}

/// Outcome for one partition of a multi-partition command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionResult {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Kafka error code, 0 for success.
    pub error_code: i16,
}

/// What applying a command answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// Applied.
    Ok,
    /// Refused; nothing changed.
    Error {
        /// Kafka error code.
        code: i16,
        /// Human-readable reason.
        message: String,
    },
    /// The partition's state after [`Command::AlterPartition`].
    Partition(PartitionMeta),
    /// Per-partition outcomes.
    Partitions(Vec<PartitionResult>),
    /// Partitions the broker still leads after [`Command::BeginControlledShutdown`].
    ControlledShutdown {
        /// Leaderships that could not be moved.
        remaining_leaderships: usize,
    },
    /// `[first, first + count)` is this broker's to hand out.
    ProducerIds {
        /// First id of the block.
        first: i64,
        /// Ids in the block.
        count: i64,
    },
    /// Per-user outcomes of [`Command::AlterScramCredentials`].
    ScramResults(Vec<ScramResult>),
    /// Per-binding outcomes of [`Command::CreateAcls`].
    AclsCreated(Vec<AclCreationResult>),
    /// Per-filter outcomes of [`Command::DeleteAcls`].
    AclsDeleted(Vec<AclDeletionResult>),
}

/// A refusal with Kafka's code for `error`.
pub(super) fn refuse(error: ResponseError, message: impl Into<String>) -> Reply {
    Reply::Error {
        code: error.code(),
        message: message.into(),
    }
}
