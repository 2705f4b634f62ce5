//! Exhaustive tests of the planner: every combination of up to four brokers (each absent, or in
//! each health, with an old or new fingerprint, holding partitions or not), for several desired
//! counts, operations, safety answers and controllers. Plus convergence runs that simulate the
//! steps: scale-in drains before it decommissions, scale-out rebalances once, a rolling restart
//! takes the controller last.

use sluice_model::{BrokerResources, ConfigurationRef, StepStatus};
use uuid::Uuid;

use super::*;

fn spec(count: u32, revision: i64) -> ClusterSpec {
    ClusterSpec {
        kafka_version: "3.7.0".into(),
        broker_count: count,
        broker_type: None,
        broker_resources: BrokerResources {
            cpu_millis: 1000,
            memory_mib: 2048,
        },
        storage_gib: 10,
        zone_count: 1,
        configuration: Some(ConfigurationRef {
            id: Uuid::nil(),
            revision,
        }),
    }
}

fn broker(id: u32, health: Health, fp: &str, partitions: u32) -> ObservedBroker {
    ObservedBroker {
        broker_id: id,
        health,
        fingerprint: fp.into(),
        storage_gib: 10,
        partitions: Some(partitions),
        host: "127.0.0.1".into(),
        port: 9000 + id as u16,
        zone: None,
    }
}

const HEALTHS: [Health; 4] = [
    Health::Healthy,
    Health::Starting,
    Health::Unresponsive,
    Health::Dead,
];

/// Every cluster of up to four brokers: each broker absent or one of 16 shapes.
fn all_broker_sets(new_fp: &str, old_fp: &str) -> Vec<Vec<ObservedBroker>> {
    let mut shapes: Vec<Option<(Health, bool, u32)>> = vec![None];
    for h in HEALTHS {
        for new in [true, false] {
            for p in [0, 2] {
                shapes.push(Some((h, new, p)));
            }
        }
    }
    let mut out = Vec::new();
    let n = shapes.len();
    for code in 0..n.pow(4) {
        let mut set = Vec::new();
        let mut c = code;
        for id in 1..=4u32 {
            if let Some((h, new, p)) = shapes[c % n] {
                set.push(broker(id, h, if new { new_fp } else { old_fp }, p));
            }
            c /= n;
        }
        out.push(set);
    }
    out
}

fn ops() -> Vec<Option<OperationView>> {
    let view = |t, ids: Vec<u32>| {
        Some(OperationView {
            operation_type: t,
            broker_ids: ids,
            steps: Vec::new(),
        })
    };
    // A scale-out whose brokers were provisioned (and so waits to rebalance).
    let provisioned = Some(OperationView {
        operation_type: OperationType::UpdateBrokerCount,
        broker_ids: vec![],
        steps: vec![(step_names::PROVISION.into(), Some(3), StepStatus::Complete)],
    });
    vec![
        None,
        view(OperationType::CreateCluster, vec![]),
        view(OperationType::UpdateConfiguration, vec![]),
        view(OperationType::RebootBroker, vec![2]),
        view(OperationType::HealCluster, vec![]),
        view(OperationType::UpdateBrokerCount, vec![]),
        provisioned,
    ]
}

#[test]
fn exhaustive_safety_rules() {
    let mut checked = 0u64;
    for count in [2u32, 3] {
        let s = spec(count, 2);
        let new_fp = fingerprint(&s);
        let old_fp = fingerprint(&spec(count, 1));
        let sets = all_broker_sets(&new_fp, &old_fp);
        for op in ops() {
            let state = op
                .as_ref()
                .map_or(ClusterState::Active, |o| o.operation_type.cluster_state());
            let desired = Desired {
                state,
                spec: &s,
                operation: op.as_ref(),
            };
            for brokers in &sets {
                for safe in [true, false] {
                    for controller in [None, Some(1)] {
                        let o = Observed {
                            brokers,
                            safe,
                            controller,
                        };
                        let p = plan(&desired, &o);
                        check(&desired, &o, &new_fp, &p);
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 1_000_000, "checked {checked}");
}

fn check(d: &Desired<'_>, o: &Observed<'_>, fp: &str, p: &Plan) {
    let (brokers, safe) = (o.brokers, o.safe);
    let count = d.spec.broker_count;
    let find = |id: u32| brokers.iter().find(|b| b.broker_id == id);
    let ctx = || {
        format!(
            "{brokers:?} count={count} safe={safe} controller={:?} op={:?} → {p:?}",
            o.controller, d.operation
        )
    };
    let rebalance_due = d.operation.is_some_and(|op| {
        op.operation_type == OperationType::UpdateBrokerCount
            && op.completed_any(step_names::PROVISION)
            && !op.completed(step_names::REBALANCE, None)
    });
    match p {
        Plan::Step(Step::RollingRestart { broker_id } | Step::Reboot { broker_id }) => {
            // Never two down at once: a restart only from an all-healthy, safe cluster.
            assert!(safe, "restart while unsafe: {}", ctx());
            assert!(
                brokers.iter().all(|b| b.health == Health::Healthy),
                "restart while another broker is down: {}",
                ctx()
            );
            assert!(find(*broker_id).is_some(), "{}", ctx());
            // The controller last: restarted only when no other broker needs restarting.
            if o.controller == Some(*broker_id) {
                let others_stale = brokers.iter().any(|b| {
                    b.broker_id != *broker_id && b.broker_id <= count && b.fingerprint != fp
                });
                let restart = matches!(p, Plan::Step(Step::RollingRestart { .. }));
                assert!(!(restart && others_stale), "controller not last: {}", ctx());
            }
            assert!(!rebalance_due, "restart before the rebalance: {}", ctx());
        }
        Plan::Step(Step::Drain { broker_id }) => {
            let b = find(*broker_id).expect("exists");
            assert!(*broker_id > count, "draining a wanted broker: {}", ctx());
            assert!(
                b.partitions.is_some_and(|n| n > 0),
                "draining an empty broker: {}",
                ctx()
            );
            // Only onto brokers that run: nothing wanted is down, missing or starting.
            for id in 1..=count {
                let w = find(id).unwrap_or_else(|| panic!("missing {id}: {}", ctx()));
                assert_eq!(w.health, Health::Healthy, "{}", ctx());
            }
        }
        Plan::Step(Step::Rebalance) => {
            assert!(rebalance_due, "{}", ctx());
            assert!(
                brokers.iter().all(|b| b.health == Health::Healthy),
                "rebalance onto a broker that is down: {}",
                ctx()
            );
            assert!(brokers.iter().all(|b| b.broker_id <= count), "{}", ctx());
            assert_eq!(brokers.len(), count as usize, "{}", ctx());
        }
        Plan::Step(Step::Decommission { broker_id }) => {
            let b = find(*broker_id).expect("exists");
            assert_eq!(
                b.partitions,
                Some(0),
                "removing a broker with data: {}",
                ctx()
            );
            assert!(*broker_id > count, "removing a wanted broker: {}", ctx());
        }
        Plan::Step(Step::Heal { broker_ids }) => {
            for broker_id in broker_ids {
                let b = find(*broker_id).expect("exists");
                assert!(
                    matches!(b.health, Health::Dead | Health::Unresponsive),
                    "{}",
                    ctx()
                );
                assert!(*broker_id <= count, "{}", ctx());
            }
            // Every broken wanted broker at once (they are down already).
            let broken: Vec<u32> = brokers
                .iter()
                .filter(|b| {
                    b.broker_id <= count && matches!(b.health, Health::Dead | Health::Unresponsive)
                })
                .map(|b| b.broker_id)
                .collect();
            assert_eq!(broker_ids, &broken, "{}", ctx());
        }
        Plan::Step(Step::Provision { broker_ids }) => {
            assert!(!broker_ids.is_empty());
            for id in broker_ids {
                assert!(find(*id).is_none() && *id <= count, "{}", ctx());
            }
        }
        Plan::Complete => {
            assert!(d.operation.is_some(), "{}", ctx());
            assert!(!rebalance_due, "complete before the rebalance: {}", ctx());
            for id in 1..=count {
                let b = find(id).unwrap_or_else(|| panic!("missing {id}: {}", ctx()));
                assert_eq!(b.fingerprint, fp, "{}", ctx());
                assert!(
                    !matches!(b.health, Health::Dead | Health::Unresponsive),
                    "{}",
                    ctx()
                );
            }
            assert!(brokers.iter().all(|b| b.broker_id <= count), "{}", ctx());
        }
        Plan::Idle => {
            // With an operation under way the planner always has an answer but Idle.
            assert!(d.operation.is_none(), "{}", ctx());
            let healthy = brokers.len() == count as usize
                && brokers
                    .iter()
                    .all(|b| b.fingerprint == fp && b.broker_id <= count)
                && brokers
                    .iter()
                    .all(|b| matches!(b.health, Health::Healthy | Health::Starting));
            assert!(healthy, "idle while drifted: {}", ctx());
        }
        Plan::StartHeal { broker_ids } => {
            assert!(d.operation.is_none(), "{}", ctx());
            assert!(!broker_ids.is_empty() || !brokers.is_empty(), "{}", ctx());
        }
        Plan::Step(Step::DeleteAll) | Plan::Step(Step::ResizeStorage { .. }) => {
            panic!("unexpected {}", ctx())
        }
        Plan::Wait(_) | Plan::Blocked(_) => assert!(d.operation.is_some(), "{}", ctx()),
    }
}

/// Applies a step to the simulated brokers, as a runtime would; counts restarts per broker.
fn apply(brokers: &mut Vec<ObservedBroker>, step: &Step, fp: &str, restarts: &mut [u32; 8]) {
    match step {
        Step::Provision { broker_ids } => {
            for id in broker_ids {
                brokers.push(broker(*id, Health::Healthy, fp, 0));
            }
        }
        Step::Heal { broker_ids } => {
            for id in broker_ids {
                restarts[*id as usize] += 1;
                let b = brokers.iter_mut().find(|b| b.broker_id == *id).unwrap();
                b.health = Health::Healthy;
                b.fingerprint = fp.into();
            }
        }
        Step::RollingRestart { broker_id } | Step::Reboot { broker_id } => {
            restarts[*broker_id as usize] += 1;
            let b = brokers
                .iter_mut()
                .find(|b| b.broker_id == *broker_id)
                .unwrap();
            b.health = Health::Healthy;
            b.fingerprint = fp.into();
        }
        Step::Drain { broker_id } => {
            brokers
                .iter_mut()
                .find(|b| b.broker_id == *broker_id)
                .unwrap()
                .partitions = Some(0)
        }
        Step::Rebalance => {}
        Step::Decommission { broker_id } => brokers.retain(|b| b.broker_id != *broker_id),
        Step::ResizeStorage { broker_id } => {
            brokers
                .iter_mut()
                .find(|b| b.broker_id == *broker_id)
                .unwrap()
                .storage_gib = 100
        }
        Step::DeleteAll => brokers.clear(),
    }
}

/// Runs an operation to the end; an "interruption" after each step re-plans from nothing but
/// the observed brokers and the recorded steps, which is what a restarted control plane has.
fn run_to_completion(
    spec: &ClusterSpec,
    op_type: OperationType,
    broker_ids: Vec<u32>,
    brokers: Vec<ObservedBroker>,
) -> ([u32; 8], Vec<Step>) {
    run_with_controller(spec, op_type, broker_ids, brokers, None)
}

/// The recorded steps of `step`, as the executor writes them.
fn recorded(step: &Step) -> Vec<(String, Option<u32>, StepStatus)> {
    let one = |n: &str, b: Option<u32>| vec![(n.to_string(), b, StepStatus::Complete)];
    match step {
        Step::Provision { broker_ids } => broker_ids
            .iter()
            .map(|b| (step_names::PROVISION.into(), Some(*b), StepStatus::Complete))
            .collect(),
        Step::Heal { broker_ids } => broker_ids
            .iter()
            .map(|b| (step_names::HEAL.into(), Some(*b), StepStatus::Complete))
            .collect(),
        Step::Drain { broker_id } => one(step_names::DRAIN, Some(*broker_id)),
        Step::Decommission { broker_id } => one(step_names::DECOMMISSION, Some(*broker_id)),
        Step::Rebalance => one(step_names::REBALANCE, None),
        Step::ResizeStorage { broker_id } => one(step_names::RESIZE_STORAGE, Some(*broker_id)),
        Step::RollingRestart { broker_id } => one(step_names::RESTART, Some(*broker_id)),
        Step::Reboot { broker_id } => one(step_names::REBOOT, Some(*broker_id)),
        Step::DeleteAll => one(step_names::DELETE, None),
    }
}

/// [`run_to_completion`] with `controller` as the metadata quorum's leader throughout.
fn run_with_controller(
    spec: &ClusterSpec,
    op_type: OperationType,
    broker_ids: Vec<u32>,
    mut brokers: Vec<ObservedBroker>,
    controller: Option<u32>,
) -> ([u32; 8], Vec<Step>) {
    let fp = fingerprint(spec);
    let mut view = OperationView {
        operation_type: op_type,
        broker_ids,
        steps: Vec::new(),
    };
    let mut restarts = [0u32; 8];
    let mut taken = Vec::new();
    for _ in 0..50 {
        let p = plan(
            &Desired {
                state: op_type.cluster_state(),
                spec,
                operation: Some(&view),
            },
            &Observed {
                brokers: &brokers,
                safe: true,
                controller,
            },
        );
        match p {
            Plan::Complete => return (restarts, taken),
            Plan::Step(step) => {
                apply(&mut brokers, &step, &fp, &mut restarts);
                view.steps.extend(recorded(&step));
                taken.push(step);
            }
            other => panic!("stuck: {other:?}"),
        }
    }
    panic!("did not converge");
}

#[test]
fn rolling_restart_restarts_each_broker_once_lowest_first() {
    let s = spec(3, 2);
    let old = fingerprint(&spec(3, 1));
    // Interrupted after broker 1 was restarted: 2 and 3 remain, 1 is not restarted again.
    let brokers = vec![
        broker(1, Health::Healthy, &fingerprint(&s), 0),
        broker(2, Health::Healthy, &old, 3),
        broker(3, Health::Healthy, &old, 3),
    ];
    let (restarts, steps) =
        run_to_completion(&s, OperationType::UpdateConfiguration, vec![], brokers);
    assert_eq!(&restarts[1..4], &[0, 1, 1]);
    assert_eq!(
        steps,
        vec![
            Step::RollingRestart { broker_id: 2 },
            Step::RollingRestart { broker_id: 3 }
        ]
    );
}

#[test]
fn create_provisions_all_then_completes_and_resumes_partial_create() {
    let s = spec(3, 1);
    let (_, steps) = run_to_completion(&s, OperationType::CreateCluster, vec![], vec![]);
    assert_eq!(
        steps,
        vec![Step::Provision {
            broker_ids: vec![1, 2, 3]
        }]
    );
    // Interrupted after broker 1 started: only 2 and 3 are provisioned.
    let one = vec![broker(1, Health::Healthy, &fingerprint(&s), 0)];
    let (_, steps) = run_to_completion(&s, OperationType::CreateCluster, vec![], one);
    assert_eq!(
        steps,
        vec![Step::Provision {
            broker_ids: vec![2, 3]
        }]
    );
}

#[test]
fn scale_in_removes_highest_empty_broker_and_drains_one_with_data() {
    let s = spec(3, 1);
    let fp = fingerprint(&s);
    let four = |p| {
        vec![
            broker(1, Health::Healthy, &fp, 1),
            broker(2, Health::Healthy, &fp, 1),
            broker(3, Health::Healthy, &fp, 1),
            broker(4, Health::Healthy, &fp, p),
        ]
    };
    let (_, steps) = run_to_completion(&s, OperationType::UpdateBrokerCount, vec![], four(0));
    assert_eq!(steps, vec![Step::Decommission { broker_id: 4 }]);
    // Holding data: drained first, then removed; no rebalance (nothing was provisioned).
    let (restarts, steps) =
        run_to_completion(&s, OperationType::UpdateBrokerCount, vec![], four(5));
    assert_eq!(
        steps,
        vec![
            Step::Drain { broker_id: 4 },
            Step::Decommission { broker_id: 4 }
        ]
    );
    assert_eq!(restarts, [0; 8]);
    // 5 → 3: the highest goes first, each drained before it is removed.
    let mut five = four(2);
    five.push(broker(5, Health::Healthy, &fp, 3));
    let (_, steps) = run_to_completion(&s, OperationType::UpdateBrokerCount, vec![], five);
    assert_eq!(
        steps,
        vec![
            Step::Drain { broker_id: 5 },
            Step::Decommission { broker_id: 5 },
            Step::Drain { broker_id: 4 },
            Step::Decommission { broker_id: 4 },
        ]
    );
    // A broker that cannot be asked is not drained or removed: blocked, with the reason.
    let view = OperationView {
        operation_type: OperationType::UpdateBrokerCount,
        broker_ids: vec![],
        steps: vec![],
    };
    let mut unknown = four(1);
    unknown[3].partitions = None;
    let blocked = plan(
        &Desired {
            state: ClusterState::Updating,
            spec: &s,
            operation: Some(&view),
        },
        &Observed {
            brokers: &unknown,
            safe: true,
            controller: Some(1),
        },
    );
    assert!(matches!(blocked, Plan::Blocked(m) if m.contains("broker 4 cannot be asked")));
}

#[test]
fn a_drain_waits_for_a_broker_that_is_down() {
    let s = spec(3, 1);
    let fp = fingerprint(&s);
    let mut brokers: Vec<_> = (1..=4)
        .map(|i| broker(i, Health::Healthy, &fp, 2))
        .collect();
    brokers[1].health = Health::Dead;
    let view = OperationView {
        operation_type: OperationType::UpdateBrokerCount,
        broker_ids: vec![],
        steps: vec![],
    };
    let d = Desired {
        state: ClusterState::Updating,
        spec: &s,
        operation: Some(&view),
    };
    let o = Observed {
        brokers: &brokers,
        safe: false,
        controller: Some(1),
    };
    assert_eq!(
        plan(&d, &o),
        Plan::Step(Step::Heal {
            broker_ids: vec![2]
        })
    );
    brokers[1].health = Health::Starting;
    let o = Observed {
        brokers: &brokers,
        safe: false,
        controller: Some(1),
    };
    assert!(matches!(plan(&d, &o), Plan::Wait(_)));
}

#[test]
fn scale_out_provisions_then_rebalances_once_and_resumes_after_an_interruption() {
    let s = spec(4, 1);
    let fp = fingerprint(&s);
    let three: Vec<_> = (1..=3)
        .map(|i| broker(i, Health::Healthy, &fp, 3))
        .collect();
    let (restarts, steps) = run_to_completion(&s, OperationType::UpdateBrokerCount, vec![], three);
    assert_eq!(
        steps,
        vec![
            Step::Provision {
                broker_ids: vec![4]
            },
            Step::Rebalance
        ]
    );
    assert_eq!(restarts, [0; 8]);
    // Interrupted after the provision was recorded: only the rebalance remains.
    let four: Vec<_> = (1..=4)
        .map(|i| broker(i, Health::Healthy, &fp, 3))
        .collect();
    let mut view = OperationView {
        operation_type: OperationType::UpdateBrokerCount,
        broker_ids: vec![],
        steps: recorded(&Step::Provision {
            broker_ids: vec![4],
        }),
    };
    let d = |v: &OperationView| {
        plan(
            &Desired {
                state: ClusterState::Updating,
                spec: &s,
                operation: Some(v),
            },
            &Observed {
                brokers: &four,
                safe: true,
                controller: Some(1),
            },
        )
    };
    assert_eq!(d(&view), Plan::Step(Step::Rebalance));
    // A failed rebalance is tried again; a completed one is not.
    view.steps
        .push((step_names::REBALANCE.into(), None, StepStatus::Failed));
    assert_eq!(d(&view), Plan::Step(Step::Rebalance));
    view.steps.extend(recorded(&Step::Rebalance));
    assert_eq!(d(&view), Plan::Complete);
    // Not while a broker is down: heal first, and wait while one starts.
    let mut down = four.clone();
    down[3].health = Health::Starting;
    view.steps.truncate(1);
    let p = plan(
        &Desired {
            state: ClusterState::Updating,
            spec: &s,
            operation: Some(&view),
        },
        &Observed {
            brokers: &down,
            safe: true,
            controller: Some(1),
        },
    );
    assert!(matches!(p, Plan::Wait(_)), "{p:?}");
}

#[test]
fn rolling_restart_takes_the_controller_last() {
    let s = spec(3, 2);
    let old = fingerprint(&spec(3, 1));
    let stale: Vec<_> = (1..=3)
        .map(|i| broker(i, Health::Healthy, &old, 3))
        .collect();
    for (controller, order) in [
        (Some(1), [2, 3, 1]),
        (Some(2), [1, 3, 2]),
        (Some(3), [1, 2, 3]),
        (None, [1, 2, 3]),
    ] {
        let (restarts, steps) = run_with_controller(
            &s,
            OperationType::UpdateConfiguration,
            vec![],
            stale.clone(),
            controller,
        );
        let want: Vec<Step> = order
            .iter()
            .map(|b| Step::RollingRestart { broker_id: *b })
            .collect();
        assert_eq!(steps, want, "controller {controller:?}");
        assert_eq!(&restarts[1..4], &[1, 1, 1]);
    }
    // A reboot of the controller itself is still done (it is the only one asked for).
    let fp = fingerprint(&spec(3, 1));
    let healthy: Vec<_> = (1..=3)
        .map(|i| broker(i, Health::Healthy, &fp, 3))
        .collect();
    let (_, steps) = run_with_controller(
        &spec(3, 1),
        OperationType::RebootBroker,
        vec![2],
        healthy,
        Some(2),
    );
    assert_eq!(steps, vec![Step::Reboot { broker_id: 2 }]);
}

#[test]
fn reboot_reboots_the_named_broker_once() {
    let s = spec(3, 1);
    let fp = fingerprint(&s);
    let brokers: Vec<_> = (1..=3)
        .map(|i| broker(i, Health::Healthy, &fp, 1))
        .collect();
    let (restarts, steps) = run_to_completion(&s, OperationType::RebootBroker, vec![2], brokers);
    assert_eq!(steps, vec![Step::Reboot { broker_id: 2 }]);
    assert_eq!(&restarts[1..4], &[0, 1, 0]);
}

#[test]
fn dead_broker_of_active_cluster_starts_a_heal_then_heals_it() {
    let s = spec(3, 1);
    let fp = fingerprint(&s);
    let mut brokers: Vec<_> = (1..=3)
        .map(|i| broker(i, Health::Healthy, &fp, 1))
        .collect();
    brokers[1].health = Health::Dead;
    let active = Desired {
        state: ClusterState::Active,
        spec: &s,
        operation: None,
    };
    let obs = Observed {
        brokers: &brokers,
        safe: false,
        controller: Some(1),
    };
    assert_eq!(
        plan(&active, &obs),
        Plan::StartHeal {
            broker_ids: vec![2]
        }
    );
    let (restarts, _) = run_to_completion(&s, OperationType::HealCluster, vec![2], brokers);
    assert_eq!(&restarts[1..4], &[0, 1, 0]);
}

#[test]
fn storage_grows_in_place_and_delete_removes_everything() {
    let mut s = spec(2, 1);
    let fp = fingerprint(&s);
    s.storage_gib = 100;
    let brokers: Vec<_> = (1..=2)
        .map(|i| broker(i, Health::Healthy, &fp, 1))
        .collect();
    let (restarts, steps) = run_to_completion(
        &s,
        OperationType::UpdateBrokerStorage,
        vec![],
        brokers.clone(),
    );
    assert_eq!(restarts, [0; 8]);
    assert_eq!(
        steps,
        vec![
            Step::ResizeStorage { broker_id: 1 },
            Step::ResizeStorage { broker_id: 2 }
        ]
    );
    let (_, steps) = run_to_completion(&s, OperationType::DeleteCluster, vec![], brokers);
    assert_eq!(steps, vec![Step::DeleteAll]);
}

#[test]
fn failed_cluster_is_left_alone() {
    let s = spec(3, 1);
    let p = plan(
        &Desired {
            state: ClusterState::Failed,
            spec: &s,
            operation: None,
        },
        &Observed {
            brokers: &[],
            safe: true,
            controller: None,
        },
    );
    assert_eq!(p, Plan::Idle);
}

#[test]
fn a_cluster_whose_brokers_all_died_is_healed_in_one_step() {
    // Every voter down: started one at a time, the first would wait for a quorum forever.
    let s = spec(3, 1);
    let fp = fingerprint(&s);
    let dead: Vec<_> = (1..=3).map(|i| broker(i, Health::Dead, &fp, 2)).collect();
    let (restarts, steps) = run_to_completion(&s, OperationType::HealCluster, vec![1, 2, 3], dead);
    assert_eq!(
        steps,
        vec![Step::Heal {
            broker_ids: vec![1, 2, 3]
        }]
    );
    assert_eq!(&restarts[1..4], &[1, 1, 1]);
}
