//! One module per Kafka API. Each exposes `handle`, taking the broker, the request header and the
//! decoded request, and returning the response; `dispatch` wires decoding, handling and encoding.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use kafka_protocol::messages::*;

use crate::broker::Broker;
use crate::codec::{decode_body, encode_response, RawRequest};
use crate::error::{BrokerError, DecodeError};

pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod api_versions;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod elect_leaders;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod metadata;
pub mod offset_commit;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod sync_group;
pub mod unregister_broker;

/// Versions served, inclusive. ApiVersions advertises exactly this table.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 8),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::AlterPartitionReassignments, 0, 1),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::UnregisterBroker, 0, 0),
];

/// The served version range of `key`, if it is served at all.
pub fn supported_versions(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, lo, hi)| (*lo, *hi))
}

/// Stable lower-case name used in logs and metric labels.
pub fn name(key: ApiKey) -> &'static str {
    match key {
        ApiKey::Produce => "produce",
        ApiKey::Fetch => "fetch",
        ApiKey::ListOffsets => "list_offsets",
        ApiKey::Metadata => "metadata",
        ApiKey::OffsetCommit => "offset_commit",
        ApiKey::OffsetFetch => "offset_fetch",
        ApiKey::FindCoordinator => "find_coordinator",
        ApiKey::JoinGroup => "join_group",
        ApiKey::Heartbeat => "heartbeat",
        ApiKey::LeaveGroup => "leave_group",
        ApiKey::SyncGroup => "sync_group",
        ApiKey::DescribeGroups => "describe_groups",
        ApiKey::ListGroups => "list_groups",
        ApiKey::ApiVersions => "api_versions",
        ApiKey::CreateTopics => "create_topics",
        ApiKey::DeleteTopics => "delete_topics",
        ApiKey::DeleteRecords => "delete_records",
        ApiKey::InitProducerId => "init_producer_id",
        ApiKey::OffsetForLeaderEpoch => "offset_for_leader_epoch",
        ApiKey::CreatePartitions => "create_partitions",
        ApiKey::DeleteGroups => "delete_groups",
        ApiKey::DescribeCluster => "describe_cluster",
        ApiKey::DescribeConfigs => "describe_configs",
        ApiKey::AlterConfigs => "alter_configs",
        ApiKey::IncrementalAlterConfigs => "incremental_alter_configs",
        ApiKey::ElectLeaders => "elect_leaders",
        ApiKey::AlterPartitionReassignments => "alter_partition_reassignments",
        ApiKey::ListPartitionReassignments => "list_partition_reassignments",
        ApiKey::UnregisterBroker => "unregister_broker",
        _ => "other",
    }
}

/// Why a request produced no response frame.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The request did not decode: the connection must be closed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The response did not encode.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

macro_rules! route {
    ($raw:ident, $broker:ident, $out:ident, $key:ident, $v:ident, $cid:ident;
     $($api:ident => $module:ident $(.$aw:ident)?),* $(,)?) => {
        match $raw.api_key {
            $(ApiKey::$api => {
                let req = decode_body(&mut $raw)?;
                let resp = $module::handle($broker, &$raw.header, req)$(.$aw)?;
                encode_response($key, $v, $cid, &resp, $out)?;
            })*
            other => return Err(DecodeError::UnknownApiKey(other as i16).into()),
        }
    };
}

/// Decodes, handles and encodes one request into `out`. Returns whether a response was written
/// (acks=0 produce requests get none).
pub async fn dispatch(
    broker: &Arc<Broker>,
    mut raw: RawRequest,
    out: &mut BytesMut,
) -> Result<bool, DispatchError> {
    let key = raw.api_key;
    let v = raw.header.request_api_version;
    let cid = raw.header.correlation_id;
    let started = Instant::now();
    if key == ApiKey::Produce {
        let req: ProduceRequest = decode_body(&mut raw)?;
        let resp = produce::handle(broker, &raw.header, req).await;
        broker.metrics.observe_request(name(key), started.elapsed());
        return match resp {
            Some(resp) => {
                encode_response(key, v, cid, &resp, out)?;
                Ok(true)
            }
            None => Ok(false),
        };
    }
    route!(raw, broker, out, key, v, cid;
        Fetch => fetch.await,
        ListOffsets => list_offsets,
        Metadata => metadata.await,
        OffsetCommit => offset_commit.await,
        OffsetFetch => offset_fetch,
        FindCoordinator => find_coordinator.await,
        JoinGroup => join_group.await,
        Heartbeat => heartbeat,
        LeaveGroup => leave_group.await,
        SyncGroup => sync_group.await,
        DescribeGroups => describe_groups,
        ListGroups => list_groups,
        ApiVersions => api_versions,
        CreateTopics => create_topics.await,
        DeleteTopics => delete_topics.await,
        DeleteRecords => delete_records,
        InitProducerId => init_producer_id.await,
        OffsetForLeaderEpoch => offset_for_leader_epoch,
        CreatePartitions => create_partitions.await,
        DeleteGroups => delete_groups.await,
        DescribeCluster => describe_cluster,
        DescribeConfigs => describe_configs,
        AlterConfigs => alter_configs.await,
        IncrementalAlterConfigs => incremental_alter_configs.await,
        ElectLeaders => elect_leaders.await,
        AlterPartitionReassignments => alter_partition_reassignments.await,
        ListPartitionReassignments => list_partition_reassignments,
        UnregisterBroker => unregister_broker.await,
    );
    broker.metrics.observe_request(name(key), started.elapsed());
    Ok(true)
}

macro_rules! decode_any {
    ($raw:ident; $($api:ident => $ty:ty),* $(,)?) => {
        match $raw.api_key {
            $(ApiKey::$api => decode_body::<$ty>($raw).map(|_| ()),)*
            other => Err(DecodeError::UnknownApiKey(other as i16)),
        }
    };
}

/// Decodes a request body without handling it (used by the fuzz target and tests).
pub fn decode_only(raw: &mut RawRequest) -> Result<(), DecodeError> {
    decode_any!(raw;
        Produce => ProduceRequest,
        Fetch => FetchRequest,
        ListOffsets => ListOffsetsRequest,
        Metadata => MetadataRequest,
        OffsetCommit => OffsetCommitRequest,
        OffsetFetch => OffsetFetchRequest,
        FindCoordinator => FindCoordinatorRequest,
        JoinGroup => JoinGroupRequest,
        Heartbeat => HeartbeatRequest,
        LeaveGroup => LeaveGroupRequest,
        SyncGroup => SyncGroupRequest,
        DescribeGroups => DescribeGroupsRequest,
        ListGroups => ListGroupsRequest,
        ApiVersions => ApiVersionsRequest,
        CreateTopics => CreateTopicsRequest,
        DeleteTopics => DeleteTopicsRequest,
        DeleteRecords => DeleteRecordsRequest,
        InitProducerId => InitProducerIdRequest,
        OffsetForLeaderEpoch => OffsetForLeaderEpochRequest,
        CreatePartitions => CreatePartitionsRequest,
        DeleteGroups => DeleteGroupsRequest,
        DescribeCluster => DescribeClusterRequest,
        DescribeConfigs => DescribeConfigsRequest,
        AlterConfigs => AlterConfigsRequest,
        IncrementalAlterConfigs => IncrementalAlterConfigsRequest,
        ElectLeaders => ElectLeadersRequest,
        AlterPartitionReassignments => AlterPartitionReassignmentsRequest,
        ListPartitionReassignments => ListPartitionReassignmentsRequest,
        UnregisterBroker => UnregisterBrokerRequest,
    )
}

/// Shorthand for building protocol strings.
pub fn sb(s: impl Into<String>) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(s.into())
}
