//! Errors of the metadata layer.

/// What can go wrong running or asking the metadata quorum.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// No controller was reachable in time (no quorum, or an election in progress).
    #[error("no controller available: {0}")]
    NoController(String),
    /// The request timed out waiting for commit or apply.
    #[error("timed out waiting for metadata: {0}")]
    Timeout(String),
    /// Persistent Raft state could not be read or written.
    #[error("metadata storage: {0}")]
    Storage(String),
    /// An RPC to another broker failed.
    #[error("metadata rpc to {peer}: {reason}")]
    Rpc {
        /// The peer's RPC address.
        peer: String,
        /// Why it failed.
        reason: String,
    },
    /// Bad configuration (voter list, addresses).
    #[error("metadata configuration: {0}")]
    Config(String),
    /// The Raft engine stopped or reported a fatal error.
    #[error("raft: {0}")]
    Raft(String),
    /// The controller applied the command and refused it (`Reply::Error`), where the caller
    /// needed it to succeed (controlled shutdown).
    #[error("refused by the controller (code {code}): {message}")]
    Rejected {
        /// Kafka error code.
        code: i16,
        /// Why.
        message: String,
    },
}
