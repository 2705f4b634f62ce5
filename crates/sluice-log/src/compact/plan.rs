//! Phase 1, under the partition lock: choose the cleanable range and capture
//! everything the clean phase reads, so it needs no access to the log.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::segment::Segment;
use crate::{CompactionOutcome, LogError, PartitionLog};

/// What [`PartitionLog::plan_compaction`] decided.
#[derive(Debug)]
pub enum CompactionPlan {
    /// Nothing to clean: no closed segment is cleanable yet, or the dirty
    /// ratio is below `min_cleanable_dirty_ratio` (the outcome says which).
    Skip(CompactionOutcome),
    /// A pass to run with [`CleanPlan::clean`], then
    /// [`PartitionLog::commit_compaction`].
    Clean(CleanPlan),
}

/// A compaction pass planned on a log: the segments to clean and the state
/// they were planned against. Holds the segment files open, not the log, so
/// it can be cleaned on another thread without the partition lock. While it
/// (or the [`CleanedPass`](super::CleanedPass) it becomes) exists, the log
/// refuses to plan another pass.
#[derive(Debug)]
pub struct CleanPlan {
    pub(super) dir: PathBuf,
    pub(super) job: Job,
    pub(super) outcome: CompactionOutcome,
    pub(super) expected: Expected,
}

/// The settings and planned facts the clean phase works from.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) now_ms: i64,
    pub(super) delete_retention_ms: i64,
    pub(super) map_bytes: u64,
    pub(super) index_interval: u32,
    /// Most bytes a compressed records section is inflated to (what an uncompressed batch of
    /// `max.message.bytes` holds); a batch inflating past it is left as it is.
    pub(super) decompress_bound: usize,
    /// Largest timestamp of each cleanable segment (tombstone expiry counts
    /// from it), parallel to `Expected::cleanable`.
    pub(super) retention_ts: Vec<i64>,
    /// First cleanable segment not below the cleaner checkpoint.
    pub(super) dirty_from: usize,
}

/// A segment as the plan saw it.
#[derive(Debug)]
pub(super) struct SegmentSnapshot {
    pub(super) base: i64,
    /// The handle itself, so the commit can tell a segment replaced or
    /// recreated under the same name from the one that was read.
    pub(super) file: Arc<File>,
    pub(super) size: u64,
    pub(super) next_offset: i64,
}

impl SegmentSnapshot {
    fn of(seg: &Segment) -> Self {
        SegmentSnapshot {
            base: seg.base_offset,
            file: Arc::clone(&seg.log),
            size: seg.size,
            next_offset: seg.next_offset,
        }
    }

    pub(super) fn is(&self, seg: &Segment) -> bool {
        self.base == seg.base_offset && Arc::ptr_eq(&self.file, &seg.log)
    }
}

/// The log state a pass was computed from; the commit replaces segments only
/// if the log still matches it.
#[derive(Debug)]
pub(super) struct Expected {
    /// The cleanable segments, which the pass rewrites: they must be
    /// unchanged (same file, size and end).
    pub(super) cleanable: Vec<SegmentSnapshot>,
    /// Every later segment, read up to `size` only to find the last batch of
    /// each producer: they may have grown (appends, rolls), nothing else.
    pub(super) later: Vec<SegmentSnapshot>,
    /// A different checkpoint means another pass (or a truncation) got in.
    pub(super) cleaner_offset: Option<i64>,
    pub(super) truncations: u64,
    pub(super) ticket: PassTicket,
}

/// Held by a pass from plan to commit. Dropping it (commit, abandon, a
/// failed clean, or the caller giving up) lets the log plan again.
#[derive(Debug)]
pub(super) struct PassTicket(Arc<AtomicBool>);

impl PassTicket {
    fn acquire(busy: &Arc<AtomicBool>) -> Option<Self> {
        busy.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| PassTicket(Arc::clone(busy)))
    }

    /// Whether this pass was planned on the log owning `busy` (and not on
    /// an earlier instance of the same partition, since reopened).
    pub(super) fn belongs_to(&self, busy: &Arc<AtomicBool>) -> bool {
        Arc::ptr_eq(&self.0, busy)
    }
}

impl Drop for PassTicket {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl PartitionLog {
    /// Phase 1 of a compaction pass: decides what to clean (the closed
    /// segments below the high watermark and past `min_compaction_lag_ms`,
    /// when the dirty ratio reaches `min_cleanable_dirty_ratio`) and captures
    /// the segment files to read. Short: no segment data is read. Run the
    /// returned plan's [`clean`](CleanPlan::clean) without the partition lock, then
    /// [`commit_compaction`](Self::commit_compaction) with it.
    ///
    /// Errors with [`LogError::CompactionInProgress`] while an earlier plan
    /// of this log is neither committed nor dropped.
    pub fn plan_compaction(&self, now_ms: i64) -> Result<CompactionPlan, LogError> {
        let ticket =
            PassTicket::acquire(&self.cleaner_busy).ok_or(LogError::CompactionInProgress)?;
        let mut out = CompactionOutcome {
            cleaner_offset: self.cleaner_offset,
            ..CompactionOutcome::default()
        };
        let n = self.segments.len();
        let lag = self.config.min_compaction_lag_ms;
        let mut retention_ts = Vec::new();
        while retention_ts.len() + 1 < n {
            let seg = &self.segments[retention_ts.len()];
            let ts = seg.retention_timestamp()?;
            if seg.next_offset > self.hw || (lag > 0 && now_ms.saturating_sub(ts) < lag) {
                break;
            }
            retention_ts.push(ts);
        }
        let end = retention_ts.len();
        if end == 0 {
            return Ok(CompactionPlan::Skip(out));
        }
        let first_dirty = self.cleaner_offset.unwrap_or(i64::MIN);
        let dirty_from = self.segments[..end].partition_point(|s| s.next_offset <= first_dirty);
        let clean: u64 = self.segments[..dirty_from].iter().map(|s| s.size).sum();
        let dirty: u64 = self.segments[dirty_from..end].iter().map(|s| s.size).sum();
        out.segments_scanned = end;
        out.bytes_before = clean + dirty;
        out.bytes_after = out.bytes_before;
        if out.bytes_before > 0 {
            out.dirty_ratio = dirty as f64 / out.bytes_before as f64;
        }
        if dirty == 0 || out.dirty_ratio < self.config.min_cleanable_dirty_ratio {
            return Ok(CompactionPlan::Skip(out));
        }
        Ok(CompactionPlan::Clean(CleanPlan {
            dir: self.dir.clone(),
            job: Job {
                now_ms,
                delete_retention_ms: self.config.delete_retention_ms,
                map_bytes: self.config.cleaner_map_bytes,
                index_interval: self.config.index_interval_bytes,
                decompress_bound: crate::recompress::section_bound(self.config.max_message_bytes),
                retention_ts,
                dirty_from,
            },
            outcome: out,
            expected: Expected {
                cleanable: self.segments[..end]
                    .iter()
                    .map(SegmentSnapshot::of)
                    .collect(),
                later: self.segments[end..]
                    .iter()
                    .map(SegmentSnapshot::of)
                    .collect(),
                cleaner_offset: self.cleaner_offset,
                truncations: self.truncations,
                ticket,
            },
        }))
    }
}
