//! confluent-kafka (librdkafka 2.x) idempotent producer and group consumer.

mod common;

use common::{python, TestBroker};

#[test]
fn idempotent_producer_and_group_consumer() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let out = python("ck_idempotent.py", &[&broker.bootstrap(), "idem", "20000"]);
    assert!(out.contains("ok idempotent 20000"), "{out}");
}

#[test]
fn static_member_restart_keeps_its_partition() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.num_partitions = 2);
    let out = python("ck_static.py", &[&broker.bootstrap(), "static"]);
    assert!(out.contains("ok static"), "{out}");
}
