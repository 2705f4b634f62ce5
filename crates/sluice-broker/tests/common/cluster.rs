//! A cluster of real `sluice-broker` processes on loopback: started, killed with SIGKILL,
//! stopped with SIGTERM (controlled shutdown), paused with SIGSTOP and restarted on the same
//! ports and data, plus metadata queries through kcat.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One broker of a [`Cluster`].
pub(crate) struct Node {
    pub id: i32,
    pub port: u16,
    pub admin_port: u16,
    pub dir: PathBuf,
    /// Properties of this broker alone (e.g. its rack), after the cluster's.
    extra: String,
    child: Option<Child>,
}

impl Node {
    /// `127.0.0.1:port`.
    pub(crate) fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Whether the process is running.
    pub(crate) fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// Brokers sharing one metadata quorum.
pub(crate) struct Cluster {
    pub nodes: Vec<Node>,
    extra: String,
    /// Extra kcat arguments for metadata queries (e.g. `-X security.protocol=SSL`).
    pub client_args: Vec<String>,
}

/// A port free right now, for a broker process to bind soon. Taken below the kernel's
/// ephemeral range (32768 and up): a port the kernel hands out (any test's bind to port 0, or
/// the source port of any outgoing connection) can then never take it between this check and
/// the broker's bind, which made whole clusters fail to start now and then. Each process walks
/// the range from its own starting point, so parallel test processes rarely meet.
pub(crate) fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let start = std::process::id().wrapping_mul(7_919).wrapping_add(nanos);
    loop {
        let port = LOW + start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        let port = port as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

impl Cluster {
    /// Starts `n` brokers (ids 1..=n, all voters) with short failure-detection timeouts and
    /// `extra` properties, and waits until every one is registered and unfenced.
    pub(crate) fn start(root: &Path, n: i32, extra: &str) -> Cluster {
        Self::start_each(root, n, extra, |_| String::new())
    }

    /// Like [`start`](Self::start), broker `i` (0-based) in rack `racks[i]`.
    pub(crate) fn start_in_racks(root: &Path, racks: &[&str], extra: &str) -> Cluster {
        Self::start_each(root, racks.len() as i32, extra, |i| {
            format!("broker.rack={}", racks[i])
        })
    }

    /// Like [`start`](Self::start), broker `i` (0-based) with its own properties `own(i)`, in
    /// which `{port}` stands for its Kafka port.
    pub(crate) fn start_each(
        root: &Path,
        n: i32,
        extra: &str,
        own: impl Fn(usize) -> String,
    ) -> Cluster {
        let nodes: Vec<Node> = (1..=n)
            .map(|id| Node {
                id,
                port: free_port(),
                admin_port: free_port(),
                dir: root.join(format!("broker-{id}")),
                extra: own(id as usize - 1),
                child: None,
            })
            .collect();
        let mut cluster = Cluster {
            nodes,
            extra: extra.to_string(),
            client_args: Vec::new(),
        };
        for i in 0..cluster.nodes.len() {
            cluster.spawn(i);
        }
        cluster.wait_all_live(Duration::from_secs(30));
        cluster
    }

    fn voters(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}@127.0.0.1:{}", n.id, n.admin_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Starts (or restarts) broker `i` on its ports and data directory.
    pub(crate) fn spawn(&mut self, i: usize) {
        let voters = self.voters();
        let node = &mut self.nodes[i];
        std::fs::create_dir_all(&node.dir).unwrap();
        let secret = super::write_admin_secret(&node.dir);
        let props = node.dir.join("server.properties");
        std::fs::write(
            &props,
            format!(
                "node.id={}\nlisteners=PLAINTEXT://127.0.0.1:{}\nlog.dirs={}\ncontroller.quorum.voters={}\n\
                 broker.heartbeat.interval.ms=200\nbroker.session.timeout.ms=1000\n\
                 replica.lag.time.max.ms=3000\nreplica.fetch.wait.max.ms=200\n\
                 controlled.shutdown.timeout.ms=10000\ngroup.initial.rebalance.delay.ms=0\n{}\n{}\n",
                node.id,
                node.port,
                node.dir.join("data").display(),
                voters,
                self.extra,
                node.extra.replace("{port}", &node.port.to_string())
            ),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("broker.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sluice-broker"))
            .args(["--config", props.to_str().unwrap()])
            .arg("--admin-listener")
            .arg(format!("127.0.0.1:{}", node.admin_port))
            .arg("--admin-secret-file")
            .arg(&secret)
            .env(
                "RUST_LOG",
                std::env::var("BROKER_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        node.child = Some(child);
    }

    /// SIGKILL, and reap.
    pub(crate) fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM (controlled shutdown) and wait for a clean exit.
    pub(crate) fn stop(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            signal(c.id(), "-TERM");
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Some(status) = c.try_wait().unwrap() {
                    assert!(status.success(), "broker {} exited with {status}", i + 1);
                    return;
                }
                assert!(Instant::now() < deadline, "broker {} did not stop", i + 1);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// SIGSTOP: the process stops answering anyone, as if cut off.
    pub(crate) fn pause(&self, i: usize) {
        if let Some(pid) = self.nodes[i].pid() {
            signal(pid, "-STOP");
        }
    }

    /// SIGCONT.
    pub(crate) fn resume(&self, i: usize) {
        if let Some(pid) = self.nodes[i].pid() {
            signal(pid, "-CONT");
        }
    }

    /// Comma-separated bootstrap list of every broker.
    pub(crate) fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(Node::addr)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The admin port's `/cluster` status from broker `i`, if it answers.
    pub(crate) fn status(&self, i: usize) -> Option<Value> {
        serde_json::from_str(&self.admin_get(i, "/cluster")?).ok()
    }

    /// The body of `GET path` on broker `i`'s admin port, if it answers.
    pub(crate) fn admin_get(&self, i: usize, path: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.nodes[i].admin_port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out.split("\r\n\r\n").nth(1)?.to_string())
    }

    /// Waits until broker `i` sees every broker registered and unfenced.
    pub(crate) fn wait_all_live(&self, timeout: Duration) {
        let n = self.nodes.len();
        for i in 0..n {
            wait_for(
                timeout,
                &format!("broker {} to see all {n} brokers live", i + 1),
                || {
                    self.status(i).is_some_and(|s| {
                        s["brokers"].as_array().is_some_and(|b| {
                            b.len() == n && b.iter().all(|b| b["fenced"] == Value::Bool(false))
                        })
                    })
                },
            );
        }
    }

    /// `topic`'s partitions as `kcat -L -J` against the brokers that run shows them, in order.
    fn topic_partitions(&mut self, topic: &str) -> Option<Vec<Value>> {
        let mut live = Vec::new();
        for n in self.nodes.iter_mut() {
            if n.running() {
                live.push(n.addr());
            }
        }
        let out = Command::new("kcat")
            .args(["-L", "-J", "-m", "3", "-b", &live.join(","), "-t", topic])
            .args(&self.client_args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        let t = v["topics"].as_array()?.first()?.clone();
        if t.get("error").is_some() {
            return None;
        }
        let mut parts = t["partitions"].as_array()?.clone();
        parts.sort_by_key(|p| p["partition"].as_i64().unwrap_or(-1));
        Some(parts)
    }

    /// Topic metadata: partition → (leader, isr).
    pub(crate) fn partitions(&mut self, topic: &str) -> Option<Vec<(i32, Vec<i64>)>> {
        let parts = self.topic_partitions(topic)?;
        Some(
            parts
                .iter()
                .map(|p| {
                    let leader = p["leader"].as_i64().unwrap_or(-1) as i32;
                    (leader, ids(&p["isrs"]))
                })
                .collect(),
        )
    }

    /// Replica lists (broker ids, preferred leader first) of `topic`'s partitions, in order.
    pub(crate) fn replicas(&mut self, topic: &str) -> Option<Vec<Vec<i64>>> {
        let parts = self.topic_partitions(topic)?;
        Some(parts.iter().map(|p| ids(&p["replicas"])).collect())
    }

    /// Waits until every partition of `topic` has a leader and a full ISR of `rf`.
    pub(crate) fn wait_fully_replicated(
        &mut self,
        topic: &str,
        partitions: usize,
        rf: usize,
        timeout: Duration,
    ) {
        wait_for(timeout, &format!("{topic} fully replicated"), || {
            self.partitions(topic).is_some_and(|ps| {
                ps.len() == partitions && ps.iter().all(|(l, isr)| *l >= 0 && isr.len() == rf)
            })
        });
    }

    /// Index (0-based) of the broker leading `partition`, once there is one.
    pub(crate) fn leader_of(&mut self, topic: &str, partition: usize, timeout: Duration) -> usize {
        let mut found = None;
        wait_for(
            timeout,
            &format!("a leader for {topic}-{partition}"),
            || {
                found = self
                    .partitions(topic)
                    .and_then(|ps| ps.get(partition).map(|p| p.0))
                    .filter(|l| *l > 0);
                found.is_some()
            },
        );
        (found.unwrap() - 1) as usize
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.resume(i);
            self.kill(i);
        }
        if std::thread::panicking() {
            for n in &self.nodes {
                let log = std::fs::read_to_string(n.dir.join("broker.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                eprintln!("--- broker {} log (last lines)", n.id);
                for l in tail.iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
    }
}

/// Broker ids of a kcat `[{"id": …}, …]` list.
fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect())
        .unwrap_or_default()
}

/// Polls `cond` every 50 ms until it holds; panics naming `what` after `timeout`.
pub(crate) fn wait_for(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
