//! The rebalance protocol and offset rules on an in-memory coordinator (one partition, no
//! log). Leadership and replay are tested in `leadership_tests`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::shards::Settings;
use super::*;

fn params(member: &str, client: &str) -> JoinParams {
    JoinParams {
        group_id: "g".into(),
        member_id: member.into(),
        client_id: client.into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"m"))],
        require_known_member_id: true,
        ..Default::default()
    }
}

fn now_outcome<T: std::fmt::Debug>(r: Reply<T>) -> T {
    match r {
        Reply::Now(t) => t,
        Reply::Wait(_) => panic!("expected an immediate answer"),
    }
}

fn wait<T>(r: Reply<T>) -> oneshot::Receiver<T> {
    match r {
        Reply::Wait(rx) => rx,
        Reply::Now(_) => panic!("expected to wait"),
    }
}

#[test]
fn two_members_join_sync_and_rebalance_on_leave() {
    let c = GroupCoordinator::in_memory();
    let t = Instant::now();
    let first = now_outcome(c.join(params("", "a"), t));
    assert_eq!(first.error, ResponseError::MemberIdRequired.code());
    let mut rx_a = wait(c.join(params(&first.member_id, "a"), t));
    let a = rx_a.try_recv().unwrap();
    assert_eq!(
        (a.error, a.generation, a.leader.clone()),
        (0, 1, a.member_id.clone())
    );
    assert_eq!(a.members.len(), 1);
    let mut sync_a = wait(c.sync(
        "g",
        1,
        &a.member_id,
        vec![(a.member_id.clone(), Bytes::from_static(b"A"))],
    ));
    assert_eq!(
        sync_a.try_recv().unwrap().assignment,
        Bytes::from_static(b"A")
    );
    assert_eq!(c.heartbeat("g", 1, &a.member_id, t), 0);

    // A second member triggers a rebalance that waits for the first to rejoin.
    let b_id = now_outcome(c.join(params("", "b"), t)).member_id;
    let mut rx_b = wait(c.join(params(&b_id, "b"), t));
    assert!(rx_b.try_recv().is_err());
    assert_eq!(
        c.heartbeat("g", 1, &a.member_id, t),
        ResponseError::RebalanceInProgress.code()
    );
    let mut rx_a = wait(c.join(params(&a.member_id, "a"), t));
    let (a2, b2) = (rx_a.try_recv().unwrap(), rx_b.try_recv().unwrap());
    assert_eq!((a2.generation, b2.generation), (2, 2));
    assert_eq!(a2.leader, a.member_id, "the leader is kept");
    assert_eq!((a2.members.len(), b2.members.len()), (2, 0));
    let mut sb = wait(c.sync("g", 2, &b_id, vec![]));
    assert!(sb.try_recv().is_err(), "followers wait for the leader");
    let _ = c.sync(
        "g",
        2,
        &a.member_id,
        vec![(b_id.clone(), Bytes::from_static(b"B"))],
    );
    assert_eq!(sb.try_recv().unwrap().assignment, Bytes::from_static(b"B"));
    assert_eq!(
        c.sync("g", 1, &b_id, vec![]).now_error(),
        ResponseError::IllegalGeneration.code()
    );

    // The leader leaves: the remaining member rejoins alone into generation 3.
    assert_eq!(
        c.leave("g", &[(a.member_id.clone(), None)], t).unwrap(),
        vec![0]
    );
    let mut rx_b = wait(c.join(params(&b_id, "b"), t));
    let b3 = rx_b.try_recv().unwrap();
    assert_eq!((b3.generation, b3.leader.clone()), (3, b_id.clone()));
    assert_eq!(c.describe("g").unwrap().unwrap().members.len(), 1);
}

#[test]
fn members_starting_together_share_the_first_generation() {
    let c = GroupCoordinator::in_memory_with(Settings {
        initial_delay: Duration::from_millis(3000),
        ..Settings::default()
    });
    let t = Instant::now();
    let a = now_outcome(c.join(params("", "a"), t)).member_id;
    let mut rx_a = wait(c.join(params(&a, "a"), t));
    let b = now_outcome(c.join(params("", "b"), t)).member_id;
    let mut rx_b = wait(c.join(params(&b, "b"), t + Duration::from_millis(2000)));
    c.tick(t + Duration::from_millis(3500));
    assert!(rx_a.try_recv().is_err(), "the newcomer extended the delay");
    c.tick(t + Duration::from_millis(5100));
    let (ja, jb) = (rx_a.try_recv().unwrap(), rx_b.try_recv().unwrap());
    assert_eq!((ja.generation, jb.generation), (1, 1));
    assert_eq!(ja.members.len() + jb.members.len(), 2);
}

#[test]
fn expired_sessions_and_overdue_rebalances() {
    let c = GroupCoordinator::in_memory();
    let t = Instant::now();
    let a = now_outcome(c.join(params("", "a"), t)).member_id;
    let _ = c.join(params(&a, "a"), t);
    let _ = c.sync("g", 1, &a, vec![]);
    let b = now_outcome(c.join(params("", "b"), t)).member_id;
    let mut rx_b = wait(c.join(params(&b, "b"), t));
    // `a` never rejoins: after the rebalance timeout `b` gets generation 2 alone.
    c.tick(t + Duration::from_secs(31));
    let out = rx_b.try_recv().unwrap();
    assert_eq!((out.generation, out.leader.as_str()), (2, b.as_str()));
    let _ = c.sync("g", 2, &b, vec![]);
    c.tick(t + Duration::from_secs(60));
    assert_eq!(c.describe("g").unwrap().unwrap().state, GroupState::Empty);
}

#[test]
fn static_member_rejoins_stable_group_without_rebalance() {
    let c = GroupCoordinator::in_memory();
    let t = Instant::now();
    let mut leader = params("", "a");
    leader.instance_id = Some("i1".into());
    let first = wait(c.join(leader.clone(), t)).try_recv().unwrap();
    let _ = c.sync("g", 1, &first.member_id, vec![]);
    let mut p = params("", "b");
    p.instance_id = Some("i2".into());
    let mut rx_b = wait(c.join(p.clone(), t));
    let mut leader_again = leader.clone();
    leader_again.member_id = first.member_id.clone();
    let mut rx_a = wait(c.join(leader_again, t));
    let (a2, b2) = (rx_a.try_recv().unwrap(), rx_b.try_recv().unwrap());
    assert_eq!(
        (a2.generation, a2.leader.as_str()),
        (2, first.member_id.as_str())
    );
    let assignments = vec![
        (a2.member_id.clone(), Bytes::from_static(b"A")),
        (b2.member_id.clone(), Bytes::from_static(b"B")),
    ];
    let _ = c.sync("g", 2, &a2.member_id, assignments);

    // The follower restarts: same generation, no rebalance, its assignment kept.
    let again = now_outcome(c.join(p.clone(), t));
    assert_eq!((again.error, again.generation), (0, 2));
    assert_ne!(again.member_id, b2.member_id);
    assert_eq!(
        now_outcome(c.sync("g", 2, &again.member_id, vec![])).assignment,
        Bytes::from_static(b"B")
    );
    assert_eq!(
        c.heartbeat("g", 2, &a2.member_id, t),
        0,
        "the other member was not disturbed"
    );
    assert_eq!(
        c.heartbeat("g", 2, &b2.member_id, t),
        ResponseError::UnknownMemberId.code()
    );
    let mut stale = p;
    stale.member_id = b2.member_id;
    assert_eq!(
        now_outcome(c.join(stale, t)).error,
        ResponseError::FencedInstanceId.code()
    );

    // The leader restarts: it needs the member list, so a rebalance runs.
    assert!(matches!(c.join(leader, t), Reply::Wait(_)));
}

#[test]
fn offsets_commit_rules() {
    let c = GroupCoordinator::in_memory();
    let t = Instant::now();
    let off = |o| {
        vec![(
            "t".to_string(),
            0,
            Committed {
                offset: o,
                leader_epoch: -1,
                metadata: None,
                commit_timestamp_ms: 0,
            },
        )]
    };
    assert_eq!(c.commit("simple", -1, "", off(5)), vec![0]);
    assert_eq!(
        c.fetch_offsets("simple", None).unwrap()[0].1[0]
            .1
            .as_ref()
            .unwrap()
            .offset,
        5
    );
    let a = now_outcome(c.join(params("", "a"), t)).member_id;
    let _ = c.join(params(&a, "a"), t);
    assert_eq!(
        c.commit("g", 1, &a, off(1)),
        vec![ResponseError::RebalanceInProgress.code()]
    );
    let _ = c.sync("g", 1, &a, vec![]);
    assert_eq!(c.commit("g", 1, &a, off(7)), vec![0]);
    assert_eq!(
        c.commit("g", 0, &a, off(8)),
        vec![ResponseError::IllegalGeneration.code()]
    );
    assert_eq!(
        c.commit("g", 1, "nobody", off(8)),
        vec![ResponseError::UnknownMemberId.code()]
    );
    assert_eq!(c.delete("g"), Err(ResponseError::NonEmptyGroup));
    assert_eq!(c.delete("simple"), Ok(()));
    assert_eq!(c.delete("simple"), Err(ResponseError::GroupIdNotFound));
}

trait NowError {
    fn now_error(self) -> i16;
}
impl NowError for Reply<SyncOutcome> {
    fn now_error(self) -> i16 {
        now_outcome(self).error
    }
}

fn committed_at(partition: i32, offset: i64, ts: i64) -> Vec<(String, i32, Committed)> {
    vec![(
        "t".to_string(),
        partition,
        Committed {
            offset,
            leader_epoch: -1,
            metadata: None,
            commit_timestamp_ms: ts,
        },
    )]
}

fn committed_partitions(c: &GroupCoordinator, group: &str) -> Vec<i32> {
    c.fetch_offsets(group, None)
        .unwrap()
        .into_iter()
        .flat_map(|(_, rows)| rows.into_iter().map(|(p, _)| p))
        .collect()
}

#[test]
fn standalone_offsets_expire_one_by_one_after_their_commit() {
    let c = GroupCoordinator::in_memory_with(Settings {
        offsets_retention_ms: 1_000,
        ..Settings::default()
    });
    assert_eq!(
        c.commit("solo", -1, "", committed_at(0, 10, 5_000)),
        vec![0]
    );
    assert_eq!(
        c.commit("solo", -1, "", committed_at(1, 20, 5_500)),
        vec![0]
    );
    assert_eq!(c.expire_offsets(5_999), 0);
    assert_eq!(c.expire_offsets(6_000), 1);
    assert_eq!(committed_partitions(&c, "solo"), vec![1]);
    assert_eq!(c.expire_offsets(6_500), 1);
    // Nothing left: the group itself is gone.
    assert!(c.list().0.iter().all(|g| g.0 != "solo"));
    assert!(committed_partitions(&c, "solo").is_empty());
}

#[test]
fn a_groups_offsets_never_expire_while_it_has_members_then_all_at_once() {
    let c = GroupCoordinator::in_memory_with(Settings {
        offsets_retention_ms: 1_000,
        ..Settings::default()
    });
    let t = Instant::now();
    let first = now_outcome(c.join(params("", "a"), t));
    let a = wait(c.join(params(&first.member_id, "a"), t))
        .try_recv()
        .unwrap();
    let _ = c.sync("g", a.generation, &a.member_id, vec![]);
    assert_eq!(
        c.commit("g", a.generation, &a.member_id, committed_at(0, 7, 1)),
        vec![0]
    );
    assert_eq!(
        c.commit("g", a.generation, &a.member_id, committed_at(1, 8, 1)),
        vec![0]
    );
    // Commits long past retention, but the member is there.
    assert_eq!(c.expire_offsets(1_000_000), 0);
    c.leave("g", &[(a.member_id.clone(), None)], t).unwrap();
    // Retention counts from when the group was first seen empty, for all its offsets.
    assert_eq!(c.expire_offsets(2_000_000), 0);
    assert_eq!(c.expire_offsets(2_000_999), 0);
    assert_eq!(committed_partitions(&c, "g"), vec![0, 1]);
    assert_eq!(c.expire_offsets(2_001_000), 2);
    assert!(committed_partitions(&c, "g").is_empty());
    assert!(c.list().0.iter().all(|g| g.0 != "g"));
}
