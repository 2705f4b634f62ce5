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
    /// SASL authentication was refused (or the broker could not prove it knows our
    /// credential).
    #[error("SASL authentication with {addr} failed: {reason}")]
    Authentication {
        /// Peer address.
        addr: String,
        /// The broker's message, or what was wrong with its answer.
        reason: String,
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
