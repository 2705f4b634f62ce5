//! kafka-python (an independent, pure-Python protocol implementation) against the broker.

mod common;

use common::{python, TestBroker};

#[test]
fn round_trip_in_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let out = python(
            "kp_roundtrip.py",
            &[&broker.bootstrap(), &format!("kp-{codec}"), codec, "2000"],
        );
        assert!(out.contains("ok 2000 records"), "{out}");
    }
}

#[test]
fn consumer_group_rebalances_and_resumes_from_committed_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |c| c.num_partitions = 3);
    let out = python("kp_group.py", &[&broker.bootstrap(), "grouped", "g3"]);
    assert!(
        out.contains("ok group: 600 records, resumed with 30 new ones"),
        "{out}"
    );
    // Committed offsets survive a restart.
    let addr_dir = broker.dir.clone();
    broker.stop();
    let broker = TestBroker::start(&addr_dir, 0, |c| c.num_partitions = 3);
    let out = common::kcat(
        &[
            "-b",
            &broker.bootstrap(),
            "-C",
            "-G",
            "g3",
            "grouped",
            "-e",
            "-q",
            "-f",
            "%s\n",
        ],
        None,
    );
    assert_eq!(
        out.trim(),
        "",
        "nothing left to consume after restart: {out}"
    );
}
