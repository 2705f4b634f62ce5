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
//! For each rewritten segment: write `<base>.log.cleaned` and fsync it;
//! rename it to `<base>.log.swap` and fsync the directory (the commit point);
//! delete the old `.index`/`.timeindex`; rename the swap file over
//! `<base>.log` and fsync the directory; rebuild the indexes. On open,
//! [`recover_swaps`] deletes `.cleaned` leftovers (the old segment is intact)
//! and completes `.swap` files, so a crash leaves each segment entirely old
//! or entirely new. The checkpoint advances only after the whole pass; an
//! interrupted pass is simply repeated.
//!
//! Renaming over the old file keeps its inode alive for open handles, so a
//! [`FileRegion`](crate::FileRegion) taken before a pass keeps reading the old,
//! still valid bytes.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::{BufMut, Bytes};

use crate::batch::{self, raw_records, BatchHeader, RawRecord, HEADER_LEN, LOG_OVERHEAD};
use crate::checkpoint;
use crate::error::IoContext;
use crate::recovery::ChunkReader;
use crate::segment::{self, Segment};
use crate::{CompactionOutcome, LogError, PartitionLog};

/// Approximate heap bytes of one offset-map entry besides its key (box,
/// offset, hash table slot and control byte, load factor).
const MAP_ENTRY_OVERHEAD: usize = 48;

/// A cleaned segment being written.
pub(crate) const CLEANED_SUFFIX: &str = ".log.cleaned";
/// A cleaned segment committed to replace `<base>.log`.
pub(crate) const SWAP_SUFFIX: &str = ".log.swap";

/// Where [`PartitionLog::compact_crashing`] stops while replacing the first
/// segment it rewrites, leaving the files as a crash at that point would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(any(test, feature = "testing")), allow(dead_code))]
pub enum CrashPoint {
    /// Half of `<base>.log.cleaned` written.
    PartialCleaned,
    /// `<base>.log.cleaned` complete and fsynced.
    Cleaned,
    /// Renamed to `<base>.log.swap` (the commit point).
    Swapped,
    /// The old index files deleted.
    IndexesDeleted,
    /// The swap file renamed over `<base>.log`, indexes not yet rebuilt.
    Renamed,
}

impl PartitionLog {
    /// Compacts the closed segments below the high watermark (see the
    /// `compact` module docs in the source for the rules): keeps the latest
    /// record of each key at its original offset, drops tombstones older than
    /// `delete_retention_ms`, and skips the pass when the dirty ratio is below
    /// `min_cleanable_dirty_ratio`. Runs whatever [`LogConfig::compact`]
    /// says; the broker calls it only for compacted topics.
    ///
    /// Holds `&mut self` for the whole pass (reads, rewrites, fsyncs).
    /// [`FileRegion`](crate::FileRegion)s taken earlier stay readable.
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
        let mut out = CompactionOutcome {
            cleaner_offset: self.cleaner_offset,
            ..CompactionOutcome::default()
        };
        let n = self.segments.len();
        let lag = self.config.min_compaction_lag_ms;
        let mut end = 0;
        while end + 1 < n {
            let seg = &self.segments[end];
            if seg.next_offset > self.hw
                || (lag > 0 && now_ms.saturating_sub(seg.retention_timestamp()?) < lag)
            {
                break;
            }
            end += 1;
        }
        if end == 0 {
            return Ok(out);
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
            return Ok(out);
        }

        // 1. Offset map over the dirty part, whole segments, within the budget.
        let mut latest: HashMap<Box<[u8]>, i64> = HashMap::new();
        let mut map_bytes = 0u64;
        let mut mapped_end = dirty_from;
        for seg in &self.segments[dirty_from..end] {
            if mapped_end > dirty_from && map_bytes > self.config.cleaner_map_bytes {
                break;
            }
            mapped_end += 1;
            for_each_batch(seg, |_, bytes, h| {
                if h.is_control() {
                    return Ok(());
                }
                let dec = decompressed_section(bytes, h)?;
                let section = dec.as_deref().unwrap_or(&bytes[HEADER_LEN..]);
                for r in parse_records(section, h)? {
                    let Some(key) = r.key else { continue };
                    let offset = h.base_offset + i64::from(r.offset_delta);
                    match latest.get_mut(key) {
                        Some(o) => *o = offset,
                        None => {
                            map_bytes += (key.len() + MAP_ENTRY_OVERHEAD) as u64;
                            latest.insert(key.into(), offset);
                        }
                    }
                }
                Ok(())
            })?;
        }
        if mapped_end < end {
            tracing::debug!(dir = %self.dir.display(), mapped = mapped_end - dirty_from, "offset map full; cleaning part of the dirty range");
        }
        let end = mapped_end;
        out.segments_scanned = end;
        out.bytes_before = self.segments[..end].iter().map(|s| s.size).sum();
        // Last batch of every producer, over the whole log.
        let mut last_of_producer: HashMap<i64, i64> = HashMap::new();
        for seg in &self.segments {
            seg.find_from(0, |h| {
                if h.producer_id >= 0 {
                    last_of_producer.insert(h.producer_id, h.base_offset);
                }
                false
            })?;
        }
        let keep_batches: HashSet<i64> = last_of_producer.into_values().collect();

        // 2. Filter and replace segments, oldest first.
        for i in 0..end {
            let seg = &self.segments[i];
            let drop_tombstones =
                now_ms.saturating_sub(seg.retention_timestamp()?) > self.config.delete_retention_ms;
            let cleaned_path = self
                .dir
                .join(segment::file_name(seg.base_offset, CLEANED_SUFFIX));
            let mut writer: Option<BufWriter<File>> = None;
            // Verbatim run of the old file not yet copied to `writer`.
            let mut run = (0u64, 0u64);
            let (mut records_removed, mut tombstones_removed, mut batches_removed) = (0, 0, 0);
            let filtered = for_each_batch(seg, |pos, bytes, h| {
                let keep_empty = keep_batches.contains(&h.base_offset);
                let filtered = filter_batch(bytes, h, keep_empty, |offset, r| {
                    let latest_here = r
                        .key
                        .is_none_or(|k| latest.get(k).is_none_or(|&o| o == offset));
                    if !latest_here {
                        records_removed += 1;
                        false
                    } else if r.null_value && r.key.is_some() && drop_tombstones {
                        tombstones_removed += 1;
                        false
                    } else {
                        true
                    }
                })?;
                let end_pos = pos + h.total_size() as u64;
                let new_bytes = match filtered {
                    Filtered::Unchanged => {
                        run.1 = end_pos;
                        return Ok(());
                    }
                    Filtered::Drop => {
                        batches_removed += 1;
                        None
                    }
                    Filtered::Rewritten(b) => Some(b),
                };
                if writer.is_none() {
                    let f = File::create(&cleaned_path)
                        .ctx(|| format!("create {}", cleaned_path.display()))?;
                    writer = Some(BufWriter::with_capacity(1 << 20, f));
                }
                if let Some(w) = writer.as_mut() {
                    copy_range(&seg.log, run, w)
                        .ctx(|| format!("write {}", cleaned_path.display()))?;
                    if let Some(b) = new_bytes {
                        w.write_all(&b)
                            .ctx(|| format!("write {}", cleaned_path.display()))?;
                    }
                }
                run = (end_pos, end_pos);
                Ok(())
            });
            let Some(mut w) = writer else {
                filtered?;
                continue;
            };
            let finish = || -> std::io::Result<()> {
                copy_range(&seg.log, run, &mut w)?;
                let f = w.into_inner().map_err(|e| e.into_error())?;
                f.sync_all()
            };
            let written = filtered
                .and_then(|()| finish().ctx(|| format!("write {}", cleaned_path.display())));
            if let Err(e) = written {
                // Best effort: a leftover is also deleted on the next open.
                let _ = std::fs::remove_file(&cleaned_path);
                return Err(e);
            }
            out.records_removed += records_removed;
            out.tombstones_removed += tombstones_removed;
            out.batches_removed += batches_removed;
            if self.swap_in(i, crash)? {
                return Ok(out);
            }
            out.segments_rewritten += 1;
        }

        let checkpoint = self.segments[end].base_offset;
        self.cleaner_offset = Some(checkpoint);
        self.write_checkpoint(true)?;
        out.cleaned = true;
        out.cleaner_offset = self.cleaner_offset;
        out.bytes_after = self.segments[..end].iter().map(|s| s.size).sum();
        tracing::info!(
            dir = %self.dir.display(),
            rewritten = out.segments_rewritten,
            before = out.bytes_before,
            after = out.bytes_after,
            "compacted log"
        );
        Ok(out)
    }

    /// Replaces segment `i` with its `.cleaned` file. Returns true when a
    /// simulated crash stopped it.
    fn swap_in(&mut self, i: usize, crash: Option<CrashPoint>) -> Result<bool, LogError> {
        let base = self.segments[i].base_offset;
        let dir = self.dir.clone();
        let cleaned = dir.join(segment::file_name(base, CLEANED_SUFFIX));
        let swap = dir.join(segment::file_name(base, SWAP_SUFFIX));
        let log = dir.join(segment::file_name(base, segment::LOG_SUFFIX));
        let sync_dir = || checkpoint::sync_dir(&dir).ctx(|| format!("fsync {}", dir.display()));
        if crash == Some(CrashPoint::PartialCleaned) {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&cleaned)
                .ctx(|| format!("open {}", cleaned.display()))?;
            let len = f.metadata().ctx(|| "stat".into())?.len();
            f.set_len(len / 2).ctx(|| "truncate".into())?;
            return Ok(true);
        }
        if crash == Some(CrashPoint::Cleaned) {
            return Ok(true);
        }
        rename(&cleaned, &swap)?;
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
        // Dropping the old segment closes our handle to the old inode;
        // readers holding its `Arc<File>` keep it alive.
        self.segments[i] = Segment::open_rewritten(&dir, base, self.config.index_interval_bytes)?;
        Ok(false)
    }
}

/// Finishes or rolls back segment replacements a crash interrupted: deletes
/// `.cleaned` files (the old segment is intact) and completes `.swap` files
/// (the cleaned segment was committed). Called before a log is opened.
pub(crate) fn recover_swaps(dir: &Path) -> Result<(), LogError> {
    let mut swaps = Vec::new();
    for entry in std::fs::read_dir(dir).ctx(|| format!("list {}", dir.display()))? {
        let entry = entry.ctx(|| format!("list {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(CLEANED_SUFFIX) {
            tracing::warn!(dir = %dir.display(), file = name, "deleting interrupted cleaner output");
            std::fs::remove_file(entry.path())
                .or_else(crate::log::ignore_not_found)
                .ctx(|| format!("delete {name}"))?;
        } else if let Some(stem) = name.strip_suffix(SWAP_SUFFIX) {
            if let Ok(base) = stem.parse::<i64>() {
                swaps.push((base, entry.path()));
            }
        }
    }
    for (base, path) in swaps {
        tracing::warn!(dir = %dir.display(), segment = base, "completing interrupted cleaner swap");
        delete_index_files(dir, base)?;
        rename(
            &path,
            &dir.join(segment::file_name(base, segment::LOG_SUFFIX)),
        )?;
        checkpoint::sync_dir(dir).ctx(|| format!("fsync {}", dir.display()))?;
    }
    Ok(())
}

fn rename(from: &Path, to: &PathBuf) -> Result<(), LogError> {
    std::fs::rename(from, to).ctx(|| format!("rename {} to {}", from.display(), to.display()))
}

fn delete_index_files(dir: &Path, base: i64) -> Result<(), LogError> {
    for suffix in [segment::INDEX_SUFFIX, segment::TIME_INDEX_SUFFIX] {
        let p = dir.join(segment::file_name(base, suffix));
        std::fs::remove_file(&p)
            .or_else(crate::log::ignore_not_found)
            .ctx(|| format!("delete {}", p.display()))?;
    }
    Ok(())
}

/// Copies `[run.0, run.1)` of `file` to `w`.
fn copy_range(file: &File, run: (u64, u64), w: &mut impl Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; ((run.1 - run.0) as usize).min(1 << 20)];
    let mut pos = run.0;
    while pos < run.1 {
        let n = ((run.1 - pos) as usize).min(buf.len());
        file.read_exact_at(&mut buf[..n], pos)?;
        w.write_all(&buf[..n])?;
        pos += n as u64;
    }
    Ok(())
}

/// Calls `f(position, batch bytes, header)` for each batch of a segment.
fn for_each_batch(
    seg: &Segment,
    mut f: impl FnMut(u64, &[u8], &BatchHeader) -> Result<(), LogError>,
) -> Result<(), LogError> {
    let mut reader = ChunkReader::new(&seg.log, seg.size);
    let mut pos = 0u64;
    let ctx = || format!("read segment {}", seg.base_offset);
    while pos < seg.size {
        let Some(head) = reader.get(pos, HEADER_LEN).ctx(ctx)? else {
            return Err(LogError::invalid(pos as usize, "truncated batch header"));
        };
        let h = BatchHeader::parse(head)?;
        let size = h.total_size();
        let Some(bytes) = reader.get(pos, size).ctx(ctx)? else {
            return Err(LogError::invalid(pos as usize, "truncated batch"));
        };
        f(pos, bytes, &h)?;
        pos += size as u64;
    }
    Ok(())
}

/// The decompressed records section of a compressed batch; `None` for an
/// uncompressed one (use `bytes[HEADER_LEN..]`).
fn decompressed_section(bytes: &[u8], h: &BatchHeader) -> Result<Option<Bytes>, LogError> {
    match h.compression() {
        0 => Ok(None),
        codec => decompress(codec, &bytes[HEADER_LEN..], h.base_offset).map(Some),
    }
}

fn parse_records<'a>(section: &'a [u8], h: &BatchHeader) -> Result<Vec<RawRecord<'a>>, LogError> {
    raw_records(section, h.records_count)
        .map_err(|_| LogError::invalid(0, "malformed record in a batch being compacted"))
}

enum Filtered {
    Unchanged,
    Drop,
    Rewritten(Vec<u8>),
}

/// Applies `keep(offset, record)` to the records of a batch. A batch losing
/// every record is dropped unless `keep_empty`, then it stays with no records.
fn filter_batch(
    bytes: &[u8],
    h: &BatchHeader,
    keep_empty: bool,
    mut keep: impl FnMut(i64, &RawRecord<'_>) -> bool,
) -> Result<Filtered, LogError> {
    if h.is_control() {
        return Ok(Filtered::Unchanged);
    }
    let computed = batch::compute_crc(bytes);
    if computed != h.crc {
        // Never propagate corruption into a rewritten batch.
        return Err(LogError::CrcMismatch {
            position: 0,
            stored: h.crc,
            computed,
        });
    }
    let dec = decompressed_section(bytes, h)?;
    let section = dec.as_deref().unwrap_or(&bytes[HEADER_LEN..]);
    let records = parse_records(section, h)?;
    let kept: Vec<&[u8]> = records
        .iter()
        .filter(|r| keep(h.base_offset + i64::from(r.offset_delta), r))
        .map(|r| r.bytes)
        .collect();
    if kept.len() == records.len() {
        return Ok(Filtered::Unchanged);
    }
    if kept.is_empty() && !keep_empty {
        return Ok(Filtered::Drop);
    }
    let mut attributes = h.attributes;
    let mut body = Vec::with_capacity(kept.iter().map(|r| r.len()).sum());
    for r in &kept {
        body.extend_from_slice(r);
    }
    if kept.is_empty() {
        // Kafka writes empty batches uncompressed.
        attributes &= !batch::COMPRESSION_MASK;
    } else if h.compression() != 0 {
        body = compress(h.compression(), &body, h.base_offset)?;
    }
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&bytes[..HEADER_LEN]);
    out.extend_from_slice(&body);
    let length = i32::try_from(out.len() - LOG_OVERHEAD)
        .map_err(|_| LogError::invalid(0, "rewritten batch too large"))?;
    out[batch::LENGTH_OFFSET..batch::LENGTH_OFFSET + 4].copy_from_slice(&length.to_be_bytes());
    out[batch::ATTRIBUTES_OFFSET..batch::ATTRIBUTES_OFFSET + 2]
        .copy_from_slice(&attributes.to_be_bytes());
    out[batch::RECORDS_COUNT_OFFSET..batch::RECORDS_COUNT_OFFSET + 4]
        .copy_from_slice(&(kept.len() as i32).to_be_bytes());
    let crc = batch::compute_crc(&out);
    out[batch::CRC_OFFSET..batch::CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(Filtered::Rewritten(out))
}

fn codec_error(base_offset: i64, codec: u8, e: impl std::fmt::Display) -> LogError {
    LogError::Compression {
        base_offset,
        codec,
        reason: e.to_string(),
    }
}

/// Decompresses a records section with Kafka codec `codec` (1 gzip, 2
/// snappy, 3 lz4, 4 zstd).
pub(crate) fn decompress(codec: u8, data: &[u8], base_offset: i64) -> Result<Bytes, LogError> {
    use kafka_protocol::compression::{Decompressor, Gzip, Lz4, Snappy, Zstd};
    let mut src = data;
    let res = match codec {
        1 => Gzip::decompress(&mut src, |b| Ok(std::mem::take(b))),
        2 => Snappy::decompress(&mut src, |b| Ok(std::mem::take(b))),
        3 => Lz4::decompress(&mut src, |b| Ok(std::mem::take(b))),
        4 => Zstd::decompress(&mut src, |b| Ok(std::mem::take(b))),
        _ => return Err(codec_error(base_offset, codec, "unknown codec")),
    };
    res.map_err(|e| codec_error(base_offset, codec, format!("{e:#}")))
}

/// Compresses a records section with Kafka codec `codec`.
pub(crate) fn compress(codec: u8, data: &[u8], base_offset: i64) -> Result<Vec<u8>, LogError> {
    use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    let res = match codec {
        1 => Gzip::compress(&mut out, |b| {
            b.put_slice(data);
            Ok(())
        }),
        2 => Snappy::compress(&mut out, |b| {
            b.put_slice(data);
            Ok(())
        }),
        3 => Lz4::compress(&mut out, |b| {
            b.put_slice(data);
            Ok(())
        }),
        4 => Zstd::compress(&mut out, |b| {
            b.put_slice(data);
            Ok(())
        }),
        _ => return Err(codec_error(base_offset, codec, "unknown codec")),
    };
    res.map_err(|e| codec_error(base_offset, codec, format!("{e:#}")))?;
    Ok(out)
}
