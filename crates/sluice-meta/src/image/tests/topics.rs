//! CreateTopic, DeleteTopic, CreatePartitions, SetTopicConfigs.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::{assert_refused, create, create_assigned, topic_id, Harness};
use crate::image::{Command, MAX_PARTITIONS_PER_TOPIC, NO_LEADER};

fn create_with(name: &str, partitions: i32, rf: Option<i16>, default_rf: i16) -> Command {
    Command::CreateTopic {
        name: name.into(),
        id: topic_id(name),
        partitions,
        replication_factor: rf,
        default_replication_factor: default_rf,
        assignments: None,
        configs: BTreeMap::new(),
        validate_only: false,
    }
}

fn grow(name: &str, count: i32, assignments: Option<Vec<Vec<i32>>>) -> Command {
    Command::CreatePartitions {
        name: name.into(),
        count,
        assignments,
        validate_only: false,
    }
}

#[test]
fn created_partitions_start_led_by_their_first_replica_with_everyone_in_sync() {
    let mut h = Harness::with_brokers(3);
    let mut configs = BTreeMap::new();
    configs.insert("cleanup.policy".to_owned(), "compact".to_owned());
    h.ok(Command::CreateTopic {
        name: "t".into(),
        id: topic_id("t"),
        partitions: 4,
        replication_factor: Some(2),
        default_replication_factor: 3,
        assignments: None,
        configs: configs.clone(),
        validate_only: false,
    });
    let topic = &h.image.topics["t"];
    assert_eq!(topic.id, topic_id("t"));
    assert_eq!(topic.configs, configs);
    assert_eq!(topic.partitions.len(), 4);
    for p in &topic.partitions {
        assert_eq!(p.replicas.len(), 2);
        assert_eq!(p.leader, p.replicas[0]);
        assert_eq!(p.isr, p.replicas);
        assert_eq!((p.leader_epoch, p.partition_epoch), (0, 0));
        assert!(p.adding.is_empty() && p.removing.is_empty());
    }
}

#[test]
fn duplicate_names_and_ids_are_refused() {
    let mut h = Harness::with_brokers(1);
    h.ok(create("t", 1, None));
    assert_refused(
        &h.run(create("t", 1, None)),
        ResponseError::TopicAlreadyExists,
    );
    let Command::CreateTopic { configs, .. } = create("u", 1, None) else {
        unreachable!()
    };
    let same_id = Command::CreateTopic {
        name: "u".into(),
        id: topic_id("t"),
        partitions: 1,
        replication_factor: None,
        default_replication_factor: 1,
        assignments: None,
        configs,
        validate_only: false,
    };
    assert_refused(&h.run(same_id), ResponseError::TopicAlreadyExists);
}

#[test]
fn bad_partition_counts_are_refused() {
    let mut h = Harness::with_brokers(1);
    for count in [0, -1, i32::MIN, MAX_PARTITIONS_PER_TOPIC + 1, i32::MAX] {
        assert_refused(
            &h.run(create("t", count, None)),
            ResponseError::InvalidPartitions,
        );
    }
    assert_refused(
        &h.run(create_assigned("t", vec![])),
        ResponseError::InvalidPartitions,
    );
}

#[test]
fn bad_replication_factors_are_refused() {
    let mut h = Harness::with_brokers(3);
    for rf in [0, -1, i16::MIN, 4, i16::MAX] {
        assert_refused(
            &h.run(create("t", 1, Some(rf))),
            ResponseError::InvalidReplicationFactor,
        );
    }
    assert_refused(
        &h.run(create_with("t", 1, None, 0)),
        ResponseError::InvalidReplicationFactor,
    );
    h.fence(3);
    assert_refused(
        &h.run(create("t", 1, Some(3))),
        ResponseError::InvalidReplicationFactor,
    );
    let mut empty = Harness::default();
    assert_refused(
        &empty.run(create("t", 1, None)),
        ResponseError::InvalidReplicationFactor,
    );
}

#[test]
fn default_replication_factor_is_capped_by_eligible_brokers() {
    let mut h = Harness::with_brokers(3);
    h.fence(3);
    h.ok(create_with("t", 2, None, 3));
    assert!(h.image.topics["t"]
        .partitions
        .iter()
        .all(|p| p.replicas.len() == 2));
    h.ok(create_with("u", 2, None, 1));
    assert!(h.image.topics["u"]
        .partitions
        .iter()
        .all(|p| p.replicas.len() == 1));
}

#[test]
fn bad_explicit_assignments_are_refused() {
    let mut h = Harness::with_brokers(3);
    for assignments in [
        vec![vec![]],
        vec![vec![1, 1]],
        vec![vec![1, 9]],
        vec![vec![-1]],
        vec![vec![1, 2], vec![3]],
    ] {
        assert_refused(
            &h.run(create_assigned("t", assignments)),
            ResponseError::InvalidReplicaAssignment,
        );
    }
    h.fence(2);
    h.fence(3);
    assert_refused(
        &h.run(create_assigned("t", vec![vec![2, 3]])),
        ResponseError::InvalidReplicaAssignment,
    );
}

#[test]
fn explicit_assignments_override_count_and_factor_and_leave_unavailable_brokers_out_of_the_isr() {
    let mut h = Harness::with_brokers(3);
    h.fence(2);
    h.ok(create_assigned("t", vec![vec![2, 3, 1], vec![1, 3, 2]]));
    let p0 = h.p("t", 0);
    assert_eq!(
        (p0.replicas.clone(), p0.isr.clone(), p0.leader),
        (vec![2, 3, 1], vec![3, 1], 3)
    );
    let p1 = h.p("t", 1);
    assert_eq!((p1.isr.clone(), p1.leader), (vec![1, 3], 1));
}

#[test]
fn validate_only_changes_nothing() {
    let mut h = Harness::with_brokers(3);
    let before = h.image.clone();
    let reply = h.run(Command::CreateTopic {
        name: "t".into(),
        id: Uuid::nil(),
        partitions: 3,
        replication_factor: Some(3),
        default_replication_factor: 3,
        assignments: None,
        configs: BTreeMap::new(),
        validate_only: true,
    });
    assert_eq!(reply, crate::image::Reply::Ok);
    assert_eq!(h.image.topics, before.topics);
    // ...but still validates.
    assert_refused(
        &h.run(Command::CreateTopic {
            name: "t".into(),
            id: Uuid::nil(),
            partitions: 3,
            replication_factor: Some(4),
            default_replication_factor: 3,
            assignments: None,
            configs: BTreeMap::new(),
            validate_only: true,
        }),
        ResponseError::InvalidReplicationFactor,
    );
}

#[test]
fn delete_topic() {
    let mut h = Harness::with_brokers(1);
    assert_refused(
        &h.run(Command::DeleteTopic { name: "t".into() }),
        ResponseError::UnknownTopicOrPartition,
    );
    h.ok(create("t", 2, None));
    h.ok(Command::DeleteTopic { name: "t".into() });
    assert!(h.image.topics.is_empty());
}

#[test]
fn set_topic_configs_replaces_the_overrides() {
    let mut h = Harness::with_brokers(1);
    let mut configs = BTreeMap::new();
    configs.insert("retention.ms".to_owned(), "1000".to_owned());
    assert_refused(
        &h.run(Command::SetTopicConfigs {
            name: "t".into(),
            configs: configs.clone(),
        }),
        ResponseError::UnknownTopicOrPartition,
    );
    h.ok(create("t", 1, None));
    h.ok(Command::SetTopicConfigs {
        name: "t".into(),
        configs: configs.clone(),
    });
    assert_eq!(h.image.topics["t"].configs, configs);
    h.ok(Command::SetTopicConfigs {
        name: "t".into(),
        configs: BTreeMap::new(),
    });
    assert!(h.image.topics["t"].configs.is_empty());
}

#[test]
fn create_partitions_errors() {
    let mut h = Harness::with_brokers(3);
    assert_refused(
        &h.run(grow("t", 2, None)),
        ResponseError::UnknownTopicOrPartition,
    );
    h.ok(create("t", 2, Some(3)));
    for count in [2, 1, 0, -5] {
        assert_refused(
            &h.run(grow("t", count, None)),
            ResponseError::InvalidPartitions,
        );
    }
    assert_refused(
        &h.run(grow("t", MAX_PARTITIONS_PER_TOPIC + 1, None)),
        ResponseError::InvalidPartitions,
    );
    assert_refused(
        &h.run(grow("t", 4, Some(vec![vec![1, 2, 3]]))),
        ResponseError::InvalidReplicaAssignment,
    );
    assert_refused(
        &h.run(grow("t", 3, Some(vec![vec![1, 2]]))),
        ResponseError::InvalidReplicaAssignment,
    );
    assert_refused(
        &h.run(grow("t", 3, Some(vec![vec![1, 2, 2]]))),
        ResponseError::InvalidReplicaAssignment,
    );
    assert_refused(
        &h.run(grow("t", 3, Some(vec![vec![1, 2, 7]]))),
        ResponseError::InvalidReplicaAssignment,
    );
    h.fence(3);
    assert_refused(
        &h.run(grow("t", 3, None)),
        ResponseError::InvalidReplicationFactor,
    );
    assert_eq!(h.image.topics["t"].partitions.len(), 2);
}

#[test]
fn create_partitions_places_with_the_current_factor_and_continues_the_spread() {
    let mut h = Harness::with_brokers(3);
    h.ok(create("t", 3, Some(2)));
    h.ok(Command::CreatePartitions {
        name: "t".into(),
        count: 9,
        assignments: None,
        validate_only: true,
    });
    assert_eq!(h.image.topics["t"].partitions.len(), 3);
    h.ok(grow("t", 6, None));
    let t = &h.image.topics["t"];
    assert_eq!(t.partitions.len(), 6);
    assert!(t
        .partitions
        .iter()
        .all(|p| p.replicas.len() == 2 && p.leader == p.replicas[0]));
    assert!(
        h.leader_counts().values().all(|&c| c == 2),
        "{:?}",
        h.leader_counts()
    );
    h.ok(grow("t", 7, Some(vec![vec![3, 1]])));
    let p = h.p("t", 6);
    assert_eq!((p.replicas.clone(), p.leader), (vec![3, 1], 3));
}

#[test]
fn a_leaderless_topic_still_exists_for_config_changes() {
    let mut h = Harness::with_brokers(1);
    h.ok(create("t", 1, None));
    h.fence(1);
    assert_eq!(h.p("t", 0).leader, NO_LEADER);
    h.ok(Command::SetTopicConfigs {
        name: "t".into(),
        configs: BTreeMap::new(),
    });
}
