//! The local runtime: each broker is a `sluice-broker` process on this host.
//!
//! Layout under the root (`.sluice/brokers` in `sluice-control dev`):
//! `<cluster id>/{quorum.json, admin.secret}` and
//! `<cluster id>/broker-<n>/{broker.json, server.properties, broker.pid, broker.log, data/}`.
//! `broker.json` keeps the broker's ports and what it was started with, so a healed broker comes
//! back on the same address with the same data.
//!
//! The brokers of a cluster form one Kafka cluster: every broker gets the same
//! `--controller-quorum-voters`, brokers `1..=min(3, broker count)` at the cluster's first
//! broker start, with admin ports allocated once and kept in `quorum.json` (Raft membership is
//! fixed at first start, so the list never changes; brokers added later join as learners, and
//! scaling in below the voters leaves the quorum with fewer live voters, a majority of the
//! original ones still needed). It reports the brokers' Kafka listeners; the restart gate,
//! drains and rebalances go through them ([`crate::broker_admin::KafkaAdmin`]).
//!
//! Invariants:
//! - at most one process per broker directory: before starting, the pid file is checked against
//!   `/proc/<pid>/cmdline` (the process must be `sluice-broker` with this `--data-dir`), so a
//!   control plane that restarts adopts running brokers and never starts duplicates;
//! - brokers run in their own process group, so they outlive the control plane (a restart of the
//!   control plane is not an outage);
//! - logs are appended to one file per broker and kept until the broker is removed;
//! - the admin port is authenticated: every broker of a cluster gets the cluster's
//!   `admin.secret` (32 random bytes, mode 0600, generated once) as `--admin-secret-file`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use crate::broker_admin::KafkaAdmin;
use crate::probe::probe;
use crate::runtime::{BrokerSpec, Health, ObservedBroker, Runtime};
use crate::RuntimeError;

mod files;
mod process;

use files::{ensure_admin_secret, BrokerMeta, Quorum, Voter};
use process::{free_port, is_broker_process, signal};

/// Settings of the local runtime.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Where broker directories live.
    pub root: PathBuf,
    /// The `sluice-broker` executable.
    pub broker_bin: PathBuf,
    /// How long a started broker may take to answer before it counts as unresponsive.
    pub start_grace: Duration,
    /// How long a controlled shutdown may take before the process is killed.
    pub stop_timeout: Duration,
    /// Timeout of one readiness probe.
    pub probe_timeout: Duration,
    /// Timeout of one Kafka admin exchange (Metadata, AlterPartitionReassignments, …).
    pub admin_timeout: Duration,
    /// Properties every broker gets before the configuration revision's (which win), e.g.
    /// shorter failure-detection timeouts in tests.
    pub extra_properties: String,
}

impl LocalConfig {
    pub fn new(root: impl Into<PathBuf>, broker_bin: impl Into<PathBuf>) -> LocalConfig {
        LocalConfig {
            root: root.into(),
            broker_bin: broker_bin.into(),
            start_grace: Duration::from_secs(20),
            stop_timeout: Duration::from_secs(30),
            probe_timeout: Duration::from_millis(1500),
            admin_timeout: Duration::from_secs(10),
            extra_properties: String::new(),
        }
    }
}

/// Brokers as local processes.
#[derive(Debug)]
pub struct LocalRuntime {
    cfg: LocalConfig,
    /// Processes this instance started, kept to reap them when they exit (an adopted process
    /// is not our child; init reaps it).
    children: Mutex<HashMap<PathBuf, Child>>,
}

impl LocalRuntime {
    pub fn new(cfg: LocalConfig) -> LocalRuntime {
        LocalRuntime {
            cfg,
            children: Mutex::new(HashMap::new()),
        }
    }

    pub fn cluster_dir(&self, cluster_id: Uuid) -> PathBuf {
        self.cfg.root.join(cluster_id.to_string())
    }

    pub fn broker_dir(&self, cluster_id: Uuid, broker_id: u32) -> PathBuf {
        self.cluster_dir(cluster_id)
            .join(format!("broker-{broker_id}"))
    }

    /// The pid of the broker's running process, if one runs.
    pub fn broker_pid(&self, cluster_id: Uuid, broker_id: u32) -> Option<u32> {
        self.running_pid(&self.broker_dir(cluster_id, broker_id))
    }

    fn running_pid(&self, dir: &Path) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(dir.join("broker.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        if let Some(child) = self.children.lock().expect("poisoned").get_mut(dir) {
            if child.id() == pid {
                // Our own child: `try_wait` is the truth (and reaps it if it exited, so it does
                // not linger as a zombie). Its /proc cmdline is not: right after spawn it may
                // still show ours for a moment.
                return matches!(child.try_wait(), Ok(None)).then_some(pid);
            }
        }
        is_broker_process(pid, &dir.join("data")).then_some(pid)
    }

    /// The cluster's quorum: read from `quorum.json`, or chosen now (voters
    /// `1..=min(3, broker_count)`, fresh admin ports) and written once.
    fn ensure_quorum(&self, cluster_id: Uuid, broker_count: u32) -> Result<Quorum, RuntimeError> {
        let cdir = self.cluster_dir(cluster_id);
        let path = cdir.join("quorum.json");
        match std::fs::read(&path) {
            Ok(bytes) => {
                return serde_json::from_slice(&bytes).map_err(|e| RuntimeError::Corrupt {
                    what: path.display().to_string(),
                    message: e.to_string(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RuntimeError::io(path.display().to_string())(e)),
        }
        let mut voters = Vec::new();
        for id in 1..=broker_count.clamp(1, 3) {
            // A broker that already exists (a cluster from before quorum files) keeps its port.
            let admin_port = match Self::read_meta(&self.broker_dir(cluster_id, id))? {
                Some(m) => m.admin_port,
                None => free_port()?,
            };
            voters.push(Voter { id, admin_port });
        }
        let quorum = Quorum { voters };
        std::fs::create_dir_all(&cdir).map_err(RuntimeError::io(cdir.display().to_string()))?;
        let tmp = cdir.join("quorum.json.tmp");
        let bytes = serde_json::to_vec_pretty(&quorum).expect("serialisable");
        std::fs::write(&tmp, bytes).map_err(RuntimeError::io(tmp.display().to_string()))?;
        std::fs::rename(&tmp, &path).map_err(RuntimeError::io(path.display().to_string()))?;
        tracing::info!(%cluster_id, voters = %quorum.voters_flag(), "metadata quorum chosen");
        Ok(quorum)
    }

    /// Kafka addresses of the cluster's brokers whose process runs, lowest id first.
    fn kafka_addrs(&self, cluster_id: Uuid) -> Result<Vec<SocketAddr>, RuntimeError> {
        let mut out = Vec::new();
        for d in self.broker_dirs(cluster_id)? {
            if let Some(meta) = Self::read_meta(&d)? {
                if self.running_pid(&d).is_some() {
                    out.push((
                        meta.broker_id,
                        SocketAddr::from((Ipv4Addr::LOCALHOST, meta.port)),
                    ));
                }
            }
        }
        out.sort_by_key(|(id, _)| *id);
        Ok(out.into_iter().map(|(_, a)| a).collect())
    }

    /// The cluster's `broker-*` directories.
    fn broker_dirs(&self, cluster_id: Uuid) -> Result<Vec<PathBuf>, RuntimeError> {
        let dir = self.cluster_dir(cluster_id);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RuntimeError::io(dir.display().to_string())(e)),
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("broker-"))
            .map(|e| e.path())
            .collect();
        dirs.sort();
        Ok(dirs)
    }

    fn read_meta(dir: &Path) -> Result<Option<BrokerMeta>, RuntimeError> {
        let path = dir.join("broker.json");
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| RuntimeError::Corrupt {
                        what: path.display().to_string(),
                        message: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RuntimeError::io(path.display().to_string())(e)),
        }
    }

    fn write_meta(dir: &Path, meta: &BrokerMeta) -> Result<(), RuntimeError> {
        let tmp = dir.join("broker.json.tmp");
        let bytes = serde_json::to_vec_pretty(meta).expect("serialisable");
        std::fs::write(&tmp, bytes).map_err(RuntimeError::io(tmp.display().to_string()))?;
        // Rename, so a crash never leaves a half-written file (and lost ports).
        std::fs::rename(&tmp, dir.join("broker.json"))
            .map_err(RuntimeError::io(dir.display().to_string()))
    }

    async fn observe_one(
        &self,
        cluster_id: Uuid,
        dir: &Path,
    ) -> Result<Option<ObservedBroker>, RuntimeError> {
        let Some(meta) = Self::read_meta(dir)? else {
            return Ok(None);
        };
        let mut partitions = None;
        let health = if self.running_pid(dir).is_none() {
            Health::Dead
        } else {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, meta.port));
            match probe(addr, meta.broker_id as i32, self.cfg.probe_timeout).await {
                Ok(report) => {
                    partitions = Some(report.partitions);
                    Health::Healthy
                }
                Err(e) => {
                    let age = chrono::Utc::now().timestamp_millis() - meta.started_at_ms;
                    tracing::debug!(%cluster_id, broker = meta.broker_id, error = %e, "broker not answering");
                    if age < self.cfg.start_grace.as_millis() as i64 {
                        Health::Starting
                    } else {
                        Health::Unresponsive
                    }
                }
            }
        };
        Ok(Some(ObservedBroker {
            broker_id: meta.broker_id,
            health,
            fingerprint: meta.fingerprint,
            storage_gib: meta.storage_gib,
            partitions,
            host: Ipv4Addr::LOCALHOST.to_string(),
            port: meta.port,
            zone: None,
        }))
    }

    fn spawn(
        &self,
        spec: &BrokerSpec,
        dir: &Path,
        meta: &BrokerMeta,
        quorum: &Quorum,
        admin_secret: &Path,
    ) -> Result<(), RuntimeError> {
        let io = |what: &str| RuntimeError::io(format!("{} ({what})", dir.display()));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).map_err(io("data dir"))?;
        let props = dir.join("server.properties");
        let mut text = String::new();
        if !self.cfg.extra_properties.trim().is_empty() {
            text.push_str("# The local runtime's defaults\n");
            text.push_str(self.cfg.extra_properties.trim_end());
            text.push('\n');
        }
        if !spec.server_properties.trim().is_empty() {
            text.push_str("# The cluster's configuration revision\n");
            text.push_str(spec.server_properties.trim_end());
            text.push('\n');
        }
        text.push_str(&format!(
            "# Set by Sluice\ncluster.id={}\n",
            spec.cluster_id
        ));
        std::fs::write(&props, text).map_err(io("server.properties"))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("broker.log"))
            .map_err(io("broker.log"))?;
        let err_log = log.try_clone().map_err(io("broker.log"))?;
        let listener = format!("PLAINTEXT://127.0.0.1:{}", meta.port);
        let child = Command::new(&self.cfg.broker_bin)
            .arg("--node-id")
            .arg(spec.broker_id.to_string())
            .arg("--listeners")
            .arg(&listener)
            .arg("--advertised-listeners")
            .arg(&listener)
            .arg("--data-dir")
            .arg(&data)
            .arg("--admin-listener")
            .arg(format!("127.0.0.1:{}", meta.admin_port))
            .arg("--controller-quorum-voters")
            .arg(quorum.voters_flag())
            .arg("--admin-secret-file")
            .arg(admin_secret)
            .arg("--config")
            .arg(&props)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            // Its own process group: a ctrl-c to the control plane does not reach brokers.
            .process_group(0)
            .spawn()
            .map_err(RuntimeError::io(self.cfg.broker_bin.display().to_string()))?;
        std::fs::write(dir.join("broker.pid"), child.id().to_string()).map_err(io("broker.pid"))?;
        tracing::info!(cluster_id = %spec.cluster_id, broker = spec.broker_id, pid = child.id(), port = meta.port, "broker started");
        self.children
            .lock()
            .expect("poisoned")
            .insert(dir.to_path_buf(), child);
        Ok(())
    }
}

impl Runtime for LocalRuntime {
    type Admin = KafkaAdmin<LocalRuntime>;

    fn admin(runtime: &Arc<LocalRuntime>) -> KafkaAdmin<LocalRuntime> {
        KafkaAdmin::new(
            runtime.clone(),
            runtime.cfg.probe_timeout,
            runtime.cfg.admin_timeout,
        )
    }

    async fn kafka_endpoints(
        &self,
        cluster_id: Uuid,
    ) -> Result<Option<Vec<SocketAddr>>, RuntimeError> {
        self.kafka_addrs(cluster_id).map(Some)
    }

    async fn observe(&self, cluster_id: Uuid) -> Result<Vec<ObservedBroker>, RuntimeError> {
        let mut out = Vec::new();
        for d in self.broker_dirs(cluster_id)? {
            if let Some(b) = self.observe_one(cluster_id, &d).await? {
                out.push(b);
            }
        }
        out.sort_by_key(|b| b.broker_id);
        Ok(out)
    }

    async fn start_broker(&self, spec: &BrokerSpec) -> Result<(), RuntimeError> {
        let dir = self.broker_dir(spec.cluster_id, spec.broker_id);
        std::fs::create_dir_all(&dir).map_err(RuntimeError::io(dir.display().to_string()))?;
        let quorum = self.ensure_quorum(spec.cluster_id, spec.broker_count)?;
        let mut meta = match Self::read_meta(&dir)? {
            Some(m) => m,
            None => BrokerMeta {
                broker_id: spec.broker_id,
                port: free_port()?,
                admin_port: match quorum.admin_port(spec.broker_id) {
                    Some(p) => p,
                    None => free_port()?,
                },
                fingerprint: String::new(),
                kafka_version: spec.kafka_version.clone(),
                storage_gib: spec.storage_gib,
                started_at_ms: 0,
            },
        };
        if self.running_pid(&dir).is_some() {
            if meta.fingerprint == spec.fingerprint {
                return Ok(()); // already running as asked: adopt, never duplicate
            }
            self.stop_broker(spec.cluster_id, spec.broker_id).await?;
        }
        meta.fingerprint = spec.fingerprint.clone();
        meta.kafka_version = spec.kafka_version.clone();
        meta.storage_gib = meta.storage_gib.max(spec.storage_gib);
        meta.started_at_ms = chrono::Utc::now().timestamp_millis();
        Self::write_meta(&dir, &meta)?;
        let cdir = self.cluster_dir(spec.cluster_id);
        let secret =
            ensure_admin_secret(&cdir).map_err(RuntimeError::io(cdir.display().to_string()))?;
        self.spawn(spec, &dir, &meta, &quorum, &secret)
    }

    async fn stop_broker(&self, cluster_id: Uuid, broker_id: u32) -> Result<(), RuntimeError> {
        let dir = self.broker_dir(cluster_id, broker_id);
        let Some(pid) = self.running_pid(&dir) else {
            return Ok(());
        };
        // Controlled shutdown first; the broker flushes and closes its logs on SIGTERM.
        signal(pid, "TERM");
        let deadline = tokio::time::Instant::now() + self.cfg.stop_timeout;
        while self.running_pid(&dir).is_some() {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(%cluster_id, broker_id, pid, "controlled shutdown timed out; killing");
                signal(pid, "KILL");
                let hard = tokio::time::Instant::now() + Duration::from_secs(5);
                while self.running_pid(&dir).is_some() {
                    if tokio::time::Instant::now() >= hard {
                        return Err(RuntimeError::StopTimeout {
                            cluster_id,
                            broker_id,
                            secs: self.cfg.stop_timeout.as_secs() + 5,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = std::fs::remove_file(dir.join("broker.pid"));
        self.children.lock().expect("poisoned").remove(&dir);
        Ok(())
    }

    async fn wait_ready(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        let dir = self.broker_dir(cluster_id, broker_id);
        let meta = Self::read_meta(&dir)?.ok_or_else(|| RuntimeError::Corrupt {
            what: dir.display().to_string(),
            message: "no broker.json".into(),
        })?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, meta.port));
        let deadline = tokio::time::Instant::now() + timeout;
        let not_ready = |last: String| RuntimeError::NotReady {
            cluster_id,
            broker_id,
            secs: timeout.as_secs(),
            last,
        };
        loop {
            if self.running_pid(&dir).is_none() {
                return Err(not_ready(format!(
                    "the process exited; see {}",
                    dir.join("broker.log").display()
                )));
            }
            let last = match probe(addr, broker_id as i32, self.cfg.probe_timeout).await {
                Ok(_) => return Ok(()),
                Err(e) => e.to_string(),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(not_ready(last));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn resize_storage(&self, spec: &BrokerSpec) -> Result<(), RuntimeError> {
        // Local storage is the host's disk: growing it is recording the new size.
        let dir = self.broker_dir(spec.cluster_id, spec.broker_id);
        if let Some(mut meta) = Self::read_meta(&dir)? {
            meta.storage_gib = meta.storage_gib.max(spec.storage_gib);
            Self::write_meta(&dir, &meta)?;
        }
        Ok(())
    }

    async fn remove_broker(&self, cluster_id: Uuid, broker_id: u32) -> Result<(), RuntimeError> {
        self.stop_broker(cluster_id, broker_id).await?;
        let dir = self.broker_dir(cluster_id, broker_id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RuntimeError::io(dir.display().to_string())(e)),
        }
        // The cluster's directory (and its quorum) goes with its last broker.
        if self.broker_dirs(cluster_id)?.is_empty() {
            let cdir = self.cluster_dir(cluster_id);
            match std::fs::remove_dir_all(&cdir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RuntimeError::io(cdir.display().to_string())(e)),
            }
        }
        Ok(())
    }
}
