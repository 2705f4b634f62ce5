//! Unauthenticated endpoints: liveness, readiness, metrics, the OpenAPI document and its page.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::Json;
use serde::Serialize;
use sluice_model::Problem;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::AppState;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "system", operation_id = "getHealth", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The process can serve: the database answers.
#[utoipa::path(
    get, path = "/readyz", tag = "system", operation_id = "getReadiness",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "`service-unavailable`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::Unavailable
    })?;
    Ok(Json(Health { status: "ok" }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "system", operation_id = "getMetrics", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(state.store.pool_stats()),
    )
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "system", operation_id = "getOpenApi", responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn openapi() -> impl IntoResponse {
    (StatusCode::OK, Json(crate::openapi::document()))
}

/// A self-contained page that renders `/openapi.json`; it loads nothing from elsewhere.
pub async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
