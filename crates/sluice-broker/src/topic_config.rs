//! The topic-config catalogue: every topic-level config Sluice honours, its broker-level name
//! and default, how a value is checked, and how a topic's effective value is resolved (the
//! topic's override, else the cluster's dynamic broker config, else this broker's static
//! configuration) and turned into a partition's log settings ([`TopicSettings`]).

use std::collections::BTreeMap;

use sluice_log::LogConfig;

use crate::config::{is_compression_type, BrokerConfig};

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

/// Broker-level defaults of every topic config: `cfg` overlaid with the cluster's `dynamic`
/// broker configs (broker names, as AlterConfigs on the broker resource sets them).
pub fn topic_defaults(
    cfg: &BrokerConfig,
    dynamic: &BTreeMap<String, String>,
) -> BTreeMap<String, (String, ConfigSource)> {
    topic_config_defaults(cfg)
        .into_iter()
        .map(|(k, v)| match broker_name(k).and_then(|b| dynamic.get(b)) {
            Some(d) => (k.to_string(), (d.clone(), ConfigSource::DynamicBroker)),
            None => (k.to_string(), (v, ConfigSource::Default)),
        })
        .collect()
}

/// Every topic config with its value and where the value comes from: the topic's `overrides`,
/// else the broker default ([`topic_defaults`]).
pub fn effective(
    cfg: &BrokerConfig,
    dynamic: &BTreeMap<String, String>,
    overrides: &BTreeMap<String, String>,
) -> Vec<(String, String, ConfigSource)> {
    topic_defaults(cfg, dynamic)
        .into_iter()
        .map(|(k, (v, src))| match overrides.get(&k) {
            Some(o) => (k, o.clone(), ConfigSource::Topic),
            None => (k, v, src),
        })
        .collect()
}

/// Effective log settings of a topic: broker defaults overridden by topic configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSettings {
    /// Configuration handed to `sluice-log`.
    pub log: LogConfig,
}

impl TopicSettings {
    /// Parses the effective topic configuration (every key of `topic_config_defaults`, with
    /// overrides applied) into log settings.
    pub fn resolve(effective: &BTreeMap<String, String>) -> TopicSettings {
        let get = |k: &str| effective.get(k).and_then(|v| v.parse::<i64>().ok());
        let defaults = LogConfig::default();
        let retention_ms = get("retention.ms").unwrap_or(-1);
        let retention_bytes = get("retention.bytes").unwrap_or(-1);
        // `compact` keeps the latest record per key; `delete` (alone or with it) applies
        // time/size retention.
        let policy = effective
            .get("cleanup.policy")
            .map_or("delete", String::as_str);
        let compact = policy.split(',').any(|p| p.trim() == "compact");
        let delete = !compact || policy.split(',').any(|p| p.trim() == "delete");
        let log = LogConfig {
            segment_bytes: get("segment.bytes").map_or(defaults.segment_bytes, |v| {
                v.clamp(61, i64::from(i32::MAX)) as u64
            }),
            segment_ms: get("segment.ms").map(|v| v.max(0) as u64),
            retention_ms: (delete && retention_ms >= 0).then_some(retention_ms),
            retention_bytes: (delete && retention_bytes >= 0).then_some(retention_bytes as u64),
            max_message_bytes: get("max.message.bytes").map_or(defaults.max_message_bytes, |v| {
                v.clamp(61, i64::from(i32::MAX)) as u32
            }),
            durable: get("flush.messages").is_some_and(|v| v <= 1),
            timestamp_type: if effective.get("message.timestamp.type").map(String::as_str)
                == Some("LogAppendTime")
            {
                sluice_log::TimestampType::LogAppendTime
            } else {
                sluice_log::TimestampType::CreateTime
            },
            compact,
            delete_retention_ms: get("delete.retention.ms")
                .map_or(defaults.delete_retention_ms, |v| v.max(0)),
            min_cleanable_dirty_ratio: effective
                .get("min.cleanable.dirty.ratio")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|r| (0.0..=1.0).contains(r))
                .unwrap_or(defaults.min_cleanable_dirty_ratio),
            min_compaction_lag_ms: get("min.compaction.lag.ms")
                .map_or(defaults.min_compaction_lag_ms, |v| v.max(0)),
            compression: effective
                .get("compression.type")
                .and_then(|v| codec_number(v)),
            ..defaults
        };
        TopicSettings { log }
    }
}

/// Kafka's codec number for a `compression.type` value; `None` for `producer` (keep the
/// producer's) and for anything unknown (validation refuses those first).
pub fn codec_number(compression_type: &str) -> Option<u8> {
    match compression_type {
        "uncompressed" => Some(0),
        "gzip" => Some(1),
        "snappy" => Some(2),
        "lz4" => Some(3),
        "zstd" => Some(4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_properties;

    #[test]
    fn cleaner_flush_and_topic_deletion_settings_apply_and_are_checked() {
        let mut cfg = BrokerConfig::default();
        cfg.apply_properties(&parse_properties(
            "log.cleaner.delete.retention.ms=5000\nlog.cleaner.min.cleanable.ratio=0.25\n\
             log.cleaner.min.compaction.lag.ms=60000\nlog.flush.interval.ms=1000\n\
             delete.topic.enable=false\nleader.imbalance.per.broker.percentage=20\n\
             compression.type=zstd\noffsets.retention.minutes=60",
        ))
        .unwrap();
        // The cleaner settings are the defaults topics inherit.
        let defaults = topic_config_defaults(&cfg);
        assert_eq!(defaults["delete.retention.ms"], "5000");
        assert_eq!(defaults["min.cleanable.dirty.ratio"], "0.25");
        assert_eq!(defaults["min.compaction.lag.ms"], "60000");
        assert_eq!(defaults["compression.type"], "zstd");
        assert_eq!(cfg.offsets_retention_minutes, 60);
        assert_eq!(cfg.log_flush_interval_ms, Some(1000));
        assert!(!cfg.delete_topic_enable);
        assert_eq!(cfg.leader_imbalance_per_broker_percentage, 20);
        // Kafka's "never" for the flush interval.
        cfg.apply_properties(&parse_properties(
            "log.flush.interval.ms=9223372036854775807",
        ))
        .unwrap();
        assert_eq!(cfg.log_flush_interval_ms, None);
        for bad in [
            "log.cleaner.min.cleanable.ratio=1.5",
            "log.cleaner.delete.retention.ms=-1",
            "log.flush.interval.ms=-5",
            "compression.type=brotli",
            "offsets.retention.minutes=0",
        ] {
            assert!(
                cfg.apply_properties(&parse_properties(bad)).is_err(),
                "{bad}"
            );
        }
    }
}
