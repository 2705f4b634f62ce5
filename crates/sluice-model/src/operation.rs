//! Operations: each accepted change to a cluster is carried out as one operation with steps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ClusterSpec;

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationType {
    CreateCluster,
    DeleteCluster,
    UpdateBrokerCount,
    UpdateBrokerStorage,
    UpdateConfiguration,
    UpdateKafkaVersion,
    UpdateBrokerType,
    RebootBroker,
    /// Started by the reconciler when a broker died or stopped answering.
    HealCluster,
}

impl OperationType {
    pub const ALL: [OperationType; 9] = [
        OperationType::CreateCluster,
        OperationType::DeleteCluster,
        OperationType::UpdateBrokerCount,
        OperationType::UpdateBrokerStorage,
        OperationType::UpdateConfiguration,
        OperationType::UpdateKafkaVersion,
        OperationType::UpdateBrokerType,
        OperationType::RebootBroker,
        OperationType::HealCluster,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OperationType::CreateCluster => "CREATE_CLUSTER",
            OperationType::DeleteCluster => "DELETE_CLUSTER",
            OperationType::UpdateBrokerCount => "UPDATE_BROKER_COUNT",
            OperationType::UpdateBrokerStorage => "UPDATE_BROKER_STORAGE",
            OperationType::UpdateConfiguration => "UPDATE_CONFIGURATION",
            OperationType::UpdateKafkaVersion => "UPDATE_KAFKA_VERSION",
            OperationType::UpdateBrokerType => "UPDATE_BROKER_TYPE",
            OperationType::RebootBroker => "REBOOT_BROKER",
            OperationType::HealCluster => "HEAL_CLUSTER",
        }
    }

    pub fn parse(s: &str) -> Option<OperationType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The state a cluster is in while an operation of this type runs.
    pub fn cluster_state(self) -> crate::ClusterState {
        use crate::ClusterState as S;
        match self {
            OperationType::CreateCluster => S::Creating,
            OperationType::DeleteCluster => S::Deleting,
            OperationType::RebootBroker => S::RebootingBroker,
            OperationType::HealCluster => S::Healing,
            _ => S::Updating,
        }
    }
}

/// Where an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationState {
    Pending,
    InProgress,
    UpdateComplete,
    UpdateFailed,
}

impl OperationState {
    pub const ALL: [OperationState; 4] = [
        OperationState::Pending,
        OperationState::InProgress,
        OperationState::UpdateComplete,
        OperationState::UpdateFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OperationState::Pending => "PENDING",
            OperationState::InProgress => "IN_PROGRESS",
            OperationState::UpdateComplete => "UPDATE_COMPLETE",
            OperationState::UpdateFailed => "UPDATE_FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<OperationState> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the operation has ended, well or badly.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OperationState::UpdateComplete | OperationState::UpdateFailed
        )
    }
}

/// Where one step of an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    Pending,
    InProgress,
    Complete,
    Failed,
    Skipped,
}

/// One step of an operation, for example "restart broker 2".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OperationStep {
    /// What the step does, for example `RESTART_BROKER`.
    pub name: String,
    pub status: StepStatus,
    /// The broker the step touches, if it touches one.
    pub broker_id: Option<u32>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// What happened, for a person (set on failure, and on some completions).
    pub message: Option<String>,
}

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorInfo {
    /// A stable, machine-readable code.
    pub code: String,
    pub message: String,
}

/// An operation as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Operation {
    pub id: Uuid,
    pub cluster_id: Uuid,
    pub operation_type: OperationType,
    pub state: OperationState,
    /// Brokers named by the request (a reboot names one).
    pub broker_ids: Vec<u32>,
    /// The cluster's spec before the operation (absent for a create).
    pub source: Option<ClusterSpec>,
    /// The cluster's spec the operation moves to.
    pub target: ClusterSpec,
    pub steps: Vec<OperationStep>,
    pub error: Option<ErrorInfo>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// A page of operations, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OperationList {
    pub operations: Vec<Operation>,
    pub next_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in OperationType::ALL {
            assert_eq!(OperationType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        for s in OperationState::ALL {
            assert_eq!(OperationState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!(OperationState::UpdateFailed.is_terminal());
        assert!(!OperationState::InProgress.is_terminal());
        assert_eq!(
            OperationType::RebootBroker.cluster_state(),
            crate::ClusterState::RebootingBroker
        );
        assert_eq!(
            OperationType::UpdateBrokerStorage.cluster_state(),
            crate::ClusterState::Updating
        );
    }
}
