mod common;

use common::*;
use sluice_log::testing::{batch, BatchBuilder};
use sluice_log::{LogConfig, LogError, PartitionLog};

/// Log with `n` segments of 5 batches each; segment k holds timestamps
/// 1000k..1000k+3. Rolls are forced through `segment.ms` with a fake clock.
fn log_with_segments(dir: &std::path::Path, config: LogConfig, n: i64) -> PartitionLog {
    let config = LogConfig {
        segment_ms: Some(1),
        ..config
    };
    let mut log = PartitionLog::open(dir, config.clone()).unwrap();
    for seg in 0..n {
        for _ in 0..5 {
            log.append(&batch(4, 100, 1000 * seg), 0, seg).unwrap();
        }
    }
    assert_eq!(log.segment_count() as i64, n);
    let leo = log.log_end_offset();
    log.set_high_watermark(leo);
    log.update_config(LogConfig {
        segment_ms: None,
        ..config
    })
    .unwrap();
    log
}

#[test]
fn retention_by_time_deletes_whole_old_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_ms: Some(2500),
        ..small_config()
    };
    let mut log = log_with_segments(dir.path(), config, 6);
    let segs = log.segment_base_offsets();
    let before = log.size_bytes();
    // now - maxTimestamp > 2500 for segments 0..=2 only.
    let out = log.apply_retention(5000).unwrap();
    assert_eq!(out.deleted_segments, 3, "{out:?}");
    let left = log.segment_base_offsets();
    assert_eq!(left[..], segs[out.deleted_segments..]);
    assert_eq!(out.log_start_offset, left[0]);
    assert_eq!(log.log_start_offset(), left[0]);
    assert_eq!(before - log.size_bytes(), out.deleted_bytes);
    assert!(matches!(
        log.read(0, 100, i64::MAX),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(read_all(&log, left[0]).first(), Some(&left[0]));
    // Far in the future: everything but the active segment goes.
    let leo = log.log_end_offset();
    log.apply_retention(1_000_000_000).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.log_end_offset(), leo);
    assert_eq!(log.segment_base_offsets(), vec![*segs.last().unwrap()]);
    // Files are really gone, and the state survives a reopen.
    let logs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".log")
        })
        .count();
    assert_eq!(logs, 1);
    let start = log.log_start_offset();
    drop(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.log_start_offset(), start);
}

#[test]
fn retention_never_deletes_above_high_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_ms: Some(10),
        ..small_config()
    };
    let mut log = log_with_segments(dir.path(), config, 4);
    let segs = log.segment_base_offsets();
    log.set_high_watermark(segs[1] + 1);
    let out = log.apply_retention(1_000_000).unwrap();
    // Only segment 0 lies wholly below the HW.
    assert_eq!(out.deleted_segments, 1);
    assert_eq!(log.segment_base_offsets()[..], segs[1..]);
}

#[test]
fn retention_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = log_with_segments(dir.path(), small_config(), 6);
    let total = log.size_bytes();
    let seg_size = total / 6;
    assert_eq!(total % 6, 0, "equal segments");
    // Like Kafka, delete only while what remains stays ≥ the limit: 2 of 6 go.
    let limit = seg_size * 7 / 2;
    log.update_config(LogConfig {
        retention_bytes: Some(limit),
        ..small_config()
    })
    .unwrap();
    let out = log.apply_retention(0).unwrap();
    assert_eq!(out.deleted_segments, 2);
    assert_eq!(log.size_bytes(), 4 * seg_size);
    assert_eq!(log.size_bytes() + out.deleted_bytes, total);
    // Deleting one more segment would have been too much.
    let again = log.apply_retention(0).unwrap();
    assert_eq!(again.deleted_segments, 0);
    // A tiny limit still keeps the active segment.
    log.update_config(LogConfig {
        retention_bytes: Some(1),
        ..small_config()
    })
    .unwrap();
    log.apply_retention(0).unwrap();
    assert_eq!(log.segment_count(), 1);
}

#[test]
fn delete_records_moves_start_and_drops_segments_below() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = log_with_segments(dir.path(), small_config(), 5);
    let segs = log.segment_base_offsets();
    let target = segs[2] + 3; // inside segment 2
    assert_eq!(log.delete_records_before(target).unwrap(), target);
    assert_eq!(log.log_start_offset(), target);
    assert_eq!(log.segment_base_offsets()[..], segs[2..]);
    assert!(matches!(
        log.read(target - 1, 10, i64::MAX),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    // The batch containing the new start is still served whole.
    let s = log.read(target, 1, i64::MAX).unwrap();
    assert!(bases(&s.records)[0] <= target);
    // Lower targets are no-ops; above the HW is refused.
    assert_eq!(log.delete_records_before(1).unwrap(), target);
    let hw = log.high_watermark();
    assert!(matches!(
        log.delete_records_before(hw + 1),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    // Timestamp lookups ignore records below the start.
    assert_eq!(
        log.offset_for_timestamp(0).unwrap().map(|r| r.0),
        Some(target)
    );
    // Up to the HW: everything but the active segment may go.
    assert_eq!(log.delete_records_before(hw).unwrap(), hw);
    assert_eq!(log.segment_count(), 1);
    drop(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.log_start_offset(), hw);
    assert!(log.read(hw, 10, i64::MAX).unwrap().records.is_empty());
}

fn epoch_batch(base: i64, epoch: i32, n: usize) -> Vec<u8> {
    let values: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; 150]).collect();
    let mut b = BatchBuilder::values(base, &values);
    b.base_offset = base;
    b.partition_leader_epoch = epoch;
    b.build()
}

#[test]
fn truncate_to_across_segments_with_epoch_cache() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    // Epoch e covers offsets [20e, 20e+20) in 5 batches of 4; 10 epochs over many segments.
    for epoch in 0..10 {
        for k in 0..5 {
            log.append_as_follower(&epoch_batch(20 * i64::from(epoch) + 4 * k, epoch, 4))
                .unwrap();
        }
    }
    assert_eq!(log.log_end_offset(), 200);
    let segs = log.segment_base_offsets();
    assert!(segs.len() > 5);
    log.set_high_watermark(200);
    // Truncate inside a batch in the middle of an early segment: the straddling batch goes too.
    log.truncate_to(62).unwrap();
    assert_eq!(log.log_end_offset(), 60);
    assert_eq!(log.high_watermark(), 60);
    assert_eq!(
        log.epoch_entries(),
        (0..3).map(|e| (e, 20 * i64::from(e))).collect::<Vec<_>>()
    );
    assert_eq!(log.end_offset_for_epoch(2), Some((2, 60)));
    assert_eq!(log.end_offset_for_epoch(5), None);
    assert!(log.segment_base_offsets().iter().all(|&b| b <= 60));
    assert_eq!(
        read_all(&log, 0),
        (0..15).map(|i| 4 * i).collect::<Vec<_>>()
    );
    // Appends continue; new epoch starts at the truncation point.
    log.append_as_follower(&epoch_batch(60, 7, 4)).unwrap();
    assert_eq!(log.epoch_entries().last(), Some(&(7, 60)));
    let state = (
        log.log_end_offset(),
        log.epoch_entries().to_vec(),
        read_all(&log, 0),
    );
    drop(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(
        (
            log.log_end_offset(),
            log.epoch_entries().to_vec(),
            read_all(&log, 0)
        ),
        state
    );
    let mut log = log;
    // Truncating exactly at a segment base removes that whole segment.
    let segs = log.segment_base_offsets();
    let at = segs[segs.len() - 1];
    log.truncate_to(at).unwrap();
    assert_eq!(log.log_end_offset(), at);
    // Truncation to 0 empties the log.
    log.truncate_to(0).unwrap();
    assert_eq!(
        (
            log.log_end_offset(),
            log.log_start_offset(),
            log.segment_count()
        ),
        (0, 0, 1)
    );
    assert!(log.epoch_entries().is_empty());
    assert!(read_all(&log, 0).is_empty());
}

#[test]
fn high_watermark_checkpoint_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    for _ in 0..20 {
        log.append(&batch(3, 50, 0), 0, 0).unwrap();
    }
    assert_eq!(log.high_watermark(), 0);
    log.set_high_watermark(33);
    log.flush().unwrap();
    log.set_high_watermark(45);
    log.close().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.high_watermark(), 45);
    assert_eq!(log.log_end_offset(), 60);
    // Clamped to the log end offset.
    log.set_high_watermark(1000);
    assert_eq!(log.high_watermark(), 60);
    log.truncate_to(30).unwrap();
    assert_eq!(log.high_watermark(), 30);
    drop(log);
    assert_eq!(
        PartitionLog::open(dir.path(), small_config())
            .unwrap()
            .high_watermark(),
        30
    );
}

#[test]
fn delete_removes_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("topic-0");
    let mut log = PartitionLog::open(&dir, small_config()).unwrap();
    log.append(&batch(3, 50, 0), 0, 0).unwrap();
    log.delete().unwrap();
    assert!(!dir.exists());
}

#[test]
fn truncate_inside_batch_straddling_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    log.append(&batch(4, 10, 0), 0, 0).unwrap(); // 0..=3
    log.append(&batch(4, 10, 0), 0, 0).unwrap(); // 4..=7
    log.set_high_watermark(8);
    log.delete_records_before(5).unwrap();
    // The batch 4..=7 goes entirely; the log start cannot stay above the end.
    log.truncate_to(6).unwrap();
    assert_eq!(
        (
            log.log_start_offset(),
            log.log_end_offset(),
            log.high_watermark()
        ),
        (4, 4, 4)
    );
    assert_eq!(log.append(&batch(1, 10, 0), 0, 0).unwrap().base_offset, 4);
}

#[test]
fn epoch_cache_rebuilt_from_log_when_checkpoint_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    for epoch in 0..6 {
        for _ in 0..8 {
            log.append(&batch(3, 60, 0), epoch, 0).unwrap();
        }
    }
    let expected = log.epoch_entries().to_vec();
    assert_eq!(expected.len(), 6);
    assert!(log.segment_count() > 3);
    log.close().unwrap();
    for garbage in [None, Some("0\n3\n1 0\n")] {
        let path = dir.path().join("leader-epoch-checkpoint");
        match garbage {
            None => std::fs::remove_file(&path).unwrap(),
            Some(g) => std::fs::write(&path, g).unwrap(),
        }
        let log = PartitionLog::open(dir.path(), small_config()).unwrap();
        assert_eq!(log.epoch_entries(), &expected[..], "checkpoint {garbage:?}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().lines().nth(1),
            Some("6")
        );
    }
}

#[test]
fn periodic_checkpoint_keeps_high_watermark_across_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    for _ in 0..10 {
        log.append(&batch(2, 50, 0), 0, 0).unwrap();
    }
    log.set_high_watermark(12);
    log.checkpoint().unwrap();
    log.set_high_watermark(18);
    // Crash: no Drop, no close.
    std::mem::forget(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.high_watermark(), 12);
    assert_eq!(log.log_end_offset(), 20);
}

#[test]
fn truncate_fully_and_start_at_restarts_an_empty_log_past_the_old_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    for k in 0..25 {
        log.append_as_follower(&epoch_batch(4 * k, 3, 4)).unwrap();
    }
    log.set_high_watermark(100);
    assert!(log.segment_count() > 2);
    // The leader's log now starts at 5000: everything here is older than what it keeps.
    log.truncate_fully_and_start_at(5000).unwrap();
    let state = |log: &PartitionLog| {
        (
            log.log_start_offset(),
            log.log_end_offset(),
            log.high_watermark(),
            log.segment_base_offsets(),
            log.epoch_entries().to_vec(),
        )
    };
    assert_eq!(state(&log), (5000, 5000, 5000, vec![5000], vec![]));
    assert_eq!(log.latest_epoch(), None);
    // The old segments' files are gone.
    let logs: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    assert_eq!(logs, vec![format!("{:020}.log", 5000)]);
    // Copying resumes at the new start, and all of it survives a reopen.
    log.append_as_follower(&epoch_batch(5000, 9, 4)).unwrap();
    log.set_high_watermark(5004);
    let before = state(&log);
    assert_eq!(before.4, vec![(9, 5000)]);
    drop(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(state(&log), before);
    assert_eq!(read_all(&log, 5000), vec![5000]);
}
