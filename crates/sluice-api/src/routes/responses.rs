//! Error answers shared by many routes, documented once.

use sluice_model::Problem;

/// 401 and 403, which every `/v1` route can answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only documents responses: the errors themselves are `ApiError`s.
pub enum AuthErrors {
    /// `unauthorized`: no token, or one that fails verification
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// `forbidden`: the token's roles do not allow this
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
}
