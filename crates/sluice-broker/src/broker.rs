//! Shared broker state: the local replicas, the view of cluster metadata, the group
//! coordinator and metrics.
//!
//! Topics, partitions, leaders and ISRs live in the replicated metadata image (`sluice-meta`);
//! this broker holds a [`Partition`] (log + producer + replication state) for each partition
//! it is assigned, created and dropped by `replica::manager` as the image changes. Admin
//! requests become metadata proposals (`proposals`); nothing here decides leadership.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use kafka_protocol::error::ResponseError;
use sluice_meta::image::{MetadataImage, PartitionMeta};
use sluice_meta::MetaNode;
use tokio::sync::watch;

use crate::clock::now_ms;
use crate::config::BrokerConfig;
use crate::groups::GroupCoordinator;
use crate::metrics::Metrics;
use crate::partition::{Partition, CONSUMER_OFFSETS};
use crate::replica::fetcher::Fetchers;
use crate::topic_config::{self, broker_name, ConfigSource, TopicSettings};

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
    /// The ACL authorizer (`authorizer.class.name`), kept current from the image.
    pub authz: crate::authz::BrokerAuthorizer,
    /// Follower fetchers, one per leader this broker copies from.
    pub fetchers: Fetchers,
    // (next id to hand out, end of the block the controller gave us).
    pub(crate) producer_ids: tokio::sync::Mutex<(i64, i64)>,
}

/// INVALID_REQUEST for each partition of a request past `sluice.max.partitions.per.request`
/// (see [`RequestLimits::too_many_partitions`](crate::config::RequestLimits::too_many_partitions)).
pub fn refuse_if(too_many: bool) -> Result<(), kafka_protocol::error::ResponseError> {
    if too_many {
        Err(kafka_protocol::error::ResponseError::InvalidRequest)
    } else {
        Ok(())
    }
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

impl Broker {
    /// Creates the broker around a running metadata node; local replicas appear as the
    /// metadata image is applied (`replica::manager`).
    pub fn new(config: BrokerConfig, metrics: Metrics, meta: Arc<MetaNode>) -> Arc<Broker> {
        let (appended, _) = watch::channel(0);
        let appended = Arc::new(appended);
        let fetchers = Fetchers::new(config.node_id, meta.clone(), appended.clone());
        let groups = Arc::new(GroupCoordinator::new(&config, appended.clone()));
        let authz = crate::authz::BrokerAuthorizer::new(&config.security);
        Arc::new(Broker {
            authz,
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
        topic_config::topic_defaults(&self.config, &self.image().broker_configs)
    }

    /// Every topic config with its value and where the value comes from.
    pub fn effective_topic_configs(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Vec<(String, String, ConfigSource)> {
        topic_config::effective(&self.config, &self.image().broker_configs, overrides)
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

    /// Wakes fetches and acks=all produces waiting for data or a high-watermark move.
    pub fn notify_appended(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Flushes every local replica; used on shutdown.
    pub fn flush_all(&self) {
        for p in self.local_partitions() {
            if let Err(e) = p.flush() {
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
            if let Err(e) = p.maintain(now_ms()) {
                tracing::error!(topic = %p.topic, partition = p.index, error = %e, "log maintenance failed");
            }
        }
    }

    /// `log.flush.interval.ms`: fsyncs every local replica with appends since its last flush.
    pub fn flush_unflushed(&self) {
        for p in self.local_partitions() {
            if let Err(e) = p.flush_if_unflushed() {
                tracing::error!(topic = %p.topic, partition = p.index, error = %e, "periodic flush failed");
            }
        }
    }

    /// KIP-392's rack-aware selector: an in-sync, live replica other than this leader in
    /// `rack` among `isr`, unless this leader is in it (then it serves the consumer itself).
    pub fn in_sync_replica_in_rack(&self, isr: &[i32], rack: &str) -> Option<i32> {
        if self.config.broker_rack.as_deref() == Some(rack) {
            return None;
        }
        let image = self.image();
        isr.iter()
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
                let size = p.size_bytes();
                ((p.topic.clone(), p.index), size)
            })
            .collect()
    }
}
