//! The partition's lock: free while the cleaner cleans, truncation during a pass, and a
//! poisoned lock recovered from the files.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sluice_log::LogConfig;

use super::leader::{Acks, FetchPosition, FetchRead, OffsetSpec};
use super::*;
use crate::batch::{encode_batch, KeyValue};

fn partition(dir: &Path, log: LogConfig) -> Partition {
    Partition::open(
        "t",
        0,
        uuid::Uuid::nil(),
        dir,
        &TopicSettings { log },
        ReplicaState::sole_leader(0),
        Arc::new(watch::channel(0).0),
    )
    .unwrap()
}

/// A compacted partition led by this broker alone, with closed segments full of
/// overwritten keys k0..k9.
fn compacted(dir: &Path) -> Partition {
    let p = partition(
        dir,
        LogConfig {
            compact: true,
            min_cleanable_dirty_ratio: 0.0,
            segment_bytes: 4096,
            segment_ms: None,
            retention_ms: None,
            ..LogConfig::default()
        },
    );
    for round in 0..100u8 {
        p.append(&keys(round), Acks::Leader, 0).unwrap();
    }
    assert!(p.lock_recovering().store.segment_count() > 3);
    p
}

/// One batch setting k0..k9 to `round`.
fn keys(round: u8) -> Bytes {
    encode_batch(
        (0..10).map(|k| (format!("k{k}").into_bytes(), Some(vec![round]))),
        0,
    )
    .unwrap()
}

fn read_keys(round: u8) -> Vec<KeyValue> {
    (0..10)
        .map(|k| (format!("k{k}").into_bytes(), Some(vec![round])))
        .collect()
}

fn consumer_read(p: &Partition, offset: i64) -> Result<Bytes, ResponseError> {
    let pos = FetchPosition {
        fetch_offset: offset,
        current_leader_epoch: -1,
        replica: None,
        follower_reads: false,
        max_bytes: 1 << 20,
        must_progress: true,
    };
    match p.read_for_fetch(pos, Instant::now(), |_| None)?.read {
        FetchRead::Records(Some(r)) => Ok(r.read_bytes().unwrap()),
        FetchRead::Records(None) => Ok(Bytes::new()),
        other => panic!("unexpected read {other:?}"),
    }
}

#[test]
fn the_partition_lock_is_free_while_the_cleaner_cleans() {
    let dir = tempfile::tempdir().unwrap();
    let p = compacted(dir.path());
    let mut cleaned_unlocked = false;
    let out = p
        .maintain_with(1_000, |plan| {
            // `try_lock` fails (instead of deadlocking) if the maintenance still held the
            // lock; then what a produce and a fetch do, from this thread.
            drop(
                p.state
                    .try_lock()
                    .expect("partition lock free during the clean"),
            );
            let pending = p.append(&keys(200), Acks::Leader, 1_000).unwrap();
            let base = p.offsets().unwrap().log_end - 10;
            assert_eq!(pending.written(), Some(10));
            assert!(consumer_read(&p, base).unwrap().len() > 61);
            cleaned_unlocked = true;
            plan.clean()
        })
        .unwrap()
        .expect("a pass ran");
    assert!(cleaned_unlocked);
    assert!(out.cleaned && out.abandoned.is_none(), "{out:?}");
    assert!(out.records_removed > 500, "{out:?}");
    // Everything but the removed records is there, the batch produced during the clean
    // last.
    let records = p.read_all_records().unwrap();
    assert_eq!(records.len() as u64, 100 * 10 + 10 - out.records_removed);
    assert_eq!(&records[records.len() - 10..], &read_keys(200)[..]);
}

#[test]
fn a_pass_abandoned_by_a_truncation_is_retried_at_the_next_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let p = compacted(dir.path());
    let before = p.read_all_records().unwrap();
    let out = p
        .maintain_with(1_000, |plan| {
            // A follower cutting its log to the leader's after an election: the clean then
            // reads past the end of the active segment and fails.
            {
                let mut s = p.state.lock().unwrap();
                let end = s.store.log_end_offset();
                s.store.truncate_to(end - 10).unwrap();
            }
            let pass = plan.clean();
            assert!(pass.error().is_some());
            pass
        })
        .unwrap()
        .expect("a pass ran");
    assert_eq!(
        out.abandoned,
        Some(sluice_log::AbandonReason::SegmentsChanged)
    );
    assert!(!out.cleaned);
    let after = p.read_all_records().unwrap();
    assert_eq!(after, before[..before.len() - 10]);
    let out = p.maintain(1_000).unwrap().expect("a pass ran");
    assert!(out.cleaned, "{out:?}");
}

#[test]
fn a_poisoned_lock_is_recovered_from_the_files_and_the_replica_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let p = partition(dir.path(), LogConfig::default());
    for round in 0..5u8 {
        p.append(&keys(round), Acks::Leader, 0).unwrap();
    }
    let before = p.offsets().unwrap();
    assert_eq!(before.log_end, 50);
    assert_eq!(before.high_watermark, 50);
    p.poison_for_test();
    assert!(p.state.is_poisoned());
    // The next operation reopens the log: every record is still there and readable, the
    // replica still leads, and appends go on at the next offset.
    assert_eq!(p.offsets().unwrap(), before);
    assert!(!p.state.is_poisoned());
    assert!(p.leads(-1));
    assert_eq!(p.read_all_records().unwrap().len(), 50);
    // The last batch as written, at its offset.
    let read = consumer_read(&p, 40).unwrap();
    assert_eq!(read[..8], 40i64.to_be_bytes());
    assert_eq!(read[8..], keys(4)[8..]);
    p.append(&keys(5), Acks::Leader, 0).unwrap();
    assert_eq!(p.offsets().unwrap().log_end, 60);
    let latest = p.list_offset(-1, OffsetSpec::Latest, false).unwrap();
    assert_eq!(latest.offset, 60);
}

#[test]
fn after_a_poisoned_lock_the_producer_state_still_deduplicates_retries() {
    let dir = tempfile::tempdir().unwrap();
    let p = partition(dir.path(), LogConfig::default());
    let batch = idempotent_batch(7, 0);
    let first = p.append(&batch, Acks::Leader, 0).unwrap();
    assert_eq!(first.written(), Some(1));
    p.poison_for_test();
    // Rebuilt from the log: the retry is recognised, not written twice.
    let retry = p.append(&batch, Acks::Leader, 0).unwrap();
    assert_eq!(retry.written(), None);
    assert_eq!(p.offsets().unwrap().log_end, 1);
}

#[test]
fn a_replica_whose_files_are_gone_goes_offline_and_comes_back_when_they_can_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("t-0");
    let p = partition(&log_dir, LogConfig::default());
    p.append(&keys(0), Acks::Leader, 0).unwrap();
    // A reopen cannot create the directory where a file now stands.
    std::fs::remove_dir_all(&log_dir).unwrap();
    std::fs::write(&log_dir, b"not a directory").unwrap();
    p.poison_for_test();
    assert_eq!(p.offsets(), Err(ResponseError::KafkaStorageError));
    assert_eq!(
        p.append(&keys(1), Acks::Leader, 0).unwrap_err(),
        ResponseError::KafkaStorageError
    );
    assert!(!p.leads(-1));
    assert!(p.maintain(0).is_err());
    // The next housekeeping pass tries again; once the directory can be made, the replica
    // serves again (empty: its files were lost).
    std::fs::remove_file(&log_dir).unwrap();
    p.maintain(0).unwrap();
    assert_eq!(p.offsets().unwrap().log_end, 0);
    p.append(&keys(1), Acks::Leader, 0).unwrap();
    assert_eq!(p.offsets().unwrap().log_end, 10);
}

/// One record from idempotent producer `pid`, epoch 0, at sequence `seq`.
fn idempotent_batch(pid: i64, seq: i32) -> Bytes {
    let mut b = sluice_log::testing::BatchBuilder::values(0, &[b"v"]);
    b.producer_id = pid;
    b.producer_epoch = 0;
    b.base_sequence = seq;
    Bytes::from(b.build())
}
