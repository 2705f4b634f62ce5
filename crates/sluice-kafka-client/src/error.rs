//! Why a request failed.

/// Why a request failed. After any error the connection's state is unknown: callers drop it
/// and connect again.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting, reading or writing failed.
    #[error("i/o with {addr}: {source}")]
    Io {
        /// Peer address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The peer sent something we could not decode, or we could not encode the request.
    #[error("protocol with {addr}: {reason}")]
    Protocol {
        /// Peer address.
        addr: String,
        /// What was wrong.
        reason: String,
    },
}

/// A framing error before it is tied to a peer address.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FrameError(pub(crate) String);

impl FrameError {
    pub(crate) fn at(self, addr: &str) -> ClientError {
        ClientError::Protocol {
            addr: addr.to_owned(),
            reason: self.0,
        }
    }
}
