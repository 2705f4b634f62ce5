//! `…/tags` of clusters and configurations: list, add, remove.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use sluice_model::{Problem, Role, TagList, TagResourceRequest, Tags, Violations};
use sluice_store::Resource;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_id, ApiJson, ApiPath, ApiQuery};
use crate::routes::responses::{AuthErrors, BodyErrors, ServerErrors};
use crate::AppState;

/// Query of a tag removal.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UntagQuery {
    /// Comma-separated tag keys to remove (keys cannot contain commas).
    pub keys: String,
}

fn parse_tags(req: &TagResourceRequest) -> Result<Tags, ApiError> {
    let mut v = Violations::new();
    Tags::parse(&req.tags, "tags", &mut v).ok_or_else(|| ApiError::Validation(v.into_errors()))
}

fn parse_keys(q: &UntagQuery) -> Vec<String> {
    q.keys
        .split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

fn list_of(tags: Tags) -> Json<TagList> {
    Json(TagList {
        tags: tags.into_map(),
    })
}

/// A cluster's tags.
#[utoipa::path(
    get, path = "/v1/clusters/{id}/tags", tag = "tags", operation_id = "listClusterTags",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    responses(
        (status = 200, description = "Tags", body = TagList),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list_cluster(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TagList>, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Cluster)?;
    let cluster = state.store.get_cluster(&caller.tenant, id).await?;
    Ok(Json(TagList { tags: cluster.tags }))
}

/// Add or overwrite tags of a cluster.
#[utoipa::path(
    post, path = "/v1/clusters/{id}/tags", tag = "tags", operation_id = "tagCluster",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    request_body = TagResourceRequest,
    responses(
        (status = 200, description = "The tags now", body = TagList),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid-change`: the cluster would carry more tags than allowed", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn tag_cluster(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<TagResourceRequest>,
) -> Result<Json<TagList>, ApiError> {
    caller.require(Role::Operator)?;
    let id = parse_id(&id, Resource::Cluster)?;
    let tags = parse_tags(&req)?;
    Ok(list_of(
        state.store.tag_cluster(&caller.tenant, id, &tags).await?,
    ))
}

/// Remove tags of a cluster.
#[utoipa::path(
    delete, path = "/v1/clusters/{id}/tags", tag = "tags", operation_id = "untagCluster",
    params(("id" = uuid::Uuid, Path, description = "Cluster id"), UntagQuery),
    responses(
        (status = 200, description = "The tags now", body = TagList),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `invalid-query`: the query string does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn untag_cluster(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<UntagQuery>,
) -> Result<Json<TagList>, ApiError> {
    caller.require(Role::Operator)?;
    let id = parse_id(&id, Resource::Cluster)?;
    Ok(list_of(
        state
            .store
            .untag_cluster(&caller.tenant, id, &parse_keys(&q))
            .await?,
    ))
}

/// A configuration's tags.
#[utoipa::path(
    get, path = "/v1/configurations/{id}/tags", tag = "tags", operation_id = "listConfigurationTags",
    params(("id" = uuid::Uuid, Path, description = "Configuration id")),
    responses(
        (status = 200, description = "Tags", body = TagList),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list_configuration(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TagList>, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Configuration)?;
    let c = state.store.get_configuration(&caller.tenant, id).await?;
    Ok(Json(TagList { tags: c.tags }))
}

/// Add or overwrite tags of a configuration.
#[utoipa::path(
    post, path = "/v1/configurations/{id}/tags", tag = "tags", operation_id = "tagConfiguration",
    params(("id" = uuid::Uuid, Path, description = "Configuration id")),
    request_body = TagResourceRequest,
    responses(
        (status = 200, description = "The tags now", body = TagList),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid-change`: the configuration would carry more tags than allowed", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn tag_configuration(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<TagResourceRequest>,
) -> Result<Json<TagList>, ApiError> {
    caller.require(Role::Admin)?;
    let id = parse_id(&id, Resource::Configuration)?;
    let tags = parse_tags(&req)?;
    Ok(list_of(
        state
            .store
            .tag_configuration(&caller.tenant, id, &tags)
            .await?,
    ))
}

/// Remove tags of a configuration.
#[utoipa::path(
    delete, path = "/v1/configurations/{id}/tags", tag = "tags", operation_id = "untagConfiguration",
    params(("id" = uuid::Uuid, Path, description = "Configuration id"), UntagQuery),
    responses(
        (status = 200, description = "The tags now", body = TagList),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `invalid-query`: the query string does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`configuration-not-found`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn untag_configuration(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<UntagQuery>,
) -> Result<Json<TagList>, ApiError> {
    caller.require(Role::Admin)?;
    let id = parse_id(&id, Resource::Configuration)?;
    Ok(list_of(
        state
            .store
            .untag_configuration(&caller.tenant, id, &parse_keys(&q))
            .await?,
    ))
}
