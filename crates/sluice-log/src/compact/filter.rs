//! Batch-level mechanics of the cleaner: walking a segment file and
//! filtering the records of one batch (re-encoded with `crate::codec`).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

use bytes::Bytes;

use crate::batch::{self, raw_records, BatchHeader, RawRecord, HEADER_LEN, LOG_OVERHEAD};
use crate::codec::{compress, decompress};
use crate::error::IoContext;
use crate::recovery::ChunkReader;
use crate::LogError;

/// Copies `[run.0, run.1)` of `file` to `w`.
pub(super) fn copy_range(file: &File, run: (u64, u64), w: &mut impl Write) -> std::io::Result<()> {
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

/// Calls `f(position, batch bytes, header)` for each batch of the first
/// `size` bytes of segment file `file` (segment `base`).
pub(super) fn for_each_batch(
    file: &File,
    size: u64,
    base: i64,
    mut f: impl FnMut(u64, &[u8], &BatchHeader) -> Result<(), LogError>,
) -> Result<(), LogError> {
    let mut reader = ChunkReader::new(file, size);
    let mut pos = 0u64;
    let ctx = || format!("read segment {base}");
    while pos < size {
        let Some(head) = reader.get(pos, HEADER_LEN).ctx(ctx)? else {
            return Err(LogError::invalid(pos as usize, "truncated batch header"));
        };
        let h = BatchHeader::parse(head)?;
        let len = h.total_size();
        let Some(bytes) = reader.get(pos, len).ctx(ctx)? else {
            return Err(LogError::invalid(pos as usize, "truncated batch"));
        };
        f(pos, bytes, &h)?;
        pos += len as u64;
    }
    Ok(())
}

/// The decompressed records section of a compressed batch (`Some(None)` for an uncompressed
/// one: use `bytes[HEADER_LEN..]`), or `None` when it inflates past `bound`: the cleaner then
/// leaves that batch as it is (logged), never failing the pass or dropping data for it.
pub(super) fn decompressed_section(
    bytes: &[u8],
    h: &BatchHeader,
    bound: usize,
) -> Result<Option<Option<Bytes>>, LogError> {
    match h.compression() {
        0 => Ok(Some(None)),
        codec => match decompress(codec, &bytes[HEADER_LEN..], h.base_offset, bound) {
            Ok(b) => Ok(Some(Some(b))),
            Err(e @ LogError::DecompressedTooLarge { .. }) => {
                tracing::warn!(error = %e, "log cleaner: batch left as it is");
                Ok(None)
            }
            Err(e) => Err(e),
        },
    }
}

pub(super) fn parse_records<'a>(
    section: &'a [u8],
    h: &BatchHeader,
) -> Result<Vec<RawRecord<'a>>, LogError> {
    raw_records(section, h.records_count)
        .map_err(|_| LogError::invalid(0, "malformed record in a batch being compacted"))
}

pub(super) enum Filtered {
    Unchanged,
    Drop,
    Rewritten(Vec<u8>),
}

/// Applies `keep(offset, record)` to the records of a batch. A batch losing
/// every record is dropped unless `keep_empty`, then it stays with no records;
/// one inflating past `decompress_bound` stays unchanged.
pub(super) fn filter_batch(
    bytes: &[u8],
    h: &BatchHeader,
    keep_empty: bool,
    decompress_bound: usize,
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
    let Some(dec) = decompressed_section(bytes, h, decompress_bound)? else {
        return Ok(Filtered::Unchanged);
    };
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
