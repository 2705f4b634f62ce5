//! What a compaction pass reports: [`CompactionOutcome`] and why a pass was
//! abandoned ([`AbandonReason`]).

/// What [`PartitionLog::compact`](crate::PartitionLog::compact) (or a pass's
/// [`commit_compaction`](crate::PartitionLog::commit_compaction)) did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CompactionOutcome {
    /// Whether a cleaning pass ran and was committed (false: nothing
    /// cleanable, the dirty ratio was below `min_cleanable_dirty_ratio`, or
    /// the pass was abandoned).
    pub cleaned: bool,
    /// Set when the log changed between plan and commit so that the pass
    /// could be wrong: nothing was replaced and the checkpoint did not move.
    /// Not an error; the next pass starts over. The removal counts are then 0.
    pub abandoned: Option<AbandonReason>,
    /// Dirty bytes / cleanable bytes before the pass (0 when nothing is cleanable).
    pub dirty_ratio: f64,
    /// Closed segments considered (clean and dirty).
    pub segments_scanned: usize,
    /// Segments replaced by a cleaned copy (unchanged ones are not rewritten).
    pub segments_rewritten: usize,
    /// Bytes of the scanned segments before the pass.
    pub bytes_before: u64,
    /// Bytes of the scanned segments after the pass.
    pub bytes_after: u64,
    /// Records removed because a later record has the same key.
    pub records_removed: u64,
    /// Tombstones removed because `delete_retention_ms` had passed.
    pub tombstones_removed: u64,
    /// Batches removed entirely.
    pub batches_removed: u64,
    /// The cleaner checkpoint afterwards: first offset not yet compacted.
    pub cleaner_offset: Option<i64>,
}

/// Why a compaction pass was abandoned at commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbandonReason {
    /// A segment the pass read is gone, shorter, or another file (retention,
    /// DeleteRecords, a truncation, or another pass replaced it).
    SegmentsChanged,
    /// The log was truncated after the cleaned range: the batch the pass
    /// took for a producer's last may be gone.
    Truncated,
    /// The log the pass was planned on is not the one on disk any more: the
    /// partition was closed and reopened, or its directory deleted or
    /// recreated, meanwhile.
    OtherLog,
}
