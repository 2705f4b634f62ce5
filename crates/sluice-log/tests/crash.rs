//! Kill -9 a process in the middle of durable appends, then recover.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use sluice_log::testing::batch;
use sluice_log::{LogConfig, PartitionLog};

const CHILD_ENV: &str = "SLUICE_LOG_CRASH_CHILD_DIR";

fn config() -> LogConfig {
    // Small segments so kills also land around rolls.
    LogConfig {
        durable: true,
        segment_bytes: 64 * 1024,
        index_interval_bytes: 1024,
        ..LogConfig::default()
    }
}

/// Child role: append durably forever, printing each acknowledged end offset.
fn child(dir: &Path) -> ! {
    let mut log = PartitionLog::open(dir, config()).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let info = log.append(&batch(1 + i % 7, 200, i as i64), 1, 0).unwrap();
        info.sync.wait().unwrap();
        writeln!(out, "acked {}", info.last_offset + 1).unwrap();
        out.flush().unwrap();
    }
    unreachable!()
}

#[test]
fn killed_durable_appender_loses_no_acknowledged_batch() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(42);
    let mut acked = 0i64;
    for round in 0..4 {
        let mut proc = Command::new(std::env::current_exe().unwrap())
            .args([
                "killed_durable_appender_loses_no_acknowledged_batch",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
        // Kill after a random number of acknowledgements (waits on the pipe, not on a timer).
        let kill_after = 50 + rng.below(300);
        let mut seen = 0;
        while seen < kill_after {
            let line = lines.next().expect("child output").unwrap();
            if let Some(v) = line.strip_prefix("acked ") {
                acked = acked.max(v.parse().unwrap());
                seen += 1;
            }
        }
        proc.kill().unwrap();
        proc.wait().unwrap();
        // Acks printed before the kill still count.
        for line in lines.map_while(Result::ok) {
            if let Some(v) = line.strip_prefix("acked ") {
                acked = acked.max(v.parse().unwrap());
            }
        }
        let log = PartitionLog::open(dir.path(), config()).unwrap();
        assert!(
            log.log_end_offset() >= acked,
            "round {round}: acked {acked}, recovered {}",
            log.log_end_offset()
        );
        let bases = read_all(&log, 0);
        assert_eq!(bases.first(), Some(&0));
        assert!(log.segment_count() > 1 || round == 0);
        assert_eq!(log.epoch_entries(), &[(1, 0)]);
    }
}
