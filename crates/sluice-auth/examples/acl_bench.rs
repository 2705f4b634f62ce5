//! Micro-benchmark of `Authorizer::authorize`: median nanoseconds per call
//! with 0 ACLs and with 10,000 (literal, prefixed and wildcard, over topics
//! and groups, for 100 principals).
//!
//! `cargo run --release -p sluice-auth --example acl_bench`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use sluice_auth::{
    AclBinding, AclOperation, AclPermission, Authorizer, AuthorizerConfig, KafkaPrincipal,
    PatternType, ResourceType,
};

const SAMPLES: usize = 101;
const CALLS_PER_SAMPLE: usize = 2_000;

/// The `i`th generated binding (some repeat; the authorizer keeps one of each).
fn binding(i: usize) -> AclBinding {
    let (resource_type, resource_name, pattern_type) = match i % 10 {
        0..=5 => (
            ResourceType::Topic,
            format!("team-{}.topic-{i}", i % 50),
            PatternType::Literal,
        ),
        6 | 7 => (
            ResourceType::Topic,
            format!("team-{}.p{i}.", i % 50),
            PatternType::Prefixed,
        ),
        8 => (
            ResourceType::Group,
            format!("group-{i}"),
            PatternType::Literal,
        ),
        _ if i % 1000 == 9 => (ResourceType::Topic, "*".to_owned(), PatternType::Literal),
        _ => (
            ResourceType::Group,
            format!("app-{}-", i % 100),
            PatternType::Prefixed,
        ),
    };
    AclBinding {
        resource_type,
        resource_name,
        pattern_type,
        principal: format!("User:user-{}", i % 100),
        host: "*".to_owned(),
        operation: [
            AclOperation::Read,
            AclOperation::Write,
            AclOperation::Describe,
        ][i % 3],
        permission: if i % 17 == 0 {
            AclPermission::Deny
        } else {
            AclPermission::Allow
        },
    }
}

/// An authorizer holding exactly `n` distinct ACLs.
fn authorizer(n: usize) -> Authorizer {
    let mut authorizer = Authorizer::new(AuthorizerConfig::default());
    let mut i = 0;
    while authorizer.len() < n {
        authorizer.add(binding(i)).expect("valid binding");
        i += 1;
    }
    authorizer
}

/// Median ns per call over `SAMPLES` samples of `CALLS_PER_SAMPLE` calls.
fn median_ns(authorizer: &Authorizer, requests: &[(KafkaPrincipal, ResourceType, String)]) -> f64 {
    let host = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        for i in 0..CALLS_PER_SAMPLE {
            let (principal, rt, name) = &requests[i % requests.len()];
            black_box(authorizer.authorize(principal, host, AclOperation::Read, *rt, name));
        }
        samples.push(start.elapsed().as_nanos() as f64 / CALLS_PER_SAMPLE as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples[SAMPLES / 2]
}

fn main() {
    let requests: Vec<(KafkaPrincipal, ResourceType, String)> = (0..997)
        .map(|i| {
            let principal = KafkaPrincipal::user(format!("user-{}", i % 100));
            match i % 3 {
                0 => (
                    principal,
                    ResourceType::Topic,
                    format!("team-{}.topic-{i}", i % 50),
                ),
                1 => (
                    principal,
                    ResourceType::Topic,
                    format!("team-{}.p{}.events-{i}", i % 50, i * 10 + 6),
                ),
                _ => (
                    principal,
                    ResourceType::Group,
                    format!("app-{}-consumer", i % 100),
                ),
            }
        })
        .collect();
    for n in [0, 10_000] {
        let authorizer = authorizer(n);
        let allowed = requests
            .iter()
            .filter(|(p, rt, name)| {
                authorizer.authorize(
                    p,
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    AclOperation::Read,
                    *rt,
                    name,
                )
            })
            .count();
        println!(
            "{:>6} ACLs: median {:>7.1} ns per authorize ({allowed}/{} sample requests allowed)",
            authorizer.len(),
            median_ns(&authorizer, &requests),
            requests.len()
        );
    }
}
