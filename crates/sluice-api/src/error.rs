//! API errors and their problem+json form.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sluice_model::{ClusterState, FieldError, Problem, PROBLEM_TYPE_PREFIX};
use sluice_store::{Resource, StoreError};

use crate::request_id;

/// Every error the API answers with. Each variant's doc names its status and stable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401 `unauthorized`: no token, or a token that fails verification.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `forbidden`: the caller's roles do not allow this.
    #[error("this needs the {0} role")]
    Forbidden(&'static str),
    /// 404 `cluster-not-found`, `operation-not-found`, `configuration-not-found` or
    /// `revision-not-found`: no such resource in the caller's tenant.
    #[error("not found")]
    NotFound(Resource),
    /// 404 `route-not-found`.
    #[error("no such route")]
    RouteNotFound,
    /// 405 `method-not-allowed`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 400 `malformed-json`: the body is not JSON.
    #[error("{0}")]
    MalformedJson(String),
    /// 400 `invalid-query`: the query string does not parse.
    #[error("{0}")]
    InvalidQuery(String),
    /// 400 `invalid-path`: a path parameter does not decode (for example bad percent-encoding).
    #[error("{0}")]
    InvalidPath(String),
    /// 413 `payload-too-large`.
    #[error("the body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    /// 415 `unsupported-media-type`: the body is not `application/json`.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// 422 `validation-failed`, with per-field errors.
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    /// 409 `invalid-change`, with per-field errors: the request is valid but conflicts with the
    /// resource as it stands (the same broker count again, a downgrade, a storage shrink, a
    /// configuration that excludes the cluster's Kafka version, more tags than a resource holds).
    #[error("the change does not apply to the resource as it stands")]
    InvalidChange(Vec<FieldError>),
    /// 409 `version-conflict`: `current_version` is stale.
    #[error("the cluster is at version {0}")]
    VersionConflict(i64),
    /// 409 `invalid-state`: the cluster's state does not allow this.
    #[error("the cluster is {0}")]
    InvalidState(ClusterState),
    /// 409 `cluster-not-ready`: the cluster has no running brokers yet.
    #[error("the cluster has no running brokers yet; it is {0}")]
    ClusterNotReady(ClusterState),
    /// 409 `name-taken`.
    #[error("a resource with this name already exists")]
    NameTaken,
    /// 409 `client-request-token-reused`: the token was used for a different request.
    #[error("the client request token was already used for a different request")]
    TokenReused,
    /// 409 `configuration-in-use`.
    #[error("the configuration is applied to a cluster")]
    ConfigurationInUse,
    /// 503 `service-unavailable`: the database cannot be reached.
    #[error("the service is unavailable")]
    Unavailable,
    /// 500 `internal-error`: logged with the request id; the message is never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(r) => ApiError::NotFound(r),
            StoreError::VersionConflict { current } => ApiError::VersionConflict(current),
            StoreError::InvalidState { state } => ApiError::InvalidState(state),
            StoreError::NameTaken => ApiError::NameTaken,
            StoreError::TokenReused => ApiError::TokenReused,
            StoreError::ConfigurationInUse => ApiError::ConfigurationInUse,
            StoreError::Validation(errors) => ApiError::Validation(errors),
            StoreError::InvalidChange(errors) => ApiError::InvalidChange(errors),
            e if e.is_unavailable() => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// The status, stable code and title of this error.
    pub fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            ApiError::Unauthorized(_) => (S::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            ApiError::Forbidden(_) => (S::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::NotFound(r) => (
                S::NOT_FOUND,
                match r {
                    Resource::Cluster => "cluster-not-found",
                    Resource::Operation => "operation-not-found",
                    Resource::Configuration => "configuration-not-found",
                    Resource::ConfigurationRevision => "revision-not-found",
                },
                "Not found",
            ),
            ApiError::RouteNotFound => (S::NOT_FOUND, "route-not-found", "No such route"),
            ApiError::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::MalformedJson(_) => (S::BAD_REQUEST, "malformed-json", "Malformed JSON"),
            ApiError::InvalidQuery(_) => (S::BAD_REQUEST, "invalid-query", "Invalid query string"),
            ApiError::InvalidPath(_) => (S::BAD_REQUEST, "invalid-path", "Invalid path parameter"),
            ApiError::PayloadTooLarge(_) => (
                S::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            ApiError::UnsupportedMediaType => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::Validation(_) => (
                S::UNPROCESSABLE_ENTITY,
                "validation-failed",
                "Validation failed",
            ),
            ApiError::InvalidChange(_) => (S::CONFLICT, "invalid-change", "Invalid change"),
            ApiError::VersionConflict(_) => (S::CONFLICT, "version-conflict", "Version conflict"),
            ApiError::InvalidState(_) => (S::CONFLICT, "invalid-state", "Invalid state"),
            ApiError::ClusterNotReady(_) => (S::CONFLICT, "cluster-not-ready", "Cluster not ready"),
            ApiError::NameTaken => (S::CONFLICT, "name-taken", "Name taken"),
            ApiError::TokenReused => (
                S::CONFLICT,
                "client-request-token-reused",
                "Client request token reused",
            ),
            ApiError::ConfigurationInUse => {
                (S::CONFLICT, "configuration-in-use", "Configuration in use")
            }
            ApiError::Unavailable => (
                S::SERVICE_UNAVAILABLE,
                "service-unavailable",
                "Service unavailable",
            ),
            ApiError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal-error", "Internal error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::NotFound(r) => match r {
                Resource::Cluster => "no such cluster".into(),
                Resource::Operation => "no such operation".into(),
                Resource::Configuration => "no such configuration".into(),
                Resource::ConfigurationRevision => "no such configuration revision".into(),
            },
            ApiError::InvalidState(ClusterState::Failed) => {
                "the cluster is FAILED; it can only be deleted".into()
            }
            ApiError::InvalidState(s) => format!("the cluster is {s}; this change needs it ACTIVE"),
            ApiError::Validation(errors) | ApiError::InvalidChange(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            // Internal details go to the log, never to the client.
            ApiError::Internal(_) => {
                "an internal error occurred; quote the request id when reporting it".into()
            }
            other => other.to_string(),
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        Problem {
            type_uri: format!("{PROBLEM_TYPE_PREFIX}{code}"),
            title: title.into(),
            status: status.as_u16(),
            detail: self.detail(),
            code: code.into(),
            request_id: request_id::current(),
            errors: match self {
                ApiError::Validation(e) | ApiError::InvalidChange(e) => e.clone(),
                _ => Vec::new(),
            },
            current_version: match self {
                ApiError::VersionConflict(v) => Some(*v),
                _ => None,
            },
            state: match self {
                ApiError::InvalidState(s) | ApiError::ClusterNotReady(s) => Some(*s),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(message) = &self {
            tracing::error!(request_id = ?request_id::current(), %message, "internal error");
        }
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self, ApiError::Unauthorized(_)) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
