//! Clusters: their specification, states, and the API shapes that create, list and change them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{ClusterName, FieldError, OperationType, Tags, Violations};

/// Where a cluster is in its life. Only the reconciler moves a cluster between states, except
/// that an accepted update moves ACTIVE to UPDATING (or REBOOTING_BROKER) and a delete to DELETING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterState {
    Creating,
    Active,
    Updating,
    RebootingBroker,
    Healing,
    Maintenance,
    Deleting,
    Failed,
}

impl ClusterState {
    pub const ALL: [ClusterState; 8] = [
        ClusterState::Creating,
        ClusterState::Active,
        ClusterState::Updating,
        ClusterState::RebootingBroker,
        ClusterState::Healing,
        ClusterState::Maintenance,
        ClusterState::Deleting,
        ClusterState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClusterState::Creating => "CREATING",
            ClusterState::Active => "ACTIVE",
            ClusterState::Updating => "UPDATING",
            ClusterState::RebootingBroker => "REBOOTING_BROKER",
            ClusterState::Healing => "HEALING",
            ClusterState::Maintenance => "MAINTENANCE",
            ClusterState::Deleting => "DELETING",
            ClusterState::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<ClusterState> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether a spec change (an update operation) may start in this state.
    pub fn accepts_updates(self) -> bool {
        self == ClusterState::Active
    }

    /// Whether a delete may start in this state: anything but a delete already under way.
    pub fn accepts_delete(self) -> bool {
        self != ClusterState::Deleting
    }
}

impl std::fmt::Display for ClusterState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    fn rank(&self) -> usize {
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
    fn validate(&self, field: &str, v: &mut Violations) {
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

/// A reference to one revision of a broker configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigurationRef {
    /// The configuration's id.
    pub id: Uuid,
    /// A revision number of that configuration, starting at 1.
    #[schema(minimum = 1)]
    pub revision: i64,
}

/// What a cluster should look like. Stored as the cluster's desired state; the reconciler makes
/// the running brokers match it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClusterSpec {
    /// One of the supported Kafka versions.
    #[schema(example = "3.7.0")]
    pub kafka_version: String,
    /// Number of brokers, a multiple of `zone_count`.
    pub broker_count: u32,
    /// The named broker type, or null when resources were given directly.
    pub broker_type: Option<String>,
    /// CPU and memory of each broker (resolved from the type when one is named).
    pub broker_resources: BrokerResources,
    /// Storage per broker, GiB.
    pub storage_gib: u32,
    /// Zones the brokers are spread across.
    pub zone_count: u32,
    /// The configuration revision applied to the brokers, if any.
    pub configuration: Option<ConfigurationRef>,
}

/// Resolves a broker size from a type name or explicit resources (exactly one may be given).
fn resolve_broker_size(
    broker_type: Option<&str>,
    resources: Option<&BrokerResources>,
    v: &mut Violations,
) -> Option<(Option<String>, BrokerResources)> {
    match (broker_type, resources) {
        (Some(_), Some(_)) => {
            v.add(
                "broker_type",
                "give either broker_type or broker_resources, not both",
            );
            None
        }
        (None, Some(r)) => {
            let before = v.clone();
            r.validate("broker_resources", v);
            (*v == before).then_some((None, *r))
        }
        (t, None) => {
            let name = t.unwrap_or(DEFAULT_BROKER_TYPE);
            match BROKER_TYPES.iter().find(|(n, _, _)| *n == name) {
                Some((n, cpu, mem)) => Some((
                    Some((*n).to_owned()),
                    BrokerResources {
                        cpu_millis: *cpu,
                        memory_mib: *mem,
                    },
                )),
                None => {
                    let names: Vec<_> = BROKER_TYPES.iter().map(|t| t.0).collect();
                    v.add(
                        "broker_type",
                        format!("unknown broker type; known: {}", names.join(", ")),
                    );
                    None
                }
            }
        }
    }
}

fn check_zone_fit(broker_count: u32, zone_count: u32, field: &str, v: &mut Violations) {
    if zone_count > 0 && broker_count % zone_count != 0 {
        v.add(
            field,
            format!(
                "broker count {broker_count} must be a multiple of the zone count {zone_count}"
            ),
        );
    }
}

/// Body of `POST /v1/clusters`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClusterRequest {
    /// 1–64 ASCII letters, digits and '-', starting with a letter; unique in the tenant.
    #[schema(example = "orders")]
    pub name: String,
    /// One of the supported Kafka versions.
    #[schema(example = "3.7.0")]
    pub kafka_version: String,
    /// Number of brokers, 1–60, a multiple of `zone_count`.
    #[schema(example = 3)]
    pub broker_count: u32,
    /// A named broker size (default `kafka.m5.large`); exclusive with `broker_resources`.
    #[serde(default)]
    pub broker_type: Option<String>,
    /// Explicit broker CPU and memory; exclusive with `broker_type`.
    #[serde(default)]
    pub broker_resources: Option<BrokerResources>,
    /// Storage per broker, 1–16384 GiB.
    #[schema(example = 100)]
    pub storage_gib: u32,
    /// Zones to spread brokers across, 1–3 (default 1).
    #[serde(default)]
    pub zone_count: Option<u32>,
    /// A configuration revision to apply to the brokers.
    #[serde(default)]
    pub configuration: Option<ConfigurationRef>,
    /// Tags for the cluster.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Makes retries safe: a create repeated with the same token and body returns the cluster the
    /// first one made; the same token with another body is rejected. 1–64 printable ASCII characters.
    #[serde(default)]
    pub client_request_token: Option<String>,
}

/// A create request that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCreateCluster {
    pub name: ClusterName,
    pub spec: ClusterSpec,
    pub tags: Tags,
    pub client_request_token: Option<String>,
}

impl CreateClusterRequest {
    /// Checks every field and reports all problems at once.
    pub fn validate(&self) -> Result<ValidCreateCluster, Vec<FieldError>> {
        let mut v = Violations::new();
        let name = v.check("name", ClusterName::parse(&self.name));
        let version = v.check("kafka_version", KafkaVersion::parse(&self.kafka_version));
        let count = v.check("broker_count", BrokerCount::parse(self.broker_count));
        let storage = v.check("storage_gib", StorageGib::parse(self.storage_gib));
        let zones = self.zone_count.unwrap_or(1);
        if !(1..=MAX_ZONES).contains(&zones) {
            v.add(
                "zone_count",
                format!("zone count must be between 1 and {MAX_ZONES}"),
            );
        } else if count.is_some() {
            check_zone_fit(self.broker_count, zones, "broker_count", &mut v);
        }
        let size = resolve_broker_size(
            self.broker_type.as_deref(),
            self.broker_resources.as_ref(),
            &mut v,
        );
        if let Some(c) = &self.configuration {
            if c.revision < 1 {
                v.add("configuration.revision", "revision must be at least 1");
            }
        }
        let tags = Tags::parse(&self.tags, "tags", &mut v);
        if let Some(t) = &self.client_request_token {
            if t.is_empty()
                || t.len() > CLIENT_REQUEST_TOKEN_MAX
                || !t.chars().all(|c| c.is_ascii_graphic())
            {
                v.add(
                    "client_request_token",
                    format!("must be 1 to {CLIENT_REQUEST_TOKEN_MAX} printable ASCII characters"),
                );
            }
        }
        if !v.is_empty() {
            return Err(v.into_errors());
        }
        let (broker_type, broker_resources) = size.expect("validated");
        Ok(ValidCreateCluster {
            name: name.expect("validated"),
            spec: ClusterSpec {
                kafka_version: version.expect("validated").as_str().to_owned(),
                broker_count: count.expect("validated").get(),
                broker_type,
                broker_resources,
                storage_gib: storage.expect("validated").get(),
                zone_count: zones,
                configuration: self.configuration,
            },
            tags: tags.expect("validated"),
            client_request_token: self.client_request_token.clone(),
        })
    }
}

/// A change to a running cluster's spec, as asked by one of the update endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecChange {
    BrokerCount(u32),
    Storage(u32),
    Configuration(ConfigurationRef),
    KafkaVersion(String),
    BrokerType {
        broker_type: Option<String>,
        broker_resources: Option<BrokerResources>,
    },
    RebootBroker(u32),
}

impl SpecChange {
    /// The kind of operation this change starts.
    pub fn operation_type(&self) -> OperationType {
        match self {
            SpecChange::BrokerCount(_) => OperationType::UpdateBrokerCount,
            SpecChange::Storage(_) => OperationType::UpdateBrokerStorage,
            SpecChange::Configuration(_) => OperationType::UpdateConfiguration,
            SpecChange::KafkaVersion(_) => OperationType::UpdateKafkaVersion,
            SpecChange::BrokerType { .. } => OperationType::UpdateBrokerType,
            SpecChange::RebootBroker(_) => OperationType::RebootBroker,
        }
    }

    /// The broker ids the change touches by name (only a reboot names one).
    pub fn broker_ids(&self) -> Vec<u32> {
        match self {
            SpecChange::RebootBroker(id) => vec![*id],
            _ => Vec::new(),
        }
    }
}

/// Why a change was refused: the request is wrong in itself, or it conflicts with the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRefused {
    /// The request is invalid whatever the cluster (`validation-failed`).
    Invalid(Vec<FieldError>),
    /// The request is valid but does not apply to this cluster as it stands (`invalid-change`).
    Conflict(Vec<FieldError>),
}

impl SpecChange {
    /// Checks what can be checked without the cluster: ranges, names and versions.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Violations::new();
        match self {
            SpecChange::BrokerCount(n) => {
                v.check("broker_count", BrokerCount::parse(*n));
            }
            SpecChange::Storage(gib) => {
                v.check("storage_gib", StorageGib::parse(*gib));
            }
            SpecChange::Configuration(c) => {
                if c.revision < 1 {
                    v.add("configuration.revision", "revision must be at least 1");
                }
            }
            SpecChange::KafkaVersion(target) => {
                v.check("kafka_version", KafkaVersion::parse(target));
            }
            SpecChange::BrokerType {
                broker_type,
                broker_resources,
            } => {
                if broker_type.is_none() && broker_resources.is_none() {
                    v.add("broker_type", "give broker_type or broker_resources");
                } else {
                    resolve_broker_size(broker_type.as_deref(), broker_resources.as_ref(), &mut v);
                }
            }
            SpecChange::RebootBroker(id) => {
                if !(1..=MAX_BROKERS).contains(id) {
                    v.add(
                        "broker_id",
                        format!("broker id must be between 1 and {MAX_BROKERS}"),
                    );
                }
            }
        }
        v.into_result(|| ())
    }
}

impl ClusterSpec {
    /// The spec after `change`, or why the change is not allowed: invalid in itself
    /// ([`SpecChange::validate`]), or in conflict with this spec. A change that would leave the
    /// spec as it is, is a conflict too: it would start an operation that does nothing.
    pub fn apply(&self, change: &SpecChange) -> Result<ClusterSpec, ChangeRefused> {
        change.validate().map_err(ChangeRefused::Invalid)?;
        let mut v = Violations::new();
        let mut next = self.clone();
        match change {
            SpecChange::BrokerCount(n) => {
                check_zone_fit(*n, self.zone_count, "broker_count", &mut v);
                if *n == self.broker_count {
                    v.add(
                        "broker_count",
                        format!("the cluster already has {n} brokers"),
                    );
                }
                next.broker_count = *n;
            }
            SpecChange::Storage(gib) => {
                if *gib <= self.storage_gib {
                    v.add(
                        "storage_gib",
                        format!(
                            "storage can only grow: the cluster has {} GiB per broker, asked for {gib}",
                            self.storage_gib
                        ),
                    );
                }
                next.storage_gib = *gib;
            }
            SpecChange::Configuration(c) => {
                if self.configuration == Some(*c) {
                    v.add(
                        "configuration",
                        "the cluster already runs this configuration revision",
                    );
                }
                next.configuration = Some(*c);
            }
            SpecChange::KafkaVersion(target) => {
                let to = KafkaVersion::parse(target).map_err(|e| {
                    ChangeRefused::Invalid(vec![FieldError {
                        field: "kafka_version".into(),
                        message: e,
                    }])
                })?;
                let from = KafkaVersion::parse(&self.kafka_version).ok();
                match from {
                    Some(f) if f.rank() == to.rank() => v.add(
                        "kafka_version",
                        format!("the cluster already runs Kafka {}", to.as_str()),
                    ),
                    Some(f) if f.rank() > to.rank() => v.add(
                        "kafka_version",
                        format!(
                            "downgrades are not supported: {} to {}",
                            f.as_str(),
                            to.as_str()
                        ),
                    ),
                    _ => {}
                }
                next.kafka_version = to.as_str().to_owned();
            }
            SpecChange::BrokerType {
                broker_type,
                broker_resources,
            } => {
                let mut invalid = Violations::new();
                if let Some((t, r)) = resolve_broker_size(
                    broker_type.as_deref(),
                    broker_resources.as_ref(),
                    &mut invalid,
                ) {
                    if t == self.broker_type && r == self.broker_resources {
                        v.add("broker_type", "the brokers already have this size");
                    }
                    next.broker_type = t;
                    next.broker_resources = r;
                }
            }
            SpecChange::RebootBroker(id) => {
                if *id > self.broker_count {
                    v.add(
                        "broker_id",
                        format!(
                            "broker id must be between 1 and {}, the cluster's broker count",
                            self.broker_count
                        ),
                    );
                }
            }
        }
        v.into_result(|| next).map_err(ChangeRefused::Conflict)
    }
}

/// A cluster as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Cluster {
    pub id: Uuid,
    pub name: String,
    pub state: ClusterState,
    /// Bumped by every accepted spec change; updates must quote it as `current_version`.
    pub current_version: i64,
    /// The desired specification.
    pub spec: ClusterSpec,
    pub tags: BTreeMap<String, String>,
    /// Why the cluster is in its state, when that needs saying (for example why it FAILED).
    pub state_info: Option<StateInfo>,
    /// The operation being carried out, if any.
    pub active_operation_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A machine-readable code and a human message explaining a state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StateInfo {
    pub code: String,
    pub message: String,
}

/// Query of `GET /v1/clusters`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListClustersQuery {
    /// Only clusters whose name starts with this.
    pub name_prefix: Option<String>,
    /// Only clusters in this state.
    pub state: Option<ClusterState>,
    /// The `next_token` of the previous page.
    pub next_token: Option<String>,
    /// Page size, 1–100 (default 10).
    pub max_results: Option<u32>,
}

/// A page of clusters.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClusterList {
    pub clusters: Vec<Cluster>,
    /// Pass as `next_token` to get the next page; absent on the last page.
    pub next_token: Option<String>,
}

/// The answer to a create, an update or a delete: the cluster as it now stands and the operation
/// that carries the change out.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClusterOperation {
    pub cluster: Cluster,
    pub operation: crate::Operation,
}

/// A broker of a running cluster, as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Node {
    /// Kafka broker id (node.id), from 1.
    pub broker_id: u32,
    /// Host clients connect to.
    pub host: String,
    /// Kafka listener port.
    pub port: u16,
    /// Zone (Kafka rack) the broker runs in.
    pub zone: Option<String>,
    /// Runtime state of the broker, for example RUNNING, STARTING, STOPPED.
    pub state: String,
    pub kafka_version: String,
    pub updated_at: DateTime<Utc>,
}

/// `GET /v1/clusters/{id}/nodes`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NodeList {
    pub nodes: Vec<Node>,
}

/// `GET /v1/clusters/{id}/bootstrap-brokers`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BootstrapBrokers {
    /// Comma-separated `host:port` list, as Kafka clients take for `bootstrap.servers`.
    #[schema(example = "127.0.0.1:19092,127.0.0.1:19093")]
    pub bootstrap_brokers: String,
}

/// Body of `PUT /v1/clusters/{id}/broker-count`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBrokerCountRequest {
    pub current_version: i64,
    /// The new number of brokers (grow or shrink).
    pub broker_count: u32,
}

/// Body of `PUT /v1/clusters/{id}/storage`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStorageRequest {
    pub current_version: i64,
    /// New storage per broker in GiB; storage only grows.
    pub storage_gib: u32,
}

/// Body of `PUT /v1/clusters/{id}/configuration`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfigurationRequest {
    pub current_version: i64,
    pub configuration: ConfigurationRef,
}

/// Body of `PUT /v1/clusters/{id}/version`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateKafkaVersionRequest {
    pub current_version: i64,
    /// A newer supported Kafka version.
    pub kafka_version: String,
}

/// Body of `PUT /v1/clusters/{id}/broker-type`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBrokerTypeRequest {
    pub current_version: i64,
    #[serde(default)]
    pub broker_type: Option<String>,
    #[serde(default)]
    pub broker_resources: Option<BrokerResources>,
}

/// Body of `POST /v1/clusters/{id}/reboot-broker`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RebootBrokerRequest {
    pub current_version: i64,
    /// The broker to reboot, 1..=broker_count.
    pub broker_id: u32,
}

/// Query of `DELETE /v1/clusters/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteClusterQuery {
    /// When given, the delete is refused unless the cluster is at this version.
    pub current_version: Option<i64>,
}

#[cfg(test)]
mod tests;
