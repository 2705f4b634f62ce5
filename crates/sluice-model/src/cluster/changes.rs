//! Changes to a running cluster: what each update endpoint asks, and whether the cluster as it
//! stands can take it (a request's own mistakes are invalid; a clash with the stored spec is a
//! conflict).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::*;

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
