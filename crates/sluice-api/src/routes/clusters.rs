//! `/v1/clusters`: create, list, describe, delete, bootstrap brokers and nodes.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use sluice_model::{
    BootstrapBrokers, Cluster, ClusterList, ClusterOperation, CreateClusterRequest,
    DeleteClusterQuery, ListClustersQuery, NodeList, Problem, Role,
};
use sluice_store::{ClusterFilter, PageRequest, Resource};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_id, ApiJson, ApiPath, ApiQuery};
use crate::routes::responses::{AuthErrors, BodyErrors, ServerErrors};
use crate::AppState;

/// Header set on a create answered from an earlier request with the same token.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Create a cluster.
///
/// The cluster starts CREATING; the reconciler brings up its brokers and makes it ACTIVE.
/// With `client_request_token`, a retry with the same body returns the same cluster.
#[utoipa::path(
    post, path = "/v1/clusters", tag = "clusters", operation_id = "createCluster",
    request_body = CreateClusterRequest,
    responses(
        (status = 201, description = "Created (or replayed: see the `idempotent-replayed` header)", body = ClusterOperation,
            headers(
                ("location" = String, description = "The new cluster's URL, `/v1/clusters/{id}`"),
                ("idempotent-replayed" = String, description = "`true` when the answer replays an earlier create with the same `client_request_token`"),
            )),
        AuthErrors,
        (status = 400, description = "`malformed-json`: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`configuration-not-found` or `revision-not-found`: the configuration named does not exist", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`name-taken`, `client-request-token-reused`, or `invalid-change`: the configuration does not allow the Kafka version", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "`validation-failed`, with per-field `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateClusterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Role::Operator)?;
    let valid = req.validate().map_err(ApiError::Validation)?;
    // The fingerprint covers what the request means, not how it was spelled, so a retry that
    // omits a default is still the same request.
    let canonical = serde_json::json!({"name": valid.name, "spec": valid.spec, "tags": valid.tags});
    let fingerprint = hex::encode(Sha256::digest(canonical.to_string().as_bytes()));
    let outcome = state
        .store
        .create_cluster(&caller.tenant, &valid, &fingerprint)
        .await?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/clusters/{}", outcome.cluster.id)) {
        headers.insert(header::LOCATION, v);
    }
    if outcome.replayed {
        headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    Ok((
        StatusCode::CREATED,
        headers,
        Json(ClusterOperation {
            cluster: outcome.cluster,
            operation: outcome.operation,
        }),
    ))
}

/// List clusters, oldest first, a page at a time.
#[utoipa::path(
    get, path = "/v1/clusters", tag = "clusters", operation_id = "listClusters",
    params(ListClustersQuery),
    responses(
        (status = 200, description = "A page of clusters", body = ClusterList),
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
    ApiQuery(q): ApiQuery<ListClustersQuery>,
) -> Result<Response, ApiError> {
    caller.require(Role::Viewer)?;
    let page = PageRequest::parse(q.next_token.as_deref(), q.max_results)?;
    let filter = ClusterFilter {
        name_prefix: q.name_prefix,
        state: q.state,
    };
    let page = state
        .store
        .list_cluster_stamps(&caller.tenant, &filter, page)
        .await?;
    let parts = state
        .clusters
        .render(&state.store, &caller.tenant, &page.items)
        .await?;
    // The same document serde would make of a ClusterList, assembled from cached renderings.
    let mut body = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + 64);
    body.extend_from_slice(b"{\"clusters\":[");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(part);
    }
    body.extend_from_slice(b"],\"next_token\":");
    serde_json::to_writer(&mut body, &page.next_token)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    body.push(b'}');
    Ok(json_response(body.into()))
}

fn json_response(body: axum::body::Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Describe a cluster.
#[utoipa::path(
    get, path = "/v1/clusters/{id}", tag = "clusters", operation_id = "getCluster",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    responses(
        (status = 200, description = "The cluster", body = Cluster),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Cluster)?;
    let stamp = state.store.cluster_stamp(&caller.tenant, id).await?;
    let mut parts = state
        .clusters
        .render(&state.store, &caller.tenant, &[stamp])
        .await?;
    parts
        .pop()
        .map(json_response)
        .ok_or(ApiError::NotFound(Resource::Cluster))
}

/// Delete a cluster.
///
/// Allowed in any state but DELETING; unfinished operations end as superseded.
#[utoipa::path(
    delete, path = "/v1/clusters/{id}", tag = "clusters", operation_id = "deleteCluster",
    params(("id" = uuid::Uuid, Path, description = "Cluster id"), DeleteClusterQuery),
    responses(
        (status = 202, description = "Deleting", body = ClusterOperation),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode; `invalid-query`: the query string does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version-conflict` or `invalid-state`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeleteClusterQuery>,
) -> Result<(StatusCode, Json<ClusterOperation>), ApiError> {
    caller.require(Role::Operator)?;
    let id = parse_id(&id, Resource::Cluster)?;
    let out = state
        .store
        .delete_cluster(&caller.tenant, id, q.current_version)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// The bootstrap broker string clients connect to.
#[utoipa::path(
    get, path = "/v1/clusters/{id}/bootstrap-brokers", tag = "clusters", operation_id = "getBootstrapBrokers",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    responses(
        (status = 200, description = "Bootstrap brokers", body = BootstrapBrokers),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`cluster-not-ready`: no broker is running yet", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn bootstrap_brokers(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BootstrapBrokers>, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Cluster)?;
    let nodes = state.store.list_nodes(&caller.tenant, id).await?;
    if nodes.is_empty() {
        let cluster = state.store.get_cluster(&caller.tenant, id).await?;
        return Err(ApiError::ClusterNotReady(cluster.state));
    }
    let list: Vec<String> = nodes
        .iter()
        .map(|n| format!("{}:{}", n.host, n.port))
        .collect();
    Ok(Json(BootstrapBrokers {
        bootstrap_brokers: list.join(","),
    }))
}

/// The brokers of a cluster as the runtime reports them.
#[utoipa::path(
    get, path = "/v1/clusters/{id}/nodes", tag = "clusters", operation_id = "listNodes",
    params(("id" = uuid::Uuid, Path, description = "Cluster id")),
    responses(
        (status = 200, description = "Nodes", body = NodeList),
        AuthErrors,
        (status = 400, description = "`invalid-path`: a path parameter does not decode", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cluster-not-found`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
pub async fn nodes(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NodeList>, ApiError> {
    caller.require(Role::Viewer)?;
    let id = parse_id(&id, Resource::Cluster)?;
    Ok(Json(NodeList {
        nodes: state.store.list_nodes(&caller.tenant, id).await?,
    }))
}
