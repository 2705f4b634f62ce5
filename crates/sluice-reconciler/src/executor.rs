//! The executor: carries out one planned step through the runtime (where brokers run) and its
//! admin (what the brokers say), and records it on the
//! operation (started, then complete or failed with a message). Re-running a step is safe:
//! every runtime call is idempotent, and a step left IN_PROGRESS by a crash is picked up again
//! rather than recorded twice.

use chrono::Utc;
use sluice_model::{Node, Operation, OperationStep, StepStatus};
use sluice_store::{ClusterSnapshot, Store};
use uuid::Uuid;

use crate::admin::ClusterAdmin;
use crate::planner::{fingerprint, step_names, Step};
use crate::runtime::{BrokerSpec, Health, Runtime};
use crate::{Context, ReconcileError};

/// Broker specs for a cluster, with the configuration revision's properties resolved once.
pub(crate) async fn broker_specs(
    store: &Store,
    snap: &ClusterSnapshot,
) -> Result<impl Fn(u32) -> BrokerSpec, ReconcileError> {
    let properties = match &snap.spec.configuration {
        Some(c) => {
            let rev = store.get_revision(&snap.tenant, c.id, c.revision).await?;
            rev.server_properties
                .iter()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect::<String>()
        }
        None => String::new(),
    };
    let (cluster_id, spec, fp) = (snap.id, snap.spec.clone(), fingerprint(&snap.spec));
    Ok(move |broker_id| BrokerSpec {
        cluster_id,
        broker_id,
        kafka_version: spec.kafka_version.clone(),
        storage_gib: spec.storage_gib,
        cpu_millis: spec.broker_resources.cpu_millis,
        memory_mib: spec.broker_resources.memory_mib,
        broker_count: spec.broker_count,
        zone_count: spec.zone_count,
        server_properties: properties.clone(),
        fingerprint: fp.clone(),
    })
}

/// The steps of an operation being written, kept in sync with the store.
struct StepLog<'a> {
    store: &'a Store,
    op_id: Uuid,
    steps: Vec<OperationStep>,
}

impl StepLog<'_> {
    /// Starts a step, or picks up the same step a crash left IN_PROGRESS. Returns its index.
    async fn begin(&mut self, name: &str, broker_id: Option<u32>) -> Result<usize, ReconcileError> {
        let open = self.steps.iter().rposition(|s| {
            s.name == name && s.broker_id == broker_id && s.status == StepStatus::InProgress
        });
        let i = match open {
            Some(i) => i,
            None => {
                self.steps.push(OperationStep {
                    name: name.to_owned(),
                    status: StepStatus::InProgress,
                    broker_id,
                    started_at: Some(Utc::now()),
                    ended_at: None,
                    message: None,
                });
                self.steps.len() - 1
            }
        };
        self.store.record_steps(self.op_id, &self.steps).await?;
        Ok(i)
    }

    /// Closes steps a previous control plane left IN_PROGRESS that the plan no longer asks for:
    /// the planner is level-triggered, so their effect is observed in place.
    fn settle_interrupted(&mut self, keep: &[(&str, Option<u32>)]) {
        for s in &mut self.steps {
            if s.status == StepStatus::InProgress
                && !keep.iter().any(|(n, b)| s.name == *n && s.broker_id == *b)
            {
                s.status = StepStatus::Complete;
                s.ended_at = Some(Utc::now());
                s.message = Some("completed before the control plane restarted (observed)".into());
            }
        }
    }

    async fn end(
        &mut self,
        i: usize,
        status: StepStatus,
        message: Option<String>,
    ) -> Result<(), ReconcileError> {
        let s = &mut self.steps[i];
        s.status = status;
        s.ended_at = Some(Utc::now());
        s.message = message;
        self.store.record_steps(self.op_id, &self.steps).await?;
        Ok(())
    }
}

/// Performs `step` for the cluster of `snap`, under `op`.
pub(crate) async fn execute<R: Runtime>(
    ctx: &Context,
    store: &Store,
    runtime: &R,
    admin: &R::Admin,
    snap: &ClusterSnapshot,
    op: &Operation,
    step: &Step,
) -> Result<(), ReconcileError> {
    let mut log = StepLog {
        store,
        op_id: op.id,
        steps: op.steps.clone(),
    };
    let (name, brokers): (&str, Vec<Option<u32>>) = match step {
        Step::Provision { broker_ids } => (
            step_names::PROVISION,
            broker_ids.iter().map(|b| Some(*b)).collect(),
        ),
        Step::Heal { broker_ids } => (
            step_names::HEAL,
            broker_ids.iter().map(|b| Some(*b)).collect(),
        ),
        Step::Drain { broker_id } => (step_names::DRAIN, vec![Some(*broker_id)]),
        Step::Decommission { broker_id } => (step_names::DECOMMISSION, vec![Some(*broker_id)]),
        Step::Rebalance => (step_names::REBALANCE, vec![None]),
        Step::ResizeStorage { broker_id } => (step_names::RESIZE_STORAGE, vec![Some(*broker_id)]),
        Step::RollingRestart { broker_id } => (step_names::RESTART, vec![Some(*broker_id)]),
        Step::Reboot { broker_id } => (step_names::REBOOT, vec![Some(*broker_id)]),
        Step::DeleteAll => (step_names::DELETE, vec![None]),
    };
    let keep: Vec<(&str, Option<u32>)> = brokers.iter().map(|b| (name, *b)).collect();
    log.settle_interrupted(&keep);
    let mut open = Vec::new();
    for b in &brokers {
        open.push(log.begin(name, *b).await?);
    }
    let result = perform(ctx, store, runtime, admin, snap, step).await;
    let (status, message) = match &result {
        Ok(()) => (StepStatus::Complete, None),
        Err(e) => (StepStatus::Failed, Some(e.to_string())),
    };
    for i in open {
        log.end(i, status, message.clone()).await?;
    }
    if !matches!(step, Step::DeleteAll) {
        sync_nodes(store, runtime, snap).await?;
    }
    result
}

async fn perform<R: Runtime>(
    ctx: &Context,
    store: &Store,
    runtime: &R,
    admin: &R::Admin,
    snap: &ClusterSnapshot,
    step: &Step,
) -> Result<(), ReconcileError> {
    let cid = snap.id;
    let spec_of = broker_specs(store, snap).await?;
    match step {
        Step::Provision { broker_ids } => {
            // New brokers hold nothing: start them all, then wait for each.
            for id in broker_ids {
                runtime.start_broker(&spec_of(*id)).await?;
            }
            for id in broker_ids {
                runtime.wait_ready(cid, *id, ctx.ready_timeout).await?;
            }
        }
        Step::Heal { broker_ids } => {
            // Down already: stop what is left of each (an unresponsive process), start them all,
            // then wait for each (a quorum that lost its majority needs its voters together).
            for id in broker_ids {
                runtime.stop_broker(cid, *id).await?;
                runtime.start_broker(&spec_of(*id)).await?;
            }
            for id in broker_ids {
                runtime.wait_ready(cid, *id, ctx.ready_timeout).await?;
            }
        }
        Step::RollingRestart { broker_id } | Step::Reboot { broker_id } => {
            // Stop (controlled; a dead broker is already stopped), start with the same node id
            // and data, and finish only once it answers again, so the next restart waits.
            runtime.stop_broker(cid, *broker_id).await?;
            runtime.start_broker(&spec_of(*broker_id)).await?;
            runtime
                .wait_ready(cid, *broker_id, ctx.ready_timeout)
                .await?;
        }
        Step::Drain { broker_id } => {
            let keep: Vec<u32> = (1..=snap.spec.broker_count).collect();
            admin
                .drain_broker(cid, *broker_id, &keep, ctx.reassign_timeout)
                .await?;
        }
        Step::Rebalance => {
            let brokers: Vec<u32> = (1..=snap.spec.broker_count).collect();
            admin.rebalance(cid, &brokers, ctx.reassign_timeout).await?;
        }
        Step::Decommission { broker_id } => {
            runtime.remove_broker(cid, *broker_id).await?;
            admin.unregister_broker(cid, *broker_id).await?;
            store.remove_node(cid, *broker_id).await?;
        }
        Step::ResizeStorage { broker_id } => runtime.resize_storage(&spec_of(*broker_id)).await?,
        Step::DeleteAll => {
            for b in runtime.observe(cid).await? {
                runtime.remove_broker(cid, b.broker_id).await?;
            }
        }
    }
    Ok(())
}

/// Before an operation completes: closes any step a crash left IN_PROGRESS (see
/// `StepLog::settle_interrupted`).
pub(crate) async fn settle_operation(store: &Store, op: &Operation) -> Result<(), ReconcileError> {
    if !op.steps.iter().any(|s| s.status == StepStatus::InProgress) {
        return Ok(());
    }
    let mut log = StepLog {
        store,
        op_id: op.id,
        steps: op.steps.clone(),
    };
    log.settle_interrupted(&[]);
    store.record_steps(op.id, &log.steps).await?;
    Ok(())
}

/// Writes what the runtime observes to the nodes table (what the bootstrap-brokers and nodes
/// endpoints report), and forgets brokers the runtime no longer has.
pub(crate) async fn sync_nodes<R: Runtime>(
    store: &Store,
    runtime: &R,
    snap: &ClusterSnapshot,
) -> Result<(), ReconcileError> {
    let observed = runtime.observe(snap.id).await?;
    for b in &observed {
        let state = match b.health {
            Health::Healthy => "RUNNING",
            Health::Starting => "STARTING",
            Health::Unresponsive => "UNRESPONSIVE",
            Health::Dead => "STOPPED",
        };
        let node = Node {
            broker_id: b.broker_id,
            host: b.host.clone(),
            port: b.port,
            zone: b.zone.clone(),
            state: state.into(),
            kafka_version: snap.spec.kafka_version.clone(),
            updated_at: Utc::now(),
        };
        store.upsert_node(snap.id, &node).await?;
    }
    for n in store.list_nodes(&snap.tenant, snap.id).await? {
        if !observed.iter().any(|b| b.broker_id == n.broker_id) {
            store.remove_node(snap.id, n.broker_id).await?;
        }
    }
    Ok(())
}
