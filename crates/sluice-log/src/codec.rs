//! Kafka's record-batch compression codecs, for the log cleaner re-encoding a batch in its own
//! codec and for `recompress` storing batches in a topic's `compression.type`. No state.
//!
//! Compression goes through kafka-protocol's compressors. Decompression reads the same formats
//! with the same codec crates (flate2, lz4 frame, snap, zstd) through bounded readers: it stops
//! as soon as the output would pass `max` bytes and refuses the batch with
//! [`LogError::DecompressedTooLarge`], so a small compressed batch (a "decompression bomb") never
//! inflates to more than the bound in memory.

use std::io::Read;

use bytes::{BufMut, Bytes};

use crate::LogError;

/// Kafka's codec numbers: 0 uncompressed, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
pub(crate) const MAX_CODEC: u8 = 4;

/// The framing Kafka's Java client (and kafka-protocol) writes snappy in: xerial's
/// `SnappyOutputStream` header, then blocks of a big-endian u32 length and a raw snappy block.
/// Anything not starting with it is read as one raw snappy block (librdkafka's, for one).
const XERIAL_MAGIC: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";

fn codec_error(base_offset: i64, codec: u8, e: impl std::fmt::Display) -> LogError {
    LogError::Compression {
        base_offset,
        codec,
        reason: e.to_string(),
    }
}

/// Decompresses a records section with Kafka codec `codec` (1 gzip, 2 snappy, 3 lz4, 4 zstd),
/// refusing it with [`LogError::DecompressedTooLarge`] once more than `max` bytes come out.
pub(crate) fn decompress(
    codec: u8,
    data: &[u8],
    base_offset: i64,
    max: usize,
) -> Result<Bytes, LogError> {
    let too_large = || LogError::DecompressedTooLarge {
        base_offset,
        codec,
        max,
    };
    let out = match codec {
        // Java's GZIPInputStream reads concatenated members too.
        1 => read_bounded(flate2::read::MultiGzDecoder::new(data), max),
        2 => return snappy(data, max).map_err(|e| e.into_log(base_offset, codec, max)),
        3 => lz4::Decoder::new(data).and_then(|d| read_bounded(d, max)),
        4 => zstd::stream::read::Decoder::with_buffer(data).and_then(|d| read_bounded(d, max)),
        _ => return Err(codec_error(base_offset, codec, "unknown codec")),
    };
    match out {
        Ok(Some(v)) => Ok(Bytes::from(v)),
        Ok(None) => Err(too_large()),
        Err(e) => Err(codec_error(base_offset, codec, e)),
    }
}

/// Everything `r` yields if that is at most `max` bytes, `None` if it yields more (reading at
/// most one byte past the bound).
fn read_bounded(r: impl Read, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    r.take((max as u64).saturating_add(1))
        .read_to_end(&mut out)?;
    Ok((out.len() <= max).then_some(out))
}

enum SnappyError {
    TooLarge,
    Codec(String),
}

impl SnappyError {
    fn into_log(self, base_offset: i64, codec: u8, max: usize) -> LogError {
        match self {
            SnappyError::TooLarge => LogError::DecompressedTooLarge {
                base_offset,
                codec,
                max,
            },
            SnappyError::Codec(e) => codec_error(base_offset, codec, e),
        }
    }
}

/// Snappy as kafka-protocol reads it: xerial-framed blocks, else one raw block. Each raw block
/// states its uncompressed length up front, so the bound is checked before anything is
/// allocated, and snap's decoder refuses a block whose content disagrees with that length.
fn snappy(data: &[u8], max: usize) -> Result<Bytes, SnappyError> {
    let codec = |e: &dyn std::fmt::Display| SnappyError::Codec(e.to_string());
    let mut dec = snap::raw::Decoder::new();
    let mut block = |out: &mut Vec<u8>, raw: &[u8]| -> Result<(), SnappyError> {
        let len = snap::raw::decompress_len(raw).map_err(|e| codec(&e))?;
        let start = out.len();
        if len > max - start {
            return Err(SnappyError::TooLarge);
        }
        out.resize(start + len, 0);
        dec.decompress(raw, &mut out[start..])
            .map_err(|e| codec(&e))?;
        Ok(())
    };
    let mut out = Vec::new();
    if data.is_empty() {
        return Err(codec(&"expected some bytes in snappy stream"));
    }
    let Some(mut rest) = data.strip_prefix(XERIAL_MAGIC.as_slice()) else {
        block(&mut out, data)?;
        return Ok(out.into());
    };
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| codec(&"not enough bytes to read compressed block length"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if tail.len() < len {
            return Err(codec(&"not enough bytes for block"));
        }
        let (raw, tail) = tail.split_at(len);
        block(&mut out, raw)?;
        rest = tail;
    }
    Ok(out.into())
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

#[cfg(test)]
#[path = "codec/tests.rs"]
mod tests;
