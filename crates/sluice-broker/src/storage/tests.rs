//! PartitionStore: the cleaner running beside produce and fetch, and truncation during a pass.

use bytes::Bytes;

use super::*;
use crate::batch::encode_batch;

/// A compacted partition led by this broker alone, with closed segments full of
/// overwritten keys k0..k9.
fn compacted_store(dir: &Path) -> PartitionStore {
    let settings = TopicSettings {
        log: LogConfig {
            compact: true,
            min_cleanable_dirty_ratio: 0.0,
            segment_bytes: 4096,
            segment_ms: None,
            retention_ms: None,
            ..LogConfig::default()
        },
    };
    let mut store = PartitionStore::open(dir, &settings, ReplicaState::sole_leader(0)).unwrap();
    for round in 0..100u8 {
        store.append(&keys(round), 0, 0).unwrap();
    }
    assert!(store.log.segment_count() > 3);
    store
}

/// One batch setting k0..k9 to `round`.
fn keys(round: u8) -> Bytes {
    encode_batch(
        (0..10).map(|k| (format!("k{k}").into_bytes(), Some(vec![round]))),
        0,
    )
    .unwrap()
}

#[test]
fn the_partition_lock_is_free_while_the_cleaner_cleans() {
    let dir = tempfile::tempdir().unwrap();
    let store = Mutex::new(compacted_store(dir.path()));
    let mut cleaned_unlocked = false;
    let out = maintain_partition_with(&store, 1_000, |plan| {
        // What a produce and a fetch do, from this thread: `try_lock` fails (instead of
        // deadlocking) if the maintenance still held the lock.
        let mut s = store
            .try_lock()
            .expect("partition lock free during the clean");
        let appended = s.append(&keys(200), 1_000, 0).unwrap();
        let region = s
            .read_region(appended.base_offset, 1 << 20, true, false)
            .unwrap();
        assert!(region.expect("the new batch").read_bytes().unwrap().len() > 61);
        drop(s);
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
    let records = store.into_inner().unwrap().read_all_records().unwrap();
    assert_eq!(records.len() as u64, 100 * 10 + 10 - out.records_removed);
    assert_eq!(&records[records.len() - 10..], &read_keys(200)[..]);
}

#[test]
fn a_pass_abandoned_by_a_truncation_is_retried_at_the_next_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let store = Mutex::new(compacted_store(dir.path()));
    let before = store.lock().unwrap().read_all_records().unwrap();
    let out = maintain_partition_with(&store, 1_000, |plan| {
        // A follower cutting its log to the leader's after an election: the clean then
        // reads past the end of the active segment and fails.
        let mut s = store.lock().unwrap();
        let end = s.log_end_offset();
        s.truncate_to(end - 10).unwrap();
        drop(s);
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
    let after = store.lock().unwrap().read_all_records().unwrap();
    assert_eq!(after, before[..before.len() - 10]);
    let out = maintain_partition(&store, 1_000)
        .unwrap()
        .expect("a pass ran");
    assert!(out.cleaned, "{out:?}");
}

fn read_keys(round: u8) -> Vec<KeyValue> {
    (0..10)
        .map(|k| (format!("k{k}").into_bytes(), Some(vec![round])))
        .collect()
}
