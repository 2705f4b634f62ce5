//! The image as snapshots store it (JSON): security state round-trips, and a snapshot written
//! before it existed still loads.

use super::acls::binding;
use super::scram::upsert;
use super::Harness;
use crate::image::{
    operation as op, pattern_type as pt, resource_type as rt, Command, MetadataImage,
    SCRAM_SHA_256, SCRAM_SHA_512,
};

#[test]
fn security_state_round_trips_through_a_snapshot() {
    let mut h = Harness::with_brokers(2);
    h.run(Command::AlterScramCredentials {
        upsertions: vec![
            upsert("alice", SCRAM_SHA_256, 4096),
            upsert("bob", SCRAM_SHA_512, 8192),
        ],
        deletions: vec![],
    });
    h.run(Command::CreateAcls {
        bindings: vec![
            binding(rt::TOPIC, "orders", pt::PREFIXED, "User:alice", op::WRITE),
            binding(
                rt::CLUSTER,
                "kafka-cluster",
                pt::LITERAL,
                "User:bob",
                op::ALTER,
            ),
        ],
    });
    let bytes = serde_json::to_vec(&h.image).expect("serialise");
    let back: MetadataImage = serde_json::from_slice(&bytes).expect("deserialise");
    assert_eq!(back, h.image);
    assert_eq!(back.scram_version, 1);
    assert_eq!(back.acl_version, 1);
    assert_eq!(
        back.scram_credential("bob", SCRAM_SHA_512),
        h.image.scram_credential("bob", SCRAM_SHA_512)
    );
}

#[test]
fn a_snapshot_from_before_security_state_loads_empty() {
    let h = Harness::with_brokers(1);
    let mut json = serde_json::to_value(&h.image).expect("serialise");
    let fields = json.as_object_mut().expect("an object");
    for key in ["scram", "scram_version", "acls", "acl_version"] {
        assert!(fields.remove(key).is_some(), "{key}");
    }
    let old: MetadataImage = serde_json::from_value(json).expect("old snapshot loads");
    assert_eq!(old, h.image);
    assert!(old.scram.is_empty() && old.acls.is_empty());
}
