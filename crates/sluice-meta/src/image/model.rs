//! The image's data: [`MetadataImage`] and what it holds (brokers, topics, partitions), its
//! read-only queries, and the helpers every command shares to look at it (eligibility,
//! mutable access to one partition). Changes come only through [`MetadataImage::apply`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::security::{AclBinding, ScramCredential};

/// A broker's `node.id`.
pub type BrokerId = i32;

/// "No leader" in [`PartitionMeta::leader`], as in Kafka's metadata.
pub const NO_LEADER: BrokerId = -1;

/// Size of a producer-id block handed to a broker by [`Command::AllocateProducerIds`](super::Command::AllocateProducerIds).
pub const PRODUCER_ID_BLOCK: i64 = 1000;

/// Most partitions one topic may have. The image lives in memory on every broker, so a single
/// typo'd CreateTopics/CreatePartitions must not be able to allocate it into the ground.
pub const MAX_PARTITIONS_PER_TOPIC: i32 = 100_000;

/// A broker known to the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    /// `node.id`.
    pub id: BrokerId,
    /// Advertised Kafka host of the inter-broker listener (followers connect there).
    pub host: String,
    /// Advertised Kafka port of the inter-broker listener.
    pub port: i32,
    /// Every listener's advertised endpoint: Metadata and FindCoordinator answer a client with
    /// the endpoints of the listener it connected to. Empty in registrations written before
    /// named listeners (then `host`/`port` serve every listener).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<BrokerEndpoint>,
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

/// One listener of a broker as clients reach it (Kafka's `Endpoint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerEndpoint {
    /// Listener name, upper case (`PLAINTEXT`, `SSL`, `INTERNAL`, ...).
    pub name: String,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub security_protocol: String,
}

impl BrokerRegistration {
    /// `(host, port)` of the listener named `listener`; `None` if this broker has no such
    /// listener. A registration without listeners (written before they existed) answers with
    /// its one address.
    pub fn endpoint(&self, listener: &str) -> Option<(&str, i32)> {
        if self.listeners.is_empty() {
            return Some((&self.host, self.port));
        }
        self.listeners
            .iter()
            .find(|e| e.name == listener)
            .map(|e| (e.host.as_str(), e.port))
    }
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
    /// [`Command::AlterPartition`](super::Command::AlterPartition) must name the current one.
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
    /// SCRAM credentials: user → mechanism code → credential (AlterUserScramCredentials).
    /// Absent from snapshots written before it existed.
    #[serde(default)]
    pub scram: BTreeMap<String, BTreeMap<i8, ScramCredential>>,
    /// Bumped by every command that changes [`MetadataImage::scram`].
    #[serde(default)]
    pub scram_version: u64,
    /// ACL bindings (CreateAcls, DeleteAcls), each stored once.
    #[serde(default)]
    pub acls: BTreeSet<AclBinding>,
    /// Bumped by every command that changes [`MetadataImage::acls`]: a broker keeping an
    /// authorizer index compares it with the version it indexed and applies
    /// [`MetadataImage::acl_delta`] only when it moved.
    #[serde(default)]
    pub acl_version: u64,
}

impl MetadataImage {
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
pub(super) fn is_eligible(brokers: &BTreeMap<BrokerId, BrokerRegistration>, id: BrokerId) -> bool {
    brokers
        .get(&id)
        .is_some_and(|b| !b.fenced && !b.shutting_down)
}

/// Mutable access to one partition without borrowing the rest of the image, so callers can
/// keep reading `brokers` while changing it.
pub(super) fn partition_mut<'a>(
    topics: &'a mut BTreeMap<String, TopicMeta>,
    topic: &str,
    partition: i32,
) -> Option<&'a mut PartitionMeta> {
    let index = usize::try_from(partition).ok()?;
    topics.get_mut(topic)?.partitions.get_mut(index)
}
