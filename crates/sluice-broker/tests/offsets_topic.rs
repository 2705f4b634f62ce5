//! `__consumer_offsets` on one broker, through the raw protocol: created with
//! `offsets.topic.num.partitions`, batched FindCoordinator and OffsetFetch, and a count that
//! never changes afterwards — neither by CreatePartitions nor by a restart with another setting.

mod common;

use std::time::Duration;

use common::cluster::wait_for;
use common::raw::{call, connect};
use common::TestBroker;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    CreatePartitionsRequest, DescribeConfigsRequest, FindCoordinatorRequest, GroupId,
    ListGroupsRequest, MetadataRequest, OffsetCommitRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_broker::groups::partition_for;

const OFFSETS: &str = "__consumer_offsets";

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Partition count of `__consumer_offsets` and whether it is reported as internal.
fn offsets_topic(broker: &TestBroker) -> (usize, bool) {
    let mut req = MetadataRequest::default();
    let mut t = MetadataRequestTopic::default();
    t.name = Some(TopicName(s(OFFSETS)));
    req.topics = Some(vec![t]);
    let resp = call(&mut connect(broker.addr), 12, &req);
    (resp.topics[0].partitions.len(), resp.topics[0].is_internal)
}

/// A config of `__consumer_offsets` as DescribeConfigs reports it.
fn offsets_config(broker: &TestBroker, name: &str) -> Option<String> {
    let mut r = DescribeConfigsResource::default();
    r.resource_type = 2;
    r.resource_name = s(OFFSETS);
    r.configuration_keys = Some(vec![s(name)]);
    let mut req = DescribeConfigsRequest::default();
    req.resources = vec![r];
    let resp = call(&mut connect(broker.addr), 4, &req);
    resp.results[0]
        .configs
        .first()
        .and_then(|c| c.value.as_ref().map(|v| v.to_string()))
}

/// FindCoordinator v4 for `keys`: (key, node id, error code) each.
fn find(broker: &TestBroker, keys: &[&str]) -> Vec<(String, i32, i16)> {
    let mut req = FindCoordinatorRequest::default();
    req.coordinator_keys = keys.iter().map(|k| s(k)).collect();
    let resp = call(&mut connect(broker.addr), 4, &req);
    resp.coordinators
        .iter()
        .map(|c| (c.key.to_string(), c.node_id.0, c.error_code))
        .collect()
}

fn commit(broker: &TestBroker, group: &str, offset: i64) -> i16 {
    let mut p = OffsetCommitRequestPartition::default();
    p.partition_index = 0;
    p.committed_offset = offset;
    let mut t = OffsetCommitRequestTopic::default();
    t.name = TopicName(s("t"));
    t.partitions = vec![p];
    let mut req = OffsetCommitRequest::default();
    req.group_id = GroupId(s(group));
    req.generation_id_or_member_epoch = -1;
    req.topics = vec![t];
    let resp = call(&mut connect(broker.addr), 8, &req);
    resp.topics[0].partitions[0].error_code
}

/// OffsetFetch v8 for several groups, partition t-0: (error code, offset) per group.
fn fetch_v8(broker: &TestBroker, groups: &[&str]) -> Vec<(i16, i64)> {
    let mut req = OffsetFetchRequest::default();
    req.groups = groups
        .iter()
        .map(|g| {
            let mut t = OffsetFetchRequestTopics::default();
            t.name = TopicName(s("t"));
            t.partition_indexes = vec![0];
            let mut r = OffsetFetchRequestGroup::default();
            r.group_id = GroupId(s(g));
            r.topics = Some(vec![t]);
            r
        })
        .collect();
    let resp = call(&mut connect(broker.addr), 8, &req);
    resp.groups
        .iter()
        .map(|g| {
            let offset = g
                .topics
                .first()
                .map_or(-1, |t| t.partitions[0].committed_offset);
            (g.error_code, offset)
        })
        .collect()
}

/// OffsetFetch v7 (one group per request), partition t-0: (error code, offset).
fn fetch_v7(broker: &TestBroker, group: &str) -> (i16, i64) {
    let mut t = OffsetFetchRequestTopic::default();
    t.name = TopicName(s("t"));
    t.partition_indexes = vec![0];
    let mut req = OffsetFetchRequest::default();
    req.group_id = GroupId(s(group));
    req.topics = Some(vec![t]);
    let resp = call(&mut connect(broker.addr), 7, &req);
    let offset = resp
        .topics
        .first()
        .map_or(-1, |t| t.partitions[0].committed_offset);
    (resp.error_code, offset)
}

#[test]
fn offsets_topic_gets_the_configured_count_once_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.offsets_topic_num_partitions = 7);
    // A group whose partition differs between 7 and 3 partitions, and one on another partition.
    let group = (0..)
        .map(|i| format!("group-{i}"))
        .find(|g| partition_for(g, 7) != partition_for(g, 3))
        .unwrap();
    let other = (0..)
        .map(|i| format!("other-{i}"))
        .find(|g| partition_for(g, 7) != partition_for(&group, 7))
        .unwrap();

    // The first lookup creates the topic; every key is answered (this broker leads all).
    wait_for(
        Duration::from_secs(20),
        "a coordinator for both keys",
        || {
            find(&broker, &[&group, &other])
                .iter()
                .all(|(_, node, err)| *node == 0 && *err == 0)
        },
    );
    let keys: Vec<String> = find(&broker, &[&group, &other])
        .into_iter()
        .map(|k| k.0)
        .collect();
    assert_eq!(keys, vec![group.clone(), other.clone()]);
    assert_eq!(offsets_topic(&broker), (7, true));
    // Compacted as in Kafka: the latest commit of a group outlives any retention time.
    assert_eq!(
        offsets_config(&broker, "cleanup.policy").as_deref(),
        Some("compact")
    );

    // Writes wait out the replay of a partition just taken over (LOAD_IN_PROGRESS, retried).
    wait_for(Duration::from_secs(20), "the commit to go through", || {
        commit(&broker, &group, 42) == 0
    });
    assert_eq!(fetch_v8(&broker, &[&group, &other]), vec![(0, 42), (0, -1)]);
    let listed: Vec<String> = call(&mut connect(broker.addr), 4, &ListGroupsRequest::default())
        .groups
        .iter()
        .map(|g| g.group_id.0.to_string())
        .collect();
    assert_eq!(listed, vec![group.clone()]);

    // Growing the topic would move groups away from their offsets.
    let mut t = CreatePartitionsTopic::default();
    t.name = TopicName(s(OFFSETS));
    t.count = 10;
    let mut req = CreatePartitionsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 5000;
    let resp = call(&mut connect(broker.addr), 3, &req);
    assert_ne!(resp.results[0].error_code, 0);
    assert_eq!(offsets_topic(&broker).0, 7);

    // Restarted with another setting: the topic keeps 7 partitions, and the group is still
    // found on its partition of 7 (on its partition of 3 it would have no offsets).
    let dir = broker.dir.clone();
    broker.stop();
    let broker = TestBroker::start(&dir, 0, |c| c.offsets_topic_num_partitions = 3);
    wait_for(
        Duration::from_secs(20),
        "the offsets after the restart",
        || fetch_v7(&broker, &group) == (0, 42),
    );
    assert_eq!(offsets_topic(&broker).0, 7);
    assert_eq!(fetch_v8(&broker, &[&group, &other]), vec![(0, 42), (0, -1)]);
}
