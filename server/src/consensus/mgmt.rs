//! The management API on `--mgmt-addr`: cluster membership. Every call needs the `Api-Key`.
//!
//! - `POST /join` with a [`JoinRequest`] body: adds the node as a learner, waits until it has
//!   caught up, then makes it a voter. Sent to a follower, it is forwarded to the leader's
//!   management API. Joining again with the same id and addresses is harmless. A node that signs
//!   with another key than the cluster's is refused (409): every member must sign the same
//!   snapshots (docs/CLUSTER.md).
//! - `GET /members`: the membership as the node sees it ([`ShardsInfo`]).
//! - `POST /compact`: builds a Raft snapshot of this node's state now and purges its Raft log up
//!   to it ([`Compacted`]). Compaction is local to the node asked; a follower that later needs
//!   purged entries gets the snapshot instead.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use openraft::{ChangeMembers, RaftMetrics};
use serde::{Deserialize, Serialize};

use crate::auth::ApiKey;
use crate::consensus::types::{NodeId, NodeInfo, Raft, raft_id};

/// The members of the cluster and the leader (`GET /info/shards` and `GET /members`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardsInfo {
    /// The leader's `--node-id`, when one is known.
    pub leader_id: Option<String>,
    /// Every voter and learner.
    pub members: Vec<MemberInfo>,
}

/// One member in [`ShardsInfo`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Its `--node-id`.
    pub node_id: String,
    /// Its public API base URL.
    pub http_url: String,
    /// Its Raft address.
    pub raft_addr: String,
    /// Its management API base URL.
    pub mgmt_url: String,
    /// `leader`, `follower` or `learner`.
    pub role: String,
}

/// The cluster view of a node, from its Raft metrics.
pub fn shards_info(raft: &Raft) -> ShardsInfo {
    let m = raft.metrics().borrow().clone();
    let membership = m.membership_config.membership();
    let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
    let mut leader_id = None;
    let mut members = Vec::new();
    for (id, node) in membership.nodes() {
        let role = if Some(*id) == m.current_leader {
            leader_id = Some(node.node_id.clone());
            "leader"
        } else if voters.contains(id) {
            "follower"
        } else {
            "learner"
        };
        members.push(MemberInfo {
            node_id: node.node_id.clone(),
            http_url: node.http_url.clone(),
            raft_addr: node.raft_addr.clone(),
            mgmt_url: node.mgmt_url.clone(),
            role: role.to_string(),
        });
    }
    ShardsInfo { leader_id, members }
}

/// The leader's id and node info, when known.
pub fn leader(raft: &Raft) -> Option<(NodeId, NodeInfo)> {
    let m = raft.metrics().borrow().clone();
    let id = m.current_leader?;
    let node = m.membership_config.membership().get_node(&id)?.clone();
    Some((id, node))
}

/// The body of `POST /join`: who is joining, and the verifier key of the key it signs with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The joining node's name and URLs.
    #[serde(flatten)]
    pub node: NodeInfo,
    /// Its verifier key string; when given it must be the cluster's (else 409).
    #[serde(default)]
    pub verifier_key: Option<String>,
}

#[derive(Clone)]
struct MgmtState {
    raft: Raft,
    key: ApiKey,
    verifier_key: String,
    client: reqwest::Client,
}

/// The management API's routes; `verifier_key` is this node's, which every member shares.
pub fn mgmt_router(raft: Raft, key: ApiKey, verifier_key: String) -> Router {
    Router::new()
        .route("/join", post(join))
        .route("/members", get(members))
        .route("/compact", post(compact))
        .with_state(MgmtState {
            raft,
            key,
            verifier_key,
            client: reqwest::Client::new(),
        })
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

async fn members(State(st): State<MgmtState>, headers: HeaderMap) -> Response {
    if !st.key.matches_header(&headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong Api-Key");
    }
    Json(shards_info(&st.raft)).into_response()
}

/// The answer to `POST /compact`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compacted {
    /// The last log index the new snapshot covers.
    pub snapshot_index: u64,
    /// The last log index purged from the Raft log.
    pub purged_index: u64,
}

/// How long `POST /compact` waits for the snapshot and then for the purge. Building a snapshot
/// exports the whole state, and a purge waits for replication tasks that still read the entries.
const COMPACT_WAIT: Duration = Duration::from_secs(120);

async fn compact(State(st): State<MgmtState>, headers: HeaderMap) -> Response {
    if !st.key.matches_header(&headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong Api-Key");
    }
    match compact_now(&st.raft).await {
        Ok(done) => Json(done).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

/// Snapshots everything applied when called, then purges the log up to that snapshot.
async fn compact_now(raft: &Raft) -> Result<Compacted, String> {
    let applied = raft.metrics().borrow().last_applied.map_or(0, |l| l.index);
    raft.trigger()
        .snapshot()
        .await
        .map_err(|e| format!("snapshot: {e}"))?;
    let snap = wait_until(raft, "a snapshot of the applied state", |m| {
        m.snapshot.is_some_and(|s| s.index >= applied)
    })
    .await?;
    let snapshot_index = snap.snapshot.map_or(0, |s| s.index);
    raft.trigger()
        .purge_log(snapshot_index)
        .await
        .map_err(|e| format!("purge: {e}"))?;
    let purged = wait_until(raft, "the log purged up to the snapshot", |m| {
        m.purged.is_some_and(|p| p.index >= snapshot_index)
    })
    .await?;
    Ok(Compacted {
        snapshot_index,
        purged_index: purged.purged.map_or(0, |p| p.index),
    })
}

/// Waits (at most [`COMPACT_WAIT`]) until Raft's metrics show `what`.
async fn wait_until(
    raft: &Raft,
    what: &str,
    done: impl Fn(&RaftMetrics<NodeId, NodeInfo>) -> bool + Send,
) -> Result<RaftMetrics<NodeId, NodeInfo>, String> {
    raft.wait(Some(COMPACT_WAIT))
        .metrics(done, what)
        .await
        .map_err(|e| format!("waiting for {what}: {e}"))
}

async fn join(
    State(st): State<MgmtState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !st.key.matches_header(&headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong Api-Key");
    }
    let JoinRequest { node, verifier_key } = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("join body: {e}")),
    };
    if let Some(theirs) = verifier_key.filter(|k| *k != st.verifier_key) {
        return error(
            StatusCode::CONFLICT,
            format!(
                "{} signs with {theirs}, the cluster with {}: start it with the cluster's -y key",
                node.node_id, st.verifier_key
            ),
        );
    }
    if node.node_id.is_empty() || node.raft_addr.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "join body: node_id and raft_addr are required",
        );
    }
    let me = st.raft.metrics().borrow().id;
    match leader(&st.raft) {
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no leader is known yet; retry",
        ),
        Some((id, _)) if id == me => add_member(&st.raft, node).await,
        Some((_, leader)) => forward(&st, &leader, &body).await,
    }
}

async fn add_member(raft: &Raft, node: NodeInfo) -> Response {
    let id = raft_id(&node.node_id);
    let membership = raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .clone();
    let known = membership.get_node(&id) == Some(&node);
    let voter = membership.voter_ids().any(|v| v == id);
    if known && voter {
        tracing::info!(node = %node, "join: already a voter");
        return Json(shards_info(raft)).into_response();
    }
    tracing::info!(node = %node, "join: adding as a learner");
    if let Err(e) = raft.add_learner(id, node.clone(), true).await {
        return error(StatusCode::SERVICE_UNAVAILABLE, format!("add learner: {e}"));
    }
    tracing::info!(node = %node, "join: learner caught up, promoting to voter");
    let ids: BTreeSet<NodeId> = [id].into_iter().collect();
    if let Err(e) = raft
        .change_membership(ChangeMembers::AddVoterIds(ids), false)
        .await
    {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("promote to voter: {e}"),
        );
    }
    Json(shards_info(raft)).into_response()
}

async fn forward(st: &MgmtState, leader: &NodeInfo, body: &[u8]) -> Response {
    let url = format!("{}/join", leader.mgmt_url);
    let sent = st
        .client
        .post(&url)
        .header(crate::auth::HEADER, st.key.as_str())
        .header("Content-Type", "application/json")
        .timeout(Duration::from_secs(600))
        .body(body.to_vec())
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status =
                StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let bytes = resp.bytes().await.unwrap_or_default();
            (status, [("Content-Type", "application/json")], bytes).into_response()
        }
        Err(e) => error(
            StatusCode::BAD_GATEWAY,
            format!("forwarding the join to {url}: {e}"),
        ),
    }
}

/// Asks the management API at `mgmt_url` to add `me` to its cluster, retrying until it answers
/// 200 (the leader may still be starting or electing) or `deadline` passes. A refusal that a
/// retry cannot change (401 wrong key, 409 another signing key) ends it at once.
pub async fn request_join(
    mgmt_url: &str,
    key: &ApiKey,
    me: &JoinRequest,
    deadline: Duration,
) -> Result<ShardsInfo, String> {
    let client = reqwest::Client::new();
    let url = format!("{mgmt_url}/join");
    let start = std::time::Instant::now();
    loop {
        let sent = client
            .post(&url)
            .header(crate::auth::HEADER, key.as_str())
            .json(me)
            .timeout(Duration::from_secs(600))
            .send()
            .await;
        let why = match sent {
            Ok(resp) if resp.status().is_success() => {
                return resp
                    .json::<ShardsInfo>()
                    .await
                    .map_err(|e| format!("join answer: {e}"));
            }
            Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED => {
                return Err(format!("{url} refused the API key (401)"));
            }
            Ok(resp) if resp.status() == StatusCode::CONFLICT => {
                let why = resp.text().await.unwrap_or_default();
                return Err(format!("{url} refused this node (409): {why}"));
            }
            Ok(resp) => format!(
                "HTTP {}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            ),
            Err(e) => e.to_string(),
        };
        if start.elapsed() > deadline {
            return Err(format!("joining through {url}: {why}"));
        }
        tracing::warn!("join through {url} not done yet ({why}); retrying");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
