//! [`PartitionLog`]: rolling, flushing, retention, truncation and deletion,
//! and what retention removed ([`RetentionOutcome`]).

use crate::checkpoint::{self, PartitionCheckpoint};
use crate::epoch::EpochCache;
use crate::error::IoContext;
use crate::segment::Segment;
use crate::{LogConfig, LogError, PartitionLog};

/// What [`PartitionLog::apply_retention`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionOutcome {
    /// Segments deleted.
    pub deleted_segments: usize,
    /// Bytes of log deleted.
    pub deleted_bytes: u64,
    /// Log start offset afterwards.
    pub log_start_offset: i64,
}

impl PartitionLog {
    /// Sets the high watermark, clamped to `[log_start_offset, log_end_offset]`.
    /// Persisted on [`flush`](Self::flush) and [`close`](Self::close).
    pub fn set_high_watermark(&mut self, hw: i64) {
        self.hw = hw.clamp(self.log_start, self.log_end_offset());
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }

    /// Replaces the configuration; applies to later appends, rolls and
    /// retention runs.
    pub fn update_config(&mut self, config: LogConfig) -> Result<(), LogError> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Rolls a non-empty active segment once `segment.ms` has passed since its
    /// first append. For the broker's periodic housekeeping.
    pub fn roll_if_due(&mut self, now_ms: i64) -> Result<bool, LogError> {
        if self.active().size > 0 && self.segment_ms_due(now_ms) {
            let leo = self.log_end_offset();
            self.roll(leo)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Seals the active segment and starts a new one at `base`.
    pub(crate) fn roll(&mut self, base: i64) -> Result<(), LogError> {
        // Create first: if that fails the active segment must stay unsealed
        // (a sealed segment's index lives on disk and takes no appends).
        let seg = Segment::create(&self.dir, base)?;
        let n = self.segments.len();
        let sealed = self.segments[n - 1].seal().and_then(|()| {
            if self.config.durable {
                // Durable acks in the new file need its directory entry on disk.
                checkpoint::sync_dir(&self.dir).ctx(|| format!("fsync {}", self.dir.display()))?;
            }
            Ok(())
        });
        if let Err(e) = sealed {
            let _ = seg.delete_files();
            return Err(e);
        }
        tracing::debug!(dir = %self.dir.display(), base, "rolled segment");
        self.segments.push(seg);
        Ok(())
    }

    /// Whether appends since the last [`flush`](Self::flush) may exist only in the page cache.
    pub fn has_unflushed(&self) -> bool {
        self.recovery_point < self.log_end_offset()
    }

    /// Fsyncs every segment with data above the recovery point, then records
    /// the new recovery point and the high watermark in `partition-checkpoint`.
    /// Holds `&mut self` for the duration of the fsyncs.
    pub fn flush(&mut self) -> Result<(), LogError> {
        let rp = self.recovery_point;
        let n = self.segments.len();
        for (i, seg) in self.segments.iter_mut().enumerate() {
            let end = if i + 1 < n { seg.next_offset } else { i64::MAX };
            if end > rp || i + 1 == n {
                seg.sync()?;
            }
        }
        self.recovery_point = self.log_end_offset();
        if self.epochs_dirty {
            checkpoint::write_epochs(&self.dir, self.epochs.entries(), true)?;
            self.epochs_dirty = false;
        }
        self.write_checkpoint(true)
    }

    /// Flushes and writes checkpoints, so the next open skips recovery of
    /// everything but the active segment.
    pub fn close(mut self) -> Result<(), LogError> {
        self.flush()?;
        self.closed = true;
        Ok(())
    }

    /// Lets go of the log without writing anything, as a crash would: no index tail, no
    /// checkpoint. For an owner whose in-memory state may be inconsistent (a panic interrupted
    /// an operation on it); the next [`open`](Self::open) recovers from the files alone.
    pub fn abandon(mut self) {
        self.closed = true;
    }

    /// Deletes the whole partition directory.
    pub fn delete(mut self) -> Result<(), LogError> {
        self.closed = true;
        std::fs::remove_dir_all(&self.dir).ctx(|| format!("delete {}", self.dir.display()))
    }

    /// Durably writes `partition-checkpoint` (high watermark, log start
    /// offset, recovery point) without syncing segment data — for the
    /// broker's periodic HW checkpoint (Kafka's
    /// `replica.high.watermark.checkpoint.interval.ms`), which is cheaper than
    /// a full [`flush`](Self::flush).
    pub fn checkpoint(&self) -> Result<(), LogError> {
        self.write_checkpoint(true)
    }

    pub(crate) fn write_checkpoint(&self, durable: bool) -> Result<(), LogError> {
        PartitionCheckpoint {
            high_watermark: Some(self.hw),
            log_start_offset: Some(self.log_start),
            recovery_point: Some(self.recovery_point),
            cleaner_offset: self.cleaner_offset,
        }
        .write(&self.dir, durable)
    }

    /// Follower truncation: removes every batch whose last offset is ≥ `offset`
    /// (a batch straddling `offset` goes entirely, so the new log end offset
    /// may be below `offset`), across segments, and truncates the
    /// leader-epoch cache to match. Below the log start offset, the log is
    /// emptied and restarted at `offset`
    /// ([`truncate_fully_and_start_at`](Self::truncate_fully_and_start_at)).
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        if offset < self.log_start || offset < self.segments[0].base_offset {
            // Nothing kept: as Kafka's truncateTo does, start over empty at `offset`.
            return self.truncate_fully_and_start_at(offset);
        }
        self.truncations += 1;
        while self.segments.len() > 1 && self.segments[self.segments.len() - 1].base_offset > offset
        {
            if let Some(seg) = self.segments.pop() {
                seg.delete_files()?;
            }
        }
        let n = self.segments.len();
        let interval = self.config.index_interval_bytes;
        self.segments[n - 1].truncate_to(offset, interval)?;
        let leo = self.log_end_offset();
        // Removing a batch that straddles the log start can end the log below it.
        self.log_start = self.log_start.min(leo);
        self.hw = self.hw.clamp(self.log_start, leo);
        self.recovery_point = self.recovery_point.min(leo);
        // Offsets above the new end are rewritten: they are dirty again.
        self.cleaner_offset = self.cleaner_offset.map(|c| c.min(leo));
        self.epochs.truncate_from_end(leo);
        checkpoint::write_epochs(&self.dir, self.epochs.entries(), true)?;
        self.write_checkpoint(true)
    }

    /// Follower whose log ends below the leader's log start (retention or
    /// DeleteRecords removed, on the leader, records this replica never
    /// copied): deletes every segment and restarts the log, empty, at
    /// `offset`, like Kafka's `truncateFullyAndStartAt`. The leader-epoch cache
    /// is cleared too: its entries described records that are gone.
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), LogError> {
        let offset = offset.max(0);
        // A cleaner pass planned before this must not commit over the new log.
        self.truncations += 1;
        for seg in self.segments.drain(..) {
            seg.delete_files()?;
        }
        self.segments.push(Segment::create(&self.dir, offset)?);
        self.log_start = offset;
        self.hw = offset;
        self.recovery_point = offset;
        self.cleaner_offset = None;
        self.epochs = EpochCache::from_entries(Vec::new());
        checkpoint::write_epochs(&self.dir, self.epochs.entries(), true)?;
        if self.config.durable {
            checkpoint::sync_dir(&self.dir).ctx(|| format!("fsync {}", self.dir.display()))?;
        }
        self.write_checkpoint(true)
    }

    /// DeleteRecords: moves the log start offset up to `offset` (which must not
    /// exceed the high watermark) and deletes segments wholly below it (never
    /// the active one). Returns the new log start offset.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, LogError> {
        if offset > self.hw {
            return Err(LogError::OffsetOutOfRange {
                requested: offset,
                log_start: self.log_start,
                log_end: self.hw,
            });
        }
        if offset <= self.log_start {
            return Ok(self.log_start);
        }
        self.log_start = offset;
        while self.segments.len() > 1 && self.segments[1].base_offset <= offset {
            let seg = self.segments.remove(0);
            seg.delete_files()?;
        }
        self.after_start_moved()?;
        Ok(self.log_start)
    }

    fn after_start_moved(&mut self) -> Result<(), LogError> {
        if self.epochs.truncate_from_start(self.log_start) {
            checkpoint::write_epochs(&self.dir, self.epochs.entries(), true)?;
        }
        self.write_checkpoint(true)
    }

    /// Deletes the oldest whole segments breaching `retention.ms` (largest
    /// timestamp older than `now_ms - retention_ms`) or `retention.bytes`.
    /// Never deletes the active segment nor one holding offsets at or above
    /// the high watermark. Advances the log start offset accordingly.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<RetentionOutcome, LogError> {
        let mut out = RetentionOutcome::default();
        let deletable =
            |log: &PartitionLog| log.segments.len() > 1 && log.segments[1].base_offset <= log.hw;
        if let Some(ms) = self.config.retention_ms {
            while deletable(self)
                && now_ms.saturating_sub(self.segments[0].retention_timestamp()?) > ms
            {
                self.delete_oldest(&mut out)?;
            }
        }
        if let Some(limit) = self.config.retention_bytes {
            let mut excess = self.size_bytes().saturating_sub(limit);
            while deletable(self) && self.segments[0].size <= excess {
                excess -= self.segments[0].size;
                self.delete_oldest(&mut out)?;
            }
        }
        if out.deleted_segments > 0 {
            self.log_start = self.log_start.max(self.segments[0].base_offset);
            self.after_start_moved()?;
        }
        out.log_start_offset = self.log_start;
        Ok(out)
    }

    fn delete_oldest(&mut self, out: &mut RetentionOutcome) -> Result<(), LogError> {
        let seg = self.segments.remove(0);
        tracing::info!(dir = %self.dir.display(), base = seg.base_offset, "retention: deleting segment");
        out.deleted_segments += 1;
        out.deleted_bytes += seg.size;
        seg.delete_files()
    }
}

impl Drop for PartitionLog {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // Best effort without fsync: keeps index tails and the HW across a
        // clean process exit; a crash is handled by recovery anyway.
        if let Some(seg) = self.segments.last_mut() {
            let _ = seg.persist_indexes();
        }
        let _ = self.write_checkpoint(false);
    }
}
