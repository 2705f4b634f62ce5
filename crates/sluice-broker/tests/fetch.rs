//! Fetch semantics with a minimal raw client: long polling woken by appends, max_wait,
//! KIP-74 progress with tiny limits, and OFFSET_OUT_OF_RANGE.

mod common;

use std::time::{Duration, Instant};

use common::raw::{batch, call, connect};
use common::TestBroker;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

fn fetch_req(topic: &str, offset: i64, max_wait_ms: i32, partition_max: i32) -> FetchRequest {
    let mut p = FetchPartition::default();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = partition_max;
    let mut t = FetchTopic::default();
    t.topic = TopicName(StrBytes::from_string(topic.into()));
    t.partitions = vec![p];
    let mut req = FetchRequest::default();
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = 1;
    req.max_bytes = 50 << 20;
    req.topics = vec![t];
    req
}

fn produce(addr: std::net::SocketAddr, topic: &str, n: usize) {
    let mut s = connect(addr);
    let mut pd = PartitionProduceData::default();
    pd.records = Some(batch(n, None));
    let mut td = TopicProduceData::default();
    td.name = TopicName(StrBytes::from_string(topic.into()));
    td.partition_data = vec![pd];
    let mut req = ProduceRequest::default();
    req.acks = 1;
    req.topic_data = vec![td];
    let resp = call(&mut s, 7, &req);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
}

fn partition(resp: &FetchResponse) -> &kafka_protocol::messages::fetch_response::PartitionData {
    &resp.responses[0].partitions[0]
}

#[test]
fn long_poll_waits_for_max_wait_then_wakes_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    produce(broker.addr, "lp", 1);
    let mut s = connect(broker.addr);

    // Nothing new: the answer comes after max_wait, empty.
    let started = Instant::now();
    let resp = call(&mut s, 12, &fetch_req("lp", 1, 400, 1 << 20));
    assert!(
        started.elapsed() >= Duration::from_millis(390),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(partition(&resp).records.as_ref().map_or(0, |r| r.len()), 0);
    assert_eq!(partition(&resp).high_watermark, 1);

    // A waiting fetch is answered as soon as data arrives, long before its 20 s max_wait.
    let addr = broker.addr;
    let waiter = std::thread::spawn(move || {
        let mut s = connect(addr);
        let started = Instant::now();
        let resp = call(&mut s, 12, &fetch_req("lp", 1, 20_000, 1 << 20));
        (
            started.elapsed(),
            partition(&resp).records.clone().unwrap_or_default().len(),
        )
    });
    produce(broker.addr, "lp", 3);
    let (took, bytes) = waiter.join().unwrap();
    assert!(bytes > 0, "woken fetch returned data");
    assert!(
        took < Duration::from_secs(10),
        "woken by the append, not by max_wait: {took:?}"
    );
}

#[test]
fn limits_and_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    produce(broker.addr, "lim", 50);
    produce(broker.addr, "lim", 50);
    let mut s = connect(broker.addr);
    // A 1-byte partition limit still returns one whole batch so consumers progress.
    let resp = call(&mut s, 12, &fetch_req("lim", 0, 0, 1));
    let records = partition(&resp).records.clone().unwrap();
    assert_eq!(sluice_log::batch::iter_batches(&records).count(), 1);
    // A generous limit returns both batches.
    let resp = call(&mut s, 12, &fetch_req("lim", 0, 0, 1 << 20));
    assert_eq!(
        sluice_log::batch::iter_batches(partition(&resp).records.as_ref().unwrap()).count(),
        2
    );
    // Fetching from the middle of a batch returns that batch.
    let resp = call(&mut s, 12, &fetch_req("lim", 60, 0, 1 << 20));
    let first = sluice_log::batch::iter_batches(partition(&resp).records.as_ref().unwrap())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(first.header.base_offset, 50);
    let resp = call(&mut s, 12, &fetch_req("lim", 101, 0, 1 << 20));
    assert_eq!(partition(&resp).error_code, 1, "OFFSET_OUT_OF_RANGE");
    let resp = call(&mut s, 4, &fetch_req("missing-topic", 0, 0, 1 << 20));
    assert_eq!(partition(&resp).error_code, 3, "UNKNOWN_TOPIC_OR_PARTITION");
}
