//! Error answers shared by many routes, documented once.

use sluice_model::Problem;

/// 401 and 403, which every `/v1` route can answer.
#[derive(utoipa::IntoResponses)]
#[allow(
    dead_code,
    reason = "only documents responses: the errors themselves are `ApiError`s"
)]
pub enum AuthErrors {
    /// `unauthorized`: no token, or one that fails verification
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// `forbidden`: the token's roles do not allow this
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
}

/// 500 and 503, which every route that reaches the database can answer.
#[derive(utoipa::IntoResponses)]
#[allow(
    dead_code,
    reason = "only documents responses: the errors themselves are `ApiError`s"
)]
pub enum ServerErrors {
    /// `internal-error`: logged with the request id, which the problem carries
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
    /// `service-unavailable`: the database cannot be reached
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// 500 alone, for the routes that do not reach the database.
#[derive(utoipa::IntoResponses)]
#[allow(
    dead_code,
    reason = "only documents responses: the errors themselves are `ApiError`s"
)]
pub enum InternalError {
    /// `internal-error`: logged with the request id, which the problem carries
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

/// 413 and 415, which every route with a body can answer.
#[derive(utoipa::IntoResponses)]
#[allow(
    dead_code,
    reason = "only documents responses: the errors themselves are `ApiError`s"
)]
pub enum BodyErrors {
    /// `payload-too-large`: the body exceeds 64 KiB
    #[response(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Problem),
    /// `unsupported-media-type`: the body is not `application/json`
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
}
