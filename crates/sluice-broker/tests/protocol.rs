//! Exact protocol behaviour checked with a minimal client built on `kafka-protocol`:
//! bad input handling, pipelining, error codes and idempotent-producer sequencing.

mod common;

use std::io::Write;

use bytes::Bytes;
use common::raw::{self, batch, call, closed, connect};
use common::TestBroker;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, CreateTopicsRequest, ListOffsetsRequest,
    MetadataRequest, ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

fn produce_req(topic: &str, records: Bytes) -> ProduceRequest {
    let mut pd = PartitionProduceData::default();
    pd.index = 0;
    pd.records = Some(records);
    let mut td = TopicProduceData::default();
    td.name = TopicName(StrBytes::from_string(topic.into()));
    td.partition_data = vec![pd];
    let mut req = ProduceRequest::default();
    req.acks = -1;
    req.timeout_ms = 5000;
    req.topic_data = vec![td];
    req
}

fn produce(s: &mut std::net::TcpStream, topic: &str, records: Bytes) -> (i16, i64) {
    let resp: ProduceResponse = call(s, 9, &produce_req(topic, records));
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn latest(s: &mut std::net::TcpStream, topic: &str) -> i64 {
    let mut p = ListOffsetsPartition::default();
    p.partition_index = 0;
    p.timestamp = -1;
    let mut t = ListOffsetsTopic::default();
    t.name = TopicName(StrBytes::from_string(topic.into()));
    t.partitions = vec![p];
    let mut req = ListOffsetsRequest::default();
    req.topics = vec![t];
    let resp = call(s, 7, &req);
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
    resp.topics[0].partitions[0].offset
}

fn still_serving(broker: &TestBroker) {
    let mut s = connect(broker.addr);
    let resp = call(&mut s, 3, &ApiVersionsRequest::default());
    assert_eq!(resp.error_code, 0);
}

#[test]
fn bad_frames_close_only_their_connection() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.socket_request_max_bytes = 1 << 20);
    let mut s = connect(broker.addr);
    assert_eq!(produce(&mut s, "t", batch(3, None)), (0, 0));

    // Oversized: refused from the length prefix alone.
    let mut s = connect(broker.addr);
    s.write_all(&(64i32 << 20).to_be_bytes()).unwrap();
    assert!(closed(&mut s), "oversized frame");
    still_serving(&broker);

    // Negative length.
    let mut s = connect(broker.addr);
    s.write_all(&(-5i32).to_be_bytes()).unwrap();
    assert!(closed(&mut s), "negative length");

    // Garbage in a well-sized frame.
    let mut s = connect(broker.addr);
    let mut garbage = 40i32.to_be_bytes().to_vec();
    garbage.extend((0..40u8).map(|i| i.wrapping_mul(97).wrapping_add(13)));
    s.write_all(&garbage).unwrap();
    assert!(closed(&mut s), "garbage");

    // Unknown API key (and a known key this broker does not serve).
    for key in [999i16, 25] {
        let mut s = connect(broker.addr);
        let mut f = raw::frame(0, 1, &MetadataRequest::default());
        f[4..6].copy_from_slice(&key.to_be_bytes());
        s.write_all(&f).unwrap();
        assert!(closed(&mut s), "api key {key}");
    }

    // A frame whose body is cut short (length matches, content does not).
    let mut s = connect(broker.addr);
    let full = raw::frame(9, 1, &produce_req("t", batch(3, None)));
    let body_len = full.len() - 4 - 10;
    let mut cut = (body_len as i32).to_be_bytes().to_vec();
    cut.extend_from_slice(&full[4..4 + body_len]);
    s.write_all(&cut).unwrap();
    assert!(closed(&mut s), "truncated body");

    // A frame cut off by the client closing mid-way.
    let mut s = connect(broker.addr);
    s.write_all(&full[..full.len() / 2]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(closed(&mut s), "half a frame then EOF");

    still_serving(&broker);
    let mut s = connect(broker.addr);
    assert_eq!(
        latest(&mut s, "t"),
        3,
        "nothing from the truncated produces was written"
    );
}

#[test]
fn too_new_api_versions_gets_v0_unsupported_version() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let mut s = connect(broker.addr);
    s.write_all(&raw::frame(4, 11, &ApiVersionsRequest::default()))
        .unwrap();
    let mut f = raw::read_frame(&mut s).unwrap();
    assert_eq!(i32::from_be_bytes(f[..4].try_into().unwrap()), 11);
    let _ = f.split_to(4);
    let resp = ApiVersionsResponse::decode(&mut f, 0).unwrap();
    assert_eq!(resp.error_code, 35);
    assert!(resp
        .api_keys
        .iter()
        .any(|k| k.api_key == 18 && k.max_version == 3));
    // The connection stays usable.
    let ok = call(&mut s, 3, &ApiVersionsRequest::default());
    assert_eq!(ok.error_code, 0);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let mut s = connect(broker.addr);
    let mut all = Vec::new();
    for cid in 0..20 {
        if cid % 2 == 0 {
            all.extend(raw::frame(9, cid, &produce_req("pipe", batch(2, None))));
        } else {
            all.extend(raw::frame(1, cid, &MetadataRequest::default()));
        }
    }
    s.write_all(&all).unwrap();
    for cid in 0..20 {
        let f = raw::read_frame(&mut s).unwrap();
        assert_eq!(i32::from_be_bytes(f[..4].try_into().unwrap()), cid);
        if cid % 2 == 0 {
            let (_, resp) = raw::decode::<ProduceRequest>(9, f);
            assert_eq!(
                resp.responses[0].partition_responses[0].base_offset,
                i64::from(cid)
            );
        }
    }
}

#[test]
fn corrupt_and_oversized_batches_are_rejected_whole() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.message_max_bytes = 2000);
    let mut s = connect(broker.addr);
    assert_eq!(produce(&mut s, "c", batch(2, None)), (0, 0));

    let mut bad = batch(5, None).to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    // A good batch followed by a corrupt one: neither may be written.
    let mut two = batch(1, None).to_vec();
    two.extend_from_slice(&bad);
    assert_eq!(
        produce(&mut s, "c", Bytes::from(bad)).0,
        2,
        "CORRUPT_MESSAGE"
    );
    assert_eq!(
        produce(&mut s, "c", Bytes::from(two)).0,
        2,
        "CORRUPT_MESSAGE"
    );
    assert_eq!(latest(&mut s, "c"), 2);

    let big = batch(300, None);
    assert_eq!(sluice_log::batch::iter_batches(&big).count(), 1);
    assert!(big.len() > 2000, "{}", big.len());
    assert_eq!(produce(&mut s, "c", big).0, 10, "MESSAGE_TOO_LARGE");
    assert_eq!(latest(&mut s, "c"), 2);
}

#[test]
fn idempotent_sequences_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let mut s = connect(broker.addr);
    let pid = 4242;
    assert_eq!(produce(&mut s, "idem", batch(3, Some((pid, 0, 0)))), (0, 0));
    assert_eq!(produce(&mut s, "idem", batch(2, Some((pid, 0, 3)))), (0, 3));
    // A retry of the first batch is acknowledged with its original offset, not written again.
    assert_eq!(produce(&mut s, "idem", batch(3, Some((pid, 0, 0)))), (0, 0));
    assert_eq!(latest(&mut s, "idem"), 5);
    // A gap.
    assert_eq!(
        produce(&mut s, "idem", batch(1, Some((pid, 0, 9)))).0,
        45,
        "OUT_OF_ORDER_SEQUENCE_NUMBER"
    );
    broker.stop();

    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let mut s = connect(broker.addr);
    assert_eq!(
        produce(&mut s, "idem", batch(2, Some((pid, 0, 3)))),
        (0, 3),
        "duplicate after restart"
    );
    assert_eq!(produce(&mut s, "idem", batch(1, Some((pid, 0, 5)))), (0, 5));
    assert_eq!(
        produce(&mut s, "idem", batch(1, Some((pid, 1, 0)))),
        (0, 6),
        "new epoch restarts at 0"
    );
    assert_eq!(
        produce(&mut s, "idem", batch(1, Some((pid, 0, 6)))).0,
        47,
        "INVALID_PRODUCER_EPOCH"
    );
    assert_eq!(latest(&mut s, "idem"), 7);
}

#[test]
fn create_topics_validates() {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let mut s = connect(broker.addr);
    let topic = |name: &str, parts: i32, rf: i16, cfg: &[(&str, &str)]| {
        let mut t = CreatableTopic::default();
        t.name = TopicName(StrBytes::from_string(name.into()));
        t.num_partitions = parts;
        t.replication_factor = rf;
        t.configs = cfg
            .iter()
            .map(|(k, v)| {
                let mut c = CreatableTopicConfig::default();
                c.name = StrBytes::from_string(k.to_string());
                c.value = Some(StrBytes::from_string(v.to_string()));
                c
            })
            .collect();
        t
    };
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![
        topic("ok", 3, 1, &[("retention.ms", "1000")]),
        topic("bad name!", 1, 1, &[]),
        topic("zero", 0, 1, &[]),
        topic("rf", 1, 3, &[]),
        topic("cfg", 1, 1, &[("retention.ms", "soon")]),
        topic("dry", 2, -1, &[]),
    ];
    req.validate_only = false;
    let resp = call(&mut s, 7, &req);
    let codes: Vec<i16> = resp.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![0, 17, 37, 38, 40, 0]);
    let again = call(&mut s, 7, &req);
    assert_eq!(again.topics[0].error_code, 36, "TOPIC_ALREADY_EXISTS");
    let mut dry = CreateTopicsRequest::default();
    dry.topics = vec![topic("dry-run", 1, 1, &[])];
    dry.validate_only = true;
    assert_eq!(call(&mut s, 7, &dry).topics[0].error_code, 0);
    let mut all = MetadataRequest::default();
    all.topics = None;
    let meta = call(&mut s, 12, &all);
    let names: Vec<String> = meta
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        .collect();
    assert!(
        names.contains(&"ok".to_string()) && !names.contains(&"dry-run".to_string()),
        "{names:?}"
    );
}

#[test]
fn retention_by_size_advances_log_start() {
    use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
    use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.log_retention_check_interval_ms = 50);
    let mut s = connect(broker.addr);
    assert_eq!(produce(&mut s, "ret", batch(10, None)).0, 0);
    let mut res = AlterConfigsResource::default();
    res.resource_type = 2;
    res.resource_name = StrBytes::from_static_str("ret");
    res.configs = [("segment.bytes", "2000"), ("retention.bytes", "4000")]
        .iter()
        .map(|(k, v)| {
            let mut c = AlterableConfig::default();
            c.name = StrBytes::from_static_str(k);
            c.value = Some(StrBytes::from_static_str(v));
            c
        })
        .collect();
    let mut req = AlterConfigsRequest::default();
    req.resources = vec![res];
    let resp: AlterConfigsResponse = call(&mut s, 2, &req);
    assert_eq!(resp.responses[0].error_code, 0);
    for _ in 0..40 {
        assert_eq!(produce(&mut s, "ret", batch(10, None)).0, 0);
    }
    let earliest = |s: &mut std::net::TcpStream| {
        let mut p = ListOffsetsPartition::default();
        p.timestamp = -2;
        let mut t = ListOffsetsTopic::default();
        t.name = TopicName(StrBytes::from_static_str("ret"));
        t.partitions = vec![p];
        let mut req = ListOffsetsRequest::default();
        req.topics = vec![t];
        call(s, 7, &req).topics[0].partitions[0].offset
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while earliest(&mut s) == 0 {
        assert!(std::time::Instant::now() < deadline, "retention never ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(latest(&mut s, "ret"), 410);
}

#[test]
fn producer_ids_are_never_reused_across_restarts() {
    use kafka_protocol::messages::InitProducerIdRequest;
    let dir = tempfile::tempdir().unwrap();
    let init = |broker: &TestBroker| {
        let mut s = connect(broker.addr);
        let mut req = InitProducerIdRequest::default();
        req.transactional_id = None;
        req.producer_id = kafka_protocol::messages::ProducerId(-1);
        req.producer_epoch = -1;
        let resp = call(&mut s, 4, &req);
        assert_eq!((resp.error_code, resp.producer_epoch), (0, 0));
        resp.producer_id.0
    };
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let (a, b) = (init(&broker), init(&broker));
    assert_ne!(a, b);
    broker.stop();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let c = init(&broker);
    assert!(c > a.max(b), "{c} after {a}, {b}");
    // Bumping the epoch of a known id (KIP-360) keeps the id.
    let mut s = connect(broker.addr);
    let mut req = InitProducerIdRequest::default();
    req.transactional_id = None;
    req.producer_id = kafka_protocol::messages::ProducerId(c);
    req.producer_epoch = 0;
    let resp = call(&mut s, 4, &req);
    assert_eq!((resp.producer_id.0, resp.producer_epoch), (c, 1));
}

#[test]
fn huge_array_length_claims_do_not_take_the_broker_down() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    // Metadata v1 claiming 2^31-1 topics, then v12 (flexible) claiming 2^32-2 with a varint.
    for (version, claim) in [
        (1i16, vec![0x7f, 0xff, 0xff, 0xff]),
        (12, vec![0xff, 0xff, 0xff, 0xff, 0x0f]),
    ] {
        let mut body = Vec::new();
        body.extend_from_slice(&3i16.to_be_bytes());
        body.extend_from_slice(&version.to_be_bytes());
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend_from_slice(&1i16.to_be_bytes());
        body.push(b'x');
        if version >= 9 {
            body.push(0); // header tagged fields
        }
        body.extend_from_slice(&claim);
        body.extend_from_slice(b"\x00\x01a\x00\x01a");
        let mut s = connect(broker.addr);
        s.write_all(&(body.len() as i32).to_be_bytes()).unwrap();
        s.write_all(&body).unwrap();
        assert!(closed(&mut s), "v{version}");
        still_serving(&broker);
    }
}

#[test]
fn topic_deletion_can_be_disabled() {
    use kafka_protocol::messages::DeleteTopicsRequest;
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.delete_topic_enable = false);
    let mut s = connect(broker.addr);
    assert_eq!(produce(&mut s, "kept", batch(3, None)).0, 0);
    let mut req = DeleteTopicsRequest::default();
    req.topic_names = vec![TopicName(StrBytes::from_static_str("kept"))];
    req.timeout_ms = 5000;
    // TOPIC_DELETION_DISABLED from v3 on; older versions have no such code: INVALID_REQUEST.
    assert_eq!(call(&mut s, 4, &req).responses[0].error_code, 73);
    assert_eq!(call(&mut s, 2, &req).responses[0].error_code, 42);
    assert_eq!(latest(&mut s, "kept"), 3);
}

#[test]
fn log_flush_interval_ms_flushes_appends_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.log_flush_interval_ms = Some(50));
    let mut s = connect(broker.addr);
    assert_eq!(produce(&mut s, "flushed", batch(10, None)).0, 0);
    // The recovery point (everything below it is on disk) reaches the end without a shutdown.
    let checkpoint = dir.path().join("flushed-0/partition-checkpoint");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&checkpoint)
        .unwrap_or_default()
        .lines()
        .any(|l| l == "recovery_point 10")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "never flushed: {:?}",
            std::fs::read_to_string(&checkpoint)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_topic_compression_type_re_encodes_what_producers_send() {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let mut s = connect(broker.addr);
    let mut t = CreatableTopic::default();
    t.name = TopicName(StrBytes::from_static_str("zstd-topic"));
    t.num_partitions = 1;
    t.replication_factor = 1;
    let mut c = CreatableTopicConfig::default();
    c.name = StrBytes::from_static_str("compression.type");
    c.value = Some(StrBytes::from_static_str("zstd"));
    t.configs = vec![c];
    let mut bad = t.clone();
    bad.name = TopicName(StrBytes::from_static_str("brotli-topic"));
    bad.configs[0].value = Some(StrBytes::from_static_str("brotli"));
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![t, bad];
    let codes: Vec<i16> = call(&mut s, 7, &req)
        .topics
        .iter()
        .map(|t| t.error_code)
        .collect();
    assert_eq!(codes, vec![0, 40], "INVALID_CONFIG for an unknown codec");
    // A real client sends gzip; the broker stores zstd; consumers read the same records.
    let input: String = (0..500).map(|i| format!("k{i}:value-{i}\n")).collect();
    common::kcat(
        &[
            "-b",
            &broker.bootstrap(),
            "-P",
            "-t",
            "zstd-topic",
            "-p",
            "0",
            "-z",
            "gzip",
            "-K",
            ":",
        ],
        Some(input.as_bytes()),
    );
    let out = common::kcat(
        &[
            "-b",
            &broker.bootstrap(),
            "-C",
            "-t",
            "zstd-topic",
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-f",
            "%k:%s\n",
        ],
        None,
    );
    assert_eq!(out, input);
    let log = std::fs::read(dir.path().join("zstd-topic-0/00000000000000000000.log")).unwrap();
    let mut pos = 0;
    let mut batches = 0;
    while pos + 61 <= log.len() {
        let attributes = i16::from_be_bytes([log[pos + 21], log[pos + 22]]);
        assert_eq!(attributes & 7, 4, "stored batch {batches} is zstd");
        let len = i32::from_be_bytes(log[pos + 8..pos + 12].try_into().unwrap()) as usize;
        pos += 12 + len;
        batches += 1;
    }
    assert!(batches > 0);
}
