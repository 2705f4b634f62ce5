//! Builders for valid v2 record batches (uncompressed), for tests here and in
//! the broker. Enabled by the `testing` feature.

use crate::batch::{HEADER_LEN, MAGIC_V2};

/// One record to put in a batch.
#[derive(Debug, Clone, Default)]
pub struct TestRecord {
    /// Key bytes, `None` for a null key.
    pub key: Option<Vec<u8>>,
    /// Value bytes, `None` for a null value.
    pub value: Option<Vec<u8>>,
    /// Absolute timestamp.
    pub timestamp: i64,
}

/// Batch parameters; `build` encodes it.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    /// Written as the base offset (the leader overwrites it).
    pub base_offset: i64,
    /// Written as the partition leader epoch.
    pub partition_leader_epoch: i32,
    /// Attribute bits (compression bits are left as given but records are not compressed).
    pub attributes: i16,
    /// Producer id, -1 for none.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Base sequence, -1 for none.
    pub base_sequence: i32,
    /// The records.
    pub records: Vec<TestRecord>,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        BatchBuilder {
            base_offset: 0,
            partition_leader_epoch: -1,
            attributes: 0,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            records: Vec::new(),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, b.len() as i64);
            out.extend_from_slice(b);
        }
    }
}

impl BatchBuilder {
    /// A batch of values with consecutive timestamps starting at `timestamp`.
    pub fn values<V: AsRef<[u8]>>(timestamp: i64, values: &[V]) -> Self {
        let records = values
            .iter()
            .enumerate()
            .map(|(i, v)| TestRecord {
                key: None,
                value: Some(v.as_ref().to_vec()),
                timestamp: timestamp + i as i64,
            })
            .collect();
        BatchBuilder {
            records,
            ..Self::default()
        }
    }

    /// Encodes the batch with a correct CRC.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.records.len() * 16);
        self.build_into(&mut out);
        out
    }

    /// Appends the encoded batch to `out` (lets benchmarks reuse a buffer).
    pub fn build_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let base_ts = self.records.first().map_or(-1, |r| r.timestamp);
        let max_ts = self.records.iter().map(|r| r.timestamp).max().unwrap_or(-1);
        out.extend_from_slice(&self.base_offset.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes()); // length, patched below
        out.extend_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out.push(MAGIC_V2 as u8);
        out.extend_from_slice(&0u32.to_be_bytes()); // crc, patched below
        out.extend_from_slice(&self.attributes.to_be_bytes());
        out.extend_from_slice(&(self.records.len() as i32 - 1).max(0).to_be_bytes());
        out.extend_from_slice(&base_ts.to_be_bytes());
        out.extend_from_slice(&max_ts.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.base_sequence.to_be_bytes());
        out.extend_from_slice(&(self.records.len() as i32).to_be_bytes());
        let mut body = Vec::new();
        for (i, r) in self.records.iter().enumerate() {
            body.clear();
            body.push(0); // record attributes
            put_varint(&mut body, r.timestamp - base_ts);
            put_varint(&mut body, i as i64);
            put_bytes(&mut body, r.key.as_deref());
            put_bytes(&mut body, r.value.as_deref());
            put_varint(&mut body, 0); // headers
            put_varint(out, body.len() as i64);
            out.extend_from_slice(&body);
        }
        let len = (out.len() - start - 12) as i32;
        out[start + 8..start + 12].copy_from_slice(&len.to_be_bytes());
        let crc = crc32c::crc32c(&out[start + 21..]);
        out[start + 17..start + 21].copy_from_slice(&crc.to_be_bytes());
    }
}

/// A batch of `n` records with `value_len`-byte values and timestamps from `timestamp`.
pub fn batch(n: usize, value_len: usize, timestamp: i64) -> Vec<u8> {
    let values: Vec<Vec<u8>> = (0..n).map(|i| vec![(i % 251) as u8; value_len]).collect();
    BatchBuilder::values(timestamp, &values).build()
}

impl BatchBuilder {
    /// Encodes the batch with its records section compressed by Kafka codec
    /// `codec` (1 gzip, 2 snappy, 3 lz4, 4 zstd; 0 leaves it uncompressed).
    pub fn build_compressed(&self, codec: u8) -> Vec<u8> {
        let plain = Self {
            attributes: self.attributes & !crate::batch::COMPRESSION_MASK,
            ..self.clone()
        }
        .build();
        if codec == 0 {
            return plain;
        }
        let body = crate::codec::compress(codec, &plain[HEADER_LEN..], 0).expect("compress");
        let mut out = plain[..HEADER_LEN].to_vec();
        out.extend_from_slice(&body);
        let len = (out.len() - 12) as i32;
        out[8..12].copy_from_slice(&len.to_be_bytes());
        let attrs = (self.attributes & !crate::batch::COMPRESSION_MASK) | i16::from(codec);
        out[21..23].copy_from_slice(&attrs.to_be_bytes());
        let crc = crc32c::crc32c(&out[21..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        out
    }
}

/// A decoded record: absolute offset, key, value.
pub type DecodedRecord = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

/// Decodes every record of one batch (compressed or not) into
/// `(offset, key, value)`. Panics on malformed input.
pub fn decode_records(batch: &[u8]) -> Vec<DecodedRecord> {
    let h = crate::batch::BatchHeader::parse(batch).expect("header");
    let dec = match h.compression() {
        0 => None,
        c => Some(
            crate::codec::decompress(c, &batch[HEADER_LEN..], h.base_offset, usize::MAX)
                .expect("decompress"),
        ),
    };
    let section = dec.as_deref().unwrap_or(&batch[HEADER_LEN..]);
    let records = crate::batch::raw_records(section, h.records_count).expect("records");
    records
        .iter()
        .map(|r| {
            let body = crate::batch::RecordIter::single(r.bytes);
            (
                h.base_offset + i64::from(r.offset_delta),
                r.key.map(<[u8]>::to_vec),
                body,
            )
        })
        .collect()
}
