//! The coordinator's value types: what handlers pass in and get back, and a committed offset.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// Group state as reported by DescribeGroups/ListGroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (possibly committed offsets).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Waiting for the leader's assignment.
    CompletingRebalance,
    /// Assignment distributed.
    Stable,
}

impl GroupState {
    /// Kafka's name of the state.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// Answer to a JoinGroup, independent of the protocol version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JoinOutcome {
    /// Kafka error code.
    pub error: i16,
    /// Generation joined.
    pub generation: i32,
    /// Group protocol type.
    pub protocol_type: Option<String>,
    /// Chosen assignor.
    pub protocol_name: Option<String>,
    /// Leader member id.
    pub leader: String,
    /// The joining member's id.
    pub member_id: String,
    /// For the leader only: every member with its metadata for the chosen protocol.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

/// Answer to a SyncGroup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncOutcome {
    /// Kafka error code.
    pub error: i16,
    /// Group protocol type.
    pub protocol_type: Option<String>,
    /// Chosen assignor.
    pub protocol_name: Option<String>,
    /// This member's assignment.
    pub assignment: Bytes,
}

/// Either an immediate answer or one that arrives when the rebalance progresses.
#[derive(Debug)]
pub enum Reply<T> {
    /// Answer now.
    Now(T),
    /// Answer later.
    Wait(oneshot::Receiver<T>),
}

/// JoinGroup parameters.
#[derive(Debug, Clone, Default)]
pub struct JoinParams {
    /// Group id.
    pub group_id: String,
    /// Member id, empty for a new member.
    pub member_id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Client id from the request header.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout_ms: i32,
    /// Rebalance timeout.
    pub rebalance_timeout_ms: i32,
    /// Protocol type, e.g. "consumer".
    pub protocol_type: String,
    /// Supported assignors with their metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// Whether the client understands MEMBER_ID_REQUIRED (JoinGroup v4+).
    pub require_known_member_id: bool,
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// Next offset to consume.
    pub offset: i64,
    /// Leader epoch of the committed record.
    pub leader_epoch: i32,
    /// Client metadata.
    pub metadata: Option<String>,
    /// When the coordinator accepted the commit (ms since the epoch; 0 in records written
    /// before it was kept), for `offsets.retention.minutes`.
    #[serde(default)]
    pub commit_timestamp_ms: i64,
}

/// Committed offsets by topic, then partition (`None`: nothing committed).
pub type OffsetRows = Vec<(String, Vec<(i32, Option<Committed>)>)>;

/// DescribeGroups view of a group.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    /// State.
    pub state: GroupState,
    /// Protocol type.
    pub protocol_type: String,
    /// Chosen protocol.
    pub protocol: String,
    /// Members.
    pub members: Vec<MemberDescription>,
}

/// DescribeGroups view of a member.
#[derive(Debug, Clone)]
pub struct MemberDescription {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Metadata for the chosen protocol.
    pub metadata: Bytes,
    /// Current assignment.
    pub assignment: Bytes,
}

/// ListGroups view of a group: (group id, protocol type, state).
pub type ListedGroup = (String, String, GroupState);
