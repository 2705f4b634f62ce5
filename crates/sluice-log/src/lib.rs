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
//! arrive. Reads return owned [`Bytes`](bytes::Bytes)
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
mod codec;
mod compact;
mod config;
mod epoch;
mod error;
mod flush;
mod fsutil;
mod index;
mod log;
mod maintenance;
mod read;
mod recompress;
mod recovery;
mod segment;
mod swap;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use compact::{AbandonReason, CompactionOutcome};
pub use compact::{CleanPlan, CleanedPass, CompactionPlan};
pub use config::{LogConfig, TimestampType};
pub use error::LogError;
#[cfg(any(test, feature = "testing"))]
pub use flush::FlusherHold;
pub use flush::{FlushTicket, Flusher};
pub use log::{AppendInfo, PartitionLog};
pub use maintenance::RetentionOutcome;
pub use read::{FileRegion, ReadSlice};
#[cfg(any(test, feature = "testing"))]
pub use swap::CrashPoint;
