//! Connection limits: `max.connections`, `max.connections.per.ip` with overrides,
//! `connections.max.idle.ms` and the write timeout of clients that stop reading. Each test
//! crosses a limit and checks that the other clients are still served.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::cluster::wait_for;
use common::raw::{batch, call, closed, connect, frame};
use common::TestBroker;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiVersionsRequest, FetchRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use sluice_broker::config::parse_properties;

fn broker(dir: &std::path::Path, props: &str) -> TestBroker {
    let props = parse_properties(props);
    TestBroker::start(dir, 0, |cfg| cfg.apply_properties(&props).unwrap())
}

/// A connection from `source` (any 127/8 address is loopback on Linux).
fn connect_from(source: [u8; 4], to: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((source, 0))).unwrap();
        socket.connect(to).await.unwrap().into_std().unwrap()
    });
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Whether the broker answers ApiVersions on `s`.
fn served(s: &mut TcpStream) -> bool {
    if s.write_all(&frame(3, 7, &ApiVersionsRequest::default()))
        .is_err()
    {
        return false;
    }
    common::raw::read_frame(s).is_some()
}

fn refused(broker: &TestBroker, reason: &str) -> u64 {
    broker
        .metrics()
        .lines()
        .find(|l| {
            l.starts_with("sluice_broker_connections_refused_total")
                && l.contains(&format!("reason=\"{reason}\""))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn max_connections_per_ip_refuses_the_extra_connection_only() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(
        dir.path(),
        "max.connections.per.ip=2\nmax.connections.per.ip.overrides=127.0.0.2:3",
    );
    let mut first = connect(b.addr);
    let mut second = connect(b.addr);
    assert!(served(&mut first) && served(&mut second));
    let mut third = connect(b.addr);
    assert!(
        closed(&mut third),
        "a third connection from 127.0.0.1 is refused"
    );
    assert_eq!(refused(&b, "max_connections_per_ip"), 1);
    // The two admitted ones are still served, and another address has its own (override) limit.
    assert!(served(&mut first) && served(&mut second));
    let mut others: Vec<TcpStream> = (0..3)
        .map(|_| connect_from([127, 0, 0, 2], b.addr))
        .collect();
    assert!(others.iter_mut().all(served), "127.0.0.2 may hold 3");
    assert!(closed(&mut connect_from([127, 0, 0, 2], b.addr)));
    // A closed connection frees its place.
    drop(first);
    wait_for(
        Duration::from_secs(10),
        "the freed place to be reusable",
        || served(&mut connect(b.addr)),
    );
    b.stop();
}

#[test]
fn max_connections_refuses_beyond_the_broker_limit() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path(), "max.connections=3");
    let mut open: Vec<TcpStream> = (0..3).map(|_| connect(b.addr)).collect();
    assert!(open.iter_mut().all(served));
    assert!(closed(&mut connect_from([127, 0, 0, 3], b.addr)));
    assert_eq!(refused(&b, "max_connections"), 1);
    assert!(
        open.iter_mut().all(served),
        "admitted clients are still served"
    );
    b.stop();
}

#[test]
fn idle_connections_are_closed_and_busy_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path(), "connections.max.idle.ms=400");
    let mut idle = connect(b.addr);
    let mut busy = connect(b.addr);
    assert!(served(&mut idle));
    let started = Instant::now();
    // The busy client asks every 100 ms for three idle periods and stays open.
    while started.elapsed() < Duration::from_millis(1200) {
        assert!(served(&mut busy), "an active connection was closed");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(closed(&mut idle), "the idle connection is closed");
    assert!(refused(&b, "idle") >= 1);
    b.stop();
}

fn fetch_everything(topic: &str) -> FetchRequest {
    let mut p = FetchPartition::default();
    p.partition = 0;
    p.fetch_offset = 0;
    p.partition_max_bytes = 64 << 20;
    let mut t = FetchTopic::default();
    t.topic = TopicName(StrBytes::from_string(topic.into()));
    t.partitions = vec![p];
    let mut req = FetchRequest::default();
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    req.max_bytes = 64 << 20;
    req.topics = vec![t];
    req
}

#[test]
fn a_client_that_stops_reading_is_closed_after_the_write_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(
        dir.path(),
        "sluice.socket.write.timeout.ms=500\nmessage.max.bytes=10485760",
    );
    let mut producer = connect(b.addr);
    for _ in 0..8 {
        let mut pd = PartitionProduceData::default();
        pd.records = Some(batch(20_000, None));
        let mut td = TopicProduceData::default();
        td.name = TopicName(StrBytes::from_static_str("big"));
        td.partition_data = vec![pd];
        let mut req = ProduceRequest::default();
        req.acks = 1;
        req.topic_data = vec![td];
        let resp = call(&mut producer, 7, &req);
        assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    }
    // Pipelines far more response bytes than socket buffers hold, and never reads.
    let mut stalled = connect(b.addr);
    let req = frame(12, 1, &fetch_everything("big"));
    for _ in 0..64 {
        if stalled.write_all(&req).is_err() {
            break;
        }
    }
    wait_for(
        Duration::from_secs(30),
        "the stalled client to be closed",
        || refused(&b, "write_timeout") >= 1,
    );
    assert!(served(&mut producer), "other clients are still served");
    b.stop();
}
