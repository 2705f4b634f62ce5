//! What broker liveness remembers: [`Liveness`], a node's shutdown flags and, on the
//! controller, its per-term [`Clocks`] of heartbeats and of fence/unfence proposals (rate
//! limited by [`may_send`]). The loops and decisions that use them are in `liveness`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::image::{BrokerId, MetadataImage};

/// Liveness state of one node.
#[derive(Debug)]
pub(crate) struct Liveness {
    /// Controlled shutdown began: heartbeats ask not to be unfenced.
    pub(super) shutting_down: AtomicBool,
    /// Heartbeats stopped for good (end of controlled shutdown).
    pub(super) stopped: AtomicBool,
    /// Controller-side clocks.
    pub(super) clocks: Mutex<Clocks>,
}

/// What the controller remembers about brokers' heartbeats, for one leadership term.
#[derive(Debug, Default)]
pub(super) struct Clocks {
    /// The term these clocks belong to; `None` while not leading.
    pub(super) term: Option<u64>,
    pub(super) last_seen: HashMap<BrokerId, Instant>,
    pub(super) fence_sent: HashMap<BrokerId, Instant>,
    pub(super) unfence_sent: HashMap<BrokerId, Instant>,
}

impl Clocks {
    /// Starts fresh clocks when leadership (re)starts in `term`, as if every broker was last
    /// heard `session - grace` ago: a new controller fences a silent broker after `grace`, not
    /// a whole session, which matters when the old controller died with partition leaderships.
    pub(super) fn ensure_term(
        &mut self,
        term: u64,
        now: Instant,
        image: &MetadataImage,
        session: Duration,
        grace: Duration,
    ) {
        if self.term != Some(term) {
            let seen = now
                .checked_sub(session.saturating_sub(grace))
                .unwrap_or(now);
            *self = Clocks {
                term: Some(term),
                last_seen: image.brokers.keys().map(|id| (*id, seen)).collect(),
                ..Clocks::default()
            };
        }
    }
}

/// Whether a proposal for `id` recorded in `sent` is older than `every` (and records `now`).
pub(super) fn may_send(
    sent: &mut HashMap<BrokerId, Instant>,
    id: BrokerId,
    now: Instant,
    every: Duration,
) -> bool {
    match sent.get(&id) {
        Some(t) if now.saturating_duration_since(*t) < every => false,
        _ => {
            sent.insert(id, now);
            true
        }
    }
}

impl Liveness {
    pub(crate) fn new() -> Liveness {
        Liveness {
            shutting_down: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            clocks: Mutex::new(Clocks::default()),
        }
    }

    /// Heartbeats from now on say the broker is shutting down.
    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Stops heartbeats (and re-registration) for good.
    pub(crate) fn stop_heartbeats(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }
}
