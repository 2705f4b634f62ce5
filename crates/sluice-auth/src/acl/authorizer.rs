//! The authorizer: Kafka's `StandardAuthorizer` rules over an index.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::{parse_host, AclBinding, AclBindingFilter, AclError, AclOperation, AclPermission};
use super::{PatternType, ResourceType, WILDCARD};
use crate::principal::{KafkaPrincipal, PrincipalParseError, USER_TYPE};

mod by_type;

/// The authorizer's settings (Kafka's `super.users` and
/// `allow.everyone.if.no.acl.found`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// Principals allowed everything, whatever the ACLs say.
    pub super_users: Vec<KafkaPrincipal>,
    /// Allow an operation on a resource that no ACL at all applies to (any
    /// principal, host or operation; LITERAL, wildcard or PREFIXED). Default false.
    pub allow_everyone_if_no_acl_found: bool,
}

impl AuthorizerConfig {
    /// Parses Kafka's `super.users` value: principals separated by `;`
    /// (`User:admin;User:broker`); blanks around entries and empty entries
    /// are ignored.
    pub fn parse_super_users(value: &str) -> Result<Vec<KafkaPrincipal>, PrincipalParseError> {
        value
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect()
    }
}

/// Why an authorization came out as it did (for audit logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Allowed: the principal is a super user.
    SuperUser,
    /// Allowed by this ACL (and no DENY ACL matched).
    AllowedByAcl(&'a AclBinding),
    /// Denied by this ACL.
    DeniedByAcl(&'a AclBinding),
    /// No ACL applies to the resource; allowed by `allow.everyone.if.no.acl.found`.
    NoAclAllowEveryone,
    /// No ACL applies to the resource; denied.
    NoAcl,
    /// ACLs apply to the resource but none allows this principal, host and operation.
    NoMatchingAllow,
}

impl Decision<'_> {
    /// Whether the operation is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(
            self,
            Decision::SuperUser | Decision::AllowedByAcl(_) | Decision::NoAclAllowEveryone
        )
    }
}

/// A binding with its principal and host parsed, as the index holds it.
#[derive(Debug, Clone)]
struct Entry {
    binding: AclBinding,
    principal_type: String,
    principal_name: String,
    /// `None` for `*`.
    host: Option<IpAddr>,
}

impl Entry {
    /// Kafka's `findResult`: `Some(permission)` if the ACL applies to this
    /// principal, host and operation (the resource name already matched).
    fn result(
        &self,
        principal: &KafkaPrincipal,
        host: IpAddr,
        op: AclOperation,
    ) -> Option<AclPermission> {
        let wildcard = self.principal_type == USER_TYPE && self.principal_name == WILDCARD;
        if !wildcard
            && (self.principal_type != principal.principal_type
                || self.principal_name != principal.name)
        {
            return None;
        }
        if self.host.is_some_and(|h| h != host) {
            return None;
        }
        let acl_op = self.binding.operation;
        if acl_op != AclOperation::All {
            let applies = if self.binding.permission == AclPermission::Allow {
                use AclOperation::*;
                match op {
                    Describe => matches!(acl_op, Describe | Read | Write | Delete | Alter),
                    DescribeConfigs => matches!(acl_op, DescribeConfigs | AlterConfigs),
                    _ => op == acl_op,
                }
            } else {
                op == acl_op
            };
            if !applies {
                return None;
            }
        }
        Some(self.binding.permission)
    }
}

/// The bindings of one resource type, indexed by how they match names.
#[derive(Debug, Default)]
struct TypeIndex {
    literal: HashMap<String, Vec<Entry>>,
    wildcard: Vec<Entry>,
    prefixed: HashMap<String, Vec<Entry>>,
    /// Byte length → number of distinct prefixes of that length.
    prefix_lens: BTreeMap<usize, usize>,
}

/// Authorizes operations with Kafka's `StandardAuthorizer` rules:
///
/// 1. super users are allowed everything;
/// 2. the ACLs that apply to a resource are its LITERAL ones, the LITERAL
///    `*` ones and the PREFIXED ones whose prefix starts its name;
/// 3. among those, an ACL matches if its principal is the caller's or
///    `User:*`, its host is the caller's IP or `*`, and its operation is the
///    one asked, or `ALL`, or (ALLOW only) implies it — Read, Write, Delete
///    and Alter imply Describe; AlterConfigs implies DescribeConfigs;
/// 4. a matching DENY wins; else a matching ALLOW allows; else, if no ACL
///    applies to the resource at all, `allow.everyone.if.no.acl.found`
///    decides; else denied.
///
/// Lookups use an index (a map per resource type for literal names, a list
/// for `*`, and a map of prefixes probed at each prefix length present), so
/// the cost does not grow with the number of ACLs on other resources.
///
/// Host comparison is by address (`::1` and `0:0:0:0:0:0:0:1` are the same;
/// IPv4-mapped IPv6 addresses are their IPv4 address), where Kafka compares
/// Java's text form.
#[derive(Debug, Default)]
pub struct Authorizer {
    config: AuthorizerConfig,
    by_type: HashMap<ResourceType, TypeIndex>,
    len: usize,
}

impl Authorizer {
    /// An authorizer with no ACLs.
    pub fn new(config: AuthorizerConfig) -> Self {
        Authorizer {
            config,
            by_type: HashMap::new(),
            len: 0,
        }
    }

    /// An authorizer with these ACLs (each validated; duplicates kept once).
    pub fn with_bindings(
        config: AuthorizerConfig,
        bindings: impl IntoIterator<Item = AclBinding>,
    ) -> Result<Self, AclError> {
        let mut authorizer = Self::new(config);
        for binding in bindings {
            authorizer.add(binding)?;
        }
        Ok(authorizer)
    }

    /// The settings.
    pub fn config(&self) -> &AuthorizerConfig {
        &self.config
    }

    /// Number of ACLs held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no ACL is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds an ACL; `Ok(false)` if it was already there.
    pub fn add(&mut self, binding: AclBinding) -> Result<bool, AclError> {
        binding.validate()?;
        let host = parse_host(&binding.host)?;
        let (principal_type, principal_name) = binding
            .principal
            .split_once(':')
            .map(|(t, n)| (t.to_owned(), n.to_owned()))
            .ok_or_else(|| AclError::InvalidPrincipal(binding.principal.clone()))?;
        let index = self.by_type.entry(binding.resource_type).or_default();
        let name = binding.resource_name.clone();
        let list = match binding.pattern_type {
            PatternType::Literal if name == WILDCARD => &mut index.wildcard,
            PatternType::Literal => index.literal.entry(name).or_default(),
            _ => {
                if !index.prefixed.contains_key(&name) {
                    *index.prefix_lens.entry(name.len()).or_default() += 1;
                }
                index.prefixed.entry(name).or_default()
            }
        };
        if list.iter().any(|e| e.binding == binding) {
            return Ok(false);
        }
        list.push(Entry {
            binding,
            principal_type,
            principal_name,
            host,
        });
        self.len += 1;
        Ok(true)
    }

    /// Removes an ACL; whether it was there.
    pub fn remove(&mut self, binding: &AclBinding) -> bool {
        let Some(index) = self.by_type.get_mut(&binding.resource_type) else {
            return false;
        };
        let name = &binding.resource_name;
        let removed = match binding.pattern_type {
            PatternType::Literal if name == WILDCARD => remove_from(&mut index.wildcard, binding),
            PatternType::Literal => remove_keyed(&mut index.literal, name, binding),
            PatternType::Prefixed => {
                let removed = remove_keyed(&mut index.prefixed, name, binding);
                if removed && !index.prefixed.contains_key(name) {
                    if let Some(n) = index.prefix_lens.get_mut(&name.len()) {
                        *n -= 1;
                        if *n == 0 {
                            index.prefix_lens.remove(&name.len());
                        }
                    }
                }
                removed
            }
            PatternType::Any | PatternType::Match => false,
        };
        if removed {
            self.len -= 1;
        }
        removed
    }

    /// The ACLs a filter matches (DescribeAcls; DeleteAcls removes them).
    pub fn acls(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        self.by_type
            .values()
            .flat_map(|index| {
                index
                    .literal
                    .values()
                    .chain(index.prefixed.values())
                    .flatten()
                    .chain(&index.wildcard)
            })
            .map(|e| &e.binding)
            .filter(|b| filter.matches(b))
            .cloned()
            .collect()
    }

    /// Whether `principal` connecting from `host` may perform `operation` on
    /// the resource `resource_type`/`resource_name`.
    pub fn authorize(
        &self,
        principal: &KafkaPrincipal,
        host: IpAddr,
        operation: AclOperation,
        resource_type: ResourceType,
        resource_name: &str,
    ) -> bool {
        self.decide(principal, host, operation, resource_type, resource_name)
            .is_allowed()
    }

    /// [`authorize`](Self::authorize), with the reason.
    pub fn decide(
        &self,
        principal: &KafkaPrincipal,
        host: IpAddr,
        operation: AclOperation,
        resource_type: ResourceType,
        resource_name: &str,
    ) -> Decision<'_> {
        if self.config.super_users.contains(principal) {
            return Decision::SuperUser;
        }
        let host = host.to_canonical();
        let no_acl = if self.config.allow_everyone_if_no_acl_found {
            Decision::NoAclAllowEveryone
        } else {
            Decision::NoAcl
        };
        let Some(index) = self.by_type.get(&resource_type) else {
            return no_acl;
        };
        let literal = index.literal.get(resource_name).map(Vec::as_slice);
        let prefixed = index
            .prefix_lens
            .range(1..=resource_name.len())
            .filter(|(len, _)| resource_name.is_char_boundary(**len))
            .filter_map(|(len, _)| index.prefixed.get(&resource_name[..*len]))
            .map(Vec::as_slice);
        let mut has_resource_acls = false;
        let mut allow = None;
        for entries in literal
            .into_iter()
            .chain(prefixed)
            .chain([index.wildcard.as_slice()])
        {
            has_resource_acls |= !entries.is_empty();
            for entry in entries {
                match entry.result(principal, host, operation) {
                    Some(AclPermission::Deny) => return Decision::DeniedByAcl(&entry.binding),
                    Some(_) => allow = allow.or(Some(&entry.binding)),
                    None => {}
                }
            }
        }
        match allow {
            Some(binding) => Decision::AllowedByAcl(binding),
            None if !has_resource_acls => no_acl,
            None => Decision::NoMatchingAllow,
        }
    }
}

fn remove_from(list: &mut Vec<Entry>, binding: &AclBinding) -> bool {
    match list.iter().position(|e| e.binding == *binding) {
        Some(i) => {
            list.swap_remove(i);
            true
        }
        None => false,
    }
}

fn remove_keyed(map: &mut HashMap<String, Vec<Entry>>, key: &str, binding: &AclBinding) -> bool {
    let Some(list) = map.get_mut(key) else {
        return false;
    };
    let removed = remove_from(list, binding);
    if list.is_empty() {
        map.remove(key);
    }
    removed
}
