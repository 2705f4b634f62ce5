//! ElectLeaders, preferred and unclean.

use kafka_protocol::error::ResponseError;

use super::{codes, create, create_assigned, Harness};
use crate::image::{Command, NO_LEADER};

fn elect(preferred: bool, partitions: Option<Vec<(&str, i32)>>) -> Command {
    Command::ElectLeaders {
        preferred,
        partitions: partitions.map(|l| l.into_iter().map(|(t, p)| (t.to_owned(), p)).collect()),
    }
}

#[test]
fn preferred_election_restores_balance_after_a_failover() {
    let mut h = Harness::with_brokers(3);
    h.ok(create("t", 6, Some(3)));
    h.fence(1);
    assert_eq!(h.leader_counts().get(&1), None);
    h.unfence(1);
    // Still unbalanced: 1 is back but out of every ISR.
    assert_eq!(h.leader_counts().get(&1), None);
    let reply = h.run(elect(true, None));
    assert_eq!(
        codes(&reply).into_iter().map(|c| c.2).collect::<Vec<_>>(),
        vec![ResponseError::PreferredLeaderNotAvailable.code(); 2]
    );
    for i in 0..6 {
        let mut isr = h.p("t", i).isr;
        isr.push(1);
        h.set_isr("t", i, &isr);
    }
    let reply = h.run(elect(true, None));
    // Only the partitions that needed an election are reported.
    let reported = codes(&reply);
    assert_eq!(reported.iter().map(|c| c.2).collect::<Vec<_>>(), vec![0, 0]);
    assert!(reported
        .iter()
        .all(|(_, i, _)| h.p("t", *i).replicas[0] == 1));
    assert!(
        h.leader_counts().values().all(|&c| c == 2),
        "{:?}",
        h.leader_counts()
    );
    for i in 0..6 {
        let p = h.p("t", i);
        assert_eq!(p.leader, p.replicas[0]);
    }
}

#[test]
fn preferred_election_per_partition_errors() {
    let mut h = Harness::with_brokers(3);
    h.ok(create_assigned(
        "t",
        vec![vec![1, 2], vec![2, 3], vec![3, 1]],
    ));
    h.fence(3);
    let reply = h.run(elect(
        true,
        Some(vec![("t", 0), ("t", 1), ("t", 2), ("t", 9), ("x", 0)]),
    ));
    assert_eq!(
        codes(&reply),
        vec![
            ("t".into(), 0, ResponseError::ElectionNotNeeded.code()),
            ("t".into(), 1, ResponseError::ElectionNotNeeded.code()),
            (
                "t".into(),
                2,
                ResponseError::PreferredLeaderNotAvailable.code()
            ),
            ("t".into(), 9, ResponseError::UnknownTopicOrPartition.code()),
            ("x".into(), 0, ResponseError::UnknownTopicOrPartition.code()),
        ]
    );
    assert_eq!(h.p("t", 2).leader, 1);
}

#[test]
fn unclean_election_only_touches_leaderless_partitions() {
    let mut h = Harness::with_brokers(3);
    h.ok(create_assigned("t", vec![vec![1, 2], vec![2, 3]]));
    // Partition 0 loses 2 from its ISR, then 1 dies: leaderless with ISR [1].
    h.set_isr("t", 0, &[1]);
    h.fence(1);
    let p = h.p("t", 0);
    assert_eq!((p.leader, p.isr.clone()), (NO_LEADER, vec![1]));
    let reply = h.run(elect(false, Some(vec![("t", 0), ("t", 1), ("t", 5)])));
    assert_eq!(
        codes(&reply),
        vec![
            ("t".into(), 0, 0),
            ("t".into(), 1, ResponseError::ElectionNotNeeded.code()),
            ("t".into(), 5, ResponseError::UnknownTopicOrPartition.code()),
        ]
    );
    let p = h.p("t", 0);
    assert_eq!((p.leader, p.isr.clone()), (2, vec![2]));
    assert_eq!(p.leader_epoch, 2);
}

#[test]
fn unclean_election_needs_an_eligible_replica() {
    let mut h = Harness::with_brokers(2);
    h.ok(create_assigned("t", vec![vec![1, 2]]));
    h.set_isr("t", 0, &[1]);
    h.fence(2);
    h.fence(1);
    let reply = h.run(elect(false, None));
    assert_eq!(
        codes(&reply),
        vec![(
            "t".into(),
            0,
            ResponseError::EligibleLeadersNotAvailable.code()
        )]
    );
    h.unfence(2);
    let reply = h.run(elect(false, None));
    assert_eq!(codes(&reply), vec![("t".into(), 0, 0)]);
    assert_eq!(h.p("t", 0).leader, 2);
    // Everything has a leader now: nothing to report.
    assert_eq!(codes(&h.run(elect(false, None))), vec![]);
}

#[test]
fn epochs_saturate_instead_of_overflowing() {
    let mut h = Harness::with_brokers(2);
    h.ok(create_assigned("t", vec![vec![1, 2]]));
    for p in &mut h.image.topics.get_mut("t").expect("topic").partitions {
        p.leader_epoch = i32::MAX;
        p.partition_epoch = i32::MAX;
    }
    // Straight to apply: the harness would rightly flag the missing bump.
    assert_eq!(
        h.image.apply(99, &Command::FenceBroker { id: 1 }),
        crate::image::Reply::Ok
    );
    let p = h.p("t", 0);
    assert_eq!(
        (p.leader, p.leader_epoch, p.partition_epoch),
        (2, i32::MAX, i32::MAX)
    );
}
