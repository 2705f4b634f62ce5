//! AlterReassignments: start, complete (here or via AlterPartition), cancel.

use kafka_protocol::error::ResponseError;

use super::{codes, create_assigned, Harness};
use crate::image::{Command, Reply};

fn reassign(entries: Vec<(&str, i32, Option<Vec<i32>>)>) -> Command {
    Command::AlterReassignments {
        entries: entries
            .into_iter()
            .map(|(t, p, r)| (t.to_owned(), p, r))
            .collect(),
    }
}

fn one(h: &mut Harness, target: Option<Vec<i32>>) -> i16 {
    let reply = h.run(reassign(vec![("t", 0, target)]));
    codes(&reply)[0].2
}

fn setup() -> Harness {
    let mut h = Harness::with_brokers(6);
    h.ok(create_assigned("t", vec![vec![1, 2, 3]]));
    h
}

#[test]
fn adding_a_replica_completes_when_it_joins_the_isr() {
    let mut h = setup();
    assert_eq!(one(&mut h, Some(vec![1, 2, 3, 4])), 0);
    let p = h.p("t", 0);
    assert_eq!(
        (p.replicas.clone(), p.adding.clone(), p.removing.clone()),
        (vec![1, 2, 3, 4], vec![4], vec![])
    );
    assert_eq!(
        (p.isr.clone(), p.partition_epoch, p.leader_epoch),
        (vec![1, 2, 3], 1, 0)
    );
    let Reply::Partition(p) = h.set_isr("t", 0, &[1, 2, 3, 4]) else {
        panic!("expected Partition")
    };
    assert_eq!(
        (p.replicas.clone(), p.isr.clone()),
        (vec![1, 2, 3, 4], vec![1, 2, 3, 4])
    );
    assert!(p.adding.is_empty() && p.removing.is_empty());
}

#[test]
fn removing_a_replica_that_is_already_covered_completes_at_once() {
    let mut h = setup();
    assert_eq!(one(&mut h, Some(vec![1, 3])), 0);
    let p = h.p("t", 0);
    assert_eq!(
        (p.replicas.clone(), p.isr.clone(), p.leader),
        (vec![1, 3], vec![1, 3], 1)
    );
    assert!(p.adding.is_empty() && p.removing.is_empty());
}

#[test]
fn moving_everything_hands_leadership_to_the_first_target() {
    let mut h = setup();
    assert_eq!(one(&mut h, Some(vec![4, 5, 6])), 0);
    let p = h.p("t", 0);
    assert_eq!(p.replicas, vec![4, 5, 6, 1, 2, 3]);
    assert_eq!(
        (p.adding.clone(), p.removing.clone()),
        (vec![4, 5, 6], vec![1, 2, 3])
    );
    h.set_isr("t", 0, &[1, 2, 3, 5, 4]);
    assert_eq!(h.p("t", 0).replicas.len(), 6);
    let Reply::Partition(p) = h.set_isr("t", 0, &[1, 2, 3, 5, 4, 6]) else {
        panic!("expected Partition")
    };
    assert_eq!(
        (p.replicas.clone(), p.isr.clone(), p.leader),
        (vec![4, 5, 6], vec![5, 4, 6], 4)
    );
    assert_eq!(p.leader_epoch, 1);
}

#[test]
fn a_target_equal_to_the_current_replicas_is_a_no_op() {
    let mut h = setup();
    assert_eq!(one(&mut h, Some(vec![1, 2, 3])), 0);
    assert_eq!(h.p("t", 0).partition_epoch, 0);
    // A permutation just changes the preferred order.
    assert_eq!(one(&mut h, Some(vec![3, 1, 2])), 0);
    let p = h.p("t", 0);
    assert_eq!(
        (p.replicas.clone(), p.leader, p.partition_epoch),
        (vec![3, 1, 2], 1, 1)
    );
    assert!(p.adding.is_empty() && p.removing.is_empty());
}

#[test]
fn cancel_restores_the_original_replicas() {
    let mut h = setup();
    assert_eq!(one(&mut h, Some(vec![2, 3, 4])), 0);
    assert_eq!(h.p("t", 0).replicas, vec![2, 3, 4, 1]);
    assert_eq!(one(&mut h, None), 0);
    let p = h.p("t", 0);
    assert_eq!(
        (p.replicas.clone(), p.isr.clone(), p.leader),
        (vec![2, 3, 1], vec![1, 2, 3], 1)
    );
    assert!(p.adding.is_empty() && p.removing.is_empty());
    assert_eq!(
        one(&mut h, None),
        ResponseError::NoReassignmentInProgress.code()
    );
}

#[test]
fn cancel_re_elects_when_the_leader_was_being_added() {
    let mut h = setup();
    assert_eq!(one(&mut h, Some(vec![4, 5, 2])), 0);
    h.set_isr("t", 0, &[1, 2, 3, 4]);
    h.fence(1);
    let p = h.p("t", 0);
    assert_eq!((p.leader, p.isr.clone()), (4, vec![2, 3, 4]));
    assert_eq!(one(&mut h, None), 0);
    let p = h.p("t", 0);
    assert_eq!(
        (p.replicas.clone(), p.isr.clone(), p.leader, p.leader_epoch),
        (vec![2, 1, 3], vec![2, 3], 2, 2)
    );
}

#[test]
fn cancel_is_refused_when_only_new_replicas_are_in_sync() {
    let mut h = Harness::with_brokers(3);
    h.ok(create_assigned("t", vec![vec![1]]));
    assert_eq!(one(&mut h, Some(vec![2, 3])), 0);
    h.set_isr("t", 0, &[1, 2]);
    h.fence(1);
    assert_eq!(h.p("t", 0).isr, vec![2]);
    assert_eq!(one(&mut h, None), ResponseError::InvalidRequest.code());
    assert_eq!(h.p("t", 0).adding, vec![2, 3]);
}

#[test]
fn a_new_target_replaces_a_reassignment_in_progress() {
    let mut h = setup();
    assert_eq!(one(&mut h, Some(vec![1, 2, 3, 4])), 0);
    assert_eq!(one(&mut h, Some(vec![1, 2, 5])), 0);
    let p = h.p("t", 0);
    assert_eq!(p.replicas, vec![1, 2, 5, 3, 4]);
    assert_eq!(
        (p.adding.clone(), p.removing.clone()),
        (vec![5], vec![3, 4])
    );
}

#[test]
fn bad_entries_fail_alone() {
    let mut h = setup();
    let reply = h.run(reassign(vec![
        ("t", 0, Some(vec![])),
        ("t", 0, Some(vec![1, 1])),
        ("t", 0, Some(vec![1, 9])),
        ("t", 1, Some(vec![1])),
        ("x", 0, None),
        ("t", 0, None),
        ("t", 0, Some(vec![1, 2])),
    ]));
    let c = ResponseError::InvalidReplicaAssignment.code();
    assert_eq!(
        codes(&reply).into_iter().map(|c| c.2).collect::<Vec<_>>(),
        vec![
            c,
            c,
            c,
            ResponseError::UnknownTopicOrPartition.code(),
            ResponseError::UnknownTopicOrPartition.code(),
            ResponseError::NoReassignmentInProgress.code(),
            0
        ]
    );
    assert_eq!(h.p("t", 0).replicas, vec![1, 2]);
}
