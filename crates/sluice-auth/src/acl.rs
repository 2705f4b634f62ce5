//! Kafka ACLs: bindings, filters, CreateAcls validation and the
//! [`Authorizer`].
//!
//! This module owns what an ACL *is* and what it *means*; the broker owns
//! storing and replicating them (it applies each replicated change with
//! [`Authorizer::add`] / [`Authorizer::remove`]) and the Kafka request
//! handlers (CreateAcls validates with [`AclBinding::validate`], DescribeAcls
//! and DeleteAcls select with [`AclBindingFilter`]).
//!
//! Codes and names are Kafka's: the enums carry their wire code
//! (`code()`/`from_code()`) and their Java name (`Display`/`FromStr`, serde).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod authorizer;
#[cfg(test)]
mod authorizer_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

pub use authorizer::{Authorizer, AuthorizerConfig, Decision};

/// Kafka's `INVALID_REQUEST` error code.
pub const INVALID_REQUEST: i16 = 42;

/// The only valid name of a CLUSTER resource.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// The wildcard resource name (LITERAL) and principal name / host.
pub const WILDCARD: &str = "*";

macro_rules! kafka_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident = $code:literal, $text:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// Kafka's wire code.
            pub fn code(self) -> i8 {
                match self { $($name::$variant => $code,)+ }
            }

            /// The value for a wire code; `UNKNOWN` (0) and unassigned codes are errors.
            pub fn from_code(code: i8) -> Result<Self, AclError> {
                match code {
                    $($code => Ok($name::$variant),)+
                    _ => Err(AclError::UnknownCode { what: $what, code }),
                }
            }

            /// Kafka's (Java enum) name, e.g. `DESCRIBE_CONFIGS`.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = AclError;

            /// Case-insensitive, as Kafka's `fromString`.
            fn from_str(s: &str) -> Result<Self, AclError> {
                $(if s.eq_ignore_ascii_case($text) { return Ok($name::$variant); })+
                Err(AclError::UnknownName { what: $what, name: s.to_owned() })
            }
        }
    };
}

kafka_enum!(
    /// The type of resource an ACL protects (`ANY` only in filters).
    ResourceType, "resource type", {
        /// Filters only: any type.
        Any = 1, "ANY";
        /// A topic.
        Topic = 2, "TOPIC";
        /// A consumer group.
        Group = 3, "GROUP";
        /// The cluster (`kafka-cluster`).
        Cluster = 4, "CLUSTER";
        /// A transactional id.
        TransactionalId = 5, "TRANSACTIONAL_ID";
        /// A delegation token.
        DelegationToken = 6, "DELEGATION_TOKEN";
        /// A user (for CreateTokens/DescribeTokens on behalf of others).
        User = 7, "USER";
    }
);

kafka_enum!(
    /// How a binding's resource name is matched (`ANY`, `MATCH` only in filters).
    PatternType, "pattern type", {
        /// Filters only: any pattern type, exact name.
        Any = 1, "ANY";
        /// Filters only: every binding that would apply to the filter's name.
        Match = 2, "MATCH";
        /// The name exactly, or every name when it is `*`.
        Literal = 3, "LITERAL";
        /// Every name that starts with it.
        Prefixed = 4, "PREFIXED";
    }
);

kafka_enum!(
    /// An operation on a resource (`ANY` only in filters).
    AclOperation, "operation", {
        /// Filters only: any operation.
        Any = 1, "ANY";
        /// Every operation.
        All = 2, "ALL";
        /// Read (implies Describe).
        Read = 3, "READ";
        /// Write (implies Describe).
        Write = 4, "WRITE";
        /// Create.
        Create = 5, "CREATE";
        /// Delete (implies Describe).
        Delete = 6, "DELETE";
        /// Alter (implies Describe).
        Alter = 7, "ALTER";
        /// Describe.
        Describe = 8, "DESCRIBE";
        /// Inter-broker actions.
        ClusterAction = 9, "CLUSTER_ACTION";
        /// Describe configs.
        DescribeConfigs = 10, "DESCRIBE_CONFIGS";
        /// Alter configs (implies DescribeConfigs).
        AlterConfigs = 11, "ALTER_CONFIGS";
        /// Idempotent produce.
        IdempotentWrite = 12, "IDEMPOTENT_WRITE";
        /// Create delegation tokens.
        CreateTokens = 13, "CREATE_TOKENS";
        /// Describe delegation tokens.
        DescribeTokens = 14, "DESCRIBE_TOKENS";
    }
);

kafka_enum!(
    /// Whether a binding allows or denies (`ANY` only in filters).
    AclPermission, "permission type", {
        /// Filters only: either.
        Any = 1, "ANY";
        /// Deny: beats every allow.
        Deny = 2, "DENY";
        /// Allow.
        Allow = 3, "ALLOW";
    }
);

/// Why a binding, filter or code is not acceptable. Every variant maps to
/// Kafka's `INVALID_REQUEST` ([`AclError::kafka_error_code`]); `Display` is
/// the error message for the response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    /// A wire code with no value (including `UNKNOWN`, 0).
    #[error("Unknown {what} code {code}")]
    UnknownCode {
        /// Which field.
        what: &'static str,
        /// The code.
        code: i8,
    },
    /// A name with no value.
    #[error("Unknown {what} {name:?}")]
    UnknownName {
        /// Which field.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// `ANY` as a binding's resource type.
    #[error("Invalid resourceType {0}")]
    InvalidResourceType(ResourceType),
    /// `ANY` or `MATCH` as a binding's pattern type.
    #[error("Invalid patternType {0}")]
    InvalidPatternType(PatternType),
    /// `ANY` as a binding's operation.
    #[error("Invalid operation {0}")]
    InvalidOperation(AclOperation),
    /// `ANY` as a binding's permission type.
    #[error("Invalid permissionType {0}")]
    InvalidPermission(AclPermission),
    /// An empty resource name.
    #[error("Resource name should not be empty")]
    EmptyResourceName,
    /// A CLUSTER resource not named `kafka-cluster`.
    #[error("The only valid name for the CLUSTER resource is kafka-cluster")]
    InvalidClusterName,
    /// `*` with a pattern type other than LITERAL.
    #[error("The wildcard resource name '*' is only valid with pattern type LITERAL")]
    WildcardNotLiteral,
    /// A principal that is not `Type:name`.
    #[error("Invalid principal {0:?}: expected principalType:principalName")]
    InvalidPrincipal(String),
    /// A host that is neither `*` nor an IP address.
    #[error("Invalid host {0:?}: expected '*' or an IP address")]
    InvalidHost(String),
}

impl AclError {
    /// The Kafka error code for the response (`INVALID_REQUEST`, 42).
    pub fn kafka_error_code(&self) -> i16 {
        INVALID_REQUEST
    }

    /// The Kafka error name (`INVALID_REQUEST`).
    pub fn kafka_error_name(&self) -> &'static str {
        "INVALID_REQUEST"
    }
}

/// One ACL: `principal` is `permission`ed `operation` on resources of
/// `resource_type` matched by `resource_name`/`pattern_type`, from `host`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AclBinding {
    /// The resource type (not `ANY`).
    pub resource_type: ResourceType,
    /// The resource name, or prefix, or `*` (LITERAL) for all.
    pub resource_name: String,
    /// LITERAL or PREFIXED.
    pub pattern_type: PatternType,
    /// `Type:name`, e.g. `User:alice`, or `User:*` for every principal.
    pub principal: String,
    /// `*` or an IP address.
    pub host: String,
    /// The operation (not `ANY`).
    pub operation: AclOperation,
    /// ALLOW or DENY.
    pub permission: AclPermission,
}

impl AclBinding {
    /// Checks the binding as CreateAcls does before storing it.
    pub fn validate(&self) -> Result<(), AclError> {
        if self.resource_type == ResourceType::Any {
            return Err(AclError::InvalidResourceType(self.resource_type));
        }
        if !matches!(
            self.pattern_type,
            PatternType::Literal | PatternType::Prefixed
        ) {
            return Err(AclError::InvalidPatternType(self.pattern_type));
        }
        if self.operation == AclOperation::Any {
            return Err(AclError::InvalidOperation(self.operation));
        }
        if self.permission == AclPermission::Any {
            return Err(AclError::InvalidPermission(self.permission));
        }
        if self.resource_name.is_empty() {
            return Err(AclError::EmptyResourceName);
        }
        if self.resource_type == ResourceType::Cluster && self.resource_name != CLUSTER_NAME {
            return Err(AclError::InvalidClusterName);
        }
        if self.resource_name == WILDCARD && self.pattern_type != PatternType::Literal {
            return Err(AclError::WildcardNotLiteral);
        }
        if self.principal.parse::<crate::KafkaPrincipal>().is_err() {
            return Err(AclError::InvalidPrincipal(self.principal.clone()));
        }
        parse_host(&self.host)?;
        Ok(())
    }

    /// The filter that matches exactly this binding.
    pub fn to_filter(&self) -> AclBindingFilter {
        AclBindingFilter {
            resource_type: self.resource_type,
            resource_name: Some(self.resource_name.clone()),
            pattern_type: self.pattern_type,
            principal: Some(self.principal.clone()),
            host: Some(self.host.clone()),
            operation: self.operation,
            permission: self.permission,
        }
    }
}

/// `*` → `None`; an address → `Some`; anything else is an error.
pub(crate) fn parse_host(host: &str) -> Result<Option<IpAddr>, AclError> {
    if host == WILDCARD {
        return Ok(None);
    }
    host.parse::<IpAddr>()
        .map(|ip| Some(ip.to_canonical()))
        .map_err(|_| AclError::InvalidHost(host.to_owned()))
}

/// A DescribeAcls/DeleteAcls filter, with Kafka's matching semantics:
/// `None` and `ANY` match everything; [`PatternType::Match`] matches every
/// LITERAL, wildcard and PREFIXED binding that would apply to the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AclBindingFilter {
    /// A type, or `ANY`.
    pub resource_type: ResourceType,
    /// A name, or `None` for any.
    pub resource_name: Option<String>,
    /// A pattern type, or `ANY`, or `MATCH`.
    pub pattern_type: PatternType,
    /// A principal (exact string), or `None` for any.
    pub principal: Option<String>,
    /// A host (exact string), or `None` for any.
    pub host: Option<String>,
    /// An operation, or `ANY`.
    pub operation: AclOperation,
    /// A permission, or `ANY`.
    pub permission: AclPermission,
}

impl AclBindingFilter {
    /// The filter that matches every binding.
    pub fn any() -> Self {
        AclBindingFilter {
            resource_type: ResourceType::Any,
            resource_name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: AclPermission::Any,
        }
    }

    /// Whether `binding` matches (Kafka's `AclBindingFilter.matches`).
    pub fn matches(&self, binding: &AclBinding) -> bool {
        self.matches_resource(binding) && self.matches_entry(binding)
    }

    /// Kafka's `ResourcePatternFilter.matches`.
    fn matches_resource(&self, b: &AclBinding) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != b.resource_type {
            return false;
        }
        if !matches!(self.pattern_type, PatternType::Any | PatternType::Match)
            && self.pattern_type != b.pattern_type
        {
            return false;
        }
        let Some(name) = &self.resource_name else {
            return true;
        };
        if self.pattern_type == PatternType::Any || self.pattern_type == b.pattern_type {
            return *name == b.resource_name;
        }
        match b.pattern_type {
            PatternType::Literal => *name == b.resource_name || b.resource_name == WILDCARD,
            PatternType::Prefixed => name.starts_with(&b.resource_name),
            PatternType::Any | PatternType::Match => false,
        }
    }

    /// Kafka's `AccessControlEntryFilter.matches`.
    fn matches_entry(&self, b: &AclBinding) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == b.principal)
            && self.host.as_ref().is_none_or(|h| *h == b.host)
            && (self.operation == AclOperation::Any || self.operation == b.operation)
            && (self.permission == AclPermission::Any || self.permission == b.permission)
    }
}
