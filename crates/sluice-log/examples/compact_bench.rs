//! Log cleaner throughput for `sluice-log`.
//!
//! Writes `--mb` (default 100) MiB of keyed records (`--keys` distinct keys,
//! default 100,000; 200-byte values; 50 records per batch) into 16 MiB
//! segments, once uncompressed and once per `--codec` list entry, then times
//! one [`PartitionLog::compact`] pass over all closed segments and prints the
//! input MiB/s and the size reduction.
//!
//! `cargo run --release -p sluice-log --example compact_bench -- [--mb N] [--keys N] [--codecs 0,1,2,3,4] [--dir PATH]`

use std::path::PathBuf;
use std::time::Instant;

use sluice_log::testing::{BatchBuilder, TestRecord};
use sluice_log::{LogConfig, PartitionLog};

const VALUE_LEN: usize = 200;
const PER_BATCH: usize = 50;

fn main() {
    let mut mb = 100u64;
    let mut keys = 100_000u64;
    let mut codecs = vec![0u8, 1, 2, 3, 4];
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
            "--dir" => dir = PathBuf::from(v),
            other => panic!("unknown argument {other}"),
        }
    }
    println!("compact_bench: {mb} MiB per run, {keys} keys, {VALUE_LEN}-byte values, {PER_BATCH} records/batch");
    for codec in codecs {
        let tmp = tempfile::tempdir_in(&dir).expect("tempdir");
        let config = LogConfig {
            segment_bytes: 16 << 20,
            segment_ms: None,
            retention_ms: None,
            compact: true,
            min_cleanable_dirty_ratio: 0.0,
            ..LogConfig::default()
        };
        let mut log = PartitionLog::open(tmp.path(), config).expect("open");
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut n = 0u64;
        let t = Instant::now();
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
        let write_s = t.elapsed().as_secs_f64();
        // Roll so the whole log is cleanable.
        log.update_config(LogConfig {
            segment_ms: Some(0),
            ..log.config().clone()
        })
        .expect("config");
        log.roll_if_due(i64::MAX).expect("roll");
        let leo = log.log_end_offset();
        log.set_high_watermark(leo);
        let t = Instant::now();
        let out = log.compact(n as i64).expect("compact");
        let secs = t.elapsed().as_secs_f64();
        let mib = out.bytes_before as f64 / f64::from(1 << 20);
        println!(
            "codec {codec}: {n} records, {mib:.1} MiB in {} segments (written in {write_s:.1}s); \
             compacted in {secs:.2}s = {:.0} MiB/s; {:.1} MiB after ({} records removed, {} segments rewritten)",
            out.segments_scanned,
            mib / secs,
            out.bytes_after as f64 / f64::from(1 << 20),
            out.records_removed,
            out.segments_rewritten,
        );
    }
}
