//! `sluice-broker`: a Kafka-wire-compatible broker.
//!
//! This crate owns the Kafka protocol side of Sluice: framing, request decoding and response
//! encoding (through the `kafka-protocol` crate), one handler per Kafka API under [`api`] (the
//! APIs served are the table in [`kafka_apis`]), the topic-config catalogue ([`topic_config`]),
//! the classic consumer-group coordinator ([`groups`]: the groups of each `__consumer_offsets`
//! partition this broker leads, so coordination spreads over the cluster as in Kafka),
//! idempotent-producer sequence tracking ([`producer_state`]), broker configuration and
//! metrics. Each local replica is a [`partition::Partition`], the one owner of its log
//! (`sluice-log`), producer and replication state: handlers read a request, call a partition
//! (or group) operation, and write the response.
//!
//! Connections are served per listener ([`config::ListenerConfig`]: PLAINTEXT or SSL with
//! [`tls`], certificates reloaded without a restart), each with a [`connection::Session`] that
//! request handlers read (the listener whose addresses Metadata answers with, the TLS client's
//! identity).
//!
//! The layers are sans-I/O up to [`server`]: bytes → [`frame`] → [`codec`] → [`api`] handler →
//! response bytes.

pub mod api;
pub mod authz;
pub mod batch;
pub mod broker;
pub mod clock;
pub mod codec;
pub mod config;
pub mod connection;
pub mod error;
pub mod frame;
pub mod groups;
pub mod kafka_apis;
pub mod metrics;
pub mod partition;
pub mod producer_state;
pub mod proposals;
pub mod replica;
mod sasl;
mod scram_users;
pub mod server;
pub mod tls;
pub mod topic_config;

pub use config::{BrokerConfig, Cli};
pub use server::{run, run_with_admin};
