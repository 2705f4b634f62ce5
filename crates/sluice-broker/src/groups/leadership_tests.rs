//! Routing by Kafka's group → partition mapping, and per-partition takeover: replay of one
//! partition, retirement of another, epochs, on real `__consumer_offsets` replicas on disk.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use sluice_meta::image::PartitionMeta;

use super::shards::{Handover, Led, Settings};
use super::*;
use crate::partition::{Partition, CONSUMER_OFFSETS};
use crate::replica::state::ReplicaState;
use crate::topic_config::TopicSettings;

const ME: i32 = 1;
const OTHER: i32 = 2;

#[test]
fn java_hash_matches_javas_string_hashcode() {
    // Worked by hand with Java's rule h = 31*h + c over UTF-16 code units, wrapping at 32 bits.
    assert_eq!(java_string_hash(""), 0);
    assert_eq!(java_string_hash("a"), 97);
    // ((((103*31 + 114)*31 + 111)*31 + 117)*31 + 112
    assert_eq!(java_string_hash("group"), 98_629_247);
    assert_eq!(java_string_hash("hello"), 99_162_322);
    // Java's classic collision.
    assert_eq!(java_string_hash("Aa"), 2112);
    assert_eq!(java_string_hash("BB"), 2112);
    // One code unit (U+00E9), not the two bytes of its UTF-8 form.
    assert_eq!(java_string_hash("é"), 233);
    // U+1F600 is the surrogate pair D83D DE00: 0xD83D*31 + 0xDE00.
    assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
    assert_eq!(java_string_hash("😀"), 1_772_899);
    // Wraps past i32::MAX like Java's int arithmetic.
    assert_eq!(java_string_hash("my-group"), -1_906_497_762);
    assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
}

#[test]
fn partition_for_is_kafkas_masked_abs_modulo() {
    assert_eq!(partition_for("", 50), 0);
    assert_eq!(partition_for("a", 50), 97 % 50);
    assert_eq!(partition_for("group", 50), 98_629_247 % 50);
    assert_eq!(partition_for("😀", 50), 49);
    // A negative hash: Utils.abs masks the sign bit, (h & 0x7fffffff) = h + 2^31, which is
    // neither |h| % n (12) nor Rust's signed remainder (-12).
    assert_eq!(
        i64::from(partition_for("my-group", 50)),
        (2_147_483_648 - 1_906_497_762) % 50
    );
    assert_eq!(partition_for("my-group", 50), 36);
    // i32::MIN has no absolute value; the mask makes it 0.
    assert_eq!(partition_for("polygenelubricants", 50), 0);
    assert_eq!(partition_for("polygenelubricants", 7), 0);
    // An offsets topic of one partition puts every group on it.
    assert_eq!(partition_for("my-group", 1), 0);
    for n in [1, 6, 50] {
        for id in ["", "a", "group", "my-group", "😀", "é"] {
            assert!((0..n).contains(&partition_for(id, n)), "{id} of {n}");
        }
    }
}

/// A local `__consumer_offsets` replica in `dir`, led by this broker at `epoch`.
fn replica(dir: &Path, index: i32, epoch: i32) -> Arc<Partition> {
    let p = Arc::new(
        Partition::open(
            CONSUMER_OFFSETS,
            index,
            uuid::Uuid::nil(),
            &dir.join(format!("{CONSUMER_OFFSETS}-{index}")),
            &TopicSettings::resolve(&BTreeMap::new()),
            ReplicaState::new(ME),
            Arc::new(tokio::sync::watch::channel(0).0),
        )
        .unwrap(),
    );
    set_leader(&p, ME, epoch);
    p
}

/// What `replica::manager` does on a new image: the replica's role and epoch change.
fn set_leader(p: &Partition, leader: i32, epoch: i32) {
    let meta = PartitionMeta {
        replicas: vec![ME, OTHER],
        isr: vec![leader],
        leader,
        leader_epoch: epoch,
        partition_epoch: epoch,
        ..PartitionMeta::default()
    };
    let settings = TopicSettings::resolve(&BTreeMap::new());
    p.apply_metadata(&meta, &settings, Instant::now()).unwrap();
}

fn coordinator() -> GroupCoordinator {
    GroupCoordinator::leading_nothing(Settings::default(), None)
}

/// Sets leadership as the metadata path does and completes the handover inline.
fn lead(c: &GroupCoordinator, partitions: i32, led: &[(&Arc<Partition>, i32)]) {
    for w in c.set_leadership(partitions, leds(led)) {
        c.hand_over(w);
    }
}

fn leds(led: &[(&Arc<Partition>, i32)]) -> Vec<Led> {
    led.iter()
        .map(|(p, epoch)| Led {
            index: p.index,
            epoch: *epoch,
            log: Arc::clone(p),
        })
        .collect()
}

/// The first of `g0`, `g1`, … that maps to `partition` of `partitions`.
fn group_on(partition: i32, partitions: i32) -> String {
    (0..)
        .map(|i| format!("g{i}"))
        .find(|g| partition_for(g, partitions) == partition)
        .unwrap()
}

fn committed(o: i64) -> Vec<(String, i32, Committed)> {
    vec![(
        "t".into(),
        0,
        Committed {
            offset: o,
            leader_epoch: -1,
            metadata: None,
            commit_timestamp_ms: 0,
        },
    )]
}

fn offset_of(c: &GroupCoordinator, group: &str) -> Result<Option<i64>, ResponseError> {
    let rows = c.fetch_offsets(group, Some(vec![("t".into(), vec![0])]))?;
    Ok(rows[0].1[0].1.as_ref().map(|c| c.offset))
}

fn join_params(group: &str, member: &str) -> JoinParams {
    JoinParams {
        group_id: group.into(),
        member_id: member.into(),
        client_id: "c".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"m"))],
        require_known_member_id: true,
        ..Default::default()
    }
}

/// Joins a one-member group and syncs it: (member id, generation).
fn form_group(c: &GroupCoordinator, group: &str) -> (String, i32) {
    let t = Instant::now();
    let Reply::Now(first) = c.join(join_params(group, ""), t) else {
        panic!("a new member first gets its id");
    };
    assert_eq!(first.error, ResponseError::MemberIdRequired.code());
    let Reply::Wait(mut rx) = c.join(join_params(group, &first.member_id), t) else {
        panic!("joined");
    };
    let joined = rx.try_recv().unwrap();
    assert_eq!(joined.error, 0);
    let _ = c.sync(group, joined.generation, &joined.member_id, vec![]);
    (joined.member_id, joined.generation)
}

fn join_error(c: &GroupCoordinator, group: &str) -> i16 {
    match c.join(join_params(group, ""), Instant::now()) {
        Reply::Now(o) => o.error,
        Reply::Wait(_) => panic!("expected an immediate answer"),
    }
}

#[test]
fn every_group_api_answers_by_the_state_of_the_groups_partition() {
    let dir = tempfile::tempdir().unwrap();
    let c = coordinator();
    let p1 = replica(dir.path(), 1, 1);
    let (mine, theirs) = (group_on(1, 4), group_on(2, 4));

    // Before any image: nothing is coordinated here.
    assert_eq!(join_error(&c, &mine), ResponseError::NotCoordinator.code());

    // Leading partition 1, not yet replayed.
    let work = c.set_leadership(4, leds(&[(&p1, 1)]));
    assert_eq!(work.len(), 1);
    let loading = ResponseError::CoordinatorLoadInProgress;
    let not_coordinator = ResponseError::NotCoordinator;
    for (group, e) in [(&mine, loading), (&theirs, not_coordinator)] {
        let t = Instant::now();
        assert_eq!(join_error(&c, group), e.code(), "join {group}");
        let Reply::Now(sync) = c.sync(group, 1, "m", vec![]) else {
            panic!("sync answers at once");
        };
        assert_eq!(sync.error, e.code(), "sync {group}");
        assert_eq!(c.heartbeat(group, 1, "m", t), e.code(), "heartbeat {group}");
        assert_eq!(
            c.leave(group, &[("m".into(), None)], t),
            Err(e.code()),
            "leave {group}"
        );
        assert_eq!(c.commit(group, -1, "", committed(1)), vec![e.code()]);
        assert_eq!(offset_of(&c, group), Err(e), "fetch {group}");
        assert_eq!(c.describe(group).err(), Some(e), "describe {group}");
        assert_eq!(c.delete(group), Err(e), "delete {group}");
    }
    let (listed, still_loading) = c.list();
    assert!(listed.is_empty() && still_loading);

    for w in work {
        c.hand_over(w);
    }
    assert_eq!(c.led_partitions(), vec![(1, 1, true)]);
    assert_eq!(c.commit(&mine, -1, "", committed(5)), vec![0]);
    assert_eq!(offset_of(&c, &mine), Ok(Some(5)));
    assert_eq!(offset_of(&c, &theirs), Err(not_coordinator));
    let (listed, still_loading) = c.list();
    assert!(!still_loading);
    assert_eq!(
        listed.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(),
        vec![mine.as_str()]
    );
    // The commit went to partition 1's log, where a takeover finds it.
    let records = p1.read_all_records().unwrap();
    assert_eq!(records.len(), 1);
    assert!(String::from_utf8_lossy(&records[0].0).contains(&mine));
}

#[test]
fn taking_over_a_partition_replays_it_alone_and_the_old_leader_lets_go_of_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (p0, p1) = (replica(dir.path(), 0, 1), replica(dir.path(), 1, 1));
    let (g0, g1) = (group_on(0, 2), group_on(1, 2));
    let a = coordinator();
    lead(&a, 2, &[(&p0, 1), (&p1, 1)]);
    let (m0, gen0) = form_group(&a, &g0);
    let (m1, gen1) = form_group(&a, &g1);
    assert_eq!(a.commit(&g0, gen0, &m0, committed(10)), vec![0]);
    assert_eq!(a.commit(&g1, gen1, &m1, committed(20)), vec![0]);
    // A member of g1 waits in a rebalance when leadership moves.
    let t = Instant::now();
    let Reply::Now(newcomer) = a.join(join_params(&g1, ""), t) else {
        panic!("member id first");
    };
    let Reply::Wait(mut waiting) = a.join(join_params(&g1, &newcomer.member_id), t) else {
        panic!("waits for the other member to rejoin");
    };

    // Broker B is elected for partition 1 at epoch 2 (B shares the replica here: same log).
    set_leader(&p1, OTHER, 2);
    // A has not seen the image yet: its write is fenced by the replica's epoch.
    assert_eq!(
        a.commit(&g1, gen1, &m1, committed(21)),
        vec![ResponseError::NotCoordinator.code()]
    );
    set_leader(&p1, ME, 2);
    let b = coordinator();
    lead(&b, 2, &[(&p1, 2)]);
    assert_eq!(offset_of(&b, &g1), Ok(Some(20)), "g1's commit replayed");
    assert_eq!(offset_of(&b, &g0), Err(ResponseError::NotCoordinator));
    let listed: Vec<String> = b.list().0.into_iter().map(|g| g.0).collect();
    assert_eq!(listed, vec![g1.clone()], "only partition 1 was replayed");
    // The replayed generation carries on: no generation is handed out twice.
    let (_, next) = form_group(&b, &g1);
    assert_eq!(next, gen1 + 1);

    // A applies the image: it keeps partition 0 and lets go of partition 1.
    lead(&a, 2, &[(&p0, 1)]);
    assert_eq!(
        waiting.try_recv().unwrap().error,
        ResponseError::NotCoordinator.code(),
        "a waiting member is sent to the new coordinator"
    );
    assert_eq!(
        a.heartbeat(&g1, gen1, &m1, t),
        ResponseError::NotCoordinator.code()
    );
    assert_eq!(a.heartbeat(&g0, gen0, &m0, t), 0, "g0 is undisturbed");
    assert_eq!(offset_of(&a, &g0), Ok(Some(10)));
    assert_eq!(a.led_partitions(), vec![(0, 1, true)]);
}

#[test]
fn a_new_epoch_replays_what_another_leader_wrote_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let p0 = replica(dir.path(), 0, 1);
    let g = group_on(0, 1);
    let a = coordinator();
    lead(&a, 1, &[(&p0, 1)]);
    assert_eq!(a.commit(&g, -1, "", committed(1)), vec![0]);
    // Unchanged leadership: nothing to do.
    assert!(a.set_leadership(1, leds(&[(&p0, 1)])).is_empty());

    // Another broker leads at epoch 2 and commits; A never sees that image.
    set_leader(&p0, OTHER, 2);
    set_leader(&p0, ME, 2);
    let b = coordinator();
    lead(&b, 1, &[(&p0, 2)]);
    assert_eq!(b.commit(&g, -1, "", committed(2)), vec![0]);

    // A is leader again at epoch 3: its old state is stale, so it replays. Until it has seen
    // the new image, writes from its epoch-1 state are refused although it leads again.
    set_leader(&p0, ME, 3);
    assert_eq!(
        a.commit(&g, -1, "", committed(9)),
        vec![ResponseError::NotCoordinator.code()]
    );
    let work = a.set_leadership(1, leds(&[(&p0, 3)]));
    assert!(matches!(
        work.as_slice(),
        [Handover::Retire(_), Handover::Load(_)]
    ));
    for w in work {
        a.hand_over(w);
    }
    assert_eq!(offset_of(&a, &g), Ok(Some(2)));
    assert_eq!(a.led_partitions(), vec![(0, 3, true)]);
}

#[test]
fn a_replay_overtaken_by_a_leadership_change_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let p0 = replica(dir.path(), 0, 1);
    let g = group_on(0, 1);
    let c = coordinator();
    let load = c.set_leadership(1, leds(&[(&p0, 1)]));
    // Leadership moves before the replay runs.
    assert!(c.set_leadership(1, vec![]).is_empty());
    for w in load {
        c.hand_over(w);
    }
    assert_eq!(offset_of(&c, &g), Err(ResponseError::NotCoordinator));
    assert!(c.led_partitions().is_empty());

    // Same for a replay superseded by a newer epoch: the newer one wins.
    let old = c.set_leadership(1, leds(&[(&p0, 1)]));
    set_leader(&p0, ME, 2);
    let new = c.set_leadership(1, leds(&[(&p0, 2)]));
    for w in new.into_iter().chain(old) {
        c.hand_over(w);
    }
    assert_eq!(c.led_partitions(), vec![(0, 2, true)]);
}

#[test]
fn the_partition_count_comes_from_the_topic() {
    let dir = tempfile::tempdir().unwrap();
    let p0 = replica(dir.path(), 0, 1);
    // An offsets topic created with one partition routes every group to it.
    let one = coordinator();
    lead(&one, 1, &[(&p0, 1)]);
    for g in ["my-group", "group", "a", "😀"] {
        assert_eq!(one.commit(g, -1, "", committed(3)), vec![0], "{g}");
    }
    // With six partitions the same partition only serves its own groups.
    let six = coordinator();
    lead(&six, 6, &[(&p0, 1)]);
    assert_eq!(partition_for("a", 6), 1);
    assert_eq!(offset_of(&six, "a"), Err(ResponseError::NotCoordinator));
    assert_eq!(partition_for("polygenelubricants", 6), 0);
    assert_eq!(
        six.commit("polygenelubricants", -1, "", committed(4)),
        vec![0]
    );
}
