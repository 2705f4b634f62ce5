//! Replication with real broker processes on loopback: 3 brokers, replication factor 3,
//! `min.insync.replicas=2`, a real idempotent acks=all producer (librdkafka) writing throughout.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::cluster::{wait_for, Cluster};
use common::{consumed_offsets, kcat};

const TOPIC: &str = "orders";
const PARTITIONS: usize = 3;
const SETTINGS: &str = "num.partitions=3\ndefault.replication.factor=3\nmin.insync.replicas=2\n\
                        leader.imbalance.check.interval.seconds=1";

/// The background producer and where it reports.
struct Producer {
    child: Child,
    stop: PathBuf,
    out: PathBuf,
    progress: std::sync::mpsc::Receiver<String>,
}

impl Producer {
    fn start(dir: &Path, bootstrap: &str, rate: u32) -> Producer {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/ck_replicated_producer.py");
        let stop = dir.join("stop");
        let out = dir.join("acked.txt");
        let mut child = Command::new("python3")
            .arg(script)
            .args([bootstrap, TOPIC, &PARTITIONS.to_string(), &rate.to_string()])
            .arg(&stop)
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with confluent-kafka (run .ci/install-broker-deps)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Producer {
            child,
            stop,
            out,
            progress: rx,
        }
    }

    /// Waits until at least `n` records are acknowledged in total.
    fn wait_acked(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .progress
                .recv_timeout(left)
                .expect("producer reports progress");
            if let Some(v) = line.strip_prefix("PROGRESS ") {
                if v.parse::<u64>().unwrap() >= n {
                    return;
                }
            }
        }
    }

    /// Stops producing; returns (acknowledged values, delivery errors, report lines).
    fn finish(mut self) -> (Vec<String>, u64, Vec<String>) {
        std::fs::write(&self.stop, b"").unwrap();
        let mut lines = Vec::new();
        let mut errors = None;
        while let Ok(line) = self.progress.recv_timeout(Duration::from_secs(240)) {
            if let Some(v) = line.strip_prefix("ERRORS ") {
                errors = Some(v.parse().unwrap());
            }
            lines.push(line);
        }
        assert!(
            self.child.wait().unwrap().success(),
            "producer failed: {lines:?}"
        );
        let acked = std::fs::read_to_string(&self.out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        (acked, errors.expect("producer reported errors"), lines)
    }
}

/// Consumes every partition from the beginning and checks that each acknowledged value is
/// there exactly once and that each partition's sequence numbers only grow.
fn verify_all_acked_once_in_order(cluster: &Cluster, acked: &[String]) {
    let mut by_partition: HashMap<usize, Vec<u64>> = HashMap::new();
    for p in 0..PARTITIONS {
        let out = kcat(
            &[
                "-b",
                &cluster.bootstrap(),
                "-C",
                "-t",
                TOPIC,
                "-p",
                &p.to_string(),
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%s\n",
            ],
            None,
        );
        let seqs: Vec<u64> = out
            .lines()
            .filter_map(|l| {
                let (part, seq) = l.split_once(':').expect("value is partition:seq");
                assert_eq!(part, p.to_string(), "record in the wrong partition");
                // The test's own markers ("0:seed") are not part of the producer's sequence.
                seq.parse().ok()
            })
            .collect();
        for w in seqs.windows(2) {
            assert!(
                w[0] < w[1],
                "partition {p}: {} then {} (duplicate or reordered)",
                w[0],
                w[1]
            );
        }
        by_partition.insert(p, seqs);
    }
    let mut missing = Vec::new();
    for v in acked {
        let (part, seq) = v.split_once(':').unwrap();
        let (part, seq): (usize, u64) = (part.parse().unwrap(), seq.parse().unwrap());
        if by_partition[&part].binary_search(&seq).is_err() {
            missing.push(v.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} acknowledged records lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
}

fn create_topic(cluster: &mut Cluster) {
    // Auto-creation with the cluster defaults: 3 partitions, factor 3, min ISR 2.
    kcat(
        &["-b", &cluster.bootstrap(), "-P", "-t", TOPIC, "-p", "0"],
        Some(b"0:seed\n"),
    );
    cluster.wait_fully_replicated(TOPIC, PARTITIONS, 3, Duration::from_secs(30));
}

#[test]
fn leader_killed_twenty_times_loses_nothing_acknowledged() {
    let root = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(root.path(), 3, SETTINGS);
    create_topic(&mut cluster);
    let producer = Producer::start(root.path(), &cluster.bootstrap(), 2000);
    producer.wait_acked(500);
    let mut failovers = Vec::new();
    for round in 0..20 {
        let leader = cluster.leader_of(TOPIC, round % PARTITIONS, Duration::from_secs(10));
        let killed = Instant::now();
        cluster.kill(leader);
        // A new leader from the ISR takes over.
        let mut new_leader = None;
        wait_for(Duration::from_secs(10), "a new leader", || {
            new_leader = cluster
                .partitions(TOPIC)
                .and_then(|ps| ps.get(round % PARTITIONS).map(|p| p.0))
                .filter(|l| *l > 0 && *l as usize != leader + 1);
            new_leader.is_some()
        });
        failovers.push(killed.elapsed());
        // The killed broker restarts, catches up and rejoins every ISR.
        cluster.spawn(leader);
        cluster.wait_fully_replicated(TOPIC, PARTITIONS, 3, Duration::from_secs(30));
    }
    let (acked, errors, lines) = producer.finish();
    assert_eq!(errors, 0, "the producer saw delivery errors: {lines:?}");
    assert!(
        acked.len() > 1000,
        "producer made progress: {}",
        acked.len()
    );
    verify_all_acked_once_in_order(&cluster, &acked);
    failovers.sort();
    eprintln!(
        "failover (kill -9 → new leader in metadata): median {:?}, max {:?}",
        failovers[10], failovers[19]
    );
}

#[test]
fn rolling_restart_with_controlled_shutdown_has_no_errors() {
    let root = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(root.path(), 3, SETTINGS);
    create_topic(&mut cluster);
    let producer = Producer::start(root.path(), &cluster.bootstrap(), 2000);
    producer.wait_acked(500);
    for i in 0..3 {
        cluster.stop(i);
        cluster.spawn(i);
        cluster.wait_fully_replicated(TOPIC, PARTITIONS, 3, Duration::from_secs(30));
    }
    // Preferred-leader election restores the balance after the restarts: placement gave each
    // broker one preferred leadership of the three partitions.
    wait_for(Duration::from_secs(30), "leadership balanced again", || {
        cluster.partitions(TOPIC).is_some_and(|ps| {
            let mut leaders: Vec<i32> = ps.iter().map(|p| p.0).collect();
            leaders.sort_unstable();
            leaders == vec![1, 2, 3]
        })
    });
    let (acked, errors, lines) = producer.finish();
    assert_eq!(errors, 0, "rolling restart surfaced errors: {lines:?}");
    verify_all_acked_once_in_order(&cluster, &acked);
}

#[test]
fn a_leader_cut_off_from_its_followers_cannot_acknowledge_acks_all() {
    let root = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(root.path(), 3, SETTINGS);
    create_topic(&mut cluster);
    let leader = cluster.leader_of(TOPIC, 0, Duration::from_secs(10));
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    for f in &followers {
        cluster.pause(*f);
    }
    // Straight to the leader, acks=all, 3 s timeout, no retries: it must not be acknowledged.
    let leader_addr = cluster.nodes[leader].addr();
    let out = Command::new("kcat")
        .args(["-b", &leader_addr, "-P", "-t", TOPIC, "-p", "0"])
        .args([
            "-X",
            "acks=all",
            "-X",
            "message.timeout.ms=3000",
            "-X",
            "retries=0",
        ])
        .arg("-X")
        .arg("topic.metadata.refresh.interval.ms=-1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"0:isolated\n")?;
            c.wait_with_output()
        })
        .unwrap();
    // kcat exits non-zero when a message is not delivered (here: timed out unacknowledged).
    assert!(
        !out.status.success(),
        "an isolated leader acknowledged an acks=all write: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in &followers {
        cluster.resume(*f);
    }
    cluster.wait_fully_replicated(TOPIC, PARTITIONS, 3, Duration::from_secs(30));
    // Once the followers are back, acks=all writes go through.
    kcat(
        &[
            "-b",
            &cluster.bootstrap(),
            "-P",
            "-t",
            TOPIC,
            "-p",
            "0",
            "-X",
            "acks=all",
        ],
        Some(b"0:after\n"),
    );
}

#[test]
fn reassigning_every_replica_off_a_broker_under_load_loses_nothing() {
    let root = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(root.path(), 4, SETTINGS);
    create_topic(&mut cluster);
    let producer = Producer::start(root.path(), &cluster.bootstrap(), 2000);
    producer.wait_acked(500);
    // A broker that holds replicas cannot leave the cluster.
    assert_ne!(common::admin::unregister(&cluster.nodes[1].addr(), 1), 0);
    // Move every replica on broker 1 to the others: broker 1 ends empty.
    let moved =
        common::admin::reassign_off(&cluster.nodes[1].addr(), TOPIC, PARTITIONS, 1, &[2, 3, 4]);
    assert!(moved > 0, "broker 1 held replicas to move");
    wait_for(
        Duration::from_secs(60),
        "broker 1 to hold no replica",
        || {
            cluster.status(1).is_some_and(|s| {
                s["reassigning_partitions"] == 0
                    && s["brokers"]
                        .as_array()
                        .and_then(|b| b.iter().find(|b| b["id"] == 1).cloned())
                        .is_some_and(|b| b["replicas"] == 0)
            })
        },
    );
    let (acked, errors, lines) = producer.finish();
    assert_eq!(errors, 0, "reassignment surfaced errors: {lines:?}");
    verify_all_acked_once_in_order(&cluster, &acked);
    // Empty, stopped, and unregistered: the cluster forgets it.
    cluster.stop(0);
    assert_eq!(common::admin::unregister(&cluster.nodes[1].addr(), 1), 0);
    wait_for(
        Duration::from_secs(10),
        "broker 1 to be unregistered",
        || {
            cluster.status(1).is_some_and(|s| {
                s["brokers"]
                    .as_array()
                    .is_some_and(|b| b.len() == 3 && b.iter().all(|b| b["id"] != 1))
            })
        },
    );
    // Its replicas' directories went with them.
    let left: Vec<String> = std::fs::read_dir(cluster.nodes[0].dir.join("data"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&format!("{TOPIC}-")))
        .collect();
    assert!(
        left.is_empty(),
        "broker 1 still holds data of {TOPIC}: {left:?}"
    );
}

#[test]
fn a_follower_whose_log_ends_below_the_leaders_log_start_starts_over_there() {
    let root = tempfile::tempdir().unwrap();
    // Small segments and size retention, so the leader deletes what a stopped follower holds.
    // Five brokers: with the partition's other two replicas down the quorum still stands, so
    // the follower under test can be made leader and show what it copied.
    let settings = "num.partitions=1\ndefault.replication.factor=3\nmin.insync.replicas=1\n\
                    log.segment.bytes=4096\nlog.retention.bytes=16384\n\
                    log.retention.check.interval.ms=100";
    let mut cluster = Cluster::start(root.path(), 5, settings);
    let topic = "retained";
    let bootstrap = cluster.bootstrap();
    kcat(
        &["-b", &bootstrap, "-P", "-t", topic, "-p", "0"],
        Some(b"seed\n"),
    );
    cluster.wait_fully_replicated(topic, 1, 3, Duration::from_secs(30));
    let (leader_id, replicas) = cluster.partitions(topic).unwrap()[0].clone();
    let leader = leader_id as usize - 1;
    let others: Vec<usize> = replicas
        .iter()
        .map(|id| *id as usize - 1)
        .filter(|i| *i != leader)
        .collect();
    let (follower, third) = (others[0], others[1]);
    cluster.kill(follower);
    wait_for(
        Duration::from_secs(30),
        "the stopped follower out of the ISR",
        || {
            cluster
                .partitions(topic)
                .is_some_and(|ps| ps[0].1.len() == 2)
        },
    );
    // ~360 KiB in small batches: the leader keeps only its last few segments.
    let value = "x".repeat(100);
    let input: String = (0..3000).map(|i| format!("{i}-{value}\n")).collect();
    let leader_addr = cluster.nodes[leader].addr();
    kcat(
        &[
            "-b",
            &leader_addr,
            "-P",
            "-t",
            topic,
            "-p",
            "0",
            "-X",
            "batch.num.messages=20",
        ],
        Some(input.as_bytes()),
    );
    let offsets = |addr: &str| consumed_offsets(addr, topic, 0);
    wait_for(Duration::from_secs(30), "retention on the leader", || {
        offsets(&leader_addr).first().is_some_and(|s| *s > 1000)
    });
    // The follower comes back holding offsets 0 and 1, long deleted on the leader: it must
    // start over at the leader's log start and rejoin the ISR.
    cluster.spawn(follower);
    cluster.wait_fully_replicated(topic, 1, 3, Duration::from_secs(30));
    // With the other two replicas gone it leads, and serves the retained tail, contiguous.
    cluster.kill(leader);
    cluster.kill(third);
    wait_for(
        Duration::from_secs(30),
        "the reset follower leading",
        || {
            cluster
                .partitions(topic)
                .is_some_and(|ps| ps[0].0 as usize == follower + 1)
        },
    );
    let served = offsets(&cluster.nodes[follower].addr());
    assert!(
        served.first().is_some_and(|s| *s > 1000) && served.last() == Some(&3000),
        "the new leader holds {:?}..={:?}",
        served.first(),
        served.last()
    );
    assert!(
        served.windows(2).all(|w| w[1] == w[0] + 1),
        "offsets are contiguous"
    );
}

#[test]
fn replicas_spread_over_racks_and_preferred_leaders_over_brokers() {
    let root = tempfile::tempdir().unwrap();
    let racks = ["a", "a", "b", "b", "c", "c"];
    let mut cluster = Cluster::start_in_racks(
        root.path(),
        &racks,
        "num.partitions=6\ndefault.replication.factor=3\nmin.insync.replicas=2",
    );
    // Every broker registered its rack with the controller.
    let status = cluster.status(0).expect("cluster status");
    let mut registered: Vec<(i64, String)> = status["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let rack = b["rack"].as_str().unwrap_or("none").to_string();
            (b["id"].as_i64().unwrap(), rack)
        })
        .collect();
    registered.sort();
    let expected: Vec<(i64, String)> = (1..=6)
        .map(|id| (id, racks[id as usize - 1].to_string()))
        .collect();
    assert_eq!(registered, expected);

    let topic = "placed";
    kcat(
        &["-b", &cluster.bootstrap(), "-P", "-t", topic, "-p", "0"],
        Some(b"placed\n"),
    );
    cluster.wait_fully_replicated(topic, 6, 3, Duration::from_secs(30));
    let replicas = cluster.replicas(topic).unwrap();
    assert_eq!(replicas.len(), 6);
    for (p, r) in replicas.iter().enumerate() {
        let mut in_racks: Vec<&str> = r.iter().map(|id| racks[*id as usize - 1]).collect();
        in_racks.sort_unstable();
        assert_eq!(
            in_racks,
            vec!["a", "b", "c"],
            "partition {p} has replicas {r:?}: one per rack, so losing a rack loses no partition"
        );
    }
    // Round robin: each broker is the preferred leader of one partition, and leads it.
    let mut preferred: Vec<i64> = replicas.iter().map(|r| r[0]).collect();
    preferred.sort_unstable();
    assert_eq!(preferred, (1..=6).collect::<Vec<i64>>());
    let leaders: Vec<i64> = cluster
        .partitions(topic)
        .unwrap()
        .iter()
        .map(|p| i64::from(p.0))
        .collect();
    assert_eq!(leaders, replicas.iter().map(|r| r[0]).collect::<Vec<_>>());
}

#[test]
fn a_reassignment_copies_no_faster_than_the_replication_throttle() {
    let root = tempfile::tempdir().unwrap();
    // 1 MiB/s for copies made by a reassignment; followers of the ISR are never throttled.
    let settings = "num.partitions=1\ndefault.replication.factor=1\nmin.insync.replicas=1\n\
                    follower.replication.throttled.rate=1048576\nreplica.fetch.max.bytes=262144";
    let mut cluster = Cluster::start(root.path(), 2, settings);
    let topic = "throttled";
    let value = "v".repeat(100);
    let input: String = (0..40_000).map(|i| format!("{i}-{value}\n")).collect();
    kcat(
        &["-b", &cluster.bootstrap(), "-P", "-t", topic, "-p", "0"],
        Some(input.as_bytes()),
    );
    let from = cluster.leader_of(topic, 0, Duration::from_secs(10)) as i32 + 1;
    let to = 3 - from;
    let bytes: u64 = std::fs::read_dir(
        cluster.nodes[from as usize - 1]
            .dir
            .join(format!("data/{topic}-0")),
    )
    .unwrap()
    .filter_map(|e| e.ok())
    .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
    .map(|e| e.metadata().unwrap().len())
    .sum();
    assert!(bytes > 4 << 20, "{bytes} bytes to copy");
    let started = Instant::now();
    let addr = cluster.nodes[0].addr();
    assert_eq!(common::admin::reassign_off(&addr, topic, 1, from, &[to]), 1);
    wait_for(
        Duration::from_secs(60),
        "the reassignment to finish",
        || common::admin::replicas(&addr, topic) == vec![vec![to]],
    );
    let took = started.elapsed();
    // The first fetch goes out before any pause, so allow one fetch's worth of head start.
    let floor = Duration::from_secs_f64((bytes - (256 << 10)) as f64 / f64::from(1 << 20) * 0.9);
    assert!(
        took >= floor,
        "{bytes} bytes copied in {took:?} despite a 1 MiB/s throttle (expected at least {floor:?})"
    );
    // Everything arrived.
    let count = consumed_offsets(&cluster.bootstrap(), topic, 0).len();
    assert_eq!(count, 40_000);
}

#[test]
fn a_consumer_reads_from_the_in_sync_replica_in_its_rack() {
    let root = tempfile::tempdir().unwrap();
    let racks = ["a", "b", "c"];
    let mut cluster = Cluster::start_in_racks(
        root.path(),
        &racks,
        "num.partitions=1\ndefault.replication.factor=3\nmin.insync.replicas=2\n\
         replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector",
    );
    let topic = "near";
    let input: String = (0..2000).map(|i| format!("record-{i}\n")).collect();
    kcat(
        &["-b", &cluster.bootstrap(), "-P", "-t", topic, "-p", "0"],
        Some(input.as_bytes()),
    );
    cluster.wait_fully_replicated(topic, 1, 3, Duration::from_secs(30));
    let leader = cluster.leader_of(topic, 0, Duration::from_secs(10));
    let follower = (leader + 1) % 3;
    let bytes_out = |i: usize| -> f64 {
        cluster
            .admin_get(i, "/metrics")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("bytes_out") && l.contains(&format!("topic=\"{topic}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(
        bytes_out(follower),
        0.0,
        "nothing read from the follower yet"
    );
    // librdkafka follows the leader's preferred read replica to the follower in its rack.
    let out = kcat(
        &[
            "-b",
            &cluster.bootstrap(),
            "-C",
            "-t",
            topic,
            "-p",
            "0",
            "-o",
            "beginning",
            "-c",
            "2000",
            "-X",
            &format!("client.rack={}", racks[follower]),
        ],
        None,
    );
    assert_eq!(out, input, "every record, in order, through the follower");
    assert!(
        bytes_out(follower) > 0.0,
        "the follower in the consumer's rack served it"
    );
}
