//! Property tests without a property-testing library: a seeded xorshift generator drives long
//! random command sequences (valid, stale and nonsensical alike) over 3–6 brokers and a few
//! topics. [`checked_apply`] checks the invariants, epoch monotonicity and "refusals change
//! nothing" after every apply; here we add determinism, serde round trips and liveness.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::checked_apply;
use crate::image::{BrokerId, Command, MetadataImage, Reply, NO_LEADER};

/// xorshift64*: tiny, seedable, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

const TOPICS: [&str; 4] = ["a", "b", "c", "d"];
const RACKS: [Option<&str>; 4] = [None, Some("r1"), Some("r2"), Some("r3")];

/// A broker id: usually one of the cluster's, sometimes one nobody registered.
fn broker(rng: &mut Rng, brokers: BrokerId) -> BrokerId {
    if rng.chance(5) {
        rng.pick(&[0, -1, 99, brokers + 1])
    } else {
        rng.range(1, i64::from(brokers)) as BrokerId
    }
}

fn replica_list(rng: &mut Rng, brokers: BrokerId) -> Vec<BrokerId> {
    let len = rng.range(0, 4) as usize;
    let mut list: Vec<BrokerId> = (0..len).map(|_| broker(rng, brokers)).collect();
    if rng.chance(70) {
        // Mostly well-formed, so the interesting paths run, not just the refusals.
        list.sort_unstable();
        list.dedup();
    }
    list
}

/// An existing partition (or, rarely, a missing one).
fn partition(rng: &mut Rng, image: &MetadataImage) -> (String, i32) {
    let topics: Vec<(&String, usize)> = image
        .topics
        .iter()
        .map(|(n, t)| (n, t.partitions.len()))
        .collect();
    if topics.is_empty() || rng.chance(5) {
        return (rng.pick(&TOPICS).to_owned(), rng.range(-1, 3) as i32);
    }
    let (name, count) = rng.pick(&topics);
    (name.clone(), rng.below(count as u64) as i32)
}

fn random_command(rng: &mut Rng, image: &MetadataImage, brokers: BrokerId) -> Command {
    match rng.below(22) {
        0 => {
            let id = broker(rng, brokers);
            let incarnation = match image.brokers.get(&id) {
                Some(b) if rng.chance(50) => b.incarnation,
                _ => Uuid::from_u64_pair(rng.next(), rng.next()),
            };
            Command::RegisterBroker(crate::image::BrokerRegistration {
                id,
                host: format!("h{id}"),
                port: 9092,
                rack: rng.pick(&RACKS).map(str::to_owned),
                listeners: Vec::new(),
                rpc_addr: format!("h{id}:9644"),
                incarnation,
                fenced: rng.chance(50),
                shutting_down: rng.chance(50),
            })
        }
        1..=3 => {
            let id = broker(rng, brokers);
            let incarnation = match image.brokers.get(&id) {
                Some(b) if rng.chance(90) => b.incarnation,
                _ => Uuid::from_u64_pair(rng.next(), rng.next()),
            };
            Command::UnfenceBroker { id, incarnation }
        }
        4 | 5 => Command::FenceBroker {
            id: broker(rng, brokers),
        },
        6 => Command::BeginControlledShutdown {
            id: broker(rng, brokers),
        },
        7 => Command::UnregisterBroker {
            id: broker(rng, brokers),
        },
        8 => Command::CreateTopic {
            name: rng.pick(&TOPICS).to_owned(),
            id: Uuid::from_u64_pair(0, rng.below(6)),
            partitions: rng.range(-1, 6) as i32,
            replication_factor: if rng.chance(50) {
                None
            } else {
                Some(rng.range(-1, 5) as i16)
            },
            default_replication_factor: rng.range(0, 3) as i16,
            assignments: rng.chance(20).then(|| {
                (0..rng.range(0, 3))
                    .map(|_| replica_list(rng, brokers))
                    .collect()
            }),
            configs: BTreeMap::new(),
            validate_only: rng.chance(10),
        },
        9 => Command::DeleteTopic {
            name: rng.pick(&TOPICS).to_owned(),
        },
        10 => {
            let name = rng.pick(&TOPICS).to_owned();
            let current = image
                .topics
                .get(&name)
                .map_or(0, |t| t.partitions.len() as i64);
            let count = current + rng.range(-1, 3);
            let assignments = rng.chance(20).then(|| {
                (0..(count - current).max(0))
                    .map(|_| replica_list(rng, brokers))
                    .collect()
            });
            Command::CreatePartitions {
                name,
                count: count as i32,
                assignments,
                validate_only: rng.chance(10),
            }
        }
        11 => {
            let mut configs = BTreeMap::new();
            configs.insert("retention.ms".to_owned(), rng.below(1000).to_string());
            if rng.chance(50) {
                Command::SetTopicConfigs {
                    name: rng.pick(&TOPICS).to_owned(),
                    configs,
                }
            } else {
                Command::SetBrokerConfigs { configs }
            }
        }
        12..=16 => alter_partition(rng, image, brokers),
        17 => {
            let partitions = rng.chance(50).then(|| {
                (0..rng.range(0, 3))
                    .map(|_| partition(rng, image))
                    .collect()
            });
            Command::ElectLeaders {
                preferred: rng.chance(70),
                partitions,
            }
        }
        18 | 19 => {
            let entries = (0..rng.range(1, 3))
                .map(|_| {
                    let (topic, p) = partition(rng, image);
                    let target = rng.chance(75).then(|| replica_list(rng, brokers));
                    (topic, p, target)
                })
                .collect();
            Command::AlterReassignments { entries }
        }
        _ => Command::AllocateProducerIds {
            broker: broker(rng, brokers),
        },
    }
}

/// AlterPartition as a leader would send it: mostly current epochs, ISR = leader plus a random
/// subset of the replicas, biased towards "every live follower caught up" so reassignments
/// complete; sometimes stale or from the wrong broker.
fn alter_partition(rng: &mut Rng, image: &MetadataImage, brokers: BrokerId) -> Command {
    let (topic, index) = partition(rng, image);
    let Some(p) = image.partition(&topic, index) else {
        return Command::AlterPartition {
            topic,
            partition: index,
            leader: broker(rng, brokers),
            leader_epoch: 0,
            partition_epoch: 0,
            isr: vec![1],
        };
    };
    let mut isr = vec![p.leader];
    let catch_up = rng.chance(50);
    for &r in &p.replicas {
        if r != p.leader && ((catch_up && image.eligible(r)) || (!catch_up && rng.chance(50))) {
            isr.push(r);
        }
    }
    if rng.chance(5) {
        isr.push(broker(rng, brokers));
    }
    let skew = |rng: &mut Rng| {
        if rng.chance(10) {
            rng.range(-1, 1) as i32
        } else {
            0
        }
    };
    Command::AlterPartition {
        topic,
        partition: index,
        leader: if rng.chance(5) {
            broker(rng, brokers)
        } else {
            p.leader
        },
        leader_epoch: p.leader_epoch + skew(rng),
        partition_epoch: p.partition_epoch + skew(rng),
        isr,
    }
}

/// Runs `steps` random commands from an empty image; returns the log, the replies and the
/// final image. Every apply is checked by [`checked_apply`] and round-tripped through JSON.
fn run(seed: u64, steps: u64) -> (Vec<Command>, Vec<Reply>, MetadataImage) {
    let mut rng = Rng::new(seed);
    let brokers = rng.range(3, 6) as BrokerId;
    let mut image = MetadataImage::default();
    let mut log = Vec::new();
    let mut replies = Vec::new();
    for index in 1..=steps {
        // Start most runs with a live cluster so topics actually get created.
        let command = if index <= u64::from(brokers as u32) * 2 && seed % 4 != 0 {
            let id = ((index - 1) / 2) as BrokerId + 1;
            if index % 2 == 1 {
                Command::RegisterBroker(crate::image::BrokerRegistration {
                    id,
                    host: format!("h{id}"),
                    port: 9092,
                    rack: RACKS[(id % 4) as usize].map(str::to_owned),
                    listeners: Vec::new(),
                    rpc_addr: format!("h{id}:9644"),
                    incarnation: Uuid::from_u64_pair(seed, id as u64),
                    fenced: true,
                    shutting_down: false,
                })
            } else {
                Command::UnfenceBroker {
                    id,
                    incarnation: Uuid::from_u64_pair(seed, id as u64),
                }
            }
        } else {
            random_command(&mut rng, &image, brokers)
        };
        let json = serde_json::to_string(&command).expect("serialize command");
        assert_eq!(
            serde_json::from_str::<Command>(&json).expect("deserialize command"),
            command
        );
        let reply = checked_apply(&mut image, index, &command);
        let json = serde_json::to_string(&image).expect("serialize image");
        assert_eq!(
            serde_json::from_str::<MetadataImage>(&json).expect("deserialize image"),
            image
        );
        log.push(command);
        replies.push(reply);
    }
    (log, replies, image)
}

#[test]
fn random_command_sequences_keep_every_invariant() {
    // (applied, refused) per command kind, to prove the generator reaches the success paths.
    let mut outcomes: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut completed_reassignments = 0;
    for seed in 1..=150 {
        let (log, replies, _) = run(seed, 300);
        for (command, reply) in log.iter().zip(&replies) {
            let kind = format!("{command:?}")
                .split([' ', '(', '{'])
                .next()
                .unwrap_or_default()
                .to_owned();
            let entry = outcomes.entry(kind).or_default();
            let refused = match reply {
                Reply::Error { .. } => true,
                Reply::Partitions(results) => {
                    !results.is_empty() && results.iter().all(|r| r.error_code != 0)
                }
                _ => false,
            };
            if refused {
                entry.1 += 1;
            } else {
                entry.0 += 1;
            }
            if let (Command::AlterPartition { .. }, Reply::Partition(p)) = (command, reply) {
                completed_reassignments +=
                    usize::from(p.adding.is_empty() && p.removing.is_empty());
            }
        }
    }
    assert_eq!(outcomes.len(), 14, "{outcomes:?}");
    for (kind, (applied, _)) in &outcomes {
        assert!(
            *applied >= 20,
            "{kind} succeeded only {applied} times: {outcomes:?}"
        );
    }
    assert!(completed_reassignments > 0);
}

#[test]
fn replaying_the_same_log_yields_the_same_image_and_replies() {
    for seed in [3, 17, 99, 1234] {
        let (log, replies, image) = run(seed, 400);
        let mut replay = MetadataImage::default();
        let replayed: Vec<Reply> = log
            .iter()
            .zip(1..)
            .map(|(command, index)| replay.apply(index, command))
            .collect();
        assert_eq!(replayed, replies);
        assert_eq!(replay, image);
        let (_, again, image_again) = run(seed, 400);
        assert_eq!((again, image_again), (replies, image));
    }
}

#[test]
fn once_every_broker_is_back_every_partition_has_a_leader() {
    for seed in 1..=60 {
        let (_, _, mut image) = run(seed, 300);
        let mut index = image.applied_index;
        let brokers: Vec<_> = image
            .brokers
            .values()
            .map(|b| (b.id, b.incarnation))
            .collect();
        for (id, incarnation) in brokers {
            index += 1;
            let reply = checked_apply(
                &mut image,
                index,
                &Command::UnfenceBroker { id, incarnation },
            );
            assert_eq!(reply, Reply::Ok);
        }
        for (name, t) in &image.topics {
            for (i, p) in t.partitions.iter().enumerate() {
                assert_ne!(p.leader, NO_LEADER, "seed {seed}: {name}-{i} {p:?}");
            }
        }
    }
}
