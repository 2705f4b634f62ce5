//! One segment: a `.log` file of whole batches plus its two sparse indexes.
//! Owns [`Segment`] (its file, size, next offset, largest timestamp and the
//! in-memory indexes): creating, appending, finding, truncating, sealing and
//! deleting; opening an existing one is in `open`.

mod open;

use std::fs::File;
use std::io::IoSlice;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::batch::BatchHeader;
use crate::error::IoContext;
use crate::fsutil::{ignore_not_found, open_rw, pread_bytes, seek_end, write_all_vectored};
use crate::index::{OffsetEntry, OffsetIndex, TimeEntry, TimeIndex};
use crate::recovery::{self, Stop};
use crate::LogError;

pub(crate) const LOG_SUFFIX: &str = ".log";
pub(crate) const INDEX_SUFFIX: &str = ".index";
pub(crate) const TIME_INDEX_SUFFIX: &str = ".timeindex";

pub(crate) fn file_name(base: i64, suffix: &str) -> String {
    format!("{base:020}{suffix}")
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base_offset: i64,
    /// Shared with the flusher so a round can sync it after a roll.
    pub(crate) log: Arc<File>,
    log_path: PathBuf,
    pub(crate) size: u64,
    /// Offset after the last batch (the base offset when empty).
    pub(crate) next_offset: i64,
    /// Largest batch `maxTimestamp`, -1 when none.
    pub(crate) max_timestamp: i64,
    last_batch_base: Option<i64>,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_index: u64,
    /// Wall-clock time of the first append since open, for `segment.ms`.
    pub(crate) first_append_ms: Option<i64>,
}

impl Segment {
    pub(super) fn paths(dir: &Path, base: i64) -> (PathBuf, PathBuf, PathBuf) {
        (
            dir.join(file_name(base, LOG_SUFFIX)),
            dir.join(file_name(base, INDEX_SUFFIX)),
            dir.join(file_name(base, TIME_INDEX_SUFFIX)),
        )
    }

    pub(super) fn blank(dir: &Path, base: i64, file: File, size: u64) -> Self {
        let (log_path, index, time) = Self::paths(dir, base);
        Segment {
            base_offset: base,
            log: Arc::new(file),
            log_path,
            size,
            next_offset: base,
            max_timestamp: -1,
            last_batch_base: None,
            offset_index: OffsetIndex::empty(index),
            time_index: TimeIndex::empty(time),
            bytes_since_index: 0,
            first_append_ms: None,
        }
    }

    /// Creates an empty segment, replacing any leftover files of that name.
    pub(crate) fn create(dir: &Path, base: i64) -> Result<Self, LogError> {
        let (log_path, ..) = Self::paths(dir, base);
        let file = open_rw(&log_path, true).ctx(|| format!("create {}", log_path.display()))?;
        file.set_len(0)
            .ctx(|| format!("truncate {}", log_path.display()))?;
        let mut seg = Self::blank(dir, base, file, 0);
        seg.rewrite_indexes()?;
        Ok(seg)
    }

    /// The segment the log cleaner is writing to `file` (`<base>.log.cleaned`),
    /// indexed batch by batch as it is written ([`note_cleaned_batch`]) so
    /// swapping it in needs no rescan. Its paths are those of `<base>.log`:
    /// index files are written only by [`install_cleaned`], once renaming
    /// the file over the old segment has committed it.
    ///
    /// [`note_cleaned_batch`]: Self::note_cleaned_batch
    /// [`install_cleaned`]: Self::install_cleaned
    pub(crate) fn cleaned(dir: &Path, base: i64, file: File) -> Self {
        Self::blank(dir, base, file, 0)
    }

    /// Accounts for the next `size`-byte batch (header `h`) of a cleaned
    /// segment, written right after the previous one.
    pub(crate) fn note_cleaned_batch(&mut self, h: &BatchHeader, size: u64, index_interval: u32) {
        self.note_batch(
            h.base_offset,
            h.max_timestamp,
            self.size,
            size,
            index_interval,
        );
        self.next_offset = h.next_offset();
        self.size += size;
    }

    /// Completes a cleaned segment whose file now is `<base>.log` (the old
    /// index files already deleted): writes its indexes and seals it.
    pub(crate) fn install_cleaned(&mut self) -> Result<(), LogError> {
        self.rewrite_indexes()?;
        self.seek_to_end()?;
        self.seal()
    }

    /// Whether `<base>.log` in the directory still is this segment's file:
    /// false once the directory was deleted, or recreated by another log.
    pub(crate) fn is_on_disk(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(&self.log_path), self.log.metadata()) {
            (Ok(named), Ok(held)) => named.dev() == held.dev() && named.ino() == held.ino(),
            _ => false,
        }
    }

    /// Appends go through the file cursor; reads use pread and never move it.
    pub(super) fn seek_to_end(&self) -> Result<(), LogError> {
        seek_end(&self.log, self.size).ctx(|| format!("seek {}", self.log_path.display()))
    }

    /// Rebuilds indexes and state from the data; with `verify`, truncates at
    /// the first invalid batch.
    pub(super) fn rebuild(
        &mut self,
        verify: bool,
        index_interval: u32,
        visit: &mut dyn FnMut(&BatchHeader),
    ) -> Result<Option<&'static str>, LogError> {
        self.offset_index.clear();
        self.time_index.clear();
        self.next_offset = self.base_offset;
        self.max_timestamp = -1;
        self.last_batch_base = None;
        self.bytes_since_index = 0;
        let mut seen = Vec::new();
        let scanned = recovery::scan(
            &self.log,
            self.size,
            0,
            self.base_offset,
            verify,
            |h, pos| {
                visit(h);
                seen.push((
                    h.base_offset,
                    h.max_timestamp,
                    pos,
                    h.total_size() as u64,
                    h.next_offset(),
                ));
            },
        )
        .ctx(|| format!("scan {}", self.log_path.display()))?;
        for (base, max_ts, pos, size, next) in seen {
            self.note_batch(base, max_ts, pos, size, index_interval);
            self.next_offset = next;
        }
        let stop = match scanned.stop {
            Stop::End => None,
            Stop::Invalid(reason) => {
                tracing::warn!(segment = %self.log_path.display(), at = scanned.end, reason, "truncating invalid log tail");
                self.log
                    .set_len(scanned.end)
                    .ctx(|| format!("truncate {}", self.log_path.display()))?;
                self.size = scanned.end;
                Some(reason)
            }
        };
        self.rewrite_indexes()?;
        Ok(stop)
    }

    /// Index bookkeeping for one batch written at `pos`.
    fn note_batch(&mut self, base: i64, max_ts: i64, pos: u64, size: u64, index_interval: u32) {
        self.max_timestamp = self.max_timestamp.max(max_ts);
        self.last_batch_base = Some(base);
        if self.bytes_since_index >= u64::from(index_interval)
            || self.offset_index.entries.is_empty()
        {
            let rel = (base - self.base_offset) as u32;
            self.offset_index.push(OffsetEntry {
                rel,
                pos: pos as u32,
            });
            if self
                .time_index
                .last()
                .is_none_or(|e| e.ts < self.max_timestamp)
            {
                self.time_index.push(TimeEntry {
                    ts: self.max_timestamp,
                    rel,
                });
            }
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += size;
    }

    /// Appends already-validated batches. `batches` gives (base offset,
    /// maxTimestamp, size) for each batch in `parts` order; `parts` are the
    /// byte slices to write. On error the file is cut back so no partial
    /// append remains.
    pub(crate) fn append(
        &mut self,
        parts: &mut [IoSlice<'_>],
        batches: &[(i64, i64, u64, i64)],
        index_interval: u32,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let total: u64 = batches.iter().map(|b| b.2).sum();
        if let Err(e) = write_all_vectored(&self.log, parts) {
            // Best effort: a failed cut is reported by the next write anyway.
            let _ = self.log.set_len(self.size);
            let _ = seek_end(&self.log, self.size);
            return Err(LogError::io(
                format!("append to {}", self.log_path.display()),
                e,
            ));
        }
        let mut pos = self.size;
        for &(base, max_ts, size, next) in batches {
            self.note_batch(base, max_ts, pos, size, index_interval);
            self.next_offset = next;
            pos += size;
        }
        self.size += total;
        self.first_append_ms.get_or_insert(now_ms);
        Ok(())
    }

    /// Position and header of the first batch whose last offset is ≥ `offset`.
    pub(crate) fn find(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        let rel = (offset - self.base_offset).clamp(0, i64::from(u32::MAX)) as u32;
        let from = self
            .offset_index
            .lookup(rel)
            .ctx(|| format!("read {}", self.offset_index.path().display()))?;
        self.find_from(u64::from(from), |h| h.last_offset() >= offset)
    }

    /// First batch at or after `from` satisfying `pred`.
    pub(crate) fn find_from(
        &self,
        from: u64,
        mut pred: impl FnMut(&BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>, LogError> {
        let mut pos = from;
        while let Some(h) = recovery::header_at(&self.log, self.size, pos)
            .ctx(|| format!("read {}", self.log_path.display()))?
        {
            if pred(&h) {
                return Ok(Some((pos, h)));
            }
            pos += h.total_size() as u64;
        }
        Ok(None)
    }

    /// Position from which a timestamp search may start.
    pub(crate) fn time_lookup_position(&self, ts: i64) -> Result<u64, LogError> {
        let ctx = || format!("read indexes of {}", self.log_path.display());
        Ok(match self.time_index.lookup(ts).ctx(ctx)? {
            Some(rel) => u64::from(self.offset_index.lookup(rel).ctx(ctx)?),
            None => 0,
        })
    }

    pub(crate) fn read_bytes(&self, pos: u64, len: usize) -> Result<Bytes, LogError> {
        pread_bytes(&self.log, pos, len).ctx(|| format!("read {}", self.log_path.display()))
    }

    /// Removes every batch whose last offset is ≥ `offset`.
    pub(crate) fn truncate_to(&mut self, offset: i64, index_interval: u32) -> Result<(), LogError> {
        let Some((pos, _)) = self.find(offset)? else {
            return Ok(());
        };
        self.log
            .set_len(pos)
            .ctx(|| format!("truncate {}", self.log_path.display()))?;
        seek_end(&self.log, pos).ctx(|| format!("seek {}", self.log_path.display()))?;
        self.size = pos;
        // Rare (follower divergence): a header rescan is simpler than
        // surgically fixing the running timestamp maximum.
        self.rebuild(false, index_interval, &mut |_| {})?;
        Ok(())
    }

    /// Called when this segment stops being the active one.
    pub(crate) fn seal(&mut self) -> Result<(), LogError> {
        if self.time_index.is_spilled() {
            return Ok(());
        }
        if let Some(last) = self.last_batch_base {
            let rel = (last - self.base_offset) as u32;
            if self.time_index.last().is_none_or(|e| e.rel != rel) {
                let ts = self
                    .max_timestamp
                    .max(self.time_index.last().map_or(-1, |e| e.ts));
                self.time_index.push(TimeEntry { ts, rel });
            }
        }
        self.persist_indexes()?;
        self.offset_index
            .spill()
            .ctx(|| format!("reopen {}", self.offset_index.path().display()))?;
        self.time_index
            .spill()
            .ctx(|| format!("reopen {}", self.time_index.path().display()))
    }

    pub(crate) fn persist_indexes(&mut self) -> Result<(), LogError> {
        self.offset_index
            .persist()
            .ctx(|| format!("write {}", self.offset_index.path().display()))?;
        self.time_index
            .persist()
            .ctx(|| format!("write {}", self.time_index.path().display()))
    }

    fn rewrite_indexes(&mut self) -> Result<(), LogError> {
        self.offset_index
            .rewrite()
            .ctx(|| format!("write {}", self.offset_index.path().display()))?;
        self.time_index
            .rewrite()
            .ctx(|| format!("write {}", self.time_index.path().display()))
    }

    /// Makes data and indexes durable.
    pub(crate) fn sync(&mut self) -> Result<(), LogError> {
        self.log
            .sync_data()
            .ctx(|| format!("fsync {}", self.log_path.display()))?;
        self.persist_indexes()?;
        self.offset_index
            .sync()
            .ctx(|| "fsync offset index".into())?;
        self.time_index.sync().ctx(|| "fsync time index".into())
    }

    /// Largest timestamp for retention; the file's mtime when no batch has one.
    pub(crate) fn retention_timestamp(&self) -> Result<i64, LogError> {
        if self.max_timestamp >= 0 {
            return Ok(self.max_timestamp);
        }
        let modified = self
            .log
            .metadata()
            .and_then(|m| m.modified())
            .ctx(|| format!("stat {}", self.log_path.display()))?;
        Ok(modified
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64))
    }

    pub(crate) fn delete_files(&self) -> Result<(), LogError> {
        Self::delete_files_of(
            self.log_path.parent().unwrap_or(Path::new(".")),
            self.base_offset,
        )
    }

    /// Removes a segment's files by name, whether or not it is open.
    pub(crate) fn delete_files_of(dir: &Path, base: i64) -> Result<(), LogError> {
        let (log, index, time) = Self::paths(dir, base);
        for p in [log, index, time] {
            std::fs::remove_file(&p)
                .or_else(ignore_not_found)
                .ctx(|| format!("delete {}", p.display()))?;
        }
        Ok(())
    }
}
