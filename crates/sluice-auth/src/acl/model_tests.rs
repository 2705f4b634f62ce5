//! The index against a brute-force model of Kafka's rules.

use std::net::{IpAddr, Ipv4Addr};

use super::tests::binding;
use super::*;
use crate::KafkaPrincipal;
use AclOperation as Op;
use AclPermission::{Allow, Deny};
use PatternType::{Literal, Prefixed};
use ResourceType::{Group, Topic};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

/// A brute-force model of Kafka's rules, checked against the index on many
/// random ACL sets and requests.
#[test]
fn index_agrees_with_a_linear_scan() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let names = ["a", "ab", "abc", "b", "ba", "*", "é", "éa"];
    let principals = ["User:alice", "User:bob", "User:*"];
    let hosts = ["*", "10.0.0.1", "10.0.0.2"];
    let ops = [
        Op::Read,
        Op::Write,
        Op::Describe,
        Op::All,
        Op::AlterConfigs,
        Op::DescribeConfigs,
        Op::Alter,
    ];
    for round in 0..300 {
        let allow_everyone = round % 2 == 0;
        let mut bindings = Vec::new();
        for _ in 0..rng.random_range(0..8) {
            let name = names[rng.random_range(0..names.len())];
            let pt = if name != "*" && rng.random_bool(0.4) {
                Prefixed
            } else {
                Literal
            };
            bindings.push(binding(
                [Topic, Group][rng.random_range(0..2)],
                name,
                pt,
                principals[rng.random_range(0..3)],
                hosts[rng.random_range(0..3)],
                ops[rng.random_range(0..ops.len())],
                if rng.random_bool(0.3) { Deny } else { Allow },
            ));
        }
        let config = AuthorizerConfig {
            allow_everyone_if_no_acl_found: allow_everyone,
            ..Default::default()
        };
        let a = Authorizer::with_bindings(config, bindings.clone()).unwrap();
        for _ in 0..20 {
            let who: KafkaPrincipal = ["User:alice", "User:bob"][rng.random_range(0..2)]
                .parse()
                .unwrap();
            let host = [LOCAL, OTHER][rng.random_range(0..2)];
            let op = ops[rng.random_range(0..ops.len())];
            let rt = [Topic, Group][rng.random_range(0..2)];
            let name = names[rng.random_range(0..names.len())];
            let expected = model(&bindings, allow_everyone, &who, host, op, rt, name);
            assert_eq!(
                a.authorize(&who, host, op, rt, name),
                expected,
                "{bindings:?} {who} {host} {op} {rt} {name}"
            );
        }
    }
}

fn model(
    bindings: &[AclBinding],
    allow_everyone: bool,
    who: &KafkaPrincipal,
    host: IpAddr,
    op: Op,
    rt: ResourceType,
    name: &str,
) -> bool {
    let applies: Vec<&AclBinding> = bindings
        .iter()
        .filter(|b| b.resource_type == rt)
        .filter(|b| match b.pattern_type {
            Literal => b.resource_name == name || b.resource_name == "*",
            _ => name.starts_with(&b.resource_name),
        })
        .collect();
    if applies.is_empty() {
        return allow_everyone;
    }
    let matches = |b: &&&AclBinding| {
        (b.principal == who.to_string() || b.principal == "User:*")
            && (b.host == "*" || b.host == host.to_string())
            && (b.operation == Op::All
                || b.operation == op
                || (b.permission == Allow
                    && ((op == Op::Describe
                        && [Op::Read, Op::Write, Op::Delete, Op::Alter].contains(&b.operation))
                        || (op == Op::DescribeConfigs && b.operation == Op::AlterConfigs))))
    };
    let matching: Vec<_> = applies.iter().filter(matches).collect();
    !matching.iter().any(|b| b.permission == Deny) && matching.iter().any(|b| b.permission == Allow)
}
