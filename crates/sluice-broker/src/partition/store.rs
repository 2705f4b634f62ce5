//! The state behind a [`Partition`](super::Partition)'s lock: the log, the idempotent-producer
//! state and the replica's replication state ([`PartitionStore`]); maps log errors to Kafka
//! error codes and moves the high watermark as the ISR allows. Only the `partition` module
//! sees it: every caller goes through the partition's operations.

use std::path::{Path, PathBuf};

use kafka_protocol::error::ResponseError;
use sluice_log::batch::iter_batches;
use sluice_log::{
    CleanPlan, CleanedPass, CompactionOutcome, CompactionPlan, FileRegion, FlushTicket, LogConfig,
    LogError, PartitionLog,
};

use crate::batch::KeyValue;
use crate::error::BrokerError;
use crate::producer_state::{BatchProducer, ProducerStates, SequenceCheck};
use crate::replica::state::ReplicaState;
use crate::topic_config::TopicSettings;

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
        // Undecodable compressed data is a corrupt batch to Kafka's LogValidator too.
        LogError::CrcMismatch { .. }
        | LogError::InvalidBatch { .. }
        | LogError::Compression { .. } => ResponseError::CorruptMessage,
        LogError::UnsupportedMagic { .. } => ResponseError::UnsupportedForMessageFormat,
        // Kafka answers MESSAGE_TOO_LARGE when a re-encoded batch exceeds max.message.bytes; a
        // batch inflating past it is refused the same way (and a Java producer splits it).
        LogError::MessageTooLarge { .. } | LogError::DecompressedTooLarge { .. } => {
            ResponseError::MessageTooLarge
        }
        LogError::RecordListTooLarge { .. } => ResponseError::RecordListTooLarge,
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        LogError::Io { .. } | LogError::FlushFailed(_) => ResponseError::KafkaStorageError,
        _ => ResponseError::UnknownServerError,
    }
}

pub(super) fn log_err(e: LogError) -> BrokerError {
    BrokerError::Log(e.to_string())
}

/// A partition's log, producer state and replication state, behind one lock.
#[derive(Debug)]
pub(super) struct PartitionStore {
    dir: PathBuf,
    log: PartitionLog,
    producers: ProducerStates,
    /// Role, epochs, ISR and (on the leader) follower progress.
    pub(super) replica: ReplicaState,
    // Offset below which this replica's log counts toward the high watermark: the log end,
    // or for durable topics the end of what has been fsynced.
    local_end: i64,
}

impl PartitionStore {
    /// Opens (or creates) the partition directory and rebuilds producer state from the batch
    /// headers in the log.
    pub(super) fn open(
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
            dir: dir.to_path_buf(),
            log,
            producers: ProducerStates::default(),
            replica,
            local_end,
        };
        store.rebuild_producers()?;
        Ok(store)
    }

    /// Throws away the in-memory state of the log and the producers and rebuilds it from the
    /// files, as a restart would (crash recovery cuts a torn tail). For when a panic
    /// interrupted an operation halfway: what memory says can no longer be trusted, what the
    /// files say can. The replica's role, epochs and ISR are kept (the metadata image owns
    /// them); the high watermark is recomputed on a leader and re-learnt on a follower.
    pub(super) fn reopen(&mut self) -> Result<(), BrokerError> {
        let fresh = PartitionLog::open(&self.dir, self.log.config().clone()).map_err(log_err)?;
        std::mem::replace(&mut self.log, fresh).abandon();
        // Whatever the old log had not fsynced is in the page cache the new one read: make it
        // durable before counting it toward the high watermark.
        self.log.flush().map_err(log_err)?;
        self.local_end = self.log.log_end_offset();
        self.producers = ProducerStates::default();
        self.rebuild_producers()?;
        self.recompute_high_watermark();
        Ok(())
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
    pub(super) fn append(
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
    pub(super) fn mark_durable(&mut self, end: i64) -> bool {
        if end > self.local_end {
            self.local_end = end.min(self.log.log_end_offset());
        }
        self.recompute_high_watermark()
    }

    /// Leader: moves the high watermark up to what every ISR member holds; true if it moved.
    pub(super) fn recompute_high_watermark(&mut self) -> bool {
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
    pub(super) fn append_as_follower(&mut self, records: &[u8]) -> Result<(), LogError> {
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
    pub(super) fn follow_high_watermark(&mut self, leader_hw: i64) {
        let hw = leader_hw
            .min(self.log.log_end_offset())
            .max(self.log.log_start_offset());
        if hw != self.log.high_watermark() {
            self.log.set_high_watermark(hw);
        }
    }

    /// Follower: cuts the log back to `offset` (divergence after a leader change) and rebuilds
    /// producer state from what remains.
    pub(super) fn truncate_to(&mut self, offset: i64) -> Result<(), BrokerError> {
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
    pub(super) fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), BrokerError> {
        self.log
            .truncate_fully_and_start_at(offset)
            .map_err(log_err)?;
        self.local_end = self.log.log_end_offset();
        self.producers = ProducerStates::default();
        Ok(())
    }

    /// Leader epoch of the last batch, if any.
    pub(super) fn latest_epoch(&self) -> Option<i32> {
        self.log.latest_epoch()
    }

    /// The log's current settings.
    pub(super) fn log_config(&self) -> &LogConfig {
        self.log.config()
    }

    /// Where the batches a fetch returns lie, to read after the partition lock is released:
    /// whole batches from `offset` up to `max_bytes` (at least one when `must_progress`),
    /// ending at the high watermark, or at the log end for a follower (`to_log_end`). `None`
    /// when there is nothing to return.
    pub(super) fn read_region(
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
    pub(super) fn log_start_offset(&self) -> i64 {
        self.log.log_start_offset()
    }

    /// Next offset to be assigned.
    pub(super) fn log_end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }

    /// Offset up to which records are visible to consumers.
    pub(super) fn high_watermark(&self) -> i64 {
        self.log.high_watermark()
    }

    /// `(offset, timestamp)` of the first record at or after `ts`.
    pub(super) fn offset_for_timestamp(
        &self,
        ts: i64,
    ) -> Result<Option<(i64, i64)>, ResponseError> {
        self.log
            .offset_for_timestamp(ts)
            .map_err(|e| error_code(&e))
    }

    /// `(offset, timestamp)` of the batch with the largest timestamp (ListOffsets -3). Scans
    /// batch headers; `None` for an empty log.
    pub(super) fn max_timestamp(&self) -> Option<(i64, i64)> {
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
    pub(super) fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.log.end_offset_for_epoch(epoch).unwrap_or((-1, -1))
    }

    /// DeleteRecords; returns the new low watermark.
    pub(super) fn delete_records_before(&mut self, offset: i64) -> Result<i64, ResponseError> {
        self.log
            .delete_records_before(offset)
            .map_err(|e| error_code(&e))
    }

    /// Applies changed topic configs to the open log.
    pub(super) fn update_settings(
        &mut self,
        settings: &TopicSettings,
    ) -> Result<(), ResponseError> {
        self.log
            .update_config(settings.log.clone())
            .map_err(|e| error_code(&e))
    }

    /// Forces data to disk.
    pub(super) fn flush(&mut self) -> Result<(), BrokerError> {
        self.log.flush().map_err(log_err)
    }

    /// Forces data to disk if anything was appended since the last flush.
    pub(super) fn flush_if_unflushed(&mut self) -> Result<(), BrokerError> {
        if self.log.has_unflushed() {
            self.flush()?;
        }
        Ok(())
    }

    /// Segments in the log.
    #[cfg(test)]
    pub(super) fn segment_count(&self) -> usize {
        self.log.segment_count()
    }

    /// Bytes on disk.
    pub(super) fn size_bytes(&self) -> u64 {
        self.log.size_bytes()
    }

    /// The short part of time-based housekeeping, done under the partition lock: segment rolls,
    /// retention and, for compacted topics, planning a log cleaner pass. The plan is cleaned
    /// with the lock released and committed with [`commit_compaction`](Self::commit_compaction);
    /// [`Partition::maintain`](super::Partition::maintain) does all of it.
    pub(super) fn maintain(&mut self, now_ms: i64) -> Result<Option<CleanPlan>, BrokerError> {
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
    pub(super) fn commit_compaction(
        &mut self,
        pass: CleanedPass,
    ) -> Result<CompactionOutcome, BrokerError> {
        self.log.commit_compaction(pass).map_err(log_err)
    }

    /// Key and value of every record (uncompressed batches only), for replaying internal topics.
    pub(super) fn read_all_records(&self) -> Result<Vec<KeyValue>, BrokerError> {
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
