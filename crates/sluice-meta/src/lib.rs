//! `sluice-meta`: the cluster metadata of one Sluice Kafka cluster, replicated with Raft.
//!
//! This crate owns what the brokers of a cluster must agree on: registered brokers (and which
//! are fenced), topics, partitions, replica assignments, leaders, in-sync replica sets, leader
//! and partition epochs, reassignments, dynamic cluster configs and producer-id blocks.
//!
//! * [`image`] is the pure state machine: [`MetadataImage`] and the [`Command`]s that change
//!   it. Every controller decision (replica placement, leader election from the ISR, controlled
//!   shutdown, reassignment completion) is made deterministically inside
//!   [`MetadataImage::apply`], so every replica of the log computes the same image and the
//!   decisions are unit-testable without a network.
//! * [`node`] runs it: an `openraft` node per broker (voters from `controller.quorum.voters`,
//!   other brokers as learners), its persistent log, vote and snapshots under the broker's data
//!   directory, HTTP RPCs mounted on the broker's admin listener, forwarding of proposals to the
//!   Raft leader (the *controller*), and broker liveness (heartbeats → fence/unfence).
//!
//! Invariants: the image changes only by applying committed commands in log order; `apply` never
//! reads the clock or randomness (callers put ids and times into commands); a fenced broker leads
//! no partition and is in no ISR, except as the last member of an ISR with no leader (Kafka's
//! "last known leader", so unclean election stays off).

pub mod error;
pub mod image;
pub mod node;

pub use error::MetaError;
pub use image::{
    BrokerEndpoint, BrokerId, BrokerRegistration, Command, MetadataImage, PartitionMeta, Reply,
    TopicMeta,
};
pub use node::auth::{AdminAuth, AdminSecret, Signer};
pub use node::{MetaConfig, MetaNode, RaftTuning};
