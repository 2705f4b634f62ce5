//! Server side of the metadata RPCs: axum routes under `/meta/`, JSON bodies.
//!
//! Raft RPCs answer `Result<Response, RaftError>` as JSON, which the client in
//! [`super::network`] turns back into openraft's remote errors. A stopped node answers 503 to
//! everything so callers treat it as unreachable.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};

use super::leader::Envelope;
use super::meta_node::MetaNode;
use super::network::{
    PATH_APPEND, PATH_HEARTBEAT, PATH_PROPOSE, PATH_REGISTER, PATH_SNAPSHOT, PATH_VOTE,
};
use super::raft_types::{NodeId, TypeConfig};

/// Metadata routes bound to `node`.
pub(crate) fn router(node: Arc<MetaNode>) -> Router {
    Router::new()
        .route(PATH_APPEND, post(append))
        .route(PATH_VOTE, post(vote))
        .route(PATH_SNAPSHOT, post(snapshot))
        .route(PATH_PROPOSE, post(leader_request))
        .route(PATH_REGISTER, post(leader_request))
        .route(PATH_HEARTBEAT, post(leader_request))
        // Snapshot chunks and entry batches are JSON (bytes as number arrays): allow more than
        // axum's 2 MiB default.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(node)
}

use super::auth::BODY_LIMIT;

fn stopped() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "metadata node stopped").into_response()
}

async fn append(
    State(node): State<Arc<MetaNode>>,
    Json(req): Json<AppendEntriesRequest<TypeConfig>>,
) -> Response {
    if node.is_stopped() {
        return stopped();
    }
    Json(node.raft.append_entries(req).await).into_response()
}

async fn vote(State(node): State<Arc<MetaNode>>, Json(req): Json<VoteRequest<NodeId>>) -> Response {
    if node.is_stopped() {
        return stopped();
    }
    Json(node.raft.vote(req).await).into_response()
}

async fn snapshot(
    State(node): State<Arc<MetaNode>>,
    Json(req): Json<InstallSnapshotRequest<TypeConfig>>,
) -> Response {
    if node.is_stopped() {
        return stopped();
    }
    Json(node.raft.install_snapshot(req).await).into_response()
}

async fn leader_request(
    State(node): State<Arc<MetaNode>>,
    Json(envelope): Json<Envelope>,
) -> Response {
    if node.is_stopped() {
        return stopped();
    }
    Json(node.serve_leader_request(envelope).await).into_response()
}
