//! Sparse per-segment indexes, held in memory and mirrored to disk.
//!
//! * `.index`: entries of 8 bytes, `relative_offset u32 | position u32`
//!   (big-endian): the batch whose base offset is `segment_base + relative_offset`
//!   starts at byte `position` of the `.log` file.
//! * `.timeindex`: entries of 12 bytes, `timestamp i64 | relative_offset u32`:
//!   every batch up to and including the one at `relative_offset` has
//!   `maxTimestamp <= timestamp` (a running maximum, so non-decreasing).
//!
//! Entries are added once `index_interval_bytes` of log have been written since
//! the previous one. Why in memory: a segment's index is at most a few
//! hundred KiB, and without mmap (no `unsafe`) a Vec gives the same binary
//! search without a read syscall per lookup. Files are appended on flush and
//! roll, and are only trusted for segments below the recovery point: they may
//! lack a tail, which costs a longer scan but never a wrong answer, and
//! entries that fail sanity checks make the segment rebuild them.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Shared mechanics of both index kinds.
#[derive(Debug)]
pub(crate) struct IndexFile<E> {
    path: PathBuf,
    pub(crate) entries: Vec<E>,
    persisted: usize,
}

pub(crate) trait Entry: Copy {
    const SIZE: usize;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(b: &[u8]) -> Self;
}

/// Offset index entry: (relative offset, file position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub(crate) rel: u32,
    pub(crate) pos: u32,
}

/// Time index entry: (running max timestamp, relative offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub(crate) ts: i64,
    pub(crate) rel: u32,
}

impl Entry for OffsetEntry {
    const SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.rel.to_be_bytes());
        out.extend_from_slice(&self.pos.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        OffsetEntry {
            rel: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            pos: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

impl Entry for TimeEntry {
    const SIZE: usize = 12;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ts.to_be_bytes());
        out.extend_from_slice(&self.rel.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[..8]);
        TimeEntry {
            ts: i64::from_be_bytes(ts),
            rel: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        }
    }
}

impl<E: Entry> IndexFile<E> {
    pub(crate) fn empty(path: PathBuf) -> Self {
        IndexFile {
            path,
            entries: Vec::new(),
            persisted: 0,
        }
    }

    /// Reads the file; `Ok(None)` when missing or not a whole number of entries.
    pub(crate) fn read(path: PathBuf) -> io::Result<Option<Self>> {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if bytes.len() % E::SIZE != 0 {
            return Ok(None);
        }
        let entries: Vec<E> = bytes.chunks_exact(E::SIZE).map(E::decode).collect();
        let persisted = entries.len();
        Ok(Some(IndexFile {
            path,
            entries,
            persisted,
        }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn last(&self) -> Option<E> {
        self.entries.last().copied()
    }

    pub(crate) fn push(&mut self, e: E) {
        self.entries.push(e);
    }

    /// Appends entries not yet on disk.
    pub(crate) fn persist(&mut self) -> io::Result<()> {
        if self.persisted == self.entries.len() && self.path.exists() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity((self.entries.len() - self.persisted) * E::SIZE);
        for e in &self.entries[self.persisted..] {
            e.encode(&mut buf);
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(&buf)?;
        self.persisted = self.entries.len();
        Ok(())
    }

    /// Replaces the file with the in-memory entries (after a rebuild or truncation).
    pub(crate) fn rewrite(&mut self) -> io::Result<()> {
        let mut buf = Vec::with_capacity(self.entries.len() * E::SIZE);
        for e in &self.entries {
            e.encode(&mut buf);
        }
        let mut f = File::create(&self.path)?;
        f.write_all(&buf)?;
        self.persisted = self.entries.len();
        Ok(())
    }

    pub(crate) fn sync(&self) -> io::Result<()> {
        match File::open(&self.path) {
            Ok(f) => f.sync_all(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.persisted = 0;
    }
}

impl IndexFile<OffsetEntry> {
    /// Position to start scanning from for relative offset `rel`: that of the
    /// last entry at or below it, else the segment start.
    pub(crate) fn lookup(&self, rel: u32) -> u32 {
        let i = self.entries.partition_point(|e| e.rel <= rel);
        if i == 0 {
            0
        } else {
            self.entries[i - 1].pos
        }
    }

    /// True when entries are strictly increasing and inside the segment.
    pub(crate) fn is_sane(&self, log_size: u64, max_rel: Option<u32>) -> bool {
        let in_bounds = |e: &OffsetEntry| {
            u64::from(e.pos) < log_size.max(1) && max_rel.is_none_or(|m| e.rel < m)
        };
        self.entries.iter().all(in_bounds)
            && self
                .entries
                .windows(2)
                .all(|w| w[0].rel < w[1].rel && w[0].pos < w[1].pos)
    }
}

impl IndexFile<TimeEntry> {
    /// Relative offset from which to scan for the first batch with
    /// `maxTimestamp >= ts`: every batch before the returned entry's batch is
    /// known to be older. `None` means scan from the segment start.
    pub(crate) fn lookup(&self, ts: i64) -> Option<u32> {
        let i = self.entries.partition_point(|e| e.ts < ts);
        (i > 0).then(|| self.entries[i - 1].rel)
    }

    pub(crate) fn is_sane(&self, max_rel: Option<u32>) -> bool {
        self.entries
            .iter()
            .all(|e| e.ts >= -1 && max_rel.is_none_or(|m| e.rel < m))
            && self
                .entries
                .windows(2)
                .all(|w| w[0].ts <= w[1].ts && w[0].rel <= w[1].rel)
    }
}

pub(crate) type OffsetIndex = IndexFile<OffsetEntry>;
pub(crate) type TimeIndex = IndexFile<TimeEntry>;
