//! Shared broker state: the local replicas, the view of cluster metadata, the group
//! coordinator and metrics.
//!
//! Topics, partitions, leaders and ISRs live in the replicated metadata image (`sluice-meta`);
//! this broker holds a [`Partition`] (log + producer + replication state) for each partition
//! it is assigned, created and dropped by `replica::manager` as the image changes. Admin
//! requests become metadata proposals; nothing here decides leadership.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use sluice_meta::image::{BrokerId, MetadataImage, PartitionMeta, Reply};
use sluice_meta::{Command, MetaNode};
use tokio::sync::watch;

use crate::config::BrokerConfig;
use crate::groups::GroupCoordinator;
use crate::metrics::Metrics;
use crate::replica::fetcher::Fetchers;
use crate::storage::{maintain_partition, PartitionStore, TopicSettings};

/// Name of the internal topic holding committed offsets and group metadata.
pub const CONSUMER_OFFSETS: &str = "__consumer_offsets";

/// How long an admin request waits for the metadata quorum.
pub const META_TIMEOUT: Duration = Duration::from_secs(10);

/// One local replica: its log, producer and replication state behind a lock.
#[derive(Debug)]
pub struct Partition {
    /// Topic name, for metrics labels.
    pub topic: String,
    /// Partition index.
    pub index: i32,
    /// Id of the topic this replica belongs to (a re-created topic gets new replicas).
    pub topic_id: uuid::Uuid,
    /// Log, idempotence and replication state.
    pub store: Mutex<PartitionStore>,
}

/// A topic as the metadata image describes it.
#[derive(Debug, Clone)]
pub struct Topic {
    /// Topic name.
    pub name: String,
    /// Stable id, reported in Metadata v10+.
    pub id: uuid::Uuid,
    /// Replication state of each partition, by index.
    pub partitions: Vec<PartitionMeta>,
    /// Per-topic overrides with Kafka's topic config names.
    pub configs: BTreeMap<String, String>,
}

impl Topic {
    fn of(name: &str, t: &sluice_meta::TopicMeta) -> Topic {
        Topic {
            name: name.to_string(),
            id: t.id,
            partitions: t.partitions.clone(),
            configs: t.configs.clone(),
        }
    }

    /// Whether clients see this topic as internal.
    pub fn is_internal(&self) -> bool {
        self.name == CONSUMER_OFFSETS
    }
}

/// The broker: everything request handlers share.
#[derive(Debug)]
pub struct Broker {
    /// Effective configuration.
    pub config: BrokerConfig,
    /// This broker's member of the metadata quorum.
    pub meta: Arc<MetaNode>,
    // Local replicas by (topic, partition).
    local: RwLock<BTreeMap<(String, i32), Arc<Partition>>>,
    /// Serialises applying metadata images to the local replicas.
    pub(crate) apply_lock: Mutex<()>,
    /// Bumped after every append and high-watermark move so waiting fetches and acks=all
    /// produces re-check without polling.
    pub appended: Arc<watch::Sender<u64>>,
    /// Consumer group coordinator (shared with the threads that replay its partitions).
    pub groups: Arc<GroupCoordinator>,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Follower fetchers, one per leader this broker copies from.
    pub fetchers: Fetchers,
    // (next id to hand out, end of the block the controller gave us).
    producer_ids: tokio::sync::Mutex<(i64, i64)>,
}

/// Whether a topic name is one Kafka accepts.
pub fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Topic-level config names accepted by CreateTopics, with the broker default for each.
pub fn topic_config_defaults(cfg: &BrokerConfig) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("cleanup.policy", cfg.log_cleanup_policy.clone()),
        ("retention.ms", cfg.log_retention_ms.to_string()),
        ("retention.bytes", cfg.log_retention_bytes.to_string()),
        ("segment.bytes", cfg.log_segment_bytes.to_string()),
        ("segment.ms", cfg.log_roll_ms.to_string()),
        ("max.message.bytes", cfg.message_max_bytes.to_string()),
        (
            "message.timestamp.type",
            cfg.log_message_timestamp_type.clone(),
        ),
        ("min.insync.replicas", cfg.min_insync_replicas.to_string()),
        ("compression.type", cfg.compression_type.clone()),
        (
            "delete.retention.ms",
            cfg.log_cleaner_delete_retention_ms.to_string(),
        ),
        (
            "min.cleanable.dirty.ratio",
            cfg.log_cleaner_min_cleanable_ratio.to_string(),
        ),
        (
            "min.compaction.lag.ms",
            cfg.log_cleaner_min_compaction_lag_ms.to_string(),
        ),
        (
            "flush.messages",
            cfg.log_flush_interval_messages.to_string(),
        ),
    ])
}

/// Where a config value comes from (Kafka's `ConfigSource` codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Topic override.
    Topic = 1,
    /// Dynamic broker config.
    DynamicBroker = 2,
    /// Static broker config.
    Static = 4,
    /// Built-in default.
    Default = 5,
}

/// The broker-level name of a topic config.
pub fn broker_name(topic_key: &str) -> Option<&'static str> {
    Some(match topic_key {
        "cleanup.policy" => "log.cleanup.policy",
        "retention.ms" => "log.retention.ms",
        "retention.bytes" => "log.retention.bytes",
        "segment.bytes" => "log.segment.bytes",
        "segment.ms" => "log.roll.ms",
        "max.message.bytes" => "message.max.bytes",
        "message.timestamp.type" => "log.message.timestamp.type",
        "min.insync.replicas" => "min.insync.replicas",
        "compression.type" => "compression.type",
        "flush.messages" => "log.flush.interval.messages",
        "delete.retention.ms" => "log.cleaner.delete.retention.ms",
        "min.cleanable.dirty.ratio" => "log.cleaner.min.cleanable.ratio",
        "min.compaction.lag.ms" => "log.cleaner.min.compaction.lag.ms",
        _ => return None,
    })
}

/// The topic-level name of a dynamic broker config.
pub fn topic_name_of(broker_key: &str) -> Option<&'static str> {
    topic_config_defaults(&BrokerConfig::default())
        .into_keys()
        .find(|k| broker_name(k) == Some(broker_key))
}

/// Checks one topic config value; returns a message for INVALID_CONFIG.
pub fn validate_topic_config(name: &str, value: &str) -> Result<(), String> {
    let ok = match name {
        "cleanup.policy" => value
            .split(',')
            .all(|p| matches!(p.trim(), "delete" | "compact")),
        "message.timestamp.type" => matches!(value, "CreateTime" | "LogAppendTime"),
        "compression.type" => is_compression_type(value),
        "retention.ms" | "retention.bytes" => value.parse::<i64>().is_ok_and(|v| v >= -1),
        "segment.bytes" => value.parse::<i64>().is_ok_and(|v| v >= 14),
        "segment.ms" | "max.message.bytes" | "flush.messages" => {
            value.parse::<i64>().is_ok_and(|v| v >= 0)
        }
        "min.insync.replicas" => value.parse::<i64>().is_ok_and(|v| v >= 1),
        "delete.retention.ms" | "min.compaction.lag.ms" => {
            value.parse::<i64>().is_ok_and(|v| v >= 0)
        }
        "min.cleanable.dirty.ratio" => value.parse::<f64>().is_ok_and(|v| (0.0..=1.0).contains(&v)),
        _ => return Err(format!("unknown topic config {name}")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("invalid value {value:?} for {name}"))
    }
}

/// A `compression.type` value Kafka accepts.
pub fn is_compression_type(value: &str) -> bool {
    matches!(
        value,
        "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd"
    )
}

/// Directory of one local replica.
pub fn partition_dir(data_dir: &Path, topic: &str, p: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{p}"))
}

/// Maps a refused metadata command to the Kafka error the client gets.
pub fn reply_error(code: i16) -> ResponseError {
    ResponseError::try_from_code(code).unwrap_or(ResponseError::UnknownServerError)
}

impl Broker {
    /// Creates the broker around a running metadata node; local replicas appear as the
    /// metadata image is applied (`replica::manager`).
    pub fn new(config: BrokerConfig, metrics: Metrics, meta: Arc<MetaNode>) -> Arc<Broker> {
        let (appended, _) = watch::channel(0);
        let appended = Arc::new(appended);
        let fetchers = Fetchers::new(config.node_id, meta.clone(), appended.clone());
        let groups = Arc::new(GroupCoordinator::new(&config, appended.clone()));
        Arc::new(Broker {
            config,
            meta,
            local: RwLock::new(BTreeMap::new()),
            apply_lock: Mutex::new(()),
            appended,
            groups,
            metrics,
            fetchers,
            producer_ids: tokio::sync::Mutex::new((0, 0)),
        })
    }

    /// The latest applied metadata image.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.meta.current()
    }

    /// Settings for a topic's logs from its overrides and the cluster's dynamic configs.
    pub fn settings(&self, configs: &BTreeMap<String, String>) -> TopicSettings {
        TopicSettings::resolve(
            &self
                .effective_topic_configs(configs)
                .into_iter()
                .map(|(k, v, _)| (k, v))
                .collect(),
        )
    }

    /// Broker-level defaults of every topic config: static configuration overlaid with
    /// dynamic broker configs (AlterConfigs on the broker resource).
    pub fn topic_defaults(&self) -> BTreeMap<String, (String, ConfigSource)> {
        let image = self.image();
        let dynamic = &image.broker_configs;
        topic_config_defaults(&self.config)
            .into_iter()
            .map(|(k, v)| match broker_name(k).and_then(|b| dynamic.get(b)) {
                Some(d) => (k.to_string(), (d.clone(), ConfigSource::DynamicBroker)),
                None => (k.to_string(), (v, ConfigSource::Default)),
            })
            .collect()
    }

    /// Every topic config with its value and where the value comes from.
    pub fn effective_topic_configs(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Vec<(String, String, ConfigSource)> {
        self.topic_defaults()
            .into_iter()
            .map(|(k, (v, src))| match overrides.get(&k) {
                Some(o) => (k, o.clone(), ConfigSource::Topic),
                None => (k, v, src),
            })
            .collect()
    }

    /// Broker configs for DescribeConfigs on the broker resource.
    pub fn broker_configs(&self) -> Vec<(String, String, ConfigSource)> {
        let cfg = &self.config;
        let mut out: Vec<(String, String, ConfigSource)> = vec![
            (
                "node.id".into(),
                cfg.node_id.to_string(),
                ConfigSource::Static,
            ),
            (
                "num.partitions".into(),
                cfg.num_partitions.to_string(),
                ConfigSource::Static,
            ),
            (
                "default.replication.factor".into(),
                cfg.default_replication_factor.to_string(),
                ConfigSource::Static,
            ),
            (
                "auto.create.topics.enable".into(),
                cfg.auto_create_topics_enable.to_string(),
                ConfigSource::Static,
            ),
            (
                "socket.request.max.bytes".into(),
                cfg.socket_request_max_bytes.to_string(),
                ConfigSource::Static,
            ),
            (
                "log.dirs".into(),
                cfg.data_dir.display().to_string(),
                ConfigSource::Static,
            ),
        ];
        if let Some(rack) = &cfg.broker_rack {
            out.push(("broker.rack".into(), rack.clone(), ConfigSource::Static));
        }
        for (topic_key, (value, src)) in self.topic_defaults() {
            if let Some(b) = broker_name(&topic_key) {
                let src = if src == ConfigSource::DynamicBroker {
                    src
                } else {
                    ConfigSource::Static
                };
                out.push((b.to_string(), value, src));
            }
        }
        out
    }

    /// Proposes a metadata command and maps quorum trouble to retriable Kafka errors.
    pub async fn propose(&self, command: Command) -> Result<Reply, ResponseError> {
        let reply = self
            .meta
            .propose(command, META_TIMEOUT)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "metadata proposal failed");
                match e {
                    sluice_meta::MetaError::Timeout(_) => ResponseError::RequestTimedOut,
                    _ => ResponseError::NotController,
                }
            })?;
        // Make the local replicas match the image that includes the change, so a client
        // that created a topic here can use it here right away.
        crate::replica::manager::apply_current(self);
        Ok(reply)
    }

    async fn propose_ok(&self, command: Command) -> Result<(), ResponseError> {
        match self.propose(command).await? {
            Reply::Error { code, message } => {
                tracing::debug!(code, %message, "metadata command refused");
                Err(reply_error(code))
            }
            _ => Ok(()),
        }
    }

    /// Replaces a topic's config overrides (already validated).
    pub async fn set_topic_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ResponseError> {
        self.propose_ok(Command::SetTopicConfigs {
            name: name.to_string(),
            configs,
        })
        .await
    }

    /// Replaces the cluster's dynamic broker configs (broker names, already validated).
    pub async fn set_dynamic_configs(
        &self,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ResponseError> {
        self.propose_ok(Command::SetBrokerConfigs { configs }).await
    }

    /// `min.insync.replicas` of a topic: its override, else the cluster's dynamic default, else
    /// this broker's configuration.
    pub fn min_insync_replicas(&self, topic: &str) -> usize {
        const KEY: &str = "min.insync.replicas";
        let image = self.image();
        image
            .topics
            .get(topic)
            .and_then(|t| t.configs.get(KEY))
            .or_else(|| image.broker_configs.get(KEY))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(self.config.min_insync_replicas.max(1) as usize)
    }

    /// Current dynamic broker configs.
    pub fn dynamic_configs(&self) -> BTreeMap<String, String> {
        self.image().broker_configs.clone()
    }

    /// Looks up a topic in the metadata image.
    pub fn topic(&self, name: &str) -> Option<Topic> {
        self.image().topics.get(name).map(|t| Topic::of(name, t))
    }

    /// All topics of the image, by name.
    pub fn topics(&self) -> Vec<Topic> {
        self.image()
            .topics
            .iter()
            .map(|(name, t)| Topic::of(name, t))
            .collect()
    }

    /// The local replica of a partition: UNKNOWN_TOPIC_OR_PARTITION if the cluster has no
    /// such partition, NOT_LEADER_OR_FOLLOWER if this broker holds no replica of it.
    pub fn partition(&self, topic: &str, index: i32) -> Result<Arc<Partition>, ResponseError> {
        if let Some(p) = self
            .local
            .read()
            .expect("poisoned")
            .get(&(topic.to_string(), index))
        {
            return Ok(p.clone());
        }
        match self.image().partition(topic, index) {
            Some(_) => Err(ResponseError::NotLeaderOrFollower),
            None => Err(ResponseError::UnknownTopicOrPartition),
        }
    }

    /// The local replica if this broker leads it; `current_epoch` (-1: any) is the client's
    /// view, answered FENCED_LEADER_EPOCH when older and UNKNOWN_LEADER_EPOCH when newer.
    pub fn leader_partition(
        &self,
        topic: &str,
        index: i32,
        current_epoch: i32,
    ) -> Result<Arc<Partition>, ResponseError> {
        let p = self.partition(topic, index)?;
        let store = p.store.lock().expect("poisoned");
        check_leader(&store, current_epoch)?;
        drop(store);
        Ok(p)
    }

    /// Every local replica.
    pub fn local_partitions(&self) -> Vec<Arc<Partition>> {
        self.local
            .read()
            .expect("poisoned")
            .values()
            .cloned()
            .collect()
    }

    pub(crate) fn insert_local(&self, p: Arc<Partition>) {
        self.local
            .write()
            .expect("poisoned")
            .insert((p.topic.clone(), p.index), p);
    }

    pub(crate) fn remove_local(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.local
            .write()
            .expect("poisoned")
            .remove(&(topic.to_string(), index))
    }

    /// Creates a topic through the controller.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: Option<i16>,
        assignments: Option<Vec<Vec<BrokerId>>>,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), (ResponseError, Option<String>)> {
        let command = Command::CreateTopic {
            name: name.to_string(),
            id: uuid::Uuid::new_v4(),
            partitions,
            replication_factor,
            default_replication_factor: self.config.default_replication_factor,
            assignments,
            configs,
            validate_only,
        };
        match self.propose(command).await.map_err(|e| (e, None))? {
            Reply::Error { code, message } => Err((reply_error(code), Some(message))),
            _ => {
                if !validate_only {
                    tracing::info!(topic = name, partitions, "created topic");
                }
                Ok(())
            }
        }
    }

    /// Returns the topic, creating it with defaults when auto-creation is on.
    pub async fn get_or_auto_create(&self, name: &str) -> Result<Topic, ResponseError> {
        if let Some(t) = self.topic(name) {
            return Ok(t);
        }
        if !self.config.auto_create_topics_enable {
            return Err(ResponseError::UnknownTopicOrPartition);
        }
        if !valid_topic_name(name) {
            return Err(ResponseError::InvalidTopicException);
        }
        match self
            .create_topic(
                name,
                self.config.num_partitions,
                None,
                None,
                BTreeMap::new(),
                false,
            )
            .await
        {
            Ok(()) | Err((ResponseError::TopicAlreadyExists, _)) => self
                .topic(name)
                .ok_or(ResponseError::UnknownTopicOrPartition),
            Err((e, msg)) => {
                tracing::warn!(topic = name, error = ?e, message = ?msg, "auto-creating topic failed");
                Err(if e == ResponseError::InvalidReplicationFactor {
                    ResponseError::LeaderNotAvailable
                } else {
                    e
                })
            }
        }
    }

    /// Deletes a topic; each broker drops its replicas when it applies the change.
    pub async fn delete_topic(&self, name: &str) -> Result<(), ResponseError> {
        if name == CONSUMER_OFFSETS {
            return Err(ResponseError::InvalidTopicException);
        }
        self.propose_ok(Command::DeleteTopic {
            name: name.to_string(),
        })
        .await?;
        self.metrics.forget_topic(name);
        tracing::info!(topic = name, "deleted topic");
        Ok(())
    }

    /// Grows a topic to `count` partitions.
    pub async fn add_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Option<Vec<Vec<BrokerId>>>,
        validate_only: bool,
    ) -> Result<(), (ResponseError, Option<String>)> {
        if name == CONSUMER_OFFSETS {
            // A group's coordinator is picked by the partition count: growing it would move
            // groups away from their committed offsets.
            return Err((
                ResponseError::InvalidTopicException,
                Some(format!(
                    "the partition count of {CONSUMER_OFFSETS} cannot change"
                )),
            ));
        }
        let command = Command::CreatePartitions {
            name: name.to_string(),
            count,
            assignments,
            validate_only,
        };
        match self.propose(command).await.map_err(|e| (e, None))? {
            Reply::Error { code, message } => Err((reply_error(code), Some(message))),
            _ => Ok(()),
        }
    }

    /// Allocates a fresh producer id for InitProducerId, from blocks the controller hands out
    /// so ids are unique across the cluster and across restarts.
    pub async fn allocate_producer_id(&self) -> Result<i64, ResponseError> {
        let mut ids = self.producer_ids.lock().await;
        if ids.0 >= ids.1 {
            match self
                .propose(Command::AllocateProducerIds {
                    broker: self.config.node_id,
                })
                .await?
            {
                Reply::ProducerIds { first, count } => *ids = (first, first + count),
                Reply::Error { code, .. } => return Err(reply_error(code)),
                _ => return Err(ResponseError::UnknownServerError),
            }
        }
        let id = ids.0;
        ids.0 += 1;
        Ok(id)
    }

    /// Wakes fetches and acks=all produces waiting for data or a high-watermark move.
    pub fn notify_appended(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Flushes every local replica; used on shutdown.
    pub fn flush_all(&self) {
        for p in self.local_partitions() {
            if let Err(e) = p.store.lock().expect("poisoned").flush() {
                tracing::error!(topic = %p.topic, partition = p.index, error = %e, "flush failed");
            }
        }
    }

    /// Segment rolls, retention and log cleaning for every local replica, one at a time. Runs
    /// on a blocking thread: a cleaner pass takes seconds on a large partition, with that
    /// partition's lock released for all but the short plan and commit steps.
    pub fn maintain_logs(&self) {
        for p in self.local_partitions() {
            // Per partition: the passes before this one may have taken a while.
            if let Err(e) = maintain_partition(&p.store, now_ms()) {
                tracing::error!(topic = %p.topic, partition = p.index, error = %e, "log maintenance failed");
            }
        }
    }

    /// `log.flush.interval.ms`: fsyncs every local replica with appends since its last flush.
    pub fn flush_unflushed(&self) {
        for p in self.local_partitions() {
            if let Err(e) = p.store.lock().expect("poisoned").flush_if_unflushed() {
                tracing::error!(topic = %p.topic, partition = p.index, error = %e, "periodic flush failed");
            }
        }
    }

    /// KIP-392's rack-aware selector: an in-sync, live replica other than this leader in
    /// `rack`, unless this leader is in it (then it serves the consumer itself).
    pub fn in_sync_replica_in_rack(&self, store: &PartitionStore, rack: &str) -> Option<i32> {
        if self.config.broker_rack.as_deref() == Some(rack) {
            return None;
        }
        let image = self.image();
        store
            .replica
            .isr
            .iter()
            .copied()
            .filter(|id| *id != self.config.node_id && image.eligible(*id))
            .find(|id| {
                image
                    .brokers
                    .get(id)
                    .is_some_and(|b| b.rack.as_deref() == Some(rack))
            })
    }

    /// Snapshot of log sizes per local replica for `/metrics`.
    pub fn log_sizes(&self) -> HashMap<(String, i32), u64> {
        self.local_partitions()
            .into_iter()
            .map(|p| {
                let size = p.store.lock().expect("poisoned").size_bytes();
                ((p.topic.clone(), p.index), size)
            })
            .collect()
    }
}

/// NOT_LEADER_OR_FOLLOWER unless the replica leads; the client's epoch checked as Kafka does.
pub fn check_leader(store: &PartitionStore, current_epoch: i32) -> Result<(), ResponseError> {
    if !store.replica.leads(-1) {
        return Err(ResponseError::NotLeaderOrFollower);
    }
    check_epoch(store, current_epoch)
}

/// Like [`check_leader`], also accepting a follower (KIP-392: consumers may read from one).
pub fn check_replica(store: &PartitionStore, current_epoch: i32) -> Result<(), ResponseError> {
    if !matches!(
        store.replica.role,
        crate::replica::state::Role::Leader | crate::replica::state::Role::Follower { .. }
    ) {
        return Err(ResponseError::NotLeaderOrFollower);
    }
    check_epoch(store, current_epoch)
}

/// Kafka's epoch check: a client behind this replica's leader epoch is fenced, one ahead of
/// it knows of a leader this replica has not heard of yet.
fn check_epoch(store: &PartitionStore, current_epoch: i32) -> Result<(), ResponseError> {
    if current_epoch >= 0 {
        if current_epoch < store.replica.leader_epoch {
            return Err(ResponseError::FencedLeaderEpoch);
        }
        if current_epoch > store.replica.leader_epoch {
            return Err(ResponseError::UnknownLeaderEpoch);
        }
    }
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
