//! Replication between brokers, Kafka's way: followers fetch from leaders with the Fetch API
//! (replica id set), leaders track their followers and move the high watermark with the ISR,
//! and ISR changes go through the controller (`sluice-meta`).
//!
//! * [`state`]: the pure rules (roles, high watermark, ISR shrink/expand).
//! * [`manager`]: applies each metadata image to the local replicas (open, role change,
//!   delete) and runs the leader's ISR maintenance.
//! * [`fetcher`]: one follower fetch loop per leader broker, with truncation on leader change
//!   through OffsetForLeaderEpoch.
//! * [`client`]: the broker-to-broker Kafka connection.

pub mod client;
pub mod fetcher;
pub mod manager;
pub mod state;
