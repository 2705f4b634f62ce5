mod common;

use common::*;
use sluice_log::batch::{iter_batches, BatchHeader};
use sluice_log::testing::{batch, BatchBuilder};
use sluice_log::{LogConfig, LogError, PartitionLog, TimestampType};

#[test]
fn round_trip_across_many_rolls_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    let batches = fill(&mut log, 400, 1_000, &mut rng);
    assert!(
        log.segment_count() > 10,
        "expected many rolls, got {}",
        log.segment_count()
    );
    let expected: Vec<i64> = batches.iter().map(|b| b.0).collect();
    // Offsets are contiguous.
    for w in batches.windows(2) {
        assert_eq!(w[0].1 + 1, w[1].0);
    }
    assert_eq!(log.log_end_offset(), batches.last().unwrap().1 + 1);
    assert_eq!(read_all(&log, 0), expected);
    let leo = log.log_end_offset();
    drop(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.log_end_offset(), leo);
    assert_eq!(read_all(&log, 0), expected);
}

#[test]
fn read_at_every_offset_finds_containing_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(11);
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    let batches = fill(&mut log, 200, 0, &mut rng);
    for &(base, last) in &batches {
        for off in base..=last {
            let s = log.read(off, 1, i64::MAX).unwrap();
            let got: Vec<BatchHeader> = iter_batches(&s.records)
                .map(|b| b.unwrap().header)
                .collect();
            assert_eq!(got.len(), 1, "max_bytes=1 still returns exactly one batch");
            assert_eq!(
                (got[0].base_offset, got[0].last_offset()),
                (base, last),
                "offset {off}"
            );
            assert_eq!(s.next_offset, last + 1);
        }
    }
    // Reading at the log end offset is empty, beyond it is out of range.
    let leo = log.log_end_offset();
    assert!(log.read(leo, 100, i64::MAX).unwrap().records.is_empty());
    assert!(matches!(
        log.read(leo + 1, 100, i64::MAX),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert!(matches!(
        log.read(-1, 100, i64::MAX),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn read_respects_max_bytes_and_max_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    let b = batch(2, 100, 5);
    for _ in 0..10 {
        log.append(&b, 0, 0).unwrap();
    }
    let s = log.read(0, 3 * b.len(), i64::MAX).unwrap();
    assert_eq!(bases(&s.records), vec![0, 2, 4]);
    let s = log.read(0, 3 * b.len() - 1, i64::MAX).unwrap();
    assert_eq!(bases(&s.records), vec![0, 2]);
    // max_offset (HW) 5 is inside batch [4,5]: only batches ending below it.
    let s = log.read(0, 1 << 20, 5).unwrap();
    assert_eq!(bases(&s.records), vec![0, 2]);
    assert_eq!(s.next_offset, 4);
    let s = log.read(4, 1 << 20, 5).unwrap();
    assert!(s.records.is_empty());
    assert_eq!(s.next_offset, 4);
}

#[test]
fn stored_batches_are_verbatim_except_broker_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    let mut b = BatchBuilder::values(1234, &[b"a".as_slice(), b"bb"]);
    b.producer_id = 42;
    b.producer_epoch = 3;
    b.base_sequence = 7;
    let bytes = b.build();
    log.append(&batch(3, 10, 0), 5, 0).unwrap();
    let info = log.append(&bytes, 5, 99).unwrap();
    assert_eq!(
        (info.base_offset, info.last_offset, info.record_count),
        (3, 4, 2)
    );
    assert_eq!(info.log_append_time, None);
    assert_eq!(info.max_timestamp, 1235);
    let s = log.read(3, 1 << 20, i64::MAX).unwrap();
    assert_eq!(
        &s.records[12..],
        &{
            let mut e = bytes.clone();
            e[12..16].copy_from_slice(&5i32.to_be_bytes());
            e
        }[12..]
    );
    let h = BatchHeader::parse(&s.records).unwrap();
    assert_eq!(
        (
            h.base_offset,
            h.partition_leader_epoch,
            h.producer_id,
            h.base_sequence
        ),
        (3, 5, 42, 7)
    );
    assert_eq!(h.last_sequence(), 8);
}

#[test]
fn log_append_time_rewrites_max_timestamp_and_crc() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let mut log = PartitionLog::open(dir.path(), config).unwrap();
    let info = log.append(&batch(3, 10, 5), 0, 777_000).unwrap();
    assert_eq!(info.log_append_time, Some(777_000));
    assert_eq!(info.max_timestamp, 777_000);
    let s = log.read(0, 1 << 20, i64::MAX).unwrap();
    let b = iter_batches(&s.records).next().unwrap().unwrap();
    b.verify_crc().unwrap();
    assert!(b.header.is_log_append_time());
    assert_eq!(b.header.max_timestamp, 777_000);
    assert_eq!(b.header.base_timestamp, 5);
    assert_eq!(
        log.offset_for_timestamp(700_000).unwrap(),
        Some((0, 777_000))
    );
    // Corruption anywhere in the CRC-covered part is still caught on this path.
    for at in [22, 40, 70] {
        let mut bad = batch(3, 10, 5);
        bad[at] ^= 4;
        assert!(
            matches!(log.append(&bad, 0, 1), Err(LogError::CrcMismatch { .. })),
            "byte {at}"
        );
    }
    assert_eq!(log.log_end_offset(), 3);
}

#[test]
fn offset_for_timestamp_finds_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    // Batch i holds 3 records at timestamps 100*i, 100*i+1, 100*i+2.
    for i in 0..300i64 {
        log.append(&batch(3, 30, 100 * i), 0, 0).unwrap();
    }
    assert!(log.segment_count() > 5);
    for i in 0..300i64 {
        assert_eq!(
            log.offset_for_timestamp(100 * i).unwrap(),
            Some((3 * i, 100 * i)),
            "batch {i}"
        );
        assert_eq!(
            log.offset_for_timestamp(100 * i + 2).unwrap(),
            Some((3 * i + 2, 100 * i + 2))
        );
        if i + 1 < 300 {
            assert_eq!(
                log.offset_for_timestamp(100 * i + 50).unwrap(),
                Some((3 * i + 3, 100 * i + 100))
            );
        }
    }
    assert_eq!(log.offset_for_timestamp(-5).unwrap(), Some((0, 0)));
    assert_eq!(log.offset_for_timestamp(100 * 299 + 3).unwrap(), None);
    // Timestamps out of order: the first batch whose max reaches the target wins.
    log.append(&batch(1, 30, 10), 0, 0).unwrap();
    assert_eq!(log.offset_for_timestamp(100 * 299 + 3).unwrap(), None);
    log.append(&batch(1, 30, 1_000_000), 0, 0).unwrap();
    assert_eq!(
        log.offset_for_timestamp(100 * 299 + 3).unwrap(),
        Some((901, 1_000_000))
    );
}

#[test]
fn bad_crc_or_magic_rejected_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    log.append(&batch(1, 10, 0), 0, 0).unwrap();
    let size = log.size_bytes();

    let mut bad_crc = batch(2, 10, 0);
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0x40;
    assert!(matches!(
        log.append(&bad_crc, 0, 0),
        Err(LogError::CrcMismatch { position: 0, .. })
    ));

    let mut bad_magic = batch(2, 10, 0);
    bad_magic[16] = 1;
    assert!(matches!(
        log.append(&bad_magic, 0, 0),
        Err(LogError::UnsupportedMagic { magic: 1, .. })
    ));

    let mut truncated = batch(2, 10, 0);
    truncated.pop();
    assert!(matches!(
        log.append(&truncated, 0, 0),
        Err(LogError::InvalidBatch { .. })
    ));
    assert!(matches!(
        log.append(&[], 0, 0),
        Err(LogError::InvalidBatch { .. })
    ));

    let mut miscounted = BatchBuilder::values(0, &[b"x".as_slice(), b"y"]).build();
    miscounted[57..61].copy_from_slice(&3i32.to_be_bytes());
    let crc = sluice_log::batch::compute_crc(&miscounted);
    miscounted[17..21].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        log.append(&miscounted, 0, 0),
        Err(LogError::InvalidBatch { .. })
    ));

    assert_eq!(log.size_bytes(), size);
    assert_eq!(log.log_end_offset(), 1);
}

#[test]
fn multi_batch_append_with_bad_second_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    let good = batch(3, 10, 0);
    let mut bad = batch(2, 10, 0);
    bad[70] ^= 1;
    let records = [good.clone(), bad].concat();
    match log.append(&records, 0, 0) {
        Err(LogError::CrcMismatch { position, .. }) => assert_eq!(position, good.len()),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!((log.size_bytes(), log.log_end_offset()), (0, 0));

    let info = log
        .append(&[good.clone(), good.clone(), good].concat(), 0, 0)
        .unwrap();
    assert_eq!(
        (info.base_offset, info.last_offset, info.record_count),
        (0, 8, 9)
    );
    assert_eq!(
        bases(&log.read(0, 1 << 20, i64::MAX).unwrap().records),
        vec![0, 3, 6]
    );
}

#[test]
fn size_limits() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        max_message_bytes: 200,
        segment_bytes: 1000,
        ..LogConfig::default()
    };
    let mut log = PartitionLog::open(dir.path(), config).unwrap();
    let big = batch(1, 300, 0);
    assert!(matches!(
        log.append(&big, 0, 0),
        Err(LogError::MessageTooLarge { max: 200, .. })
    ));
    let small = batch(1, 50, 0);
    let many: Vec<u8> = (0..12).flat_map(|_| small.clone()).collect();
    assert!(matches!(
        log.append(&many, 0, 0),
        Err(LogError::RecordListTooLarge { .. })
    ));
    assert_eq!(log.size_bytes(), 0);
}

#[test]
fn follower_append_keeps_offsets_and_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    let mut b = BatchBuilder::values(0, &[b"a".as_slice(), b"b"]);
    b.base_offset = 0;
    b.partition_leader_epoch = 1;
    let first = b.build();
    b.base_offset = 2;
    b.partition_leader_epoch = 3;
    let second = b.build();
    let info = log
        .append_as_follower(&[first.clone(), second.clone()].concat())
        .unwrap();
    assert_eq!((info.base_offset, info.last_offset), (0, 3));
    assert_eq!(log.epoch_entries(), &[(1, 0), (3, 2)]);
    assert_eq!(log.end_offset_for_epoch(1), Some((1, 2)));
    assert_eq!(log.end_offset_for_epoch(2), Some((1, 2)));
    assert_eq!(log.end_offset_for_epoch(3), Some((3, 4)));
    assert_eq!(log.end_offset_for_epoch(4), None);
    // Going backwards is refused and writes nothing.
    assert!(matches!(
        log.append_as_follower(&second),
        Err(LogError::UnexpectedAppendOffset {
            expected: 4,
            got: 2
        })
    ));
    // A gap is allowed (compacted leader).
    b.base_offset = 10;
    let info = log.append_as_follower(&b.build()).unwrap();
    assert_eq!((info.base_offset, log.log_end_offset()), (10, 12));
    assert_eq!(
        bases(&log.read(0, 1 << 20, i64::MAX).unwrap().records),
        vec![0, 2, 10]
    );
    assert_eq!(
        bases(&log.read(5, 1 << 20, i64::MAX).unwrap().records),
        vec![10]
    );
    // Stored verbatim.
    let s = log.read(0, 1 << 20, i64::MAX).unwrap();
    assert_eq!(&s.records[..first.len()], &first[..]);
}

#[test]
fn leader_epochs_are_stamped_and_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    log.append(&batch(2, 10, 0), 0, 0).unwrap();
    log.append(&batch(2, 10, 0), 0, 0).unwrap();
    log.append(&batch(2, 10, 0), 2, 0).unwrap();
    assert_eq!(log.epoch_entries(), &[(0, 0), (2, 4)]);
    drop(log);
    let text = std::fs::read_to_string(dir.path().join("leader-epoch-checkpoint")).unwrap();
    assert_eq!(text, "0\n2\n0 0\n2 4\n");
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.epoch_entries(), &[(0, 0), (2, 4)]);
    assert_eq!(log.end_offset_for_epoch(1), Some((0, 4)));
}

#[test]
fn segment_ms_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: Some(1000),
        ..LogConfig::default()
    };
    let mut log = PartitionLog::open(dir.path(), config).unwrap();
    assert!(
        !log.roll_if_due(10_000).unwrap(),
        "empty segment never rolls"
    );
    log.append(&batch(1, 10, 0), 0, 10_000).unwrap();
    assert!(!log.roll_if_due(10_999).unwrap());
    assert!(log.roll_if_due(11_000).unwrap());
    assert_eq!(log.segment_base_offsets(), vec![0, 1]);
    log.append(&batch(1, 10, 0), 0, 11_500).unwrap();
    // The append itself rolls once the active segment is overdue.
    log.append(&batch(1, 10, 0), 0, 12_600).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 1, 2]);
}

#[test]
fn mutated_produce_input_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    let mut rng = Rng(0xdead_beef);
    let mut expected_leo = 0;
    for i in 0..3000 {
        let n_batches = 1 + rng.below(3) as usize;
        let mut records: Vec<u8> = (0..n_batches)
            .flat_map(|_| batch(1 + rng.below(4) as usize, 10, i))
            .collect();
        let mutate = rng.below(2) == 0;
        if mutate {
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(records.len() as u64) as usize;
                records[at] ^= 1 << rng.below(8);
            }
        }
        let (size, leo) = (log.size_bytes(), log.log_end_offset());
        let follower = rng.below(4) == 0;
        let res = if follower {
            log.append_as_follower(&records)
        } else {
            log.append(&records, 0, i)
        };
        match res {
            Ok(info) => {
                assert_eq!(
                    info.base_offset,
                    if follower {
                        info.base_offset.max(leo)
                    } else {
                        leo
                    }
                );
                expected_leo = info.last_offset + 1;
                assert_eq!(log.log_end_offset(), expected_leo);
            }
            Err(_) => {
                assert!(mutate || follower, "valid leader input rejected");
                assert_eq!(
                    (log.size_bytes(), log.log_end_offset()),
                    (size, leo),
                    "failed append left bytes behind"
                );
            }
        }
    }
    assert!(expected_leo > 1000);
    let all = read_all(&log, 0);
    drop(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(read_all(&log, 0), all);
}

#[test]
fn read_region_matches_read_and_outlives_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    fill(&mut log, 100, 0, &mut Rng(3));
    let region = log.read_region(0, 1000, i64::MAX).unwrap();
    let slice = log.read(0, 1000, i64::MAX).unwrap();
    assert_eq!(region.read_bytes().unwrap(), slice.records);
    assert_eq!(region.next_offset, slice.next_offset);
    assert!(region.len <= 1000 && region.len > 0);
    // The handle still reads after the segment file is deleted.
    let leo = log.log_end_offset();
    log.set_high_watermark(leo);
    log.delete_records_before(leo).unwrap();
    assert_eq!(region.read_bytes().unwrap(), slice.records);
    let empty = log.read_region(leo, 1000, i64::MAX).unwrap();
    assert_eq!((empty.len, empty.next_offset), (0, leo));
}

#[test]
fn types_are_thread_safe() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send_unpin<T: Send + Unpin + 'static>() {}
    assert_send_sync::<PartitionLog>();
    assert_send_sync::<sluice_log::Flusher>();
    assert_send_sync::<sluice_log::FlushTicket>();
    assert_send_unpin::<sluice_log::FlushTicket>();
    assert_send_sync::<sluice_log::LogError>();
}

#[test]
fn segment_ms_counts_from_first_batch_timestamp_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: Some(1000),
        ..LogConfig::default()
    };
    let mut log = PartitionLog::open(dir.path(), config.clone()).unwrap();
    log.append(&batch(1, 10, 50_000), 0, 50_000).unwrap();
    drop(log);
    let mut log = PartitionLog::open(dir.path(), config).unwrap();
    assert!(!log.roll_if_due(50_999).unwrap());
    assert!(log.roll_if_due(51_000).unwrap());
}

#[test]
fn follower_append_spanning_too_many_offsets_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    let mut b = BatchBuilder::values(0, &[b"a".as_slice()]);
    let first = b.build();
    b.base_offset = 1 << 32;
    let far = b.build();
    assert!(matches!(
        log.append_as_follower(&[first.clone(), far.clone()].concat()),
        Err(LogError::InvalidBatch { .. })
    ));
    assert_eq!(log.size_bytes(), 0);
    // Separately, a far jump simply starts a new segment at the batch's offset.
    log.append_as_follower(&first).unwrap();
    log.append_as_follower(&far).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 1 << 32]);
    assert_eq!(
        bases(&log.read(1, 100, i64::MAX).unwrap().records),
        vec![1 << 32]
    );
}

#[test]
fn a_topic_codec_re_encodes_other_codecs_and_keeps_everything_else() {
    use sluice_log::testing::decode_records;
    for (topic_codec, sent_codec) in [(4u8, 0u8), (0, 1), (2, 3), (3, 4)] {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            compression: Some(topic_codec),
            ..small_config()
        };
        let mut log = PartitionLog::open(dir.path(), config).unwrap();
        let mut b = BatchBuilder::values(1000, &["a".repeat(50), "b".repeat(50), "c".repeat(50)]);
        b.producer_id = 7;
        b.producer_epoch = 1;
        b.base_sequence = 40;
        let sent = b.build_compressed(sent_codec);
        // Already in the topic's codec: stored byte for byte (apart from offset and epoch).
        let same = b.build_compressed(topic_codec);
        log.append(&sent, 3, 0).unwrap();
        log.append(&same, 3, 0).unwrap();
        log.set_high_watermark(log.log_end_offset());
        let stored = log.read(0, 1 << 20, i64::MAX).unwrap().records;
        let batches: Vec<_> = iter_batches(&stored).map(Result::unwrap).collect();
        assert_eq!(batches.len(), 2);
        for (i, stored) in batches.iter().enumerate() {
            stored.validate().unwrap();
            let h = &stored.header;
            assert_eq!(
                h.compression(),
                topic_codec,
                "{topic_codec} <- {sent_codec}"
            );
            assert_eq!(
                (
                    h.base_offset,
                    h.producer_id,
                    h.producer_epoch,
                    h.base_sequence
                ),
                (3 * i as i64, 7, 1, 40)
            );
            assert_eq!(h.partition_leader_epoch, 3);
            let values: Vec<Vec<u8>> = decode_records(stored.bytes)
                .into_iter()
                .map(|r| r.2.unwrap())
                .collect();
            assert_eq!(
                values,
                vec![b"a".repeat(50), b"b".repeat(50), b"c".repeat(50)]
            );
        }
        // The same-codec batch went in unchanged past the header fields the log stamps.
        assert_eq!(&batches[1].bytes[61..], &same[61..]);
    }
}

#[test]
fn a_corrupt_batch_is_refused_not_re_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        compression: Some(4),
        ..small_config()
    };
    let mut log = PartitionLog::open(dir.path(), config).unwrap();
    let mut bad = batch(3, 20, 1000);
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    assert!(matches!(
        log.append(&bad, 0, 0),
        Err(LogError::CrcMismatch { .. })
    ));
    assert_eq!(log.log_end_offset(), 0);
}
