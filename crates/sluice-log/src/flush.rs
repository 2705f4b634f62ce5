//! Group commit: one background thread fsyncs every file with unsynced
//! acknowledged writes once per round, and releases all waiters covered by it.
//!
//! Why a thread and not one fsync per append: an fdatasync costs ~2 ms here,
//! so producers that each fsync their own append are capped at ~500 appends/s
//! per disk. Appends that arrive while a round's fsyncs are running are
//! collected into the next round, so N concurrent producers share one fsync.
//!
//! The ticket is both blocking ([`FlushTicket::wait`], for threads or
//! `spawn_blocking`) and a `Future` (for async callers, no tokio dependency:
//! it registers its `Waker` with the flusher). Callers wait *after* releasing
//! their partition lock so other producers can append meanwhile.

use std::fs::File;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::LogError;

#[derive(Default)]
struct State {
    /// Files written since the last round took the list (deduplicated).
    pending: Vec<Arc<File>>,
    /// Round that requests made now will be part of.
    next_round: u64,
    /// Highest round whose fsyncs have finished.
    completed: u64,
    /// First fsync failure; sticky because after a failed fsync Linux may
    /// have dropped the dirty pages, so no later round can vouch for them.
    error: Option<(u64, String)>,
    wakers: Vec<(u64, Waker)>,
    shutdown: bool,
    /// Test hook: rounds do not start while held.
    held: bool,
    /// Requests since the last round took the list.
    pending_requests: usize,
}

struct Inner {
    state: Mutex<State>,
    work: Condvar,
    done: Condvar,
    syncs: AtomicU64,
    rounds: AtomicU64,
    requests: AtomicU64,
    commit_delay: Duration,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave State inconsistent
        // (every update is a single assignment), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Handle to a group-commit flusher thread. Cheap to clone; the thread exits
/// once every handle is dropped and pending rounds are done. Share one
/// flusher between all partitions on a disk so their fsyncs share rounds.
#[derive(Clone)]
pub struct Flusher {
    owner: Arc<Owner>,
}

struct Owner {
    inner: Arc<Inner>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.inner.lock().shutdown = true;
        self.inner.work.notify_all();
    }
}

impl std::fmt::Debug for Flusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flusher")
            .field("fsyncs", &self.fsync_count())
            .finish()
    }
}

impl Default for Flusher {
    fn default() -> Self {
        Self::new()
    }
}

impl Flusher {
    /// Starts a flusher thread.
    pub fn new() -> Self {
        // Without its thread a flusher would leave every ticket pending
        // forever; at startup, failing loudly is the sane option.
        Self::try_new().expect("spawn sluice-log flusher thread")
    }

    /// Starts a flusher thread, reporting failure to spawn it.
    pub fn try_new() -> Result<Self, LogError> {
        Self::with_commit_delay(Duration::ZERO)
    }

    /// Starts a flusher whose rounds wait up to `delay` for the appenders
    /// released by the previous round (and those that arrived during it) to
    /// come back, so steady producers share one fsync instead of splitting
    /// into cohorts that alternate rounds. Like PostgreSQL's `commit_delay`:
    /// it trades up to `delay` of latency for fewer fsyncs under load; a lone
    /// sequential producer never waits (it is expected alone).
    pub fn with_commit_delay(delay: Duration) -> Result<Self, LogError> {
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                next_round: 1,
                ..State::default()
            }),
            work: Condvar::new(),
            done: Condvar::new(),
            syncs: AtomicU64::new(0),
            rounds: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            commit_delay: delay,
        });
        let thread_inner = Arc::clone(&inner);
        std::thread::Builder::new()
            .name("sluice-log-flusher".into())
            .spawn(move || run(&thread_inner))
            .map_err(|e| LogError::io("spawn flusher thread", e))?;
        Ok(Flusher {
            owner: Arc::new(Owner { inner }),
        })
    }

    /// The process-wide flusher used by [`crate::PartitionLog::open`].
    pub fn global() -> Flusher {
        static GLOBAL: OnceLock<Flusher> = OnceLock::new();
        GLOBAL.get_or_init(Flusher::new).clone()
    }

    /// Total `fdatasync` calls made by this flusher.
    pub fn fsync_count(&self) -> u64 {
        self.owner.inner.syncs.load(Ordering::Relaxed)
    }

    /// Total rounds completed by this flusher.
    pub fn round_count(&self) -> u64 {
        self.owner.inner.rounds.load(Ordering::Relaxed)
    }

    /// Total sync requests (one per durable append).
    pub fn request_count(&self) -> u64 {
        self.owner.inner.requests.load(Ordering::Relaxed)
    }

    /// Test hook: no new round starts until the returned guard is dropped,
    /// so a test can line up requests and observe that they share a round.
    #[cfg(any(test, feature = "testing"))]
    pub fn hold(&self) -> FlusherHold {
        self.owner.inner.lock().held = true;
        FlusherHold {
            inner: Arc::clone(&self.owner.inner),
        }
    }

    /// Asks for `file` to be synced; everything written to it before this
    /// call is durable once the returned ticket completes.
    pub(crate) fn request(&self, file: &Arc<File>) -> FlushTicket {
        let inner = &self.owner.inner;
        let mut st = inner.lock();
        if !st.pending.iter().any(|f| Arc::ptr_eq(f, file)) {
            st.pending.push(Arc::clone(file));
        }
        let round = st.next_round;
        st.pending_requests += 1;
        drop(st);
        inner.requests.fetch_add(1, Ordering::Relaxed);
        inner.work.notify_one();
        FlushTicket {
            inner: Some(Arc::clone(inner)),
            round,
        }
    }
}

/// Guard returned by [`Flusher::hold`].
#[cfg(any(test, feature = "testing"))]
#[derive(Debug)]
pub struct FlusherHold {
    inner: Arc<Inner>,
}

#[cfg(any(test, feature = "testing"))]
impl Drop for FlusherHold {
    fn drop(&mut self) {
        self.inner.lock().held = false;
        self.inner.work.notify_all();
    }
}

#[cfg(any(test, feature = "testing"))]
impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inner")
    }
}

fn run(inner: &Inner) {
    // Requests the next round can expect: the last round's appenders plus
    // those that arrived while it ran.
    let mut expected = 0usize;
    loop {
        let (files, round, requests) = {
            let mut st = inner.lock();
            while (st.pending.is_empty() || st.held) && !st.shutdown {
                st = inner.work.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            if st.pending.is_empty() {
                return;
            }
            if !inner.commit_delay.is_zero() && st.pending_requests < expected {
                let deadline = Instant::now() + inner.commit_delay;
                while st.pending_requests < expected && !st.shutdown {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    st = inner
                        .work
                        .wait_timeout(st, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
            let round = st.next_round;
            st.next_round += 1;
            let requests = std::mem::take(&mut st.pending_requests);
            (std::mem::take(&mut st.pending), round, requests)
        };
        let failure = sync_all(inner, &files);
        drop(files);
        inner.rounds.fetch_add(1, Ordering::Relaxed);
        let wakers = {
            let mut st = inner.lock();
            st.completed = round;
            expected = requests + st.pending_requests;
            if let Some(e) = failure {
                st.error.get_or_insert((round, e));
            }
            let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut st.wakers)
                .into_iter()
                .partition(|(r, _)| *r <= round);
            st.wakers = waiting;
            ready
        };
        inner.done.notify_all();
        for (_, w) in wakers {
            w.wake();
        }
    }
}

/// Most parallel fsyncs one round issues.
const MAX_PARALLEL_SYNCS: usize = 16;

/// Syncs the files of one round, in parallel when there are several: on ext4
/// concurrent fdatasyncs share journal commits, so N partitions cost about
/// one commit instead of N sequential ones.
fn sync_all(inner: &Inner, files: &[Arc<File>]) -> Option<String> {
    let sync_one = |f: &File| {
        inner.syncs.fetch_add(1, Ordering::Relaxed);
        f.sync_data().map_err(|e| {
            tracing::error!(error = %e, "group-commit fdatasync failed");
            e.to_string()
        })
    };
    if files.len() == 1 {
        return sync_one(&files[0]).err();
    }
    let next = AtomicU64::new(0);
    let failure = Mutex::new(None);
    let work = || {
        while let Some(f) = files.get(next.fetch_add(1, Ordering::Relaxed) as usize) {
            if let Err(e) = sync_one(f) {
                failure
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(e);
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..files.len().min(MAX_PARALLEL_SYNCS) {
            // If a helper cannot be spawned, the remaining workers (at least
            // this thread) take its share.
            if std::thread::Builder::new().spawn_scoped(s, work).is_err() {
                break;
            }
        }
        work();
    });
    failure.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// Completion of a durable append. Resolves once the data it covers has been
/// fsynced (`Ok`) or an fsync failed (`Err(LogError::FlushFailed)`).
/// Obtain it from [`crate::AppendInfo::sync`]; in page-cache mode it is
/// already complete.
#[derive(Clone)]
pub struct FlushTicket {
    inner: Option<Arc<Inner>>,
    round: u64,
}

impl std::fmt::Debug for FlushTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlushTicket")
            .field("round", &self.round)
            .field("durable", &self.inner.is_some())
            .finish()
    }
}

impl FlushTicket {
    /// A ticket with nothing to wait for.
    pub fn ready() -> Self {
        FlushTicket {
            inner: None,
            round: 0,
        }
    }

    fn check(&self, st: &State) -> Option<Result<(), LogError>> {
        if let Some((failed_round, e)) = &st.error {
            if self.round >= *failed_round {
                return Some(Err(LogError::FlushFailed(e.clone())));
            }
        }
        (st.completed >= self.round).then_some(Ok(()))
    }

    /// True once the covered data is durable (or failed to become so).
    pub fn is_complete(&self) -> bool {
        match &self.inner {
            None => true,
            Some(inner) => self.check(&inner.lock()).is_some(),
        }
    }

    /// Blocks the calling thread until the covered data is durable. From
    /// async code, `.await` the ticket instead (or call this in `spawn_blocking`).
    pub fn wait(&self) -> Result<(), LogError> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        let mut st = inner.lock();
        loop {
            if let Some(r) = self.check(&st) {
                return r;
            }
            st = inner.done.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Future for FlushTicket {
    type Output = Result<(), LogError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(inner) = &self.inner else {
            return Poll::Ready(Ok(()));
        };
        let mut st = inner.lock();
        if let Some(r) = self.check(&st) {
            return Poll::Ready(r);
        }
        match st
            .wakers
            .iter_mut()
            .find(|(r, w)| *r == self.round && w.will_wake(cx.waker()))
        {
            Some(_) => {}
            None => st.wakers.push((self.round, cx.waker().clone())),
        }
        Poll::Pending
    }
}
