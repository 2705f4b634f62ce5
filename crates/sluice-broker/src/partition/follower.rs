//! The follower's operations on a [`Partition`], used by the replica fetcher: where to fetch
//! from, cutting a diverged log, appending what the leader sent, and starting over when the
//! leader's log no longer overlaps ours. Each checks, under the same lock as its change, that
//! the replica still follows the leader and epoch the fetcher asked on behalf of: metadata may
//! have moved on while a request was out.

use kafka_protocol::error::ResponseError;
use sluice_log::LogError;

use super::store::PartitionStore;
use super::Partition;
use crate::error::BrokerError;
use crate::replica::state::Role;

/// What the leader answered to OffsetForLeaderEpoch for our latest epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderEpochEnd {
    /// The largest epoch at or before ours the leader knows (-1: none).
    pub leader_epoch: i32,
    /// Where that epoch ends in the leader's log (-1: unknown).
    pub end_offset: i64,
}

/// What a follower append changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerAppend {
    /// The high watermark moved: consumers reading from this follower may see more.
    pub high_watermark_moved: bool,
}

/// Why a follower operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum FollowerError {
    /// The replica no longer follows that leader at that epoch.
    #[error("no longer following that leader and epoch")]
    Superseded,
    /// The replica is offline.
    #[error("replica offline: {0:?}")]
    Offline(ResponseError),
    /// The log refused.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Truncating or resetting failed.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

fn following(store: &PartitionStore, leader: i32, epoch: i32) -> Result<(), FollowerError> {
    if store.replica.role == (Role::Follower { leader }) && store.replica.leader_epoch == epoch {
        Ok(())
    } else {
        Err(FollowerError::Superseded)
    }
}

impl Partition {
    /// Follower: where the next fetch starts, `(log end, log start)`.
    pub fn fetch_position(&self) -> Result<(i64, i64), ResponseError> {
        let s = self.state()?;
        Ok((s.store.log_end_offset(), s.store.log_start_offset()))
    }

    /// Leader epoch of the last batch, if any (what a follower asks the leader about).
    pub fn latest_epoch(&self) -> Result<Option<i32>, ResponseError> {
        Ok(self.state()?.store.latest_epoch())
    }

    /// Follower: cuts the log where it diverges from the leader's, given the leader's answer
    /// for `our_latest` epoch. Returns the offset it cut to, if it cut.
    pub fn truncate_diverged(
        &self,
        leader: i32,
        epoch: i32,
        our_latest: i32,
        answer: LeaderEpochEnd,
    ) -> Result<Option<i64>, FollowerError> {
        let mut s = self.state().map_err(FollowerError::Offline)?;
        let store = &mut s.store;
        following(store, leader, epoch)?;
        let target = if answer.end_offset < 0 {
            // The leader has no epoch at or before ours: keep only what was committed.
            store.high_watermark()
        } else if answer.leader_epoch == our_latest {
            answer.end_offset
        } else {
            // The leader's epoch ended earlier than ours did: cut at the older of the two ends
            // of that epoch.
            let (_, ours) = store.end_offset_for_epoch(answer.leader_epoch);
            answer
                .end_offset
                .min(if ours < 0 { answer.end_offset } else { ours })
        };
        let end = store.log_end_offset();
        if target >= end {
            return Ok(None);
        }
        tracing::info!(topic = %self.topic, partition = self.index, from = end, to = target, "truncating diverged log");
        store.truncate_to(target)?;
        Ok(Some(target))
    }

    /// Follower: appends batches fetched from the leader (keeping their offsets and epochs),
    /// adopts its high watermark and follows its log start (DeleteRecords on the leader moves
    /// the start of every replica).
    pub fn append_fetched(
        &self,
        leader: i32,
        epoch: i32,
        records: &[u8],
        leader_high_watermark: i64,
        leader_log_start: i64,
    ) -> Result<FollowerAppend, FollowerError> {
        let mut s = self.state().map_err(FollowerError::Offline)?;
        let store = &mut s.store;
        following(store, leader, epoch)?;
        if !records.is_empty() {
            store.append_as_follower(records)?;
        }
        let hw = store.high_watermark();
        store.follow_high_watermark(leader_high_watermark);
        let high_watermark_moved = store.high_watermark() != hw;
        if leader_log_start > store.log_start_offset() && leader_log_start <= store.high_watermark()
        {
            if let Err(e) = store.delete_records_before(leader_log_start) {
                tracing::debug!(topic = %self.topic, partition = self.index, error = ?e, "following log start failed");
            }
        }
        Ok(FollowerAppend {
            high_watermark_moved,
        })
    }

    /// Follower whose fetch offset the leader refused, as Kafka's follower handles it: if the
    /// leader's log ends below ours (it never had what we hold past its end), cut ours back to
    /// its end; if it starts above our end (retention or DeleteRecords removed records we
    /// never copied), start over, empty, at its log start. Either way the next fetch is in
    /// range.
    pub fn reset_out_of_range(
        &self,
        leader: i32,
        epoch: i32,
        leader_start: i64,
        leader_end: i64,
    ) -> Result<(), FollowerError> {
        let mut s = self.state().map_err(FollowerError::Offline)?;
        let store = &mut s.store;
        following(store, leader, epoch)?;
        let ours = store.log_end_offset();
        if leader_end < ours {
            tracing::warn!(topic = %self.topic, partition = self.index, ours, leader_end, "leader's log ends below ours; truncating");
            store.truncate_to(leader_end)?;
        } else if leader_start > ours {
            tracing::warn!(topic = %self.topic, partition = self.index, ours, leader_start, "leader's log starts past our end; starting over at its log start");
            store.truncate_fully_and_start_at(leader_start)?;
        }
        // Else in range again (the leader moved meanwhile): just fetch again.
        Ok(())
    }
}
