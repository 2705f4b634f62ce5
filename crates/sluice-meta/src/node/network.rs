//! HTTP client side of the metadata RPCs: openraft's network (append, vote, snapshot) and a
//! JSON POST helper for proposals, registration and heartbeats.
//!
//! One `reqwest::Client` per node so connections to peers are pooled and reused. Any failure to
//! get an HTTP answer (connect refused, timeout, non-2xx such as a peer that is shutting down)
//! is reported to openraft as [`Unreachable`], which makes it back off instead of spinning.

use std::time::Duration;

use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::auth::Signer;
use super::raft_types::{NodeId, TypeConfig};

/// Path of the AppendEntries RPC.
pub(crate) const PATH_APPEND: &str = "/meta/raft/append";
/// Path of the Vote RPC.
pub(crate) const PATH_VOTE: &str = "/meta/raft/vote";
/// Path of the InstallSnapshot RPC.
pub(crate) const PATH_SNAPSHOT: &str = "/meta/raft/snapshot";
/// Path of proposal forwarding.
pub(crate) const PATH_PROPOSE: &str = "/meta/propose";
/// Path of broker registration.
pub(crate) const PATH_REGISTER: &str = "/meta/register";
/// Path of broker heartbeats.
pub(crate) const PATH_HEARTBEAT: &str = "/meta/heartbeat";

/// Connect timeout: peers are on a LAN (or loopback); a slow connect means a dead peer.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Why a POST got no usable answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PostError {
    /// The request was certainly not delivered (connect failed): safe to retry.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The request may or may not have been processed (timeout, reset, bad answer).
    #[error("{0}")]
    Failed(String),
}

/// The shared HTTP client (pooled connections to peers) and, unless the cluster runs with
/// `sluice.admin.auth=none`, the signer every request carries.
#[derive(Debug, Clone)]
pub(crate) struct RpcClient {
    http: reqwest::Client,
    signer: Option<Signer>,
}

/// Builds the shared HTTP client.
pub(crate) fn http_client(signer: Option<Signer>) -> Result<RpcClient, reqwest::Error> {
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .build()?;
    Ok(RpcClient { http, signer })
}

/// POSTs `body` as JSON to `http://{addr}{path}`, signed, and decodes a JSON answer.
pub(crate) async fn post_json<Req: Serialize, Resp: DeserializeOwned>(
    client: &RpcClient,
    addr: &str,
    path: &str,
    body: &Req,
    timeout: Duration,
) -> Result<Resp, PostError> {
    let url = format!("http://{addr}{path}");
    let bytes =
        serde_json::to_vec(body).map_err(|e| PostError::Unreachable(format!("{url}: {e}")))?;
    let mut request = client
        .http
        .post(&url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if let Some(signer) = &client.signer {
        request = request.header(
            reqwest::header::AUTHORIZATION,
            signer.authorization("POST", path, &bytes),
        );
    }
    let resp = request.body(bytes).send().await.map_err(|e| {
        if e.is_connect() {
            PostError::Unreachable(format!("{url}: {e}"))
        } else {
            PostError::Failed(format!("{url}: {e}"))
        }
    })?;
    let status = resp.status();
    if !status.is_success() {
        // 503 is what a stopped node answers before processing anything, 401 what a peer
        // with another secret answers before processing anything.
        let msg = format!("{url}: HTTP {status}");
        if status == reqwest::StatusCode::UNAUTHORIZED {
            tracing::warn!(%url, "a peer refused this node's signature: do the brokers share one admin secret?");
        }
        return Err(
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE
                || status == reqwest::StatusCode::UNAUTHORIZED
            {
                PostError::Unreachable(msg)
            } else {
                PostError::Failed(msg)
            },
        );
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| PostError::Failed(format!("{url}: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| PostError::Failed(format!("{url}: bad response: {e}")))
}

/// Creates one [`Peer`] per target node.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    pub(crate) client: RpcClient,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        Peer {
            client: self.client.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

/// The connection to one peer (a handle on the shared pool).
#[derive(Debug)]
pub(crate) struct Peer {
    client: RpcClient,
    target: NodeId,
    addr: String,
}

impl Peer {
    async fn call<Req, Resp, E>(
        &self,
        path: &str,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let answer: Result<Resp, RaftError<NodeId, E>> =
            post_json(&self.client, &self.addr, path, req, option.hard_ttl())
                .await
                .map_err(|e| match e {
                    PostError::Unreachable(m) | PostError::Failed(m) => {
                        RPCError::Unreachable(Unreachable::new(&std::io::Error::other(m)))
                    }
                })?;
        answer.map_err(|e| {
            RPCError::RemoteError(RemoteError::new_with_node(self.target, self.node(), e))
        })
    }

    fn node(&self) -> BasicNode {
        BasicNode {
            addr: self.addr.clone(),
        }
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(PATH_APPEND, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(PATH_SNAPSHOT, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(PATH_VOTE, &rpc, &option).await
    }

    fn backoff(&self) -> Backoff {
        // Shorter than openraft's 500 ms so a restarted peer is caught up quickly; a dead
        // peer costs one refused connect per 200 ms.
        Backoff::new(std::iter::repeat(Duration::from_millis(200)))
    }
}
