#![allow(
    dead_code,
    reason = "each test binary includes this module and uses a different subset of it"
)]

use sluice_log::batch::iter_batches;
use sluice_log::testing::{batch, BatchBuilder};
use sluice_log::{LogConfig, PartitionLog};

/// Small segments and dense indexes so tests exercise rolls and index lookups.
pub(crate) fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        segment_ms: None,
        index_interval_bytes: 256,
        retention_ms: None,
        retention_bytes: None,
        ..LogConfig::default()
    }
}

/// Deterministic xorshift PRNG (no dev-dependency needed).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Appends `count` batches of varying record counts with timestamps
/// `ts0 + 10 * batch_index`; returns `(base, last)` offsets per batch.
pub(crate) fn fill(
    log: &mut PartitionLog,
    count: usize,
    ts0: i64,
    rng: &mut Rng,
) -> Vec<(i64, i64)> {
    (0..count)
        .map(|i| {
            let n = 1 + rng.below(5) as usize;
            let b = batch(n, 20 + rng.below(60) as usize, ts0 + 10 * i as i64);
            let info = log.append(&b, 0, 0).expect("append");
            (info.base_offset, info.last_offset)
        })
        .collect()
}

/// Base offsets of the batches in a read result.
pub(crate) fn bases(bytes: &[u8]) -> Vec<i64> {
    iter_batches(bytes)
        .map(|b| b.expect("valid batch").header.base_offset)
        .collect()
}

/// Reads everything from `start` batch by batch; returns base offsets.
pub(crate) fn read_all(log: &PartitionLog, start: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut at = start;
    loop {
        let s = log.read(at, 1 << 20, i64::MAX).expect("read");
        if s.records.is_empty() {
            return out;
        }
        for b in iter_batches(&s.records) {
            let b = b.expect("valid");
            b.verify_crc().expect("crc");
            out.push(b.header.base_offset);
        }
        at = s.next_offset;
    }
}

pub(crate) fn one_record(value: &[u8], ts: i64) -> Vec<u8> {
    BatchBuilder::values(ts, &[value]).build()
}
