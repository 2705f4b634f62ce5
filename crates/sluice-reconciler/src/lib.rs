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
pub mod broker_admin;
mod context;
mod error;
mod executor;
pub mod kafka_admin;
pub mod local;
pub mod planner;
pub mod probe;
mod reconciler;
pub mod runtime;
pub mod sim;

pub use admin::{ClusterAdmin, ClusterStatus};
pub use broker_admin::KafkaAdmin;
pub use context::Context;
pub use error::{ReconcileError, RuntimeError};
pub use reconciler::{PassOutcome, Reconciler};
pub use runtime::{BrokerSpec, Health, ObservedBroker, Runtime};
