//! The `Runtime` trait: the one boundary between the reconciler and wherever brokers run (local
//! processes today, Kubernetes pods later). Every method is idempotent, because the reconciler
//! re-runs a step whose outcome it did not get to record.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use uuid::Uuid;

use crate::admin::ClusterAdmin;
pub use crate::admin::ClusterStatus;
use crate::RuntimeError;

/// Everything a runtime needs to run one broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSpec {
    pub cluster_id: Uuid,
    /// Kafka node id, from 1; kept for the broker's whole life (a healed broker keeps it).
    pub broker_id: u32,
    pub kafka_version: String,
    pub storage_gib: u32,
    /// CPU (millicores) and memory (MiB) of the broker, from its broker type.
    pub cpu_millis: u32,
    pub memory_mib: u32,
    /// Brokers the cluster should have, and zones to spread over. The quorum voters are brokers
    /// `1..=min(3, broker_count)` as of the cluster's first broker start, kept for its life.
    pub broker_count: u32,
    pub zone_count: u32,
    /// `server.properties` text from the cluster's configuration revision (empty when none).
    pub server_properties: String,
    /// Identifies what the broker must be restarted for when it changes (version and
    /// configuration revision). See [`crate::planner::fingerprint`].
    pub fingerprint: String,
}

/// How a broker answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// Its process runs and it answers ApiVersions and Metadata listing itself.
    Healthy,
    /// Its process runs but does not answer yet, within the start-up grace period.
    Starting,
    /// Its process runs but has not answered for longer than the grace period.
    Unresponsive,
    /// No process (it crashed, was killed, or was never started).
    Dead,
}

/// What a runtime observed of one broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedBroker {
    pub broker_id: u32,
    pub health: Health,
    /// The fingerprint the broker was last started with.
    pub fingerprint: String,
    pub storage_gib: u32,
    /// Partition replicas the broker holds; `None` when it could not be asked.
    pub partitions: Option<u32>,
    /// The address clients reach it on.
    pub host: String,
    pub port: u16,
    /// The failure domain it runs in (its node's zone), when the runtime knows it.
    pub zone: Option<String>,
}

/// Where brokers run. Implementations: [`crate::local::LocalRuntime`] (processes on this host),
/// [`crate::sim::SimRuntime`] (in memory, for tests and benchmarks) and the Kubernetes runtime
/// (crate `sluice-runtime-k8s`).
///
/// A runtime only runs brokers: it starts, stops, resizes and observes them, and says where
/// their Kafka listeners are. What the brokers say about their cluster (the restart gate,
/// drain, rebalance, unregister) is asked of them through [`Runtime::Admin`], written once as
/// [`crate::broker_admin::KafkaAdmin`] for every runtime whose brokers speak Kafka.
pub trait Runtime: Send + Sync + 'static {
    /// How the reconciler asks this runtime's brokers about their cluster.
    type Admin: ClusterAdmin;

    /// The admin for `runtime`'s brokers: [`crate::broker_admin::KafkaAdmin`] over
    /// [`Runtime::kafka_endpoints`], with the runtime's own timeouts.
    fn admin(runtime: &Arc<Self>) -> Self::Admin
    where
        Self: Sized;

    /// Where the control plane reaches the Kafka listeners of the cluster's running brokers,
    /// lowest broker id first; `None` when it cannot reach them from where it runs.
    fn kafka_endpoints(
        &self,
        cluster_id: Uuid,
    ) -> impl Future<Output = Result<Option<Vec<SocketAddr>>, RuntimeError>> + Send;

    /// Clusters whose brokers changed by themselves (a pod failed, a volume grew), as the
    /// runtime notices them: the reconciler runs a pass for each id it yields, on top of its
    /// notifications and resync. `None` (the default): the runtime has no such feed, and the
    /// periodic resync notices changes.
    fn wakes(&self) -> Option<BoxStream<'static, Uuid>> {
        None
    }

    /// The brokers the runtime holds for a cluster, running or not, by broker id.
    fn observe(
        &self,
        cluster_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ObservedBroker>, RuntimeError>> + Send;

    /// Makes the broker run with `spec`: starts it if it is not running (keeping its data and
    /// address); a broker already running with the same fingerprint is left alone.
    fn start_broker(
        &self,
        spec: &BrokerSpec,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Stops the broker: controlled shutdown first, forced after a timeout. Data is kept.
    fn stop_broker(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Waits until the broker answers clients.
    fn wait_ready(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Grows the broker's storage to `spec.storage_gib` without a restart.
    fn resize_storage(
        &self,
        spec: &BrokerSpec,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Stops the broker and removes its data and address.
    fn remove_broker(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;
}
