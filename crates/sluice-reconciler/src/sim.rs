//! An in-memory runtime for tests and benchmarks: brokers are entries in a map that become
//! healthy at once. Tests can kill a broker, make the next calls fail, and count restarts,
//! drains and rebalances. A drain empties the broker at once; the controller is the lowest id.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use crate::admin::{ClusterAdmin, ClusterStatus};
use crate::runtime::{BrokerSpec, Health, ObservedBroker, Runtime};
use crate::RuntimeError;

/// The in-memory runtime. Cheap operations, no I/O.
#[derive(Debug, Default)]
pub struct SimRuntime {
    clusters: Mutex<HashMap<Uuid, BTreeMap<u32, ObservedBroker>>>,
    /// Starts (first starts and restarts) per (cluster, broker), to check "no duplicates".
    starts: Mutex<HashMap<(Uuid, u32), u32>>,
    /// Number of upcoming `start_broker` calls that fail.
    fail_starts: AtomicU32,
    /// Drains and rebalances run, per cluster.
    drains: Mutex<HashMap<Uuid, u32>>,
    rebalances: Mutex<HashMap<Uuid, u32>>,
}

impl SimRuntime {
    pub fn new() -> SimRuntime {
        SimRuntime::default()
    }

    /// Makes a broker's process disappear, as `kill -9` would.
    pub fn kill(&self, cluster_id: Uuid, broker_id: u32) {
        if let Some(b) = self
            .lock()
            .get_mut(&cluster_id)
            .and_then(|c| c.get_mut(&broker_id))
        {
            b.health = Health::Dead;
        }
    }

    /// Makes the next `n` broker starts fail.
    pub fn fail_next_starts(&self, n: u32) {
        self.fail_starts.store(n, Ordering::SeqCst);
    }

    /// Sets the partitions a broker reports.
    pub fn set_partitions(&self, cluster_id: Uuid, broker_id: u32, n: u32) {
        if let Some(b) = self
            .lock()
            .get_mut(&cluster_id)
            .and_then(|c| c.get_mut(&broker_id))
        {
            b.partitions = Some(n);
        }
    }

    /// Makes a broker unable to say which partitions it holds (as when it cannot be asked).
    pub fn hide_partitions(&self, cluster_id: Uuid, broker_id: u32) {
        if let Some(b) = self
            .lock()
            .get_mut(&cluster_id)
            .and_then(|c| c.get_mut(&broker_id))
        {
            b.partitions = None;
        }
    }

    /// How many drains (scale-in) ran on a cluster.
    pub fn drains(&self, cluster_id: Uuid) -> u32 {
        let d = self.drains.lock().expect("poisoned");
        d.get(&cluster_id).copied().unwrap_or(0)
    }

    /// How many rebalances (scale-out) ran on a cluster.
    pub fn rebalances(&self, cluster_id: Uuid) -> u32 {
        let r = self.rebalances.lock().expect("poisoned");
        r.get(&cluster_id).copied().unwrap_or(0)
    }

    /// How often a broker was started.
    pub fn starts(&self, cluster_id: Uuid, broker_id: u32) -> u32 {
        let starts = self.starts.lock().expect("poisoned");
        starts.get(&(cluster_id, broker_id)).copied().unwrap_or(0)
    }

    /// The brokers of a cluster now.
    pub fn brokers(&self, cluster_id: Uuid) -> Vec<ObservedBroker> {
        self.lock()
            .get(&cluster_id)
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, BTreeMap<u32, ObservedBroker>>> {
        self.clusters.lock().expect("poisoned")
    }
}

impl Runtime for SimRuntime {
    type Admin = Arc<SimRuntime>;

    fn admin(runtime: &Arc<SimRuntime>) -> Arc<SimRuntime> {
        runtime.clone()
    }

    /// Simulated brokers have no Kafka listener.
    async fn kafka_endpoints(
        &self,
        _cluster_id: Uuid,
    ) -> Result<Option<Vec<SocketAddr>>, RuntimeError> {
        Ok(None)
    }

    async fn observe(&self, cluster_id: Uuid) -> Result<Vec<ObservedBroker>, RuntimeError> {
        Ok(self.brokers(cluster_id))
    }

    async fn start_broker(&self, spec: &BrokerSpec) -> Result<(), RuntimeError> {
        let left = self.fail_starts.load(Ordering::SeqCst);
        if left > 0 {
            self.fail_starts.store(left - 1, Ordering::SeqCst);
            return Err(RuntimeError::Simulated(format!(
                "broker {} failed to start",
                spec.broker_id
            )));
        }
        let mut clusters = self.lock();
        let brokers = clusters.entry(spec.cluster_id).or_default();
        if let Some(b) = brokers.get(&spec.broker_id) {
            if b.health == Health::Healthy && b.fingerprint == spec.fingerprint {
                return Ok(());
            }
        }
        let partitions = brokers.get(&spec.broker_id).and_then(|b| b.partitions);
        brokers.insert(
            spec.broker_id,
            ObservedBroker {
                broker_id: spec.broker_id,
                health: Health::Healthy,
                fingerprint: spec.fingerprint.clone(),
                storage_gib: spec.storage_gib,
                partitions: partitions.or(Some(0)),
                host: "127.0.0.1".into(),
                port: 19_000 + spec.broker_id as u16,
                zone: None,
            },
        );
        drop(clusters);
        *self
            .starts
            .lock()
            .expect("poisoned")
            .entry((spec.cluster_id, spec.broker_id))
            .or_default() += 1;
        Ok(())
    }

    async fn stop_broker(&self, cluster_id: Uuid, broker_id: u32) -> Result<(), RuntimeError> {
        self.kill(cluster_id, broker_id);
        Ok(())
    }

    async fn wait_ready(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        let healthy = self
            .lock()
            .get(&cluster_id)
            .and_then(|c| c.get(&broker_id))
            .is_some_and(|b| b.health == Health::Healthy);
        if healthy {
            Ok(())
        } else {
            Err(RuntimeError::NotReady {
                cluster_id,
                broker_id,
                secs: timeout.as_secs(),
                last: "not running".into(),
            })
        }
    }

    async fn resize_storage(&self, spec: &BrokerSpec) -> Result<(), RuntimeError> {
        if let Some(b) = self
            .lock()
            .get_mut(&spec.cluster_id)
            .and_then(|c| c.get_mut(&spec.broker_id))
        {
            b.storage_gib = spec.storage_gib;
        }
        Ok(())
    }

    async fn remove_broker(&self, cluster_id: Uuid, broker_id: u32) -> Result<(), RuntimeError> {
        let mut clusters = self.lock();
        if let Some(c) = clusters.get_mut(&cluster_id) {
            c.remove(&broker_id);
            if c.is_empty() {
                clusters.remove(&cluster_id);
            }
        }
        Ok(())
    }
}

/// The simulated brokers' answers: always safe, the lowest broker the controller; a drain
/// empties the broker and a rebalance is counted, so tests can see both happened.
impl ClusterAdmin for SimRuntime {
    async fn cluster_status(&self, cluster_id: Uuid) -> Result<ClusterStatus, RuntimeError> {
        Ok(ClusterStatus {
            safe: true,
            controller: self
                .lock()
                .get(&cluster_id)
                .and_then(|c| c.keys().next().copied()),
        })
    }

    async fn drain_broker(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
        _keep: &[u32],
        _timeout: Duration,
    ) -> Result<(), RuntimeError> {
        self.set_partitions(cluster_id, broker_id, 0);
        *self
            .drains
            .lock()
            .expect("poisoned")
            .entry(cluster_id)
            .or_default() += 1;
        Ok(())
    }

    async fn rebalance(
        &self,
        cluster_id: Uuid,
        _brokers: &[u32],
        _timeout: Duration,
    ) -> Result<(), RuntimeError> {
        *self
            .rebalances
            .lock()
            .expect("poisoned")
            .entry(cluster_id)
            .or_default() += 1;
        Ok(())
    }

    async fn unregister_broker(
        &self,
        _cluster_id: Uuid,
        _broker_id: u32,
    ) -> Result<(), RuntimeError> {
        Ok(())
    }
}
