//! `sluice.max.partitions.per.request` and `sluice.max.partitions.per.topic` over the wire, and
//! `auto.create.topics.enable=false`: refused requests create nothing and the broker serves on.

mod common;

use common::raw::{batch, call, connect};
use common::TestBroker;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteRecordsRequest, FetchRequest,
    ListOffsetsRequest, MetadataRequest, OffsetForLeaderEpochRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_PARTITIONS: i16 = 37;
const INVALID_REQUEST: i16 = 42;
const POLICY_VIOLATION: i16 = 44;

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.into()))
}

/// A broker taking at most 3 partitions a request and 5 a topic.
fn capped(dir: &std::path::Path) -> TestBroker {
    TestBroker::start(dir, 0, |c| {
        c.request_limits.max_partitions_per_request = 3;
        c.request_limits.max_partitions_per_topic = 5;
    })
}

/// Error codes of a Produce naming partition 0 of `topic` `n` times.
fn produce(s: &mut std::net::TcpStream, topic: &str, n: usize) -> Vec<i16> {
    let mut td = TopicProduceData::default();
    td.name = name(topic);
    td.partition_data = (0..n)
        .map(|_| {
            let mut pd = PartitionProduceData::default();
            pd.records = Some(batch(1, None));
            pd
        })
        .collect();
    let mut req = ProduceRequest::default();
    req.acks = 1;
    req.timeout_ms = 10_000;
    req.topic_data = vec![td];
    let resp = call(s, 7, &req);
    resp.responses[0]
        .partition_responses
        .iter()
        .map(|p| p.error_code)
        .collect()
}

/// Error codes of Metadata for `topic` (auto-creation allowed by the request).
fn metadata(s: &mut std::net::TcpStream, topic: &str) -> i16 {
    let mut t = MetadataRequestTopic::default();
    t.name = Some(name(topic));
    let mut req = MetadataRequest::default();
    req.topics = Some(vec![t]);
    req.allow_auto_topic_creation = true;
    call(s, 12, &req).topics[0].error_code
}

#[test]
fn data_requests_past_the_partition_cap_get_invalid_request_for_every_partition() {
    let dir = tempfile::tempdir().unwrap();
    let broker = capped(dir.path());
    let mut s = connect(broker.addr);
    // Refused before anything happens: the unknown topic is not even auto-created.
    assert_eq!(produce(&mut s, "fresh", 4), [INVALID_REQUEST; 4]);
    let mut m = connect(broker.addr);
    let mut t = MetadataRequestTopic::default();
    t.name = Some(name("fresh"));
    let mut req = MetadataRequest::default();
    req.topics = Some(vec![t]);
    req.allow_auto_topic_creation = false;
    assert_eq!(
        call(&mut m, 12, &req).topics[0].error_code,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(produce(&mut s, "t", 3), [0, 0, 0]);

    let fetch = |s: &mut std::net::TcpStream, n: usize| -> Vec<i16> {
        let mut t = FetchTopic::default();
        t.topic = name("t");
        t.partitions = (0..n)
            .map(|_| {
                let mut p = FetchPartition::default();
                p.partition_max_bytes = 1 << 20;
                p
            })
            .collect();
        let mut req = FetchRequest::default();
        req.max_bytes = 1 << 20;
        req.topics = vec![t];
        let resp = call(s, 12, &req);
        resp.responses[0]
            .partitions
            .iter()
            .map(|p| p.error_code)
            .collect()
    };
    assert_eq!(fetch(&mut s, 4), [INVALID_REQUEST; 4]);
    assert_eq!(fetch(&mut s, 3), [0; 3]);

    // Split over two topics entries, the count is the request's.
    let list = |s: &mut std::net::TcpStream, split: [usize; 2]| -> Vec<i16> {
        let mut req = ListOffsetsRequest::default();
        for n in split {
            let mut t = ListOffsetsTopic::default();
            t.name = name("t");
            t.partitions = (0..n)
                .map(|_| {
                    let mut p = ListOffsetsPartition::default();
                    p.timestamp = -1;
                    p
                })
                .collect();
            req.topics.push(t);
        }
        let resp = call(s, 7, &req);
        resp.topics
            .iter()
            .flat_map(|t| &t.partitions)
            .map(|p| p.error_code)
            .collect()
    };
    assert_eq!(list(&mut s, [2, 2]), [INVALID_REQUEST; 4]);
    assert_eq!(list(&mut s, [2, 1]), [0; 3]);

    let epochs = |s: &mut std::net::TcpStream, n: usize| -> Vec<i16> {
        let mut t = OffsetForLeaderTopic::default();
        t.topic = name("t");
        t.partitions = (0..n)
            .map(|_| {
                let mut p = OffsetForLeaderPartition::default();
                p.current_leader_epoch = -1;
                p
            })
            .collect();
        let mut req = OffsetForLeaderEpochRequest::default();
        req.topics = vec![t];
        let resp = call(s, 4, &req);
        resp.topics[0]
            .partitions
            .iter()
            .map(|p| p.error_code)
            .collect()
    };
    assert_eq!(epochs(&mut s, 4), [INVALID_REQUEST; 4]);
    assert_eq!(epochs(&mut s, 3), [0; 3]);

    let delete = |s: &mut std::net::TcpStream, n: usize| -> Vec<(i16, i64)> {
        let mut t = DeleteRecordsTopic::default();
        t.name = name("t");
        t.partitions = (0..n)
            .map(|_| {
                let mut p = DeleteRecordsPartition::default();
                p.offset = 1;
                p
            })
            .collect();
        let mut req = DeleteRecordsRequest::default();
        req.timeout_ms = 10_000;
        req.topics = vec![t];
        let resp = call(s, 1, &req);
        resp.topics[0]
            .partitions
            .iter()
            .map(|p| (p.error_code, p.low_watermark))
            .collect()
    };
    assert_eq!(delete(&mut s, 4), [(INVALID_REQUEST, -1); 4]);
    assert_eq!(delete(&mut s, 1), [(0, 1)]);
}

fn create_topics(s: &mut std::net::TcpStream, topics: &[(&str, i32)]) -> Vec<i16> {
    let mut req = CreateTopicsRequest::default();
    req.timeout_ms = 30_000;
    req.topics = topics
        .iter()
        .map(|(n, p)| {
            let mut t = CreatableTopic::default();
            t.name = name(n);
            t.num_partitions = *p;
            t.replication_factor = 1;
            t
        })
        .collect();
    call(s, 5, &req)
        .topics
        .iter()
        .map(|t| t.error_code)
        .collect()
}

fn create_partitions(s: &mut std::net::TcpStream, topic: &str, count: i32) -> i16 {
    let mut t = CreatePartitionsTopic::default();
    t.name = name(topic);
    t.count = count;
    t.assignments = None; // the broker places the new replicas
    let mut req = CreatePartitionsRequest::default();
    req.timeout_ms = 30_000;
    req.topics = vec![t];
    call(s, 1, &req).results[0].error_code
}

#[test]
fn topic_creation_past_the_caps_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = capped(dir.path());
    let mut s = connect(broker.addr);
    // 2 + 2 partitions in one request: past the request cap, neither topic is created.
    assert_eq!(
        create_topics(&mut s, &[("a", 2), ("b", 2)]),
        [POLICY_VIOLATION; 2]
    );
    // A topic of 6 partitions is past both caps; the request's answers first.
    assert_eq!(create_topics(&mut s, &[("c", 6)]), [POLICY_VIOLATION]);
    for t in ["a", "b", "c"] {
        let mut m = connect(broker.addr);
        let mut mt = MetadataRequestTopic::default();
        mt.name = Some(name(t));
        let mut req = MetadataRequest::default();
        req.topics = Some(vec![mt]);
        req.allow_auto_topic_creation = false;
        assert_eq!(
            call(&mut m, 12, &req).topics[0].error_code,
            UNKNOWN_TOPIC_OR_PARTITION,
            "{t}"
        );
    }
    assert_eq!(create_topics(&mut s, &[("a", 1), ("b", 2)]), [0, 0]);
    // Growing "a" from 1 to 5 adds 4: past the request cap; to 4 adds 3: fine; to 6 passes
    // the topic cap.
    assert_eq!(create_partitions(&mut s, "a", 5), POLICY_VIOLATION);
    assert_eq!(create_partitions(&mut s, "a", 4), 0);
    assert_eq!(create_partitions(&mut s, "a", 6), INVALID_PARTITIONS);
}

#[test]
fn the_topic_cap_alone_answers_invalid_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| {
        c.request_limits.max_partitions_per_topic = 5
    });
    let mut s = connect(broker.addr);
    assert_eq!(create_topics(&mut s, &[("big", 6)]), [INVALID_PARTITIONS]);
    assert_eq!(create_topics(&mut s, &[("big", 5)]), [0]);
    assert_eq!(create_partitions(&mut s, "big", 6), INVALID_PARTITIONS);
}

#[test]
fn with_auto_create_off_metadata_and_produce_answer_unknown_topic_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.auto_create_topics_enable = false);
    let mut s = connect(broker.addr);
    assert_eq!(metadata(&mut s, "nope"), UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(produce(&mut s, "nope", 1), [UNKNOWN_TOPIC_OR_PARTITION]);
    assert_eq!(metadata(&mut s, "nope"), UNKNOWN_TOPIC_OR_PARTITION);
    assert!(
        !broker.dir.join("nope-0").exists(),
        "no partition directory"
    );
    // An explicitly created topic still works.
    assert_eq!(create_topics(&mut s, &[("yes", 1)]), [0]);
    assert_eq!(produce(&mut s, "yes", 1), [0]);
}
