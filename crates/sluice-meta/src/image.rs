//! The metadata image and the commands that change it: a pure, deterministic state machine.
//!
//! Kafka error codes in [`Reply::Error`] and [`PartitionResult`] are the codes Kafka's controller
//! returns for the same request (see `kafka_protocol::error::ResponseError`).

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod brokers;
mod cluster;
mod election;
mod isr;
mod placement;
mod reassign;
#[cfg(test)]
mod tests;
mod topics;
mod transition;

/// A broker's `node.id`.
pub type BrokerId = i32;

/// "No leader" in [`PartitionMeta::leader`], as in Kafka's metadata.
pub const NO_LEADER: BrokerId = -1;

/// Size of a producer-id block handed to a broker by [`Command::AllocateProducerIds`].
pub const PRODUCER_ID_BLOCK: i64 = 1000;

/// Most partitions one topic may have. The image lives in memory on every broker, so a single
/// typo'd CreateTopics/CreatePartitions must not be able to allocate it into the ground.
pub const MAX_PARTITIONS_PER_TOPIC: i32 = 100_000;

/// A broker known to the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    /// `node.id`.
    pub id: BrokerId,
    /// Advertised Kafka host clients connect to.
    pub host: String,
    /// Advertised Kafka port.
    pub port: i32,
    /// `broker.rack`, for rack-aware placement and Metadata responses.
    pub rack: Option<String>,
    /// `host:port` of the broker's admin listener, where metadata RPCs are served.
    pub rpc_addr: String,
    /// Changes on every process start, so the controller tells a restarted broker from the
    /// process it fenced.
    pub incarnation: Uuid,
    /// Fenced brokers lead nothing and are in no ISR (see the crate invariants). A broker is
    /// registered fenced and unfenced by the controller once it heartbeats.
    pub fenced: bool,
    /// Set by controlled shutdown: leadership moves away and nothing new is placed here.
    pub shutting_down: bool,
}

/// One partition's replication state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PartitionMeta {
    /// Assigned replicas, preferred leader first. During a reassignment: target replicas
    /// first, then the ones being removed.
    pub replicas: Vec<BrokerId>,
    /// In-sync replicas (a subset of `replicas`, never empty once created).
    pub isr: Vec<BrokerId>,
    /// Current leader or [`NO_LEADER`].
    pub leader: BrokerId,
    /// Bumped on every leader change (Kafka's leader epoch, stamped on batches).
    pub leader_epoch: i32,
    /// Bumped on every change of this partition (leader, ISR, replicas); a leader's
    /// [`Command::AlterPartition`] must name the current one.
    pub partition_epoch: i32,
    /// Replicas being added by a reassignment (in `replicas`, not yet in the ISR).
    pub adding: Vec<BrokerId>,
    /// Replicas being removed by a reassignment (in `replicas` until it completes).
    pub removing: Vec<BrokerId>,
}

/// A topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMeta {
    /// Topic id (Metadata v10+).
    pub id: Uuid,
    /// Topic config overrides, Kafka names.
    pub configs: BTreeMap<String, String>,
    /// Partitions by index.
    pub partitions: Vec<PartitionMeta>,
}

/// Everything the brokers agree on. Cloned into an `Arc` after every apply and published to
/// the broker through a watch channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MetadataImage {
    /// Raft log index of the last applied command (0 before any).
    pub applied_index: u64,
    /// Registered brokers.
    pub brokers: BTreeMap<BrokerId, BrokerRegistration>,
    /// Topics by name.
    pub topics: BTreeMap<String, TopicMeta>,
    /// Dynamic cluster-wide broker configs (AlterConfigs on the default broker resource).
    pub broker_configs: BTreeMap<String, String>,
    /// First producer id not yet handed out.
    pub next_producer_id: i64,
}

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
    /// TOPIC_ALREADY_EXISTS; more than [`MAX_PARTITIONS_PER_TOPIC`] is INVALID_PARTITIONS.
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
    /// Hands out the next [`PRODUCER_ID_BLOCK`] producer ids: [`Reply::ProducerIds`].
    AllocateProducerIds {
        /// The asking broker (for logs).
        broker: BrokerId,
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
}

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
        }
    }

    /// A partition's state.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionMeta> {
        self.topics.get(topic).and_then(|t| {
            usize::try_from(partition)
                .ok()
                .and_then(|i| t.partitions.get(i))
        })
    }

    /// Whether a broker can lead or join an ISR: registered, unfenced, not shutting down.
    pub fn eligible(&self, id: BrokerId) -> bool {
        is_eligible(&self.brokers, id)
    }

    /// Partitions whose ISR is smaller than their replica set (what a rolling restart waits on).
    pub fn under_replicated(&self) -> Vec<(String, i32)> {
        self.topics
            .iter()
            .flat_map(|(name, t)| {
                t.partitions
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.isr.len() < p.replicas.len())
                    .map(move |(i, _)| (name.clone(), i as i32))
            })
            .collect()
    }
}

/// [`MetadataImage::eligible`] over just the broker map, for code that holds the topics mutably.
fn is_eligible(brokers: &BTreeMap<BrokerId, BrokerRegistration>, id: BrokerId) -> bool {
    brokers
        .get(&id)
        .is_some_and(|b| !b.fenced && !b.shutting_down)
}

/// A refusal with Kafka's code for `error`.
fn refuse(error: ResponseError, message: impl Into<String>) -> Reply {
    Reply::Error {
        code: error.code(),
        message: message.into(),
    }
}

/// Mutable access to one partition without borrowing the rest of the image, so callers can
/// keep reading `brokers` while changing it.
fn partition_mut<'a>(
    topics: &'a mut BTreeMap<String, TopicMeta>,
    topic: &str,
    partition: i32,
) -> Option<&'a mut PartitionMeta> {
    let index = usize::try_from(partition).ok()?;
    topics.get_mut(topic)?.partitions.get_mut(index)
}
