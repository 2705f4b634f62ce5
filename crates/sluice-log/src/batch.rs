//! Sans-I/O parsing and validation of Kafka v2 record batches.
//!
//! Layout (big-endian): `baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 |
//! magic i8 | crc u32 | attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 |
//! maxTimestamp i64 | producerId i64 | producerEpoch i16 | baseSequence i32 |
//! recordsCount i32 | records…`. The CRC-32C covers `attributes..end`, so the
//! broker-assigned `baseOffset` and `partitionLeaderEpoch` can be rewritten
//! without recomputing it.

use crate::LogError;

/// `baseOffset` + `batchLength`: bytes before what `batchLength` counts.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the fixed v2 batch header, records excluded.
pub const HEADER_LEN: usize = 61;
/// The only supported magic value.
pub const MAGIC_V2: i8 = 2;
/// `producerId` of batches from non-idempotent producers.
pub const NO_PRODUCER_ID: i64 = -1;
/// Timestamp of a batch carrying no timestamp.
pub const NO_TIMESTAMP: i64 = -1;

pub(crate) const LENGTH_OFFSET: usize = 8;
pub(crate) const LEADER_EPOCH_OFFSET: usize = 12;
pub(crate) const MAGIC_OFFSET: usize = 16;
pub(crate) const CRC_OFFSET: usize = 17;
pub(crate) const ATTRIBUTES_OFFSET: usize = 21;
const LAST_OFFSET_DELTA_OFFSET: usize = 23;
const BASE_TIMESTAMP_OFFSET: usize = 27;
pub(crate) const MAX_TIMESTAMP_OFFSET: usize = 35;
const PRODUCER_ID_OFFSET: usize = 43;
const PRODUCER_EPOCH_OFFSET: usize = 51;
const BASE_SEQUENCE_OFFSET: usize = 53;
pub(crate) const RECORDS_COUNT_OFFSET: usize = 57;

pub(crate) const COMPRESSION_MASK: i16 = 0x07;
/// Attribute bit: timestamps are broker append time.
pub const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// A decoded v2 batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the `batchLength` field.
    pub batch_length: i32,
    /// Epoch of the leader that appended the batch.
    pub partition_leader_epoch: i32,
    /// Always 2 for a parsed header.
    pub magic: i8,
    /// Stored CRC-32C of `attributes..end`.
    pub crc: u32,
    /// Compression, timestamp type, transactional and control bits.
    pub attributes: i16,
    /// `last offset - base offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record (create time).
    pub base_timestamp: i64,
    /// Largest timestamp in the batch (append time for LogAppendTime batches).
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub records_count: i32,
}

impl BatchHeader {
    /// Parses the fixed header at the start of `buf`. Only the header is needed
    /// (`buf` may be shorter than the batch); the CRC is not checked here.
    ///
    /// Errors: [`LogError::UnsupportedMagic`] for magic ≠ 2,
    /// [`LogError::InvalidBatch`] for a truncated header or impossible length.
    pub fn parse(buf: &[u8]) -> Result<Self, LogError> {
        if buf.len() <= MAGIC_OFFSET {
            return Err(LogError::invalid(0, "truncated batch header"));
        }
        let magic = buf[MAGIC_OFFSET] as i8;
        if magic != MAGIC_V2 {
            return Err(LogError::UnsupportedMagic { position: 0, magic });
        }
        if buf.len() < HEADER_LEN {
            return Err(LogError::invalid(0, "truncated batch header"));
        }
        let batch_length = i32_at(buf, LENGTH_OFFSET);
        if batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
            return Err(LogError::invalid(0, "batch length smaller than header"));
        }
        Ok(BatchHeader {
            base_offset: i64_at(buf, 0),
            batch_length,
            partition_leader_epoch: i32_at(buf, LEADER_EPOCH_OFFSET),
            magic,
            crc: u32::from_be_bytes([buf[17], buf[18], buf[19], buf[20]]),
            attributes: i16_at(buf, ATTRIBUTES_OFFSET),
            last_offset_delta: i32_at(buf, LAST_OFFSET_DELTA_OFFSET),
            base_timestamp: i64_at(buf, BASE_TIMESTAMP_OFFSET),
            max_timestamp: i64_at(buf, MAX_TIMESTAMP_OFFSET),
            producer_id: i64_at(buf, PRODUCER_ID_OFFSET),
            producer_epoch: i16_at(buf, PRODUCER_EPOCH_OFFSET),
            base_sequence: i32_at(buf, BASE_SEQUENCE_OFFSET),
            records_count: i32_at(buf, RECORDS_COUNT_OFFSET),
        })
    }

    /// Whole batch size on disk, including the 12-byte log overhead.
    pub fn total_size(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }
    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        // Saturating: headers come from untrusted bytes.
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }
    /// Offset after the batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }
    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression(&self) -> u8 {
        (self.attributes & COMPRESSION_MASK) as u8
    }
    /// True when timestamps are broker append time.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_BIT != 0
    }
    /// Transactional batch.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }
    /// Control batch (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }
    /// Sequence number of the last record, wrapping like Kafka's.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let last = i64::from(self.base_sequence) + i64::from(self.last_offset_delta);
        (last % (i64::from(i32::MAX) + 1)) as i32
    }
}

/// CRC-32C of a whole batch as stored in its header (over `attributes..end`).
/// `batch` must hold at least [`HEADER_LEN`] bytes.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..])
}

/// One batch found by [`iter_batches`].
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The decoded header.
    pub header: BatchHeader,
    /// The whole batch, log overhead included.
    pub bytes: &'a [u8],
    /// Byte position of the batch in the iterated buffer.
    pub position: usize,
}

impl Batch<'_> {
    /// Checks the stored CRC against the contents.
    pub fn verify_crc(&self) -> Result<(), LogError> {
        let computed = compute_crc(self.bytes);
        if computed == self.header.crc {
            Ok(())
        } else {
            Err(LogError::CrcMismatch {
                position: self.position,
                stored: self.header.crc,
                computed,
            })
        }
    }

    /// Full validation a leader applies: CRC, and a record count that agrees
    /// with `lastOffsetDelta`.
    pub fn validate(&self) -> Result<(), LogError> {
        self.check_counts()?;
        self.verify_crc()
    }

    /// Like [`validate`](Self::validate), also returning the CRC-32C of the
    /// records part alone (`bytes[61..]`), so a caller that rewrites
    /// CRC-covered header fields can recompute the batch CRC without a second
    /// pass over the records.
    pub fn validate_with_records_crc(&self) -> Result<u32, LogError> {
        self.check_counts()?;
        let records = &self.bytes[HEADER_LEN..];
        let records_crc = crc32c::crc32c(records);
        let computed = crc32c::crc32c_combine(
            crc32c::crc32c(&self.bytes[ATTRIBUTES_OFFSET..HEADER_LEN]),
            records_crc,
            records.len(),
        );
        if computed != self.header.crc {
            return Err(LogError::CrcMismatch {
                position: self.position,
                stored: self.header.crc,
                computed,
            });
        }
        Ok(records_crc)
    }

    fn check_counts(&self) -> Result<(), LogError> {
        let h = &self.header;
        if h.last_offset_delta < 0 || h.records_count < 1 {
            return Err(LogError::invalid(self.position, "batch has no records"));
        }
        if i64::from(h.records_count) != i64::from(h.last_offset_delta) + 1 {
            return Err(LogError::invalid(
                self.position,
                "records count disagrees with lastOffsetDelta",
            ));
        }
        Ok(())
    }

    /// Records of an uncompressed batch; `None` for compressed batches.
    pub fn records(&self) -> Option<RecordIter<'_>> {
        if self.header.compression() != 0 {
            return None;
        }
        Some(RecordIter {
            buf: &self.bytes[HEADER_LEN..],
            left: self.header.records_count.max(0),
        })
    }
}

/// Iterates the batches of a produce/fetch `records` buffer. Yields an error
/// (and then stops) at the first structurally invalid or truncated batch; the
/// CRC is not checked (see [`Batch::verify_crc`]).
pub fn iter_batches(buf: &[u8]) -> BatchIter<'_> {
    BatchIter {
        buf,
        pos: 0,
        failed: false,
    }
}

/// Iterator returned by [`iter_batches`].
#[derive(Debug, Clone)]
pub struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = Result<Batch<'a>, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let position = self.pos;
        let rest = &self.buf[position..];
        let res = BatchHeader::parse(rest)
            .map_err(|e| with_position(e, position))
            .and_then(|header| {
                let size = header.total_size();
                if size > rest.len() {
                    return Err(LogError::invalid(position, "truncated batch"));
                }
                Ok(Batch {
                    header,
                    bytes: &rest[..size],
                    position,
                })
            });
        match &res {
            Ok(b) => self.pos += b.bytes.len(),
            Err(_) => self.failed = true,
        }
        Some(res)
    }
}

pub(crate) fn with_position(e: LogError, at: usize) -> LogError {
    match e {
        LogError::InvalidBatch { reason, .. } => LogError::InvalidBatch {
            position: at,
            reason,
        },
        LogError::UnsupportedMagic { magic, .. } => LogError::UnsupportedMagic {
            position: at,
            magic,
        },
        LogError::CrcMismatch {
            stored, computed, ..
        } => LogError::CrcMismatch {
            position: at,
            stored,
            computed,
        },
        other => other,
    }
}

/// One record of an uncompressed batch (headers are skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Offset relative to the batch base offset.
    pub offset_delta: i32,
    /// Timestamp relative to the batch base timestamp.
    pub timestamp_delta: i64,
    /// Key, `None` when null.
    pub key: Option<&'a [u8]>,
    /// Value, `None` when null.
    pub value: Option<&'a [u8]>,
}

/// Iterator over the records of an uncompressed batch. Malformed records end
/// the iteration with an error.
#[derive(Debug, Clone)]
pub struct RecordIter<'a> {
    buf: &'a [u8],
    left: i32,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<Record<'a>, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left <= 0 {
            return None;
        }
        self.left -= 1;
        let r = self.parse_one();
        if r.is_err() {
            self.left = 0;
        }
        Some(r)
    }
}

impl<'a> RecordIter<'a> {
    /// The value of one raw record (length prefix included), for tests.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn single(raw: &[u8]) -> Option<Vec<u8>> {
        let mut it = RecordIter { buf: raw, left: 1 };
        it.parse_one().ok()?.value.map(<[u8]>::to_vec)
    }

    fn parse_one(&mut self) -> Result<Record<'a>, LogError> {
        let bad = || LogError::invalid(0, "malformed record");
        let mut c = Cursor {
            buf: self.buf,
            pos: 0,
        };
        let len = usize::try_from(c.varint().ok_or_else(bad)?).map_err(|_| bad())?;
        let body = c.buf.get(c.pos..c.pos + len).ok_or_else(bad)?;
        self.buf = &self.buf[c.pos + len..];
        let mut c = Cursor { buf: body, pos: 1 }; // skip attributes
        let timestamp_delta = c.varint().ok_or_else(bad)?;
        let offset_delta = i32::try_from(c.varint().ok_or_else(bad)?).map_err(|_| bad())?;
        let key = c.bytes().ok_or_else(bad)?;
        let value = c.bytes().ok_or_else(bad)?;
        Ok(Record {
            offset_delta,
            timestamp_delta,
            key,
            value,
        })
    }
}

/// One record of a (decompressed) records section, as the log cleaner sees
/// it: its raw bytes, length prefix included, so a kept record is copied
/// verbatim (headers and attributes untouched).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRecord<'a> {
    /// The whole record, from its length varint to its last header.
    pub(crate) bytes: &'a [u8],
    /// Offset relative to the batch base offset.
    pub(crate) offset_delta: i32,
    /// Key, `None` when null.
    pub(crate) key: Option<&'a [u8]>,
    /// The value is null (a tombstone).
    pub(crate) null_value: bool,
}

/// Splits a records section holding `count` records into raw records.
pub(crate) fn raw_records(buf: &[u8], count: i32) -> Result<Vec<RawRecord<'_>>, LogError> {
    let bad = || LogError::invalid(0, "malformed record");
    let mut out = Vec::with_capacity(count.clamp(0, 1 << 16) as usize);
    let mut rest = buf;
    for _ in 0..count.max(0) {
        let mut c = Cursor { buf: rest, pos: 0 };
        let len = usize::try_from(c.varint().ok_or_else(bad)?).map_err(|_| bad())?;
        let end = c.pos.checked_add(len).ok_or_else(bad)?;
        let body = rest.get(c.pos..end).ok_or_else(bad)?;
        let mut b = Cursor { buf: body, pos: 1 }; // skip attributes
        b.varint().ok_or_else(bad)?; // timestamp delta
        let offset_delta = i32::try_from(b.varint().ok_or_else(bad)?).map_err(|_| bad())?;
        let key = b.bytes().ok_or_else(bad)?;
        let value = b.bytes().ok_or_else(bad)?;
        out.push(RawRecord {
            bytes: &rest[..end],
            offset_delta,
            key,
            null_value: value.is_none(),
        });
        rest = &rest[end..];
    }
    Ok(out)
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Zig-zag varint (Kafka encodes varint and varlong the same way).
    fn varint(&mut self) -> Option<i64> {
        let mut raw: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            raw |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some((raw >> 1) as i64 ^ -((raw & 1) as i64));
            }
        }
        None
    }

    fn bytes(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.varint()?;
        if len < 0 {
            return Some(None);
        }
        let end = self.pos.checked_add(usize::try_from(len).ok()?)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(Some(s))
    }
}

#[cfg(test)]
mod tests;
