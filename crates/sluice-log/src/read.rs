//! [`PartitionLog`]: reads and timestamp lookups, and what a read returns
//! ([`ReadSlice`], [`FileRegion`]).

use std::fs::File;
use std::sync::Arc;

use bytes::Bytes;

use crate::batch::iter_batches;
use crate::fsutil::pread_bytes;
use crate::{LogError, PartitionLog};

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
        pread_bytes(&self.file, self.position, self.len)
            .map_err(|e| LogError::io("read segment", e))
    }
}

impl PartitionLog {
    /// Reads whole batches starting with the one containing `start_offset`,
    /// from one segment, up to `max_bytes` — but always at least one batch if
    /// any lies wholly below `max_offset` (Kafka's rule, so a consumer can
    /// make progress past a batch larger than its fetch size). Batches whose
    /// last offset is ≥ `max_offset` (e.g. the high watermark) are not returned.
    ///
    /// Errors with [`LogError::OffsetOutOfRange`] if `start_offset` is below the
    /// log start offset or above the log end offset.
    pub fn read(
        &self,
        start_offset: i64,
        max_bytes: usize,
        max_offset: i64,
    ) -> Result<ReadSlice, LogError> {
        let region = self.read_region(start_offset, max_bytes, max_offset)?;
        Ok(ReadSlice {
            records: region.read_bytes()?,
            next_offset: region.next_offset,
            log_start_offset: region.log_start_offset,
            high_watermark: region.high_watermark,
            log_end_offset: region.log_end_offset,
        })
    }

    /// Like [`read`](Self::read) but returns where the bytes are instead of
    /// the bytes, so the caller can copy or `sendfile` them after releasing
    /// the partition lock. See [`FileRegion`] for the caveat.
    pub fn read_region(
        &self,
        start_offset: i64,
        max_bytes: usize,
        max_offset: i64,
    ) -> Result<FileRegion, LogError> {
        let leo = self.log_end_offset();
        if start_offset < self.log_start || start_offset > leo {
            return Err(LogError::OffsetOutOfRange {
                requested: start_offset,
                log_start: self.log_start,
                log_end: leo,
            });
        }
        let mut region = FileRegion {
            file: Arc::clone(&self.active().log),
            position: 0,
            len: 0,
            next_offset: start_offset,
            log_start_offset: self.log_start,
            high_watermark: self.hw,
            log_end_offset: leo,
        };
        if start_offset >= leo || start_offset >= max_offset {
            return Ok(region);
        }
        let first = self
            .segments
            .partition_point(|s| s.base_offset <= start_offset)
            .saturating_sub(1);
        for seg in &self.segments[first..] {
            let Some((pos, h)) = seg.find(start_offset)? else {
                continue;
            };
            if h.last_offset() >= max_offset {
                return Ok(region);
            }
            let mut end = pos + h.total_size() as u64;
            let mut next = h.next_offset();
            while let Some((_, h)) = seg.find_from(end, |_| true)? {
                let grown = end + h.total_size() as u64 - pos;
                if h.last_offset() >= max_offset || grown > max_bytes as u64 {
                    break;
                }
                end = pos + grown;
                next = h.next_offset();
            }
            region.file = Arc::clone(&seg.log);
            region.position = pos;
            region.len = (end - pos) as usize;
            region.next_offset = next;
            return Ok(region);
        }
        Ok(region)
    }

    /// ListOffsets by timestamp: the first record at or after the log start
    /// offset whose timestamp is ≥ `timestamp`, as `(offset, timestamp)`.
    /// Exact per record for uncompressed CreateTime batches; for compressed or
    /// LogAppendTime batches, the batch's first offset and `maxTimestamp`.
    /// `None` when no batch is that recent. (The special timestamps -1/-2 are
    /// the broker's to map onto the log end / start offset.)
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>, LogError> {
        let log_start = self.log_start;
        for seg in &self.segments {
            if seg.next_offset <= log_start || seg.max_timestamp < timestamp {
                continue;
            }
            let from = seg.time_lookup_position(timestamp)?;
            let Some((pos, h)) = seg.find_from(from, |h| {
                h.max_timestamp >= timestamp && h.last_offset() >= log_start
            })?
            else {
                continue;
            };
            if h.compression() == 0 && !h.is_log_append_time() {
                let bytes = seg.read_bytes(pos, h.total_size())?;
                if let Some(Ok(b)) = iter_batches(&bytes).next() {
                    if let Some(recs) = b.records() {
                        for r in recs {
                            let Ok(r) = r else { break };
                            let (off, ts) = (
                                h.base_offset.saturating_add(i64::from(r.offset_delta)),
                                h.base_timestamp.saturating_add(r.timestamp_delta),
                            );
                            if ts >= timestamp && off >= log_start {
                                return Ok(Some((off, ts)));
                            }
                        }
                    }
                }
            }
            return Ok(Some((h.base_offset.max(log_start), h.max_timestamp)));
        }
        Ok(None)
    }
}
