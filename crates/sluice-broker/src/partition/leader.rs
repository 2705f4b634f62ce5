//! The leader's operations on a [`Partition`]: append and the acks wait, the fetch read (a
//! follower's fetch also records its progress, which may move the high watermark), offset
//! and epoch lookups, delete-records and the ISR upkeep proposal.

use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use sluice_log::FileRegion;

use super::{check_leader, check_replica, error_code, Appended, Partition};
use crate::replica::state::Role;

/// What a produce asks the leader to wait for beyond its own log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// acks=0 and acks=1: the leader's log (fsynced for durable topics).
    Leader,
    /// acks=all: every in-sync replica, with at least `min_isr` of them (Kafka's
    /// `min.insync.replicas`) before and after the append.
    All {
        /// `min.insync.replicas` of the topic.
        min_isr: usize,
    },
}

/// An append made under the lock, waiting to be acknowledged ([`Partition::acknowledge`]).
#[derive(Debug)]
pub struct PendingAppend {
    appended: Appended,
    log_start: i64,
    epoch: i32,
    acks: Acks,
}

impl PendingAppend {
    /// Records written, or `None` for a retried batch the producer state recognised.
    pub fn written(&self) -> Option<u64> {
        (!self.appended.duplicate).then_some(self.appended.record_count)
    }
}

/// What an acknowledged produce tells the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Produced {
    /// Offset of the first record (the original one for a retried batch).
    pub base_offset: i64,
    /// Append time for LogAppendTime topics, else -1.
    pub log_append_time: i64,
    /// The log start offset when the records were appended.
    pub log_start_offset: i64,
}

/// One partition of a Fetch, as the handler read it from the request.
#[derive(Debug, Clone, Copy)]
pub struct FetchPosition {
    /// Where to read from.
    pub fetch_offset: i64,
    /// The client's leader epoch (-1: unchecked).
    pub current_leader_epoch: i32,
    /// The follower broker fetching, or `None` for a consumer.
    pub replica: Option<i32>,
    /// A consumer that may read from a follower (KIP-392).
    pub follower_reads: bool,
    /// Most bytes to return.
    pub max_bytes: usize,
    /// Return at least one whole batch even past `max_bytes` (KIP-74).
    pub must_progress: bool,
}

/// What a fetch read found on one partition.
#[derive(Debug)]
pub struct FetchedPartition {
    /// The high watermark after this read.
    pub high_watermark: i64,
    /// The log start offset.
    pub log_start: i64,
    /// A follower's fetch moved the high watermark: the caller wakes waiters.
    pub high_watermark_moved: bool,
    /// The records, or why there are none.
    pub read: FetchRead,
}

/// The outcome of a fetch read.
#[derive(Debug)]
pub enum FetchRead {
    /// Whole batches to copy out with the lock released (`None`: nothing to return).
    Records(Option<FileRegion>),
    /// The consumer should read from this in-sync replica in its rack instead.
    Preferred(i32),
    /// Refused with offsets known (OFFSET_OUT_OF_RANGE, or the region could not be found).
    Failed(ResponseError),
}

/// The position a ListOffsets asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// -1: the high watermark, or the log end for a follower broker.
    Latest,
    /// -2: the log start.
    Earliest,
    /// -3: the batch with the largest timestamp.
    MaxTimestamp,
    /// The first record at or after this time.
    Timestamp(i64),
}

/// A ListOffsets answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    /// The leader epoch of this replica.
    pub leader_epoch: i32,
    /// The offset, -1 when none matches.
    pub offset: i64,
    /// The record's timestamp, for timestamp lookups; else -1.
    pub timestamp: i64,
}

/// An ISR change the leader should propose: members that fell behind leave, caught-up
/// replicas join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrChange {
    /// The leader (this broker).
    pub leader: i32,
    /// Its leader epoch.
    pub leader_epoch: i32,
    /// The partition epoch the change is based on.
    pub partition_epoch: i32,
    /// The proposed ISR.
    pub isr: Vec<i32>,
    /// Members leaving for lag.
    pub lagging: Vec<i32>,
    /// Replicas joining.
    pub joining: Vec<i32>,
}

impl Partition {
    /// Leader: validates and appends a produce's batches (all or nothing) at this replica's
    /// epoch. acks=all is refused with NOT_ENOUGH_REPLICAS up front when the ISR is smaller
    /// than `min_isr`.
    pub fn append(
        &self,
        records: &[u8],
        acks: Acks,
        now_ms: i64,
    ) -> Result<PendingAppend, ResponseError> {
        let mut s = self.state()?;
        check_leader(&s.store, -1)?;
        if let Acks::All { min_isr } = acks {
            if s.store.replica.isr.len() < min_isr {
                return Err(ResponseError::NotEnoughReplicas);
            }
        }
        let epoch = s.store.replica.leader_epoch;
        let appended = s.store.append(records, now_ms, epoch)?;
        Ok(PendingAppend {
            appended,
            log_start: s.store.log_start_offset(),
            epoch,
            acks,
        })
    }

    /// Leader: appends `records` if this replica still leads at `epoch` (a coordinator's own
    /// writes); NOT_LEADER_OR_FOLLOWER otherwise. The caller waits on the returned ticket,
    /// then calls [`mark_durable`](Self::mark_durable).
    pub fn append_at_epoch(
        &self,
        records: &[u8],
        epoch: i32,
        now_ms: i64,
    ) -> Result<Appended, ResponseError> {
        let mut s = self.state()?;
        if !s.store.replica.leads(epoch) {
            return Err(ResponseError::NotLeaderOrFollower);
        }
        s.store.append(records, now_ms, epoch)
    }

    /// Records that everything below `end` is on disk; moves the high watermark as far as the
    /// ISR allows, waking waiters if it moved.
    pub fn mark_durable(&self, end: i64) {
        let moved = self.state().is_ok_and(|mut s| s.store.mark_durable(end));
        if moved {
            self.notify();
        }
    }

    /// Waits for what the produce's acks promise: the local fsync for durable topics, and for
    /// acks=all the high watermark passing the records, until `deadline` (REQUEST_TIMED_OUT).
    pub async fn acknowledge(
        &self,
        pending: PendingAppend,
        deadline: tokio::time::Instant,
    ) -> Result<Produced, ResponseError> {
        let a = &pending.appended;
        let produced = Produced {
            base_offset: a.base_offset,
            log_append_time: a.log_append_time,
            log_start_offset: pending.log_start,
        };
        // Durable topics count toward the high watermark only once the group-commit fsync
        // covers the append; consumers see the records only after that too.
        if let Err(e) = a.sync.clone().await {
            return Err(error_code(&e));
        }
        if a.duplicate {
            return Ok(produced);
        }
        self.mark_durable(a.end_offset);
        let Acks::All { min_isr } = pending.acks else {
            return Ok(produced);
        };
        let wait = self.wait_replicated(pending.epoch, a.end_offset, min_isr);
        match tokio::time::timeout_at(deadline, wait).await {
            Ok(done) => done.map(|()| produced),
            Err(_) => Err(ResponseError::RequestTimedOut),
        }
    }

    /// Leader: waits until the high watermark reaches `end` while this replica leads at
    /// `epoch` (else NOT_LEADER_OR_FOLLOWER: a new leader may or may not have the records, so
    /// the client retries), and the ISR still has `min_isr` members
    /// (NOT_ENOUGH_REPLICAS_AFTER_APPEND otherwise).
    pub async fn wait_replicated(
        &self,
        epoch: i32,
        end: i64,
        min_isr: usize,
    ) -> Result<(), ResponseError> {
        let mut changes = self.progress.subscribe();
        loop {
            changes.borrow_and_update();
            {
                let s = self.state()?;
                if !s.store.replica.leads(epoch) {
                    return Err(ResponseError::NotLeaderOrFollower);
                }
                if s.store.high_watermark() >= end {
                    if s.store.replica.isr.len() < min_isr {
                        return Err(ResponseError::NotEnoughReplicasAfterAppend);
                    }
                    return Ok(());
                }
            }
            if changes.changed().await.is_err() {
                return Err(ResponseError::NotLeaderOrFollower);
            }
        }
    }

    /// One partition of a Fetch: checks who may read, records a follower's progress (which
    /// may move the high watermark), and finds the region to copy once the lock is released.
    /// `preferred` picks an in-sync replica closer to the consumer from the ISR (KIP-392).
    pub fn read_for_fetch(
        &self,
        pos: FetchPosition,
        now: Instant,
        preferred: impl FnOnce(&[i32]) -> Option<i32>,
    ) -> Result<FetchedPartition, ResponseError> {
        let mut s = self.state()?;
        let store = &mut s.store;
        if pos.follower_reads {
            check_replica(store, pos.current_leader_epoch)?;
        } else {
            check_leader(store, pos.current_leader_epoch)?;
        }
        let mut high_watermark_moved = false;
        if let Some(replica) = pos.replica {
            let leo = store.log_end_offset();
            store
                .replica
                .record_fetch(replica, pos.fetch_offset, leo, now);
            high_watermark_moved = store.recompute_high_watermark();
        }
        let mut fetched = FetchedPartition {
            high_watermark: store.high_watermark(),
            log_start: store.log_start_offset(),
            high_watermark_moved,
            read: FetchRead::Records(None),
        };
        if store.replica.role == Role::Leader {
            if let Some(closer) = preferred(&store.replica.isr) {
                fetched.read = FetchRead::Preferred(closer);
                return Ok(fetched);
            }
        }
        fetched.read =
            if pos.fetch_offset < fetched.log_start || pos.fetch_offset > store.log_end_offset() {
                FetchRead::Failed(ResponseError::OffsetOutOfRange)
            } else {
                match store.read_region(
                    pos.fetch_offset,
                    pos.max_bytes,
                    pos.must_progress,
                    pos.replica.is_some(),
                ) {
                    Ok(region) => FetchRead::Records(region),
                    Err(e) => FetchRead::Failed(e),
                }
            };
        Ok(fetched)
    }

    /// Leader: ListOffsets. `for_replica`: a follower broker asks, and gets the log end for
    /// [`OffsetSpec::Latest`], as in Kafka; clients see only what is committed.
    pub fn list_offset(
        &self,
        current_epoch: i32,
        spec: OffsetSpec,
        for_replica: bool,
    ) -> Result<ListedOffset, ResponseError> {
        let s = self.state()?;
        let store = &s.store;
        check_leader(store, current_epoch)?;
        let mut listed = ListedOffset {
            leader_epoch: store.replica.leader_epoch,
            offset: -1,
            timestamp: -1,
        };
        let found = match spec {
            OffsetSpec::Latest if for_replica => Some((store.log_end_offset(), -1)),
            OffsetSpec::Latest => Some((store.high_watermark(), -1)),
            OffsetSpec::Earliest => Some((store.log_start_offset(), -1)),
            OffsetSpec::MaxTimestamp => store.max_timestamp(),
            OffsetSpec::Timestamp(ts) => store.offset_for_timestamp(ts)?,
        };
        if let Some((offset, timestamp)) = found {
            listed.offset = offset;
            listed.timestamp = timestamp;
        }
        Ok(listed)
    }

    /// Leader: OffsetForLeaderEpoch, `(epoch, end offset)`, `(-1, -1)` when unknown.
    pub fn end_offset_for_epoch(
        &self,
        current_epoch: i32,
        epoch: i32,
    ) -> Result<(i32, i64), ResponseError> {
        let s = self.state()?;
        check_leader(&s.store, current_epoch)?;
        Ok(s.store.end_offset_for_epoch(epoch))
    }

    /// Leader: DeleteRecords below `offset` (-1: the high watermark); returns the new low
    /// watermark. Beyond the high watermark is OFFSET_OUT_OF_RANGE.
    pub fn delete_records(&self, offset: i64) -> Result<i64, ResponseError> {
        let mut s = self.state()?;
        check_leader(&s.store, -1)?;
        let hw = s.store.high_watermark();
        let target = if offset == -1 { hw } else { offset };
        if target < 0 || target > hw {
            return Err(ResponseError::OffsetOutOfRange);
        }
        s.store.delete_records_before(target)
    }

    /// Leader: the ISR change its followers' progress calls for, if any and none is in
    /// flight; marks one in flight until the next metadata change for this partition (or
    /// [`isr_change_refused`](Self::isr_change_refused)).
    pub fn isr_change(&self, now: Instant, max_lag: Duration) -> Option<IsrChange> {
        let mut s = self.state().ok()?;
        let hw = s.store.high_watermark();
        let r = &mut s.store.replica;
        if !r.leads(-1) || r.alter_in_flight {
            return None;
        }
        let lagging = r.lagging(now, max_lag);
        let joining = r.ready_to_join(hw);
        if lagging.is_empty() && joining.is_empty() {
            return None;
        }
        let mut isr: Vec<i32> = r
            .isr
            .iter()
            .filter(|id| !lagging.contains(id))
            .copied()
            .collect();
        for id in &joining {
            if !isr.contains(id) {
                isr.push(*id);
            }
        }
        r.alter_in_flight = true;
        Some(IsrChange {
            leader: r.me,
            leader_epoch: r.leader_epoch,
            partition_epoch: r.partition_epoch,
            isr,
            lagging,
            joining,
        })
    }

    /// The proposed ISR change was not applied: the next upkeep may propose again.
    pub fn isr_change_refused(&self) {
        if let Ok(mut s) = self.state() {
            s.store.replica.alter_in_flight = false;
        }
    }
}
