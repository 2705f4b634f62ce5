mod common;

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use common::*;
use sluice_log::batch::iter_batches;
use sluice_log::testing::batch;
use sluice_log::PartitionLog;

fn seg_file(dir: &Path, base: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{base:020}{suffix}"))
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A flushed log with several segments; returns the (base, last) offsets
/// of every batch and the base offset of the active segment.
fn build_log(dir: &Path, seed: u64) -> (Vec<(i64, i64)>, i64) {
    let mut log = PartitionLog::open(dir, small_config()).unwrap();
    let batches = fill(&mut log, 60, 0, &mut Rng(seed));
    let active = *log.segment_base_offsets().last().unwrap();
    assert!(log.segment_count() >= 3);
    log.close().unwrap();
    (batches, active)
}

/// (base offset, end position) of each batch in a segment file.
fn batch_ends(path: &Path) -> Vec<(i64, u64)> {
    let data = fs::read(path).unwrap();
    iter_batches(&data)
        .map(|b| b.unwrap())
        .map(|b| (b.header.base_offset, (b.position + b.bytes.len()) as u64))
        .collect()
}

/// After reopening: exactly the batches before `keep_before` survive, and
/// appends continue right after them.
fn check_survivors(dir: &Path, batches: &[(i64, i64)], keep_before: i64) {
    let mut log = PartitionLog::open(dir, small_config()).unwrap();
    let expected: Vec<i64> = batches
        .iter()
        .map(|b| b.0)
        .filter(|&b| b < keep_before)
        .collect();
    assert_eq!(read_all(&log, 0), expected);
    let leo = batches
        .iter()
        .filter(|b| b.0 < keep_before)
        .map(|b| b.1 + 1)
        .max()
        .unwrap_or(0);
    assert_eq!(log.log_end_offset(), leo);
    let info = log.append(&batch(2, 10, 0), 0, 0).unwrap();
    assert_eq!(info.base_offset, leo);
    assert_eq!(*read_all(&log, 0).last().unwrap(), leo);
}

#[test]
fn torn_active_segment_is_cut_at_last_whole_batch() {
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine");
    let (batches, active) = build_log(&pristine, 3);
    let log_path = seg_file(&pristine, active, ".log");
    let ends = batch_ends(&log_path);
    let len = fs::metadata(&log_path).unwrap().len();
    let mut rng = Rng(99);
    // Every boundary ±1 plus random cut points.
    let mut cuts: Vec<u64> = ends
        .iter()
        .flat_map(|&(_, e)| [e.saturating_sub(1), e, e + 1])
        .filter(|&c| c <= len)
        .collect();
    cuts.extend((0..60).map(|_| rng.below(len + 1)));
    cuts.push(0);
    for (i, cut) in cuts.into_iter().enumerate() {
        let dir = root.path().join(format!("cut{i}"));
        copy_dir(&pristine, &dir);
        OpenOptions::new()
            .write(true)
            .open(seg_file(&dir, active, ".log"))
            .unwrap()
            .set_len(cut)
            .unwrap();
        // First batch (by offset) that no longer fits entirely.
        let keep_before = ends
            .iter()
            .find(|&&(_, e)| e > cut)
            .map_or(i64::MAX, |&(b, _)| b);
        check_survivors(&dir, &batches, keep_before);
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn garbage_tails_are_cut() {
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine");
    let (batches, active) = build_log(&pristine, 5);
    let log_path = seg_file(&pristine, active, ".log");
    let data = fs::read(&log_path).unwrap();
    let first_batch = iter_batches(&data).next().unwrap().unwrap().bytes.to_vec();
    let mut rng = Rng(1234);
    let mut tails: Vec<Vec<u8>> = vec![
        vec![0; 4096],              // zero-filled extent after power loss
        first_batch.clone(),        // valid batch, offsets going backwards
        first_batch[..30].to_vec(), // torn header
        vec![0xff; 61],             // impossible length
    ];
    for _ in 0..20 {
        let n = rng.below(300) as usize + 1;
        tails.push((0..n).map(|_| rng.next() as u8).collect());
    }
    for (i, tail) in tails.iter().enumerate() {
        let dir = root.path().join(format!("tail{i}"));
        copy_dir(&pristine, &dir);
        let mut with_tail = data.clone();
        with_tail.extend_from_slice(tail);
        fs::write(seg_file(&dir, active, ".log"), with_tail).unwrap();
        drop(PartitionLog::open(&dir, small_config()).unwrap());
        assert_eq!(
            fs::metadata(seg_file(&dir, active, ".log")).unwrap().len(),
            data.len() as u64,
            "tail {i}"
        );
        check_survivors(&dir, &batches, i64::MAX);
    }
}

#[test]
fn corrupt_byte_in_tail_batch_detected_by_crc() {
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine");
    let (batches, active) = build_log(&pristine, 8);
    let log_path = seg_file(&pristine, active, ".log");
    let ends = batch_ends(&log_path);
    let data = fs::read(&log_path).unwrap();
    let (last_base, _) = *ends.last().unwrap();
    let last_start = ends.len().checked_sub(2).map_or(0, |i| ends[i].1) as usize;
    // Flip one byte anywhere inside the CRC-covered part of the last batch.
    for at in [
        last_start + 21,
        last_start + 40,
        (last_start + data.len()) / 2,
        data.len() - 1,
    ] {
        let dir = root.path().join(format!("flip{at}"));
        copy_dir(&pristine, &dir);
        let mut d = data.clone();
        d[at] ^= 0x10;
        fs::write(seg_file(&dir, active, ".log"), d).unwrap();
        check_survivors(&dir, &batches, last_base);
    }
}

#[test]
fn unflushed_older_segment_is_recovered_and_later_segments_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), small_config()).unwrap();
    let batches = fill(&mut log, 60, 0, &mut Rng(21));
    let segs = log.segment_base_offsets();
    drop(log); // no flush: recovery point stays at 0, so every segment is checked
    let victim = segs[1];
    let path = seg_file(dir.path(), victim, ".log");
    let ends = batch_ends(&path);
    let cut = ends[ends.len() / 2].1 - 3;
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let keep_before = ends.iter().find(|&&(_, e)| e > cut).unwrap().0;
    check_survivors(dir.path(), &batches, keep_before);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![segs[0], segs[1]]);
}

#[test]
fn missing_or_corrupt_indexes_are_rebuilt() {
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine");
    let (batches, active) = build_log(&pristine, 13);
    let segs: Vec<i64> = {
        let log = PartitionLog::open(&pristine, small_config()).unwrap();
        log.segment_base_offsets()
    };
    let victims: Vec<i64> = segs.iter().copied().filter(|&s| s != active).collect();
    let originals: Vec<(Vec<u8>, Vec<u8>)> = victims
        .iter()
        .map(|&b| {
            (
                fs::read(seg_file(&pristine, b, ".index")).unwrap(),
                fs::read(seg_file(&pristine, b, ".timeindex")).unwrap(),
            )
        })
        .collect();
    type Damage = fn(&Path, i64);
    let damages: [(&str, Damage); 6] = [
        ("missing both", |d, b| {
            fs::remove_file(seg_file(d, b, ".index")).unwrap();
            fs::remove_file(seg_file(d, b, ".timeindex")).unwrap();
        }),
        ("missing time index", |d, b| {
            fs::remove_file(seg_file(d, b, ".timeindex")).unwrap()
        }),
        ("partial entry", |d, b| {
            let p = seg_file(d, b, ".index");
            let mut x = fs::read(&p).unwrap();
            x.push(7);
            fs::write(p, x).unwrap();
        }),
        ("position past end", |d, b| {
            let p = seg_file(d, b, ".index");
            let mut x = fs::read(&p).unwrap();
            let n = x.len();
            x[n - 4..].copy_from_slice(&u32::MAX.to_be_bytes());
            fs::write(p, x).unwrap();
        }),
        ("entry inside a batch", |d, b| {
            let p = seg_file(d, b, ".index");
            let mut x = fs::read(&p).unwrap();
            let n = x.len();
            let pos = u32::from_be_bytes([x[n - 4], x[n - 3], x[n - 2], x[n - 1]]) + 1;
            x[n - 4..].copy_from_slice(&pos.to_be_bytes());
            fs::write(p, x).unwrap();
        }),
        ("time index garbage", |d, b| {
            fs::write(seg_file(d, b, ".timeindex"), [0xabu8; 24]).unwrap()
        }),
    ];
    for (name, damage) in damages {
        let dir = root.path().join(name.replace(' ', "_"));
        copy_dir(&pristine, &dir);
        for &v in &victims {
            damage(&dir, v);
        }
        let log = PartitionLog::open(&dir, small_config()).unwrap();
        for &(base, last) in &batches {
            for off in [base, last] {
                let s = log.read(off, 1, i64::MAX).unwrap();
                assert_eq!(bases(&s.records), vec![base], "{name}: offset {off}");
            }
            let ts = (batches.iter().position(|b| b.0 == base).unwrap() * 10) as i64;
            assert_eq!(
                log.offset_for_timestamp(ts).unwrap().map(|r| r.0),
                Some(base),
                "{name}: ts {ts}"
            );
        }
        drop(log);
        for (&v, (oi, ti)) in victims.iter().zip(&originals) {
            assert_eq!(
                &fs::read(seg_file(&dir, v, ".index")).unwrap(),
                oi,
                "{name}: rebuilt .index of {v}"
            );
            assert_eq!(
                &fs::read(seg_file(&dir, v, ".timeindex")).unwrap(),
                ti,
                "{name}: rebuilt .timeindex of {v}"
            );
        }
    }
}

#[test]
fn clean_reopen_trusts_old_segments_and_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let (batches, _) = build_log(dir.path(), 17);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(
        read_all(&log, 0),
        batches.iter().map(|b| b.0).collect::<Vec<_>>()
    );
    for (i, b) in batches.iter().enumerate() {
        assert_eq!(
            log.offset_for_timestamp(10 * i as i64)
                .unwrap()
                .map(|r| r.0),
            Some(b.0)
        );
    }
}
