//! Admin APIs driven by confluent-kafka's AdminClient, with a restart in between to check that
//! configs, partitions, deletions and committed offsets persist.

mod common;

use common::{python, TestBroker};

#[test]
fn admin_changes_persist_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let out = python("ck_admin.py", &[&broker.bootstrap(), "setup"]);
    assert!(out.contains("ok setup"), "{out}");
    broker.stop();
    let broker = TestBroker::start(dir.path(), 0, |_| {});
    let out = python("ck_admin.py", &[&broker.bootstrap(), "verify"]);
    assert!(out.contains("ok verify"), "{out}");
}
