//! `compression.type` other than `producer`: a leader stores every batch in the topic's codec,
//! re-encoding the ones a producer sent in another (Kafka does the same). Only the records
//! section and the header fields it affects change (attributes' codec bits, length, CRC);
//! offsets, timestamps, producer id, epoch and sequence stay, so idempotence is unaffected.
//! A batch is validated before it is re-encoded, so a corrupt one is refused, never re-signed.

use crate::batch::{self, iter_batches, HEADER_LEN, LOG_OVERHEAD};
use crate::codec::{compress, decompress};
use crate::LogError;

/// `records` with every non-control batch in `codec`, or `None` when all already are (the
/// common case costs no copy). A batch is decompressed only up to what an uncompressed batch of
/// `max_message_bytes` could hold: one inflating past that is refused with
/// [`LogError::DecompressedTooLarge`] (a decompression bomb never gets further in memory).
pub(crate) fn to_codec(
    records: &[u8],
    codec: u8,
    max_message_bytes: u32,
) -> Result<Option<Vec<u8>>, LogError> {
    let bound = section_bound(max_message_bytes);
    let needs = |b: &batch::Batch<'_>| !b.header.is_control() && b.header.compression() != codec;
    let mut any = false;
    for b in iter_batches(records) {
        any |= needs(&b?);
    }
    if !any {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(records.len());
    for b in iter_batches(records) {
        let b = b?;
        if !needs(&b) {
            out.extend_from_slice(b.bytes);
            continue;
        }
        // As sent, it must fit too (Kafka checks before it decompresses anything).
        if b.bytes.len() > max_message_bytes as usize {
            return Err(LogError::MessageTooLarge {
                size: b.bytes.len(),
                max: max_message_bytes,
            });
        }
        b.validate()?;
        let h = &b.header;
        let section = &b.bytes[HEADER_LEN..];
        let plain = match h.compression() {
            0 => None,
            from => Some(decompress(from, section, h.base_offset, bound)?),
        };
        let plain: &[u8] = plain.as_deref().unwrap_or(section);
        let start = out.len();
        out.extend_from_slice(&b.bytes[..HEADER_LEN]);
        if codec == 0 {
            out.extend_from_slice(plain);
        } else {
            out.extend_from_slice(&compress(codec, plain, h.base_offset)?);
        }
        let rewritten = &mut out[start..];
        let length = i32::try_from(rewritten.len() - LOG_OVERHEAD)
            .map_err(|_| LogError::invalid(b.position, "re-encoded batch too large"))?;
        rewritten[batch::LENGTH_OFFSET..batch::LENGTH_OFFSET + 4]
            .copy_from_slice(&length.to_be_bytes());
        let attributes = (h.attributes & !batch::COMPRESSION_MASK) | i16::from(codec);
        rewritten[batch::ATTRIBUTES_OFFSET..batch::ATTRIBUTES_OFFSET + 2]
            .copy_from_slice(&attributes.to_be_bytes());
        let crc = batch::compute_crc(rewritten);
        rewritten[batch::CRC_OFFSET..batch::CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    }
    Ok(Some(out))
}

/// The largest records section a batch of `max_message_bytes` holds uncompressed: the bound a
/// compressed section is decompressed with.
pub(crate) fn section_bound(max_message_bytes: u32) -> usize {
    (max_message_bytes as usize).saturating_sub(HEADER_LEN)
}
