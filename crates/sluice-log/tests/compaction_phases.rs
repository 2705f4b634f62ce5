//! Compaction in three phases: plan (under the caller's lock), clean (with
//! no access to the log), commit (under the lock again), and what happens
//! when the log changes in between.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;

use common::*;
use sluice_log::batch::iter_batches;
use sluice_log::testing::{decode_records, BatchBuilder, DecodedRecord, TestRecord};
use sluice_log::{
    AbandonReason, CleanPlan, CleanedPass, CompactionPlan, LogConfig, LogError, PartitionLog,
};

fn compact_config() -> LogConfig {
    LogConfig {
        compact: true,
        min_cleanable_dirty_ratio: 0.0,
        ..small_config()
    }
}

/// `rounds` batches of 5 records over keys k0..k19, values `v{round}-{i}`.
fn overwrite_keys(log: &mut PartitionLog, rounds: usize, ts0: i64) {
    for round in 0..rounds {
        let records = (0..5)
            .map(|i| TestRecord {
                key: Some(format!("k{}", (round * 3 + i) % 20).into_bytes()),
                value: Some(format!("v{round}-{i}").into_bytes()),
                timestamp: ts0 + round as i64,
            })
            .collect();
        let b = BatchBuilder {
            records,
            ..BatchBuilder::default()
        };
        log.append(&b.build(), 0, 0).unwrap();
    }
}

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

fn commit_all(log: &mut PartitionLog) {
    let leo = log.log_end_offset();
    log.set_high_watermark(leo);
}

/// Closed segments full of overwritten keys and an empty active segment,
/// everything below the high watermark.
fn dirty_log(dir: &Path, config: LogConfig) -> PartitionLog {
    let mut log = PartitionLog::open(dir, config).unwrap();
    overwrite_keys(&mut log, 100, 0);
    force_roll(&mut log);
    commit_all(&mut log);
    assert!(log.segment_count() > 4);
    log
}

fn plan(log: &PartitionLog, now_ms: i64) -> CleanPlan {
    match log.plan_compaction(now_ms).unwrap() {
        CompactionPlan::Clean(plan) => plan,
        CompactionPlan::Skip(out) => panic!("nothing to clean: {out:?}"),
    }
}

fn clean(plan: CleanPlan) -> CleanedPass {
    let pass = plan.clean();
    assert!(pass.error().is_none(), "{:?}", pass.error());
    pass
}

/// Every record of the log, CRCs checked.
fn dump(log: &PartitionLog) -> Vec<DecodedRecord> {
    let mut out = Vec::new();
    let mut at = log.log_start_offset();
    loop {
        let s = log.read(at, 1 << 20, i64::MAX).expect("read");
        if s.records.is_empty() {
            return out;
        }
        for b in iter_batches(&s.records) {
            let b = b.expect("valid batch");
            b.verify_crc().expect("crc");
            out.extend(decode_records(b.bytes));
        }
        at = s.next_offset;
    }
}

/// The latest record of each key below `end`, everything from `end` on.
fn expected(all: &[DecodedRecord], end: i64) -> Vec<DecodedRecord> {
    let mut latest: HashMap<&[u8], i64> = HashMap::new();
    for r in all.iter().filter(|r| r.0 < end) {
        if let Some(k) = &r.1 {
            latest.insert(k, r.0);
        }
    }
    all.iter()
        .filter(|r| r.0 >= end || r.1.as_deref().is_none_or(|k| latest[k] == r.0))
        .cloned()
        .collect()
}

fn files_ending(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

fn cleaned_files(dir: &Path) -> Vec<String> {
    files_ending(dir, ".cleaned")
}

/// Name → bytes of every segment and index file.
fn segment_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    [".log", ".index", ".timeindex"]
        .iter()
        .flat_map(|s| files_ending(dir, s))
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

#[test]
fn appends_and_rolls_during_a_pass_are_kept_and_the_commit_goes_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = dirty_log(dir.path(), compact_config());
    let range_end = log.log_end_offset(); // base of the active segment
    let plan = plan(&log, 1000);
    // Before the clean: appends to the active segment, then a roll.
    overwrite_keys(&mut log, 30, 2000);
    force_roll(&mut log);
    overwrite_keys(&mut log, 5, 3000);
    let pass = clean(plan);
    assert!(pass.segments_to_replace() > 0);
    // After the clean: more appends.
    overwrite_keys(&mut log, 5, 4000);
    commit_all(&mut log);
    let all = dump(&log);
    assert!(all.last().unwrap().0 > range_end + 150);

    let out = log.commit_compaction(pass).unwrap();
    assert!(out.cleaned && out.abandoned.is_none(), "{out:?}");
    assert_eq!(out.cleaner_offset, Some(range_end));
    assert!(out.records_removed > 400, "{out:?}");
    assert_eq!(dump(&log), expected(&all, range_end));
    assert!(cleaned_files(dir.path()).is_empty());
    // The next pass takes the segments appended meanwhile.
    let again = log.compact(5000).unwrap();
    assert!(again.cleaned);
    assert!(again.cleaner_offset > Some(range_end));
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), compact_config()).unwrap();
    let after = dump(&log);
    let active = *log.segment_base_offsets().last().unwrap();
    assert_eq!(after, expected(&all, active));
}

#[test]
fn retention_between_plan_and_commit_abandons_the_pass() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_ms: Some(10_000),
        ..compact_config()
    };
    let mut log = PartitionLog::open(dir.path(), config.clone()).unwrap();
    overwrite_keys(&mut log, 10, 0); // expires at `now`
    force_roll(&mut log);
    overwrite_keys(&mut log, 60, 50_000);
    force_roll(&mut log);
    commit_all(&mut log);
    let now = 55_000;
    let pass = clean(plan(&log, now));
    assert!(
        !cleaned_files(dir.path()).is_empty(),
        "the clean wrote files"
    );
    assert_eq!(log.apply_retention(now).unwrap().deleted_segments, 1);
    let before = dump(&log);
    let files_before = segment_files(dir.path());

    let out = log.commit_compaction(pass).unwrap();
    assert_eq!(out.abandoned, Some(AbandonReason::SegmentsChanged));
    assert!(!out.cleaned);
    assert_eq!((out.cleaner_offset, out.records_removed), (None, 0));
    assert!(cleaned_files(dir.path()).is_empty());
    assert_eq!(dump(&log), before, "data intact");
    assert_eq!(segment_files(dir.path()), files_before, "no file replaced");
    // Not stuck: the next pass plans and commits.
    let out = log.compact(now).unwrap();
    assert!(out.cleaned && out.records_removed > 0, "{out:?}");
    assert_eq!(dump(&log), expected(&before, i64::MAX));
}

#[test]
fn truncation_between_plan_and_commit_abandons_the_pass() {
    // Truncating in the active segment only or into the cleanable range;
    // after the clean, then appending past the planned size (which no size
    // check can tell apart), or before it, so that the clean's reads come up
    // short and it fails.
    for (into_range, before_clean) in [(false, false), (true, false), (false, true), (true, true)] {
        let case = format!("into range: {into_range}, before clean: {before_clean}");
        let dir = tempfile::tempdir().unwrap();
        let mut log = dirty_log(dir.path(), compact_config());
        let active = log.log_end_offset();
        overwrite_keys(&mut log, 8, 1000);
        commit_all(&mut log);
        let plan = plan(&log, 1000);
        let to = if into_range { active - 12 } else { active + 12 };
        // Only a shorter segment tells, unless the truncation counter does.
        let reason = if into_range || before_clean {
            AbandonReason::SegmentsChanged
        } else {
            AbandonReason::Truncated
        };
        let pass = if before_clean {
            log.truncate_to(to).unwrap();
            let pass = plan.clean();
            assert!(
                matches!(pass.error(), Some(LogError::Io { .. })),
                "{case}: {:?}",
                pass.error()
            );
            pass
        } else {
            let pass = clean(plan);
            assert!(cleaned_files(dir.path()).len() >= 2);
            log.truncate_to(to).unwrap();
            overwrite_keys(&mut log, 20, 2000);
            commit_all(&mut log);
            pass
        };
        let before = dump(&log);

        let out = log.commit_compaction(pass).unwrap();
        assert_eq!(out.abandoned, Some(reason), "{case}");
        assert!(!out.cleaned);
        assert!(cleaned_files(dir.path()).is_empty());
        assert_eq!(dump(&log), before, "{case}: data intact");
        assert!(log.compact(3000).unwrap().cleaned);
    }
}

#[test]
fn a_second_plan_is_refused_while_one_is_outstanding() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = dirty_log(dir.path(), compact_config());
    let first = plan(&log, 1000);
    let busy = |log: &mut PartitionLog| {
        matches!(
            log.plan_compaction(1000),
            Err(LogError::CompactionInProgress)
        ) && matches!(log.compact(1000), Err(LogError::CompactionInProgress))
    };
    assert!(busy(&mut log));
    let pass = clean(first);
    assert!(busy(&mut log), "still outstanding once cleaned");
    assert_eq!(cleaned_files(dir.path()).len(), pass.segments_to_replace());
    // Dropping an uncommitted pass deletes its files and frees the log.
    drop(pass);
    assert!(cleaned_files(dir.path()).is_empty());
    let second = clean(plan(&log, 1000));
    assert!(busy(&mut log));
    assert!(log.commit_compaction(second).unwrap().cleaned);
    assert!(!busy(&mut log), "a commit frees the log");
    // A plan with nothing to do does not hold the log either.
    assert!(matches!(
        log.plan_compaction(1000).unwrap(),
        CompactionPlan::Skip(_)
    ));
    assert!(!busy(&mut log));
}

#[test]
fn a_failed_clean_deletes_its_files_and_frees_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = dirty_log(dir.path(), compact_config());
    log.flush().unwrap();
    // A value byte of the last batch of the third segment flipped: records
    // still parse (the offset map is built), its CRC no longer matches (the
    // filter refuses it) after the first segments' cleaned copies exist.
    let bases = log.segment_base_offsets();
    let victim = dir.path().join(format!("{:020}.log", bases[2]));
    let mut bytes = std::fs::read(&victim).unwrap();
    let at = bytes.windows(2).rposition(|w| w == b"-4").unwrap() + 1;
    bytes[at] = b'5';
    std::fs::write(&victim, &bytes).unwrap();
    let files_before = segment_files(dir.path());

    let mut most_cleaned = 0;
    let pass = plan(&log, 1000)
        .clean_with_hook(|_| most_cleaned = most_cleaned.max(cleaned_files(dir.path()).len()));
    assert!(most_cleaned >= 2, "files were written before the error");
    assert!(
        matches!(pass.error(), Some(LogError::CrcMismatch { .. })),
        "{:?}",
        pass.error()
    );
    assert_eq!(pass.segments_to_replace(), 0);
    assert!(cleaned_files(dir.path()).is_empty(), "deleted at once");
    // The log did not change, so the commit reports the error.
    let err = log.commit_compaction(pass).unwrap_err();
    assert!(matches!(err, LogError::CrcMismatch { .. }), "{err}");
    assert_eq!(segment_files(dir.path()), files_before);
    // The log can plan again (and fails the same way on the same data).
    assert!(matches!(
        log.compact(1000),
        Err(LogError::CrcMismatch { .. })
    ));
    assert!(cleaned_files(dir.path()).is_empty());
}

#[test]
fn the_clean_runs_on_another_thread_while_the_log_is_written_and_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = dirty_log(dir.path(), compact_config());
    let range_end = log.log_end_offset();
    let before = dump(&log);
    let plan = plan(&log, 1000);
    let (in_flight_tx, in_flight) = mpsc::channel();
    let (resume, resume_rx) = mpsc::channel::<()>();
    // `plan` owns what it reads: it moves to a 'static thread while this
    // thread keeps `&mut log`, as a broker does once it drops the lock.
    let cleaner = std::thread::spawn(move || {
        let mut first = true;
        plan.clean_with_hook(move |_| {
            if std::mem::take(&mut first) {
                in_flight_tx.send(()).unwrap();
                resume_rx.recv().unwrap();
            }
        })
    });
    in_flight.recv().unwrap(); // one segment filtered, the others not yet
    overwrite_keys(&mut log, 20, 2000);
    force_roll(&mut log);
    overwrite_keys(&mut log, 3, 3000);
    commit_all(&mut log);
    let during = dump(&log);
    assert_eq!(during[..before.len()], before[..]);
    assert_eq!(during.len(), before.len() + 115);
    resume.send(()).unwrap();
    let pass = cleaner.join().unwrap();
    assert!(pass.error().is_none());

    let out = log.commit_compaction(pass).unwrap();
    assert!(out.cleaned, "{out:?}");
    assert_eq!(out.cleaner_offset, Some(range_end));
    assert_eq!(dump(&log), expected(&during, range_end));
}

#[test]
fn a_pass_planned_before_a_reopen_is_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let log = dirty_log(dir.path(), compact_config());
    let pass = clean(plan(&log, 1000));
    let before = dump(&log);
    log.close().unwrap();
    let mut log = PartitionLog::open(dir.path(), compact_config()).unwrap();
    let out = log.commit_compaction(pass).unwrap();
    assert_eq!(out.abandoned, Some(AbandonReason::OtherLog));
    assert_eq!(dump(&log), before);
    assert!(cleaned_files(dir.path()).is_empty());
    assert!(log.compact(1000).unwrap().cleaned);
}

#[test]
fn a_pass_whose_directory_was_recreated_is_abandoned() {
    // The broker deletes a replica's directory without its log's lock, and a
    // topic re-created under the same name opens a new log at that path.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("orders-0");
    let mut old = dirty_log(&dir, compact_config());
    let plan = plan(&old, 1000);
    std::fs::remove_dir_all(&dir).unwrap();
    let new = dirty_log(&dir, compact_config());
    let new_records = dump(&new);
    let new_files = segment_files(&dir);
    // The clean writes `<base>.log.cleaned` files into the new directory.
    let pass = clean(plan);
    assert!(!cleaned_files(&dir).is_empty());

    let out = old.commit_compaction(pass).unwrap();
    assert_eq!(out.abandoned, Some(AbandonReason::OtherLog));
    assert!(cleaned_files(&dir).is_empty());
    assert_eq!(
        segment_files(&dir),
        new_files,
        "the new log's files untouched"
    );
    assert_eq!(dump(&new), new_records);
}

#[test]
fn cleaned_segments_get_the_indexes_a_rebuild_writes() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        index_interval_bytes: 64, // many entries, across kept and rewritten batches
        ..compact_config()
    };
    // Runs of batches with keys never overwritten (kept verbatim) at the
    // start of segments and between rewritten and dropped batches.
    let mut log = PartitionLog::open(dir.path(), config.clone()).unwrap();
    for round in 0..40 {
        for i in 0..4 {
            let b = BatchBuilder {
                records: vec![TestRecord {
                    key: Some(format!("u{round}-{i}").into_bytes()),
                    value: Some(b"kept".to_vec()),
                    timestamp: round,
                }],
                ..BatchBuilder::default()
            };
            log.append(&b.build(), 0, 0).unwrap();
        }
        overwrite_keys(&mut log, 4, round * 10);
    }
    force_roll(&mut log);
    commit_all(&mut log);
    let out = log.compact(1000).unwrap();
    assert!(out.segments_rewritten > 4, "{out:?}");
    let before = dump(&log);
    log.close().unwrap();
    let built = segment_files(dir.path());
    for name in files_ending(dir.path(), "index") {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    let log = PartitionLog::open(dir.path(), config).unwrap();
    assert_eq!(dump(&log), before);
    log.close().unwrap();
    assert_eq!(segment_files(dir.path()), built);
}
