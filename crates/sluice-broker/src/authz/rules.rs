//! What each served API needs, as Kafka's `KafkaApis` checks it, and the error a refusal
//! gets. The handlers do the checks (through [`Broker::authorize`](crate::broker::Broker) and
//! friends); this table is their summary, and a test holds it to the table of served APIs
//! ([`crate::kafka_apis`]), so a new API cannot be added without deciding its rule.

use kafka_protocol::messages::ApiKey;

/// One API's authorization rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The API.
    pub api: ApiKey,
    /// The operations and resources checked.
    pub needs: &'static str,
    /// The error a refusal gets, and where.
    pub refused: &'static str,
}

const fn r(api: ApiKey, needs: &'static str, refused: &'static str) -> Rule {
    Rule {
        api,
        needs,
        refused,
    }
}

const TOPIC_DENIED: &str = "TOPIC_AUTHORIZATION_FAILED per topic/partition";
const GROUP_DENIED: &str = "GROUP_AUTHORIZATION_FAILED";
const CLUSTER_DENIED: &str = "CLUSTER_AUTHORIZATION_FAILED";

/// The rules, one per served API.
pub const RULES: &[Rule] = &[
    r(ApiKey::Produce, "WRITE TOPIC (and WRITE TRANSACTIONAL_ID when transactional); internal topics are never written by clients (INVALID_TOPIC_EXCEPTION)", TOPIC_DENIED),
    r(ApiKey::Fetch, "consumers: READ TOPIC; a replica id: CLUSTER_ACTION CLUSTER (Broker::may_act_as_replica)", TOPIC_DENIED),
    r(ApiKey::ListOffsets, "DESCRIBE TOPIC; a replica id as Fetch", TOPIC_DENIED),
    r(ApiKey::Metadata, "DESCRIBE TOPIC (all-topics requests leave the others out); auto-creation CREATE CLUSTER or CREATE TOPIC", TOPIC_DENIED),
    r(ApiKey::OffsetCommit, "READ GROUP, then READ TOPIC per partition", "GROUP_AUTHORIZATION_FAILED on every partition; else TOPIC_AUTHORIZATION_FAILED per partition"),
    r(ApiKey::OffsetFetch, "DESCRIBE GROUP, then DESCRIBE TOPIC (all-partitions requests leave the others out)", "GROUP_AUTHORIZATION_FAILED; TOPIC_AUTHORIZATION_FAILED per partition"),
    r(ApiKey::FindCoordinator, "DESCRIBE GROUP, or DESCRIBE TRANSACTIONAL_ID", "GROUP_AUTHORIZATION_FAILED / TRANSACTIONAL_ID_AUTHORIZATION_FAILED"),
    r(ApiKey::JoinGroup, "READ GROUP", GROUP_DENIED),
    r(ApiKey::Heartbeat, "READ GROUP", GROUP_DENIED),
    r(ApiKey::LeaveGroup, "READ GROUP", GROUP_DENIED),
    r(ApiKey::SyncGroup, "READ GROUP", GROUP_DENIED),
    r(ApiKey::DescribeGroups, "DESCRIBE GROUP per group", "GROUP_AUTHORIZATION_FAILED per group"),
    r(ApiKey::ListGroups, "DESCRIBE CLUSTER for all, else the groups with DESCRIBE GROUP", "groups left out"),
    r(ApiKey::ApiVersions, "nothing", "never"),
    r(ApiKey::SaslHandshake, "nothing: it is the connection's SASL exchange (sasl.rs)", "ILLEGAL_SASL_STATE outside an exchange"),
    r(ApiKey::SaslAuthenticate, "nothing: it is the connection's SASL exchange (sasl.rs)", "ILLEGAL_SASL_STATE outside an exchange"),
    r(ApiKey::CreateTopics, "CREATE CLUSTER or CREATE TOPIC", TOPIC_DENIED),
    r(ApiKey::DeleteTopics, "DELETE TOPIC", TOPIC_DENIED),
    r(ApiKey::DeleteRecords, "DELETE TOPIC", TOPIC_DENIED),
    r(ApiKey::InitProducerId, "WRITE TRANSACTIONAL_ID with a transactional id, else IDEMPOTENT_WRITE CLUSTER or WRITE on some TOPIC (authorizeByResourceType)", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED / CLUSTER_AUTHORIZATION_FAILED"),
    r(ApiKey::OffsetForLeaderEpoch, "a replica id: CLUSTER_ACTION CLUSTER; consumers DESCRIBE TOPIC", "CLUSTER_AUTHORIZATION_FAILED on every partition / TOPIC_AUTHORIZATION_FAILED per partition"),
    r(ApiKey::CreatePartitions, "ALTER TOPIC", TOPIC_DENIED),
    r(ApiKey::DeleteGroups, "DELETE GROUP per group", "GROUP_AUTHORIZATION_FAILED per group"),
    r(ApiKey::DescribeCluster, "nothing (as Kafka: DESCRIBE CLUSTER only decides the authorized operations it reports, which Sluice does not)", "never"),
    r(ApiKey::DescribeConfigs, "DESCRIBE_CONFIGS TOPIC / CLUSTER (broker resources)", "TOPIC_AUTHORIZATION_FAILED / CLUSTER_AUTHORIZATION_FAILED per resource"),
    r(ApiKey::AlterConfigs, "ALTER_CONFIGS TOPIC / CLUSTER (broker resources)", "TOPIC_AUTHORIZATION_FAILED / CLUSTER_AUTHORIZATION_FAILED per resource"),
    r(ApiKey::IncrementalAlterConfigs, "ALTER_CONFIGS TOPIC / CLUSTER (broker resources)", "TOPIC_AUTHORIZATION_FAILED / CLUSTER_AUTHORIZATION_FAILED per resource"),
    r(ApiKey::ElectLeaders, "ALTER CLUSTER", CLUSTER_DENIED),
    r(ApiKey::AlterPartitionReassignments, "ALTER CLUSTER", CLUSTER_DENIED),
    r(ApiKey::ListPartitionReassignments, "DESCRIBE CLUSTER", CLUSTER_DENIED),
    r(ApiKey::UnregisterBroker, "ALTER CLUSTER", CLUSTER_DENIED),
    r(ApiKey::DescribeAcls, "DESCRIBE CLUSTER (SECURITY_DISABLED without an authorizer)", CLUSTER_DENIED),
    r(ApiKey::CreateAcls, "ALTER CLUSTER (SECURITY_DISABLED without an authorizer)", "CLUSTER_AUTHORIZATION_FAILED per creation"),
    r(ApiKey::DeleteAcls, "ALTER CLUSTER (SECURITY_DISABLED without an authorizer)", "CLUSTER_AUTHORIZATION_FAILED per filter"),
    r(ApiKey::DescribeUserScramCredentials, "DESCRIBE CLUSTER", CLUSTER_DENIED),
    r(ApiKey::AlterUserScramCredentials, "ALTER CLUSTER", "CLUSTER_AUTHORIZATION_FAILED per user"),
];

/// The rule of `api`.
pub fn rule(api: ApiKey) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.api == api)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka_apis::SUPPORTED;

    #[test]
    fn every_served_api_has_exactly_one_rule() {
        for (key, _, _) in SUPPORTED {
            assert!(rule(*key).is_some(), "no authorization rule for {key:?}");
        }
        assert_eq!(RULES.len(), SUPPORTED.len(), "a rule for an API not served");
    }
}
