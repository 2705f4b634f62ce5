//! Row shapes and their conversion into model types.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sluice_model::{
    Cluster, ClusterSpec, ClusterState, Configuration, ConfigurationRevision, ConfigurationState,
    ErrorInfo, Node, Operation, OperationState, OperationStep, OperationType, StateInfo,
};
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;

pub(crate) const CLUSTER_COLUMNS: &str =
    "id, name, state, version, spec, tags, state_info, active_operation_id, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ClusterRow {
    pub id: Uuid,
    pub name: String,
    pub state: String,
    pub version: i64,
    pub spec: Json<ClusterSpec>,
    pub tags: Json<BTreeMap<String, String>>,
    pub state_info: Option<Json<StateInfo>>,
    pub active_operation_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn cluster_state(s: &str) -> Result<ClusterState, StoreError> {
    ClusterState::parse(s).ok_or_else(|| StoreError::Corrupt(format!("cluster state {s:?}")))
}

impl TryFrom<ClusterRow> for Cluster {
    type Error = StoreError;
    fn try_from(r: ClusterRow) -> Result<Cluster, StoreError> {
        Ok(Cluster {
            id: r.id,
            name: r.name,
            state: cluster_state(&r.state)?,
            current_version: r.version,
            spec: r.spec.0,
            tags: r.tags.0,
            state_info: r.state_info.map(|j| j.0),
            active_operation_id: r.active_operation_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub(crate) const OPERATION_COLUMNS: &str = "id, cluster_id, operation_type, state, broker_ids, source, target, steps, error, created_at, updated_at, ended_at";

#[derive(sqlx::FromRow)]
pub(crate) struct OperationRow {
    pub id: Uuid,
    pub cluster_id: Uuid,
    pub operation_type: String,
    pub state: String,
    pub broker_ids: Vec<i32>,
    pub source: Option<Json<ClusterSpec>>,
    pub target: Json<ClusterSpec>,
    pub steps: Json<Vec<OperationStep>>,
    pub error: Option<Json<ErrorInfo>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl TryFrom<OperationRow> for Operation {
    type Error = StoreError;
    fn try_from(r: OperationRow) -> Result<Operation, StoreError> {
        Ok(Operation {
            id: r.id,
            cluster_id: r.cluster_id,
            operation_type: OperationType::parse(&r.operation_type).ok_or_else(|| {
                StoreError::Corrupt(format!("operation type {:?}", r.operation_type))
            })?,
            state: OperationState::parse(&r.state)
                .ok_or_else(|| StoreError::Corrupt(format!("operation state {:?}", r.state)))?,
            broker_ids: r.broker_ids.into_iter().map(|b| b as u32).collect(),
            source: r.source.map(|j| j.0),
            target: r.target.0,
            steps: r.steps.0,
            error: r.error.map(|j| j.0),
            created_at: r.created_at,
            updated_at: r.updated_at,
            ended_at: r.ended_at,
        })
    }
}

pub(crate) const CONFIGURATION_COLUMNS: &str = "c.id, c.name, c.description, c.kafka_versions, c.tags, c.created_at, \
     r.revision, r.description AS revision_description, r.server_properties, r.created_at AS revision_created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ConfigurationRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub kafka_versions: Vec<String>,
    pub tags: Json<BTreeMap<String, String>>,
    pub created_at: DateTime<Utc>,
    pub revision: i64,
    pub revision_description: Option<String>,
    pub server_properties: Json<BTreeMap<String, String>>,
    pub revision_created_at: DateTime<Utc>,
}

impl From<ConfigurationRow> for Configuration {
    fn from(r: ConfigurationRow) -> Configuration {
        Configuration {
            id: r.id,
            name: r.name,
            description: r.description,
            kafka_versions: r.kafka_versions,
            state: ConfigurationState::Active,
            latest_revision: ConfigurationRevision {
                revision: r.revision,
                description: r.revision_description,
                server_properties: r.server_properties.0,
                created_at: r.revision_created_at,
            },
            tags: r.tags.0,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RevisionRow {
    pub revision: i64,
    pub description: Option<String>,
    pub server_properties: Json<BTreeMap<String, String>>,
    pub created_at: DateTime<Utc>,
}

impl From<RevisionRow> for ConfigurationRevision {
    fn from(r: RevisionRow) -> ConfigurationRevision {
        ConfigurationRevision {
            revision: r.revision,
            description: r.description,
            server_properties: r.server_properties.0,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct NodeRow {
    pub broker_id: i32,
    pub host: String,
    pub port: i32,
    pub zone: Option<String>,
    pub state: String,
    pub kafka_version: String,
    pub updated_at: DateTime<Utc>,
}

impl From<NodeRow> for Node {
    fn from(r: NodeRow) -> Node {
        Node {
            broker_id: r.broker_id as u32,
            host: r.host,
            port: r.port as u16,
            zone: r.zone,
            state: r.state,
            kafka_version: r.kafka_version,
            updated_at: r.updated_at,
        }
    }
}
