//! Unit tests of the metadata state machine, one file per concern, all sharing the
//! [`Harness`] below, which checks the crate invariants after every single apply.

mod acls;
mod brokers;
mod cluster;
mod election;
mod isr;
mod placement;
mod properties;
mod reassign;
mod scram;
mod snapshot;
mod topics;

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::{
    BrokerId, BrokerRegistration, Command, MetadataImage, PartitionMeta, Reply, NO_LEADER,
};

/// A registration for broker `id` with a fixed first incarnation.
pub(crate) fn registration(id: BrokerId, rack: Option<&str>) -> BrokerRegistration {
    BrokerRegistration {
        id,
        host: format!("broker-{id}.local"),
        port: 9092,
        rack: rack.map(str::to_owned),
        listeners: Vec::new(),
        rpc_addr: format!("broker-{id}.local:9644"),
        incarnation: incarnation(id, 0),
        fenced: false,
        shutting_down: false,
    }
}

/// The `generation`-th incarnation of broker `id`.
pub(crate) fn incarnation(id: BrokerId, generation: u64) -> Uuid {
    Uuid::from_u128(((id as u128) << 64) | u128::from(generation) | (1 << 100))
}

/// A CreateTopic with placement and no configs.
pub(crate) fn create(name: &str, partitions: i32, rf: Option<i16>) -> Command {
    Command::CreateTopic {
        name: name.into(),
        id: topic_id(name),
        partitions,
        replication_factor: rf,
        default_replication_factor: 3,
        assignments: None,
        configs: BTreeMap::new(),
        validate_only: false,
    }
}

/// A CreateTopic with explicit assignments.
pub(crate) fn create_assigned(name: &str, assignments: Vec<Vec<BrokerId>>) -> Command {
    Command::CreateTopic {
        name: name.into(),
        id: topic_id(name),
        partitions: -1,
        replication_factor: None,
        default_replication_factor: 3,
        assignments: Some(assignments),
        configs: BTreeMap::new(),
        validate_only: false,
    }
}

/// A stable id per topic name (derived from its bytes, no hashing library needed).
pub(crate) fn topic_id(name: &str) -> Uuid {
    let mut bytes = [7u8; 16];
    for (i, b) in name.bytes().enumerate() {
        bytes[i % 16] = bytes[i % 16].wrapping_mul(31).wrapping_add(b);
    }
    Uuid::from_bytes(bytes)
}

/// Asserts a refusal with `error`'s code.
#[track_caller]
pub(crate) fn assert_refused(reply: &Reply, error: ResponseError) {
    match reply {
        Reply::Error { code, message } => {
            assert_eq!(
                *code,
                error.code(),
                "expected {error:?}, got {code}: {message}"
            );
            assert!(!message.is_empty());
        }
        other => panic!("expected {error:?}, got {other:?}"),
    }
}

/// Per-partition error codes of a [`Reply::Partitions`].
#[track_caller]
pub(crate) fn codes(reply: &Reply) -> Vec<(String, i32, i16)> {
    match reply {
        Reply::Partitions(results) => results
            .iter()
            .map(|r| (r.topic.clone(), r.partition, r.error_code))
            .collect(),
        other => panic!("expected Partitions, got {other:?}"),
    }
}

/// An image driven through [`checked_apply`] with increasing log indexes.
#[derive(Debug, Default)]
pub(crate) struct Harness {
    pub(crate) image: MetadataImage,
    pub(crate) index: u64,
}

impl Harness {
    /// Brokers `1..=n`, registered and unfenced, no racks.
    pub(crate) fn with_brokers(n: BrokerId) -> Harness {
        let mut h = Harness::default();
        for id in 1..=n {
            h.add_broker(id, None);
        }
        h
    }

    /// Registers and unfences a broker.
    pub(crate) fn add_broker(&mut self, id: BrokerId, rack: Option<&str>) {
        self.ok(Command::RegisterBroker(registration(id, rack)));
        self.ok(Command::UnfenceBroker {
            id,
            incarnation: incarnation(id, 0),
        });
    }

    /// Applies at the next index, checking invariants.
    pub(crate) fn run(&mut self, command: Command) -> Reply {
        self.index += 1;
        checked_apply(&mut self.image, self.index, &command)
    }

    /// Applies and asserts [`Reply::Ok`].
    #[track_caller]
    pub(crate) fn ok(&mut self, command: Command) {
        let reply = self.run(command);
        assert_eq!(reply, Reply::Ok);
    }

    /// A copy of one partition's state.
    #[track_caller]
    pub(crate) fn p(&self, topic: &str, partition: i32) -> PartitionMeta {
        self.image
            .partition(topic, partition)
            .cloned()
            .expect("partition exists")
    }

    /// Fences a broker.
    pub(crate) fn fence(&mut self, id: BrokerId) {
        self.ok(Command::FenceBroker { id });
    }

    /// Unfences a broker's first incarnation.
    pub(crate) fn unfence(&mut self, id: BrokerId) {
        self.ok(Command::UnfenceBroker {
            id,
            incarnation: incarnation(id, 0),
        });
    }

    /// AlterPartition from the current leader with current epochs.
    pub(crate) fn set_isr(&mut self, topic: &str, partition: i32, isr: &[BrokerId]) -> Reply {
        let p = self.p(topic, partition);
        self.run(Command::AlterPartition {
            topic: topic.into(),
            partition,
            leader: p.leader,
            leader_epoch: p.leader_epoch,
            partition_epoch: p.partition_epoch,
            isr: isr.to_vec(),
        })
    }

    /// How many partitions each broker leads.
    pub(crate) fn leader_counts(&self) -> BTreeMap<BrokerId, usize> {
        let mut counts = BTreeMap::new();
        for t in self.image.topics.values() {
            for p in &t.partitions {
                *counts.entry(p.leader).or_default() += 1;
            }
        }
        counts
    }
}

/// `image.apply` plus every check that holds for any command: `applied_index` moves, a
/// refusal changes nothing else, epochs only grow (and do grow with every change), and the
/// invariants of [`check_invariants`] hold afterwards.
#[track_caller]
pub(crate) fn checked_apply(image: &mut MetadataImage, index: u64, command: &Command) -> Reply {
    let before = image.clone();
    let reply = image.apply(index, command);
    assert_eq!(image.applied_index, index);
    if matches!(reply, Reply::Error { .. }) {
        let mut expected = before.clone();
        expected.applied_index = index;
        assert_eq!(*image, expected, "refused {command:?} changed the image");
    }
    check_transition(&before, image, command);
    check_invariants(image);
    reply
}

/// Epoch rules between two consecutive images, for partitions that survived.
#[track_caller]
pub(crate) fn check_transition(before: &MetadataImage, after: &MetadataImage, command: &Command) {
    for (name, old) in &before.topics {
        let Some(new) = after.topics.get(name).filter(|t| t.id == old.id) else {
            continue;
        };
        assert!(
            new.partitions.len() >= old.partitions.len(),
            "{command:?} removed partitions"
        );
        for (i, (o, n)) in old.partitions.iter().zip(&new.partitions).enumerate() {
            let at = format!("{name}-{i} after {command:?}");
            assert!(
                n.leader_epoch >= o.leader_epoch,
                "leader epoch went back: {at}"
            );
            assert!(
                n.partition_epoch >= o.partition_epoch,
                "partition epoch went back: {at}"
            );
            if n.leader != o.leader {
                assert!(
                    n.leader_epoch > o.leader_epoch,
                    "leader change without epoch bump: {at}"
                );
            }
            let changed = n.leader != o.leader
                || n.isr != o.isr
                || n.replicas != o.replicas
                || n.adding != o.adding
                || n.removing != o.removing;
            if changed {
                assert!(
                    n.partition_epoch > o.partition_epoch,
                    "change without epoch bump: {at}"
                );
            }
        }
    }
}

/// The crate invariants, checked on every partition.
#[track_caller]
pub(crate) fn check_invariants(image: &MetadataImage) {
    for (name, t) in &image.topics {
        assert!(!t.partitions.is_empty(), "{name} has no partitions");
        for (i, p) in t.partitions.iter().enumerate() {
            let at = format!("{name}-{i}: {p:?}");
            let replicas: BTreeSet<_> = p.replicas.iter().collect();
            assert_eq!(
                replicas.len(),
                p.replicas.len(),
                "duplicate replicas in {at}"
            );
            assert!(!p.replicas.is_empty(), "no replicas in {at}");
            for r in &p.replicas {
                assert!(
                    image.brokers.contains_key(r),
                    "unregistered replica in {at}"
                );
            }
            let isr: BTreeSet<_> = p.isr.iter().collect();
            assert_eq!(isr.len(), p.isr.len(), "duplicate ISR members in {at}");
            assert!(!p.isr.is_empty(), "empty ISR in {at}");
            assert!(isr.is_subset(&replicas), "ISR not within replicas in {at}");
            assert!(
                p.adding.iter().all(|r| replicas.contains(r)),
                "adding outside replicas in {at}"
            );
            assert!(
                p.removing.iter().all(|r| replicas.contains(r)),
                "removing outside replicas in {at}"
            );
            assert!(
                p.adding.iter().all(|r| !p.removing.contains(r)),
                "adding and removing overlap in {at}"
            );
            if p.leader == NO_LEADER {
                assert_eq!(
                    p.isr.len(),
                    1,
                    "leaderless partition keeps exactly its last ISR member: {at}"
                );
                assert!(
                    !image.eligible(p.isr[0]),
                    "leaderless partition with an eligible ISR member: {at}"
                );
            } else {
                assert!(isr.contains(&p.leader), "leader outside the ISR in {at}");
                let leader = &image.brokers[&p.leader];
                assert!(!leader.fenced, "fenced leader in {at}");
                if leader.shutting_down {
                    // Controlled shutdown only leaves it leading where nobody else can.
                    assert_eq!(
                        p.isr,
                        vec![p.leader],
                        "shutting-down leader with a successor in {at}"
                    );
                }
            }
            for r in &p.isr {
                if image.brokers[r].fenced {
                    assert!(
                        p.isr.len() == 1 && p.leader == NO_LEADER,
                        "fenced broker {r} in the ISR of {at}"
                    );
                }
            }
        }
    }
}
