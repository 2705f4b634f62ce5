//! The authorizer against Kafka's StandardAuthorizer rules.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::tests::binding;
use super::*;
use crate::KafkaPrincipal;
use AclOperation as Op;
use AclPermission::{Allow, Deny};
use PatternType::{Literal, Prefixed};
use ResourceType::{Cluster, Group, Topic, TransactionalId};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

fn alice() -> KafkaPrincipal {
    KafkaPrincipal::user("alice")
}

fn acl(
    rt: ResourceType,
    name: &str,
    pt: PatternType,
    who: &str,
    op: Op,
    perm: AclPermission,
) -> AclBinding {
    binding(rt, name, pt, who, "*", op, perm)
}

fn authz(bindings: Vec<AclBinding>) -> Authorizer {
    Authorizer::with_bindings(AuthorizerConfig::default(), bindings).unwrap()
}

fn can(a: &Authorizer, who: &KafkaPrincipal, op: Op, rt: ResourceType, name: &str) -> bool {
    a.authorize(who, LOCAL, op, rt, name)
}

#[test]
fn no_acls_denies_by_default_and_allows_with_allow_everyone() {
    let a = authz(vec![]);
    assert!(!can(&a, &alice(), Op::Read, Topic, "t"));
    assert_eq!(
        a.decide(&alice(), LOCAL, Op::Read, Topic, "t"),
        Decision::NoAcl
    );
    let config = AuthorizerConfig {
        allow_everyone_if_no_acl_found: true,
        ..Default::default()
    };
    let a = Authorizer::new(config);
    assert!(can(&a, &alice(), Op::Read, Topic, "t"));
    assert_eq!(
        a.decide(&alice(), LOCAL, Op::Read, Topic, "t"),
        Decision::NoAclAllowEveryone
    );
}

#[test]
fn allow_everyone_only_when_no_acl_applies_to_the_resource() {
    let config = AuthorizerConfig {
        allow_everyone_if_no_acl_found: true,
        ..Default::default()
    };
    let bob_only = acl(Topic, "t", Literal, "User:bob", Op::Write, Allow);
    let bob_prefix = acl(Topic, "pre", Prefixed, "User:bob", Op::Write, Allow);
    let a = Authorizer::with_bindings(config, [bob_only, bob_prefix]).unwrap();
    // An ACL for another principal and operation still counts as "an ACL for t".
    assert!(!can(&a, &alice(), Op::Read, Topic, "t"));
    assert_eq!(
        a.decide(&alice(), LOCAL, Op::Read, Topic, "t"),
        Decision::NoMatchingAllow
    );
    // A PREFIXED ACL covers "prefix-topic" too.
    assert!(!can(&a, &alice(), Op::Read, Topic, "prefix-topic"));
    // Unrelated names and types have no ACL.
    assert!(can(&a, &alice(), Op::Read, Topic, "u"));
    assert!(can(&a, &alice(), Op::Read, Topic, "pr"));
    assert!(can(&a, &alice(), Op::Read, Group, "t"));
    // A literal ACL on "pre" does not cover "prefix".
    let mut a2 = Authorizer::new(AuthorizerConfig {
        allow_everyone_if_no_acl_found: true,
        ..Default::default()
    });
    a2.add(acl(Topic, "pre", Literal, "User:bob", Op::Read, Allow))
        .unwrap();
    assert!(can(&a2, &alice(), Op::Read, Topic, "prefix"));
    assert!(!can(&a2, &alice(), Op::Read, Topic, "pre"));
}

#[test]
fn super_users_are_allowed_everything() {
    let config = AuthorizerConfig {
        super_users: AuthorizerConfig::parse_super_users(" User:admin ; ;User:broker-0").unwrap(),
        ..Default::default()
    };
    assert_eq!(
        config.super_users,
        [
            KafkaPrincipal::user("admin"),
            KafkaPrincipal::user("broker-0")
        ]
    );
    let deny_all = acl(Cluster, CLUSTER_NAME, Literal, "User:*", Op::All, Deny);
    let a = Authorizer::with_bindings(config, [deny_all]).unwrap();
    let admin = KafkaPrincipal::user("admin");
    assert!(can(&a, &admin, Op::ClusterAction, Cluster, CLUSTER_NAME));
    assert_eq!(
        a.decide(&admin, LOCAL, Op::Alter, Topic, "x"),
        Decision::SuperUser
    );
    assert!(!can(&a, &alice(), Op::ClusterAction, Cluster, CLUSTER_NAME));
    // Same name, other type: not a super user.
    let group_admin: KafkaPrincipal = "Group:admin".parse().unwrap();
    assert!(!can(
        &a,
        &group_admin,
        Op::ClusterAction,
        Cluster,
        CLUSTER_NAME
    ));
    assert!(AuthorizerConfig::parse_super_users("User:a;admin").is_err());
}

#[test]
fn literal_acl_applies_to_its_name_only() {
    let a = authz(vec![acl(
        Topic,
        "orders",
        Literal,
        "User:alice",
        Op::Read,
        Allow,
    )]);
    assert!(can(&a, &alice(), Op::Read, Topic, "orders"));
    assert!(!can(&a, &alice(), Op::Read, Topic, "orders2"));
    assert!(!can(&a, &alice(), Op::Read, Topic, "order"));
    assert!(!can(&a, &alice(), Op::Read, Group, "orders"));
    assert!(!can(
        &a,
        &KafkaPrincipal::user("bob"),
        Op::Read,
        Topic,
        "orders"
    ));
    assert!(!can(&a, &alice(), Op::Write, Topic, "orders"));
}

#[test]
fn prefixed_acl_applies_to_names_starting_with_it() {
    let a = authz(vec![acl(
        Topic,
        "team-a.",
        Prefixed,
        "User:alice",
        Op::Write,
        Allow,
    )]);
    assert!(can(&a, &alice(), Op::Write, Topic, "team-a."));
    assert!(can(&a, &alice(), Op::Write, Topic, "team-a.orders"));
    assert!(!can(&a, &alice(), Op::Write, Topic, "team-a"));
    assert!(!can(&a, &alice(), Op::Write, Topic, "team-b.orders"));
    assert!(!can(&a, &alice(), Op::Write, Topic, "xteam-a.orders"));
    // Multi-byte names: only character boundaries are probed.
    let a = authz(vec![acl(
        Topic,
        "é",
        Prefixed,
        "User:alice",
        Op::Read,
        Allow,
    )]);
    assert!(can(&a, &alice(), Op::Read, Topic, "éa"));
    assert!(!can(&a, &alice(), Op::Read, Topic, "ea"));
    assert!(!can(&a, &alice(), Op::Read, Topic, "\u{e8}"));
}

#[test]
fn wildcard_resource_and_principal() {
    let a = authz(vec![
        acl(Topic, "*", Literal, "User:alice", Op::Read, Allow),
        acl(Group, "g", Literal, "User:*", Op::Read, Allow),
    ]);
    assert!(can(&a, &alice(), Op::Read, Topic, "anything"));
    assert!(can(&a, &alice(), Op::Read, Topic, "*"));
    assert!(!can(
        &a,
        &KafkaPrincipal::user("bob"),
        Op::Read,
        Topic,
        "anything"
    ));
    assert!(can(&a, &KafkaPrincipal::user("bob"), Op::Read, Group, "g"));
    // Kafka's wildcard principal is User:*, and it matches every principal type.
    assert!(can(&a, &"Group:x".parse().unwrap(), Op::Read, Group, "g"));
    assert!(!can(&a, &alice(), Op::Read, Group, "h"));
    // A literal "*" name is not a prefix pattern.
    assert!(!can(&a, &alice(), Op::Read, Group, "*"));
}

#[test]
fn non_user_wildcard_principal_is_just_a_name() {
    let a = authz(vec![acl(Topic, "t", Literal, "Group:*", Op::Read, Allow)]);
    assert!(!can(&a, &"Group:x".parse().unwrap(), Op::Read, Topic, "t"));
    assert!(can(&a, &"Group:*".parse().unwrap(), Op::Read, Topic, "t"));
}

#[test]
fn deny_beats_allow_wherever_it_comes_from() {
    let allow_literal = acl(Topic, "t1", Literal, "User:alice", Op::Read, Allow);
    for deny in [
        acl(Topic, "t1", Literal, "User:alice", Op::Read, Deny),
        acl(Topic, "t", Prefixed, "User:alice", Op::Read, Deny),
        acl(Topic, "*", Literal, "User:alice", Op::Read, Deny),
        acl(Topic, "t1", Literal, "User:*", Op::Read, Deny),
        acl(Topic, "t1", Literal, "User:alice", Op::All, Deny),
    ] {
        let a = authz(vec![allow_literal.clone(), deny.clone()]);
        assert!(!can(&a, &alice(), Op::Read, Topic, "t1"), "{deny:?}");
        assert_eq!(
            a.decide(&alice(), LOCAL, Op::Read, Topic, "t1"),
            Decision::DeniedByAcl(&deny)
        );
    }
    // And allow from anywhere, with deny elsewhere.
    let a = authz(vec![
        acl(Topic, "*", Literal, "User:alice", Op::Read, Allow),
        acl(Topic, "secret", Prefixed, "User:alice", Op::Read, Deny),
    ]);
    assert!(can(&a, &alice(), Op::Read, Topic, "public"));
    assert!(!can(&a, &alice(), Op::Read, Topic, "secret-stuff"));
}

#[test]
fn all_covers_every_operation() {
    let a = authz(vec![acl(Topic, "t", Literal, "User:alice", Op::All, Allow)]);
    for &op in Op::ALL {
        assert!(can(&a, &alice(), op, Topic, "t"), "{op}");
    }
}

#[test]
fn implied_operations_for_allow_only() {
    use Op::*;
    let implies = |acl_op: Op, asked: Op| {
        let a = authz(vec![acl(Topic, "t", Literal, "User:alice", acl_op, Allow)]);
        can(&a, &alice(), asked, Topic, "t")
    };
    for acl_op in [Read, Write, Delete, Alter, Describe] {
        assert!(implies(acl_op, Describe), "{acl_op} implies DESCRIBE");
    }
    for acl_op in [
        Create,
        ClusterAction,
        DescribeConfigs,
        AlterConfigs,
        IdempotentWrite,
        CreateTokens,
        DescribeTokens,
    ] {
        assert!(
            !implies(acl_op, Describe),
            "{acl_op} does not imply DESCRIBE"
        );
    }
    assert!(implies(AlterConfigs, DescribeConfigs));
    assert!(implies(DescribeConfigs, DescribeConfigs));
    assert!(!implies(Alter, DescribeConfigs));
    assert!(!implies(Read, Write));
    assert!(!implies(Describe, Read));
    assert!(!implies(AlterConfigs, Alter));
    // DENY READ does not deny DESCRIBE; DENY ALL does.
    let a = authz(vec![
        acl(Topic, "t", Literal, "User:alice", Describe, Allow),
        acl(Topic, "t", Literal, "User:alice", Read, Deny),
    ]);
    assert!(can(&a, &alice(), Describe, Topic, "t"));
    assert!(!can(&a, &alice(), Read, Topic, "t"));
    let a = authz(vec![
        acl(Topic, "t", Literal, "User:alice", Read, Allow),
        acl(Topic, "t", Literal, "User:alice", Describe, Deny),
    ]);
    assert!(!can(&a, &alice(), Describe, Topic, "t"));
    assert!(can(&a, &alice(), Read, Topic, "t"));
}

#[test]
fn hosts() {
    let a = authz(vec![
        binding(
            Topic,
            "t",
            Literal,
            "User:alice",
            "10.0.0.1",
            Op::Read,
            Allow,
        ),
        binding(Topic, "v6", Literal, "User:alice", "::1", Op::Read, Allow),
        binding(
            Topic,
            "v6full",
            Literal,
            "User:alice",
            "0:0:0:0:0:0:0:1",
            Op::Read,
            Allow,
        ),
        binding(
            Topic,
            "mapped",
            Literal,
            "User:alice",
            "::ffff:10.0.0.1",
            Op::Read,
            Allow,
        ),
        binding(Topic, "u", Literal, "User:alice", "*", Op::Read, Allow),
        binding(
            Topic,
            "u",
            Literal,
            "User:alice",
            "10.0.0.2",
            Op::Read,
            Deny,
        ),
    ]);
    assert!(a.authorize(&alice(), LOCAL, Op::Read, Topic, "t"));
    assert!(!a.authorize(&alice(), OTHER, Op::Read, Topic, "t"));
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert!(a.authorize(&alice(), v6, Op::Read, Topic, "v6"));
    assert!(a.authorize(&alice(), v6, Op::Read, Topic, "v6full"));
    assert!(!a.authorize(&alice(), LOCAL, Op::Read, Topic, "v6"));
    assert!(a.authorize(&alice(), LOCAL, Op::Read, Topic, "mapped"));
    let mapped_client = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
    assert!(a.authorize(&alice(), mapped_client, Op::Read, Topic, "t"));
    assert!(a.authorize(&alice(), LOCAL, Op::Read, Topic, "u"));
    assert!(!a.authorize(&alice(), OTHER, Op::Read, Topic, "u"));
}

#[test]
fn incremental_add_and_remove() {
    let mut a = authz(vec![]);
    let read = acl(Topic, "t", Prefixed, "User:alice", Op::Read, Allow);
    let read2 = acl(Topic, "t", Prefixed, "User:bob", Op::Read, Allow);
    let wildcard = acl(
        TransactionalId,
        "*",
        Literal,
        "User:alice",
        Op::Write,
        Allow,
    );
    assert_eq!(a.add(read.clone()), Ok(true));
    assert_eq!(a.add(read.clone()), Ok(false), "duplicates are kept once");
    assert_eq!(a.add(read2.clone()), Ok(true));
    assert_eq!(a.add(wildcard.clone()), Ok(true));
    assert_eq!(a.len(), 3);
    assert!(can(&a, &alice(), Op::Read, Topic, "topic"));
    assert!(can(&a, &alice(), Op::Write, TransactionalId, "tx"));
    assert!(a.remove(&read));
    assert!(!a.remove(&read));
    assert!(!can(&a, &alice(), Op::Read, Topic, "topic"));
    assert!(can(
        &a,
        &KafkaPrincipal::user("bob"),
        Op::Read,
        Topic,
        "topic"
    ));
    assert!(a.remove(&read2));
    assert!(a.remove(&wildcard));
    assert!(!can(&a, &alice(), Op::Write, TransactionalId, "tx"));
    assert!(a.is_empty());
    assert!(!a.remove(&acl(Group, "g", Literal, "User:a", Op::Read, Allow)));
    // Invalid bindings are refused, not indexed.
    let bad = acl(Topic, "", Literal, "User:alice", Op::Read, Allow);
    assert_eq!(a.add(bad), Err(AclError::EmptyResourceName));
    assert!(a.is_empty());
    // After removing the last PREFIXED ACL, a resource has no ACL again.
    let config = AuthorizerConfig {
        allow_everyone_if_no_acl_found: true,
        ..Default::default()
    };
    let mut a = Authorizer::new(config);
    a.add(read.clone()).unwrap();
    assert!(!can(
        &a,
        &KafkaPrincipal::user("bob"),
        Op::Read,
        Topic,
        "topic"
    ));
    a.remove(&read);
    assert!(can(
        &a,
        &KafkaPrincipal::user("bob"),
        Op::Read,
        Topic,
        "topic"
    ));
}

#[test]
fn acls_by_filter() {
    let bindings = vec![
        acl(Topic, "foo-bar", Literal, "User:alice", Op::Read, Allow),
        acl(Topic, "*", Literal, "User:alice", Op::Read, Allow),
        acl(Topic, "foo", Prefixed, "User:bob", Op::Write, Deny),
        acl(Group, "foo-bar", Literal, "User:alice", Op::Read, Allow),
    ];
    let a = authz(bindings.clone());
    assert_eq!(a.acls(&AclBindingFilter::any()).len(), 4);
    let mut matched = a.acls(&AclBindingFilter {
        resource_type: Topic,
        resource_name: Some("foo-bar".into()),
        pattern_type: PatternType::Match,
        ..AclBindingFilter::any()
    });
    matched.sort_by(|x, y| x.resource_name.cmp(&y.resource_name));
    assert_eq!(
        matched,
        [
            bindings[1].clone(),
            bindings[2].clone(),
            bindings[0].clone()
        ]
    );
    let by_principal = a.acls(&AclBindingFilter {
        principal: Some("User:bob".into()),
        ..AclBindingFilter::any()
    });
    assert_eq!(by_principal, [bindings[2].clone()]);
}
