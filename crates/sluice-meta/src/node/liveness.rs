//! Broker liveness: every broker registers and heartbeats; the controller fences the silent.
//!
//! * [`broker_loop`] (every broker): registers this broker (again when the image lacks it or
//!   shows another incarnation), then heartbeats the controller every heartbeat interval until
//!   shutdown or the end of a controlled shutdown.
//! * [`controller_loop`] (acts only while this node leads): proposes `FenceBroker` for an
//!   unfenced broker not heard from for the session timeout. Last-seen instants live only in
//!   the leader's memory; a new leader starts every clock at "now", so it waits a full session
//!   timeout before fencing anyone it has not heard from.
//! * Heartbeats on the controller ([`MetaNode::on_heartbeat`]) propose `UnfenceBroker` for a
//!   fenced broker whose incarnation matches and that is not shutting down.
//!
//! Fence/unfence proposals are rate-limited per broker so a slow commit is not proposed again
//! on every tick.

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use super::clocks::{may_send, Clocks};
use super::leader::{LeaderRequest, LeaderResponse};
use super::meta_node::MetaNode;
use super::store::lock;
use crate::image::{BrokerId, Command, MetadataImage};

impl MetaNode {
    /// How long a new controller waits for a broker's first heartbeat before fencing it: half
    /// a session, and at least three heartbeat intervals, so live brokers (which find the new
    /// leader within a Raft heartbeat) are never fenced by a controller change.
    fn new_controller_grace(&self) -> Duration {
        let session = self.config.session_timeout;
        (session / 2)
            .max(self.config.heartbeat_interval * 3)
            .min(session)
    }

    /// The controller's clocks, started afresh if leadership began in a new `term`.
    fn clocks(
        &self,
        term: u64,
        now: Instant,
        image: &MetadataImage,
    ) -> std::sync::MutexGuard<'_, Clocks> {
        let mut c = lock(&self.liveness.clocks);
        c.ensure_term(
            term,
            now,
            image,
            self.config.session_timeout,
            self.new_controller_grace(),
        );
        c
    }

    /// Controller side of a heartbeat (this node leads).
    pub(crate) fn on_heartbeat(
        &self,
        id: BrokerId,
        incarnation: Uuid,
        shutting_down: bool,
    ) -> LeaderResponse {
        let term = self.raft.metrics().borrow().current_term;
        let now = Instant::now();
        let image = self.current();
        let unfence = {
            let mut c = self.clocks(term, now, &image);
            c.last_seen.insert(id, now);
            let eligible = image.brokers.get(&id).is_some_and(|b| {
                b.fenced && b.incarnation == incarnation && !b.shutting_down && !shutting_down
            });
            eligible
                && may_send(
                    &mut c.unfence_sent,
                    id,
                    now,
                    self.config.session_timeout / 3,
                )
        };
        if unfence {
            tracing::info!(broker = id, "unfencing broker after heartbeat");
            let raft = self.raft.clone();
            let timeout = self.config.session_timeout;
            // Not awaited: the heartbeat answer must not wait for a commit.
            tokio::spawn(async move {
                let cmd = Command::UnfenceBroker { id, incarnation };
                match tokio::time::timeout(timeout, raft.client_write(cmd)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(broker = id, error = %e, "unfence proposal failed")
                    }
                    Err(_) => tracing::warn!(broker = id, "unfence proposal timed out"),
                }
            });
        }
        LeaderResponse::HeartbeatAck {
            controller: self.id,
        }
    }

    /// A broker reports it cannot reach `suspect`. A process that died misses its next
    /// heartbeat, so a suspect also silent for more than one and a half heartbeat intervals is
    /// fenced now rather than at the end of its session: a crashed leader loses its
    /// leaderships in a fraction of the session timeout. A suspect that still heartbeats is
    /// left alone (the reporter's own link is the likelier problem).
    pub(crate) async fn on_unreachable(
        &self,
        reporter: BrokerId,
        suspect: BrokerId,
    ) -> LeaderResponse {
        let ack = LeaderResponse::HeartbeatAck {
            controller: self.id,
        };
        let term = {
            let m = self.raft.metrics();
            let m = m.borrow();
            if m.current_leader != Some(self.node_id) {
                return ack;
            }
            m.current_term
        };
        let now = Instant::now();
        let image = self.current();
        let silent_for = self.config.heartbeat_interval * 3 / 2;
        let fence = {
            let mut c = self.clocks(term, now, &image);
            let Clocks {
                last_seen,
                fence_sent,
                ..
            } = &mut *c;
            image.brokers.get(&suspect).is_some_and(|b| !b.fenced)
                && last_seen
                    .get(&suspect)
                    .is_some_and(|seen| now.saturating_duration_since(*seen) > silent_for)
                && may_send(fence_sent, suspect, now, self.config.session_timeout)
        };
        if fence {
            tracing::warn!(
                broker = suspect,
                reporter,
                "broker unreachable and silent: fencing"
            );
            match self
                .write(
                    Command::FenceBroker { id: suspect },
                    now + self.config.session_timeout,
                )
                .await
            {
                LeaderResponse::Applied { .. } => {}
                other => tracing::warn!(broker = suspect, answer = ?other, "fence proposal failed"),
            }
        }
        ack
    }

    /// One controller tick: fence brokers whose session expired (only while leading).
    async fn check_sessions(&self) {
        let (leader, term) = {
            let m = self.raft.metrics();
            let m = m.borrow();
            (m.current_leader, m.current_term)
        };
        if leader != Some(self.node_id) {
            lock(&self.liveness.clocks).term = None;
            return;
        }
        let now = Instant::now();
        let image = self.current();
        let session = self.config.session_timeout;
        let to_fence: Vec<BrokerId> = {
            let mut c = self.clocks(term, now, &image);
            let Clocks {
                last_seen,
                fence_sent,
                ..
            } = &mut *c;
            image
                .brokers
                .values()
                .filter(|b| !b.fenced)
                .filter(|b| {
                    let seen = *last_seen.entry(b.id).or_insert(now);
                    now.saturating_duration_since(seen) >= session
                        && may_send(fence_sent, b.id, now, session)
                })
                .map(|b| b.id)
                .collect()
        };
        for id in to_fence {
            tracing::warn!(broker = id, "broker session expired: fencing");
            match self.write(Command::FenceBroker { id }, now + session).await {
                LeaderResponse::Applied { .. } => {}
                other => tracing::warn!(broker = id, answer = ?other, "fence proposal failed"),
            }
        }
    }

    /// One broker tick: register if needed, else heartbeat.
    async fn broker_tick(&self, registered_at: &mut Option<Instant>) {
        let me = &self.config.broker;
        let image = self.current();
        let shutting_down = self.liveness.shutting_down.load(Ordering::SeqCst);
        let missing = image
            .brokers
            .get(&self.id)
            .is_none_or(|b| b.incarnation != me.incarnation);
        // Re-register at most once per session timeout while the image still lacks us, so a
        // slow apply does not flood the log with registrations.
        let due = registered_at.is_none_or(|t| t.elapsed() >= self.config.session_timeout);
        let deadline = Instant::now() + self.config.session_timeout / 2;
        if missing && due && !shutting_down {
            match self
                .call_leader(LeaderRequest::Register(me.clone()), deadline, true)
                .await
            {
                Ok(answer) => {
                    tracing::debug!(answer = ?answer, "registered with the controller");
                    *registered_at = Some(Instant::now());
                }
                Err(e) => tracing::debug!(error = %e, "registration failed; retrying"),
            }
            return;
        }
        let hb = LeaderRequest::Heartbeat {
            id: self.id,
            incarnation: me.incarnation,
            shutting_down,
        };
        if let Err(e) = self.call_leader(hb, deadline, true).await {
            tracing::debug!(error = %e, "heartbeat failed");
        }
    }
}

/// Registration and heartbeats of this broker; ends at shutdown or after controlled shutdown.
pub(crate) async fn broker_loop(node: Weak<MetaNode>) {
    let mut registered_at = None;
    loop {
        let interval = {
            let Some(node) = node.upgrade() else { return };
            if node.is_stopped() || node.liveness.stopped.load(Ordering::SeqCst) {
                return;
            }
            node.broker_tick(&mut registered_at).await;
            node.config.heartbeat_interval
        };
        tokio::time::sleep(interval).await;
    }
}

/// The controller's session checks; idle while this node does not lead.
pub(crate) async fn controller_loop(node: Weak<MetaNode>) {
    loop {
        let period = {
            let Some(node) = node.upgrade() else { return };
            if node.is_stopped() {
                return;
            }
            node.check_sessions().await;
            node.config
                .heartbeat_interval
                .min(node.config.session_timeout / 4)
        };
        tokio::time::sleep(period).await;
    }
}
