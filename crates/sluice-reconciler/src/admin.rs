//! What brokers say about their cluster, apart from where they run: the rolling-restart gate
//! (is it safe to take one broker down, and which is the controller), drain, rebalance and
//! unregister.
//!
//! [`ClusterAdmin`] is the reconciler's view of it. [`crate::KafkaAdmin`] is the one
//! implementation for brokers that speak Kafka, written once over the addresses a runtime
//! reports, so every runtime (local processes, Kubernetes pods) gets the same behaviour; the
//! simulated runtime has its own in-memory one.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::RuntimeError;

/// What the brokers said about the cluster as a whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterStatus {
    /// One broker may go down for a moment without losing availability.
    pub safe: bool,
    /// The metadata quorum's leader, when known.
    pub controller: Option<u32>,
}

/// How the reconciler asks a cluster's brokers about the cluster. Every method is idempotent.
pub trait ClusterAdmin: Send + Sync + 'static {
    /// Whether the cluster can lose one broker for a moment (every partition led, ISR =
    /// replicas, no reassignment in progress; the rolling-restart gate) and which broker is
    /// the controller (restarted last). Brokers that cannot be asked make it unsafe, not an
    /// error.
    fn cluster_status(
        &self,
        cluster_id: Uuid,
    ) -> impl Future<Output = Result<ClusterStatus, RuntimeError>> + Send;

    /// Moves every partition replica on `broker_id` to the brokers of `keep` (partition
    /// reassignment) and returns once it holds none, or fails after `timeout`.
    fn drain_broker(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
        keep: &[u32],
        timeout: Duration,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Removes a decommissioned broker (already stopped and drained) from the cluster's
    /// metadata, so it no longer shows as a fenced member.
    fn unregister_broker(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Spreads partition replicas over `brokers` (per-broker counts within one of each other),
    /// waits for the reassignments, then elects preferred leaders; fails after `timeout`.
    fn rebalance(
        &self,
        cluster_id: Uuid,
        brokers: &[u32],
        timeout: Duration,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;
}

impl<T: ClusterAdmin> ClusterAdmin for Arc<T> {
    async fn cluster_status(&self, cluster_id: Uuid) -> Result<ClusterStatus, RuntimeError> {
        (**self).cluster_status(cluster_id).await
    }

    async fn drain_broker(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
        keep: &[u32],
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        (**self)
            .drain_broker(cluster_id, broker_id, keep, timeout)
            .await
    }

    async fn unregister_broker(
        &self,
        cluster_id: Uuid,
        broker_id: u32,
    ) -> Result<(), RuntimeError> {
        (**self).unregister_broker(cluster_id, broker_id).await
    }

    async fn rebalance(
        &self,
        cluster_id: Uuid,
        brokers: &[u32],
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        (**self).rebalance(cluster_id, brokers, timeout).await
    }
}
