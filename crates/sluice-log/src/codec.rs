//! Kafka's record-batch compression codecs (kafka-protocol's), for the
//! log cleaner re-encoding a batch in its own codec and for `recompress`
//! storing batches in a topic's `compression.type`. No state.

use bytes::{BufMut, Bytes};

use crate::LogError;

/// Kafka's codec numbers: 0 uncompressed, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
pub(crate) const MAX_CODEC: u8 = 4;

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
