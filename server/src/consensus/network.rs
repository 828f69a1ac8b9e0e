//! Raft RPC between members: HTTP POSTs with bincode bodies on `--raft-addr`, each carrying the
//! shared secret in the `Api-Key` header (a request without it is refused with 401).
//!
//! Paths: `/raft/append`, `/raft/vote`, `/raft/snapshot`. The answer body is the bincode of
//! `Result<response, RaftError>` so that a remote Raft error travels back intact.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::ApiKey;
use crate::consensus::types::{NodeId, NodeInfo, Raft, TypeConfig};

/// Largest Raft RPC body accepted (append batches are capped well below this by
/// `max_payload_entries`; snapshot chunks by `snapshot_max_chunk_size`).
pub const MAX_RAFT_BODY: usize = 256 << 20;

/// Creates a connection per peer; all share one HTTP client (and its connection pool).
#[derive(Clone)]
pub struct NetworkFactory {
    client: reqwest::Client,
    key: ApiKey,
}

impl NetworkFactory {
    /// A factory whose connections authenticate with `key`.
    pub fn new(key: ApiKey) -> NetworkFactory {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        NetworkFactory { client, key }
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &NodeInfo) -> Connection {
        Connection {
            client: self.client.clone(),
            key: self.key.clone(),
            target,
            base: format!("http://{}", node.raft_addr),
        }
    }
}

/// The RPC client to one peer.
pub struct Connection {
    client: reqwest::Client,
    key: ApiKey,
    target: NodeId,
    base: String,
}

type RpcResult<T, E> = Result<T, RPCError<NodeId, NodeInfo, RaftError<NodeId, E>>>;

impl Connection {
    async fn call<Req, Resp, E>(
        &self,
        path: &str,
        req: &Req,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body = bincode::serialize(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let resp = self
            .client
            .post(format!("{}{}", self.base, path))
            .header("Api-Key", self.key.as_str())
            .header("Content-Type", "application/octet-stream")
            .timeout(option.hard_ttl())
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    RPCError::Unreachable(Unreachable::new(&e))
                } else {
                    RPCError::Network(NetworkError::new(&e))
                }
            })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        if !status.is_success() {
            let msg = String::from_utf8_lossy(&bytes).into_owned();
            let err = std::io::Error::other(format!("{path}: HTTP {status}: {msg}"));
            return Err(RPCError::Network(NetworkError::new(&err)));
        }
        let result: Result<Resp, RaftError<NodeId, E>> =
            bincode::deserialize(&bytes).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, openraft::error::Infallible> {
        self.call("/raft/append", &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call("/raft/snapshot", &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, openraft::error::Infallible> {
        self.call("/raft/vote", &rpc, &option).await
    }
}

/// The Raft RPC server's routes (served on `--raft-addr`).
pub fn raft_router(raft: Raft, key: ApiKey) -> Router {
    Router::new()
        .route("/raft/append", post(append))
        .route("/raft/vote", post(vote))
        .route("/raft/snapshot", post(snapshot))
        .layer(DefaultBodyLimit::max(MAX_RAFT_BODY))
        .with_state(RaftState { raft, key })
}

#[derive(Clone)]
struct RaftState {
    raft: Raft,
    key: ApiKey,
}

fn decode<T: DeserializeOwned>(
    st: &RaftState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Response> {
    if !st.key.matches_header(headers) {
        return Err((StatusCode::UNAUTHORIZED, "missing or wrong Api-Key").into_response());
    }
    bincode::deserialize(body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad Raft RPC body: {e}")).into_response())
}

fn encode<T: Serialize>(value: &T) -> Response {
    match bincode::serialize(value) {
        Ok(bytes) => ([("Content-Type", "application/octet-stream")], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn append(State(st): State<RaftState>, headers: HeaderMap, body: Bytes) -> Response {
    let req: AppendEntriesRequest<TypeConfig> = match decode(&st, &headers, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    encode(&st.raft.append_entries(req).await)
}

async fn vote(State(st): State<RaftState>, headers: HeaderMap, body: Bytes) -> Response {
    let req: VoteRequest<NodeId> = match decode(&st, &headers, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    encode(&st.raft.vote(req).await)
}

async fn snapshot(State(st): State<RaftState>, headers: HeaderMap, body: Bytes) -> Response {
    let req: InstallSnapshotRequest<TypeConfig> = match decode(&st, &headers, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    encode(&st.raft.install_snapshot(req).await)
}
