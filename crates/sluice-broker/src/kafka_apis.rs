//! The one table of the Kafka APIs this broker serves: key, served versions, handler module
//! (whose name is also the API's metric label) and request type.
//!
//! `kafka_apis!` hands the table to a macro of the caller's, which generates what it needs
//! from it: here the ApiVersions ranges ([`SUPPORTED`], [`supported_versions`]) and the names
//! ([`name`]); in `codec` the body decoders (`decode_only`); in `api` the handler modules and
//! the routing of `dispatch`. Adding an API is a row here and its handler file in `api/`.
//!
//! A row reads `Key lo..=hi => module(RequestType)`, then `.await` when the handler is async
//! and `-> Option` when it may answer nothing (Produce with acks=0).

use kafka_protocol::messages::ApiKey;

/// Calls `$then! { rows }` with the table of served APIs (see the module docs for a row).
macro_rules! kafka_apis {
    ($then:ident) => {
        $then! {
            Produce 3..=9 => produce(ProduceRequest).await -> Option,
            Fetch 4..=12 => fetch(FetchRequest).await,
            ListOffsets 1..=7 => list_offsets(ListOffsetsRequest),
            Metadata 0..=12 => metadata(MetadataRequest).await,
            OffsetCommit 2..=8 => offset_commit(OffsetCommitRequest).await,
            OffsetFetch 1..=8 => offset_fetch(OffsetFetchRequest),
            FindCoordinator 0..=4 => find_coordinator(FindCoordinatorRequest).await,
            JoinGroup 0..=9 => join_group(JoinGroupRequest).await,
            Heartbeat 0..=4 => heartbeat(HeartbeatRequest),
            LeaveGroup 0..=5 => leave_group(LeaveGroupRequest).await,
            SyncGroup 0..=5 => sync_group(SyncGroupRequest).await,
            DescribeGroups 0..=5 => describe_groups(DescribeGroupsRequest),
            ListGroups 0..=4 => list_groups(ListGroupsRequest),
            ApiVersions 0..=3 => api_versions(ApiVersionsRequest),
            SaslHandshake 0..=1 => sasl_handshake(SaslHandshakeRequest),
            SaslAuthenticate 0..=2 => sasl_authenticate(SaslAuthenticateRequest),
            CreateTopics 2..=7 => create_topics(CreateTopicsRequest).await,
            DeleteTopics 1..=5 => delete_topics(DeleteTopicsRequest).await,
            DeleteRecords 0..=2 => delete_records(DeleteRecordsRequest),
            InitProducerId 0..=4 => init_producer_id(InitProducerIdRequest).await,
            OffsetForLeaderEpoch 2..=4 => offset_for_leader_epoch(OffsetForLeaderEpochRequest),
            CreatePartitions 0..=3 => create_partitions(CreatePartitionsRequest).await,
            DeleteGroups 0..=2 => delete_groups(DeleteGroupsRequest).await,
            DescribeCluster 0..=1 => describe_cluster(DescribeClusterRequest),
            DescribeConfigs 1..=4 => describe_configs(DescribeConfigsRequest),
            AlterConfigs 0..=2 => alter_configs(AlterConfigsRequest).await,
            IncrementalAlterConfigs 0..=1 =>
                incremental_alter_configs(IncrementalAlterConfigsRequest).await,
            ElectLeaders 0..=2 => elect_leaders(ElectLeadersRequest).await,
            AlterPartitionReassignments 0..=1 =>
                alter_partition_reassignments(AlterPartitionReassignmentsRequest).await,
            ListPartitionReassignments 0..=0 =>
                list_partition_reassignments(ListPartitionReassignmentsRequest),
            UnregisterBroker 0..=0 => unregister_broker(UnregisterBrokerRequest).await,
            DescribeAcls 1..=3 => describe_acls(DescribeAclsRequest),
            CreateAcls 1..=3 => create_acls(CreateAclsRequest).await,
            DeleteAcls 1..=3 => delete_acls(DeleteAclsRequest).await,
            DescribeUserScramCredentials 0..=0 =>
                describe_user_scram_credentials(DescribeUserScramCredentialsRequest),
            AlterUserScramCredentials 0..=0 =>
                alter_user_scram_credentials(AlterUserScramCredentialsRequest).await,
        }
    };
}
pub(crate) use kafka_apis;

macro_rules! versions_and_names {
    ($($api:ident $lo:literal..=$hi:literal => $module:ident($req:ident) $(.$aw:ident)? $(-> $opt:ident)?),* $(,)?) => {
        /// Versions served, inclusive. ApiVersions advertises exactly this table.
        pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[$((ApiKey::$api, $lo, $hi)),*];

        /// Stable lower-case name used in logs and metric labels: the handler module's name.
        pub fn name(key: ApiKey) -> &'static str {
            match key {
                $(ApiKey::$api => stringify!($module),)*
                _ => "other",
            }
        }
    };
}
kafka_apis!(versions_and_names);

/// The served version range of `key`, if it is served at all.
pub fn supported_versions(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, lo, hi)| (*lo, *hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are metric labels: they must not change.
    #[test]
    fn names_are_the_metric_labels() {
        let expected = [
            (ApiKey::Produce, "produce"),
            (ApiKey::Fetch, "fetch"),
            (ApiKey::ListOffsets, "list_offsets"),
            (ApiKey::Metadata, "metadata"),
            (ApiKey::OffsetCommit, "offset_commit"),
            (ApiKey::OffsetFetch, "offset_fetch"),
            (ApiKey::FindCoordinator, "find_coordinator"),
            (ApiKey::JoinGroup, "join_group"),
            (ApiKey::Heartbeat, "heartbeat"),
            (ApiKey::LeaveGroup, "leave_group"),
            (ApiKey::SyncGroup, "sync_group"),
            (ApiKey::DescribeGroups, "describe_groups"),
            (ApiKey::ListGroups, "list_groups"),
            (ApiKey::ApiVersions, "api_versions"),
            (ApiKey::SaslHandshake, "sasl_handshake"),
            (ApiKey::SaslAuthenticate, "sasl_authenticate"),
            (ApiKey::CreateTopics, "create_topics"),
            (ApiKey::DeleteTopics, "delete_topics"),
            (ApiKey::DeleteRecords, "delete_records"),
            (ApiKey::InitProducerId, "init_producer_id"),
            (ApiKey::OffsetForLeaderEpoch, "offset_for_leader_epoch"),
            (ApiKey::CreatePartitions, "create_partitions"),
            (ApiKey::DeleteGroups, "delete_groups"),
            (ApiKey::DescribeCluster, "describe_cluster"),
            (ApiKey::DescribeConfigs, "describe_configs"),
            (ApiKey::AlterConfigs, "alter_configs"),
            (ApiKey::IncrementalAlterConfigs, "incremental_alter_configs"),
            (ApiKey::ElectLeaders, "elect_leaders"),
            (
                ApiKey::AlterPartitionReassignments,
                "alter_partition_reassignments",
            ),
            (
                ApiKey::ListPartitionReassignments,
                "list_partition_reassignments",
            ),
            (ApiKey::UnregisterBroker, "unregister_broker"),
            (ApiKey::DescribeAcls, "describe_acls"),
            (ApiKey::CreateAcls, "create_acls"),
            (ApiKey::DeleteAcls, "delete_acls"),
            (
                ApiKey::DescribeUserScramCredentials,
                "describe_user_scram_credentials",
            ),
            (
                ApiKey::AlterUserScramCredentials,
                "alter_user_scram_credentials",
            ),
        ];
        assert_eq!(SUPPORTED.len(), expected.len());
        for ((key, _, _), (k, label)) in SUPPORTED.iter().zip(expected) {
            assert_eq!((*key, name(*key)), (k, label));
        }
        assert_eq!(name(ApiKey::EndTxn), "other");
    }
}
