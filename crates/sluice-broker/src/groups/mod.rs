//! Classic consumer-group coordinator: membership, generations, rebalances, static members and
//! committed offsets.
//!
//! As in Kafka, `__consumer_offsets` has many partitions and each group belongs to one of them
//! ([`partition_for`]); the leader of that partition coordinates the group, so the groups of a
//! cluster spread over its brokers instead of all landing on one. This broker keeps one
//! `shards` entry per partition it leads: taking over a partition replays that partition
//! alone, and losing it forgets only its groups (their members get NOT_COORDINATOR and look
//! the coordinator up again). What must survive a failover is written to the group's
//! partition (`records`, written by `persist`): commits are acknowledged only once its ISR holds them; a group's
//! generation and protocol are written as they change.
//!
//! The rebalance rules (`group`) are synchronous and clock-free (callers pass `now`); handlers
//! that must wait (JoinGroup, SyncGroup) get a oneshot receiver completed when the rebalance
//! reaches the right phase. The value types handlers exchange with the coordinator are in `types`.

mod group;
#[cfg(test)]
mod leadership_tests;
mod membership;
mod offsets;
mod persist;
mod records;
mod retention;
mod shards;
#[cfg(test)]
mod tests;
mod types;

pub use shards::{java_string_hash, partition_for, set_coordinator, GroupCoordinator};
pub use types::*;
