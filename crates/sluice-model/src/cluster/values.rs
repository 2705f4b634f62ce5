//! The validated values of a cluster's shape: Kafka versions as people write them, broker
//! counts, storage and broker sizes, with the limits the API and its schema share.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Violations;

/// Kafka versions a cluster may run, oldest first. Brokers speak the protocol of these releases.
pub const KAFKA_VERSIONS: &[&str] = &["3.6.0", "3.7.0", "3.8.0", "3.9.0", "4.0.0"];

/// Broker sizes offered by name, as (name, CPU millicores, memory MiB). Named after Amazon MSK's
/// so that a migrating user finds the size they know.
pub const BROKER_TYPES: &[(&str, u32, u32)] = &[
    ("kafka.t3.small", 2000, 2048),
    ("kafka.m5.large", 2000, 8192),
    ("kafka.m5.xlarge", 4000, 16384),
    ("kafka.m5.2xlarge", 8000, 32768),
    ("kafka.m5.4xlarge", 16000, 65536),
];
/// The broker type used when a create names neither a type nor resources.
pub const DEFAULT_BROKER_TYPE: &str = "kafka.m5.large";
/// Limits on a cluster's shape.
pub const MAX_BROKERS: u32 = 60;
pub const MAX_STORAGE_GIB: u32 = 16384;
pub const MAX_ZONES: u32 = 3;
/// Bounds of explicit broker resources.
pub const MIN_CPU_MILLIS: u32 = 500;
pub const MAX_CPU_MILLIS: u32 = 64_000;
pub const MIN_MEMORY_MIB: u32 = 1024;
pub const MAX_MEMORY_MIB: u32 = 262_144;
/// A create's `client_request_token`: printable ASCII without spaces, at most this long.
pub const CLIENT_REQUEST_TOKEN_PATTERN: &str = "^[!-~]+$";
pub const CLIENT_REQUEST_TOKEN_MAX: usize = 64;

/// A validated Kafka version, one of [`KAFKA_VERSIONS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaVersion(&'static str);

impl KafkaVersion {
    /// Accepts a supported version as people write it: `3.9.0`, `3.9`, `3.9.x`, or `4`, `4.x`,
    /// `4.0`, `4.0.x` while one release matches. A spelling that matches several releases (`3`,
    /// `3.x`) is refused naming them. The value is the canonical `major.minor.patch`.
    pub fn parse(s: &str) -> Result<KafkaVersion, String> {
        match version_candidates(s).as_deref() {
            Some([one]) => Ok(KafkaVersion(one)),
            Some(many) if many.len() > 1 => Err(format!(
                "ambiguous Kafka version '{s}': it matches {}; name one",
                many.join(", ")
            )),
            _ => Err(format!(
                "unsupported Kafka version; supported: {}",
                KAFKA_VERSIONS.join(", ")
            )),
        }
    }

    /// Every spelling [`KafkaVersion::parse`] accepts, sorted: the schema's `enum`.
    pub fn spellings() -> Vec<String> {
        let mut out: Vec<String> = KAFKA_VERSIONS
            .iter()
            .flat_map(|v| {
                let parts: Vec<&str> = v.split('.').collect();
                (1..=parts.len()).flat_map(move |n| {
                    let prefix = parts[..n].join(".");
                    let wild = (n < parts.len()).then(|| format!("{prefix}.x"));
                    std::iter::once(prefix).chain(wild)
                })
            })
            .filter(|s| version_candidates(s).is_some_and(|c| c.len() == 1))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// Position in [`KAFKA_VERSIONS`]: a larger rank is a newer release.
    pub(crate) fn rank(&self) -> usize {
        KAFKA_VERSIONS
            .iter()
            .position(|v| *v == self.0)
            .unwrap_or(0)
    }
}

/// The supported versions a spelling names, or `None` when it is not a version spelling: one to
/// three dot-separated numbers, the last of fewer than three optionally followed by `.x`.
fn version_candidates(s: &str) -> Option<Vec<&'static str>> {
    let mut parts: Vec<&str> = s.split('.').collect();
    if parts.last() == Some(&"x") && parts.len() > 1 {
        parts.pop();
    }
    let numeric = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if parts.is_empty() || parts.len() > 3 || !parts.iter().all(numeric) {
        return None;
    }
    if s.ends_with(".x") && parts.len() == 3 {
        return None;
    }
    Some(
        KAFKA_VERSIONS
            .iter()
            .copied()
            .filter(|v| {
                let have: Vec<&str> = v.split('.').collect();
                have.len() >= parts.len() && have[..parts.len()] == parts[..]
            })
            .collect(),
    )
}

/// A broker count between 1 and [`MAX_BROKERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BrokerCount(u32);

impl BrokerCount {
    pub fn parse(n: u32) -> Result<BrokerCount, String> {
        if (1..=MAX_BROKERS).contains(&n) {
            Ok(BrokerCount(n))
        } else {
            Err(format!("broker count must be between 1 and {MAX_BROKERS}"))
        }
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Storage per broker in GiB, between 1 and [`MAX_STORAGE_GIB`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StorageGib(u32);

impl StorageGib {
    pub fn parse(n: u32) -> Result<StorageGib, String> {
        if (1..=MAX_STORAGE_GIB).contains(&n) {
            Ok(StorageGib(n))
        } else {
            Err(format!(
                "storage must be between 1 and {MAX_STORAGE_GIB} GiB per broker"
            ))
        }
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// CPU and memory of one broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokerResources {
    /// CPU in millicores (1000 = one core), 500 to 64000.
    pub cpu_millis: u32,
    /// Memory in MiB, 1024 to 262144.
    pub memory_mib: u32,
}

impl BrokerResources {
    pub(crate) fn validate(&self, field: &str, v: &mut Violations) {
        if !(MIN_CPU_MILLIS..=MAX_CPU_MILLIS).contains(&self.cpu_millis) {
            v.add(
                format!("{field}.cpu_millis"),
                format!("must be between {MIN_CPU_MILLIS} and {MAX_CPU_MILLIS}"),
            );
        }
        if !(MIN_MEMORY_MIB..=MAX_MEMORY_MIB).contains(&self.memory_mib) {
            v.add(
                format!("{field}.memory_mib"),
                format!("must be between {MIN_MEMORY_MIB} and {MAX_MEMORY_MIB}"),
            );
        }
    }
}
