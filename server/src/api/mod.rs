//! The public HTTP API (docs/API.md) on `--http-addr`.

pub mod error;
pub mod input;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, OriginalUri, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use qed_core::Hash;
use qed_core::json::{AddBulk, AddEvent, Incremental, Membership};
use serde::{Deserialize, Serialize};

use crate::auth::ApiKey;
use crate::consensus::group_commit::{CommitError, Committed, Committer};
use crate::consensus::mgmt::{leader, shards_info};
use crate::consensus::state::SharedReader;
use crate::consensus::{NodeId, NodeInfo, Raft};
use crate::core_types::SnapshotJson;
use crate::state_machine::{AppliedEntry, LedgerReader};
use error::ApiError;

/// Everything the handlers need.
#[derive(Clone)]
pub struct ApiState {
    /// The Raft handle (leadership, membership).
    pub raft: Raft,
    /// The group-commit batcher.
    pub committer: Committer,
    /// Reads of the state.
    pub reader: SharedReader,
    /// The shared secret.
    pub key: ApiKey,
    /// This node's Raft id.
    pub id: NodeId,
    /// This node's name and URLs.
    pub node: NodeInfo,
    /// The log's origin (key name).
    pub origin: String,
    /// The verifier key string of this node's signing key.
    pub verifier_key: String,
}

/// The routes of the public API.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/events", post(add_event))
        .route("/events/bulk", post(add_bulk))
        .route("/proofs/membership", post(membership))
        .route("/proofs/digest-membership", post(digest_membership))
        .route("/proofs/incremental", post(incremental))
        .route("/snapshot", get(latest_snapshot))
        .route("/snapshot/{size}", get(snapshot_at))
        .route("/checkpoint", get(checkpoint))
        .route("/leaves/{version}", get(leaf))
        .route("/healthcheck", get(health).head(health))
        .route("/info", get(info))
        .route("/info/shards", get(shards))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .layer(DefaultBodyLimit::max(input::MAX_BODY_BYTES))
        .layer(middleware::from_fn(track))
        .with_state(Arc::new(state))
}

/// The handlers' state: axum clones it for every request, so it is one pointer.
type Shared = Arc<ApiState>;

/// Counts requests and their latency per route and status.
async fn track(req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = status_label(resp.status());
    metrics::counter!("qed_http_requests_total", "path" => path.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("qed_http_request_seconds", "path" => path)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// The method as a static label (formatting `Method` allocated a string per request).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The status code as a static label: the numbers are formatted once, not per request.
fn status_label(status: StatusCode) -> &'static str {
    static LABELS: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| (100..1000u16).map(|code| code.to_string()).collect());
    LABELS
        .get(usize::from(status.as_u16()).wrapping_sub(100))
        .map_or("other", String::as_str)
}

/// A JSON answer that carries proofs (1-5 KB), written into one buffer sized for it: axum's
/// `Json` starts at 128 bytes and doubles, five reallocations and copies per membership answer.
/// sonic-rs writes it: serde_json checks every byte of its 40-odd hex strings for characters
/// to escape, a loop that was 14 % of the node's instructions per membership proof, where
/// sonic-rs checks 16 or 32 bytes at a time (the same bytes; `tests/api.rs` compares them).
fn proof_json<T: Serialize>(answer: &T) -> Response {
    let mut body = Vec::with_capacity(4096);
    match sonic_rs::to_writer(&mut body, answer) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => ApiError::internal(format!("cannot encode the answer: {e}")).into_response(),
    }
}

/// Reads a body, turning the body-size rejection (and any other) into a JSON error.
async fn body(req: Request) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), input::MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            if too_large {
                ApiError::too_large("the request body is over 16 MiB")
            } else {
                ApiError::bad_request(format!("could not read the request body: {e}"))
            }
        })
}

impl ApiState {
    /// The reader of the current state.
    fn reader(&self) -> LedgerReader {
        self.reader.get()
    }

    /// Refuses a write without the key (401).
    fn authorize(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.key.matches_header(headers) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong Api-Key header",
            ))
        }
    }

    /// Passes on the leader; redirects to it (307) elsewhere; 503 when none is known.
    fn ensure_leader(&self, uri: &axum::http::Uri) -> Result<(), ApiError> {
        match leader(&self.raft) {
            Some((id, _)) if id == self.id => Ok(()),
            Some((_, node)) => Err(redirect_to(&node, uri)),
            None => Err(ApiError::unavailable(
                "no leader is known (election under way); retry",
            )),
        }
    }

    async fn commit(
        &self,
        digests: Vec<Hash>,
        uri: &axum::http::Uri,
    ) -> Result<Committed, ApiError> {
        self.committer.submit(digests).await.map_err(|e| match e {
            CommitError::NotLeader(Some((_, node))) => redirect_to(&node, uri),
            CommitError::NotLeader(None) => {
                ApiError::unavailable("no leader is known (election under way); retry")
            }
            CommitError::ShuttingDown => {
                ApiError::unavailable("the node is shutting down; retry on another")
            }
            CommitError::Failed(m) => ApiError::internal(m),
        })
    }
}

fn redirect_to(node: &NodeInfo, uri: &axum::http::Uri) -> ApiError {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    ApiError::redirect(format!("{}{}", node.http_url, path))
}

async fn add_event(
    State(st): State<Shared>,
    OriginalUri(uri): OriginalUri,
    req: Request,
) -> Result<Response, ApiError> {
    st.authorize(req.headers())?;
    st.ensure_leader(&uri)?;
    let body: AddEvent = input::json(&body(req).await?)?;
    let digest = input::one_of(body.event.as_deref(), body.digest.as_deref())?;
    let committed = st.commit(vec![digest], &uri).await?;
    let entry = committed
        .entries
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("no entry for the digest"))?;
    let receipt = st.reader().receipt(&entry, &committed.snapshot)?;
    Ok(proof_json(&receipt))
}

/// One entry of a bulk answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkEntry {
    /// The digest's version.
    pub version: u64,
    /// The digest.
    #[serde(with = "qed_core::json::hex")]
    pub digest: Hash,
    /// Whether it was already in the log.
    pub duplicate: bool,
}

/// The answer to `POST /events/bulk`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkAnswer {
    /// The snapshot covering every entry.
    pub snapshot: SnapshotJson,
    /// The entries, in request order.
    pub entries: Vec<BulkEntry>,
}

impl From<&AppliedEntry> for BulkEntry {
    fn from(e: &AppliedEntry) -> BulkEntry {
        BulkEntry {
            version: e.version,
            digest: e.digest,
            duplicate: e.duplicate,
        }
    }
}

async fn add_bulk(
    State(st): State<Shared>,
    OriginalUri(uri): OriginalUri,
    req: Request,
) -> Result<Response, ApiError> {
    st.authorize(req.headers())?;
    st.ensure_leader(&uri)?;
    let bytes = body(req).await?;
    let digests = tokio::task::spawn_blocking(move || {
        let body: AddBulk = input::json(&bytes)?;
        input::bulk(body.events.as_deref(), body.digests.as_deref())
    })
    .await
    .map_err(|e| ApiError::internal(format!("decode task failed: {e}")))??;
    let committed = st.commit(digests, &uri).await?;
    let entries = committed.entries.iter().map(BulkEntry::from).collect();
    Ok(Json(BulkAnswer {
        snapshot: committed.snapshot,
        entries,
    })
    .into_response())
}

/// A reader of the current state, once `version` (the latest when `None`) is known to be in
/// the log: a proof about a version beyond it is a 404 before the Ledger is asked.
fn reader_at(st: &ApiState, version: Option<u64>) -> Result<LedgerReader, ApiError> {
    let reader = st.reader();
    let size = reader.size();
    if size == 0 {
        return Err(ApiError::not_found(
            "the log is empty: there is nothing to prove",
        ));
    }
    match version {
        Some(v) if v >= size => Err(ApiError::not_found(format!(
            "version {v} is beyond the log (latest version {})",
            size.saturating_sub(1)
        ))),
        _ => Ok(reader),
    }
}

async fn membership_of(
    st: &ApiState,
    digest: Hash,
    version: Option<u64>,
) -> Result<Response, ApiError> {
    let answer = reader_at(st, version)?.membership(&digest, version)?;
    Ok(proof_json(&answer))
}

/// How a membership question names its event; each endpoint takes exactly one.
#[derive(Clone, Copy)]
enum Named {
    /// `event`, base64 (`POST /proofs/membership`).
    Event,
    /// `digest`, hex (`POST /proofs/digest-membership`).
    Digest,
}

/// Reads a membership question: the digest it asks about and its version, if any.
fn question(body: &Bytes, named: Named) -> Result<(Hash, Option<u64>), ApiError> {
    let req: Membership = input::json(body)?;
    let (given, other, field, encoding, other_path) = match named {
        Named::Event => (
            req.event,
            req.digest,
            "event",
            "base64",
            "/proofs/digest-membership",
        ),
        Named::Digest => (req.digest, req.event, "digest", "hex", "/proofs/membership"),
    };
    let other_field = match named {
        Named::Event => "digest",
        Named::Digest => "event",
    };
    if other.is_some() {
        return Err(ApiError::bad_request(format!(
            "this endpoint takes `{field}`; use {other_path} for `{other_field}`"
        )));
    }
    let value = given
        .ok_or_else(|| ApiError::bad_request(format!("missing field `{field}` ({encoding})")))?;
    let digest = match named {
        Named::Event => input::event_digest(field, &value)?,
        Named::Digest => input::hex_digest(field, &value)?,
    };
    Ok((digest, req.version))
}

async fn membership(State(st): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let (digest, version) = question(&body, Named::Event)?;
    membership_of(&st, digest, version).await
}

async fn digest_membership(State(st): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let (digest, version) = question(&body, Named::Digest)?;
    membership_of(&st, digest, version).await
}

async fn incremental(State(st): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let req: Incremental = input::json(&body)?;
    if req.start > req.end {
        return Err(ApiError::bad_request(format!(
            "start {} is greater than end {}",
            req.start, req.end
        )));
    }
    let answer = reader_at(&st, Some(req.end))?.incremental(req.start, req.end)?;
    Ok(proof_json(&answer))
}

fn latest(st: &ApiState) -> Result<SnapshotJson, ApiError> {
    st.reader()
        .latest()
        .ok_or_else(|| ApiError::not_found("the log is empty: no snapshot yet"))
}

async fn latest_snapshot(State(st): State<Shared>) -> Result<Response, ApiError> {
    Ok(Json(latest(&st)?).into_response())
}

fn parse_u64(what: &str, s: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| {
        ApiError::bad_request(format!("{what} must be a non-negative integer, got {s:?}"))
    })
}

async fn snapshot_at(
    State(st): State<Shared>,
    Path(size): Path<String>,
) -> Result<Response, ApiError> {
    let size = parse_u64("size", &size)?;
    let snap = st
        .reader()
        .snapshot_at(size)
        .ok_or_else(|| ApiError::not_found(format!("no signed snapshot of size {size}")))?;
    Ok(Json(snap).into_response())
}

async fn checkpoint(State(st): State<Shared>) -> Result<Response, ApiError> {
    let snap = latest(&st)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        snap.checkpoint,
    )
        .into_response())
}

/// The answer to `GET /leaves/{version}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeafAnswer {
    /// The version asked for.
    pub version: u64,
    /// The digest at that version.
    #[serde(with = "qed_core::json::hex")]
    pub digest: Hash,
    /// The latest snapshot.
    pub snapshot: SnapshotJson,
    /// Inclusion proof of `version` in the snapshot's size.
    #[serde(with = "qed_core::json::hex_list")]
    pub proof: Vec<Hash>,
}

async fn leaf(State(st): State<Shared>, Path(version): Path<String>) -> Result<Response, ApiError> {
    let version = parse_u64("version", &version)?;
    let receipt = reader_at(&st, Some(version))?.leaf(version)?;
    let answer = LeafAnswer {
        version: receipt.version,
        digest: receipt.digest,
        snapshot: receipt.snapshot,
        proof: receipt.proof,
    };
    Ok(proof_json(&answer))
}

async fn health(method: Method) -> Response {
    if method == Method::HEAD {
        return StatusCode::OK.into_response();
    }
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// The answer to `GET /info`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InfoAnswer {
    /// This node's `--node-id`.
    pub node_id: String,
    /// The log's origin.
    pub origin: String,
    /// The verifier key of this node's signing key.
    pub verifier_key: String,
    /// The log's size as this node has applied it.
    pub size: u64,
    /// `leader`, `follower`, `learner` or `candidate`.
    pub role: String,
    /// The leader's `--node-id`, when known.
    pub leader_id: Option<String>,
    /// The qed software version.
    pub version: String,
}

async fn info(State(st): State<Shared>) -> Json<InfoAnswer> {
    let m = st.raft.metrics().borrow().clone();
    let role = match m.state {
        openraft::ServerState::Leader => "leader",
        openraft::ServerState::Candidate => "candidate",
        openraft::ServerState::Learner => "learner",
        openraft::ServerState::Follower => "follower",
        openraft::ServerState::Shutdown => "shutdown",
    };
    let leader_id = leader(&st.raft).map(|(_, n)| n.node_id);
    Json(InfoAnswer {
        node_id: st.node.node_id.clone(),
        origin: st.origin.clone(),
        verifier_key: st.verifier_key.clone(),
        size: st.reader().size(),
        role: role.to_string(),
        leader_id,
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

async fn shards(State(st): State<Shared>) -> Response {
    Json(shards_info(&st.raft)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_method_and_the_status_number() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        for code in [100, 200, 401, 404, 413, 503, 999] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(status_label(status), code.to_string());
        }
    }
}
