//! Sluice's domain model: the types every other crate shares.
//!
//! This crate owns the *meaning* of a cluster — its specification, its states, the operations that
//! change it, broker configurations and tags — and the exact JSON shapes the REST API accepts and
//! returns (so the server and the CLI share one contract). Validation lives here as types:
//! a [`ClusterName`] or a [`ClusterSpec`] can only be built through a parser that rejects bad input
//! with per-field [`FieldError`]s.
//!
//! Invariants:
//! - No I/O: nothing here touches a socket, a file or a database.
//! - Every request type rejects unknown JSON fields, so a typo is an error rather than a silent default.
//! - A value of a validated type (`ClusterName`, `ClusterSpec`, `Tags`, …) is always valid.

pub mod catalogue;
pub mod cluster;
pub mod configuration;
pub mod names;
pub mod operation;
pub mod paging;
pub mod problem;
pub mod schema;
pub mod tags;
pub mod validation;

pub use cluster::*;
pub use configuration::*;
pub use names::*;
pub use operation::*;
pub use paging::*;
pub use problem::*;
pub use tags::*;
pub use validation::*;

#[cfg(test)]
mod testing;

/// The role a caller holds within its tenant, from least to most privileged.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything in its tenant.
    Viewer,
    /// Also creates, changes and deletes clusters and their tags.
    Operator,
    /// Everything, including broker configurations.
    Admin,
}

impl Role {
    /// Parses a role name as carried in a token's `roles` claim.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The lowercase name used in tokens and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// A tenant identifier, as carried in a token's `tenant` claim. Every stored row belongs to one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    /// Accepts 1–128 characters of letters, digits, `-`, `_`, `.` and `:`.
    pub fn parse(s: &str) -> Result<TenantId, String> {
        if s.is_empty() || s.len() > 128 {
            return Err("tenant must be 1 to 128 characters".into());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        {
            return Err("tenant may contain only letters, digits, '-', '_', '.' and ':'".into());
        }
        Ok(TenantId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
