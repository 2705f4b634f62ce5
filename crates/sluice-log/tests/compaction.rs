mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;
use sluice_log::batch::iter_batches;
use sluice_log::testing::{decode_records, BatchBuilder, DecodedRecord, TestRecord};
use sluice_log::{CrashPoint, LogConfig, PartitionLog};

const DAY: i64 = 86_400_000;

fn compact_config() -> LogConfig {
    LogConfig {
        compact: true,
        min_cleanable_dirty_ratio: 0.0,
        ..small_config()
    }
}

fn rec(key: &str, value: Option<&str>, ts: i64) -> TestRecord {
    TestRecord {
        key: Some(key.as_bytes().to_vec()),
        value: value.map(|v| v.as_bytes().to_vec()),
        timestamp: ts,
    }
}

fn batch_of(records: Vec<TestRecord>) -> BatchBuilder {
    BatchBuilder {
        records,
        ..BatchBuilder::default()
    }
}

/// Rolls the active segment now (through `segment.ms`).
fn force_roll(log: &mut PartitionLog) {
    let config = log.config().clone();
    log.update_config(LogConfig {
        segment_ms: Some(0),
        ..config.clone()
    })
    .unwrap();
    assert!(log.roll_if_due(i64::MAX).unwrap());
    log.update_config(config).unwrap();
}

fn commit(log: &mut PartitionLog) {
    let leo = log.log_end_offset();
    log.set_high_watermark(leo);
}

/// Every record from the log start to `max_offset`, checking CRCs, offsets
/// ascending across batches.
fn dump_to(log: &PartitionLog, max_offset: i64) -> Vec<DecodedRecord> {
    let mut out: Vec<DecodedRecord> = Vec::new();
    let mut at = log.log_start_offset();
    loop {
        let s = log.read(at, 1 << 20, max_offset).expect("read");
        if s.records.is_empty() {
            break;
        }
        for b in iter_batches(&s.records) {
            let b = b.expect("valid batch");
            b.verify_crc().expect("crc");
            for r in decode_records(b.bytes) {
                assert!(out.last().is_none_or(|l| l.0 < r.0), "offsets ascend");
                assert!(r.0 <= b.header.last_offset() && r.0 >= b.header.base_offset);
                out.push(r);
            }
        }
        at = s.next_offset;
    }
    out
}

/// Raw bytes of every batch from `offset` on.
fn raw_from(log: &PartitionLog, mut at: i64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let s = log.read(at, 1 << 30, i64::MAX).unwrap();
        if s.records.is_empty() {
            return out;
        }
        out.extend_from_slice(&s.records);
        at = s.next_offset;
    }
}

fn dump(log: &PartitionLog) -> Vec<DecodedRecord> {
    dump_to(log, i64::MAX)
}

/// What compaction of records below `end` should leave: the latest record
/// of each key below `end`, everything at or above it.
fn expected(all: &[DecodedRecord], end: i64) -> Vec<DecodedRecord> {
    let mut latest: HashMap<Vec<u8>, i64> = HashMap::new();
    for r in all.iter().filter(|r| r.0 < end) {
        if let Some(k) = &r.1 {
            latest.insert(k.clone(), r.0);
        }
    }
    all.iter()
        .filter(|r| r.0 >= end || r.1.as_ref().is_none_or(|k| latest[k] == r.0))
        .cloned()
        .collect()
}

/// `rounds` batches of 5 records over keys k0..k19, values `v{round}-{i}`.
fn overwrite_keys(log: &mut PartitionLog, rounds: usize, ts0: i64, codec: u8) {
    for round in 0..rounds {
        let records = (0..5)
            .map(|i| {
                let k = format!("k{}", (round * 3 + i) % 20);
                rec(&k, Some(&format!("v{round}-{i}")), ts0 + round as i64)
            })
            .collect();
        log.append(&batch_of(records).build_compressed(codec), 0, 0)
            .unwrap();
    }
}

#[test]
fn keeps_latest_value_per_key_at_original_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), compact_config()).unwrap();
    overwrite_keys(&mut log, 200, 1000, 0);
    force_roll(&mut log);
    overwrite_keys(&mut log, 3, 5000, 0); // active segment, duplicates kept
    commit(&mut log);
    assert!(log.segment_count() > 5);
    let before = dump(&log);
    let active_base = *log.segment_base_offsets().last().unwrap();
    let size_before = log.size_bytes();

    let out = log.compact(10_000).unwrap();
    assert!(out.cleaned, "{out:?}");
    assert!(out.segments_rewritten > 0);
    assert_eq!(out.cleaner_offset, Some(active_base));
    assert!(out.records_removed > 900, "{out:?}");
    assert!(log.size_bytes() < size_before);
    let after = dump(&log);
    assert_eq!(after, expected(&before, active_base));
    // 20 keys left below the active segment, each with its last value.
    assert_eq!(after.iter().filter(|r| r.0 < active_base).count(), 20);
    assert_eq!(log.log_end_offset(), before.last().unwrap().0 + 1);

    // Survives a reopen (indexes rebuilt, checkpoint kept), and reads from
    // any offset inside a gap land on the next kept record.
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), compact_config()).unwrap();
    assert_eq!(dump(&log), after);
    for probe in [0, 1, 500, active_base - 1] {
        let s = log.read(probe, 100, i64::MAX).unwrap();
        let first = decode_records(iter_batches(&s.records).next().unwrap().unwrap().bytes);
        let want = after.iter().find(|r| r.0 >= probe).unwrap().0;
        assert!(first.iter().any(|r| r.0 == want), "probe {probe}");
        let region = log.read_region(probe, 100, i64::MAX).unwrap();
        assert_eq!(region.read_bytes().unwrap(), s.records);
    }
    // A second pass finds nothing dirty.
    let mut log = log;
    let again = log.compact(10_000).unwrap();
    assert!(!again.cleaned);
    assert_eq!(again.dirty_ratio, 0.0);
}

#[test]
fn tombstones_go_only_after_delete_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), compact_config()).unwrap();
    let t0 = 1_000_000;
    log.append(
        &batch_of(vec![rec("a", Some("1"), t0), rec("b", Some("1"), t0)]).build(),
        0,
        0,
    )
    .unwrap();
    force_roll(&mut log);
    log.append(&batch_of(vec![rec("a", None, t0 + 10)]).build(), 0, 0)
        .unwrap();
    force_roll(&mut log);
    commit(&mut log);
    let out = log.compact(t0 + 10 + DAY - 1).unwrap();
    assert!(out.cleaned);
    assert_eq!((out.records_removed, out.tombstones_removed), (1, 0));
    let left = dump(&log);
    assert_eq!(
        left,
        vec![
            (1, Some(b"b".to_vec()), Some(b"1".to_vec())),
            (2, Some(b"a".to_vec()), None)
        ]
    );
    // Past the horizon: the next pass (which needs some dirty data) drops it.
    log.append(&batch_of(vec![rec("c", Some("1"), t0 + 20)]).build(), 0, 0)
        .unwrap();
    force_roll(&mut log);
    commit(&mut log);
    let out = log.compact(t0 + 10 + DAY + 1).unwrap();
    assert_eq!(out.tombstones_removed, 1, "{out:?}");
    let keys: Vec<_> = dump(&log).into_iter().map(|r| r.1.unwrap()).collect();
    assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
}

#[test]
fn active_segment_and_records_past_hw_are_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), compact_config()).unwrap();
    overwrite_keys(&mut log, 40, 0, 0);
    force_roll(&mut log);
    let hw_seg = log.log_end_offset();
    commit(&mut log);
    // Closed segments above the HW, then an active one, all full of duplicates.
    overwrite_keys(&mut log, 60, 100, 0);
    force_roll(&mut log);
    overwrite_keys(&mut log, 8, 200, 0);
    let segs = log.segment_base_offsets();
    let active_base = *segs.last().unwrap();
    assert!(segs.contains(&hw_seg) && active_base > hw_seg);
    let before = dump(&log);
    let tail_before = raw_from(&log, hw_seg);

    let out = log.compact(1000).unwrap();
    assert!(out.cleaned);
    assert_eq!(out.cleaner_offset, Some(hw_seg));
    let after = dump(&log);
    assert_eq!(after, expected(&before, hw_seg));
    // Byte-identical from the HW segment on, including the active segment.
    assert_eq!(raw_from(&log, hw_seg), tail_before);
    assert!(after.iter().filter(|r| r.0 >= active_base).count() == 40);
}

#[test]
fn every_codec_round_trips_through_compaction() {
    for codec in 0..=4u8 {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), compact_config()).unwrap();
        overwrite_keys(&mut log, 120, 0, codec);
        force_roll(&mut log);
        commit(&mut log);
        let before = dump(&log);
        let out = log.compact(1000).unwrap();
        assert!(out.records_removed > 0, "codec {codec}: {out:?}");
        let after = dump(&log);
        assert_eq!(after, expected(&before, i64::MAX), "codec {codec}");
        let raw = raw_from(&log, 0);
        let mut partial = 0;
        for b in iter_batches(&raw) {
            let b = b.unwrap();
            assert_eq!(b.header.compression(), codec, "codec kept");
            b.verify_crc().unwrap();
            if b.header.records_count < b.header.last_offset_delta + 1 {
                partial += 1;
            }
        }
        assert!(partial > 0, "codec {codec}: some batches were re-encoded");
    }
}

#[test]
fn last_batch_of_each_producer_is_kept_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), compact_config()).unwrap();
    for seq in 0..3 {
        let b = BatchBuilder {
            producer_id: 7,
            producer_epoch: 2,
            base_sequence: seq * 2,
            records: vec![rec("p", Some("x"), 0), rec("q", Some("x"), 0)],
            ..BatchBuilder::default()
        };
        log.append(&b.build_compressed(1), 0, 0).unwrap();
    }
    // A plain producer overwrites both keys.
    log.append(
        &batch_of(vec![rec("p", Some("y"), 1), rec("q", Some("y"), 1)]).build(),
        0,
        0,
    )
    .unwrap();
    force_roll(&mut log);
    commit(&mut log);
    let out = log.compact(1000).unwrap();
    assert_eq!(out.batches_removed, 2, "{out:?}");
    let s = log.read(0, 1 << 20, i64::MAX).unwrap();
    let batches: Vec<_> = iter_batches(&s.records).map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 2);
    let kept = batches[0].header;
    batches[0].verify_crc().unwrap();
    assert_eq!(
        (kept.producer_id, kept.producer_epoch, kept.base_sequence),
        (7, 2, 4)
    );
    assert_eq!((kept.base_offset, kept.last_offset_delta), (4, 1));
    assert_eq!((kept.records_count, kept.compression()), (0, 0));
    assert_eq!(batches[1].header.base_offset, 6);
}

/// Segment 0 holds values all overwritten in segment 1, whose keys are
/// unique: a pass rewrites segment 0 only.
fn crash_fixture(dir: &Path) -> PartitionLog {
    let mut log = PartitionLog::open(dir, compact_config()).unwrap();
    log.append(&batch_of(vec![rec("solo", Some("1"), 0)]).build(), 0, 0)
        .unwrap();
    for i in 0..30 {
        let k = format!("k{}", i % 10);
        log.append(&batch_of(vec![rec(&k, Some("old"), i)]).build(), 0, 0)
            .unwrap();
    }
    force_roll(&mut log);
    for i in 0..10 {
        let k = format!("k{i}");
        log.append(&batch_of(vec![rec(&k, Some("new"), 100 + i)]).build(), 0, 0)
            .unwrap();
    }
    force_roll(&mut log);
    commit(&mut log);
    log.flush().unwrap();
    log
}

#[test]
fn crash_at_any_swap_step_leaves_old_or_new_segment() {
    let twin = tempfile::tempdir().unwrap();
    let mut log = crash_fixture(twin.path());
    let old = dump(&log);
    let out = log.compact(1000).unwrap();
    assert_eq!(out.segments_rewritten, 1);
    let new = dump(&log);
    assert_ne!(old, new);

    for (at, want_new) in [
        (CrashPoint::PartialCleaned, false),
        (CrashPoint::Cleaned, false),
        (CrashPoint::Swapped, true),
        (CrashPoint::IndexesDeleted, true),
        (CrashPoint::Renamed, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = crash_fixture(dir.path());
        log.compact_crashing(1000, at).unwrap();
        std::mem::forget(log); // a crash runs no destructor
        let mut log = PartitionLog::open(dir.path(), compact_config()).unwrap();
        commit(&mut log);
        assert_eq!(
            dump(&log),
            if want_new { new.clone() } else { old.clone() },
            "{at:?}"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap"))
            .collect();
        assert!(leftovers.is_empty(), "{at:?}: {leftovers:?}");
        // The interrupted pass is redone (the checkpoint did not move).
        let out = log.compact(1000).unwrap();
        assert!(out.cleaned, "{at:?}");
        assert_eq!(dump(&log), new, "{at:?}");
        log.close().unwrap();
        let log = PartitionLog::open(dir.path(), compact_config()).unwrap();
        assert_eq!(dump(&log), new, "{at:?} after reopen");
    }
}

#[test]
fn regions_taken_before_compaction_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = crash_fixture(dir.path());
    let region = log.read_region(0, 1 << 20, i64::MAX).unwrap();
    let bytes = region.read_bytes().unwrap();
    log.compact(1000).unwrap();
    assert_eq!(
        region.read_bytes().unwrap(),
        bytes,
        "old inode still readable"
    );
    let fresh = log.read_region(0, 1 << 20, i64::MAX).unwrap();
    let fresh_bytes = fresh.read_bytes().unwrap();
    assert_ne!(fresh_bytes, bytes);
    for b in iter_batches(&fresh_bytes) {
        b.unwrap().verify_crc().unwrap();
    }
}

#[test]
fn dirty_ratio_gates_passes_and_checkpoint_persists() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        min_cleanable_dirty_ratio: 0.5,
        ..compact_config()
    };
    let mut log = PartitionLog::open(dir.path(), config.clone()).unwrap();
    // Unique keys: nothing to remove, but the pass moves the checkpoint.
    for i in 0..100 {
        let k = format!("u{i}");
        log.append(&batch_of(vec![rec(&k, Some("v"), i)]).build(), 0, 0)
            .unwrap();
    }
    force_roll(&mut log);
    commit(&mut log);
    let first = log.compact(1000).unwrap();
    assert!(first.cleaned && first.dirty_ratio == 1.0);
    assert_eq!(first.segments_rewritten, 0);
    let checkpoint = first.cleaner_offset.unwrap();
    // A little dirty data: below the ratio, skipped.
    for i in 0..5 {
        let k = format!("u{i}");
        log.append(&batch_of(vec![rec(&k, Some("w"), 200)]).build(), 0, 0)
            .unwrap();
    }
    force_roll(&mut log);
    commit(&mut log);
    let skipped = log.compact(1000).unwrap();
    assert!(!skipped.cleaned && skipped.dirty_ratio > 0.0 && skipped.dirty_ratio < 0.5);
    assert_eq!(skipped.cleaner_offset, Some(checkpoint));
    log.close().unwrap();
    let mut log = PartitionLog::open(dir.path(), config.clone()).unwrap();
    commit(&mut log);
    assert!(!log.compact(1000).unwrap().cleaned, "checkpoint persisted");
    log.update_config(LogConfig {
        min_cleanable_dirty_ratio: 0.01,
        ..config
    })
    .unwrap();
    let out = log.compact(1000).unwrap();
    assert!(out.cleaned);
    assert_eq!(out.records_removed, 5);
}

#[test]
fn min_compaction_lag_holds_back_recent_segments() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        min_compaction_lag_ms: 1000,
        ..compact_config()
    };
    let mut log = PartitionLog::open(dir.path(), config).unwrap();
    overwrite_keys(&mut log, 10, 0, 0);
    force_roll(&mut log);
    overwrite_keys(&mut log, 10, 5000, 0);
    force_roll(&mut log);
    commit(&mut log);
    let second = log.segment_base_offsets()[1];
    let before = dump(&log);
    let out = log.compact(5500).unwrap();
    assert_eq!(out.cleaner_offset, Some(second));
    assert_eq!(dump(&log), expected(&before, second));
}

#[test]
fn compact_delete_applies_retention_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_ms: Some(10_000),
        ..compact_config()
    };
    let mut log = PartitionLog::open(dir.path(), config).unwrap();
    overwrite_keys(&mut log, 10, 0, 0); // old: expires
    force_roll(&mut log);
    overwrite_keys(&mut log, 30, 50_000, 0);
    force_roll(&mut log);
    commit(&mut log);
    let now = 55_000;
    let retained = log.apply_retention(now).unwrap();
    assert_eq!(retained.deleted_segments, 1);
    let start = log.log_start_offset();
    assert_eq!(start, 50);
    let before = dump(&log);
    let out = log.compact(now).unwrap();
    assert!(out.cleaned && out.records_removed > 0);
    let after = dump(&log);
    assert_eq!(after, expected(&before, i64::MAX));
    assert!(after.iter().all(|r| r.0 >= start));
}

#[test]
fn invalid_compaction_config_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        LogConfig {
            min_cleanable_dirty_ratio: f64::NAN,
            ..compact_config()
        },
        LogConfig {
            min_cleanable_dirty_ratio: 1.5,
            ..compact_config()
        },
        LogConfig {
            delete_retention_ms: -1,
            ..compact_config()
        },
    ] {
        assert!(PartitionLog::open(dir.path(), bad).is_err());
    }
}

#[test]
fn a_small_offset_map_cleans_in_several_passes() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        cleaner_map_bytes: 1, // one dirty segment per pass
        ..compact_config()
    };
    let mut log = PartitionLog::open(dir.path(), config).unwrap();
    overwrite_keys(&mut log, 100, 0, 0);
    force_roll(&mut log);
    commit(&mut log);
    let bases = log.segment_base_offsets();
    assert!(bases.len() > 3);
    let before = dump(&log);
    let mut passes = 0;
    loop {
        let out = log.compact(1000).unwrap();
        if !out.cleaned {
            break;
        }
        passes += 1;
        assert_eq!(
            out.cleaner_offset,
            Some(bases[passes]),
            "one segment per pass"
        );
        assert_eq!(out.segments_scanned, passes);
    }
    assert_eq!(passes, bases.len() - 1);
    assert_eq!(dump(&log), expected(&before, i64::MAX));
}
