//! Append/read microbenchmark for `sluice-log`.
//!
//! Appends `--records` (default 1,000,000) 100-byte records in ~16 KiB
//! batches, as a producer would send them, then reads them back in 1 MiB
//! fetches. Modes: page cache (one appender), durable with group commit
//! (8 concurrent appender threads on one partition). Peers measured in the
//! same run for context: CRC-32C over the same bytes, plain `write(2)` of the
//! same batches to a file, and write + fdatasync per batch (no group commit).
//!
//! `cargo run --release -p sluice-log --example log_bench -- [--records N] [--runs N] [--dir PATH]`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_log::batch::iter_batches;
use sluice_log::testing::BatchBuilder;
use sluice_log::{Flusher, LogConfig, PartitionLog};

const VALUE_LEN: usize = 100;
const BATCH_TARGET: usize = 16 * 1024;
const COMMIT_DELAY: Duration = Duration::from_micros(500);

struct Args {
    records: usize,
    runs: usize,
    dir: PathBuf,
}

fn parse_args() -> Args {
    let mut a = Args {
        records: 1_000_000,
        runs: 5,
        dir: std::env::temp_dir(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--records" => a.records = v.parse().expect("--records N"),
            "--runs" => a.runs = v.parse().expect("--runs N"),
            "--dir" => a.dir = PathBuf::from(v),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Distinct ~16 KiB batches to cycle through; returns (batches, records per batch).
fn make_batches() -> (Vec<Vec<u8>>, usize) {
    let per_batch = BATCH_TARGET / (VALUE_LEN + 8);
    let batches = (0..16)
        .map(|k| {
            let values: Vec<Vec<u8>> = (0..per_batch)
                .map(|i| vec![((i + k) % 251) as u8; VALUE_LEN])
                .collect();
            BatchBuilder::values(1_700_000_000_000 + k as i64, &values).build()
        })
        .collect();
    (batches, per_batch)
}

struct Sample {
    secs: f64,
    records: usize,
    bytes: u64,
}

impl Sample {
    fn rec_per_s(&self) -> f64 {
        self.records as f64 / self.secs
    }
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.secs / 1e6
    }
}

fn report(name: &str, mut samples: Vec<Sample>, extra: &str) {
    samples.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let med = &samples[samples.len() / 2];
    let (best, worst) = (&samples[0], &samples[samples.len() - 1]);
    println!(
        "{name:<28} {:>12.0} rec/s {:>9.1} MB/s   (median of {}; range {:.0}–{:.0} MB/s){extra}",
        med.rec_per_s(),
        med.mb_per_s(),
        samples.len(),
        worst.mb_per_s(),
        best.mb_per_s()
    );
}

fn fresh_dir(root: &Path, name: &str) -> PathBuf {
    let d = root.join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn append_page_cache(dir: &Path, batches: &[Vec<u8>], n_batches: usize, per: usize) -> Sample {
    let mut log = PartitionLog::open(dir, LogConfig::default()).expect("open");
    let start = Instant::now();
    let mut bytes = 0u64;
    for i in 0..n_batches {
        let b = &batches[i % batches.len()];
        log.append(b, 0, 0).expect("append");
        bytes += b.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(log);
    Sample {
        secs,
        records: n_batches * per,
        bytes,
    }
}

fn read_back(dir: &Path) -> Sample {
    let log = PartitionLog::open(dir, LogConfig::default()).expect("open");
    let start = Instant::now();
    let (mut at, mut records, mut bytes) = (0i64, 0usize, 0u64);
    loop {
        let s = log.read(at, 1 << 20, i64::MAX).expect("read");
        if s.records.is_empty() {
            break;
        }
        for b in iter_batches(&s.records) {
            records += b.expect("batch").header.records_count as usize;
        }
        bytes += s.records.len() as u64;
        at = s.next_offset;
    }
    Sample {
        secs: start.elapsed().as_secs_f64(),
        records,
        bytes,
    }
}

fn append_durable(
    dir: &Path,
    batches: &[Vec<u8>],
    n_batches: usize,
    per: usize,
    commit_delay: Duration,
) -> (Sample, u64) {
    let flusher = Flusher::with_commit_delay(commit_delay).expect("flusher");
    let config = LogConfig {
        durable: true,
        ..LogConfig::default()
    };
    let log = Arc::new(Mutex::new(
        PartitionLog::open_with_flusher(dir, config, flusher.clone()).expect("open"),
    ));
    let threads = 8;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let log = Arc::clone(&log);
            s.spawn(move || {
                for i in (t..n_batches).step_by(threads) {
                    let info = log
                        .lock()
                        .expect("lock")
                        .append(&batches[i % batches.len()], 0, 0)
                        .expect("append");
                    info.sync.wait().expect("fsync");
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let bytes = (0..n_batches)
        .map(|i| batches[i % batches.len()].len() as u64)
        .sum();
    (
        Sample {
            secs,
            records: n_batches * per,
            bytes,
        },
        flusher.fsync_count(),
    )
}

/// 8 appenders, each on its own partition, sharing one flusher.
fn append_durable_partitions(
    root: &Path,
    batches: &[Vec<u8>],
    n_batches: usize,
    per: usize,
) -> (Sample, u64) {
    let flusher = Flusher::new();
    let config = LogConfig {
        durable: true,
        ..LogConfig::default()
    };
    let threads = 8;
    let logs: Vec<PartitionLog> = (0..threads)
        .map(|p| {
            PartitionLog::open_with_flusher(
                &root.join(format!("p{p}")),
                config.clone(),
                flusher.clone(),
            )
            .expect("open")
        })
        .collect();
    let start = Instant::now();
    std::thread::scope(|s| {
        for (t, mut log) in logs.into_iter().enumerate() {
            s.spawn(move || {
                for i in (t..n_batches).step_by(threads) {
                    let info = log
                        .append(&batches[i % batches.len()], 0, 0)
                        .expect("append");
                    info.sync.wait().expect("fsync");
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let bytes = (0..n_batches)
        .map(|i| batches[i % batches.len()].len() as u64)
        .sum();
    (
        Sample {
            secs,
            records: n_batches * per,
            bytes,
        },
        flusher.fsync_count(),
    )
}

fn crc_peer(batches: &[Vec<u8>], n_batches: usize, per: usize) -> Sample {
    let start = Instant::now();
    let mut acc = 0u32;
    let mut bytes = 0u64;
    for i in 0..n_batches {
        let b = &batches[i % batches.len()];
        acc ^= crc32c::crc32c(&b[21..]);
        bytes += b.len() as u64;
    }
    std::hint::black_box(acc);
    Sample {
        secs: start.elapsed().as_secs_f64(),
        records: n_batches * per,
        bytes,
    }
}

fn write_peer(dir: &Path, batches: &[Vec<u8>], n_batches: usize, per: usize) -> Sample {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut f = std::fs::File::create(dir.join("raw")).expect("create");
    let start = Instant::now();
    let mut bytes = 0u64;
    for i in 0..n_batches {
        let b = &batches[i % batches.len()];
        f.write_all(b).expect("write");
        bytes += b.len() as u64;
    }
    Sample {
        secs: start.elapsed().as_secs_f64(),
        records: n_batches * per,
        bytes,
    }
}

/// Durable without group commit: write + fdatasync per batch, one thread.
/// Capped at 1000 batches (it is slow); rates are comparable all the same.
fn fsync_each_peer(dir: &Path, batches: &[Vec<u8>], n_batches: usize, per: usize) -> Sample {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut f = std::fs::File::create(dir.join("raw")).expect("create");
    let n = n_batches.min(1000);
    let start = Instant::now();
    let mut bytes = 0u64;
    for i in 0..n {
        let b = &batches[i % batches.len()];
        f.write_all(b).expect("write");
        f.sync_data().expect("fdatasync");
        bytes += b.len() as u64;
    }
    Sample {
        secs: start.elapsed().as_secs_f64(),
        records: n * per,
        bytes,
    }
}

fn main() {
    let args = parse_args();
    let (batches, per) = make_batches();
    let n_batches = args.records.div_ceil(per);
    let root = args
        .dir
        .join(format!("sluice-log-bench-{}", std::process::id()));
    println!(
        "{} records of {VALUE_LEN} B in {n_batches} batches of {per} records ({} B each), {} runs, dir {}",
        n_batches * per,
        batches[0].len(),
        args.runs,
        root.display()
    );
    let (mut crc, mut raw, mut app, mut rd, mut dur) = (vec![], vec![], vec![], vec![], vec![]);
    let mut fsyncs = vec![];
    for _ in 0..args.runs {
        crc.push(crc_peer(&batches, n_batches, per));
        let d = fresh_dir(&root, "raw");
        raw.push(write_peer(&d, &batches, n_batches, per));
        let _ = std::fs::remove_dir_all(&d);
        let d = fresh_dir(&root, "pagecache");
        app.push(append_page_cache(&d, &batches, n_batches, per));
        rd.push(read_back(&d));
        let _ = std::fs::remove_dir_all(&d);
    }
    let durable_runs = args.runs.min(3);
    let (mut dur_p, mut fsyncs_p, mut each) = (vec![], vec![], vec![]);
    let (mut dur_d, mut fsyncs_d) = (vec![], vec![]);
    for _ in 0..durable_runs {
        let d = fresh_dir(&root, "fsync-each");
        each.push(fsync_each_peer(&d, &batches, n_batches, per));
        let _ = std::fs::remove_dir_all(&d);
        let d = fresh_dir(&root, "durable");
        let (s, f) = append_durable(&d, &batches, n_batches, per, Duration::ZERO);
        dur.push(s);
        fsyncs.push(f);
        let _ = std::fs::remove_dir_all(&d);
        let d = fresh_dir(&root, "durable-delay");
        let (s, f) = append_durable(&d, &batches, n_batches, per, COMMIT_DELAY);
        dur_d.push(s);
        fsyncs_d.push(f);
        let _ = std::fs::remove_dir_all(&d);
        let d = fresh_dir(&root, "durable-partitions");
        let (s, f) = append_durable_partitions(&d, &batches, n_batches, per);
        dur_p.push(s);
        fsyncs_p.push(f);
        let _ = std::fs::remove_dir_all(&d);
    }
    report("peer: crc32c only", crc, "");
    report("peer: write(2) only", raw, "");
    report("append, page cache", app, "");
    report("read back (1 MiB fetches)", rd, "");
    report("peer: write+fdatasync each", each, "");
    fsyncs.sort_unstable();
    let extra = format!(
        "\n{:<28} fsyncs per run (median): {} for {n_batches} appends",
        "",
        fsyncs[fsyncs.len() / 2]
    );
    report("append, durable, 8 threads", dur, &extra);
    fsyncs_d.sort_unstable();
    let extra = format!(
        "\n{:<28} fsyncs per run (median): {} for {n_batches} appends",
        "",
        fsyncs_d[fsyncs_d.len() / 2]
    );
    report("  same, commit delay 500us", dur_d, &extra);
    fsyncs_p.sort_unstable();
    let extra = format!(
        "\n{:<28} fsyncs per run (median): {} for {n_batches} appends",
        "",
        fsyncs_p[fsyncs_p.len() / 2]
    );
    report("durable, 8 partitions", dur_p, &extra);
    let _ = std::fs::remove_dir_all(&root);
}
