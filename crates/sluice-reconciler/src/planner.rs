//! The planner: a pure function from (desired spec, operation in progress, observed brokers) to
//! the one next thing to do. No I/O, no clock: everything it needs is in its arguments, so it is
//! tested exhaustively (see `planner/tests.rs`).
//!
//! Safety rules it guarantees (each is a test):
//! - a restart (rolling restart or reboot) is planned only when every broker is healthy and the
//!   cluster is safe (no under-replicated partitions), so two brokers are never down for a
//!   restart at once; a heal starts every dead broker together (they serve nothing, and a
//!   quorum that lost its majority needs its voters back at once);
//! - a broker is removed only when it is known to hold no partitions: a scale-in first drains
//!   it (its replicas reassigned to the brokers that stay), then decommissions it;
//! - a scale-out rebalances replicas onto the new brokers once they run (one REBALANCE step
//!   per operation, found in the operation's completed steps);
//! - a rolling restart restarts the cluster's controller (the metadata quorum's leader) last;
//! - an interrupted operation resumes where it stopped: the plan depends on what the brokers are
//!   (their fingerprints, their count) and on the steps already recorded, never on memory.

use sluice_model::{ClusterSpec, ClusterState, OperationType, StepStatus};

use crate::runtime::{Health, ObservedBroker};

/// The fingerprint of what a broker must be restarted for: Kafka version, configuration
/// revision and broker size (a new type means new CPU and memory, which a process or pod only
/// gets by restarting). Storage is not in it: storage grows in place.
pub fn fingerprint(spec: &ClusterSpec) -> String {
    let size = format!(
        "{}m/{}Mi",
        spec.broker_resources.cpu_millis, spec.broker_resources.memory_mib
    );
    match &spec.configuration {
        Some(c) => format!("{}/{}:{}/{size}", spec.kafka_version, c.id, c.revision),
        None => format!("{}/-/{size}", spec.kafka_version),
    }
}

/// Names of the steps recorded on operations.
pub mod step_names {
    pub const PROVISION: &str = "PROVISION_BROKER";
    pub const HEAL: &str = "HEAL_BROKER";
    pub const DECOMMISSION: &str = "DECOMMISSION_BROKER";
    pub const RESIZE_STORAGE: &str = "RESIZE_STORAGE";
    pub const RESTART: &str = "RESTART_BROKER";
    pub const REBOOT: &str = "REBOOT_BROKER";
    pub const DELETE: &str = "DELETE_BROKERS";
    pub const DRAIN: &str = "DRAIN_BROKER";
    pub const REBALANCE: &str = "REBALANCE_PARTITIONS";
}

/// The operation in progress, as far as the planner cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationView {
    pub operation_type: OperationType,
    /// Brokers the request named (a reboot names one).
    pub broker_ids: Vec<u32>,
    /// Steps recorded so far: (name, broker, status).
    pub steps: Vec<(String, Option<u32>, StepStatus)>,
}

impl OperationView {
    fn completed(&self, name: &str, broker: Option<u32>) -> bool {
        self.steps
            .iter()
            .any(|(n, b, s)| n == name && *b == broker && *s == StepStatus::Complete)
    }

    fn completed_any(&self, name: &str) -> bool {
        self.steps
            .iter()
            .any(|(n, _, s)| n == name && *s == StepStatus::Complete)
    }
}

/// What the cluster should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired<'a> {
    pub state: ClusterState,
    pub spec: &'a ClusterSpec,
    pub operation: Option<&'a OperationView>,
}

/// What the runtime reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed<'a> {
    pub brokers: &'a [ObservedBroker],
    /// No under-replicated partitions: one broker may go down for a moment.
    pub safe: bool,
    /// The cluster's controller (metadata quorum leader), restarted last in a rolling restart.
    pub controller: Option<u32>,
}

/// One action on the runtime; each touches at most one existing broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Start brokers that do not exist yet (they hold nothing, so starting several is safe).
    Provision { broker_ids: Vec<u32> },
    /// Start dead or unresponsive brokers again, same node ids and data. All of them at once:
    /// they serve nothing already, and a metadata quorum that lost its majority only comes back
    /// when enough voters start together (one at a time, the first would wait forever).
    Heal { broker_ids: Vec<u32> },
    /// Reassign every replica of a broker beyond the desired count to the brokers that stay.
    Drain { broker_id: u32 },
    /// Remove an empty broker beyond the desired count.
    Decommission { broker_id: u32 },
    /// Move replicas onto brokers a scale-out added, then elect preferred leaders.
    Rebalance,
    /// Grow a broker's storage in place.
    ResizeStorage { broker_id: u32 },
    /// Controlled shutdown and start with the new fingerprint; next broker once it is back.
    RollingRestart { broker_id: u32 },
    /// Controlled shutdown and start as it is (a reboot the user asked for).
    Reboot { broker_id: u32 },
    /// Remove every broker and its data.
    DeleteAll,
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Nothing to do: the brokers match the spec and no operation runs.
    Idle,
    /// Do this step, then plan again.
    Step(Step),
    /// Something is under way by itself (a broker starting); look again shortly.
    Wait(String),
    /// Cannot progress without outside help (for example a broker to remove still holds
    /// partitions); the reason is recorded, and the reconciler looks again later.
    Blocked(String),
    /// The brokers drifted from the spec with no operation running (a broker died): start a
    /// HEAL_CLUSTER operation naming these brokers.
    StartHeal { broker_ids: Vec<u32> },
    /// The operation's target is reached: complete it.
    Complete,
}

/// The next thing to do. See the module docs for the rules.
pub fn plan(desired: &Desired<'_>, observed: &Observed<'_>) -> Plan {
    let op = desired.operation;
    let brokers = observed.brokers;
    let done = || {
        if op.is_some() {
            Plan::Complete
        } else {
            Plan::Idle
        }
    };

    if desired.state == ClusterState::Deleting
        || op.is_some_and(|o| o.operation_type == OperationType::DeleteCluster)
    {
        return if brokers.is_empty() {
            done()
        } else {
            Plan::Step(Step::DeleteAll)
        };
    }
    // A FAILED cluster waits for a person; MAINTENANCE belongs to someone else.
    if matches!(
        desired.state,
        ClusterState::Failed | ClusterState::Maintenance
    ) {
        return Plan::Idle;
    }

    let count = desired.spec.broker_count;
    let wanted = |id: u32| (1..=count).contains(&id);
    let fp = fingerprint(desired.spec);

    // What is wrong, in the order it is fixed: restore service first.
    let broken: Vec<u32> = brokers
        .iter()
        .filter(|b| wanted(b.broker_id) && matches!(b.health, Health::Dead | Health::Unresponsive))
        .map(|b| b.broker_id)
        .collect();
    let missing: Vec<u32> = (1..=count)
        .filter(|id| !brokers.iter().any(|b| b.broker_id == *id))
        .collect();
    let excess: Vec<&ObservedBroker> = brokers.iter().filter(|b| !wanted(b.broker_id)).collect();
    let small: Vec<u32> = brokers
        .iter()
        .filter(|b| wanted(b.broker_id) && b.storage_gib < desired.spec.storage_gib)
        .map(|b| b.broker_id)
        .collect();
    let stale: Vec<u32> = brokers
        .iter()
        .filter(|b| wanted(b.broker_id) && b.fingerprint != fp)
        .map(|b| b.broker_id)
        .collect();

    let Some(op) = op else {
        // No operation: only an ACTIVE cluster is repaired, through a heal operation, so the
        // repair is visible as steps. Drift in anything else waits for its operation.
        if desired.state != ClusterState::Active {
            return Plan::Idle;
        }
        let mut ids: Vec<u32> = broken.iter().chain(&missing).copied().collect();
        if ids.is_empty() && (!excess.is_empty() || !small.is_empty() || !stale.is_empty()) {
            ids = excess.iter().map(|b| b.broker_id).collect();
        }
        return if ids.is_empty() && excess.is_empty() && small.is_empty() && stale.is_empty() {
            Plan::Idle
        } else {
            ids.sort_unstable();
            Plan::StartHeal { broker_ids: ids }
        };
    };

    if !broken.is_empty() {
        let mut broker_ids = broken.clone();
        broker_ids.sort_unstable();
        return Plan::Step(Step::Heal { broker_ids });
    }
    if let Some(b) = brokers.iter().find(|b| b.health == Health::Starting) {
        return Plan::Wait(format!("broker {} is starting", b.broker_id));
    }
    if !missing.is_empty() {
        return Plan::Step(Step::Provision {
            broker_ids: missing,
        });
    }
    if let Some(b) = excess.iter().max_by_key(|b| b.broker_id) {
        return match b.partitions {
            Some(0) => Plan::Step(Step::Decommission {
                broker_id: b.broker_id,
            }),
            Some(_) => Plan::Step(Step::Drain {
                broker_id: b.broker_id,
            }),
            None => Plan::Blocked(format!(
                "broker {} cannot be asked which partitions it holds",
                b.broker_id
            )),
        };
    }
    let all_healthy = brokers.iter().all(|b| b.health == Health::Healthy);
    // A scale-out that provisioned brokers moves replicas onto them, once.
    if op.operation_type == OperationType::UpdateBrokerCount
        && op.completed_any(step_names::PROVISION)
        && !op.completed(step_names::REBALANCE, None)
    {
        if !all_healthy {
            return Plan::Wait("waiting for every broker to be healthy before rebalancing".into());
        }
        return Plan::Step(Step::Rebalance);
    }
    if let Some(&id) = small.iter().min() {
        return Plan::Step(Step::ResizeStorage { broker_id: id });
    }
    // Restarts below take one broker down: only from a fully healthy, safe cluster.
    let reboots: Vec<u32> = if op.operation_type == OperationType::RebootBroker {
        op.broker_ids
            .iter()
            .copied()
            .filter(|id| wanted(*id) && !op.completed(step_names::REBOOT, Some(*id)))
            .collect()
    } else {
        Vec::new()
    };
    if stale.is_empty() && reboots.is_empty() {
        return done();
    }
    if !all_healthy {
        return Plan::Wait("waiting for every broker to be healthy before a restart".into());
    }
    if !observed.safe {
        return Plan::Wait("waiting for under-replicated partitions to catch up".into());
    }
    // Lowest id first, the controller last (each restart of it moves the quorum's leadership).
    let next = |ids: &[u32]| {
        ids.iter()
            .copied()
            .min_by_key(|id| (Some(*id) == observed.controller, *id))
    };
    if let Some(id) = next(&stale) {
        return Plan::Step(Step::RollingRestart { broker_id: id });
    }
    Plan::Step(Step::Reboot {
        broker_id: next(&reboots).expect("not empty"),
    })
}

#[cfg(test)]
mod tests;
