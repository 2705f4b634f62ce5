//! RFC 9457 problem details: the body of every error the API returns.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;

/// Prefix of every problem `type` URI; the stable code follows it.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:sluice:problem:";

/// An error, as `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `urn:sluice:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this case.
    pub detail: String,
    /// The stable, machine-readable code, for example `cluster-not-found` or `version-conflict`.
    pub code: String,
    /// The id of the request, also in the `x-request-id` header and the server's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Per-field problems, for `validation-failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The cluster's current version, for `version-conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// The cluster's state, for `invalid-state` and `cluster-not-ready`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<crate::ClusterState>,
}
