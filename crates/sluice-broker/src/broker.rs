//! Shared broker state: the topic table, partition logs, the group coordinator and metrics.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use kafka_protocol::error::ResponseError;
use tokio::sync::watch;

use crate::config::{parse_properties, BrokerConfig};
use crate::error::BrokerError;
use crate::groups::GroupCoordinator;
use crate::metrics::Metrics;
use crate::storage::{PartitionStore, TopicSettings};

/// Producer ids reserved on disk at a time.
const PRODUCER_ID_BLOCK: i64 = 1000;

/// Name of the internal topic holding committed offsets and group metadata.
pub const CONSUMER_OFFSETS: &str = "__consumer_offsets";

/// One partition: its log and producer state behind a lock.
#[derive(Debug)]
pub struct Partition {
    /// Topic name, for metrics labels.
    pub topic: String,
    /// Partition index.
    pub index: i32,
    /// Log and idempotence state.
    pub store: Mutex<PartitionStore>,
}

/// A topic and its partitions.
#[derive(Debug)]
pub struct Topic {
    /// Topic name.
    pub name: String,
    /// Stable id, reported in Metadata v10+.
    pub id: uuid::Uuid,
    /// Partitions, by index.
    pub partitions: Vec<Arc<Partition>>,
    /// Per-topic overrides with Kafka's topic config names.
    pub configs: BTreeMap<String, String>,
}

impl Topic {
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
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    // Serialises topic creation and deletion so directories never race.
    admin: Mutex<()>,
    /// Bumped after every append so waiting fetches re-check without polling.
    pub appended: watch::Sender<u64>,
    /// Consumer group coordinator.
    pub groups: GroupCoordinator,
    /// Prometheus metrics.
    pub metrics: Metrics,
    // (next id to hand out, first id not yet reserved on disk).
    producer_ids: Mutex<(i64, i64)>,
    // Dynamic broker configs by broker property name.
    dynamic: RwLock<BTreeMap<String, String>>,
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
        ("min.insync.replicas", "1".to_string()),
        ("delete.retention.ms", "86400000".to_string()),
        ("min.cleanable.dirty.ratio", "0.5".to_string()),
        ("min.compaction.lag.ms", "0".to_string()),
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

fn meta_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("__sluice").join("topics")
}

fn partition_dir(data_dir: &Path, topic: &str, p: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{p}"))
}

impl Broker {
    /// Opens every topic found in the data directory and replays group state.
    pub fn open(config: BrokerConfig, metrics: Metrics) -> Result<Arc<Broker>, BrokerError> {
        std::fs::create_dir_all(meta_dir(&config.data_dir))?;
        let (appended, _) = watch::channel(0);
        let broker = Broker {
            topics: RwLock::new(BTreeMap::new()),
            admin: Mutex::new(()),
            appended,
            groups: GroupCoordinator::default(),
            metrics,
            producer_ids: Mutex::new((0, 0)),
            dynamic: RwLock::new(BTreeMap::new()),
            config,
        };
        let dynamic_path = broker
            .config
            .data_dir
            .join("__sluice")
            .join("broker.properties");
        if dynamic_path.exists() {
            *broker.dynamic.write().expect("poisoned") =
                parse_properties(&std::fs::read_to_string(&dynamic_path)?);
        }
        let mut max_pid = -1;
        for entry in std::fs::read_dir(meta_dir(&broker.config.data_dir))? {
            let path = entry?.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".properties"))
            else {
                continue;
            };
            let props = parse_properties(&std::fs::read_to_string(&path)?);
            let count: i32 = props
                .get("partitions")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let id = props
                .get("id")
                .and_then(|i| uuid::Uuid::parse_str(i).ok())
                .unwrap_or_else(uuid::Uuid::new_v4);
            let configs: BTreeMap<String, String> = props
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix("config.")
                        .map(|k| (k.to_string(), v.clone()))
                })
                .collect();
            let topic = broker.open_topic(name, id, count, configs)?;
            for p in &topic.partitions {
                max_pid = max_pid.max(p.store.lock().expect("poisoned").max_producer_id());
            }
            broker
                .topics
                .write()
                .expect("poisoned")
                .insert(name.to_string(), topic);
        }
        // Ids are reserved on disk in blocks, so none is handed out twice even if the producer
        // that got it never wrote anything before a restart.
        let reserved: i64 = std::fs::read_to_string(broker.producer_ids_path())
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let next = (max_pid + 1).max(reserved);
        *broker.producer_ids.lock().expect("poisoned") = (next, next);
        if broker.topic(CONSUMER_OFFSETS).is_none() {
            let _created = broker.create_topic(CONSUMER_OFFSETS, 1, BTreeMap::new())?;
        }
        let broker = Arc::new(broker);
        crate::groups::replay(&broker)?;
        Ok(broker)
    }

    fn settings(&self, configs: &BTreeMap<String, String>) -> TopicSettings {
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
        let dynamic = self.dynamic.read().expect("poisoned");
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

    /// Replaces a topic's config overrides (already validated) and applies them to its logs.
    pub fn set_topic_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<Result<(), ResponseError>, BrokerError> {
        let _guard = self.admin.lock().expect("poisoned");
        let Some(topic) = self.topic(name) else {
            return Ok(Err(ResponseError::UnknownTopicOrPartition));
        };
        let updated = Arc::new(Topic {
            name: topic.name.clone(),
            id: topic.id,
            partitions: topic.partitions.clone(),
            configs,
        });
        self.write_meta(&updated)?;
        self.apply_settings(&updated);
        self.topics
            .write()
            .expect("poisoned")
            .insert(name.to_string(), updated);
        Ok(Ok(()))
    }

    /// Replaces the dynamic broker configs (broker names, already validated), persists them and
    /// applies them to every log without a topic override.
    pub fn set_dynamic_configs(
        &self,
        configs: BTreeMap<String, String>,
    ) -> Result<(), BrokerError> {
        let _guard = self.admin.lock().expect("poisoned");
        let text: String = configs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let path = self
            .config
            .data_dir
            .join("__sluice")
            .join("broker.properties");
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, path)?;
        *self.dynamic.write().expect("poisoned") = configs;
        for t in self.topics() {
            self.apply_settings(&t);
        }
        Ok(())
    }

    /// Current dynamic broker configs.
    pub fn dynamic_configs(&self) -> BTreeMap<String, String> {
        self.dynamic.read().expect("poisoned").clone()
    }

    fn apply_settings(&self, topic: &Topic) {
        let settings = self.settings(&topic.configs);
        for p in &topic.partitions {
            if let Err(e) = p.store.lock().expect("poisoned").update_settings(&settings) {
                tracing::error!(topic = %topic.name, partition = p.index, error = ?e, "applying config failed");
            }
        }
    }

    fn open_topic(
        &self,
        name: &str,
        id: uuid::Uuid,
        count: i32,
        configs: BTreeMap<String, String>,
    ) -> Result<Arc<Topic>, BrokerError> {
        let settings = self.settings(&configs);
        let mut partitions = Vec::with_capacity(count as usize);
        for p in 0..count {
            let store =
                PartitionStore::open(&partition_dir(&self.config.data_dir, name, p), &settings)?;
            partitions.push(Arc::new(Partition {
                topic: name.to_string(),
                index: p,
                store: Mutex::new(store),
            }));
        }
        Ok(Arc::new(Topic {
            name: name.to_string(),
            id,
            partitions,
            configs,
        }))
    }

    fn write_meta(&self, topic: &Topic) -> Result<(), BrokerError> {
        let mut text = format!("id={}\npartitions={}\n", topic.id, topic.partitions.len());
        for (k, v) in &topic.configs {
            text.push_str(&format!("config.{k}={v}\n"));
        }
        let dir = meta_dir(&self.config.data_dir);
        let tmp = dir.join(format!("{}.tmp", topic.name));
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, dir.join(format!("{}.properties", topic.name)))?;
        Ok(())
    }

    /// Looks up a topic.
    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().expect("poisoned").get(name).cloned()
    }

    /// All topics, by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.topics
            .read()
            .expect("poisoned")
            .values()
            .cloned()
            .collect()
    }

    /// Looks up a partition, or the Kafka error for its absence.
    pub fn partition(&self, topic: &str, index: i32) -> Result<Arc<Partition>, ResponseError> {
        self.topic(topic)
            .and_then(|t| {
                usize::try_from(index)
                    .ok()
                    .and_then(|i| t.partitions.get(i).cloned())
            })
            .ok_or(ResponseError::UnknownTopicOrPartition)
    }

    /// Creates a topic; `TopicAlreadyExists` if it exists.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
    ) -> Result<Result<Arc<Topic>, ResponseError>, BrokerError> {
        let _guard = self.admin.lock().expect("poisoned");
        if self.topic(name).is_some() {
            return Ok(Err(ResponseError::TopicAlreadyExists));
        }
        let topic = self.open_topic(name, uuid::Uuid::new_v4(), partitions, configs)?;
        self.write_meta(&topic)?;
        self.topics
            .write()
            .expect("poisoned")
            .insert(name.to_string(), topic.clone());
        tracing::info!(topic = name, partitions, "created topic");
        Ok(Ok(topic))
    }

    /// Returns the topic, creating it with defaults when auto-creation is on.
    pub fn get_or_auto_create(&self, name: &str) -> Result<Arc<Topic>, ResponseError> {
        if let Some(t) = self.topic(name) {
            return Ok(t);
        }
        if !self.config.auto_create_topics_enable {
            return Err(ResponseError::UnknownTopicOrPartition);
        }
        if !valid_topic_name(name) {
            return Err(ResponseError::InvalidTopicException);
        }
        match self.create_topic(name, self.config.num_partitions, BTreeMap::new()) {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(_)) => self
                .topic(name)
                .ok_or(ResponseError::UnknownTopicOrPartition),
            Err(e) => {
                tracing::error!(topic = name, error = %e, "auto-creating topic failed");
                Err(ResponseError::UnknownServerError)
            }
        }
    }

    /// Deletes a topic and its data.
    pub fn delete_topic(&self, name: &str) -> Result<Result<(), ResponseError>, BrokerError> {
        let _guard = self.admin.lock().expect("poisoned");
        if name == CONSUMER_OFFSETS {
            return Ok(Err(ResponseError::InvalidTopicException));
        }
        let Some(topic) = self.topics.write().expect("poisoned").remove(name) else {
            return Ok(Err(ResponseError::UnknownTopicOrPartition));
        };
        std::fs::remove_file(meta_dir(&self.config.data_dir).join(format!("{name}.properties")))?;
        for p in &topic.partitions {
            let dir = partition_dir(&self.config.data_dir, name, p.index);
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "removing partition directory");
            }
        }
        self.metrics.forget_topic(name);
        tracing::info!(topic = name, "deleted topic");
        Ok(Ok(()))
    }

    /// Adds partitions to a topic, keeping the existing ones.
    pub fn add_partitions(
        &self,
        name: &str,
        count: i32,
    ) -> Result<Result<(), ResponseError>, BrokerError> {
        let _guard = self.admin.lock().expect("poisoned");
        let Some(topic) = self.topic(name) else {
            return Ok(Err(ResponseError::UnknownTopicOrPartition));
        };
        let have = topic.partitions.len() as i32;
        if count <= have {
            return Ok(Err(ResponseError::InvalidPartitions));
        }
        let settings = self.settings(&topic.configs);
        let mut partitions = topic.partitions.clone();
        for p in have..count {
            let store =
                PartitionStore::open(&partition_dir(&self.config.data_dir, name, p), &settings)?;
            partitions.push(Arc::new(Partition {
                topic: name.to_string(),
                index: p,
                store: Mutex::new(store),
            }));
        }
        let grown = Arc::new(Topic {
            name: topic.name.clone(),
            id: topic.id,
            partitions,
            configs: topic.configs.clone(),
        });
        self.write_meta(&grown)?;
        self.topics
            .write()
            .expect("poisoned")
            .insert(name.to_string(), grown);
        Ok(Ok(()))
    }

    fn producer_ids_path(&self) -> PathBuf {
        self.config
            .data_dir
            .join("__sluice")
            .join("producer-id-block")
    }

    /// Allocates a fresh producer id for InitProducerId.
    pub fn allocate_producer_id(&self) -> i64 {
        let mut ids = self.producer_ids.lock().expect("poisoned");
        let id = ids.0;
        if id >= ids.1 {
            let reserve = id + PRODUCER_ID_BLOCK;
            let path = self.producer_ids_path();
            let tmp = path.with_extension("tmp");
            let written = std::fs::write(&tmp, reserve.to_string())
                .and_then(|_| std::fs::rename(&tmp, &path));
            if let Err(e) = written {
                tracing::error!(error = %e, "persisting producer id block failed");
            } else {
                ids.1 = reserve;
            }
        }
        ids.0 += 1;
        id
    }

    /// Wakes fetches waiting for data.
    pub fn notify_appended(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Flushes every partition; used on shutdown.
    pub fn flush_all(&self) {
        for topic in self.topics() {
            for p in &topic.partitions {
                if let Err(e) = p.store.lock().expect("poisoned").flush() {
                    tracing::error!(topic = %topic.name, partition = p.index, error = %e, "flush failed");
                }
            }
        }
    }

    /// Segment rolls and retention for every partition.
    pub fn maintain_logs(&self) {
        let now = now_ms();
        for topic in self.topics() {
            for p in &topic.partitions {
                if let Err(e) = p.store.lock().expect("poisoned").maintain(now) {
                    tracing::error!(topic = %topic.name, partition = p.index, error = %e, "log maintenance failed");
                }
            }
        }
    }

    /// Snapshot of log sizes per partition for `/metrics`.
    pub fn log_sizes(&self) -> HashMap<(String, i32), u64> {
        let mut out = HashMap::new();
        for topic in self.topics() {
            for p in &topic.partitions {
                out.insert(
                    (topic.name.clone(), p.index),
                    p.store.lock().expect("poisoned").size_bytes(),
                );
            }
        }
        out
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
