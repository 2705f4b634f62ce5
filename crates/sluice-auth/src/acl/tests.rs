//! Codes, names, CreateAcls validation and filter matching.

use super::*;

pub(super) fn binding(
    rt: ResourceType,
    name: &str,
    pt: PatternType,
    principal: &str,
    host: &str,
    op: AclOperation,
    perm: AclPermission,
) -> AclBinding {
    AclBinding {
        resource_type: rt,
        resource_name: name.into(),
        pattern_type: pt,
        principal: principal.into(),
        host: host.into(),
        operation: op,
        permission: perm,
    }
}

fn topic(name: &str, pt: PatternType) -> AclBinding {
    binding(
        ResourceType::Topic,
        name,
        pt,
        "User:alice",
        "*",
        AclOperation::Read,
        AclPermission::Allow,
    )
}

#[test]
fn kafka_codes() {
    let rt: Vec<(i8, &str)> = ResourceType::ALL
        .iter()
        .map(|r| (r.code(), r.name()))
        .collect();
    assert_eq!(
        rt,
        [
            (1, "ANY"),
            (2, "TOPIC"),
            (3, "GROUP"),
            (4, "CLUSTER"),
            (5, "TRANSACTIONAL_ID"),
            (6, "DELEGATION_TOKEN"),
            (7, "USER")
        ]
    );
    let pt: Vec<(i8, &str)> = PatternType::ALL
        .iter()
        .map(|p| (p.code(), p.name()))
        .collect();
    assert_eq!(
        pt,
        [(1, "ANY"), (2, "MATCH"), (3, "LITERAL"), (4, "PREFIXED")]
    );
    let ops: Vec<(i8, &str)> = AclOperation::ALL
        .iter()
        .map(|o| (o.code(), o.name()))
        .collect();
    assert_eq!(
        ops,
        [
            (1, "ANY"),
            (2, "ALL"),
            (3, "READ"),
            (4, "WRITE"),
            (5, "CREATE"),
            (6, "DELETE"),
            (7, "ALTER"),
            (8, "DESCRIBE"),
            (9, "CLUSTER_ACTION"),
            (10, "DESCRIBE_CONFIGS"),
            (11, "ALTER_CONFIGS"),
            (12, "IDEMPOTENT_WRITE"),
            (13, "CREATE_TOKENS"),
            (14, "DESCRIBE_TOKENS")
        ]
    );
    let perms: Vec<(i8, &str)> = AclPermission::ALL
        .iter()
        .map(|p| (p.code(), p.name()))
        .collect();
    assert_eq!(perms, [(1, "ANY"), (2, "DENY"), (3, "ALLOW")]);
    for code in 1..=14 {
        assert_eq!(AclOperation::from_code(code).unwrap().code(), code);
    }
    assert_eq!(
        AclOperation::from_code(0),
        Err(AclError::UnknownCode {
            what: "operation",
            code: 0
        })
    );
    assert!(ResourceType::from_code(8).is_err());
    assert!(PatternType::from_code(5).is_err());
    assert!(AclPermission::from_code(-1).is_err());
}

#[test]
fn names_parse_case_insensitively_and_serialize_as_kafka_names() {
    assert_eq!(
        "describe_configs".parse::<AclOperation>().unwrap(),
        AclOperation::DescribeConfigs
    );
    assert_eq!(
        "Prefixed".parse::<PatternType>().unwrap(),
        PatternType::Prefixed
    );
    assert_eq!(
        "TRANSACTIONAL_ID".parse::<ResourceType>().unwrap(),
        ResourceType::TransactionalId
    );
    assert!("unknown".parse::<AclPermission>().is_err());
    assert_eq!(AclOperation::ClusterAction.to_string(), "CLUSTER_ACTION");
    let b = topic("t", PatternType::Literal);
    let json = serde_json::to_string(&b).unwrap();
    assert_eq!(
        json,
        r#"{"resource_type":"TOPIC","resource_name":"t","pattern_type":"LITERAL","principal":"User:alice","host":"*","operation":"READ","permission":"ALLOW"}"#
    );
    assert_eq!(serde_json::from_str::<AclBinding>(&json).unwrap(), b);
}

#[test]
fn create_acls_validation() {
    let ok = topic("t", PatternType::Literal);
    assert_eq!(ok.validate(), Ok(()));
    let with = |f: &dyn Fn(&mut AclBinding)| {
        let mut b = ok.clone();
        f(&mut b);
        b.validate()
    };
    assert_eq!(
        with(&|b| b.resource_type = ResourceType::Any),
        Err(AclError::InvalidResourceType(ResourceType::Any))
    );
    assert_eq!(
        with(&|b| b.pattern_type = PatternType::Any),
        Err(AclError::InvalidPatternType(PatternType::Any))
    );
    assert_eq!(
        with(&|b| b.pattern_type = PatternType::Match),
        Err(AclError::InvalidPatternType(PatternType::Match))
    );
    assert_eq!(
        with(&|b| b.operation = AclOperation::Any),
        Err(AclError::InvalidOperation(AclOperation::Any))
    );
    assert_eq!(
        with(&|b| b.permission = AclPermission::Any),
        Err(AclError::InvalidPermission(AclPermission::Any))
    );
    assert_eq!(
        with(&|b| b.resource_name.clear()),
        Err(AclError::EmptyResourceName)
    );
    assert_eq!(
        with(&|b| b.resource_type = ResourceType::Cluster),
        Err(AclError::InvalidClusterName)
    );
    assert_eq!(
        with(&|b| {
            b.resource_type = ResourceType::Cluster;
            b.resource_name = CLUSTER_NAME.into();
        }),
        Ok(())
    );
    assert_eq!(with(&|b| b.resource_name = "*".into()), Ok(()));
    assert_eq!(
        with(&|b| {
            b.resource_name = "*".into();
            b.pattern_type = PatternType::Prefixed;
        }),
        Err(AclError::WildcardNotLiteral)
    );
    for bad in ["alice", "User:", ":alice", ""] {
        assert_eq!(
            with(&|b| b.principal = bad.into()),
            Err(AclError::InvalidPrincipal(bad.into()))
        );
    }
    assert_eq!(with(&|b| b.principal = "User:*".into()), Ok(()));
    assert_eq!(with(&|b| b.principal = "Group:admins".into()), Ok(()));
    for good in ["10.0.0.1", "::1", "0:0:0:0:0:0:0:1", "*"] {
        assert_eq!(with(&|b| b.host = good.into()), Ok(()), "{good}");
    }
    for bad in ["", "localhost", "10.0.0.0/8", "**"] {
        assert_eq!(
            with(&|b| b.host = bad.into()),
            Err(AclError::InvalidHost(bad.into()))
        );
    }
    let e = AclError::EmptyResourceName;
    assert_eq!(
        (e.kafka_error_code(), e.kafka_error_name()),
        (42, "INVALID_REQUEST")
    );
    assert_eq!(
        AclError::InvalidPatternType(PatternType::Match).to_string(),
        "Invalid patternType MATCH"
    );
}

#[test]
fn filter_any_matches_everything() {
    let f = AclBindingFilter::any();
    assert!(f.matches(&topic("t", PatternType::Literal)));
    assert!(f.matches(&topic("t", PatternType::Prefixed)));
    assert!(f.matches(&topic("*", PatternType::Literal)));
}

#[test]
fn filter_exact_binding() {
    let b = topic("t", PatternType::Literal);
    let f = b.to_filter();
    assert!(f.matches(&b));
    for changed in [
        AclBinding {
            resource_name: "u".into(),
            ..b.clone()
        },
        AclBinding {
            pattern_type: PatternType::Prefixed,
            ..b.clone()
        },
        AclBinding {
            resource_type: ResourceType::Group,
            ..b.clone()
        },
        AclBinding {
            principal: "User:bob".into(),
            ..b.clone()
        },
        AclBinding {
            principal: "User:*".into(),
            ..b.clone()
        },
        AclBinding {
            host: "10.0.0.1".into(),
            ..b.clone()
        },
        AclBinding {
            operation: AclOperation::Write,
            ..b.clone()
        },
        AclBinding {
            permission: AclPermission::Deny,
            ..b.clone()
        },
    ] {
        assert!(!f.matches(&changed), "{changed:?}");
    }
}

#[test]
fn filter_pattern_types() {
    let literal = topic("foo-bar", PatternType::Literal);
    let wildcard = topic("*", PatternType::Literal);
    let prefix = topic("foo-", PatternType::Prefixed);
    let other_prefix = topic("bar", PatternType::Prefixed);
    let longer_prefix = topic("foo-bar-baz", PatternType::Prefixed);
    let all = [&literal, &wildcard, &prefix, &other_prefix, &longer_prefix];
    let matching = |pt: PatternType, name: Option<&str>| -> Vec<String> {
        let f = AclBindingFilter {
            resource_type: ResourceType::Topic,
            resource_name: name.map(Into::into),
            pattern_type: pt,
            ..AclBindingFilter::any()
        };
        all.iter()
            .filter(|b| f.matches(b))
            .map(|b| format!("{}:{}", b.pattern_type, b.resource_name))
            .collect()
    };
    assert_eq!(
        matching(PatternType::Match, Some("foo-bar")),
        ["LITERAL:foo-bar", "LITERAL:*", "PREFIXED:foo-"]
    );
    assert_eq!(matching(PatternType::Match, Some("x")), ["LITERAL:*"]);
    assert_eq!(matching(PatternType::Match, None).len(), 5);
    // ANY: any pattern type, but the name is compared exactly.
    assert_eq!(matching(PatternType::Any, Some("foo-")), ["PREFIXED:foo-"]);
    assert_eq!(matching(PatternType::Any, Some("*")), ["LITERAL:*"]);
    assert_eq!(
        matching(PatternType::Literal, Some("foo-bar")),
        ["LITERAL:foo-bar"]
    );
    assert_eq!(
        matching(PatternType::Literal, None),
        ["LITERAL:foo-bar", "LITERAL:*"]
    );
    assert_eq!(
        matching(PatternType::Prefixed, Some("foo-bar")),
        Vec::<String>::new()
    );
    assert_eq!(
        matching(PatternType::Prefixed, Some("foo-")),
        ["PREFIXED:foo-"]
    );
    // The resource type still has to match, even with MATCH.
    let f = AclBindingFilter {
        resource_type: ResourceType::Group,
        resource_name: Some("foo-bar".into()),
        pattern_type: PatternType::Match,
        ..AclBindingFilter::any()
    };
    assert!(!f.matches(&wildcard));
}

#[test]
fn filter_entry_fields_are_exact_strings() {
    let b = binding(
        ResourceType::Group,
        "g",
        PatternType::Literal,
        "User:*",
        "10.0.0.1",
        AclOperation::Read,
        AclPermission::Deny,
    );
    let f = |principal: Option<&str>, host: Option<&str>, op, perm| AclBindingFilter {
        principal: principal.map(Into::into),
        host: host.map(Into::into),
        operation: op,
        permission: perm,
        ..AclBindingFilter::any()
    };
    use AclOperation as O;
    use AclPermission as P;
    assert!(f(Some("User:*"), Some("10.0.0.1"), O::Read, P::Deny).matches(&b));
    assert!(
        !f(Some("User:alice"), None, O::Any, P::Any).matches(&b),
        "no wildcard semantics in filters"
    );
    assert!(!f(None, Some("*"), O::Any, P::Any).matches(&b));
    assert!(!f(None, None, O::All, P::Any).matches(&b));
    assert!(!f(None, None, O::Any, P::Allow).matches(&b));
    assert!(f(None, None, O::Any, P::Any).matches(&b));
}
