//! Clusters: their specification, states, and the API shapes that create, list and change them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{ClusterName, FieldError, OperationType, Tags, Violations};

mod changes;
mod values;

pub use changes::*;
pub use values::*;

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

#[cfg(test)]
mod tests;
