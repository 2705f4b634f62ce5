//! Phase 3, under the partition lock: check the log is still the one the
//! pass was planned on, then swap the cleaned segments in and move the
//! cleaner checkpoint.

use super::clean::CleanedPass;
use super::plan::SegmentSnapshot;
use crate::checkpoint;
use crate::error::IoContext;
use crate::segment::{self, Segment};
use crate::swap::{delete_index_files, rename, CrashPoint, CLEANED_SUFFIX, SWAP_SUFFIX};
use crate::{AbandonReason, CompactionOutcome, LogError, PartitionLog};

impl PartitionLog {
    /// Phase 3 of a compaction pass: if the log still holds the segments the
    /// pass read, replaces each cleaned one (oldest first, crash-safe, see
    /// the module docs) and advances the cleaner checkpoint. Short: renames,
    /// fsyncs of the directory and writing the new segments' index files.
    ///
    /// If the log changed meanwhile in a way that could make the pass wrong
    /// (retention, DeleteRecords or a truncation removed batches it read or
    /// relied on, or the partition was reopened), nothing is replaced, the
    /// cleaned files are deleted and the outcome says why in
    /// [`CompactionOutcome::abandoned`]; the next pass starts over. Appends
    /// and rolls since the plan do not invalidate it. Otherwise, a clean that
    /// failed returns its error here.
    pub fn commit_compaction(&mut self, pass: CleanedPass) -> Result<CompactionOutcome, LogError> {
        self.commit_inner(pass, None)
    }

    pub(super) fn commit_inner(
        &mut self,
        mut pass: CleanedPass,
        crash: Option<CrashPoint>,
    ) -> Result<CompactionOutcome, LogError> {
        if let Some(reason) = self.invalidated(&pass) {
            tracing::info!(dir = %self.dir.display(), ?reason, clean_error = pass.failed.as_ref().map(tracing::field::display), "log changed while cleaning; compaction pass abandoned");
            let planned = pass.outcome;
            // Dropping the pass deletes its files and lets the log plan again.
            drop(pass);
            return Ok(CompactionOutcome {
                abandoned: Some(reason),
                dirty_ratio: planned.dirty_ratio,
                segments_scanned: planned.segments_scanned,
                bytes_before: planned.bytes_before,
                bytes_after: planned.bytes_before,
                cleaner_offset: self.cleaner_offset,
                ..CompactionOutcome::default()
            });
        }
        if let Some(e) = pass.failed.take() {
            return Err(e);
        }
        let mut out = pass.outcome;
        while let Some((i, cleaned)) = pass.cleaned.pop_front() {
            let base = cleaned.base_offset;
            match self.swap_in(i, cleaned, crash) {
                Ok(false) => out.segments_rewritten += 1,
                Ok(true) => {
                    // A crash deletes nothing: leave the other cleaned files too.
                    pass.cleaned.clear();
                    return Ok(out);
                }
                Err(e) => {
                    // Best effort, and gone already if the rename to `.swap` happened.
                    let _ = std::fs::remove_file(CleanedPass::cleaned_path(&self.dir, base));
                    return Err(e);
                }
            }
        }
        self.cleaner_offset = Some(pass.checkpoint);
        self.write_checkpoint(true)?;
        out.cleaned = true;
        out.cleaner_offset = self.cleaner_offset;
        out.bytes_after = self.segments[..pass.end].iter().map(|s| s.size).sum();
        tracing::info!(
            dir = %self.dir.display(),
            rewritten = out.segments_rewritten,
            before = out.bytes_before,
            after = out.bytes_after,
            "compacted log"
        );
        Ok(out)
    }

    /// Why the log no longer matches what a pass was computed from, if it
    /// does not. Segments are compared by file handle, not just base offset,
    /// so one recreated under the same name (truncation below the log start,
    /// a reopen) counts as changed.
    fn invalidated(&self, pass: &CleanedPass) -> Option<AbandonReason> {
        let expected = &pass.expected;
        if !expected.ticket.belongs_to(&self.cleaner_busy) {
            return Some(AbandonReason::OtherLog);
        }
        let at = |k: usize, snap: &SegmentSnapshot| self.segments.get(k).filter(|s| snap.is(s));
        let cleanable_same = expected.cleanable.iter().enumerate().all(|(k, snap)| {
            at(k, snap).is_some_and(|s| s.size == snap.size && s.next_offset == snap.next_offset)
        });
        let n = expected.cleanable.len();
        let later_grown_only = expected
            .later
            .iter()
            .enumerate()
            .all(|(k, snap)| at(n + k, snap).is_some_and(|s| s.size >= snap.size));
        if !cleanable_same || !later_grown_only {
            return Some(AbandonReason::SegmentsChanged);
        }
        // Whoever deletes a partition directory (the broker dropping a
        // replica) need not hold this log, and a topic re-created under the
        // same name reuses the path: renaming into it would replace another
        // log's segment.
        if !pass
            .cleaned
            .iter()
            .all(|(i, _)| self.segments[*i].is_on_disk())
        {
            return Some(AbandonReason::OtherLog);
        }
        // A truncation followed by appends can leave every size as large as
        // planned while the batches after the cleaned range differ.
        if self.truncations != expected.truncations {
            return Some(AbandonReason::Truncated);
        }
        if self.cleaner_offset != expected.cleaner_offset {
            return Some(AbandonReason::SegmentsChanged);
        }
        None
    }

    /// Replaces segment `i` with `cleaned`, whose file is `<base>.log.cleaned`.
    /// Returns true when a simulated crash stopped it.
    fn swap_in(
        &mut self,
        i: usize,
        mut cleaned: Segment,
        crash: Option<CrashPoint>,
    ) -> Result<bool, LogError> {
        let base = self.segments[i].base_offset;
        let dir = self.dir.clone();
        let cleaned_path = dir.join(segment::file_name(base, CLEANED_SUFFIX));
        let swap = dir.join(segment::file_name(base, SWAP_SUFFIX));
        let log = dir.join(segment::file_name(base, segment::LOG_SUFFIX));
        let sync_dir = || checkpoint::sync_dir(&dir).ctx(|| format!("fsync {}", dir.display()));
        if crash == Some(CrashPoint::PartialCleaned) {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&cleaned_path)
                .ctx(|| format!("open {}", cleaned_path.display()))?;
            let len = f.metadata().ctx(|| "stat".into())?.len();
            f.set_len(len / 2).ctx(|| "truncate".into())?;
            return Ok(true);
        }
        if crash == Some(CrashPoint::Cleaned) {
            return Ok(true);
        }
        rename(&cleaned_path, &swap)?;
        sync_dir()?;
        if crash == Some(CrashPoint::Swapped) {
            return Ok(true);
        }
        delete_index_files(&dir, base)?;
        if crash == Some(CrashPoint::IndexesDeleted) {
            return Ok(true);
        }
        rename(&swap, &log)?;
        sync_dir()?;
        if crash == Some(CrashPoint::Renamed) {
            return Ok(true);
        }
        // The cleaned handle follows its inode through the renames. Dropping
        // the old segment closes our handle to the old inode; readers holding
        // its `Arc<File>` keep it alive.
        cleaned.install_cleaned()?;
        self.segments[i] = cleaned;
        Ok(false)
    }
}
