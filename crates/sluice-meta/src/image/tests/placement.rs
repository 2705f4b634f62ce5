//! Rack-aware round-robin placement.

use std::collections::{BTreeMap, BTreeSet};

use super::{create, Harness};
use crate::image::placement::{place, ring, Slot};
use crate::image::Command;

#[test]
fn three_brokers_six_partitions_rf3_each_broker_leads_two() {
    let mut h = Harness::with_brokers(3);
    h.ok(create("t", 6, Some(3)));
    assert_eq!(h.leader_counts(), BTreeMap::from([(1, 2), (2, 2), (3, 2)]));
    for p in &h.image.topics["t"].partitions {
        assert_eq!(p.replicas.iter().collect::<BTreeSet<_>>().len(), 3);
    }
}

#[test]
fn single_partition_topics_spread_their_leaders() {
    let mut h = Harness::with_brokers(3);
    for name in ["a", "b", "c"] {
        h.ok(create(name, 1, Some(1)));
    }
    assert_eq!(h.leader_counts(), BTreeMap::from([(1, 1), (2, 1), (3, 1)]));
}

#[test]
fn the_ring_alternates_racks() {
    let mut h = Harness::default();
    for (id, rack) in [(1, "b"), (2, "a"), (3, "a"), (4, "b"), (5, "c")] {
        h.add_broker(id, Some(rack));
    }
    h.add_broker(6, None);
    let ids: Vec<i32> = ring(&h.image.brokers).iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![6, 2, 1, 5, 3, 4]);
}

#[test]
fn replicas_land_on_distinct_racks() {
    let mut h = Harness::default();
    for (id, rack) in [(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c"), (6, "c")] {
        h.add_broker(id, Some(rack));
    }
    h.ok(create("t", 12, Some(3)));
    let rack = |id: &i32| h.image.brokers[id].rack.clone();
    for p in &h.image.topics["t"].partitions {
        assert_eq!(
            p.replicas.iter().map(rack).collect::<BTreeSet<_>>().len(),
            3,
            "{p:?}"
        );
    }
    assert!(h.leader_counts().values().all(|&c| c == 2));
}

#[test]
fn unbalanced_racks_still_use_the_small_rack_in_every_partition() {
    let slots = [
        Slot {
            id: 1,
            rack: Some("a"),
        },
        Slot {
            id: 4,
            rack: Some("b"),
        },
        Slot {
            id: 2,
            rack: Some("a"),
        },
        Slot {
            id: 3,
            rack: Some("a"),
        },
    ];
    for replicas in place(&slots, 0, 0, 8, 2) {
        assert!(replicas.contains(&4), "{replicas:?}");
    }
}

#[test]
fn placement_never_repeats_a_broker_and_is_deterministic() {
    let racks = [Some("a"), Some("b"), None];
    for n in 1..=7 {
        let slots: Vec<Slot<'_>> = (0..n)
            .map(|i| Slot {
                id: i,
                rack: racks[(i % 3) as usize],
            })
            .collect();
        for rf in 1..=n as usize {
            for start in 0..4 {
                let placed = place(&slots, start, 3, 10, rf);
                assert_eq!(placed, place(&slots, start, 3, 10, rf));
                assert_eq!(placed.len(), 10);
                for replicas in &placed {
                    assert_eq!(replicas.len(), rf);
                    assert_eq!(replicas.iter().collect::<BTreeSet<_>>().len(), rf);
                }
            }
        }
    }
    assert!(place(&[], 0, 0, 3, 1).is_empty());
}

#[test]
fn fenced_and_shutting_down_brokers_get_nothing_new() {
    let mut h = Harness::with_brokers(4);
    h.fence(1);
    h.run(Command::BeginControlledShutdown { id: 2 });
    h.ok(create("t", 6, Some(2)));
    for p in &h.image.topics["t"].partitions {
        assert!(p.replicas.iter().all(|r| *r == 3 || *r == 4), "{p:?}");
    }
}
