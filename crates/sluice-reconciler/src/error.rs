//! Errors of the reconciler and of runtimes. Each variant names the thing that failed.

use uuid::Uuid;

/// Something a runtime could not do to a broker or a cluster.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("runtime I/O on {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "broker {broker_id} of cluster {cluster_id} did not become ready within {secs} s: {last}"
    )]
    NotReady {
        cluster_id: Uuid,
        broker_id: u32,
        secs: u64,
        last: String,
    },
    #[error("broker {broker_id} of cluster {cluster_id} did not stop within {secs} s")]
    StopTimeout {
        cluster_id: Uuid,
        broker_id: u32,
        secs: u64,
    },
    #[error("runtime state of {what} is unreadable: {message}")]
    Corrupt { what: String, message: String },
    /// A request to the platform brokers run on (the Kubernetes API) failed.
    #[error("{what}: {message}")]
    Platform { what: String, message: String },
    /// The broker's storage cannot grow where it is (a storage class without volume expansion).
    #[error("storage of broker {broker_id} of cluster {cluster_id} cannot grow: {reason}")]
    CannotResize {
        cluster_id: Uuid,
        broker_id: u32,
        reason: String,
    },
    /// A Kafka admin exchange with the cluster's brokers failed or timed out (a drain, a
    /// rebalance).
    #[error("{what} of cluster {cluster_id}: {message}")]
    Admin {
        cluster_id: Uuid,
        what: String,
        message: String,
    },
    #[error("simulated runtime failure: {0}")]
    Simulated(String),
}

impl RuntimeError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuntimeError {
        let what = what.into();
        move |source| RuntimeError::Io { what, source }
    }
}

/// Why one reconcile pass of a cluster stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("store: {0}")]
    Store(#[from] sluice_store::StoreError),
    #[error("runtime: {0}")]
    Runtime(#[from] RuntimeError),
}
