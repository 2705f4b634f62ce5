//! The loop: level-triggered, woken by `LISTEN sluice_cluster_changed` and by a periodic resync.
//! Work on one cluster is serialized (one pass at a time, a wake during a pass runs another
//! after it); different clusters run concurrently up to `Context::max_concurrent`. A cluster is
//! reconciled only under this replica's lease on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_model::{ClusterState, ErrorInfo, OperationType};
use sluice_store::{ClusterSnapshot, Store};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::admin::ClusterAdmin;
use crate::executor::{execute, settle_operation, sync_nodes};
use crate::planner::{plan, Desired, Observed, OperationView, Plan};
use crate::runtime::Runtime;
use crate::{Context, ReconcileError};

/// Failed attempts at a cluster's current step, under one operation.
#[derive(Debug, Clone, Copy)]
struct Failures {
    operation_id: Option<Uuid>,
    attempts: u32,
    retry_at: Instant,
}

/// How a pass ended, for the loop (and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassOutcome {
    /// Converged: nothing to do.
    Idle,
    /// Another replica holds the lease.
    NotOurs,
    /// The cluster is gone.
    Gone,
    /// Look again after this long (waiting, blocked, or backing off after a failure).
    Retry(Duration),
}

/// The reconciler. Build one per control-plane replica, then [`Reconciler::run`] it.
pub struct Reconciler<R: Runtime> {
    store: Store,
    runtime: Arc<R>,
    /// Asks the runtime's brokers about their cluster (the gate, drains, rebalances).
    admin: R::Admin,
    ctx: Context,
    failures: Mutex<HashMap<Uuid, Failures>>,
}

impl<R: Runtime> Reconciler<R> {
    pub fn new(store: Store, runtime: Arc<R>, ctx: Context) -> Arc<Reconciler<R>> {
        Arc::new(Reconciler {
            store,
            admin: R::admin(&runtime),
            runtime,
            ctx,
            failures: Mutex::new(HashMap::new()),
        })
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Runs until the future is dropped (which stops every pass mid-step; the next replica or
    /// start resumes them, since steps are idempotent and the plan is recomputed).
    pub async fn run(self: Arc<Self>) -> Result<(), ReconcileError> {
        let (wake_tx, mut wake_rx) = mpsc::unbounded_channel::<Uuid>();
        let mut tasks: JoinSet<Option<(Uuid, PassOutcome)>> = JoinSet::new();
        // Background: notifications, and lease renewal during long steps.
        let mut listener = self.store.listen_cluster_changes().await?;
        let tx = wake_tx.clone();
        tasks.spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        if let Ok(id) = n.payload().parse::<Uuid>() {
                            let _ = tx.send(id);
                        }
                    }
                    // PgListener reconnects by itself on the next recv; the resync covers
                    // whatever was missed meanwhile.
                    Err(e) => {
                        tracing::warn!(error = %e, "cluster change listener");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        // The runtime's own feed (Kubernetes watches on pods and volumes), if it has one.
        if let Some(mut wakes) = self.runtime.wakes() {
            let tx = wake_tx.clone();
            tasks.spawn(async move {
                use futures::StreamExt;
                while let Some(id) = wakes.next().await {
                    if tx.send(id).is_err() {
                        break;
                    }
                }
                tracing::warn!("the runtime's change feed ended; the resync still runs");
                std::future::pending::<Option<(Uuid, PassOutcome)>>().await
            });
        }
        let me = self.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(me.ctx.lease_ttl / 3);
            loop {
                tick.tick().await;
                if let Err(e) = me
                    .store
                    .renew_leases(&me.ctx.holder, me.ctx.lease_ttl)
                    .await
                {
                    tracing::warn!(error = %e, "renewing leases");
                }
            }
        });

        let sem = Arc::new(Semaphore::new(self.ctx.max_concurrent.max(1)));
        // Clusters with a pass running → whether another pass is wanted after it.
        let mut running: HashMap<Uuid, bool> = HashMap::new();
        let mut resync = tokio::time::interval(self.ctx.resync_interval);
        let spawn_pass = |tasks: &mut JoinSet<_>, id: Uuid, snap: Option<ClusterSnapshot>| {
            let me = self.clone();
            let sem = sem.clone();
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await.ok()?;
                let leased = snap.is_some();
                let out = match me.pass(id, snap, leased).await {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::warn!(cluster_id = %id, error = %e, "reconcile pass failed");
                        PassOutcome::Retry(me.ctx.backoff_base)
                    }
                };
                Some((id, out))
            });
        };
        loop {
            tokio::select! {
                _ = resync.tick() => {
                    match self.leased_snapshots(None).await {
                        Ok(snaps) => for s in snaps {
                            if let Some(again) = running.get_mut(&s.id) { *again = true; continue; }
                            running.insert(s.id, false);
                            spawn_pass(&mut tasks, s.id, Some(s));
                        },
                        Err(e) => tracing::warn!(error = %e, "resync"),
                    }
                }
                Some(id) = wake_rx.recv() => {
                    if let Some(again) = running.get_mut(&id) { *again = true; continue; }
                    running.insert(id, false);
                    spawn_pass(&mut tasks, id, None);
                }
                Some(done) = tasks.join_next() => {
                    let Ok(Some((id, out))) = done else { continue };
                    if running.remove(&id) == Some(true) {
                        running.insert(id, false);
                        spawn_pass(&mut tasks, id, None);
                    } else if let PassOutcome::Retry(after) = out {
                        let tx = wake_tx.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(after).await;
                            let _ = tx.send(id);
                        });
                    }
                }
            }
        }
    }

    /// Snapshots of the clusters (all, or `only`) whose lease this replica now holds.
    async fn leased_snapshots(
        &self,
        only: Option<&[Uuid]>,
    ) -> Result<Vec<ClusterSnapshot>, ReconcileError> {
        let snaps = self.store.cluster_snapshots(only).await?;
        let ids: Vec<Uuid> = snaps.iter().map(|s| s.id).collect();
        let held = self
            .store
            .acquire_leases(&self.ctx.holder, &ids, self.ctx.lease_ttl)
            .await?;
        let held: std::collections::HashSet<Uuid> = held.into_iter().collect();
        Ok(snaps.into_iter().filter(|s| held.contains(&s.id)).collect())
    }

    /// One full resync of every cluster, awaited: what the loop's periodic tick does, for
    /// benchmarks and tests. Returns how many clusters were reconciled.
    pub async fn reconcile_all(self: &Arc<Self>) -> Result<usize, ReconcileError> {
        let snaps = self.leased_snapshots(None).await?;
        let n = snaps.len();
        let sem = Arc::new(Semaphore::new(self.ctx.max_concurrent.max(1)));
        let mut tasks = JoinSet::new();
        for s in snaps {
            let me = self.clone();
            let sem = sem.clone();
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await;
                me.pass(s.id, Some(s), true).await
            });
        }
        while let Some(r) = tasks.join_next().await {
            if let Ok(Err(e)) = r {
                tracing::warn!(error = %e, "reconcile pass failed");
            }
        }
        Ok(n)
    }

    /// Reconciles one cluster until it converges, must wait, or fails a step.
    pub async fn pass(
        &self,
        id: Uuid,
        mut snap: Option<ClusterSnapshot>,
        mut leased: bool,
    ) -> Result<PassOutcome, ReconcileError> {
        loop {
            // Taking the lease again each round also renews it.
            if !leased
                && self
                    .store
                    .acquire_leases(&self.ctx.holder, &[id], self.ctx.lease_ttl)
                    .await?
                    .is_empty()
            {
                return Ok(PassOutcome::NotOurs);
            }
            leased = false;
            let s = match snap.take() {
                Some(s) => s,
                None => match self.store.cluster_snapshots(Some(&[id])).await?.pop() {
                    Some(s) => s,
                    None => {
                        self.store.release_lease(&self.ctx.holder, Some(id)).await?;
                        return Ok(PassOutcome::Gone);
                    }
                },
            };
            {
                let mut failures = self.failures.lock().expect("poisoned");
                let op_id = s.operation.as_ref().map(|o| o.id);
                match failures.get(&id) {
                    // A new operation (a delete superseding a failing create, say) starts afresh.
                    Some(f) if f.operation_id != op_id => {
                        failures.remove(&id);
                    }
                    Some(f) if f.retry_at > Instant::now() => {
                        return Ok(PassOutcome::Retry(
                            f.retry_at.saturating_duration_since(Instant::now()),
                        ));
                    }
                    _ => {}
                }
            }
            let brokers = self.runtime.observe(id).await?;
            let status = self.admin.cluster_status(id).await?;
            let view = s.operation.as_ref().map(|o| OperationView {
                operation_type: o.operation_type,
                broker_ids: o.broker_ids.clone(),
                steps: o
                    .steps
                    .iter()
                    .map(|st| (st.name.clone(), st.broker_id, st.status))
                    .collect(),
            });
            let desired = Desired {
                state: s.state,
                spec: &s.spec,
                operation: view.as_ref(),
            };
            let next = plan(
                &desired,
                &Observed {
                    brokers: &brokers,
                    safe: status.safe,
                    controller: status.controller,
                },
            );
            tracing::debug!(cluster_id = %id, state = %s.state, ?next, "planned");
            match next {
                Plan::Idle => return Ok(PassOutcome::Idle),
                Plan::Wait(why) => {
                    tracing::debug!(cluster_id = %id, why, "waiting");
                    return Ok(PassOutcome::Retry(self.ctx.wait_interval));
                }
                Plan::Blocked(why) => {
                    tracing::warn!(cluster_id = %id, why, "blocked");
                    let info = sluice_model::StateInfo {
                        code: "blocked".into(),
                        message: why,
                    };
                    self.store.explain_cluster_state(id, &info).await?;
                    return Ok(PassOutcome::Retry(self.ctx.resync_interval));
                }
                Plan::StartHeal { broker_ids } => {
                    tracing::info!(cluster_id = %id, ?broker_ids, "brokers drifted; healing");
                    self.store.start_heal(id, &broker_ids).await?;
                }
                Plan::Complete => {
                    let op = s.operation.as_ref().expect("complete has an operation");
                    if op.operation_type != OperationType::DeleteCluster {
                        sync_nodes(&self.store, &*self.runtime, &s).await?;
                    }
                    settle_operation(&self.store, op).await?;
                    self.store.complete_operation(op.id).await?;
                    self.failures.lock().expect("poisoned").remove(&id);
                    tracing::info!(cluster_id = %id, op = %op.operation_type.as_str(), "operation complete");
                    if op.operation_type == OperationType::DeleteCluster {
                        self.store.release_lease(&self.ctx.holder, Some(id)).await?;
                        return Ok(PassOutcome::Gone);
                    }
                }
                Plan::Step(step) => {
                    let op = s.operation.as_ref().expect("a step has an operation");
                    match execute(
                        &self.ctx,
                        &self.store,
                        &*self.runtime,
                        &self.admin,
                        &s,
                        op,
                        &step,
                    )
                    .await
                    {
                        Ok(()) => {
                            self.failures.lock().expect("poisoned").remove(&id);
                        }
                        Err(e) => return self.step_failed(&s, e).await,
                    }
                }
            }
        }
    }

    /// Backs off after a failed step; after `max_attempts`, ends the operation where that is
    /// the right thing (a create FAILS; an update is rolled back) and otherwise keeps trying.
    async fn step_failed(
        &self,
        s: &ClusterSnapshot,
        e: ReconcileError,
    ) -> Result<PassOutcome, ReconcileError> {
        let attempts = {
            let mut f = self.failures.lock().expect("poisoned");
            let entry = f.entry(s.id).or_insert(Failures {
                operation_id: s.operation.as_ref().map(|o| o.id),
                attempts: 0,
                retry_at: Instant::now(),
            });
            entry.attempts += 1;
            let delay = self.ctx.backoff(entry.attempts);
            entry.retry_at = Instant::now() + delay;
            entry.attempts
        };
        tracing::warn!(cluster_id = %s.id, attempts, error = %e, "step failed");
        let Some(op) = &s.operation else {
            return Ok(PassOutcome::Retry(self.ctx.backoff(attempts)));
        };
        if attempts < self.ctx.max_attempts {
            return Ok(PassOutcome::Retry(self.ctx.backoff(attempts)));
        }
        let error = ErrorInfo {
            code: "step-failed".into(),
            message: format!("gave up after {attempts} attempts: {e}"),
        };
        let end_state = match op.operation_type {
            OperationType::CreateCluster => Some(ClusterState::Failed),
            // A heal or a delete has nothing to fall back to: keep trying, at the slowest pace.
            // The other brokers keep serving meanwhile; the cluster is never FAILED for one.
            OperationType::HealCluster | OperationType::DeleteCluster => None,
            // An update is rolled back to its source spec; drift is then healed towards it.
            _ => Some(ClusterState::Active),
        };
        if let Some(state) = end_state {
            self.store.fail_operation(op.id, &error, state).await?;
            self.failures.lock().expect("poisoned").remove(&s.id);
            tracing::error!(cluster_id = %s.id, op = op.operation_type.as_str(), %state, "operation failed");
            return Ok(PassOutcome::Retry(self.ctx.resync_interval));
        }
        Ok(PassOutcome::Retry(self.ctx.backoff(attempts)))
    }
}
