//! Building and inspecting v2 record batches: the batches the broker writes to its internal
//! topic (`__consumer_offsets`), and counting what a produce request carries.

use bytes::Bytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use sluice_log::batch::iter_batches;

use crate::error::BrokerError;

/// Leader epoch stamped on internal batches before they are appended (the log overwrites it).
const INTERNAL_EPOCH: i32 = 0;

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
