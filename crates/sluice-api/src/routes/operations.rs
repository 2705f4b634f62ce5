//! `/v1/operations` and `/v1/clusters/{id}/operations`.

use axum::extract::State;
use axum::Json;
use sluice_model::{Operation, OperationList, PageQuery, Problem, Role};
use sluice_store::{PageRequest, Resource};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_id, ApiPath, ApiQuery};
use crate::routes::responses::{AuthErrors, ServerErrors};
use crate::AppState;

/// A cluster's operations, newest first.
#[utoipa::path(
    get, path = "/v1/clusters/{id}/operations", tag = "operations", operation_id = "listOperations",
    params(("id" = uuid::Uuid, Path, description = "Cluster id"), PageQuery),
    responses(
        (status = 200, description = "A page of operations", body = OperationList),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `invalid-query`: the query string does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation-failed`: `next_token` or `max_results` out of the schema", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<OperationList>, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Cluster)?;
    let page = PageRequest::parse(q.next_token.as_deref(), q.max_results)?;
    let page = state
        .store
        .list_operations(&caller.tenant, id, page)
        .await?;
    Ok(Json(OperationList {
        operations: page.items,
        next_token: page.next_token,
    }))
}

/// Describe an operation: its state, steps, and the cluster before and after.
#[utoipa::path(
    get, path = "/v1/operations/{id}", tag = "operations", operation_id = "getOperation",
    params(("id" = uuid::Uuid, Path, description = "Operation id")),
    responses(
        (status = 200, description = "The operation", body = Operation),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`operation-not-found`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Operation>, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Operation)?;
    Ok(Json(state.store.get_operation(&caller.tenant, id).await?))
}
