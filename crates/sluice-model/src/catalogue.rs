//! The catalogue of broker settings a configuration may set, with their types and ranges.
//!
//! Names and meanings follow Apache Kafka's broker configuration, limited to the settings that are
//! safe for a managed service to hand to its users (no listener, security or path settings).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The type and allowed values of one setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Boolean,
    Int {
        min: i64,
        max: i64,
    },
    Long {
        min: i64,
        max: i64,
    },
    Double {
        min: f64,
        max: f64,
    },
    /// One of these words.
    Enum(&'static [&'static str]),
    /// A comma-separated, non-empty list of these words.
    List(&'static [&'static str]),
}

/// One broker setting of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    pub doc: &'static str,
}

const I32: i64 = i32::MAX as i64;

macro_rules! settings {
    ($( $name:literal => $kind:expr, $default:literal, $doc:literal; )*) => {
        /// Every setting a configuration may carry, sorted by name.
        pub const SETTINGS: &[Setting] = &[ $( Setting { name: $name, kind: $kind, default: $default, doc: $doc } ),* ];
    };
}

settings! {
    "auto.create.topics.enable" => Kind::Boolean, "true", "Create a topic when a client first asks for it.";
    "auto.leader.rebalance.enable" => Kind::Boolean, "true", "Move leadership back to preferred replicas periodically.";
    "compression.type" => Kind::Enum(&["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"]), "producer", "Codec stored batches are re-encoded in; `producer` keeps the producer's.";
    "default.replication.factor" => Kind::Int { min: 1, max: 7 }, "3", "Replication factor of automatically created topics.";
    "delete.topic.enable" => Kind::Boolean, "true", "Allow topics to be deleted.";
    "group.initial.rebalance.delay.ms" => Kind::Int { min: 0, max: 300_000 }, "3000", "Wait for more members before the first rebalance of an empty group.";
    "group.max.session.timeout.ms" => Kind::Int { min: 1, max: 3_600_000 }, "1800000", "Largest session timeout a consumer may ask for.";
    "group.min.session.timeout.ms" => Kind::Int { min: 1, max: 3_600_000 }, "6000", "Smallest session timeout a consumer may ask for.";
    "leader.imbalance.per.broker.percentage" => Kind::Int { min: 0, max: 100 }, "10", "Imbalance allowed before leaders are rebalanced.";
    "log.cleaner.delete.retention.ms" => Kind::Long { min: 0, max: i64::MAX }, "86400000", "How long tombstones are kept in compacted topics.";
    "log.cleanup.policy" => Kind::List(&["delete", "compact"]), "delete", "Default cleanup policy of topics.";
    "log.flush.interval.messages" => Kind::Long { min: 1, max: i64::MAX }, "9223372036854775807", "Messages written before a forced flush.";
    "log.flush.interval.ms" => Kind::Long { min: 0, max: i64::MAX }, "1000", "Time between periodic flushes of the log.";
    "log.message.timestamp.type" => Kind::Enum(&["CreateTime", "LogAppendTime"]), "CreateTime", "Whether record timestamps are the producer's or the broker's.";
    "log.retention.bytes" => Kind::Long { min: -1, max: i64::MAX }, "-1", "Size a partition's log is kept to; -1 for no limit.";
    "log.retention.check.interval.ms" => Kind::Long { min: 1, max: i64::MAX }, "300000", "How often retention is applied.";
    "log.retention.hours" => Kind::Int { min: -1, max: I32 }, "168", "Hours records are kept; -1 for ever.";
    "log.retention.ms" => Kind::Long { min: -1, max: i64::MAX }, "604800000", "Milliseconds records are kept; -1 for ever. Overrides log.retention.hours.";
    "log.roll.ms" => Kind::Long { min: 1, max: i64::MAX }, "604800000", "Age at which a new segment is rolled.";
    "log.segment.bytes" => Kind::Int { min: 14, max: I32 }, "1073741824", "Size at which a new segment is rolled.";
    "max.incremental.fetch.session.cache.slots" => Kind::Int { min: 0, max: I32 }, "1000", "Accepted for compatibility with MSK configurations; no effect: fetch sessions are answered sessionless, which every client supports.";
    "message.max.bytes" => Kind::Int { min: 0, max: I32 }, "1048588", "Largest record batch the broker accepts.";
    "min.insync.replicas" => Kind::Int { min: 1, max: 7 }, "2", "Replicas that must acknowledge an acks=all write.";
    "num.io.threads" => Kind::Int { min: 1, max: 256 }, "8", "Accepted for compatibility with MSK configurations; no effect: requests run on one async runtime with a thread per core.";
    "num.network.threads" => Kind::Int { min: 1, max: 256 }, "3", "Accepted for compatibility with MSK configurations; no effect: the network is served by the same runtime as requests.";
    "num.partitions" => Kind::Int { min: 1, max: 10_000 }, "1", "Partitions of automatically created topics.";
    "num.replica.fetchers" => Kind::Int { min: 1, max: 64 }, "1", "Accepted for compatibility with MSK configurations; no effect: a broker copies from each leader over one connection.";
    "offsets.retention.minutes" => Kind::Int { min: 1, max: I32 }, "10080", "How long a group's committed offsets are kept once it has no members (a standalone consumer's: after each commit).";
    "replica.fetch.max.bytes" => Kind::Int { min: 0, max: I32 }, "1048576", "Bytes a follower fetches per partition per request.";
    "replica.lag.time.max.ms" => Kind::Long { min: 1, max: i64::MAX }, "30000", "Lag after which a follower leaves the ISR.";
    "replica.selector.class" => Kind::Enum(&["org.apache.kafka.common.replica.RackAwareReplicaSelector"]), "", "Lets consumers that set client.rack read from an in-sync replica in their rack (KIP-392).";
    "socket.receive.buffer.bytes" => Kind::Int { min: -1, max: I32 }, "102400", "Accepted for compatibility with MSK configurations; no effect: sockets use the OS's autotuned buffers.";
    "socket.request.max.bytes" => Kind::Int { min: 1, max: I32 }, "104857600", "Largest request the broker reads.";
    "socket.send.buffer.bytes" => Kind::Int { min: -1, max: I32 }, "102400", "Accepted for compatibility with MSK configurations; no effect: sockets use the OS's autotuned buffers.";
    "transaction.max.timeout.ms" => Kind::Int { min: 1, max: I32 }, "900000", "Accepted for compatibility with MSK configurations; no effect: transactions are not supported.";
    "unclean.leader.election.enable" => Kind::Enum(&["false"]), "false", "Only false: a partition whose in-sync replicas are all gone waits for one of them (an unclean election can still be asked for with ElectLeaders).";
    "zookeeper.session.timeout.ms" => Kind::Int { min: 1, max: I32 }, "18000", "Accepted for compatibility with MSK configurations; has no effect.";
}

/// Looks a setting up by name.
pub fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// The whitespace a value (and each item of a list) may be surrounded with: ASCII space, tab,
/// line feed and carriage return. [`SPACE_CLASS`] is the same set as a regex class.
const SPACE: &[char] = &[' ', '\t', '\n', '\r'];
pub const SPACE_CLASS: &str = r"[ \t\n\r]";

fn trim(s: &str) -> &str {
    s.trim_matches(SPACE)
}

/// Checks `value` against the setting's type and range, returning it in canonical form.
pub fn validate_value(setting: &Setting, value: &str) -> Result<String, String> {
    let v = trim(value);
    match setting.kind {
        Kind::Boolean => match v.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(v.to_ascii_lowercase()),
            _ => Err("must be true or false".into()),
        },
        Kind::Int { min, max } | Kind::Long { min, max } => match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
            Ok(_) => Err(format!("must be between {min} and {max}")),
            Err(_) => Err("must be a whole number".into()),
        },
        Kind::Double { min, max } => match v.parse::<f64>() {
            Ok(n) if n.is_finite() && (min..=max).contains(&n) => Ok(n.to_string()),
            _ => Err(format!("must be a number between {min} and {max}")),
        },
        Kind::Enum(words) => words
            .iter()
            .find(|w| w.eq_ignore_ascii_case(v))
            .map(|w| (*w).to_owned())
            .ok_or_else(|| format!("must be one of: {}", words.join(", "))),
        Kind::List(words) => {
            let items: Vec<&str> = v.split(',').map(trim).collect();
            if items.iter().any(|i| i.is_empty()) {
                return Err(format!(
                    "must be a comma-separated list of: {}",
                    words.join(", ")
                ));
            }
            let mut out = Vec::new();
            for item in items {
                match words.iter().find(|w| w.eq_ignore_ascii_case(item)) {
                    Some(w) if !out.contains(w) => out.push(*w),
                    Some(_) => {}
                    None => return Err(format!("'{item}' is not one of: {}", words.join(", "))),
                }
            }
            Ok(out.join(","))
        }
    }
}

/// One catalogue entry as `GET /v1/configurations/catalogue` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SettingInfo {
    pub name: String,
    /// boolean, int, long, double, enum or list.
    pub kind: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The allowed words of an enum or list.
    pub allowed: Vec<String>,
    pub default: String,
    pub doc: String,
}

impl From<&Setting> for SettingInfo {
    fn from(s: &Setting) -> Self {
        let (kind, min, max, allowed) = match s.kind {
            Kind::Boolean => ("boolean", None, None, vec![]),
            Kind::Int { min, max } => ("int", Some(min as f64), Some(max as f64), vec![]),
            Kind::Long { min, max } => ("long", Some(min as f64), Some(max as f64), vec![]),
            Kind::Double { min, max } => ("double", Some(min), Some(max), vec![]),
            Kind::Enum(w) => ("enum", None, None, w.to_vec()),
            Kind::List(w) => ("list", None, None, w.to_vec()),
        };
        SettingInfo {
            name: s.name.into(),
            kind: kind.into(),
            min,
            max,
            allowed: allowed.into_iter().map(String::from).collect(),
            default: s.default.into(),
            doc: s.doc.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_sorted_and_defaults_are_valid() {
        for w in SETTINGS.windows(2) {
            assert!(w[0].name < w[1].name, "{} before {}", w[0].name, w[1].name);
        }
        for s in SETTINGS {
            if !s.default.is_empty() {
                validate_value(s, s.default).unwrap_or_else(|e| panic!("{}: default {e}", s.name));
            }
        }
    }

    #[test]
    fn values_are_checked_and_canonicalised() {
        let b = setting("auto.create.topics.enable").unwrap();
        assert_eq!(validate_value(b, "TRUE").unwrap(), "true");
        assert!(validate_value(b, "yes").is_err());
        let i = setting("num.partitions").unwrap();
        assert_eq!(validate_value(i, " 12 ").unwrap(), "12");
        assert!(validate_value(i, "0").is_err());
        assert!(validate_value(i, "1.5").is_err());
        let l = setting("log.retention.ms").unwrap();
        assert!(validate_value(l, "-1").is_ok());
        assert!(validate_value(l, "-2").is_err());
        let e = setting("compression.type").unwrap();
        assert_eq!(validate_value(e, "ZSTD").unwrap(), "zstd");
        assert!(validate_value(e, "brotli").is_err());
        let list = setting("log.cleanup.policy").unwrap();
        assert_eq!(
            validate_value(list, "compact, delete,compact").unwrap(),
            "compact,delete"
        );
        assert!(validate_value(list, "delete,,").is_err());
        assert!(validate_value(list, "shred").is_err());
        assert!(setting("listeners").is_none());
    }
}
