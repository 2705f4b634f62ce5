//! Limits bad clients hit before the broker does, over the wire: each test crosses one, checks
//! the Kafka error (or the bound on what comes back), and that the same broker still serves a
//! normal request afterwards.

mod common;

use bytes::Bytes;
use common::raw::{batch, call, connect};
use common::TestBroker;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use sluice_log::batch::iter_batches;
use sluice_log::testing::BatchBuilder;

const MESSAGE_TOO_LARGE: i16 = 10;

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.into()))
}

/// Produces `records` to partition `partition` of `topic`; the partition's error code.
fn produce_to(addr: std::net::SocketAddr, topic: &str, partition: i32, records: Bytes) -> i16 {
    let mut s = connect(addr);
    let mut pd = PartitionProduceData::default();
    pd.index = partition;
    pd.records = Some(records);
    let mut td = TopicProduceData::default();
    td.name = name(topic);
    td.partition_data = vec![pd];
    let mut req = ProduceRequest::default();
    req.acks = 1;
    req.timeout_ms = 10_000;
    req.topic_data = vec![td];
    let resp = call(&mut s, 7, &req);
    resp.responses[0].partition_responses[0].error_code
}

#[test]
fn a_decompression_bomb_is_refused_with_message_too_large_and_the_broker_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    // Every compressed batch is re-encoded (to uncompressed), so every codec is inflated.
    let broker = TestBroker::start(dir.path(), 0, |c| {
        c.compression_type = "uncompressed".into()
    });
    assert_eq!(produce_to(broker.addr, "bombs", 0, batch(3, None)), 0);
    // 64 MiB of zeros (16 MiB for snappy, whose ratio tops out near 21): each compresses to
    // under message.max.bytes (1 MiB) and would inflate to far more.
    for codec in 1..=4u8 {
        let zeros = vec![0u8; if codec == 2 { 16 << 20 } else { 64 << 20 }];
        let bomb = BatchBuilder::values(1_700_000_000_000, &[zeros]).build_compressed(codec);
        assert!(bomb.len() < 1 << 20, "codec {codec}: {} bytes", bomb.len());
        let code = produce_to(broker.addr, "bombs", 0, Bytes::from(bomb));
        assert_eq!(code, MESSAGE_TOO_LARGE, "codec {codec}");
        // The broker still takes a normal batch, compressed in the same codec.
        let ok = BatchBuilder::values(1_700_000_000_000, &["fine"]).build_compressed(codec);
        assert_eq!(
            produce_to(broker.addr, "bombs", 0, Bytes::from(ok)),
            0,
            "codec {codec}"
        );
    }
    // Nothing of the bombs was written: 3 records, then one per codec.
    let resp = fetch(broker.addr, -1, 50 << 20, &[("bombs", 0)]);
    let records = resp.responses[0].partitions[0].records.clone().unwrap();
    let counts: Vec<i32> = iter_batches(&records)
        .map(|b| b.unwrap().header.records_count)
        .collect();
    assert_eq!(counts, [3, 1, 1, 1, 1]);
}

/// One Fetch naming `parts` (repeats allowed), from offset 0 with 1 MiB per partition.
fn fetch(
    addr: std::net::SocketAddr,
    replica: i32,
    max_bytes: i32,
    parts: &[(&str, i32)],
) -> FetchResponse {
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(replica);
    req.max_wait_ms = 0;
    req.min_bytes = 0;
    req.max_bytes = max_bytes;
    for (topic, partition) in parts {
        let mut p = FetchPartition::default();
        p.partition = *partition;
        p.fetch_offset = 0;
        p.partition_max_bytes = 1 << 20;
        let mut t = FetchTopic::default();
        t.topic = name(topic);
        t.partitions = vec![p];
        req.topics.push(t);
    }
    let mut s = connect(addr);
    call(&mut s, 12, &req)
}

/// Record bytes of each partition answer, in order.
fn sizes(resp: &FetchResponse) -> Vec<usize> {
    resp.responses
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| {
            assert_eq!(p.error_code, 0, "{p:?}");
            p.records.as_ref().map_or(0, |r| r.len())
        })
        .collect()
}

/// A broker with 4-partition topics, `fetch.max.bytes` 4 KiB and
/// `replica.fetch.response.max.bytes` 2 KiB; each partition of "t" holds 10 batches of about
/// 1 KiB.
fn small_fetch_broker(dir: &std::path::Path) -> (TestBroker, usize) {
    let broker = TestBroker::start(dir, 0, |c| {
        c.num_partitions = 4;
        c.request_limits.fetch_max_bytes = 4096;
        c.request_limits.replica_fetch_response_max_bytes = 2048;
    });
    let one = BatchBuilder::values(1_700_000_000_000, &[vec![7u8; 1000]]).build();
    for p in 0..4 {
        for _ in 0..10 {
            assert_eq!(produce_to(broker.addr, "t", p, Bytes::from(one.clone())), 0);
        }
    }
    (broker, one.len())
}

#[test]
fn fetch_max_bytes_caps_a_consumer_response_whatever_the_request_asks() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, batch_len) = small_fetch_broker(dir.path());
    let all: Vec<(&str, i32)> = (0..4).map(|p| ("t", p)).collect();
    // Asking for 50 MiB, for nothing (0) or for "no limit" (-1): at most 4 KiB either way.
    for max_bytes in [50 << 20, 0, -1, i32::MAX] {
        let got = sizes(&fetch(broker.addr, -1, max_bytes, &all));
        assert!(got.iter().sum::<usize>() <= 4096, "{max_bytes}: {got:?}");
        assert_eq!(
            got[0],
            4096 / batch_len * batch_len,
            "{max_bytes}: whole batches up to the cap"
        );
    }
    // A request's own smaller limit still holds.
    let got = sizes(&fetch(broker.addr, -1, 2 * batch_len as i32, &all));
    assert_eq!(got, [2 * batch_len, 0, 0, 0]);
    // The same partition named 500 times shares the one budget.
    let many = vec![("t", 1); 500];
    let got = sizes(&fetch(broker.addr, -1, 50 << 20, &many));
    assert!(got.iter().sum::<usize>() <= 4096, "{got:?}");
    assert_eq!(got.iter().filter(|&&n| n > 0).count(), 1, "{got:?}");
}

#[test]
fn kip_74_the_first_batch_may_exceed_the_cap_and_later_partitions_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, _) = small_fetch_broker(dir.path());
    let big = BatchBuilder::values(1_700_000_000_000, &[vec![9u8; 6000]]).build();
    assert_eq!(
        produce_to(broker.addr, "big", 0, Bytes::from(big.clone())),
        0
    );
    assert_eq!(
        produce_to(broker.addr, "big", 1, Bytes::from(big.clone())),
        0
    );
    let got = sizes(&fetch(broker.addr, -1, 50 << 20, &[("big", 0), ("big", 1)]));
    assert_eq!(got, [big.len(), 0], "one batch past the cap, none after it");
    let got = sizes(&fetch(broker.addr, -1, 50 << 20, &[("big", 1), ("big", 0)]));
    assert_eq!(got, [big.len(), 0], "whichever partition comes first");
}

#[test]
fn a_replica_fetch_is_capped_by_replica_fetch_response_max_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, batch_len) = small_fetch_broker(dir.path());
    let all: Vec<(&str, i32)> = (0..4).map(|p| ("t", p)).collect();
    // Before, a follower's fetch progressed on every partition: 4 batches at least.
    for max_bytes in [i32::MAX, 0, -1] {
        let got = sizes(&fetch(broker.addr, 1, max_bytes, &all));
        assert_eq!(got, [2048 / batch_len * batch_len, 0, 0, 0], "{max_bytes}");
    }
    let got = sizes(&fetch(broker.addr, 1, i32::MAX, &vec![("t", 2); 300]));
    assert_eq!(
        got.iter().sum::<usize>(),
        2048 / batch_len * batch_len,
        "{got:?}"
    );
    // Consumers keep their own cap.
    let got = sizes(&fetch(broker.addr, -1, i32::MAX, &all));
    assert_eq!(got.iter().sum::<usize>(), 4096 / batch_len * batch_len);
}
