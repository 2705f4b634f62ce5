//! Sluice's REST API.
//!
//! This crate owns HTTP: the axum router (one module per resource under `routes/`), bearer-token
//! authentication and roles, problem+json errors, request ids, metrics, and the OpenAPI document.
//!
//! Invariants:
//! - The only crate that knows HTTP.
//! - Every `/v1` route authenticates first; another tenant's resource answers 404, never 403.
//! - A client's mistake is a 4xx problem document with a stable `code`; internal error messages are
//!   logged with the request id and never returned.

mod auth;
mod error;
mod extract;
mod metrics;
pub mod openapi;
mod render;
mod request_id;
pub mod routes;

use std::future::Future;
use std::sync::Arc;

pub use auth::{
    mint_hs256, AuthConfig, AuthSetupError, Authenticator, Caller, Claims, TokenRequest,
};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
pub use error::ApiError;
pub use metrics::Metrics;
pub use openapi::ApiDoc;
use routes::{clusters, configurations, operations, system, tags, updates};
use sluice_store::Store;
use tokio::net::TcpListener;

/// Largest request body accepted, bytes. Every request this API takes is far smaller.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<Authenticator>,
    pub metrics: Arc<Metrics>,
    pub clusters: Arc<render::ClusterRenderCache>,
}

impl AppState {
    pub fn new(store: Store, auth: Authenticator) -> AppState {
        AppState {
            store,
            auth: Arc::new(auth),
            metrics: Arc::new(Metrics::default()),
            clusters: Arc::new(render::ClusterRenderCache::default()),
        }
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/clusters", post(clusters::create).get(clusters::list))
        .route(
            "/clusters/{id}",
            get(clusters::get).delete(clusters::delete),
        )
        .route(
            "/clusters/{id}/bootstrap-brokers",
            get(clusters::bootstrap_brokers),
        )
        .route("/clusters/{id}/nodes", get(clusters::nodes))
        .route("/clusters/{id}/broker-count", put(updates::broker_count))
        .route("/clusters/{id}/storage", put(updates::storage))
        .route("/clusters/{id}/configuration", put(updates::configuration))
        .route("/clusters/{id}/version", put(updates::kafka_version))
        .route("/clusters/{id}/broker-type", put(updates::broker_type))
        .route("/clusters/{id}/reboot-broker", post(updates::reboot_broker))
        .route("/clusters/{id}/operations", get(operations::list))
        .route(
            "/clusters/{id}/tags",
            get(tags::list_cluster)
                .post(tags::tag_cluster)
                .delete(tags::untag_cluster),
        )
        .route("/operations/{id}", get(operations::get))
        .route(
            "/configurations",
            post(configurations::create).get(configurations::list),
        )
        .route("/configurations/catalogue", get(configurations::catalogue))
        .route(
            "/configurations/{id}",
            get(configurations::get).delete(configurations::delete),
        )
        .route(
            "/configurations/{id}/revisions",
            post(configurations::create_revision).get(configurations::list_revisions),
        )
        .route(
            "/configurations/{id}/revisions/{revision}",
            get(configurations::get_revision),
        )
        .route(
            "/configurations/{id}/tags",
            get(tags::list_configuration)
                .post(tags::tag_configuration)
                .delete(tags::untag_configuration),
        );
    let metrics = state.metrics.clone();
    Router::new()
        .nest("/v1", v1)
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        .route("/docs", get(system::docs))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::middleware,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::Internal(
                "a handler panicked".into(),
            ))
        }))
        .layer(axum::middleware::from_fn(request_id::middleware))
}

/// The OpenAPI document as pretty JSON, exactly as committed at `openapi/sluice.json`.
pub fn openapi_json() -> String {
    let mut json = serde_json::to_string_pretty(&openapi::document())
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes requests in flight.
pub async fn run(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
