//! Decompression bounds: a batch whose records section inflates past what an uncompressed
//! batch of `max.message.bytes` holds is refused on a re-encoding append and left as it is by
//! the cleaner.

mod common;

use common::*;
use sluice_log::batch::{iter_batches, HEADER_LEN};
use sluice_log::testing::{BatchBuilder, TestRecord};
use sluice_log::{LogConfig, LogError, PartitionLog};

fn keyed(keys: &[&str], value: &[u8]) -> BatchBuilder {
    BatchBuilder {
        records: keys
            .iter()
            .map(|k| TestRecord {
                key: Some(k.as_bytes().to_vec()),
                value: Some(value.to_vec()),
                timestamp: 1,
            })
            .collect(),
        ..BatchBuilder::default()
    }
}

#[test]
fn a_re_encoding_append_refuses_a_batch_inflating_past_max_message_bytes() {
    // 4 MiB of zeros compresses to well under max.message.bytes in every codec (snappy, the
    // weakest, to about 200 KB).
    let bomb = BatchBuilder::values(0, &[vec![0u8; 4 << 20]]);
    for (topic, sent) in [(0u8, 1u8), (1, 2), (2, 3), (3, 4), (4, 1)] {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            compression: Some(topic),
            segment_bytes: 1 << 20,
            ..small_config()
        };
        let mut log = PartitionLog::open(dir.path(), config).unwrap();
        let z = bomb.build_compressed(sent);
        assert!(z.len() < 256 << 10, "{sent}: {}", z.len());
        match log.append(&z, 0, 0) {
            Err(LogError::DecompressedTooLarge { codec, max, .. }) => {
                assert_eq!((codec, max), (sent, 1_048_588 - HEADER_LEN));
            }
            other => panic!("{topic} <- {sent}: {other:?}"),
        }
        assert_eq!(log.log_end_offset(), 0, "nothing written");
        let normal = BatchBuilder::values(0, &["ok"]).build_compressed(sent);
        log.append(&normal, 0, 0).unwrap();
        assert_eq!(log.log_end_offset(), 1);
    }
}

#[test]
fn the_bound_is_the_section_of_an_uncompressed_batch_of_max_message_bytes() {
    let b = BatchBuilder::values(0, &[vec![7u8; 5000], vec![8u8; 5000]]);
    let plain_len = b.build().len();
    for codec in 1..=4u8 {
        let z = b.build_compressed(codec);
        for (max, ok) in [(plain_len, true), (plain_len - 1, false)] {
            let dir = tempfile::tempdir().unwrap();
            let config = LogConfig {
                compression: Some(if codec == 4 { 1 } else { codec + 1 }),
                max_message_bytes: max as u32,
                segment_bytes: 1 << 20,
                ..small_config()
            };
            let mut log = PartitionLog::open(dir.path(), config).unwrap();
            let r = log.append(&z, 0, 0);
            assert_eq!(r.is_ok(), ok, "codec {codec}, max {max}: {r:?}");
        }
    }
}

#[test]
fn the_cleaner_leaves_a_batch_inflating_past_the_bound_as_it_is() {
    for codec in 1..=4u8 {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            compact: true,
            min_cleanable_dirty_ratio: 0.0,
            max_message_bytes: 1000,
            ..small_config()
        };
        let mut log = PartitionLog::open(dir.path(), config).unwrap();
        // Stored as the producer sent it (compression.type=producer): 1000 bytes compressed
        // at most, 10 KB once inflated.
        log.append(&keyed(&["a", "b"], b"old").build_compressed(codec), 0, 0)
            .unwrap();
        let bomb = keyed(&["a", "b"], &[0u8; 5000]).build_compressed(codec);
        log.append(&bomb, 0, 0).unwrap();
        for _ in 0..3 {
            log.append(&keyed(&["c"], b"v").build_compressed(codec), 0, 0)
                .unwrap();
        }
        log.roll_if_due(i64::MAX).unwrap();
        let config = log.config().clone();
        log.update_config(LogConfig {
            segment_ms: Some(0),
            ..config.clone()
        })
        .unwrap();
        assert!(log.roll_if_due(i64::MAX).unwrap());
        log.update_config(config).unwrap();
        log.set_high_watermark(log.log_end_offset());
        let stored_bomb = |log: &PartitionLog| {
            let raw = log.read(0, 1 << 20, i64::MAX).unwrap().records;
            iter_batches(&raw)
                .map(Result::unwrap)
                .find(|b| b.header.base_offset == 2)
                .map(|b| b.bytes.to_vec())
        };
        let before = stored_bomb(&log).expect("bomb stored");

        let out = log.compact(1000).unwrap();
        assert!(out.cleaned, "codec {codec}: {out:?}");
        // The two older "c" records go; the bomb, and the records its keys would have
        // superseded, stay.
        assert_eq!(out.records_removed, 2, "codec {codec}: {out:?}");
        assert_eq!(stored_bomb(&log), Some(before), "codec {codec}");
        let raw = log.read(0, 1 << 20, i64::MAX).unwrap().records;
        let offsets: Vec<i64> = iter_batches(&raw)
            .map(|b| b.unwrap().header.base_offset)
            .collect();
        assert_eq!(offsets, [0, 2, 6], "codec {codec}");
    }
}

#[test]
fn a_batch_too_large_as_sent_is_refused_before_it_is_decompressed() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        compression: Some(0),
        max_message_bytes: 100,
        segment_bytes: 1 << 20,
        ..small_config()
    };
    let mut log = PartitionLog::open(dir.path(), config).unwrap();
    let b = BatchBuilder::values(0, &[vec![1u8; 300]]);
    let z = b.build();
    // Uncompressed and already in the topic's codec: the append's own size check.
    assert!(matches!(
        log.append(&z, 0, 0),
        Err(LogError::MessageTooLarge { .. })
    ));
    // Compressed garbage past the size: refused on its size, never decoded.
    let mut z = b.build_compressed(1);
    z.extend_from_slice(&[0xff; 200]);
    let len = (z.len() - 12) as i32;
    z[8..12].copy_from_slice(&len.to_be_bytes());
    assert!(matches!(
        log.append(&z, 0, 0),
        Err(LogError::MessageTooLarge { size, max: 100 }) if size == len as usize + 12
    ));
}
