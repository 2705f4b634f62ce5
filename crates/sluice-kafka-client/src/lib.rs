//! Sluice's one Kafka wire client, over `kafka-protocol`.
//!
//! It owns speaking Kafka as a client, and nothing else: every part of Sluice that asks a broker
//! something (the reconciler's readiness probe and admin calls, a follower's fetches from its
//! leader, the tests' exact protocol checks) goes through it.
//!
//! - [`frame`]: sans-I/O. A typed request becomes the bytes of one request frame; the bytes of
//!   one response frame become a typed response, its correlation id checked.
//! - [`Connection`]: one async connection (tokio), one request in flight at a time, over plain
//!   TCP or TLS ([`ClientTls`]: trust anchors, optional client certificate, server name).
//! - [`blocking::Connection`]: the same over `std::net`, for tests and tools without a runtime;
//!   plaintext only (nothing that needs TLS uses it).

pub mod blocking;
mod connection;
mod error;
pub mod frame;
mod sasl;
mod tls;

pub use connection::Connection;
pub use error::ClientError;
/// The rustls version [`ClientTls::new`] takes a configuration of.
pub use rustls;
pub use sasl::SaslCredentials;
pub use tls::ClientTls;

/// Responses larger than this are refused unless a connection says otherwise: nothing Sluice
/// asks for comes near it, and a peer that claims more is broken or hostile.
pub const DEFAULT_MAX_RESPONSE: usize = 256 << 20;
