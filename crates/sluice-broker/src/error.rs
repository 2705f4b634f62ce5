//! Library error types.

use std::io;

/// Why a connection's byte stream could not be split into frames.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The length prefix is negative.
    #[error("negative frame length {0}")]
    NegativeLength(i32),
    /// The length prefix exceeds `socket.request.max.bytes`.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// The frame cannot even hold a request header.
    #[error("frame of {0} bytes is too small for a request header")]
    TooSmall(usize),
}

/// Why a frame could not be turned into a request; the connection is closed.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The API key is not one Kafka defines or not one this broker serves.
    #[error("unknown or unsupported api key {0}")]
    UnknownApiKey(i16),
    /// Header or body did not parse for the announced version.
    #[error("malformed {api} v{version} request: {reason}")]
    Malformed {
        /// API name.
        api: &'static str,
        /// Requested version.
        version: i16,
        /// Decoder message.
        reason: String,
    },
}

/// Errors of the broker as a whole.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Filesystem or socket failure.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// Storage layer failure.
    #[error("log: {0}")]
    Log(String),
    /// Invalid configuration.
    #[error("config: {0}")]
    Config(String),
    /// Response encoding failed (a bug: responses are built by this crate).
    #[error("encode: {0}")]
    Encode(String),
    /// The metadata quorum could not be started.
    #[error("metadata: {0}")]
    Meta(#[from] sluice_meta::MetaError),
}
