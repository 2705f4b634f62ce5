//! A partition's configuration: [`LogConfig`] (Kafka's topic configs of the
//! same names) and its validation.

use crate::batch;
use crate::codec;
use crate::LogError;

/// How batch timestamps are interpreted (Kafka's `message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    /// Timestamps set by the producer are kept.
    #[default]
    CreateTime,
    /// The broker stamps each batch with the append time.
    LogAppendTime,
}

/// Per-partition configuration (Kafka topic configs of the same names).
///
/// `Eq` holds because [`validate`](Self::validate) rejects a NaN
/// `min_cleanable_dirty_ratio`, the only floating-point field.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`: roll when an append would grow the active segment past this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll a non-empty segment this long after its first append.
    pub segment_ms: Option<u64>,
    /// `index.interval.bytes`: log bytes between index entries.
    pub index_interval_bytes: u32,
    /// `retention.ms`: delete segments whose largest timestamp is older. `None` = forever.
    pub retention_ms: Option<i64>,
    /// `retention.bytes`: delete oldest segments while the log is larger. `None` = unbounded.
    pub retention_bytes: Option<u64>,
    /// `max.message.bytes`: largest accepted batch, log overhead included.
    pub max_message_bytes: u32,
    /// Acknowledge appends only once fsynced (group commit); otherwise rely
    /// on the page cache and periodic [`PartitionLog::flush`](crate::PartitionLog::flush) like Kafka.
    pub durable: bool,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `cleanup.policy` contains `compact`: [`PartitionLog::compact`](crate::PartitionLog::compact) keeps
    /// only the latest record of each key. Time and size retention still
    /// apply when `retention_ms` / `retention_bytes` are set (`compact,delete`);
    /// for plain `compact` the broker leaves both unset.
    pub compact: bool,
    /// `delete.retention.ms`: how long a tombstone (null value) survives
    /// compaction, counted from its segment's largest timestamp.
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio`: compact only when the not-yet-compacted
    /// bytes are at least this share of the cleanable bytes.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`: a segment is compacted only once its largest
    /// timestamp is at least this old.
    pub min_compaction_lag_ms: i64,
    /// Memory budget of one cleaning pass's key → offset map (Kafka's
    /// `log.cleaner.dedupe.buffer.size`, a broker setting). A pass maps whole
    /// dirty segments, oldest first, until the budget is used (at least one
    /// segment), and cleans only up to there; later segments wait for the
    /// next pass.
    pub cleaner_map_bytes: u64,
    /// `compression.type` other than `producer`: the codec leader appends are stored in (0
    /// uncompressed, 1 gzip, 2 snappy, 3 lz4, 4 zstd); batches a producer sent in another are
    /// re-encoded. `None` (`producer`) stores them as sent.
    pub compression: Option<u8>,
}

impl Eq for LogConfig {}

impl Default for LogConfig {
    fn default() -> Self {
        const WEEK_MS: u64 = 7 * 24 * 60 * 60 * 1000;
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: Some(WEEK_MS),
            index_interval_bytes: 4096,
            retention_ms: Some(WEEK_MS as i64),
            retention_bytes: None,
            max_message_bytes: 1_048_588,
            durable: false,
            timestamp_type: TimestampType::CreateTime,
            compact: false,
            delete_retention_ms: 86_400_000,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            cleaner_map_bytes: 128 << 20,
            compression: None,
        }
    }
}

impl LogConfig {
    /// Checks ranges the on-disk format depends on.
    pub fn validate(&self) -> Result<(), LogError> {
        if self.segment_bytes < batch::HEADER_LEN as u64 || self.segment_bytes > i32::MAX as u64 {
            return Err(LogError::InvalidConfig(
                "segment_bytes must be within [61, 2^31-1]",
            ));
        }
        if self.max_message_bytes < batch::HEADER_LEN as u32 {
            return Err(LogError::InvalidConfig(
                "max_message_bytes must be at least 61",
            ));
        }
        if !(0.0..=1.0).contains(&self.min_cleanable_dirty_ratio) {
            return Err(LogError::InvalidConfig(
                "min_cleanable_dirty_ratio must be within [0, 1]",
            ));
        }
        if self.compression.is_some_and(|c| c > codec::MAX_CODEC) {
            return Err(LogError::InvalidConfig(
                "compression must be a Kafka codec number (0 to 4)",
            ));
        }
        if self.delete_retention_ms < 0 || self.min_compaction_lag_ms < 0 {
            return Err(LogError::InvalidConfig(
                "delete_retention_ms and min_compaction_lag_ms must not be negative",
            ));
        }
        Ok(())
    }
}
