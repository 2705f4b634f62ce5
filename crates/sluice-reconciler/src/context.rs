//! The reconciler's [`Context`]: its tunables, passed in by whoever runs it.

use std::time::Duration;

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
