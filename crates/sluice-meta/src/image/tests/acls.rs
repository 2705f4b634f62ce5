//! CreateAcls, DeleteAcls, filter matching and the ACL delta.

use kafka_protocol::error::ResponseError;

use super::Harness;
use crate::image::{
    operation as op, pattern_type as pt, permission as perm, resource_type as rt, AclBinding,
    AclBindingFilter, AclDelta, Command, Reply,
};

pub(crate) fn binding(
    resource_type: i8,
    name: &str,
    pattern_type: i8,
    principal: &str,
    operation: i8,
) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.into(),
        pattern_type,
        principal: principal.into(),
        host: "*".into(),
        operation,
        permission: perm::ALLOW,
    }
}

fn topic(name: &str, principal: &str) -> AclBinding {
    binding(rt::TOPIC, name, pt::LITERAL, principal, op::READ)
}

fn create(h: &mut Harness, bindings: Vec<AclBinding>) -> Vec<i16> {
    match h.run(Command::CreateAcls { bindings }) {
        Reply::AclsCreated(results) => results
            .into_iter()
            .map(|r| {
                assert_eq!(r.error_code != 0, r.error_message.is_some());
                r.error_code
            })
            .collect(),
        other => panic!("expected AclsCreated, got {other:?}"),
    }
}

fn delete(h: &mut Harness, filters: Vec<AclBindingFilter>) -> Vec<(i16, Vec<AclBinding>)> {
    match h.run(Command::DeleteAcls { filters }) {
        Reply::AclsDeleted(results) => results
            .into_iter()
            .map(|r| (r.error_code, r.matching))
            .collect(),
        other => panic!("expected AclsDeleted, got {other:?}"),
    }
}

const INVALID: i16 = 42;

#[test]
fn create_stores_each_binding_once_and_is_idempotent() {
    assert_eq!(ResponseError::InvalidRequest.code(), INVALID);
    let mut h = Harness::default();
    let a = topic("orders", "User:alice");
    let cluster = binding(
        rt::CLUSTER,
        "kafka-cluster",
        pt::LITERAL,
        "User:admin",
        op::ALTER,
    );
    assert_eq!(
        create(&mut h, vec![a.clone(), cluster.clone(), a.clone()]),
        vec![0, 0, 0]
    );
    assert_eq!(h.image.acls().count(), 2);
    assert_eq!(h.image.acl_version, 1);
    // Creating what exists succeeds and changes nothing (no version bump).
    assert_eq!(create(&mut h, vec![a.clone()]), vec![0]);
    assert_eq!(h.image.acl_version, 1);
    assert!(h.image.acls().any(|b| *b == cluster));
}

#[test]
fn invalid_bindings_are_refused_one_by_one() {
    let mut h = Harness::default();
    let good = topic("t", "User:alice");
    let mut bad = Vec::new();
    for resource_type in [rt::UNKNOWN, rt::ANY, 99] {
        bad.push(AclBinding {
            resource_type,
            ..good.clone()
        });
    }
    for pattern_type in [pt::UNKNOWN, pt::ANY, pt::MATCH, 7] {
        bad.push(AclBinding {
            pattern_type,
            ..good.clone()
        });
    }
    for operation in [op::UNKNOWN, op::ANY, 16] {
        bad.push(AclBinding {
            operation,
            ..good.clone()
        });
    }
    for permission in [perm::UNKNOWN, perm::ANY, 4] {
        bad.push(AclBinding {
            permission,
            ..good.clone()
        });
    }
    for principal in ["alice", "", ":alice"] {
        bad.push(AclBinding {
            principal: principal.into(),
            ..good.clone()
        });
    }
    bad.push(AclBinding {
        resource_name: String::new(),
        ..good.clone()
    });
    bad.push(binding(
        rt::CLUSTER,
        "other",
        pt::LITERAL,
        "User:a",
        op::ALTER,
    ));
    let n = bad.len();
    bad.push(good.clone());
    let codes = create(&mut h, bad);
    assert_eq!(codes[..n], vec![INVALID; n][..]);
    assert_eq!(codes[n], 0);
    assert_eq!(h.image.acls().cloned().collect::<Vec<_>>(), vec![good]);
}

#[test]
fn delete_removes_and_returns_what_each_filter_matches() {
    let mut h = Harness::default();
    let a = topic("orders", "User:alice");
    let b = topic("payments", "User:alice");
    let c = topic("orders", "User:bob");
    create(&mut h, vec![a.clone(), b.clone(), c.clone()]);
    let alice = AclBindingFilter {
        principal: Some("User:alice".into()),
        ..AclBindingFilter::any()
    };
    let orders = AclBindingFilter {
        resource_type: rt::TOPIC,
        resource_name: Some("orders".into()),
        pattern_type: pt::LITERAL,
        ..AclBindingFilter::any()
    };
    let none = AclBindingFilter {
        host: Some("10.0.0.1".into()),
        ..AclBindingFilter::any()
    };
    let unknown = AclBindingFilter {
        operation: op::UNKNOWN,
        ..AclBindingFilter::any()
    };
    let results = delete(&mut h, vec![alice, orders, none, unknown]);
    // `a` matches both filters and is reported once, by the first.
    assert_eq!(
        results,
        vec![
            (0, vec![a, b]),
            (0, vec![c]),
            (0, vec![]),
            (INVALID, vec![])
        ]
    );
    assert_eq!(h.image.acls().count(), 0);
    assert_eq!(h.image.acl_version, 2);
    // Deleting nothing changes no version.
    assert_eq!(
        delete(&mut h, vec![AclBindingFilter::any()]),
        vec![(0, vec![])]
    );
    assert_eq!(h.image.acl_version, 2);
}

#[test]
fn filters_match_as_kafka_does() {
    let literal = topic("orders", "User:alice");
    let wildcard = topic("*", "User:alice");
    let prefixed = binding(rt::TOPIC, "ord", pt::PREFIXED, "User:alice", op::READ);
    let group = binding(rt::GROUP, "orders", pt::LITERAL, "User:alice", op::READ);
    let all = [&literal, &wildcard, &prefixed, &group];
    let matched = |f: AclBindingFilter| -> Vec<&AclBinding> {
        all.iter().copied().filter(|b| f.matches(b)).collect()
    };
    let named = |pattern_type, name: &str| AclBindingFilter {
        resource_type: rt::TOPIC,
        resource_name: Some(name.into()),
        pattern_type,
        ..AclBindingFilter::any()
    };
    assert_eq!(matched(AclBindingFilter::any()).len(), 4);
    // ANY: any pattern type, the exact name.
    assert_eq!(matched(named(pt::ANY, "orders")), vec![&literal]);
    assert_eq!(matched(named(pt::ANY, "ord")), vec![&prefixed]);
    // MATCH: what applies to the name: the literal, the wildcard, the prefix.
    assert_eq!(
        matched(named(pt::MATCH, "orders")),
        vec![&literal, &wildcard, &prefixed]
    );
    assert_eq!(matched(named(pt::MATCH, "other")), vec![&wildcard]);
    // An exact pattern type: exact name only.
    assert_eq!(
        matched(named(pt::PREFIXED, "orders")),
        Vec::<&AclBinding>::new()
    );
    assert_eq!(matched(named(pt::LITERAL, "*")), vec![&wildcard]);
    // Entry fields.
    let deny = AclBindingFilter {
        permission: perm::DENY,
        ..AclBindingFilter::any()
    };
    assert!(matched(deny).is_empty());
    let write = AclBindingFilter {
        operation: op::WRITE,
        ..AclBindingFilter::any()
    };
    assert!(matched(write).is_empty());
    let host = AclBindingFilter {
        host: Some("*".into()),
        ..AclBindingFilter::any()
    };
    assert_eq!(matched(host).len(), 4);
    let groups = AclBindingFilter {
        resource_type: rt::GROUP,
        ..AclBindingFilter::any()
    };
    assert_eq!(matched(groups), vec![&group]);
    assert!(!AclBindingFilter::any().is_unknown());
    assert!(AclBindingFilter {
        pattern_type: 9,
        ..AclBindingFilter::any()
    }
    .is_unknown());
}

#[test]
fn the_delta_says_what_changed_since_an_older_image() {
    let mut h = Harness::default();
    let (a, b, c) = (
        topic("a", "User:x"),
        topic("b", "User:x"),
        topic("c", "User:x"),
    );
    create(&mut h, vec![a.clone(), b.clone()]);
    let old = h.image.clone();
    assert_eq!(h.image.acl_delta(&old), AclDelta::default());
    create(&mut h, vec![c.clone()]);
    delete(
        &mut h,
        vec![AclBindingFilter {
            resource_name: Some("a".into()),
            ..AclBindingFilter::any()
        }],
    );
    assert_eq!(
        h.image.acl_delta(&old),
        AclDelta {
            added: vec![c],
            removed: vec![a]
        }
    );
    let empty = crate::image::MetadataImage::default();
    assert_eq!(h.image.acl_delta(&empty).added.len(), 2);
    assert_eq!(empty.acl_delta(&h.image).removed.len(), 2);
}
