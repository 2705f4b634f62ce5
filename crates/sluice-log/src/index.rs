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
//! the previous one, and always for a segment's first batch; sealing a
//! segment adds a final time entry at its last batch, so the last time entry
//! carries the segment's largest timestamp.
//!
//! The active segment's entries live in a Vec: without mmap (no `unsafe`) that
//! gives binary search without a syscall per append or lookup. Sealed
//! segments drop theirs and binary-search the file with pread, so memory does
//! not grow with the number of old segments. Files are appended on flush and
//! roll and are only trusted for segments below the recovery point; entries
//! failing sanity and spot checks make the segment rebuild them from the log.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Shared mechanics of both index kinds.
#[derive(Debug)]
pub(crate) struct IndexFile<E> {
    path: PathBuf,
    /// Entries held in memory (the active segment's, or while loading).
    pub(crate) entries: Vec<E>,
    persisted: usize,
    /// Sealed segments search their index file with pread instead, so memory
    /// stays bounded however many old segments a partition keeps.
    disk: Option<OnDisk<E>>,
}

#[derive(Debug)]
struct OnDisk<E> {
    count: usize,
    last: Option<E>,
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
            disk: None,
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
            disk: None,
        }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn last(&self) -> Option<E> {
        match &self.disk {
            Some(d) => d.last,
            None => self.entries.last().copied(),
        }
    }

    pub(crate) fn push(&mut self, e: E) {
        debug_assert!(self.disk.is_none(), "push to a spilled index");
        self.entries.push(e);
    }

    /// Persists the entries, then drops them from memory: later lookups
    /// read the file.
    pub(crate) fn spill(&mut self) -> io::Result<()> {
        if self.disk.is_some() {
            return Ok(());
        }
        self.persist()?;
        let count = self.entries.len();
        let last = self.entries.last().copied();
        self.entries = Vec::new();
        self.disk = Some(OnDisk { count, last });
        Ok(())
    }

    pub(crate) fn is_spilled(&self) -> bool {
        self.disk.is_some()
    }

    fn len(&self) -> usize {
        self.disk.as_ref().map_or(self.entries.len(), |d| d.count)
    }

    /// Entry `i`; `file` is the opened index file in disk mode. The file is
    /// opened per lookup rather than kept open so old segments cost no file
    /// descriptors beyond their log file.
    fn get(&self, file: Option<&File>, i: usize) -> io::Result<E> {
        match file {
            None => Ok(self.entries[i]),
            Some(f) => {
                let mut buf = [0u8; 16];
                f.read_exact_at(&mut buf[..E::SIZE], (i * E::SIZE) as u64)?;
                Ok(E::decode(&buf))
            }
        }
    }

    /// The entry before the first one failing `pred` (`slice::partition_point`
    /// minus one), over memory or file.
    fn floor(&self, pred: impl Fn(&E) -> bool) -> io::Result<Option<E>> {
        let file = match self.disk {
            Some(_) => Some(File::open(&self.path)?),
            None => None,
        };
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(&self.get(file.as_ref(), mid)?) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        match lo {
            0 => Ok(None),
            i => self.get(file.as_ref(), i - 1).map(Some),
        }
    }

    /// Appends entries not yet on disk.
    pub(crate) fn persist(&mut self) -> io::Result<()> {
        if self.disk.is_some() {
            return Ok(());
        }
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

    /// Empties the in-memory index (before a rebuild), leaving disk mode.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.persisted = 0;
        self.disk = None;
    }
}

impl IndexFile<OffsetEntry> {
    /// Position to start scanning from for relative offset `rel`: that of the
    /// last entry at or below it, else the segment start.
    pub(crate) fn lookup(&self, rel: u32) -> io::Result<u32> {
        Ok(self.floor(|e| e.rel <= rel)?.map_or(0, |e| e.pos))
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
    pub(crate) fn lookup(&self, ts: i64) -> io::Result<Option<u32>> {
        Ok(self.floor(|e| e.ts < ts)?.map(|e| e.rel))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_lookups_match_in_memory_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut oi = OffsetIndex::empty(dir.path().join("x.index"));
        let mut ti = TimeIndex::empty(dir.path().join("x.timeindex"));
        for i in 0..1000u32 {
            oi.push(OffsetEntry {
                rel: i * 3,
                pos: i * 100,
            });
            ti.push(TimeEntry {
                ts: i64::from(i) * 10,
                rel: i * 3,
            });
        }
        let probes_rel: Vec<u32> = (0..3100).step_by(7).collect();
        let probes_ts: Vec<i64> = (-5..10_100).step_by(3).collect();
        let mem_o: Vec<u32> = probes_rel.iter().map(|&r| oi.lookup(r).unwrap()).collect();
        let mem_t: Vec<Option<u32>> = probes_ts.iter().map(|&t| ti.lookup(t).unwrap()).collect();
        assert_eq!(oi.lookup(0).unwrap(), 0);
        assert_eq!(oi.lookup(5).unwrap(), 100);
        assert_eq!(ti.lookup(0).unwrap(), None);
        assert_eq!(ti.lookup(11).unwrap(), Some(3));
        oi.spill().unwrap();
        ti.spill().unwrap();
        assert!(oi.entries.is_empty() && oi.is_spilled());
        assert_eq!(
            oi.last(),
            Some(OffsetEntry {
                rel: 2997,
                pos: 99_900
            })
        );
        assert_eq!(
            probes_rel
                .iter()
                .map(|&r| oi.lookup(r).unwrap())
                .collect::<Vec<_>>(),
            mem_o
        );
        assert_eq!(
            probes_ts
                .iter()
                .map(|&t| ti.lookup(t).unwrap())
                .collect::<Vec<_>>(),
            mem_t
        );
        let reread = OffsetIndex::read(dir.path().join("x.index"))
            .unwrap()
            .unwrap();
        assert_eq!(reread.entries.len(), 1000);
        assert!(reread.is_sane(100_000, Some(3000)));
        assert!(!reread.is_sane(99_900, None), "position past the log end");
    }
}
