//! Sluice's durable, segmented, per-partition log of Kafka v2 record batches.
//!
//! This crate owns everything a partition keeps on disk. The broker hands it
//! the `records` field of a produce request and gets back offsets; it asks for
//! byte ranges of whole batches to answer fetches. Kafka protocol framing,
//! idempotent-producer state and replication RPCs live in `sluice-broker`;
//! the [`batch`] module offers the sans-I/O parsing the broker needs for those.
//!
//! # On-disk layout (one directory per partition)
//!
//! * `<base_offset:020>.log` — a segment: whole v2 record batches, back to
//!   back, stored verbatim except for broker-assigned fields (`baseOffset`,
//!   `partitionLeaderEpoch` and, for LogAppendTime topics, `maxTimestamp`
//!   plus the timestamp-type attribute bit with a recomputed CRC).
//! * `<base_offset:020>.index` / `.timeindex` — sparse offset and time
//!   indexes (see the `index` module docs for the entry formats).
//! * `<base_offset:020>.log.cleaned` / `.log.swap` — transient files of the
//!   log cleaner (compacted topics): a cleaned copy being written, then one
//!   committed to replace `<base_offset:020>.log`. Opening a log deletes the
//!   first kind and completes the second.
//! * `partition-checkpoint` — high watermark, log start offset, recovery
//!   point and, once a compacted log has been cleaned, the cleaner checkpoint
//!   (first offset not yet compacted).
//! * `leader-epoch-checkpoint` — leader-epoch cache (Kafka's text format).
//!
//! # Invariants
//!
//! * Batches within and across segments have strictly increasing, non-overlapping
//!   offsets; a segment's base offset is ≤ its first batch's base offset and
//!   the next segment's base offset is > its last offset. After compaction
//!   ([`PartitionLog::compact`]) offsets are no longer contiguous: records
//!   keep their original offsets, a batch may hold fewer records than
//!   `lastOffsetDelta + 1` (even none: the last batch of each producer id is
//!   never dropped), and a closed segment may be empty.
//! * Compaction never touches the active segment nor offsets at or above the
//!   high watermark, and replaces a segment only by renaming a complete,
//!   fsynced cleaned copy over it, so after a crash each segment is wholly
//!   old or wholly new. Open file handles ([`FileRegion`]) keep the old inode
//!   and stay readable.
//! * `log_start_offset ≤ high_watermark ≤ log_end_offset`.
//! * Every byte of every segment below the recovery point has been fsynced;
//!   segments at or above it (and always the last one) are CRC-checked on open
//!   and cut at the first torn or corrupt batch.
//! * An append is all-or-nothing: all batches are validated before any is
//!   written, and a failed write is cut back.
//! * Index files are hints: they may lack entries (a longer scan) but are
//!   sanity-checked and rebuilt from the log when wrong or missing.
//!
//! # Concurrency
//!
//! [`PartitionLog`] is a plain `&mut self` object: the broker keeps it behind
//! a lock. In durable mode an append returns a [`FlushTicket`] to wait on
//! *after* releasing that lock; a shared [`Flusher`] thread batches the fsyncs
//! of all waiting appends (group commit); [`Flusher::with_commit_delay`]
//! additionally lets a round wait briefly for appenders that are about to
//! arrive. Reads return owned [`Bytes`]
//! ([`PartitionLog::read`]) or a [`FileRegion`] to copy or `sendfile` after
//! the lock is released ([`PartitionLog::read_region`]). Log compaction
//! holds the lock only to decide and to swap files:
//! [`PartitionLog::plan_compaction`] (under the lock), [`CleanPlan::clean`]
//! (the slow part, with the lock released, on any thread), then
//! [`PartitionLog::commit_compaction`] (under the lock), which abandons the
//! pass if the log changed under it in a way that matters.
//!
//! ```
//! # fn main() -> Result<(), sluice_log::LogError> {
//! use sluice_log::{LogConfig, PartitionLog};
//! # let tmp = tempfile::tempdir().unwrap();
//! # let dir = tmp.path().join("orders-0");
//! let mut log = PartitionLog::open(&dir, LogConfig { durable: true, ..LogConfig::default() })?;
//! # let records = sluice_log::testing::batch(3, 10, 1_700_000_000_000);
//! // `records` is the produce request's records field: one or more v2 batches.
//! let info = log.append(&records, /* leader epoch */ 0, /* now */ 1_700_000_000_000)?;
//! info.sync.wait()?; // or `.await` it; after dropping the partition lock
//! assert_eq!((info.base_offset, info.last_offset), (0, 2));
//! log.set_high_watermark(info.last_offset + 1);
//! let fetched = log.read(0, 1 << 20, log.high_watermark())?;
//! assert_eq!(fetched.next_offset, 3);
//! # Ok(()) }
//! ```

pub mod batch;
mod checkpoint;
mod compact;
mod epoch;
mod error;
mod flush;
mod index;
mod log;
mod maintenance;
mod read;
mod recompress;
mod recovery;
mod segment;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(any(test, feature = "testing"))]
pub use compact::CrashPoint;
pub use compact::{CleanPlan, CleanedPass, CompactionPlan};
pub use error::LogError;
#[cfg(any(test, feature = "testing"))]
pub use flush::FlusherHold;
pub use flush::{FlushTicket, Flusher};
pub use log::PartitionLog;

use std::fs::File;
use std::sync::Arc;

use bytes::Bytes;

/// How batch timestamps are interpreted (Kafka's `message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    /// Timestamps set by the producer are kept.
    #[default]
    CreateTime,
    /// The broker stamps each batch with the append time.
    LogAppendTime,
}

/// Per-partition configuration (Kafka topic configs of the same names).
///
/// `Eq` holds because [`validate`](Self::validate) rejects a NaN
/// `min_cleanable_dirty_ratio`, the only floating-point field.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`: roll when an append would grow the active segment past this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll a non-empty segment this long after its first append.
    pub segment_ms: Option<u64>,
    /// `index.interval.bytes`: log bytes between index entries.
    pub index_interval_bytes: u32,
    /// `retention.ms`: delete segments whose largest timestamp is older. `None` = forever.
    pub retention_ms: Option<i64>,
    /// `retention.bytes`: delete oldest segments while the log is larger. `None` = unbounded.
    pub retention_bytes: Option<u64>,
    /// `max.message.bytes`: largest accepted batch, log overhead included.
    pub max_message_bytes: u32,
    /// Acknowledge appends only once fsynced (group commit); otherwise rely
    /// on the page cache and periodic [`PartitionLog::flush`] like Kafka.
    pub durable: bool,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `cleanup.policy` contains `compact`: [`PartitionLog::compact`] keeps
    /// only the latest record of each key. Time and size retention still
    /// apply when `retention_ms` / `retention_bytes` are set (`compact,delete`);
    /// for plain `compact` the broker leaves both unset.
    pub compact: bool,
    /// `delete.retention.ms`: how long a tombstone (null value) survives
    /// compaction, counted from its segment's largest timestamp.
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio`: compact only when the not-yet-compacted
    /// bytes are at least this share of the cleanable bytes.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`: a segment is compacted only once its largest
    /// timestamp is at least this old.
    pub min_compaction_lag_ms: i64,
    /// Memory budget of one cleaning pass's key → offset map (Kafka's
    /// `log.cleaner.dedupe.buffer.size`, a broker setting). A pass maps whole
    /// dirty segments, oldest first, until the budget is used (at least one
    /// segment), and cleans only up to there; later segments wait for the
    /// next pass.
    pub cleaner_map_bytes: u64,
    /// `compression.type` other than `producer`: the codec leader appends are stored in (0
    /// uncompressed, 1 gzip, 2 snappy, 3 lz4, 4 zstd); batches a producer sent in another are
    /// re-encoded. `None` (`producer`) stores them as sent.
    pub compression: Option<u8>,
}

impl Eq for LogConfig {}

impl Default for LogConfig {
    fn default() -> Self {
        const WEEK_MS: u64 = 7 * 24 * 60 * 60 * 1000;
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: Some(WEEK_MS),
            index_interval_bytes: 4096,
            retention_ms: Some(WEEK_MS as i64),
            retention_bytes: None,
            max_message_bytes: 1_048_588,
            durable: false,
            timestamp_type: TimestampType::CreateTime,
            compact: false,
            delete_retention_ms: 86_400_000,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            cleaner_map_bytes: 128 << 20,
            compression: None,
        }
    }
}

impl LogConfig {
    /// Checks ranges the on-disk format depends on.
    pub fn validate(&self) -> Result<(), LogError> {
        if self.segment_bytes < batch::HEADER_LEN as u64 || self.segment_bytes > i32::MAX as u64 {
            return Err(LogError::InvalidConfig(
                "segment_bytes must be within [61, 2^31-1]",
            ));
        }
        if self.max_message_bytes < batch::HEADER_LEN as u32 {
            return Err(LogError::InvalidConfig(
                "max_message_bytes must be at least 61",
            ));
        }
        if !(0.0..=1.0).contains(&self.min_cleanable_dirty_ratio) {
            return Err(LogError::InvalidConfig(
                "min_cleanable_dirty_ratio must be within [0, 1]",
            ));
        }
        if self.compression.is_some_and(|c| c > recompress::MAX_CODEC) {
            return Err(LogError::InvalidConfig(
                "compression must be a Kafka codec number (0 to 4)",
            ));
        }
        if self.delete_retention_ms < 0 || self.min_compaction_lag_ms < 0 {
            return Err(LogError::InvalidConfig(
                "delete_retention_ms and min_compaction_lag_ms must not be negative",
            ));
        }
        Ok(())
    }
}

/// Result of an append.
#[derive(Debug, Clone)]
pub struct AppendInfo {
    /// Offset of the first record appended.
    pub base_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// The broker time stamped on the batches for LogAppendTime topics.
    pub log_append_time: Option<i64>,
    /// Bytes written.
    pub bytes: u64,
    /// Records appended (sum of the batches' record counts).
    pub record_count: u64,
    /// Largest batch `maxTimestamp` appended.
    pub max_timestamp: i64,
    /// Log start offset after the append (for the produce response).
    pub log_start_offset: i64,
    /// Completes when the append is durable; already complete unless the
    /// log is in durable mode. Wait on it after releasing the partition lock.
    pub sync: FlushTicket,
}

/// Whole batches returned by [`PartitionLog::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSlice {
    /// Concatenated batches, verbatim as stored; empty when nothing to return.
    pub records: Bytes,
    /// Offset after the last returned batch (`start_offset` when empty): the
    /// next fetch position.
    pub next_offset: i64,
    /// Partition state at read time, for the fetch response.
    pub log_start_offset: i64,
    /// High watermark at read time.
    pub high_watermark: i64,
    /// Log end offset at read time.
    pub log_end_offset: i64,
}

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

/// What [`PartitionLog::compact`] (or a pass's
/// [`commit_compaction`](PartitionLog::commit_compaction)) did.
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

/// Location of the batches a fetch should return, from
/// [`PartitionLog::read_region`]: `len` bytes of `file` at `position`.
///
/// The file handle stays valid after the segment is deleted by retention or
/// replaced by compaction (it keeps the old file), but a concurrent [`PartitionLog::truncate_to`] (follower divergence) may
/// cut the range; read it promptly and treat a short read as a retryable error.
#[derive(Debug, Clone)]
pub struct FileRegion {
    /// The segment file.
    pub file: Arc<File>,
    /// Byte position of the first batch.
    pub position: u64,
    /// Bytes of whole batches; 0 when there is nothing to return.
    pub len: usize,
    /// Offset after the last batch in the region (the start offset when empty).
    pub next_offset: i64,
    /// Log start offset at read time.
    pub log_start_offset: i64,
    /// High watermark at read time.
    pub high_watermark: i64,
    /// Log end offset at read time.
    pub log_end_offset: i64,
}

impl FileRegion {
    /// Reads the region with `pread`.
    pub fn read_bytes(&self) -> Result<Bytes, LogError> {
        segment::pread_bytes(&self.file, self.position, self.len)
            .map_err(|e| LogError::io("read segment", e))
    }
}
