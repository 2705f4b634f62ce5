//! Sluice's reconciler: makes the brokers that run match each cluster's desired spec, and the
//! runtimes brokers run in.
//!
//! Ownership: this crate owns every change to running brokers, and the cluster state moves that
//! follow from them (CREATING/UPDATING/REBOOTING_BROKER/HEALING → ACTIVE, DELETING → gone,
//! → FAILED). It reads and writes Postgres only through `sluice-store`.
//!
//! Shape: [`reconciler`] (the loop, leases, retries) asks [`planner`] (pure) for the next
//! [`planner::Step`], which [`executor`] performs through a [`Runtime`] (where brokers run) and
//! its [`ClusterAdmin`] (what the brokers say: the restart gate, drain, rebalance, unregister,
//! through [`sluice_kafka_client`]) and records on the operation.
//!
//! Invariants:
//! - one pass at a time per cluster in a replica, and one replica per cluster (a lease in
//!   Postgres that expires `lease_ttl` after its holder stops renewing it);
//! - level-triggered: every pass starts from the stored spec and operation and what the runtime
//!   observes, never from memory, so a restarted control plane resumes any operation;
//! - never two brokers of a cluster restarted at once, and the controller last; never a broker
//!   removed while it holds partitions: a scale-in drains it first, a scale-out rebalances onto
//!   the new brokers (the planner's rules, tested exhaustively; the moves themselves go through
//!   the Kafka admin API, [`kafka_admin`]);
//! - every step is idempotent and is recorded before (IN_PROGRESS) and after (COMPLETE/FAILED);
//! - a cluster becomes FAILED only when its create gave up after `max_attempts` with backoff; a
//!   stuck broker keeps its cluster HEALING (retrying) while the others serve.

pub mod admin;
mod error;
mod executor;
pub mod kafka_admin;
pub mod local;
pub mod planner;
pub mod probe;
mod reconciler;
pub mod runtime;
pub mod sim;

use std::time::Duration;

pub use admin::{ClusterAdmin, ClusterStatus, KafkaAdmin};
pub use error::{ReconcileError, RuntimeError};
pub use reconciler::{PassOutcome, Reconciler};
pub use runtime::{BrokerSpec, Health, ObservedBroker, Runtime};

/// The reconciler's tunables. `Context::default()` suits production; tests shorten the times.
#[derive(Debug, Clone)]
pub struct Context {
    /// This replica's name on leases; unique per running control plane.
    pub holder: String,
    /// How long a lease lasts without renewal: the takeover time after a replica dies.
    pub lease_ttl: Duration,
    /// How often every cluster is reconciled even without a notification (catches dead brokers
    /// and missed notifications).
    pub resync_interval: Duration,
    /// Clusters reconciled at the same time.
    pub max_concurrent: usize,
    /// Failed attempts at a step before its operation is ended (see the crate invariants).
    pub max_attempts: u32,
    /// First retry delay; doubles per failed attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long a started broker may take to answer ApiVersions and Metadata.
    pub ready_timeout: Duration,
    /// How soon to look again when the plan is to wait (a broker starting).
    pub wait_interval: Duration,
    /// How long a drain (scale-in) or a rebalance (scale-out) may take before its step fails.
    pub reassign_timeout: Duration,
}

impl Default for Context {
    fn default() -> Context {
        Context {
            holder: format!("sluice-{}", uuid::Uuid::now_v7()),
            lease_ttl: Duration::from_secs(10),
            resync_interval: Duration::from_secs(5),
            max_concurrent: 16,
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            ready_timeout: Duration::from_secs(60),
            wait_interval: Duration::from_millis(250),
            reassign_timeout: Duration::from_secs(600),
        }
    }
}

impl Context {
    /// The delay before attempt `attempts + 1`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(16);
        (self.backoff_base * factor).min(self.backoff_max)
    }
}
