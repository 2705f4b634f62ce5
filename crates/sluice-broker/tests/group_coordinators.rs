//! Group coordinators spread over the brokers, as in Kafka: 3 real broker processes with a
//! 6-partition `__consumer_offsets` (RF 3), 6 confluent-kafka groups of 2 members each, and the
//! coordinator of one group killed with SIGKILL between two rounds of records.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::cluster::{wait_for, Cluster};
use common::raw;
use kafka_protocol::messages::FindCoordinatorRequest;
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;
use sluice_broker::groups::partition_for;

const OFFSETS_PARTITIONS: i32 = 6;
const SETTINGS: &str = "offsets.topic.num.partitions=6\noffsets.topic.replication.factor=3\n\
                        default.replication.factor=3\nmin.insync.replicas=2\n\
                        auto.leader.rebalance.enable=false";
const TOPIC: &str = "events";
const PARTITIONS: usize = 3;
const PER_PARTITION: usize = 30;

/// FindCoordinator v4 (batched keys) through `addr`: each group's node id or error code.
fn coordinators(addr: &str, groups: &[String]) -> Vec<Result<i32, i16>> {
    let mut req = FindCoordinatorRequest::default();
    req.coordinator_keys = groups
        .iter()
        .map(|g| StrBytes::from_string(g.clone()))
        .collect();
    let mut s = raw::connect(addr.parse().unwrap());
    let resp = raw::call(&mut s, 4, &req);
    assert_eq!(resp.coordinators.len(), groups.len());
    resp.coordinators
        .iter()
        .zip(groups)
        .map(|(c, g)| {
            assert_eq!(c.key.as_str(), g, "answers come back in key order");
            if c.error_code == 0 {
                Ok(c.node_id.0)
            } else {
                Err(c.error_code)
            }
        })
        .collect()
}

/// FindCoordinator v3 (one key, key type GROUP) through `addr`.
fn coordinator_v3(addr: &str, group: &str) -> Result<i32, i16> {
    let mut req = FindCoordinatorRequest::default();
    req.key = StrBytes::from_string(group.to_string());
    req.key_type = 0;
    let mut s = raw::connect(addr.parse().unwrap());
    let resp = raw::call(&mut s, 3, &req);
    if resp.error_code == 0 {
        Ok(resp.node_id.0)
    } else {
        Err(resp.error_code)
    }
}

/// The client script, killed if the test fails before it exits.
struct Clients {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Clients {
    fn start(bootstrap: &str, groups: &[String]) -> Clients {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/ck_group_failover.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([
                bootstrap,
                TOPIC,
                &PARTITIONS.to_string(),
                &groups.join(","),
                "2",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with confluent-kafka (run .ci/install-broker-deps)");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Clients {
            child,
            stdin,
            lines,
        }
    }

    /// Waits for the line `want`; panics on a FAILED line, an exit or after `timeout`.
    fn expect(&self, want: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("waiting for {want:?} from the clients: {e}"));
            assert!(!line.starts_with("FAILED"), "{line}");
            if line == want {
                return;
            }
        }
    }

    fn send(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Ends the run: one JSON report per group, by group id.
    fn report(mut self, groups: usize) -> BTreeMap<String, Value> {
        self.send("report");
        let mut out = BTreeMap::new();
        while out.len() < groups {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(120))
                .expect("a report per group");
            assert!(!line.starts_with("FAILED"), "{line}");
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                out.insert(v["group"].as_str().unwrap().to_string(), v);
            }
        }
        assert!(self.child.wait().unwrap().success(), "client script failed");
        out
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn round(tag: &str) -> BTreeSet<String> {
    (0..PARTITIONS)
        .flat_map(|p| (0..PER_PARTITION).map(move |i| format!("{tag}-{p}-{i}")))
        .collect()
}

#[test]
fn killing_a_groups_coordinator_moves_only_its_groups_and_keeps_their_offsets() {
    let root = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(root.path(), 3, SETTINGS);
    // One group on each partition of `__consumer_offsets`.
    let groups: Vec<String> = (0..OFFSETS_PARTITIONS)
        .map(|p| {
            (0..)
                .map(|i| format!("group-{i}"))
                .find(|g| partition_for(g, OFFSETS_PARTITIONS) == p)
                .unwrap()
        })
        .collect();
    let mut clients = Clients::start(&cluster.bootstrap(), &groups);
    clients.expect("ready", Duration::from_secs(180));

    // The topic got the configured partition count, and every broker answers each group with
    // the leader of that group's partition, batched (v4) or one key at a time (v3).
    let offsets = cluster
        .partitions("__consumer_offsets")
        .expect("offsets topic metadata");
    assert_eq!(offsets.len(), OFFSETS_PARTITIONS as usize);
    let found: Vec<i32> = coordinators(&cluster.nodes[0].addr(), &groups)
        .into_iter()
        .map(|c| c.expect("every group has a coordinator"))
        .collect();
    for (g, c) in groups.iter().zip(&found) {
        let p = partition_for(g, OFFSETS_PARTITIONS) as usize;
        assert_eq!(
            *c, offsets[p].0,
            "{g} is coordinated by its partition's leader"
        );
        for n in &cluster.nodes {
            assert_eq!(coordinator_v3(&n.addr(), g), Ok(*c), "{g} through {}", n.id);
        }
    }
    let distinct: BTreeSet<i32> = found.iter().copied().collect();
    assert!(
        distinct.len() >= 2,
        "coordinators spread over brokers: {found:?}"
    );

    clients.send(&format!("produce A {PER_PARTITION}"));
    clients.expect("done A", Duration::from_secs(180));

    // Kill the coordinator of the first group; every group it coordinated must move.
    let victim = found[0];
    let moved: Vec<String> = groups
        .iter()
        .zip(&found)
        .filter(|(_, c)| **c == victim)
        .map(|(g, _)| g.clone())
        .collect();
    let stayed: Vec<String> = groups
        .iter()
        .filter(|g| !moved.contains(g))
        .cloned()
        .collect();
    assert!(!stayed.is_empty(), "some groups are coordinated elsewhere");
    cluster.kill((victim - 1) as usize);
    let live = cluster.nodes[(victim % 3) as usize].addr();
    wait_for(
        Duration::from_secs(30),
        "the moved groups to get a new coordinator",
        || {
            coordinators(&live, &moved)
                .iter()
                .all(|c| matches!(c, Ok(id) if *id != victim))
        },
    );
    let after = coordinators(&live, &groups);
    for (g, (before, now)) in groups.iter().zip(found.iter().zip(&after)) {
        if stayed.contains(g) {
            assert_eq!(now, &Ok(*before), "{g} keeps its coordinator");
        }
    }
    clients.send(&format!("failover {}", moved.join(",")));
    clients.expect("marked", Duration::from_secs(10));
    clients.send(&format!("produce B {PER_PARTITION}"));
    clients.expect("done B", Duration::from_secs(180));
    let reports = clients.report(groups.len());

    let (a, b) = (round("A"), round("B"));
    for g in &groups {
        let r = &reports[g];
        let consumed = strings(&r["consumed"]);
        let unique: BTreeSet<String> = consumed.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            consumed.len(),
            "{g} consumed records twice: {consumed:?}"
        );
        let all: BTreeSet<String> = a.union(&b).cloned().collect();
        assert_eq!(unique, all, "{g} consumed every record");
        let after: BTreeSet<String> = strings(&r["consumed_after_failover"]).into_iter().collect();
        assert_eq!(after, b, "{g} resumed from its committed offsets");
        for p in 0..PARTITIONS {
            assert_eq!(
                r["committed"][p.to_string()],
                r["ends"][p.to_string()],
                "{g} committed everything on partition {p}: {r}"
            );
        }
        let assigns_after: Vec<u64> = r["assigns_after"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        if moved.contains(g) {
            // Its members rejoined at the new coordinator, which fetched their positions from
            // the replayed commits (a lost commit would show as round A read again).
            assert!(assigns_after.iter().all(|n| *n > 0), "{g} rejoined: {r}");
        } else {
            assert!(
                assigns_after.iter().all(|n| *n == 0),
                "{g} was not rebalanced: {r}"
            );
            assert_eq!(
                r["commit_failures_after"], 0,
                "{g} commits kept working: {r}"
            );
        }
    }
}
