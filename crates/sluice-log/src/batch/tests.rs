//! Unit tests for the batch parser.
use super::*;
use crate::testing::{BatchBuilder, TestRecord};

#[test]
fn parses_header_fields_and_records() {
    let mut b = BatchBuilder {
        records: vec![
            TestRecord {
                key: Some(b"k".to_vec()),
                value: Some(b"v1".to_vec()),
                timestamp: 1000,
            },
            TestRecord {
                key: None,
                value: None,
                timestamp: 990,
            },
            TestRecord {
                key: None,
                value: Some(vec![7; 300]),
                timestamp: 1020,
            },
        ],
        ..BatchBuilder::default()
    };
    b.base_offset = 40;
    b.partition_leader_epoch = 9;
    b.producer_id = 77;
    b.producer_epoch = 2;
    b.base_sequence = i32::MAX - 1;
    b.attributes = TRANSACTIONAL_BIT;
    let bytes = b.build();
    let h = BatchHeader::parse(&bytes).unwrap();
    assert_eq!(h.total_size(), bytes.len());
    assert_eq!(
        (h.base_offset, h.last_offset(), h.next_offset()),
        (40, 42, 43)
    );
    assert_eq!(
        (h.partition_leader_epoch, h.producer_id, h.producer_epoch),
        (9, 77, 2)
    );
    assert_eq!(
        (h.base_timestamp, h.max_timestamp, h.records_count),
        (1000, 1020, 3)
    );
    assert!(h.is_transactional() && !h.is_control() && !h.is_log_append_time());
    assert_eq!(h.compression(), 0);
    assert_eq!(h.last_sequence(), 0, "sequence wraps past i32::MAX");
    let batch = iter_batches(&bytes).next().unwrap().unwrap();
    batch.validate().unwrap();
    let recs: Vec<Record<'_>> = batch.records().unwrap().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 3);
    assert_eq!(
        (recs[0].key, recs[0].value),
        (Some(&b"k"[..]), Some(&b"v1"[..]))
    );
    assert_eq!(
        (recs[1].offset_delta, recs[1].timestamp_delta, recs[1].value),
        (1, -10, None)
    );
    assert_eq!(recs[2].value.map(<[u8]>::len), Some(300));
}

#[test]
fn iterates_multiple_batches_and_reports_positions() {
    let a = BatchBuilder::values(0, &[b"a"]).build();
    let b = BatchBuilder::values(0, &[b"b", b"c"]).build();
    let buf = [a.clone(), b.clone()].concat();
    let got: Vec<(usize, usize)> = iter_batches(&buf)
        .map(|x| x.unwrap())
        .map(|x| (x.position, x.bytes.len()))
        .collect();
    assert_eq!(got, vec![(0, a.len()), (a.len(), b.len())]);
    let mut torn = buf.clone();
    torn.truncate(buf.len() - 1);
    let res: Vec<_> = iter_batches(&torn).collect();
    assert_eq!(res.len(), 2);
    assert!(matches!(res[1], Err(LogError::InvalidBatch { position, .. }) if position == a.len()));
    let mut v1 = b.clone();
    v1[MAGIC_OFFSET] = 1;
    let buf = [a.clone(), v1].concat();
    assert!(
        matches!(iter_batches(&buf).nth(1), Some(Err(LogError::UnsupportedMagic { magic: 1, position })) if position == a.len())
    );
    assert!(iter_batches(&[]).next().is_none());
    assert!(matches!(
        BatchHeader::parse(&a[..20]),
        Err(LogError::InvalidBatch { .. })
    ));
}

#[test]
fn crc_covers_attributes_to_end_only() {
    let mut a = BatchBuilder::values(0, &[b"abc"]).build();
    let batch = |x: &[u8]| iter_batches(x).next().unwrap().unwrap().verify_crc();
    // baseOffset and partitionLeaderEpoch are not covered.
    a[..8].copy_from_slice(&[0xee; 8]);
    a[LEADER_EPOCH_OFFSET..MAGIC_OFFSET].copy_from_slice(&5i32.to_be_bytes());
    batch(&a).unwrap();
    for at in [
        ATTRIBUTES_OFFSET,
        MAX_TIMESTAMP_OFFSET,
        HEADER_LEN,
        a.len() - 1,
    ] {
        let mut c = a.clone();
        c[at] ^= 1;
        assert!(
            matches!(batch(&c), Err(LogError::CrcMismatch { .. })),
            "byte {at}"
        );
    }
}

#[test]
fn random_bytes_never_panic() {
    let valid = BatchBuilder::values(5, &[b"hello".as_slice(), b"world", b""]).build();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..20_000 {
        let mut buf = if i % 2 == 0 {
            valid.clone()
        } else {
            (0..(next() % 200) as usize).map(|_| next() as u8).collect()
        };
        if !buf.is_empty() {
            for _ in 0..(next() % 4) {
                let at = (next() as usize) % buf.len();
                buf[at] = next() as u8;
            }
        }
        if next() % 3 == 0 {
            buf.truncate((next() as usize) % (buf.len() + 1));
        }
        for b in iter_batches(&buf).flatten() {
            let _ = b.validate();
            let _ = b.header.last_sequence();
            if let Some(recs) = b.records() {
                for r in recs {
                    let _ = r;
                }
            }
        }
    }
}
