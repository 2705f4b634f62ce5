//! Security data the image holds, as Kafka's KRaft controller stores it: SCRAM credentials
//! (salt, iterations, stored and server key: never a password) and ACL bindings, with Kafka's
//! numeric codes for resource types, pattern types, operations and permissions, and
//! [`AclBindingFilter`] matching as Kafka's `AclBindingFilter.matches`.
//!
//! Plain serde data with no behaviour beyond matching and validation; the authorizer index
//! lives elsewhere (`sluice-auth`).

use serde::{Deserialize, Serialize};

/// SCRAM-SHA-256 (Kafka's `ScramMechanism` type 1).
pub const SCRAM_SHA_256: i8 = 1;
/// SCRAM-SHA-512 (Kafka's `ScramMechanism` type 2).
pub const SCRAM_SHA_512: i8 = 2;
/// Fewest iterations a credential may have (Kafka's `minIterations` of both mechanisms).
pub const SCRAM_MIN_ITERATIONS: i32 = 4096;
/// Most iterations a credential may have (Kafka's `ScramControlManager.MAX_ITERATIONS`).
pub const SCRAM_MAX_ITERATIONS: i32 = 16384;

/// Kafka's `ResourceType` codes.
pub mod resource_type {
    /// UNKNOWN (also any code Kafka does not know).
    pub const UNKNOWN: i8 = 0;
    /// ANY (filters only).
    pub const ANY: i8 = 1;
    /// TOPIC.
    pub const TOPIC: i8 = 2;
    /// GROUP.
    pub const GROUP: i8 = 3;
    /// CLUSTER (its only name is `kafka-cluster`).
    pub const CLUSTER: i8 = 4;
    /// TRANSACTIONAL_ID.
    pub const TRANSACTIONAL_ID: i8 = 5;
    /// DELEGATION_TOKEN.
    pub const DELEGATION_TOKEN: i8 = 6;
    /// USER.
    pub const USER: i8 = 7;
}

/// Kafka's `PatternType` codes.
pub mod pattern_type {
    /// UNKNOWN.
    pub const UNKNOWN: i8 = 0;
    /// ANY (filters only): any pattern type, the exact name.
    pub const ANY: i8 = 1;
    /// MATCH (filters only): bindings that would apply to the name (literal, wildcard, prefix).
    pub const MATCH: i8 = 2;
    /// LITERAL (`*` is the wildcard).
    pub const LITERAL: i8 = 3;
    /// PREFIXED.
    pub const PREFIXED: i8 = 4;
}

/// Kafka's `AclOperation` codes.
pub mod operation {
    /// UNKNOWN.
    pub const UNKNOWN: i8 = 0;
    /// ANY (filters only).
    pub const ANY: i8 = 1;
    /// ALL.
    pub const ALL: i8 = 2;
    /// READ.
    pub const READ: i8 = 3;
    /// WRITE.
    pub const WRITE: i8 = 4;
    /// CREATE.
    pub const CREATE: i8 = 5;
    /// DELETE.
    pub const DELETE: i8 = 6;
    /// ALTER.
    pub const ALTER: i8 = 7;
    /// DESCRIBE.
    pub const DESCRIBE: i8 = 8;
    /// CLUSTER_ACTION.
    pub const CLUSTER_ACTION: i8 = 9;
    /// DESCRIBE_CONFIGS.
    pub const DESCRIBE_CONFIGS: i8 = 10;
    /// ALTER_CONFIGS.
    pub const ALTER_CONFIGS: i8 = 11;
    /// IDEMPOTENT_WRITE.
    pub const IDEMPOTENT_WRITE: i8 = 12;
    /// CREATE_TOKENS.
    pub const CREATE_TOKENS: i8 = 13;
    /// DESCRIBE_TOKENS.
    pub const DESCRIBE_TOKENS: i8 = 14;
    /// TWO_PHASE_COMMIT.
    pub const TWO_PHASE_COMMIT: i8 = 15;
}

/// Kafka's `AclPermissionType` codes.
pub mod permission {
    /// UNKNOWN.
    pub const UNKNOWN: i8 = 0;
    /// ANY (filters only).
    pub const ANY: i8 = 1;
    /// DENY.
    pub const DENY: i8 = 2;
    /// ALLOW.
    pub const ALLOW: i8 = 3;
}

/// The wildcard resource name of a LITERAL binding.
pub const WILDCARD_RESOURCE: &str = "*";
/// The only name of the CLUSTER resource.
pub const CLUSTER_RESOURCE_NAME: &str = "kafka-cluster";

/// Codes Kafka does not define read as UNKNOWN, as its `fromCode` does.
fn known(code: i8, max: i8) -> i8 {
    if (0..=max).contains(&code) {
        code
    } else {
        0
    }
}

/// One user's SCRAM credential for one mechanism: what the server side of a SCRAM exchange
/// needs, never the password. `Debug` hides the key material.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramCredential {
    /// The salt.
    pub salt: Vec<u8>,
    /// PBKDF2 iterations.
    pub iterations: i32,
    /// `H(ClientKey)`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Sets a user's credential for a mechanism.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramUpsertion {
    /// The user name.
    pub user: String,
    /// [`SCRAM_SHA_256`] or [`SCRAM_SHA_512`].
    pub mechanism: i8,
    /// The credential (stored and server key computed by the broker from the salted password).
    pub credential: ScramCredential,
}

/// Removes a user's credential for a mechanism.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramDeletion {
    /// The user name.
    pub user: String,
    /// [`SCRAM_SHA_256`] or [`SCRAM_SHA_512`].
    pub mechanism: i8,
}

/// One user's outcome of an AlterUserScramCredentials (one per user named in the request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramResult {
    /// The user.
    pub user: String,
    /// Kafka error code, 0 for success.
    pub error_code: i16,
    /// Why, when refused.
    pub error_message: Option<String>,
}

/// A stored ACL: a resource pattern and an access-control entry, Kafka's codes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AclBinding {
    /// [`resource_type`] code.
    pub resource_type: i8,
    /// Resource name (`*` for every resource with LITERAL).
    pub resource_name: String,
    /// [`pattern_type`] code: LITERAL or PREFIXED.
    pub pattern_type: i8,
    /// `Type:name`, e.g. `User:alice`.
    pub principal: String,
    /// Host, `*` for any.
    pub host: String,
    /// [`operation`] code.
    pub operation: i8,
    /// [`permission`] code: ALLOW or DENY.
    pub permission: i8,
}

/// Selects ACL bindings (DescribeAcls, DeleteAcls): `None` strings and ANY codes match
/// anything; pattern type MATCH matches the bindings that would apply to `resource_name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclBindingFilter {
    /// [`resource_type`] code, ANY for all.
    pub resource_type: i8,
    /// Resource name, `None` for all.
    pub resource_name: Option<String>,
    /// [`pattern_type`] code, ANY or MATCH included.
    pub pattern_type: i8,
    /// Principal, `None` for all.
    pub principal: Option<String>,
    /// Host, `None` for all.
    pub host: Option<String>,
    /// [`operation`] code, ANY for all.
    pub operation: i8,
    /// [`permission`] code, ANY for all.
    pub permission: i8,
}

/// One binding's outcome of a CreateAcls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclCreationResult {
    /// Kafka error code, 0 for success.
    pub error_code: i16,
    /// Why, when refused.
    pub error_message: Option<String>,
}

/// One filter's outcome of a DeleteAcls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclDeletionResult {
    /// Kafka error code, 0 for success.
    pub error_code: i16,
    /// Why, when refused.
    pub error_message: Option<String>,
    /// The bindings this filter removed.
    pub matching: Vec<AclBinding>,
}

impl AclBindingFilter {
    /// Kafka's `AclBindingFilter.ANY`: matches every binding.
    pub fn any() -> AclBindingFilter {
        AclBindingFilter {
            resource_type: resource_type::ANY,
            resource_name: None,
            pattern_type: pattern_type::ANY,
            principal: None,
            host: None,
            operation: operation::ANY,
            permission: permission::ANY,
        }
    }

    /// Whether a code of the filter is UNKNOWN (Kafka's `isUnknown`): such a filter is refused.
    pub fn is_unknown(&self) -> bool {
        known(self.resource_type, resource_type::USER) == resource_type::UNKNOWN
            || known(self.pattern_type, pattern_type::PREFIXED) == pattern_type::UNKNOWN
            || known(self.operation, operation::TWO_PHASE_COMMIT) == operation::UNKNOWN
            || known(self.permission, permission::ALLOW) == permission::UNKNOWN
    }

    /// Kafka's `AclBindingFilter.matches`.
    pub fn matches(&self, binding: &AclBinding) -> bool {
        self.matches_pattern(binding) && self.matches_entry(binding)
    }

    /// `ResourcePatternFilter.matches`.
    fn matches_pattern(&self, b: &AclBinding) -> bool {
        let rt = known(self.resource_type, resource_type::USER);
        if rt != resource_type::ANY && rt != b.resource_type {
            return false;
        }
        let pt = known(self.pattern_type, pattern_type::PREFIXED);
        if pt != pattern_type::ANY && pt != pattern_type::MATCH && pt != b.pattern_type {
            return false;
        }
        let Some(name) = &self.resource_name else {
            return true;
        };
        if pt == pattern_type::ANY || pt == b.pattern_type {
            return *name == b.resource_name;
        }
        // MATCH: the bindings that would apply to a resource called `name`.
        match b.pattern_type {
            pattern_type::LITERAL => {
                *name == b.resource_name || b.resource_name == WILDCARD_RESOURCE
            }
            pattern_type::PREFIXED => name.starts_with(&b.resource_name),
            _ => false,
        }
    }

    /// `AccessControlEntryFilter.matches`.
    fn matches_entry(&self, b: &AclBinding) -> bool {
        if self.principal.as_ref().is_some_and(|p| *p != b.principal) {
            return false;
        }
        if self.host.as_ref().is_some_and(|h| *h != b.host) {
            return false;
        }
        let op = known(self.operation, operation::TWO_PHASE_COMMIT);
        if op != operation::ANY && op != b.operation {
            return false;
        }
        let perm = known(self.permission, permission::ALLOW);
        perm == permission::ANY || perm == b.permission
    }
}

impl AclBinding {
    /// Kafka's checks of a binding to store (`AclControlManager.validateNewAcl` and the
    /// broker's CreateAcls checks): the reason it is an INVALID_REQUEST, if it is one.
    pub fn invalid_reason(&self) -> Option<String> {
        let rt = known(self.resource_type, resource_type::USER);
        if rt == resource_type::UNKNOWN || rt == resource_type::ANY {
            return Some(format!("Invalid resourceType {}", self.resource_type));
        }
        let pt = known(self.pattern_type, pattern_type::PREFIXED);
        if pt != pattern_type::LITERAL && pt != pattern_type::PREFIXED {
            return Some(format!("Invalid patternType {}", self.pattern_type));
        }
        let op = known(self.operation, operation::TWO_PHASE_COMMIT);
        if op == operation::UNKNOWN || op == operation::ANY {
            return Some(format!("Invalid operation {}", self.operation));
        }
        let perm = known(self.permission, permission::ALLOW);
        if perm != permission::ALLOW && perm != permission::DENY {
            return Some(format!("Invalid permissionType {}", self.permission));
        }
        if self.resource_name.is_empty() {
            return Some("Resource name should not be empty".into());
        }
        if rt == resource_type::CLUSTER && self.resource_name != CLUSTER_RESOURCE_NAME {
            return Some(format!(
                "The only valid name for the CLUSTER resource is {CLUSTER_RESOURCE_NAME}"
            ));
        }
        match self.principal.split_once(':') {
            None => Some(format!(
                "Could not parse principal from `{}` (no colon is present separating the \
                 principal type from the principal name)",
                self.principal
            )),
            Some(("", _)) => Some(format!("Invalid principal `{}`: no type", self.principal)),
            Some(_) => None,
        }
    }
}
