//! AlterPartition.

use kafka_protocol::error::ResponseError;

use super::{assert_refused, create_assigned, Harness};
use crate::image::{Command, Reply};

fn alter(leader: i32, leader_epoch: i32, partition_epoch: i32, isr: &[i32]) -> Command {
    Command::AlterPartition {
        topic: "t".into(),
        partition: 0,
        leader,
        leader_epoch,
        partition_epoch,
        isr: isr.to_vec(),
    }
}

fn setup() -> Harness {
    let mut h = Harness::with_brokers(4);
    h.ok(create_assigned("t", vec![vec![1, 2, 3]]));
    h
}

#[test]
fn shrink_to_the_leader_alone_and_expand_back() {
    let mut h = setup();
    let Reply::Partition(p) = h.run(alter(1, 0, 0, &[1])) else {
        panic!("expected Partition")
    };
    assert_eq!(
        (p.isr.clone(), p.leader, p.leader_epoch, p.partition_epoch),
        (vec![1], 1, 0, 1)
    );
    assert_eq!(p, h.p("t", 0));
    let Reply::Partition(p) = h.run(alter(1, 0, 1, &[1, 3, 2])) else {
        panic!("expected Partition")
    };
    assert_eq!((p.isr.clone(), p.partition_epoch), (vec![1, 3, 2], 2));
    assert_eq!(h.image.under_replicated(), vec![]);
}

#[test]
fn an_unchanged_isr_still_moves_the_partition_epoch() {
    let mut h = setup();
    let Reply::Partition(p) = h.run(alter(1, 0, 0, &[1, 2, 3])) else {
        panic!("expected Partition")
    };
    assert_eq!(p.partition_epoch, 1);
}

#[test]
fn unknown_partitions_are_refused() {
    let mut h = setup();
    for (topic, partition) in [("nope", 0), ("t", 1), ("t", -1), ("t", i32::MAX)] {
        let reply = h.run(Command::AlterPartition {
            topic: topic.into(),
            partition,
            leader: 1,
            leader_epoch: 0,
            partition_epoch: 0,
            isr: vec![1],
        });
        assert_refused(&reply, ResponseError::UnknownTopicOrPartition);
    }
}

#[test]
fn only_the_current_leader_at_the_current_epochs_may_alter() {
    let mut h = setup();
    assert_refused(
        &h.run(alter(2, 0, 0, &[2])),
        ResponseError::NotLeaderOrFollower,
    );
    assert_refused(
        &h.run(alter(1, 1, 0, &[1])),
        ResponseError::NotLeaderOrFollower,
    );
    assert_refused(
        &h.run(alter(1, 0, 5, &[1])),
        ResponseError::InvalidUpdateVersion,
    );
    h.fence(1);
    h.unfence(1);
    // Broker 2 leads at epoch 1 now; 1's view is stale.
    assert_refused(
        &h.run(alter(1, 0, 1, &[1, 2])),
        ResponseError::NotLeaderOrFollower,
    );
    assert_refused(
        &h.run(alter(2, 0, 1, &[2, 3])),
        ResponseError::FencedLeaderEpoch,
    );
    assert_refused(
        &h.run(alter(2, 1, 0, &[2, 3])),
        ResponseError::InvalidUpdateVersion,
    );
    assert!(matches!(
        h.run(alter(2, 1, 1, &[2, 3, 1])),
        Reply::Partition(_)
    ));
}

#[test]
fn a_leaderless_partition_cannot_be_altered_by_no_leader() {
    let mut h = Harness::with_brokers(1);
    h.ok(create_assigned("t", vec![vec![1]]));
    h.fence(1);
    let p = h.p("t", 0);
    assert_refused(
        &h.run(alter(-1, p.leader_epoch, p.partition_epoch, &[1])),
        ResponseError::NotLeaderOrFollower,
    );
}

#[test]
fn malformed_isrs_are_invalid_requests() {
    let mut h = setup();
    assert_refused(
        &h.run(alter(1, 0, 0, &[2, 3])),
        ResponseError::InvalidRequest,
    );
    assert_refused(&h.run(alter(1, 0, 0, &[])), ResponseError::InvalidRequest);
    assert_refused(
        &h.run(alter(1, 0, 0, &[1, 2, 2])),
        ResponseError::InvalidRequest,
    );
}

#[test]
fn only_eligible_assigned_replicas_may_join() {
    let mut h = setup();
    assert_refused(
        &h.run(alter(1, 0, 0, &[1, 4])),
        ResponseError::IneligibleReplica,
    );
    assert_refused(
        &h.run(alter(1, 0, 0, &[1, 9])),
        ResponseError::IneligibleReplica,
    );
    h.fence(3);
    assert_refused(
        &h.run(alter(1, 0, 1, &[1, 2, 3])),
        ResponseError::IneligibleReplica,
    );
    h.run(Command::BeginControlledShutdown { id: 2 });
    assert_refused(
        &h.run(alter(1, 0, 2, &[1, 2])),
        ResponseError::IneligibleReplica,
    );
    h.unfence(3);
    assert!(matches!(
        h.run(alter(1, 0, 2, &[1, 3])),
        Reply::Partition(_)
    ));
}
