//! Log cleaner throughput for `sluice-log`, and how long a pass holds the
//! partition lock.
//!
//! Writes `--mb` (default 100) MiB of keyed records (`--keys` distinct keys,
//! default 100,000; 200-byte values; 50 records per batch) into 16 MiB
//! segments, once uncompressed and once per `--codecs` entry. Then, `--runs`
//! times (default 3) on a fresh copy of that log, runs one pass over all
//! closed segments phase by phase and times each: plan and commit are what
//! a caller holds its partition lock for, clean runs without it (before the
//! phases, the whole pass held it). Prints the medians (and the range: the
//! commit's directory fsyncs vary a lot on a busy disk), the input MiB/s and
//! the size reduction.
//!
//! `cargo run --release -p sluice-log --example compact_bench -- [--mb N] [--keys N] [--codecs 0,1,2,3,4] [--runs N] [--dir PATH]`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sluice_log::testing::{BatchBuilder, TestRecord};
use sluice_log::{CompactionOutcome, CompactionPlan, LogConfig, PartitionLog};

const VALUE_LEN: usize = 200;
const PER_BATCH: usize = 50;

fn main() {
    let mut mb = 100u64;
    let mut keys = 100_000u64;
    let mut codecs = vec![0u8, 1, 2, 3, 4];
    let mut runs = 3usize;
    let mut dir = std::env::temp_dir();
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--mb" => mb = v.parse().expect("--mb N"),
            "--keys" => keys = v.parse().expect("--keys N"),
            "--codecs" => {
                codecs = v
                    .split(',')
                    .map(|c| c.parse().expect("codec id 0-4"))
                    .collect()
            }
            "--runs" => runs = v.parse::<usize>().expect("--runs N").max(1),
            "--dir" => dir = PathBuf::from(v),
            other => panic!("unknown argument {other}"),
        }
    }
    println!(
        "compact_bench: {mb} MiB per run, {keys} keys, {VALUE_LEN}-byte values, \
         {PER_BATCH} records/batch, median of {runs} runs"
    );
    let config = LogConfig {
        segment_bytes: 16 << 20,
        segment_ms: None,
        retention_ms: None,
        compact: true,
        min_cleanable_dirty_ratio: 0.0,
        ..LogConfig::default()
    };
    for codec in codecs {
        let template = tempfile::tempdir_in(&dir).expect("tempdir");
        let t = Instant::now();
        let n = write_log(template.path(), &config, codec, mb, keys);
        let write_s = t.elapsed().as_secs_f64();
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let copy = tempfile::tempdir_in(&dir).expect("tempdir");
            copy_dir(template.path(), copy.path());
            let mut log = PartitionLog::open(copy.path(), config.clone()).expect("open");
            samples.push(timed_pass(&mut log, n as i64));
        }
        let out = samples[0].out;
        // (median, min, max) of one measure over the runs.
        let stats = |f: &dyn Fn(&Sample) -> Duration| {
            let mut v: Vec<Duration> = samples.iter().map(f).collect();
            v.sort();
            (v[v.len() / 2], v[0], v[v.len() - 1])
        };
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let plan = stats(&|s| s.plan);
        let commit = stats(&|s| s.commit);
        let locked = stats(&|s| s.plan + s.commit);
        let clean = stats(&|s| s.clean);
        let total = stats(&|s| s.plan + s.clean + s.commit).0.as_secs_f64();
        let mib = out.bytes_before as f64 / f64::from(1 << 20);
        println!(
            "codec {codec}: {n} records, {mib:.1} MiB in {} segments (written in {write_s:.1}s); \
             {:.1} MiB after ({} records removed, {} segments rewritten)",
            out.segments_scanned,
            out.bytes_after as f64 / f64::from(1 << 20),
            out.records_removed,
            out.segments_rewritten,
        );
        println!(
            "  lock held {:.1} ms ({:.1}-{:.1}; plan {:.0} us + commit {:.1} ms); \
             clean without the lock {:.0} ms ({:.0}-{:.0}); whole pass {total:.2}s = {:.0} MiB/s, \
             all of it under the lock before",
            ms(locked.0),
            ms(locked.1),
            ms(locked.2),
            plan.0.as_secs_f64() * 1e6,
            ms(commit.0),
            ms(clean.0),
            ms(clean.1),
            ms(clean.2),
            mib / total,
        );
    }
}

struct Sample {
    plan: Duration,
    clean: Duration,
    commit: Duration,
    out: CompactionOutcome,
}

fn timed_pass(log: &mut PartitionLog, now_ms: i64) -> Sample {
    let t = Instant::now();
    let CompactionPlan::Clean(plan) = log.plan_compaction(now_ms).expect("plan") else {
        panic!("nothing to clean");
    };
    let plan_t = t.elapsed();
    let t = Instant::now();
    let pass = plan.clean();
    let clean_t = t.elapsed();
    let t = Instant::now();
    let out = log.commit_compaction(pass).expect("compact");
    let commit_t = t.elapsed();
    assert!(out.cleaned, "{out:?}");
    Sample {
        plan: plan_t,
        clean: clean_t,
        commit: commit_t,
        out,
    }
}

/// Fills a log with `mb` MiB on disk, rolls it so the whole of it is
/// cleanable, and closes it. Returns the number of records.
fn write_log(dir: &Path, config: &LogConfig, codec: u8, mb: u64, keys: u64) -> u64 {
    let mut log = PartitionLog::open(dir, config.clone()).expect("open");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut n = 0u64;
    // Stop at the target on-disk size (compressed codecs write fewer bytes per record).
    while log.size_bytes() < mb << 20 {
        let records = (0..PER_BATCH)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                n += 1;
                let mut value = vec![(n % 251) as u8; VALUE_LEN];
                value[..8].copy_from_slice(&x.to_be_bytes());
                TestRecord {
                    key: Some(format!("key-{}", x % keys).into_bytes()),
                    value: Some(value),
                    timestamp: n as i64,
                }
            })
            .collect();
        let b = BatchBuilder {
            records,
            ..BatchBuilder::default()
        };
        log.append(&b.build_compressed(codec), 0, 0)
            .expect("append");
    }
    log.update_config(LogConfig {
        segment_ms: Some(0),
        ..log.config().clone()
    })
    .expect("config");
    log.roll_if_due(i64::MAX).expect("roll");
    let leo = log.log_end_offset();
    log.set_high_watermark(leo);
    log.close().expect("close");
    n
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("list");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}
