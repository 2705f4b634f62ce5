//! Log compaction (`cleanup.policy=compact`), after Kafka's log cleaner.
//!
//! # What is cleaned
//!
//! The *cleanable range* is the prefix of closed segments that lie wholly
//! below `min(active segment base, high watermark)` and whose largest
//! timestamp is at least `min_compaction_lag_ms` old. The active segment and
//! records at or above the high watermark are never touched. The cleaner
//! checkpoint (`cleaner_offset` in `partition-checkpoint`) splits it into a
//! *clean* part (compacted before) and a *dirty* part; a pass runs only when
//! dirty bytes / cleanable bytes ≥ `min_cleanable_dirty_ratio`.
//!
//! # Three phases, and the partition lock
//!
//! The broker keeps a [`PartitionLog`] behind a lock that produce and fetch
//! need, and cleaning is slow (reading, decompressing, recompressing and
//! fsyncing whole segments). So, like Kafka's cleaner, a pass takes the lock
//! only to decide and to swap:
//!
//! 1. **plan** ([`PartitionLog::plan_compaction`], `&self`, under the lock):
//!    picks the range as below and captures, per segment, its base offset,
//!    file handle, size and next offset (plus the largest timestamp of the
//!    cleanable ones), and the configuration. Reads no segment data.
//! 2. **clean** ([`CleanPlan::clean`], no lock, `Send`): the offset map, the
//!    filtering, the `.cleaned` files and their fsyncs, and the new indexes
//!    (in memory). Only the captured handles are read; the log is not.
//! 3. **commit** ([`PartitionLog::commit_compaction`], `&mut self`, under the
//!    lock): checks the plan still holds, renames each cleaned file in,
//!    writes its index files and advances the checkpoint.
//!
//! [`PartitionLog::compact`] runs the three in a row.
//!
//! One pass at a time: a plan holds a ticket of its log until it is
//! committed or dropped, and planning again meanwhile fails with
//! [`LogError::CompactionInProgress`]. A failed, abandoned or dropped pass
//! deletes its `.cleaned` files (a failed clean at once; best effort, and
//! opening the log deletes leftovers too). The cleaned copies of the whole
//! range exist at once before the commit, so a pass needs up to the cleaned
//! range's size in free disk space.
//!
//! # What invalidates a plan
//!
//! Between plan and commit the log keeps taking appends and reads. The
//! commit goes ahead only if every cleanable segment is still there with the
//! same base offset, the same file (handle identity, so a segment recreated
//! under the same name differs) and the same size and end, every later
//! segment is the same file at least as long as planned, no truncation
//! happened, the checkpoint has not moved, and each segment to replace is
//! still the file its name points to (the directory may be deleted and
//! recreated by someone not holding the log).
//!
//! Appends and rolls therefore keep the plan valid: they only add batches
//! after the range. The batches added after the plan are not seen when
//! choosing each producer's last batch (point 4 below), which at worst keeps
//! an extra empty batch until the next pass. Anything that removes batches
//! (retention, DeleteRecords, a follower's `truncate_to`) or a reopened or
//! recreated log makes the commit abandon the pass
//! ([`CompactionOutcome::abandoned`]), which is not an error: the next pass
//! starts over. So does a clean that failed because a segment was truncated
//! under it; any other failure of the clean is returned by the commit.
//!
//! # A pass
//!
//! 1. An offset map `key → latest offset` is built over the dirty part (the
//!    clean part already holds at most one record per key), whole segments
//!    at a time until `cleaner_map_bytes` is used; the pass then cleans only
//!    up to the last mapped segment and the checkpoint stops there.
//! 2. Each cleanable segment, oldest first, is filtered: a keyed record is
//!    kept only if no later record in the map has its key; a kept tombstone
//!    (null value) is dropped too once `delete_retention_ms` has passed since
//!    its segment's largest timestamp. Records with a null key are kept
//!    (Kafka rejects them on compacted topics at produce time). Control
//!    batches are kept verbatim.
//! 3. Offsets are preserved: a filtered batch keeps its base offset,
//!    `lastOffsetDelta`, timestamps, producer id/epoch, base sequence and
//!    partition leader epoch; only `recordsCount`, the length and the CRC
//!    change, and kept records are copied byte for byte (headers included).
//!    Compressed batches are decompressed and recompressed with the same codec.
//!    Offsets therefore get gaps, which Kafka consumers handle.
//! 4. A batch losing all its records disappears, except the last batch of
//!    each producer id in the whole log, which stays as an empty, uncompressed
//!    batch (like Kafka) so the producer's sequence state survives a rebuild
//!    from the log.
//! 5. Unchanged segments are not rewritten. Segments are rewritten oldest
//!    first, so a tombstone never goes before the older values it shadows.
//!
//! # Crash safety (Kafka's `.cleaned` → `.swap` protocol)
//!
//! For each rewritten segment: write `<base>.log.cleaned` and fsync it (clean
//! phase); then, in the commit, oldest first: rename it to `<base>.log.swap`
//! and fsync the directory (the commit point); delete the old
//! `.index`/`.timeindex`; rename the swap file over `<base>.log` and fsync
//! the directory; write the new indexes (built while cleaning). On open,
//! [`recover_swaps`] deletes `.cleaned` leftovers (the old segment is intact)
//! and completes `.swap` files, so a crash leaves each segment entirely old
//! or entirely new. The checkpoint advances only after the whole pass; an
//! interrupted pass is simply repeated.
//!
//! Renaming over the old file keeps its inode alive for open handles, so a
//! [`FileRegion`](crate::FileRegion) taken before a pass keeps reading the old,
//! still valid bytes.
//!
//! [`CompactionOutcome::abandoned`]: crate::CompactionOutcome::abandoned

mod clean;
mod commit;
mod filter;
mod outcome;
mod plan;

pub use clean::CleanedPass;
pub use outcome::{AbandonReason, CompactionOutcome};
pub use plan::{CleanPlan, CompactionPlan};

use crate::swap::CrashPoint;
use crate::{LogError, PartitionLog};

impl PartitionLog {
    /// Compacts the closed segments below the high watermark (see the
    /// `compact` module docs in the source for the rules): keeps the latest
    /// record of each key at its original offset, drops tombstones older than
    /// `delete_retention_ms`, and skips the pass when the dirty ratio is below
    /// `min_cleanable_dirty_ratio`. Runs whatever [`LogConfig::compact`]
    /// says; the broker calls it only for compacted topics.
    ///
    /// Runs [`plan_compaction`](Self::plan_compaction), [`CleanPlan::clean`]
    /// and [`commit_compaction`](Self::commit_compaction) in a row, so it
    /// holds `&mut self` for the whole pass; a caller sharing the log behind
    /// a lock should call the three itself and release the lock for the
    /// clean. [`FileRegion`](crate::FileRegion)s taken earlier stay readable.
    ///
    /// [`LogConfig::compact`]: crate::LogConfig::compact
    pub fn compact(&mut self, now_ms: i64) -> Result<CompactionOutcome, LogError> {
        self.compact_inner(now_ms, None)
    }

    /// Like [`compact`](Self::compact) but stops at `at` while replacing the
    /// first rewritten segment. Simulate the crash with `std::mem::forget` on
    /// the log (a crash runs no destructor), then reopen it.
    #[cfg(any(test, feature = "testing"))]
    pub fn compact_crashing(
        &mut self,
        now_ms: i64,
        at: CrashPoint,
    ) -> Result<CompactionOutcome, LogError> {
        self.compact_inner(now_ms, Some(at))
    }

    fn compact_inner(
        &mut self,
        now_ms: i64,
        crash: Option<CrashPoint>,
    ) -> Result<CompactionOutcome, LogError> {
        match self.plan_compaction(now_ms)? {
            CompactionPlan::Skip(out) => Ok(out),
            CompactionPlan::Clean(plan) => self.commit_inner(plan.clean(), crash),
        }
    }
}
