//! `/v1/configurations`: broker configurations and their revisions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use sluice_model::catalogue::{SettingInfo, SETTINGS};
use sluice_model::{
    Catalogue, Configuration, ConfigurationList, ConfigurationRevision, CreateConfigurationRequest,
    CreateRevisionRequest, PageQuery, Problem, RevisionList, Role,
};
use sluice_store::{PageRequest, Resource};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_id, ApiJson, ApiQuery};
use crate::routes::responses::AuthErrors;
use crate::AppState;

/// Create a configuration with its first revision.
#[utoipa::path(
    post, path = "/v1/configurations", tag = "configurations",
    request_body = CreateConfigurationRequest,
    responses(
        (status = 201, description = "Created", body = Configuration),
        AuthErrors,
        (status = 409, description = "`name-taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation-failed`: unknown or invalid settings", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateConfigurationRequest>,
) -> Result<(StatusCode, Json<Configuration>), ApiError> {
    caller.require(Role::Admin)?;
    let valid = req.validate().map_err(ApiError::Validation)?;
    let created = state
        .store
        .create_configuration(&caller.tenant, &valid)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// List configurations, oldest first.
#[utoipa::path(
    get, path = "/v1/configurations", tag = "configurations",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of configurations", body = ConfigurationList),
        AuthErrors,
        (status = 422, description = "Bad `next_token` or `max_results`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ConfigurationList>, ApiError> {
    caller.require(Role::Viewer)?;
    let page = PageRequest::parse(q.next_token.as_deref(), q.max_results)?;
    let page = state
        .store
        .list_configurations(&caller.tenant, page)
        .await?;
    Ok(Json(ConfigurationList {
        configurations: page.items,
        next_token: page.next_token,
    }))
}

/// The broker settings a configuration may carry, with their types and ranges.
#[utoipa::path(
    get, path = "/v1/configurations/catalogue", tag = "configurations",
    responses((status = 200, description = "The catalogue", body = Catalogue), AuthErrors),
    security(("bearer" = []))
)]
pub async fn catalogue(caller: Caller) -> Result<Json<Catalogue>, ApiError> {
    caller.require(Role::Viewer)?;
    Ok(Json(Catalogue {
        settings: SETTINGS.iter().map(SettingInfo::from).collect(),
    }))
}

/// Describe a configuration with its latest revision.
#[utoipa::path(
    get, path = "/v1/configurations/{id}", tag = "configurations",
    params(("id" = uuid::Uuid, Path, description = "Configuration id")),
    responses(
        (status = 200, description = "The configuration", body = Configuration),
        AuthErrors,
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Configuration>, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Configuration)?;
    Ok(Json(
        state.store.get_configuration(&caller.tenant, id).await?,
    ))
}

/// Delete a configuration that no cluster uses.
#[utoipa::path(
    delete, path = "/v1/configurations/{id}", tag = "configurations",
    params(("id" = uuid::Uuid, Path, description = "Configuration id")),
    responses(
        (status = 204, description = "Deleted"),
        AuthErrors,
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`configuration-in-use`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    let id = parse_id(&id, Resource::Configuration)?;
    state.store.delete_configuration(&caller.tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a revision: the settings a cluster gets when it applies this revision.
#[utoipa::path(
    post, path = "/v1/configurations/{id}/revisions", tag = "configurations",
    params(("id" = uuid::Uuid, Path, description = "Configuration id")),
    request_body = CreateRevisionRequest,
    responses(
        (status = 201, description = "Created", body = ConfigurationRevision),
        AuthErrors,
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation-failed`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CreateRevisionRequest>,
) -> Result<(StatusCode, Json<ConfigurationRevision>), ApiError> {
    caller.require(Role::Admin)?;
    let id = parse_id(&id, Resource::Configuration)?;
    let (description, props) = req.validate().map_err(ApiError::Validation)?;
    let rev = state
        .store
        .create_revision(&caller.tenant, id, description.as_deref(), &props)
        .await?;
    Ok((StatusCode::CREATED, Json(rev)))
}

/// List a configuration's revisions, newest first.
#[utoipa::path(
    get, path = "/v1/configurations/{id}/revisions", tag = "configurations",
    params(("id" = uuid::Uuid, Path, description = "Configuration id"), PageQuery),
    responses(
        (status = 200, description = "A page of revisions", body = RevisionList),
        AuthErrors,
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_revisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<RevisionList>, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Configuration)?;
    let page = state
        .store
        .list_revisions(&caller.tenant, id, q.next_token.as_deref(), q.max_results)
        .await?;
    Ok(Json(RevisionList {
        revisions: page.items,
        next_token: page.next_token,
    }))
}

/// Describe one revision.
#[utoipa::path(
    get, path = "/v1/configurations/{id}/revisions/{revision}", tag = "configurations",
    params(("id" = uuid::Uuid, Path, description = "Configuration id"), ("revision" = i64, Path, description = "Revision number")),
    responses(
        (status = 200, description = "The revision", body = ConfigurationRevision),
        AuthErrors,
        (status = 404, description = "`revision-not-found`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, revision)): Path<(String, String)>,
) -> Result<Json<ConfigurationRevision>, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Configuration)?;
    let revision = revision
        .parse::<i64>()
        .map_err(|_| ApiError::NotFound(Resource::ConfigurationRevision))?;
    Ok(Json(
        state
            .store
            .get_revision(&caller.tenant, id, revision)
            .await?,
    ))
}
