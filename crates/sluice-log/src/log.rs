//! [`PartitionLog`]: the partition's state (segments, log start, high
//! watermark, recovery point, cleaner checkpoint, leader epochs), its
//! accessors and appending ([`AppendInfo`]). Opening is in `open`; reads,
//! maintenance and compaction are `impl PartitionLog` blocks of their own
//! modules.

mod open;

use std::io::IoSlice;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::batch::{self, iter_batches, HEADER_LEN};
use crate::checkpoint;
use crate::epoch::EpochCache;
use crate::segment::Segment;
use crate::{FlushTicket, Flusher, LogConfig, LogError, TimestampType};

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

/// One partition's log. See the crate docs for the on-disk format.
///
/// Not internally synchronized: wrap it in a mutex. Methods that only read
/// take `&self` so an `RwLock` works too.
#[derive(Debug)]
pub struct PartitionLog {
    pub(crate) dir: PathBuf,
    pub(crate) config: LogConfig,
    /// Sorted by base offset; never empty; the last one is active.
    pub(crate) segments: Vec<Segment>,
    pub(crate) log_start: i64,
    pub(crate) hw: i64,
    /// Offsets below this are known to be fsynced.
    pub(crate) recovery_point: i64,
    /// Log cleaner checkpoint: segments ending at or below it are clean.
    pub(crate) cleaner_offset: Option<i64>,
    /// Set while a compaction pass is planned and not yet committed or
    /// dropped; shared with that pass, which clears it when dropped.
    pub(crate) cleaner_busy: Arc<AtomicBool>,
    /// Bumped by every [`truncate_to`](Self::truncate_to) that removes
    /// batches, so a compaction pass can tell the log it read was cut.
    pub(crate) truncations: u64,
    pub(crate) epochs: EpochCache,
    pub(crate) flusher: Flusher,
    /// Patched batch headers of the append in progress (reused allocation).
    headers: Vec<[u8; HEADER_LEN]>,
    /// (base offset, maxTimestamp, size, next offset) per batch of the append in progress.
    metas: Vec<(i64, i64, u64, i64)>,
    pub(crate) closed: bool,
    /// The leader-epoch checkpoint on disk is behind the cache.
    pub(crate) epochs_dirty: bool,
}

/// Byte ranges `(start, end)` of `records` to write, for one append.
type Spans = Vec<(usize, usize)>;

impl PartitionLog {
    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration in force.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The flusher durable appends use (its counters show group-commit efficiency).
    pub fn flusher(&self) -> &Flusher {
        &self.flusher
    }

    /// First offset readable by consumers.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start
    }

    /// Offset the next appended record gets.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset
    }

    /// High watermark: consumers read below it; kept apart from the LEO and
    /// persisted in `partition-checkpoint` on flush/close.
    pub fn high_watermark(&self) -> i64 {
        self.hw
    }

    /// Latest leader epoch in the epoch cache.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.latest_epoch()
    }

    /// The leader-epoch cache: `(epoch, start_offset)` pairs, ascending.
    pub fn epoch_entries(&self) -> &[(i32, i64)] {
        self.epochs.entries()
    }

    /// Number of segments (including the active one).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Base offsets of all segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.segments.iter().map(|s| s.base_offset).collect()
    }

    pub(crate) fn active(&self) -> &Segment {
        // Invariant: never empty.
        &self.segments[self.segments.len() - 1]
    }

    /// Leader append: validates every batch of a produce `records` field
    /// (magic 2, CRC, record count, `max_message_bytes`) before writing any,
    /// re-encodes batches into the topic's codec if it names one,
    /// assigns offsets from the log end offset, stamps `leader_epoch` (and the
    /// append time for LogAppendTime topics), and writes them in one syscall.
    pub fn append(
        &mut self,
        records: &[u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let converted = match self.config.compression {
            Some(codec) => {
                crate::recompress::to_codec(records, codec, self.config.max_message_bytes)?
            }
            None => None,
        };
        let records = converted.as_deref().unwrap_or(records);
        self.headers.clear();
        self.metas.clear();
        let mut spans: Spans = Vec::new();
        let mut record_count = 0u64;
        let mut next = self.log_end_offset();
        let log_append = self.config.timestamp_type == TimestampType::LogAppendTime;
        let mut max_ts = -1;
        for b in iter_batches(records) {
            let b = b?;
            if b.bytes.len() > self.config.max_message_bytes as usize {
                return Err(LogError::MessageTooLarge {
                    size: b.bytes.len(),
                    max: self.config.max_message_bytes,
                });
            }
            // LogAppendTime rewrites CRC-covered fields: keep the records'
            // CRC so the new batch CRC needs no second pass over them.
            let records_crc = if log_append {
                b.validate_with_records_crc()?
            } else {
                b.validate()?;
                0
            };
            let mut h = [0u8; HEADER_LEN];
            h.copy_from_slice(&b.bytes[..HEADER_LEN]);
            h[..8].copy_from_slice(&next.to_be_bytes());
            h[batch::LEADER_EPOCH_OFFSET..batch::MAGIC_OFFSET]
                .copy_from_slice(&leader_epoch.to_be_bytes());
            let mut batch_max_ts = b.header.max_timestamp;
            if log_append {
                let attrs = b.header.attributes | batch::TIMESTAMP_TYPE_BIT;
                h[batch::ATTRIBUTES_OFFSET..batch::ATTRIBUTES_OFFSET + 2]
                    .copy_from_slice(&attrs.to_be_bytes());
                h[batch::MAX_TIMESTAMP_OFFSET..batch::MAX_TIMESTAMP_OFFSET + 8]
                    .copy_from_slice(&now_ms.to_be_bytes());
                let crc = crc32c::crc32c_combine(
                    crc32c::crc32c(&h[batch::ATTRIBUTES_OFFSET..]),
                    records_crc,
                    b.bytes.len() - HEADER_LEN,
                );
                h[batch::CRC_OFFSET..batch::ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
                batch_max_ts = now_ms;
            }
            let batch_next = next + i64::from(b.header.last_offset_delta) + 1;
            self.headers.push(h);
            self.metas
                .push((next, batch_max_ts, b.bytes.len() as u64, batch_next));
            spans.push((b.position + HEADER_LEN, b.position + b.bytes.len()));
            record_count += b.header.records_count as u64;
            max_ts = max_ts.max(batch_max_ts);
            next = batch_next;
        }
        if self.metas.is_empty() {
            return Err(LogError::invalid(0, "no record batches"));
        }
        let base_offset = self.metas[0].0;
        let sync = self.write_validated(records, &spans, next - 1, now_ms)?;
        if self.epochs.assign(leader_epoch, base_offset) {
            self.save_epochs_after_append();
        }
        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_append_time: log_append.then_some(now_ms),
            bytes: records.len() as u64,
            record_count,
            max_timestamp: max_ts,
            log_start_offset: self.log_start,
            sync,
        })
    }

    /// Follower append: batches keep the offsets and epochs the leader gave
    /// them. Validated (structure, magic, CRC) before anything is written;
    /// offsets must not go below the log end offset or backwards.
    pub fn append_as_follower(&mut self, records: &[u8]) -> Result<AppendInfo, LogError> {
        self.headers.clear();
        self.metas.clear();
        let mut expected = self.log_end_offset();
        let mut record_count = 0u64;
        let mut max_ts = -1;
        let mut epochs = Vec::new();
        for b in iter_batches(records) {
            let b = b?;
            b.verify_crc()?;
            if b.header.base_offset < expected || b.header.last_offset_delta < 0 {
                return Err(LogError::UnexpectedAppendOffset {
                    expected,
                    got: b.header.base_offset,
                });
            }
            self.metas.push((
                b.header.base_offset,
                b.header.max_timestamp,
                b.bytes.len() as u64,
                b.header.next_offset(),
            ));
            record_count += b.header.records_count.max(0) as u64;
            max_ts = max_ts.max(b.header.max_timestamp);
            expected = b.header.next_offset();
            epochs.push((b.header.partition_leader_epoch, b.header.base_offset));
        }
        if self.metas.is_empty() {
            return Err(LogError::invalid(0, "no record batches"));
        }
        let base_offset = self.metas[0].0;
        let sync = self.write_validated(records, &[], expected - 1, wall_clock_ms())?;
        let mut changed = false;
        for (e, o) in epochs {
            changed |= self.epochs.assign(e, o);
        }
        if changed {
            self.save_epochs_after_append();
        }
        Ok(AppendInfo {
            base_offset,
            last_offset: expected - 1,
            log_append_time: None,
            bytes: records.len() as u64,
            record_count,
            max_timestamp: max_ts,
            log_start_offset: self.log_start,
            sync,
        })
    }

    /// Rolls if needed and writes the batches described by `self.metas`.
    /// With `spans` empty, `records` is written verbatim; otherwise batch i
    /// is `self.headers[i]` followed by `records[spans[i]]`.
    fn write_validated(
        &mut self,
        records: &[u8],
        spans: &[(usize, usize)],
        last_offset: i64,
        now_ms: i64,
    ) -> Result<FlushTicket, LogError> {
        if records.len() as u64 > self.config.segment_bytes {
            return Err(LogError::RecordListTooLarge {
                size: records.len(),
                segment_bytes: self.config.segment_bytes,
            });
        }
        let first_base = self.metas[0].0;
        if last_offset - first_base > i64::from(i32::MAX) {
            // Index entries hold offsets relative to a segment base in 32 bits.
            return Err(LogError::invalid(
                0,
                "offsets of one append span more than 2^31",
            ));
        }
        let active = self.active();
        let offset_overflow = last_offset - active.base_offset > i64::from(i32::MAX);
        if offset_overflow
            || (active.size > 0
                && (active.size + records.len() as u64 > self.config.segment_bytes
                    || self.segment_ms_due(now_ms)))
        {
            self.roll(first_base.max(self.log_end_offset()))?;
        }
        let mut parts: Vec<IoSlice<'_>> = if spans.is_empty() {
            vec![IoSlice::new(records)]
        } else {
            let mut v = Vec::with_capacity(spans.len() * 2);
            for (h, &(s, e)) in self.headers.iter().zip(spans) {
                v.push(IoSlice::new(h));
                v.push(IoSlice::new(&records[s..e]));
            }
            v
        };
        let index_interval = self.config.index_interval_bytes;
        let n = self.segments.len();
        let active = &mut self.segments[n - 1];
        active.append(&mut parts, &self.metas, index_interval, now_ms)?;
        Ok(if self.config.durable {
            self.flusher.request(&active.log)
        } else {
            FlushTicket::ready()
        })
    }

    /// The data is already written, so failing the append now would make the
    /// producer retry and duplicate it; the checkpoint is retried on flush.
    fn save_epochs_after_append(&mut self) {
        if let Err(e) = checkpoint::write_epochs(&self.dir, self.epochs.entries(), true) {
            tracing::error!(dir = %self.dir.display(), error = %e, "leader-epoch checkpoint failed; retrying on flush");
            self.epochs_dirty = true;
        }
    }

    pub(crate) fn segment_ms_due(&self, now_ms: i64) -> bool {
        let (Some(ms), Some(first)) = (self.config.segment_ms, self.active().first_append_ms)
        else {
            return false;
        };
        now_ms.saturating_sub(first) >= ms.min(i64::MAX as u64) as i64
    }

    /// OffsetForLeaderEpoch: `(largest epoch ≤ epoch, end offset of that
    /// epoch)`, the log end offset for the latest epoch, `None` when unknown
    /// (Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }
}

/// Followers have no request time; `segment.ms` rolls use the local clock.
fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
