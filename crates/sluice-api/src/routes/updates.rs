//! `/v1/clusters/{id}/…` updates. Each quotes `current_version`, is accepted only while the
//! cluster is ACTIVE, and answers 202 with the operation that carries it out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sluice_model::{
    ClusterOperation, Problem, RebootBrokerRequest, Role, SpecChange, UpdateBrokerCountRequest,
    UpdateBrokerTypeRequest, UpdateConfigurationRequest, UpdateKafkaVersionRequest,
    UpdateStorageRequest,
};
use sluice_store::Resource;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_id, ApiJson, ApiPath};
use crate::routes::responses::{AuthErrors, BodyErrors, ServerErrors};
use crate::AppState;

type Accepted = (StatusCode, Json<ClusterOperation>);

async fn apply(
    state: &AppState,
    caller: &Caller,
    id: &str,
    current_version: i64,
    change: SpecChange,
) -> Result<Accepted, ApiError> {
    caller.require(Role::Operator)?;
    let id = parse_id(id, Resource::Cluster)?;
    change.validate().map_err(ApiError::Validation)?;
    let out = state
        .store
        .update_cluster(&caller.tenant, id, current_version, &change)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// Grow or shrink the number of brokers.
#[utoipa::path(
    put, path = "/v1/clusters/{id}/broker-count", tag = "updates", operation_id = "updateBrokerCount",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    request_body = UpdateBrokerCountRequest,
    responses(
        (status = 202, description = "Accepted", body = ClusterOperation),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version-conflict` (with the current version), `invalid-state` (with the state), or `invalid-change`: the cluster already has this many brokers, or the count is not a multiple of its zone count", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn broker_count(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateBrokerCountRequest>,
) -> Result<Accepted, ApiError> {
    apply(
        &state,
        &caller,
        &id,
        req.current_version,
        SpecChange::BrokerCount(req.broker_count),
    )
    .await
}

/// Grow the storage of every broker (storage never shrinks).
#[utoipa::path(
    put, path = "/v1/clusters/{id}/storage", tag = "updates", operation_id = "updateStorage",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    request_body = UpdateStorageRequest,
    responses(
        (status = 202, description = "Accepted", body = ClusterOperation),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version-conflict` (with the current version), `invalid-state` (with the state), or `invalid-change`: storage only grows", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn storage(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateStorageRequest>,
) -> Result<Accepted, ApiError> {
    apply(
        &state,
        &caller,
        &id,
        req.current_version,
        SpecChange::Storage(req.storage_gib),
    )
    .await
}

/// Apply a configuration revision to every broker (a rolling restart).
#[utoipa::path(
    put, path = "/v1/clusters/{id}/configuration", tag = "updates", operation_id = "updateConfiguration",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    request_body = UpdateConfigurationRequest,
    responses(
        (status = 202, description = "Accepted", body = ClusterOperation),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`, or `configuration-not-found` / `revision-not-found` for the configuration named", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version-conflict` (with the current version), `invalid-state` (with the state), or `invalid-change`: the cluster already runs this revision, or the configuration does not allow its Kafka version", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn configuration(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateConfigurationRequest>,
) -> Result<Accepted, ApiError> {
    apply(
        &state,
        &caller,
        &id,
        req.current_version,
        SpecChange::Configuration(req.configuration),
    )
    .await
}

/// Upgrade the Kafka version (a rolling restart; downgrades are refused).
#[utoipa::path(
    put, path = "/v1/clusters/{id}/version", tag = "updates", operation_id = "updateKafkaVersion",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    request_body = UpdateKafkaVersionRequest,
    responses(
        (status = 202, description = "Accepted", body = ClusterOperation),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version-conflict` (with the current version), `invalid-state` (with the state), or `invalid-change`: the cluster already runs this version, or it is older", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn kafka_version(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateKafkaVersionRequest>,
) -> Result<Accepted, ApiError> {
    apply(
        &state,
        &caller,
        &id,
        req.current_version,
        SpecChange::KafkaVersion(req.kafka_version),
    )
    .await
}

/// Change the size of every broker (a rolling restart).
#[utoipa::path(
    put, path = "/v1/clusters/{id}/broker-type", tag = "updates", operation_id = "updateBrokerType",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    request_body = UpdateBrokerTypeRequest,
    responses(
        (status = 202, description = "Accepted", body = ClusterOperation),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version-conflict` (with the current version), `invalid-state` (with the state), or `invalid-change`: the brokers already have this size", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn broker_type(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateBrokerTypeRequest>,
) -> Result<Accepted, ApiError> {
    let change = SpecChange::BrokerType {
        broker_type: req.broker_type,
        broker_resources: req.broker_resources,
    };
    apply(&state, &caller, &id, req.current_version, change).await
}

/// Reboot one broker.
#[utoipa::path(
    post, path = "/v1/clusters/{id}/reboot-broker", tag = "updates", operation_id = "rebootBroker",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    request_body = RebootBrokerRequest,
    responses(
        (status = 202, description = "Accepted", body = ClusterOperation),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version-conflict` (with the current version), `invalid-state` (with the state), or `invalid-change`: the cluster has no broker with this id", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn reboot_broker(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RebootBrokerRequest>,
) -> Result<Accepted, ApiError> {
    apply(
        &state,
        &caller,
        &id,
        req.current_version,
        SpecChange::RebootBroker(req.broker_id),
    )
    .await
}
