//! `/v1/configurations`: broker configurations and their revisions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sluice_model::catalogue::{SettingInfo, SETTINGS};
use sluice_model::{
    Catalogue, Configuration, ConfigurationList, ConfigurationRevision, CreateConfigurationRequest,
    CreateRevisionRequest, PageQuery, Problem, RevisionList, RevisionPageQuery, Role,
};
use sluice_store::{PageRequest, Resource};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_id, ApiJson, ApiPath, ApiQuery};
use crate::routes::responses::{AuthErrors, BodyErrors, InternalError, ServerErrors};
use crate::AppState;

/// Create a configuration with its first revision.
#[utoipa::path(
    post, path = "/v1/configurations", tag = "configurations", operation_id = "createConfiguration",
    request_body = CreateConfigurationRequest,
    responses(
        (status = 201, description = "Created", body = Configuration),
        AuthErrors,
        (status = 400, description = "`malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`name-taken`", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`: unknown or invalid settings", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
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
    get, path = "/v1/configurations", tag = "configurations", operation_id = "listConfigurations",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of configurations", body = ConfigurationList),
        AuthErrors,
        (status = 400, description = "`invalid-query`: the query string does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation-failed`: `next_token` or `max_results` out of the schema", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
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
    get, path = "/v1/configurations/catalogue", tag = "configurations", operation_id = "getCatalogue",
    responses(
        (status = 200, description = "The catalogue", body = Catalogue),
        AuthErrors,
        InternalError,
    ),
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
    get, path = "/v1/configurations/{id}", tag = "configurations", operation_id = "getConfiguration",
    params(("id" = uuid::Uuid, Path, description = "Configuration id")),
    responses(
        (status = 200, description = "The configuration", body = Configuration),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Configuration>, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Configuration)?;
    Ok(Json(
        state.store.get_configuration(&caller.tenant, id).await?,
    ))
}

/// Delete a configuration that no cluster uses.
#[utoipa::path(
    delete, path = "/v1/configurations/{id}", tag = "configurations", operation_id = "deleteConfiguration",
    params(("id" = uuid::Uuid, Path, description = "Configuration id")),
    responses(
        (status = 204, description = "Deleted"),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`configuration-in-use`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    let id = parse_id(&id, Resource::Configuration)?;
    state.store.delete_configuration(&caller.tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a revision: the settings a cluster gets when it applies this revision.
#[utoipa::path(
    post, path = "/v1/configurations/{id}/revisions", tag = "configurations", operation_id = "createRevision",
    params(("id" = uuid::Uuid, Path, description = "Configuration id")),
    request_body = CreateRevisionRequest,
    responses(
        (status = 201, description = "Created", body = ConfigurationRevision),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn create_revision(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
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
    get, path = "/v1/configurations/{id}/revisions", tag = "configurations", operation_id = "listRevisions",
    params(("id" = uuid::Uuid, Path, description = "Configuration id"), RevisionPageQuery),
    responses(
        (status = 200, description = "A page of revisions", body = RevisionList),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `invalid-query`: the query string does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation-failed`: `next_token` or `max_results` out of the schema", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list_revisions(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RevisionPageQuery>,
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
    get, path = "/v1/configurations/{id}/revisions/{revision}", tag = "configurations", operation_id = "getRevision",
    params(("id" = uuid::Uuid, Path, description = "Configuration id"), ("revision" = i64, Path, description = "Revision number")),
    responses(
        (status = 200, description = "The revision", body = ConfigurationRevision),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`revision-not-found`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn get_revision(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, revision)): ApiPath<(String, String)>,
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
