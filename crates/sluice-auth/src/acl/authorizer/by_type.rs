//! `authorizeByResourceType`: may a principal perform an operation on at
//! least one resource of a type? Kafka's default `Authorizer` implementation
//! (the one StandardAuthorizer uses), for requests such as InitProducerId
//! without a transactional id (WRITE on any TOPIC stands in for
//! IDEMPOTENT_WRITE on the cluster).

use std::collections::HashSet;
use std::net::IpAddr;

use super::{Authorizer, Entry};
use crate::acl::{AclError, AclOperation, AclPermission, PatternType, ResourceType, WILDCARD};
use crate::principal::{KafkaPrincipal, USER_TYPE};

impl Authorizer {
    /// Whether `principal` from `host` may perform `operation` on at least
    /// one resource of `resource_type`, by Kafka's rules:
    ///
    /// 1. allowed if [`authorize`](Self::authorize) allows it on a resource
    ///    named `hardcode` (so super users, wildcard ACLs and
    ///    `allow.everyone.if.no.acl.found` count);
    /// 2. of the ACLs for this principal (or `User:*`), host (or `*`) and
    ///    operation exactly (or `ALL`; no implied operations here): a DENY on
    ///    the LITERAL `*` denies; an ALLOW on the LITERAL `*` allows;
    /// 3. allowed if some allowed LITERAL name is not denied LITERALly and no
    ///    denied PREFIX starts it, or some allowed PREFIX is not started by a
    ///    denied PREFIX; otherwise denied.
    ///
    /// `ANY` as operation or resource type is an error, as in Kafka.
    pub fn authorize_by_resource_type(
        &self,
        principal: &KafkaPrincipal,
        host: IpAddr,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> Result<bool, AclError> {
        if operation == AclOperation::Any {
            return Err(AclError::InvalidOperation(operation));
        }
        if resource_type == ResourceType::Any {
            return Err(AclError::InvalidResourceType(resource_type));
        }
        if self.authorize(principal, host, operation, resource_type, "hardcode") {
            return Ok(true);
        }
        let Some(index) = self.by_type.get(&resource_type) else {
            return Ok(false);
        };
        let host = host.to_canonical();
        let applies = |e: &&Entry| {
            e.host.is_none_or(|h| h == host)
                && ((e.principal_type == principal.principal_type
                    && e.principal_name == principal.name)
                    || (e.principal_type == USER_TYPE && e.principal_name == WILDCARD))
                && (e.binding.operation == operation || e.binding.operation == AclOperation::All)
        };
        let wildcard = index.wildcard.iter().filter(applies);
        let mut wildcard_allow = false;
        for entry in wildcard {
            if entry.binding.permission == AclPermission::Deny {
                return Ok(false);
            }
            wildcard_allow = true;
        }
        if wildcard_allow {
            return Ok(true);
        }
        let named = index
            .literal
            .values()
            .chain(index.prefixed.values())
            .flatten()
            .filter(applies);
        let (mut deny_literal, mut deny_prefix) = (HashSet::new(), HashSet::new());
        let mut allows = Vec::new();
        for entry in named {
            let b = &entry.binding;
            match (b.permission, b.pattern_type) {
                (AclPermission::Deny, PatternType::Literal) => {
                    deny_literal.insert(b.resource_name.as_str());
                }
                (AclPermission::Deny, _) => {
                    deny_prefix.insert(b.resource_name.as_str());
                }
                _ => allows.push(b),
            }
        }
        Ok(allows.into_iter().any(|b| {
            let name = b.resource_name.as_str();
            if b.pattern_type == PatternType::Literal && deny_literal.contains(name) {
                return false;
            }
            !name
                .char_indices()
                .map(|(i, c)| &name[..i + c.len_utf8()])
                .any(|prefix| deny_prefix.contains(prefix))
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use crate::acl::tests::binding;
    use crate::acl::*;
    use crate::KafkaPrincipal;
    use AclOperation::{All, Describe, Read, Write};
    use AclPermission::{Allow, Deny};
    use PatternType::{Literal, Prefixed};
    use ResourceType::{Group, Topic};

    const HOST: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

    fn acl(
        name: &str,
        pt: PatternType,
        who: &str,
        op: AclOperation,
        perm: AclPermission,
    ) -> AclBinding {
        binding(Topic, name, pt, who, "*", op, perm)
    }

    fn by_type(bindings: Vec<AclBinding>, config: AuthorizerConfig, op: AclOperation) -> bool {
        Authorizer::with_bindings(config, bindings)
            .unwrap()
            .authorize_by_resource_type(&KafkaPrincipal::user("alice"), HOST, op, Topic)
            .unwrap()
    }

    fn check(bindings: Vec<AclBinding>) -> bool {
        by_type(bindings, AuthorizerConfig::default(), Write)
    }

    #[test]
    fn kafka_rules() {
        assert!(!check(vec![]));
        assert!(check(vec![acl("t", Literal, "User:alice", Write, Allow)]));
        assert!(check(vec![acl("t", Prefixed, "User:*", All, Allow)]));
        assert!(!check(vec![acl("t", Literal, "User:bob", Write, Allow)]));
        assert!(!check(vec![acl("t", Literal, "User:alice", Read, Allow)]));
        // Literal allow cancelled by the same literal deny, or by a denied prefix.
        assert!(!check(vec![
            acl("t", Literal, "User:alice", Write, Allow),
            acl("t", Literal, "User:alice", Write, Deny),
        ]));
        assert!(!check(vec![
            acl("team-t", Literal, "User:alice", Write, Allow),
            acl("team-", Prefixed, "User:*", Write, Deny),
        ]));
        // A deny elsewhere does not cancel it.
        assert!(check(vec![
            acl("team-t", Literal, "User:alice", Write, Allow),
            acl("other", Prefixed, "User:alice", Write, Deny),
            acl("team-t2", Literal, "User:alice", Write, Deny),
        ]));
        // An allowed prefix survives a literal deny inside it, not a shorter denied prefix.
        assert!(check(vec![
            acl("team-", Prefixed, "User:alice", Write, Allow),
            acl("team-x", Literal, "User:alice", Write, Deny),
        ]));
        assert!(!check(vec![
            acl("team-", Prefixed, "User:alice", Write, Allow),
            acl("te", Prefixed, "User:alice", Write, Deny),
        ]));
        // Wildcards.
        assert!(check(vec![acl("*", Literal, "User:alice", Write, Allow)]));
        assert!(!check(vec![
            acl("t", Literal, "User:alice", Write, Allow),
            acl("*", Literal, "User:alice", All, Deny),
        ]));
        // Other resource types do not count.
        let group = binding(Group, "g", Literal, "User:alice", "*", Write, Allow);
        assert!(!check(vec![group]));
        // Host.
        let other_host = binding(Topic, "t", Literal, "User:alice", "10.9.9.9", Write, Allow);
        assert!(!check(vec![other_host]));
    }

    #[test]
    fn no_implied_operations_in_the_scan() {
        let read = vec![acl("t", Literal, "User:alice", Read, Allow)];
        assert!(!by_type(read, AuthorizerConfig::default(), Describe));
        // ...but the `hardcode` probe does use them.
        let read_all = vec![acl("*", Literal, "User:alice", Read, Allow)];
        assert!(by_type(read_all, AuthorizerConfig::default(), Describe));
    }

    #[test]
    fn super_users_and_allow_everyone() {
        let deny_all = vec![acl("*", Literal, "User:*", All, Deny)];
        let su = AuthorizerConfig {
            super_users: vec![KafkaPrincipal::user("alice")],
            ..Default::default()
        };
        assert!(by_type(deny_all.clone(), su, Write));
        let everyone = AuthorizerConfig {
            allow_everyone_if_no_acl_found: true,
            ..Default::default()
        };
        assert!(by_type(vec![], everyone.clone(), Write));
        assert!(!by_type(deny_all, everyone, Write));
    }

    #[test]
    fn any_is_refused() {
        let a = Authorizer::new(AuthorizerConfig::default());
        let p = KafkaPrincipal::user("alice");
        assert!(a
            .authorize_by_resource_type(&p, HOST, AclOperation::Any, Topic)
            .is_err());
        assert!(a
            .authorize_by_resource_type(&p, HOST, Write, ResourceType::Any)
            .is_err());
    }
}
