//! Adapter between the handlers and `sluice-log`: one [`PartitionStore`] per partition holds
//! the log, the idempotent-producer state and the replica's replication state, maps log errors
//! to Kafka error codes and moves the high watermark as the ISR allows.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use sluice_log::batch::iter_batches;
use sluice_log::{
    CleanPlan, CleanedPass, CompactionOutcome, CompactionPlan, FileRegion, FlushTicket, LogConfig,
    LogError, PartitionLog,
};

use crate::error::BrokerError;
use crate::producer_state::{BatchProducer, ProducerStates, SequenceCheck};
use crate::replica::state::ReplicaState;

/// Leader epoch stamped on internal batches before they are appended (the log overwrites it).
const INTERNAL_EPOCH: i32 = 0;

/// Effective log settings of a topic: broker defaults overridden by topic configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSettings {
    /// Configuration handed to `sluice-log`.
    pub log: LogConfig,
}

impl TopicSettings {
    /// Parses the effective topic configuration (every key of `topic_config_defaults`, with
    /// overrides applied) into log settings.
    pub fn resolve(effective: &BTreeMap<String, String>) -> TopicSettings {
        let get = |k: &str| effective.get(k).and_then(|v| v.parse::<i64>().ok());
        let defaults = LogConfig::default();
        let retention_ms = get("retention.ms").unwrap_or(-1);
        let retention_bytes = get("retention.bytes").unwrap_or(-1);
        // `compact` keeps the latest record per key; `delete` (alone or with it) applies
        // time/size retention.
        let policy = effective
            .get("cleanup.policy")
            .map_or("delete", String::as_str);
        let compact = policy.split(',').any(|p| p.trim() == "compact");
        let delete = !compact || policy.split(',').any(|p| p.trim() == "delete");
        let log = LogConfig {
            segment_bytes: get("segment.bytes").map_or(defaults.segment_bytes, |v| {
                v.clamp(61, i64::from(i32::MAX)) as u64
            }),
            segment_ms: get("segment.ms").map(|v| v.max(0) as u64),
            retention_ms: (delete && retention_ms >= 0).then_some(retention_ms),
            retention_bytes: (delete && retention_bytes >= 0).then_some(retention_bytes as u64),
            max_message_bytes: get("max.message.bytes").map_or(defaults.max_message_bytes, |v| {
                v.clamp(61, i64::from(i32::MAX)) as u32
            }),
            durable: get("flush.messages").is_some_and(|v| v <= 1),
            timestamp_type: if effective.get("message.timestamp.type").map(String::as_str)
                == Some("LogAppendTime")
            {
                sluice_log::TimestampType::LogAppendTime
            } else {
                sluice_log::TimestampType::CreateTime
            },
            compact,
            delete_retention_ms: get("delete.retention.ms")
                .map_or(defaults.delete_retention_ms, |v| v.max(0)),
            min_cleanable_dirty_ratio: effective
                .get("min.cleanable.dirty.ratio")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|r| (0.0..=1.0).contains(r))
                .unwrap_or(defaults.min_cleanable_dirty_ratio),
            min_compaction_lag_ms: get("min.compaction.lag.ms")
                .map_or(defaults.min_compaction_lag_ms, |v| v.max(0)),
            compression: effective
                .get("compression.type")
                .and_then(|v| codec_number(v)),
            ..defaults
        };
        TopicSettings { log }
    }
}

/// Kafka's codec number for a `compression.type` value; `None` for `producer` (keep the
/// producer's) and for anything unknown (validation refuses those first).
pub fn codec_number(compression_type: &str) -> Option<u8> {
    match compression_type {
        "uncompressed" => Some(0),
        "gzip" => Some(1),
        "snappy" => Some(2),
        "lz4" => Some(3),
        "zstd" => Some(4),
        _ => None,
    }
}

/// Result of a produce append.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Offset of the first record (the original one for a duplicate).
    pub base_offset: i64,
    /// Append time for LogAppendTime topics, else -1.
    pub log_append_time: i64,
    /// Records written.
    pub record_count: u64,
    /// Whether this was a retry of an already written batch (nothing written).
    pub duplicate: bool,
    /// Completes once the append is on disk (immediately unless the topic is durable). Await
    /// it after releasing the partition lock so concurrent appends share one fsync.
    pub sync: FlushTicket,
    /// Offset after the last record written (for advancing the high watermark once durable).
    pub end_offset: i64,
}

/// Maps a log error to the error code Kafka returns in that situation.
pub fn error_code(e: &LogError) -> ResponseError {
    match e {
        LogError::CrcMismatch { .. } | LogError::InvalidBatch { .. } => {
            ResponseError::CorruptMessage
        }
        LogError::UnsupportedMagic { .. } => ResponseError::UnsupportedForMessageFormat,
        LogError::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
        LogError::RecordListTooLarge { .. } => ResponseError::RecordListTooLarge,
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        LogError::Io { .. } | LogError::FlushFailed(_) => ResponseError::KafkaStorageError,
        _ => ResponseError::UnknownServerError,
    }
}

fn log_err(e: LogError) -> BrokerError {
    BrokerError::Log(e.to_string())
}

/// A partition's log, producer state and replication state, behind one lock.
#[derive(Debug)]
pub struct PartitionStore {
    log: PartitionLog,
    producers: ProducerStates,
    /// Role, epochs, ISR and (on the leader) follower progress.
    pub replica: ReplicaState,
    // Offset below which this replica's log counts toward the high watermark: the log end,
    // or for durable topics the end of what has been fsynced.
    local_end: i64,
}

impl PartitionStore {
    /// Opens (or creates) the partition directory and rebuilds producer state from the batch
    /// headers in the log.
    pub fn open(
        dir: &Path,
        settings: &TopicSettings,
        replica: ReplicaState,
    ) -> Result<PartitionStore, BrokerError> {
        std::fs::create_dir_all(dir)?;
        // The checkpointed high watermark stays: records past it were never committed, and a
        // leader moves it up once its ISR holds them (at once when it is the only replica).
        let log = PartitionLog::open(dir, settings.log.clone()).map_err(log_err)?;
        let local_end = log.log_end_offset();
        let mut store = PartitionStore {
            log,
            producers: ProducerStates::default(),
            replica,
            local_end,
        };
        store.rebuild_producers()?;
        Ok(store)
    }

    fn rebuild_producers(&mut self) -> Result<(), BrokerError> {
        let mut offset = self.log.log_start_offset();
        let end = self.log.log_end_offset();
        while offset < end {
            let slice = self.log.read(offset, 8 << 20, end).map_err(log_err)?;
            if slice.records.is_empty() || slice.next_offset <= offset {
                break;
            }
            for b in iter_batches(&slice.records) {
                let h = b.map_err(log_err)?.header;
                let p = BatchProducer {
                    producer_id: h.producer_id,
                    epoch: h.producer_epoch,
                    base_sequence: h.base_sequence,
                    // Compaction can leave fewer records than the batch's offsets span.
                    record_count: h.last_offset_delta + 1,
                };
                self.producers.record(&p, h.base_offset);
            }
            offset = slice.next_offset;
        }
        Ok(())
    }

    /// Validates and appends a produce request's records (all or nothing), applying
    /// idempotent-producer sequence checks.
    pub fn append(
        &mut self,
        records: &[u8],
        now_ms: i64,
        leader_epoch: i32,
    ) -> Result<Appended, ResponseError> {
        let mut producers = Vec::new();
        for b in iter_batches(records) {
            let h = b.map_err(|e| error_code(&e))?.header;
            producers.push(BatchProducer {
                producer_id: h.producer_id,
                epoch: h.producer_epoch,
                base_sequence: h.base_sequence,
                record_count: h.records_count,
            });
        }
        if producers.is_empty() {
            return Err(ResponseError::CorruptMessage);
        }
        for p in &producers {
            if let SequenceCheck::Duplicate { base_offset } = self.producers.check(p)? {
                if producers.len() == 1 {
                    return Ok(Appended {
                        base_offset,
                        log_append_time: -1,
                        record_count: 0,
                        duplicate: true,
                        sync: FlushTicket::ready(),
                        end_offset: -1,
                    });
                }
                return Err(ResponseError::DuplicateSequenceNumber);
            }
        }
        let info = self
            .log
            .append(records, leader_epoch, now_ms)
            .map_err(|e| {
                tracing::debug!(error = %e, "append rejected");
                error_code(&e)
            })?;
        // Durable topics count toward the high watermark only once fsynced (the caller calls
        // `mark_durable` after the ticket).
        if info.sync.is_complete() {
            self.local_end = info.last_offset + 1;
            self.recompute_high_watermark();
        }
        let mut offset = info.base_offset;
        for b in iter_batches(records).flatten() {
            let p = BatchProducer {
                producer_id: b.header.producer_id,
                epoch: b.header.producer_epoch,
                base_sequence: b.header.base_sequence,
                record_count: b.header.records_count,
            };
            self.producers.record(&p, offset);
            offset += i64::from(b.header.last_offset_delta) + 1;
        }
        Ok(Appended {
            base_offset: info.base_offset,
            log_append_time: info.log_append_time.unwrap_or(-1),
            record_count: info.record_count,
            duplicate: false,
            sync: info.sync,
            end_offset: info.last_offset + 1,
        })
    }

    /// Records that everything below `end` is on disk (an fsync covers every earlier write)
    /// and moves the high watermark as far as the ISR allows; true if it moved.
    pub fn mark_durable(&mut self, end: i64) -> bool {
        if end > self.local_end {
            self.local_end = end.min(self.log.log_end_offset());
        }
        self.recompute_high_watermark()
    }

    /// Leader: moves the high watermark up to what every ISR member holds; true if it moved.
    pub fn recompute_high_watermark(&mut self) -> bool {
        if !self.replica.leads(-1) {
            return false;
        }
        match self.replica.isr_high_watermark(self.local_end) {
            Some(hw) if hw > self.log.high_watermark() && hw <= self.log.log_end_offset() => {
                self.log.set_high_watermark(hw);
                true
            }
            _ => false,
        }
    }

    /// Follower: appends batches fetched from the leader, keeping their offsets and epochs,
    /// and tracks their producers so this replica can dedupe retries if it becomes leader.
    pub fn append_as_follower(&mut self, records: &[u8]) -> Result<(), LogError> {
        let info = self.log.append_as_follower(records)?;
        let _ = info;
        for b in iter_batches(records).flatten() {
            let p = BatchProducer {
                producer_id: b.header.producer_id,
                epoch: b.header.producer_epoch,
                base_sequence: b.header.base_sequence,
                // A compacted batch holds fewer records than its offsets span; the sequence
                // numbers follow the offsets.
                record_count: b.header.last_offset_delta + 1,
            };
            self.producers.record(&p, b.header.base_offset);
        }
        self.local_end = self.log.log_end_offset();
        Ok(())
    }

    /// Follower: adopts the leader's high watermark, bounded by what this replica holds.
    pub fn follow_high_watermark(&mut self, leader_hw: i64) {
        let hw = leader_hw
            .min(self.log.log_end_offset())
            .max(self.log.log_start_offset());
        if hw != self.log.high_watermark() {
            self.log.set_high_watermark(hw);
        }
    }

    /// Follower: cuts the log back to `offset` (divergence after a leader change) and rebuilds
    /// producer state from what remains.
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), BrokerError> {
        if offset >= self.log.log_end_offset() {
            return Ok(());
        }
        self.log.truncate_to(offset).map_err(log_err)?;
        self.local_end = self.local_end.min(self.log.log_end_offset());
        self.producers = ProducerStates::default();
        self.rebuild_producers()
    }

    /// Follower whose whole log is older than the leader's log start: starts over, empty, at
    /// `offset`; the producer state of the deleted records goes with them, as on the leader.
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), BrokerError> {
        self.log
            .truncate_fully_and_start_at(offset)
            .map_err(log_err)?;
        self.local_end = self.log.log_end_offset();
        self.producers = ProducerStates::default();
        Ok(())
    }

    /// Leader epoch of the last batch, if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.log.latest_epoch()
    }

    /// The log's current settings.
    pub fn log_config(&self) -> &LogConfig {
        self.log.config()
    }

    /// Where the batches a fetch returns lie, to read after the partition lock is released:
    /// whole batches from `offset` up to `max_bytes` (at least one when `must_progress`),
    /// ending at the high watermark, or at the log end for a follower (`to_log_end`). `None`
    /// when there is nothing to return.
    pub fn read_region(
        &self,
        offset: i64,
        max_bytes: usize,
        must_progress: bool,
        to_log_end: bool,
    ) -> Result<Option<FileRegion>, ResponseError> {
        if max_bytes == 0 && !must_progress {
            return Ok(None);
        }
        let end = if to_log_end {
            self.log.log_end_offset()
        } else {
            self.log.high_watermark()
        };
        let region = self
            .log
            .read_region(offset, max_bytes, end)
            .map_err(|e| error_code(&e))?;
        if region.len == 0 || (!must_progress && region.len > max_bytes) {
            return Ok(None);
        }
        Ok(Some(region))
    }

    /// First offset.
    pub fn log_start_offset(&self) -> i64 {
        self.log.log_start_offset()
    }

    /// Next offset to be assigned.
    pub fn log_end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }

    /// Offset up to which records are visible to consumers.
    pub fn high_watermark(&self) -> i64 {
        self.log.high_watermark()
    }

    /// `(offset, timestamp)` of the first record at or after `ts`.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, ResponseError> {
        self.log
            .offset_for_timestamp(ts)
            .map_err(|e| error_code(&e))
    }

    /// `(offset, timestamp)` of the batch with the largest timestamp (ListOffsets -3). Scans
    /// batch headers; `None` for an empty log.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        let mut best: Option<(i64, i64)> = None;
        let mut offset = self.log.log_start_offset();
        let hw = self.log.high_watermark();
        while offset < hw {
            let slice = self.log.read(offset, 8 << 20, hw).ok()?;
            if slice.records.is_empty() || slice.next_offset <= offset {
                break;
            }
            for b in iter_batches(&slice.records).flatten() {
                if best.is_none_or(|(_, ts)| b.header.max_timestamp > ts) {
                    best = Some((b.header.last_offset(), b.header.max_timestamp));
                }
            }
            offset = slice.next_offset;
        }
        best
    }

    /// `(epoch, end offset)` for OffsetForLeaderEpoch; `(-1, -1)` when unknown.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.log.end_offset_for_epoch(epoch).unwrap_or((-1, -1))
    }

    /// DeleteRecords; returns the new low watermark.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, ResponseError> {
        self.log
            .delete_records_before(offset)
            .map_err(|e| error_code(&e))
    }

    /// Applies changed topic configs to the open log.
    pub fn update_settings(&mut self, settings: &TopicSettings) -> Result<(), ResponseError> {
        self.log
            .update_config(settings.log.clone())
            .map_err(|e| error_code(&e))
    }

    /// Forces data to disk.
    pub fn flush(&mut self) -> Result<(), BrokerError> {
        self.log.flush().map_err(log_err)
    }

    /// Forces data to disk if anything was appended since the last flush.
    pub fn flush_if_unflushed(&mut self) -> Result<(), BrokerError> {
        if self.log.has_unflushed() {
            self.flush()?;
        }
        Ok(())
    }

    /// Bytes on disk.
    pub fn size_bytes(&self) -> u64 {
        self.log.size_bytes()
    }

    /// Highest producer id with batches in this log.
    pub fn max_producer_id(&self) -> i64 {
        self.producers.max_producer_id()
    }

    /// The short part of time-based housekeeping, done under the partition lock: segment rolls,
    /// retention and, for compacted topics, planning a log cleaner pass. The plan is cleaned
    /// with the lock released and committed with [`commit_compaction`](Self::commit_compaction);
    /// [`maintain_partition`] does all of it.
    pub fn maintain(&mut self, now_ms: i64) -> Result<Option<CleanPlan>, BrokerError> {
        self.log.roll_if_due(now_ms).map_err(log_err)?;
        self.log.apply_retention(now_ms).map_err(log_err)?;
        if !self.log.config().compact {
            return Ok(None);
        }
        match self.log.plan_compaction(now_ms) {
            Ok(CompactionPlan::Clean(plan)) => Ok(Some(plan)),
            Ok(CompactionPlan::Skip(_)) => Ok(None),
            // Whoever holds that pass commits it; there is nothing to add to it.
            Err(LogError::CompactionInProgress) => Ok(None),
            Err(e) => Err(log_err(e)),
        }
    }

    /// Swaps in a pass [`maintain`](Self::maintain) planned and the caller cleaned, unless the
    /// log changed meanwhile in a way that could make it wrong (then nothing changes and the
    /// outcome says why; the next maintenance plans afresh). The producer state needs no
    /// update: compaction keeps each producer's last batch.
    pub fn commit_compaction(
        &mut self,
        pass: CleanedPass,
    ) -> Result<CompactionOutcome, BrokerError> {
        self.log.commit_compaction(pass).map_err(log_err)
    }

    /// Key and value of every record (uncompressed batches only), for replaying internal topics.
    pub fn read_all_records(&self) -> Result<Vec<KeyValue>, BrokerError> {
        let mut out = Vec::new();
        let mut offset = self.log.log_start_offset();
        let end = self.log.log_end_offset();
        while offset < end {
            let slice = self.log.read(offset, 8 << 20, end).map_err(log_err)?;
            if slice.records.is_empty() || slice.next_offset <= offset {
                break;
            }
            for b in iter_batches(&slice.records) {
                let b = b.map_err(log_err)?;
                for r in b.records().into_iter().flatten() {
                    let r = r.map_err(log_err)?;
                    if let Some(k) = r.key {
                        out.push((k.to_vec(), r.value.map(<[u8]>::to_vec)));
                    }
                }
            }
            offset = slice.next_offset;
        }
        Ok(out)
    }
}

/// Housekeeping of one partition (rolls, retention, and a log cleaner pass for compacted
/// topics), holding its lock only for the short steps. The pass reads, re-encodes, writes and
/// fsyncs segments with the lock released, so produce and fetch on the partition go on;
/// the lock is taken again only to swap the cleaned segments in. Returns the cleaner's
/// outcome when a pass ran.
pub fn maintain_partition(
    store: &Mutex<PartitionStore>,
    now_ms: i64,
) -> Result<Option<CompactionOutcome>, BrokerError> {
    maintain_partition_with(store, now_ms, CleanPlan::clean)
}

/// [`maintain_partition`] with the clean step supplied, so a test can check what holds while
/// it runs.
fn maintain_partition_with(
    store: &Mutex<PartitionStore>,
    now_ms: i64,
    clean: impl FnOnce(CleanPlan) -> CleanedPass,
) -> Result<Option<CompactionOutcome>, BrokerError> {
    let plan = store.lock().expect("poisoned").maintain(now_ms)?;
    let Some(plan) = plan else {
        return Ok(None);
    };
    let pass = clean(plan);
    // Also when the clean failed: the commit tells a broken segment (an error) from one
    // truncated under the clean by a follower catching up with a new leader (abandoned).
    let outcome = store.lock().expect("poisoned").commit_compaction(pass)?;
    Ok(Some(outcome))
}

/// A record key and (possibly null) value.
pub type KeyValue = (Vec<u8>, Option<Vec<u8>>);

/// Encodes key/value pairs as one uncompressed v2 batch (for internal topics).
pub fn encode_batch(
    entries: impl Iterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    now_ms: i64,
) -> Result<Bytes, BrokerError> {
    let records: Vec<Record> = entries
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: INTERNAL_EPOCH,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch whenever offset - sequence changes; a constant
            // difference keeps everything in one batch, and the header is fixed up below.
            sequence: i as i32,
            timestamp: now_ms,
            key: Some(Bytes::from(k)),
            value: v.map(Bytes::from),
            headers: Default::default(),
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| BrokerError::Encode(e.to_string()))?;
    Ok(buf.freeze())
}

/// Marks a single encoded batch as non-idempotent (base sequence -1) and re-signs it.
pub fn without_sequence(mut batch: Vec<u8>) -> Vec<u8> {
    const BASE_SEQUENCE: usize = 53;
    const CRC: usize = 17;
    if batch.len() >= sluice_log::batch::HEADER_LEN {
        batch[BASE_SEQUENCE..BASE_SEQUENCE + 4].copy_from_slice(&(-1i32).to_be_bytes());
        let crc = sluice_log::batch::compute_crc(&batch);
        batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }
    batch
}

/// Number of records in a buffer of batches.
pub fn count_records(records: &[u8]) -> u64 {
    iter_batches(records)
        .flatten()
        .map(|b| b.header.records_count.max(0) as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compacted partition led by this broker alone, with closed segments full of
    /// overwritten keys k0..k9.
    fn compacted_store(dir: &Path) -> PartitionStore {
        let settings = TopicSettings {
            log: LogConfig {
                compact: true,
                min_cleanable_dirty_ratio: 0.0,
                segment_bytes: 4096,
                segment_ms: None,
                retention_ms: None,
                ..LogConfig::default()
            },
        };
        let mut store = PartitionStore::open(dir, &settings, ReplicaState::sole_leader(0)).unwrap();
        for round in 0..100u8 {
            store.append(&keys(round), 0, 0).unwrap();
        }
        assert!(store.log.segment_count() > 3);
        store
    }

    /// One batch setting k0..k9 to `round`.
    fn keys(round: u8) -> Bytes {
        encode_batch(
            (0..10).map(|k| (format!("k{k}").into_bytes(), Some(vec![round]))),
            0,
        )
        .unwrap()
    }

    #[test]
    fn the_partition_lock_is_free_while_the_cleaner_cleans() {
        let dir = tempfile::tempdir().unwrap();
        let store = Mutex::new(compacted_store(dir.path()));
        let mut cleaned_unlocked = false;
        let out = maintain_partition_with(&store, 1_000, |plan| {
            // What a produce and a fetch do, from this thread: `try_lock` fails (instead of
            // deadlocking) if the maintenance still held the lock.
            let mut s = store
                .try_lock()
                .expect("partition lock free during the clean");
            let appended = s.append(&keys(200), 1_000, 0).unwrap();
            let region = s
                .read_region(appended.base_offset, 1 << 20, true, false)
                .unwrap();
            assert!(region.expect("the new batch").read_bytes().unwrap().len() > 61);
            drop(s);
            cleaned_unlocked = true;
            plan.clean()
        })
        .unwrap()
        .expect("a pass ran");
        assert!(cleaned_unlocked);
        assert!(out.cleaned && out.abandoned.is_none(), "{out:?}");
        assert!(out.records_removed > 500, "{out:?}");
        // Everything but the removed records is there, the batch produced during the clean
        // last.
        let records = store.into_inner().unwrap().read_all_records().unwrap();
        assert_eq!(records.len() as u64, 100 * 10 + 10 - out.records_removed);
        assert_eq!(&records[records.len() - 10..], &read_keys(200)[..]);
    }

    #[test]
    fn a_pass_abandoned_by_a_truncation_is_retried_at_the_next_maintenance() {
        let dir = tempfile::tempdir().unwrap();
        let store = Mutex::new(compacted_store(dir.path()));
        let before = store.lock().unwrap().read_all_records().unwrap();
        let out = maintain_partition_with(&store, 1_000, |plan| {
            // A follower cutting its log to the leader's after an election: the clean then
            // reads past the end of the active segment and fails.
            let mut s = store.lock().unwrap();
            let end = s.log_end_offset();
            s.truncate_to(end - 10).unwrap();
            drop(s);
            let pass = plan.clean();
            assert!(pass.error().is_some());
            pass
        })
        .unwrap()
        .expect("a pass ran");
        assert_eq!(
            out.abandoned,
            Some(sluice_log::AbandonReason::SegmentsChanged)
        );
        assert!(!out.cleaned);
        let after = store.lock().unwrap().read_all_records().unwrap();
        assert_eq!(after, before[..before.len() - 10]);
        let out = maintain_partition(&store, 1_000)
            .unwrap()
            .expect("a pass ran");
        assert!(out.cleaned, "{out:?}");
    }

    fn read_keys(round: u8) -> Vec<KeyValue> {
        (0..10)
            .map(|k| (format!("k{k}").into_bytes(), Some(vec![round])))
            .collect()
    }
}
