//! The crate's error type.

use std::io;

/// Everything that can go wrong in the log.
///
/// The broker maps variants onto Kafka error codes:
/// [`LogError::CrcMismatch`] and [`LogError::InvalidBatch`] → `CORRUPT_MESSAGE`,
/// [`LogError::UnsupportedMagic`] → `UNSUPPORTED_FOR_MESSAGE_FORMAT`,
/// [`LogError::MessageTooLarge`] and [`LogError::DecompressedTooLarge`] → `MESSAGE_TOO_LARGE`,
/// [`LogError::RecordListTooLarge`] → `RECORD_LIST_TOO_LARGE`,
/// [`LogError::OffsetOutOfRange`] → `OFFSET_OUT_OF_RANGE`,
/// [`LogError::UnexpectedAppendOffset`] → `UNKNOWN_SERVER_ERROR` (a replication bug),
/// [`LogError::Io`] / [`LogError::FlushFailed`] → `KAFKA_STORAGE_ERROR`,
/// [`LogError::Compression`] and [`LogError::CompactionInProgress`] (log
/// cleaner only) → `UNKNOWN_SERVER_ERROR`.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A batch's stored CRC-32C does not match its contents.
    #[error("record batch at byte {position}: crc mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    CrcMismatch {
        /// Byte position of the batch within the input.
        position: usize,
        /// CRC found in the batch header.
        stored: u32,
        /// CRC computed over `attributes..end`.
        computed: u32,
    },
    /// A batch whose magic byte is not 2 (only the v2 format is supported).
    #[error("record batch at byte {position}: unsupported magic {magic}")]
    UnsupportedMagic {
        /// Byte position of the batch within the input.
        position: usize,
        /// The magic byte found.
        magic: i8,
    },
    /// Structurally invalid input: truncated header, impossible length,
    /// record count disagreeing with `lastOffsetDelta`, empty produce, …
    #[error("record batch at byte {position}: {reason}")]
    InvalidBatch {
        /// Byte position of the batch within the input.
        position: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// One batch is larger than `max_message_bytes`.
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge {
        /// Batch size including the 12-byte log overhead.
        size: usize,
        /// The configured limit.
        max: u32,
    },
    /// A single append is larger than a whole segment.
    #[error("append of {size} bytes exceeds segment.bytes {segment_bytes}")]
    RecordListTooLarge {
        /// Size of the append.
        size: usize,
        /// The configured segment size.
        segment_bytes: u64,
    },
    /// An offset outside `[log_start_offset, log_end_offset]` (or above the
    /// high watermark for `delete_records_before`).
    #[error("offset {requested} out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        /// The offset asked for.
        requested: i64,
        /// Lower bound in force.
        log_start: i64,
        /// Upper bound in force.
        log_end: i64,
    },
    /// A follower append whose offsets do not continue the log.
    #[error("follower append: batch base offset {got} below expected {expected}")]
    UnexpectedAppendOffset {
        /// Smallest acceptable base offset (the log end offset, or the end of the previous batch).
        expected: i64,
        /// Offset found in the batch.
        got: i64,
    },
    /// The log cleaner could not decompress or recompress a batch.
    #[error("record batch at offset {base_offset}: codec {codec}: {reason}")]
    Compression {
        /// Base offset of the batch.
        base_offset: i64,
        /// Compression codec id from the batch attributes.
        codec: u8,
        /// What the codec reported.
        reason: String,
    },
    /// A compressed batch whose records section inflates past the bound it is read with
    /// (`max.message.bytes`): a decompression bomb, or a batch too large once uncompressed.
    /// Decompression stops one byte past the bound.
    #[error(
        "record batch at offset {base_offset}: codec {codec}: records inflate past {max} bytes"
    )]
    DecompressedTooLarge {
        /// Base offset of the batch.
        base_offset: i64,
        /// Compression codec id from the batch attributes.
        codec: u8,
        /// The bound, in uncompressed bytes of the records section.
        max: usize,
    },
    /// A compaction pass was asked for while another one of the same log is
    /// planned and neither committed nor dropped.
    #[error("a compaction pass of this log is already in progress")]
    CompactionInProgress,
    /// Invalid configuration value.
    #[error("invalid log config: {0}")]
    InvalidConfig(&'static str),
    /// An fsync failed; data acknowledged after it may be lost. Sticky: once
    /// a flusher has failed, every later durable append fails too.
    #[error("fsync failed: {0}")]
    FlushFailed(String),
    /// An I/O error, with what the log was doing.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, usually with the path.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl LogError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        LogError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn invalid(position: usize, reason: &'static str) -> Self {
        LogError::InvalidBatch { position, reason }
    }
}

/// Attaches a context string to `io::Result`s.
pub(crate) trait IoContext<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, LogError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, LogError> {
        self.map_err(|e| LogError::io(f(), e))
    }
}
