mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake};
use std::thread;

use common::*;
use sluice_log::testing::batch;
use sluice_log::{Flusher, LogConfig, PartitionLog};

fn durable() -> LogConfig {
    LogConfig {
        durable: true,
        ..LogConfig::default()
    }
}

#[test]
fn concurrent_appenders_share_fsyncs() {
    concurrent_appenders(Flusher::new());
}

#[test]
fn concurrent_appenders_share_fsyncs_with_commit_delay() {
    concurrent_appenders(Flusher::with_commit_delay(std::time::Duration::from_millis(1)).unwrap());
}

fn concurrent_appenders(flusher: Flusher) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Mutex::new(
        PartitionLog::open_with_flusher(dir.path(), durable(), flusher.clone()).unwrap(),
    ));
    const THREADS: usize = 8;
    const PER_THREAD: usize = 60;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                let b = batch(5, 100, t as i64);
                let mut offsets = Vec::new();
                for _ in 0..PER_THREAD {
                    let info = log.lock().unwrap().append(&b, 0, 0).unwrap();
                    // Wait outside the partition lock so others can append meanwhile.
                    info.sync.wait().unwrap();
                    offsets.push(info.base_offset);
                }
                offsets
            })
        })
        .collect();
    let mut all: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    let appends = (THREADS * PER_THREAD) as u64;
    assert_eq!(all, (0..appends as i64).map(|i| 5 * i).collect::<Vec<_>>());
    let fsyncs = flusher.fsync_count();
    eprintln!("{appends} durable appends, {fsyncs} fsyncs");
    assert_eq!(flusher.request_count(), appends);
    assert!(
        fsyncs > 0 && fsyncs * 2 < appends,
        "{fsyncs} fsyncs for {appends} appends"
    );
    drop(log);
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(read_all(&log, 0).len() as u64, appends);
}

#[test]
fn one_round_covers_all_waiting_appends_across_partitions() {
    let root = tempfile::tempdir().unwrap();
    let flusher = Flusher::new();
    let logs: Vec<Arc<Mutex<PartitionLog>>> = (0..3)
        .map(|p| {
            let dir = root.path().join(format!("p{p}"));
            Arc::new(Mutex::new(
                PartitionLog::open_with_flusher(&dir, durable(), flusher.clone()).unwrap(),
            ))
        })
        .collect();
    let hold = flusher.hold();
    let (tx, rx) = mpsc::channel();
    let appenders: Vec<_> = (0..9)
        .map(|i| {
            let log = Arc::clone(&logs[i % 3]);
            let tx = tx.clone();
            thread::spawn(move || {
                let info = log.lock().unwrap().append(&batch(2, 100, 0), 0, 0).unwrap();
                tx.send(info.sync.clone()).unwrap();
                info.sync.wait()
            })
        })
        .collect();
    let tickets: Vec<_> = rx.iter().take(9).collect();
    assert!(
        tickets.iter().all(|t| !t.is_complete()),
        "nothing is durable while the flusher is held"
    );
    drop(hold);
    for a in appenders {
        a.join().unwrap().unwrap();
    }
    assert!(tickets.iter().all(|t| t.is_complete()));
    assert_eq!(flusher.round_count(), 1);
    assert_eq!(
        flusher.fsync_count(),
        3,
        "one fsync per dirty file per round"
    );
}

struct ThreadWaker(thread::Thread);
impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Minimal executor: the ticket needs no runtime.
fn block_on<F: Future>(f: F) -> F::Output {
    let waker = Arc::new(ThreadWaker(thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => thread::park(),
        }
    }
}

#[test]
fn ticket_is_awaitable() {
    let dir = tempfile::tempdir().unwrap();
    let flusher = Flusher::new();
    let mut log = PartitionLog::open_with_flusher(dir.path(), durable(), flusher.clone()).unwrap();
    let hold = flusher.hold();
    let info = log.append(&batch(2, 100, 0), 0, 0).unwrap();
    let mut ticket = pin!(info.sync.clone());
    let waker = Arc::new(ThreadWaker(thread::current())).into();
    assert!(ticket
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(hold);
    block_on(ticket).unwrap();
    assert_eq!(flusher.fsync_count(), 1);
    // Page-cache mode: tickets are complete at once and no fsync happens.
    log.update_config(LogConfig::default()).unwrap();
    let info = log.append(&batch(2, 100, 0), 0, 0).unwrap();
    assert!(info.sync.is_complete());
    block_on(info.sync).unwrap();
    assert_eq!(flusher.request_count(), 1);
}

#[test]
fn durable_data_survives_reopen_after_roll() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 2048,
        ..durable()
    };
    let mut log =
        PartitionLog::open_with_flusher(dir.path(), config.clone(), Flusher::new()).unwrap();
    let mut tickets = Vec::new();
    for _ in 0..20 {
        tickets.push(log.append(&batch(3, 100, 0), 0, 0).unwrap().sync);
    }
    for t in tickets {
        t.wait().unwrap();
    }
    assert!(log.segment_count() > 3);
    let expected = read_all(&log, 0);
    drop(log);
    let log = PartitionLog::open(dir.path(), config).unwrap();
    assert_eq!(read_all(&log, 0), expected);
}

#[test]
fn readers_outside_the_lock_see_whole_batches_while_appending() {
    use std::sync::RwLock;
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(RwLock::new(
        PartitionLog::open(dir.path(), small_config()).unwrap(),
    ));
    const APPENDS: usize = 400;
    let writer = {
        let log = Arc::clone(&log);
        thread::spawn(move || {
            for i in 0..APPENDS {
                let mut l = log.write().unwrap();
                l.append(&batch(1 + i % 4, 40, i as i64), 0, 0).unwrap();
                let leo = l.log_end_offset();
                l.set_high_watermark(leo);
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                let mut at = 0i64;
                let mut batches = 0usize;
                while batches < APPENDS {
                    let region = {
                        let l = log.read().unwrap();
                        l.read_region(at, 700, l.high_watermark()).unwrap()
                    };
                    // Bytes are read after the lock is released.
                    let bytes = region.read_bytes().unwrap();
                    for b in sluice_log::batch::iter_batches(&bytes) {
                        let b = b.unwrap();
                        b.verify_crc().unwrap();
                        assert_eq!(b.header.base_offset, at, "contiguous offsets");
                        at = b.header.next_offset();
                        batches += 1;
                    }
                    assert_eq!(at, region.next_offset);
                    if bytes.is_empty() {
                        thread::yield_now();
                    }
                }
                at
            })
        })
        .collect();
    writer.join().unwrap();
    let leo = log.read().unwrap().log_end_offset();
    for r in readers {
        assert_eq!(r.join().unwrap(), leo);
    }
}
