//! Phase 2, without the partition lock: build the offset map, filter the
//! cleanable segments and write their `.cleaned` copies, with indexes ready.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::filter::{
    copy_range, decompressed_section, filter_batch, for_each_batch, parse_records, Filtered,
};
use super::plan::{CleanPlan, Expected, Job, SegmentSnapshot};
use crate::batch::HEADER_LEN;
use crate::error::IoContext;
use crate::fsutil::ignore_not_found;
use crate::recovery::{self, Stop};
use crate::segment::{self, Segment};
use crate::swap::CLEANED_SUFFIX;
use crate::{CompactionOutcome, LogError};

/// Approximate heap bytes of one offset-map entry besides its key (box,
/// offset, hash table slot and control byte, load factor).
const MAP_ENTRY_OVERHEAD: usize = 48;

/// The result of [`CleanPlan::clean`]: fsynced `<base>.log.cleaned` copies
/// of the segments that changed, to hand to
/// [`PartitionLog::commit_compaction`](crate::PartitionLog::commit_compaction),
/// or the error that stopped the clean (its files already deleted).
/// Dropping it uncommitted deletes the files (best effort; opening the log
/// deletes leftovers too) and lets the log plan again.
#[derive(Debug)]
pub struct CleanedPass {
    pub(super) dir: PathBuf,
    /// (index in the log, cleaned segment not yet swapped in), oldest first.
    pub(super) cleaned: VecDeque<(usize, Segment)>,
    /// Segments `[0, end)` were cleaned (unless `failed`).
    pub(super) end: usize,
    /// Base of segment `end`: the cleaner checkpoint after the commit.
    pub(super) checkpoint: i64,
    pub(super) outcome: CompactionOutcome,
    pub(super) expected: Expected,
    /// Kept for the commit rather than returned by the clean: only the
    /// commit can tell a broken segment from a truncation under the clean
    /// (which makes its reads come up short), a harmless race.
    pub(super) failed: Option<LogError>,
}

impl CleanedPass {
    /// Segments the commit will replace (the others were already clean).
    pub fn segments_to_replace(&self) -> usize {
        self.cleaned.len()
    }

    /// Why the clean stopped, if it failed. The commit then returns this
    /// error, or abandons the pass if the log changed meanwhile.
    pub fn error(&self) -> Option<&LogError> {
        self.failed.as_ref()
    }

    pub(super) fn cleaned_path(dir: &Path, base: i64) -> PathBuf {
        dir.join(segment::file_name(base, CLEANED_SUFFIX))
    }

    fn delete_files(&mut self) {
        for (_, seg) in self.cleaned.drain(..) {
            let path = Self::cleaned_path(&self.dir, seg.base_offset);
            let removed = std::fs::remove_file(&path).or_else(ignore_not_found);
            if let Err(e) = removed {
                tracing::warn!(file = %path.display(), error = %e, "deleting unused cleaner output");
            }
        }
    }
}

impl Drop for CleanedPass {
    fn drop(&mut self) {
        self.delete_files();
    }
}

/// Key → offset of its latest record in the mapped dirty segments.
type OffsetMap = HashMap<Box<[u8]>, i64>;

impl CleanPlan {
    /// Phase 2 of a compaction pass: reads the planned segments, filters
    /// them and writes and fsyncs the cleaned copies of those that change.
    /// Touches no state of the log, so run it without the partition lock;
    /// appends and reads may go on meanwhile. A failure is kept in the
    /// result ([`CleanedPass::error`]) for the commit to report, after
    /// deleting the files written so far.
    pub fn clean(self) -> CleanedPass {
        self.clean_observed(&mut |_| {})
    }

    /// Like [`clean`](Self::clean), calling `after_segment(base)` once each
    /// cleanable segment has been filtered, so a test can act while a clean
    /// is provably in flight.
    #[cfg(any(test, feature = "testing"))]
    pub fn clean_with_hook(self, mut after_segment: impl FnMut(i64)) -> CleanedPass {
        self.clean_observed(&mut after_segment)
    }

    fn clean_observed(self, after_segment: &mut dyn FnMut(i64)) -> CleanedPass {
        let CleanPlan {
            dir,
            job,
            outcome,
            expected,
        } = self;
        let mut pass = CleanedPass {
            dir,
            cleaned: VecDeque::new(),
            end: 0,
            checkpoint: 0,
            outcome,
            expected,
            failed: None,
        };
        if let Err(e) = job.run(&mut pass, after_segment) {
            pass.delete_files();
            pass.failed = Some(e);
        }
        pass
    }
}

impl Job {
    fn run(
        &self,
        pass: &mut CleanedPass,
        after_segment: &mut dyn FnMut(i64),
    ) -> Result<(), LogError> {
        let segs = &pass.expected.cleanable;
        let (latest, mapped) = offset_map(
            &pass.dir,
            &segs[self.dirty_from..],
            self.map_bytes,
            self.decompress_bound,
        )?;
        let end = self.dirty_from + mapped;
        pass.end = end;
        pass.outcome.segments_scanned = end;
        pass.outcome.bytes_before = segs[..end].iter().map(|s| s.size).sum();
        let keep_batches = last_batch_of_each_producer(segs.iter().chain(&pass.expected.later))?;
        // `later` holds at least the active segment, which is never cleanable.
        pass.checkpoint = match segs.get(end) {
            Some(s) => s.base,
            None => pass.expected.later[0].base,
        };
        for (i, &ts) in self.retention_ts.iter().enumerate().take(end) {
            let seg = &pass.expected.cleanable[i];
            let filter = SegmentFilter {
                latest: &latest,
                keep_batches: &keep_batches,
                drop_tombstones: self.now_ms.saturating_sub(ts) > self.delete_retention_ms,
                index_interval: self.index_interval,
                decompress_bound: self.decompress_bound,
            };
            let path = CleanedPass::cleaned_path(&pass.dir, seg.base);
            match filter.write_cleaned(&pass.dir, seg, &path, &mut pass.outcome) {
                Ok(Some(cleaned)) => pass.cleaned.push_back((i, cleaned)),
                Ok(None) => {}
                Err(e) => {
                    // Best effort: a leftover is also deleted on the next open.
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            }
            after_segment(seg.base);
        }
        Ok(())
    }
}

/// Maps whole segments, oldest first, until `budget` bytes are used (at
/// least one segment). Returns the map and how many segments it covers.
fn offset_map(
    dir: &Path,
    dirty: &[SegmentSnapshot],
    budget: u64,
    decompress_bound: usize,
) -> Result<(OffsetMap, usize), LogError> {
    let mut latest = OffsetMap::new();
    let mut used = 0u64;
    let mut mapped = 0;
    for seg in dirty {
        if mapped > 0 && used > budget {
            tracing::debug!(dir = %dir.display(), mapped, "offset map full; cleaning part of the dirty range");
            break;
        }
        mapped += 1;
        for_each_batch(&seg.file, seg.size, seg.base, |_, bytes, h| {
            if h.is_control() {
                return Ok(());
            }
            // A batch inflating past the bound is left as it is: its keys stay unmapped, so
            // nothing is removed on its account (older records of those keys stay too).
            let Some(dec) = decompressed_section(bytes, h, decompress_bound)? else {
                return Ok(());
            };
            let section = dec.as_deref().unwrap_or(&bytes[HEADER_LEN..]);
            for r in parse_records(section, h)? {
                let Some(key) = r.key else { continue };
                let offset = h.base_offset + i64::from(r.offset_delta);
                match latest.get_mut(key) {
                    Some(o) => *o = offset,
                    None => {
                        used += (key.len() + MAP_ENTRY_OVERHEAD) as u64;
                        latest.insert(key.into(), offset);
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok((latest, mapped))
}

/// Base offsets of the last batch of each producer id. Segments that grew
/// after the plan are read only up to their planned size: batches appended
/// since can only be later ones, so a batch found last here may no longer
/// be, and then merely stays as one more empty batch until the next pass.
/// The reverse (a batch dropped while it is still its producer's last)
/// needs batches removed after the plan, which makes the commit abandon.
fn last_batch_of_each_producer<'a>(
    segs: impl Iterator<Item = &'a SegmentSnapshot>,
) -> Result<HashSet<i64>, LogError> {
    let mut last: HashMap<i64, i64> = HashMap::new();
    for seg in segs {
        let mut pos = 0;
        while let Some(h) = recovery::header_at(&seg.file, seg.size, pos)
            .ctx(|| format!("read segment {}", seg.base))?
        {
            if h.producer_id >= 0 {
                last.insert(h.producer_id, h.base_offset);
            }
            pos += h.total_size() as u64;
        }
    }
    Ok(last.into_values().collect())
}

/// Which records of one segment survive.
struct SegmentFilter<'a> {
    latest: &'a OffsetMap,
    keep_batches: &'a HashSet<i64>,
    drop_tombstones: bool,
    index_interval: u32,
    decompress_bound: usize,
}

impl SegmentFilter<'_> {
    /// Filters `seg` into `path`, fsynced; `None` (and no file) when no
    /// batch changes. The file is created at the first change, so unchanged
    /// segments cost only a read.
    fn write_cleaned(
        &self,
        dir: &Path,
        seg: &SegmentSnapshot,
        path: &Path,
        out: &mut CompactionOutcome,
    ) -> Result<Option<Segment>, LogError> {
        let wctx = || format!("write {}", path.display());
        let mut output: Option<(BufWriter<File>, Segment)> = None;
        // Verbatim run of the old file not yet copied to the output.
        let mut run = (0u64, 0u64);
        let (mut records_removed, mut tombstones_removed) = (0, 0);
        for_each_batch(&seg.file, seg.size, seg.base, |pos, bytes, h| {
            let keep_empty = self.keep_batches.contains(&h.base_offset);
            let bound = self.decompress_bound;
            let filtered = filter_batch(bytes, h, keep_empty, bound, |offset, r| {
                let latest_here = r
                    .key
                    .is_none_or(|k| self.latest.get(k).is_none_or(|&o| o == offset));
                if !latest_here {
                    records_removed += 1;
                    false
                } else if r.null_value && r.key.is_some() && self.drop_tombstones {
                    tombstones_removed += 1;
                    false
                } else {
                    true
                }
            })?;
            let end_pos = pos + h.total_size() as u64;
            let new_bytes = match filtered {
                Filtered::Unchanged => {
                    if let Some((_, cleaned)) = output.as_mut() {
                        cleaned.note_cleaned_batch(h, h.total_size() as u64, self.index_interval);
                    }
                    run.1 = end_pos;
                    return Ok(());
                }
                Filtered::Drop => {
                    out.batches_removed += 1;
                    None
                }
                Filtered::Rewritten(b) => Some(b),
            };
            let (w, cleaned) = match output.as_mut() {
                Some(o) => o,
                None => output.insert(self.start_cleaned(dir, seg, run.1, path)?),
            };
            copy_range(&seg.file, run, w).ctx(wctx)?;
            if let Some(b) = new_bytes {
                w.write_all(&b).ctx(wctx)?;
                cleaned.note_cleaned_batch(h, b.len() as u64, self.index_interval);
            }
            run = (end_pos, end_pos);
            Ok(())
        })?;
        out.records_removed += records_removed;
        out.tombstones_removed += tombstones_removed;
        let Some((mut w, cleaned)) = output else {
            return Ok(None);
        };
        copy_range(&seg.file, run, &mut w).ctx(wctx)?;
        w.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .ctx(wctx)?;
        Ok(Some(cleaned))
    }

    /// Creates the cleaned file at the first changed batch. The unchanged
    /// batches before it (`[0, prefix)` of the old file) were not indexed
    /// as they went by, since most segments never get here: index them now.
    fn start_cleaned(
        &self,
        dir: &Path,
        seg: &SegmentSnapshot,
        prefix: u64,
        path: &Path,
    ) -> Result<(BufWriter<File>, Segment), LogError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .ctx(|| format!("create {}", path.display()))?;
        let writer = file
            .try_clone()
            .ctx(|| format!("open {}", path.display()))?;
        let mut cleaned = Segment::cleaned(dir, seg.base, file);
        let scanned = recovery::scan(&seg.file, prefix, 0, seg.base, false, |h, _| {
            cleaned.note_cleaned_batch(h, h.total_size() as u64, self.index_interval);
        })
        .ctx(|| format!("read segment {}", seg.base))?;
        if scanned.stop != Stop::End {
            return Err(LogError::invalid(
                scanned.end as usize,
                "segment changed while being cleaned",
            ));
        }
        Ok((BufWriter::with_capacity(1 << 20, writer), cleaned))
    }
}
