//! Broker lifecycle: registration, fencing, unfencing, controlled shutdown, unregistration.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

use super::{assert_refused, create, create_assigned, incarnation, registration, Harness};
use crate::image::{BrokerRegistration, Command, Reply, NO_LEADER};

#[test]
fn registration_is_fenced_and_not_shutting_down_whatever_the_proposer_says() {
    let mut h = Harness::default();
    let mut reg = registration(1, Some("a"));
    reg.shutting_down = true;
    h.ok(Command::RegisterBroker(reg.clone()));
    let stored = &h.image.brokers[&1];
    assert!(stored.fenced);
    assert!(!stored.shutting_down);
    assert_eq!(stored.rack.as_deref(), Some("a"));
    assert!(!h.image.eligible(1));
}

#[test]
fn negative_broker_id_is_refused() {
    let mut h = Harness::default();
    assert_refused(
        &h.run(Command::RegisterBroker(registration(-1, None))),
        ResponseError::InvalidRequest,
    );
    assert!(h.image.brokers.is_empty());
}

#[test]
fn retried_registration_of_the_same_process_keeps_it_unfenced() {
    let mut h = Harness::with_brokers(1);
    let mut reg = registration(1, None);
    reg.host = "moved.local".into();
    h.ok(Command::RegisterBroker(reg));
    assert!(!h.image.brokers[&1].fenced);
    assert_eq!(h.image.brokers[&1].host, "moved.local");
}

#[test]
fn new_incarnation_of_an_unfenced_leader_is_fenced_first() {
    let mut h = Harness::with_brokers(3);
    h.ok(create("t", 3, Some(3)));
    let led: Vec<i32> = (0..3).filter(|&i| h.p("t", i).leader == 1).collect();
    assert_eq!(led.len(), 1);
    let mut reg = registration(1, None);
    reg.incarnation = incarnation(1, 1);
    h.ok(Command::RegisterBroker(reg));
    assert!(h.image.brokers[&1].fenced);
    assert_eq!(h.image.brokers[&1].incarnation, incarnation(1, 1));
    for i in 0..3 {
        let p = h.p("t", i);
        assert_ne!(p.leader, 1);
        assert!(!p.isr.contains(&1));
    }
    assert_eq!(h.p("t", led[0]).leader_epoch, 1);
    // The old incarnation's heartbeat no longer unfences it; the new one's does.
    assert_refused(
        &h.run(Command::UnfenceBroker {
            id: 1,
            incarnation: incarnation(1, 0),
        }),
        ResponseError::StaleBrokerEpoch,
    );
    h.ok(Command::UnfenceBroker {
        id: 1,
        incarnation: incarnation(1, 1),
    });
    assert!(h.image.eligible(1));
}

#[test]
fn new_incarnation_of_a_fenced_shutting_down_broker_clears_shutting_down() {
    let mut h = Harness::with_brokers(2);
    assert!(matches!(
        h.run(Command::BeginControlledShutdown { id: 2 }),
        Reply::ControlledShutdown { .. }
    ));
    h.fence(2);
    let mut reg = registration(2, None);
    reg.incarnation = incarnation(2, 1);
    h.ok(Command::RegisterBroker(reg));
    assert!(h.image.brokers[&2].fenced);
    assert!(!h.image.brokers[&2].shutting_down);
}

#[test]
fn unknown_brokers_are_refused_by_every_lifecycle_command() {
    let mut h = Harness::with_brokers(1);
    for command in [
        Command::UnfenceBroker {
            id: 9,
            incarnation: incarnation(9, 0),
        },
        Command::FenceBroker { id: 9 },
        Command::BeginControlledShutdown { id: 9 },
        Command::UnregisterBroker { id: 9 },
    ] {
        assert_refused(&h.run(command), ResponseError::BrokerIdNotRegistered);
    }
}

#[test]
fn unfence_clears_shutting_down() {
    let mut h = Harness::with_brokers(1);
    h.run(Command::BeginControlledShutdown { id: 1 });
    assert!(h.image.brokers[&1].shutting_down);
    h.unfence(1);
    assert!(!h.image.brokers[&1].shutting_down);
}

#[test]
fn fencing_twice_changes_nothing_the_second_time() {
    let mut h = Harness::with_brokers(3);
    h.ok(create("t", 3, Some(3)));
    h.fence(2);
    let before = h.image.clone();
    h.fence(2);
    assert_eq!(h.image.topics, before.topics);
    assert_eq!(h.image.brokers, before.brokers);
}

#[test]
fn killing_the_leader_of_a_min_isr_2_partition_elects_from_the_isr() {
    let mut h = Harness::with_brokers(3);
    let mut configs = BTreeMap::new();
    configs.insert("min.insync.replicas".to_owned(), "2".to_owned());
    h.ok(create("t", 1, Some(3)));
    h.ok(Command::SetTopicConfigs {
        name: "t".into(),
        configs,
    });
    let before = h.p("t", 0);
    h.fence(before.leader);
    let after = h.p("t", 0);
    assert_ne!(after.leader, NO_LEADER);
    assert_ne!(after.leader, before.leader);
    // The first surviving replica in preferred order takes over.
    assert_eq!(after.leader, before.replicas[1]);
    assert_eq!(after.isr.len(), 2);
    assert!(!after.isr.contains(&before.leader));
    assert_eq!(after.leader_epoch, before.leader_epoch + 1);
    assert_eq!(after.partition_epoch, before.partition_epoch + 1);
    assert_eq!(after.replicas, before.replicas);
}

#[test]
fn fencing_a_follower_shrinks_the_isr_without_a_leader_change() {
    let mut h = Harness::with_brokers(3);
    h.ok(create_assigned("t", vec![vec![1, 2, 3]]));
    h.fence(3);
    let p = h.p("t", 0);
    assert_eq!(
        (p.leader, p.isr.clone(), p.leader_epoch, p.partition_epoch),
        (1, vec![1, 2], 0, 1)
    );
}

#[test]
fn fencing_everyone_keeps_the_last_isr_member_and_unfencing_it_restores_leadership() {
    let mut h = Harness::with_brokers(3);
    h.ok(create_assigned("t", vec![vec![1, 2, 3]]));
    h.fence(1);
    h.fence(2);
    assert_eq!(h.p("t", 0).leader, 3);
    h.fence(3);
    let p = h.p("t", 0);
    assert_eq!(p.leader, NO_LEADER);
    assert_eq!(p.isr, vec![3]);
    let epoch = p.leader_epoch;
    // Brokers that were not the last in sync cannot lead: that would be an unclean election.
    h.unfence(1);
    h.unfence(2);
    assert_eq!(h.p("t", 0).leader, NO_LEADER);
    h.unfence(3);
    let p = h.p("t", 0);
    assert_eq!(p.leader, 3);
    assert_eq!(p.isr, vec![3]);
    assert_eq!(p.leader_epoch, epoch + 1);
}

#[test]
fn controlled_shutdown_moves_every_leadership_when_it_can() {
    let mut h = Harness::with_brokers(3);
    h.ok(create("t", 6, Some(3)));
    assert_eq!(h.leader_counts()[&1], 2);
    let reply = h.run(Command::BeginControlledShutdown { id: 1 });
    assert_eq!(
        reply,
        Reply::ControlledShutdown {
            remaining_leaderships: 0
        }
    );
    assert!(h.image.brokers[&1].shutting_down);
    for i in 0..6 {
        let p = h.p("t", i);
        assert_ne!(p.leader, 1);
        assert!(!p.isr.contains(&1));
    }
    // Nothing new lands on it either.
    h.ok(create("u", 4, None));
    assert!(h.image.topics["u"]
        .partitions
        .iter()
        .all(|p| !p.replicas.contains(&1) && p.replicas.len() == 2));
}

#[test]
fn controlled_shutdown_reports_leaderships_it_cannot_move_and_finishes_when_a_follower_catches_up()
{
    let mut h = Harness::with_brokers(2);
    h.ok(create_assigned("solo", vec![vec![1], vec![1]]));
    h.ok(create_assigned("pair", vec![vec![1, 2]]));
    assert!(matches!(h.set_isr("pair", 0, &[1]), Reply::Partition(_)));
    let reply = h.run(Command::BeginControlledShutdown { id: 1 });
    assert_eq!(
        reply,
        Reply::ControlledShutdown {
            remaining_leaderships: 3
        }
    );
    assert_eq!(h.p("pair", 0).leader, 1);
    // The follower catches up: the controller moves leadership at once rather than waiting
    // for the next controlled-shutdown retry.
    let Reply::Partition(p) = h.set_isr("pair", 0, &[1, 2]) else {
        panic!("expected Partition")
    };
    assert_eq!((p.leader, p.isr.clone()), (2, vec![2]));
    let reply = h.run(Command::BeginControlledShutdown { id: 1 });
    assert_eq!(
        reply,
        Reply::ControlledShutdown {
            remaining_leaderships: 2
        }
    );
}

#[test]
fn unregistering_is_refused_while_the_broker_holds_replicas() {
    let mut h = Harness::with_brokers(3);
    h.ok(create("t", 3, Some(2)));
    let held = (0..3)
        .filter(|&i| h.p("t", i).replicas.contains(&1))
        .count();
    let reply = h.run(Command::UnregisterBroker { id: 1 });
    assert_refused(&reply, ResponseError::InvalidRequest);
    let Reply::Error { message, .. } = reply else {
        unreachable!()
    };
    assert!(message.contains(&format!("{held} replica")), "{message}");
    let entries = (0..3)
        .filter(|&i| h.p("t", i).replicas.contains(&1))
        .map(|i| {
            let rest: Vec<i32> = h
                .p("t", i)
                .replicas
                .into_iter()
                .filter(|&r| r != 1)
                .collect();
            ("t".to_owned(), i, Some(rest))
        })
        .collect();
    h.run(Command::AlterReassignments { entries });
    h.ok(Command::UnregisterBroker { id: 1 });
    assert!(!h.image.brokers.contains_key(&1));
}

#[test]
fn registrations_carry_listener_endpoints_and_read_old_ones() {
    // Written before named listeners: no `listeners`; its one address serves every listener.
    let mut old = serde_json::to_value(registration(1, None)).unwrap();
    assert!(
        old.get("listeners").is_none(),
        "empty listeners are not written"
    );
    old.as_object_mut().unwrap().remove("listeners");
    let old: BrokerRegistration = serde_json::from_value(old).unwrap();
    assert!(old.listeners.is_empty());
    assert_eq!(old.endpoint("SSL"), Some(("broker-1.local", 9092)));

    let mut reg = registration(2, None);
    reg.listeners = vec![
        crate::image::BrokerEndpoint {
            name: "PLAINTEXT".into(),
            host: "internal-2".into(),
            port: 9092,
            security_protocol: "PLAINTEXT".into(),
        },
        crate::image::BrokerEndpoint {
            name: "SSL".into(),
            host: "public-2".into(),
            port: 9093,
            security_protocol: "SSL".into(),
        },
    ];
    let back: BrokerRegistration =
        serde_json::from_str(&serde_json::to_string(&reg).unwrap()).unwrap();
    assert_eq!(back, reg);
    assert_eq!(back.endpoint("SSL"), Some(("public-2", 9093)));
    assert_eq!(back.endpoint("PLAINTEXT"), Some(("internal-2", 9092)));
    assert_eq!(back.endpoint("SASL_SSL"), None);
}
