use super::*;

fn part(topic: &str, index: i32, replicas: &[i32]) -> PartitionInfo {
    PartitionInfo {
        topic: topic.into(),
        index,
        leader: replicas[0],
        replicas: replicas.to_vec(),
        isr: replicas.to_vec(),
    }
}

fn view(parts: Vec<PartitionInfo>) -> ClusterView {
    ClusterView {
        brokers: vec![1, 2, 3, 4],
        controller: Some(1),
        partitions: parts,
        reassigning: 0,
    }
}

fn apply(v: &mut ClusterView, moves: &[Move]) {
    for (t, i, target) in moves {
        let p = v
            .partitions
            .iter_mut()
            .find(|p| &p.topic == t && p.index == *i)
            .unwrap();
        p.replicas = target.clone();
        p.isr = target.clone();
        p.leader = target[0];
    }
}

#[test]
fn safe_needs_leaders_full_isrs_and_no_reassignment() {
    let mut v = view(vec![part("a", 0, &[1, 2, 3])]);
    assert!(v.safe());
    v.partitions[0].isr = vec![1, 2];
    assert!(!v.safe());
    v.partitions[0].isr = vec![3, 2, 1];
    assert!(v.safe(), "order does not matter");
    v.partitions[0].leader = -1;
    assert!(!v.safe());
    v.partitions[0].leader = 2;
    v.reassigning = 1;
    assert!(!v.safe());
}

#[test]
fn drain_moves_each_replica_to_the_emptiest_kept_broker_in_place() {
    // 4 brokers, RF 3, 8 partitions assigned round-robin.
    let parts: Vec<_> = (0..8)
        .map(|i| {
            let r: Vec<i32> = (0..3).map(|k| ((i + k) % 4) + 1).collect();
            part("t", i, &r)
        })
        .collect();
    let mut v = view(parts);
    let before = v.partitions.clone();
    let moves = plan_drain(&v, 4, &[1, 2, 3]);
    assert_eq!(moves.len(), 6, "every partition with a replica on 4");
    for (_, i, target) in &moves {
        let old = &before[*i as usize].replicas;
        assert!(!target.contains(&4));
        assert_eq!(target.len(), 3);
        for (k, r) in old.iter().enumerate() {
            if *r != 4 {
                assert_eq!(target[k], *r, "other replicas keep their place");
            }
        }
    }
    apply(&mut v, &moves);
    assert_eq!(v.replicas_on(4), 0);
    // RF 3 over the 3 brokers left: each holds all 8.
    for b in 1..=3 {
        assert_eq!(v.replicas_on(b), 8);
    }
}

#[test]
fn drain_balances_when_there_is_room_and_shrinks_rf_when_there_is_not() {
    // RF 2 on 4 brokers, draining 4 into 1..3: the emptiest wins each time.
    let parts = vec![
        part("t", 0, &[4, 1]),
        part("t", 1, &[4, 2]),
        part("t", 2, &[4, 3]),
        part("t", 3, &[1, 2]),
    ];
    let v = view(parts);
    let moves = plan_drain(&v, 4, &[1, 2, 3]);
    // counts before: 1→2, 2→2, 3→1. p0 [4,1] → 3 (fewest), p1 [4,2] → 1 or 3: 3 has 2, 1 has 2 → 1
    assert_eq!(
        moves,
        vec![
            ("t".into(), 0, vec![3, 1]),
            ("t".into(), 1, vec![1, 2]),
            ("t".into(), 2, vec![2, 3]),
        ]
    );
    // Two brokers left under RF 3: the leaving replica is dropped.
    let v = view(vec![part("t", 0, &[3, 1, 2])]);
    assert_eq!(
        plan_drain(&v, 3, &[1, 2]),
        vec![("t".into(), 0, vec![1, 2])]
    );
}

#[test]
fn rebalance_evens_replicas_and_preferred_leaders_onto_a_new_broker() {
    // 3 brokers, RF 3, 12 partitions: every broker holds 12; broker 4 is new and empty.
    let parts: Vec<_> = (0..12)
        .map(|i| {
            let r: Vec<i32> = (0..3).map(|k| ((i + k) % 3) + 1).collect();
            part("t", i, &r)
        })
        .collect();
    let mut v = view(parts);
    let moves = plan_rebalance(&v, &[1, 2, 3, 4]);
    apply(&mut v, &moves);
    let counts: Vec<usize> = (1..=4).map(|b| v.replicas_on(b)).collect();
    assert_eq!(counts, vec![9, 9, 9, 9], "{moves:?}");
    let firsts: Vec<usize> = (1..=4)
        .map(|b| v.partitions.iter().filter(|p| p.replicas[0] == b).count())
        .collect();
    let (lo, hi) = (firsts.iter().min().unwrap(), firsts.iter().max().unwrap());
    assert!(hi - lo <= 1, "preferred leaders spread: {firsts:?}");
    for p in &v.partitions {
        let mut r = p.replicas.clone();
        r.sort_unstable();
        r.dedup();
        assert_eq!(r.len(), 3, "no duplicate replica: {p:?}");
    }
    // Balanced already: nothing to move.
    assert!(plan_rebalance(&v, &[1, 2, 3, 4]).is_empty());
}

#[test]
fn rebalance_ends_within_one_for_uneven_totals() {
    // 5 partitions RF 3 = 15 replicas over 4 brokers → 4,4,4,3 in some order.
    for n in 1..=7 {
        let parts: Vec<_> = (0..n)
            .map(|i| part("t", i, &[1, 2, 3]))
            .chain(std::iter::once(part("__consumer_offsets", 0, &[2, 3, 1])))
            .collect();
        let mut v = view(parts);
        let moves = plan_rebalance(&v, &[1, 2, 3, 4]);
        apply(&mut v, &moves);
        let counts: Vec<usize> = (1..=4).map(|b| v.replicas_on(b)).collect();
        let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(hi - lo <= 1, "n={n}: {counts:?}");
    }
}
