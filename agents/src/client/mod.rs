//! An async HTTP client over the QED API (docs/API.md), answering with qed-core's types.
//!
//! The client is given one or more endpoints (the nodes of one cluster). It sends every request
//! to its *current* endpoint, which starts as the first one and moves:
//!
//! - when a write is redirected (`307`/`308` with `Location`, the way a follower points at the
//!   leader): the client re-sends the same method, body and `Api-Key` to the new location (a
//!   bounded number of hops) and makes that node its current endpoint;
//! - when the current endpoint cannot be reached or answers `503` (no leader known): the client
//!   waits (exponential backoff), asks every endpoint's `GET /info/shards` for the leader, makes
//!   the leader (or else the next endpoint) current and retries, a bounded number of times.
//!
//! "Every endpoint" includes the members the cluster itself announced: after its first answer the
//! client asks that node's `GET /info/shards` once and remembers every member's HTTP URL (and
//! refreshes them at each leader look-up). So a client given only the leader's address still
//! finds the new leader when that one is killed.
//!
//! A [`Connection`] (from [`Client::connection`]) keeps one connection of its own to the current
//! endpoint, for a caller that sends one request at a time from each of many tasks, and leaves
//! redirects and failures to the client.
//!
//! Every request of the API is idempotent (adding a digest already in the log answers its first
//! version), so retrying a request whose answer was lost is safe.
//!
//! The verification helpers (`*_verified`, and the functions of [`verify`]) check answers with
//! qed-core's verifiers against a [`VerifierKey`] the caller trusts.
//!
//! ```no_run
//! # async fn demo() -> Result<(), qed_agents::client::ClientError> {
//! use qed_agents::client::{Client, ClientOptions};
//! use qed_core::snapshot::VerifierKey;
//!
//! let opts = ClientOptions { api_key: Some("my-key".into()), ..ClientOptions::default() };
//! let client = Client::new(&["http://127.0.0.1:8800"], opts)?;
//! let key: VerifierKey = "qed+01234567+AQ...".parse()?;
//! let (receipt, verdict) = client.add_verified(b"hello", &key).await?;
//! assert_eq!(receipt.version, verdict.version);
//! # Ok(()) }
//! ```

mod connection;
mod error;
mod types;
pub mod verify;

pub use connection::Connection;
pub use error::ClientError;
pub use types::{BulkAnswer, BulkEntry, Info, Member, Shards};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use qed_core::Hash;
use qed_core::json::{AddBulk, AddEvent, ErrorBody, Incremental, Membership};
use qed_core::receipt::{Receipt, ReceiptVerdict};
use qed_core::snapshot::{Checkpoint, SnapshotJson, VerifierKey};
use qed_core::verify::{IncrementalAnswer, MembershipAnswer, MembershipVerdict};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

/// The header that carries the shared secret on writes.
pub const API_KEY_HEADER: &str = "Api-Key";

/// Largest answer body the client reads (a bulk answer for 10,000 events is about 1.5 MiB).
pub const MAX_ANSWER_BYTES: usize = qed_core::json::MAX_JSON_BYTES;

/// How the client talks to the cluster.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The shared secret sent as `Api-Key` on writes (`None`: writes will get 401).
    pub api_key: Option<String>,
    /// Limit for one whole request (connect, send, answer).
    pub timeout: Duration,
    /// Limit for opening a connection.
    pub connect_timeout: Duration,
    /// Redirect hops followed for one request.
    pub max_redirects: usize,
    /// Retries (each after a backoff and a leader look-up) for a retryable failure.
    pub max_retries: usize,
    /// Wait before the first retry; doubled for each further one.
    pub retry_backoff: Duration,
    /// Longest wait between two retries.
    pub max_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            api_key: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(3),
            max_redirects: 4,
            max_retries: 5,
            retry_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// What a membership question is about: the event itself (the node hashes it) or its digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// The event bytes.
    Event(&'a [u8]),
    /// `SHA-256(event)`.
    Digest(Hash),
}

impl Subject<'_> {
    /// The digest the question is about.
    pub fn digest(&self) -> Hash {
        match self {
            Subject::Event(e) => qed_core::hash::digest(e),
            Subject::Digest(d) => *d,
        }
    }
}

/// A handle on a QED cluster; cheap to clone and share between tasks (one connection pool).
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// The HTTP/1.1 connection pool.
type Http = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

#[derive(Debug)]
struct Inner {
    http: Http,
    endpoints: Vec<Url>,
    current: Mutex<Url>,
    /// The members' HTTP URLs as the cluster announced them (`None`: not asked yet).
    members: Mutex<Option<Vec<Url>>>,
    opts: ClientOptions,
}

/// Whether a request may carry the secret and be redirected to the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

/// One `POST` of the API: who may send it, where, and its JSON body.
struct Call {
    kind: Kind,
    path: &'static str,
    body: Bytes,
}

impl Call {
    /// A call whose body is `body` in JSON.
    fn json<B: Serialize>(kind: Kind, path: &'static str, body: &B) -> Result<Call, ClientError> {
        let body = serde_json::to_vec(body)
            .map_err(|e| ClientError::Request(format!("cannot encode the request: {e}")))?;
        Ok(Call {
            kind,
            path,
            body: Bytes::from(body),
        })
    }

    /// `POST /events` with the event, or only its digest.
    fn add(subject: Subject<'_>) -> Result<Call, ClientError> {
        let body = match subject {
            Subject::Event(e) => AddEvent {
                event: Some(B64.encode(e)),
                digest: None,
            },
            Subject::Digest(d) => AddEvent {
                event: None,
                digest: Some(qed_core::hash::to_hex(&d)),
            },
        };
        Call::json(Kind::Write, "/events", &body)
    }

    /// `POST /proofs/membership` (event) or `/proofs/digest-membership` (digest).
    fn membership(subject: Subject<'_>, version: Option<u64>) -> Result<Call, ClientError> {
        let (path, body) = match subject {
            Subject::Event(e) => (
                "/proofs/membership",
                Membership {
                    event: Some(B64.encode(e)),
                    digest: None,
                    version,
                },
            ),
            Subject::Digest(d) => (
                "/proofs/digest-membership",
                Membership {
                    event: None,
                    digest: Some(qed_core::hash::to_hex(&d)),
                    version,
                },
            ),
        };
        Call::json(Kind::Read, path, &body)
    }

    /// `POST /proofs/incremental`.
    fn incremental(start: u64, end: u64) -> Result<Call, ClientError> {
        Call::json(
            Kind::Read,
            "/proofs/incremental",
            &Incremental { start, end },
        )
    }
}

impl Client {
    /// A client over the given endpoints (`http://host:port`, `host:port` or `:port`, which means
    /// 127.0.0.1). The first one is used first.
    pub fn new<S: AsRef<str>>(endpoints: &[S], opts: ClientOptions) -> Result<Client, ClientError> {
        let endpoints = endpoints
            .iter()
            .map(|e| parse_endpoint(e.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let first = endpoints
            .first()
            .cloned()
            .ok_or_else(|| ClientError::Request("no endpoint given".into()))?;
        // Redirects are followed by hand (`call_once`): only for writes, keeping the secret, and
        // moving the current endpoint to the leader. The whole-request limit is `call_once`'s.
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(opts.connect_timeout));
        let http =
            hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                endpoints,
                current: Mutex::new(first),
                members: Mutex::new(None),
                opts,
            }),
        })
    }

    /// The endpoint requests currently go to (the leader, once a redirect or look-up found it).
    pub fn current_endpoint(&self) -> String {
        self.current().as_str().trim_end_matches('/').to_string()
    }

    /// `POST /events` with the event bytes: the receipt of the event.
    pub async fn add(&self, event: &[u8]) -> Result<Receipt, ClientError> {
        let (url, answer) = self.add_json(Subject::Event(event)).await?;
        decode(&url, &answer)
    }

    /// `POST /events` with the event's digest only: the receipt of the digest.
    pub async fn add_digest(&self, digest: &Hash) -> Result<Receipt, ClientError> {
        let (url, answer) = self.add_json(Subject::Digest(*digest)).await?;
        decode(&url, &answer)
    }

    /// `POST /events` with the event (or only its digest), unparsed: the URL that answered and
    /// the receipt's JSON text, for callers that do not need the receipt decoded.
    pub async fn add_json(&self, subject: Subject<'_>) -> Result<(String, Bytes), ClientError> {
        self.send(Call::add(subject)?).await
    }

    /// `POST /events/bulk` with up to 10,000 events.
    pub async fn add_bulk<E: AsRef<[u8]>>(&self, events: &[E]) -> Result<BulkAnswer, ClientError> {
        let events = events.iter().map(|e| B64.encode(e.as_ref())).collect();
        self.post(
            Kind::Write,
            "/events/bulk",
            &AddBulk {
                events: Some(events),
                digests: None,
            },
        )
        .await
    }

    /// `POST /events/bulk` with up to 10,000 digests.
    pub async fn add_bulk_digests(&self, digests: &[Hash]) -> Result<BulkAnswer, ClientError> {
        let digests = digests.iter().map(qed_core::hash::to_hex).collect();
        self.post(
            Kind::Write,
            "/events/bulk",
            &AddBulk {
                events: None,
                digests: Some(digests),
            },
        )
        .await
    }

    /// `POST /proofs/membership` (event) or `/proofs/digest-membership` (digest), as of
    /// `version` (`None`: the latest).
    pub async fn membership(
        &self,
        subject: Subject<'_>,
        version: Option<u64>,
    ) -> Result<MembershipAnswer, ClientError> {
        let (url, answer) = self.membership_json(subject, version).await?;
        decode(&url, &answer)
    }

    /// [`Client::membership`] as the server sent it: the URL that answered and the JSON bytes,
    /// not parsed (for a load generator that does not verify, or to keep the answer as
    /// evidence byte for byte).
    pub async fn membership_json(
        &self,
        subject: Subject<'_>,
        version: Option<u64>,
    ) -> Result<(String, Bytes), ClientError> {
        self.send(Call::membership(subject, version)?).await
    }

    /// `POST /proofs/incremental`: the consistency proof between versions `start <= end`.
    pub async fn incremental(
        &self,
        start: u64,
        end: u64,
    ) -> Result<IncrementalAnswer, ClientError> {
        let (url, answer) = self.incremental_json(start, end).await?;
        decode(&url, &answer)
    }

    /// [`Client::incremental`] as the server sent it, not parsed (see
    /// [`Client::membership_json`]).
    pub async fn incremental_json(
        &self,
        start: u64,
        end: u64,
    ) -> Result<(String, Bytes), ClientError> {
        self.send(Call::incremental(start, end)?).await
    }

    /// `GET /snapshot`: the latest signed snapshot.
    pub async fn snapshot(&self) -> Result<SnapshotJson, ClientError> {
        self.get_json("/snapshot").await
    }

    /// `GET /snapshot/{size}`: the signed snapshot of that size, if the node signed one.
    pub async fn snapshot_at(&self, size: u64) -> Result<SnapshotJson, ClientError> {
        self.get_json(&format!("/snapshot/{size}")).await
    }

    /// `GET /checkpoint`: the latest signed note as text.
    pub async fn checkpoint(&self) -> Result<String, ClientError> {
        let (url, body) = self
            .call(Method::GET, "/checkpoint", None, Kind::Read)
            .await?;
        String::from_utf8(body.to_vec()).map_err(|e| ClientError::Decode {
            url,
            message: format!("not UTF-8: {e}"),
        })
    }

    /// `GET /leaves/{version}`: the digest at `version` and its inclusion proof in the latest
    /// snapshot, as a receipt (`duplicate` is always false).
    pub async fn leaf(&self, version: u64) -> Result<Receipt, ClientError> {
        let leaf: types::LeafAnswer = self.get_json(&format!("/leaves/{version}")).await?;
        Ok(leaf.into())
    }

    /// `GET /info`: the node's id, origin, verifier key, size and role.
    pub async fn info(&self) -> Result<Info, ClientError> {
        self.get_json("/info").await
    }

    /// `GET /info/shards`: the members of the cluster and its leader.
    pub async fn shards(&self) -> Result<Shards, ClientError> {
        self.get_json("/info/shards").await
    }

    /// `GET /healthcheck`: succeeds when the node answers `200`.
    pub async fn healthcheck(&self) -> Result<(), ClientError> {
        self.call(Method::GET, "/healthcheck", None, Kind::Read)
            .await
            .map(|_| ())
    }

    /// [`Client::add`], then checks the receipt against `key` and the event's own digest.
    pub async fn add_verified(
        &self,
        event: &[u8],
        key: &VerifierKey,
    ) -> Result<(Receipt, ReceiptVerdict), ClientError> {
        let receipt = self.add(event).await?;
        let verdict = verify::receipt(&receipt, key, &qed_core::hash::digest(event))?;
        Ok((receipt, verdict))
    }

    /// [`Client::add_digest`], then checks the receipt against `key` and the digest.
    pub async fn add_digest_verified(
        &self,
        digest: &Hash,
        key: &VerifierKey,
    ) -> Result<(Receipt, ReceiptVerdict), ClientError> {
        let receipt = self.add_digest(digest).await?;
        let verdict = verify::receipt(&receipt, key, digest)?;
        Ok((receipt, verdict))
    }

    /// [`Client::membership`], then checks the answer against `key`.
    ///
    /// When the question is about an older version than the answer's snapshot, the check needs
    /// the signed snapshot of size `version + 1`; this helper fetches it from the same node
    /// (`GET /snapshot/{size}`). That only proves the node is consistent with itself: a careful
    /// auditor takes that snapshot from the snapshot store (or its own records) instead and uses
    /// [`Client::membership_verified_with`].
    pub async fn membership_verified(
        &self,
        subject: Subject<'_>,
        version: Option<u64>,
        key: &VerifierKey,
    ) -> Result<(MembershipAnswer, MembershipVerdict), ClientError> {
        let answer = self.membership(subject, version).await?;
        let size_q = answer.query_version.checked_add(1);
        let held = match size_q {
            Some(s) if s != answer.snapshot.size => Some(self.snapshot_at(s).await?),
            _ => None,
        };
        let verdict = verify::membership(&answer, held.as_ref(), key, &subject.digest())?;
        Ok((answer, verdict))
    }

    /// [`Client::membership`] as of the version of a snapshot the caller already trusts
    /// (`held`, of size `version + 1`), checked against it and `key`.
    pub async fn membership_verified_with(
        &self,
        subject: Subject<'_>,
        held: &SnapshotJson,
        key: &VerifierKey,
    ) -> Result<(MembershipAnswer, MembershipVerdict), ClientError> {
        let version = held.size.checked_sub(1).ok_or_else(|| {
            ClientError::Request("a snapshot of an empty log answers no membership question".into())
        })?;
        let answer = self.membership(subject, Some(version)).await?;
        let verdict = verify::membership(&answer, Some(held), key, &subject.digest())?;
        Ok((answer, verdict))
    }

    /// [`Client::incremental`], then checks it against the node's signed snapshots of sizes
    /// `start + 1` and `end + 1` (fetched with `GET /snapshot/{size}`; an auditor holding them
    /// already uses [`verify::incremental`] instead).
    pub async fn incremental_verified(
        &self,
        start: u64,
        end: u64,
        key: &VerifierKey,
    ) -> Result<(IncrementalAnswer, (Checkpoint, Checkpoint)), ClientError> {
        let answer = self.incremental(start, end).await?;
        let size = |v: u64| {
            v.checked_add(1)
                .ok_or_else(|| ClientError::Request(format!("version {v} is out of range")))
        };
        let old = self.snapshot_at(size(start)?).await?;
        let new = self.snapshot_at(size(end)?).await?;
        let verdict = verify::incremental(&answer, &old, &new, key)?;
        Ok((answer, verdict))
    }

    /// [`Client::snapshot`], then checks its signature against `key`.
    pub async fn snapshot_verified(
        &self,
        key: &VerifierKey,
    ) -> Result<(SnapshotJson, Checkpoint), ClientError> {
        let snapshot = self.snapshot().await?;
        let checkpoint = verify::snapshot(&snapshot, key)?;
        Ok((snapshot, checkpoint))
    }

    // ----- transport -----

    fn current(&self) -> Url {
        lock(&self.inner.current).clone()
    }

    fn set_current(&self, url: Url) {
        *lock(&self.inner.current) = url;
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        kind: Kind,
        path: &'static str,
        body: &B,
    ) -> Result<T, ClientError> {
        let (url, answer) = self.send(Call::json(kind, path, body)?).await?;
        decode(&url, &answer)
    }

    /// Sends `call`; answers the URL that answered and its body, unparsed.
    async fn send(&self, call: Call) -> Result<(String, Bytes), ClientError> {
        self.call(Method::POST, call.path, Some(call.body), call.kind)
            .await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let (url, answer) = self.call(Method::GET, path, None, Kind::Read).await?;
        decode(&url, &answer)
    }

    /// One request with retries: after a retryable failure, wait, look the leader up, try again.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        kind: Kind,
    ) -> Result<(String, Bytes), ClientError> {
        let opts = &self.inner.opts;
        let mut backoff = opts.retry_backoff;
        let mut retries = 0;
        loop {
            let base = self.current();
            match self
                .call_once(&base, method.clone(), path, body.clone(), kind)
                .await
            {
                Ok(ok) => {
                    // The node that answered (after any redirect) knows the cluster.
                    self.learn_members(&self.current()).await;
                    return Ok(ok);
                }
                Err(e) if e.is_retryable() && retries < opts.max_retries => {
                    retries += 1;
                    tracing::debug!(error = %e, retries, "request failed; looking for the leader and retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2).min(opts.max_backoff);
                    self.fail_over(&base).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One request to `base`, following redirects for writes, within the time limit.
    async fn call_once(
        &self,
        base: &Url,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        kind: Kind,
    ) -> Result<(String, Bytes), ClientError> {
        let mut url = join(base, path)?;
        let mut hops = 0;
        loop {
            let (status, location, answer) = self
                .exchange(
                    &url,
                    method.clone(),
                    body.clone(),
                    kind,
                    self.inner.opts.timeout,
                )
                .await?;
            if matches!(
                status,
                StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
            ) {
                hops += 1;
                url = self.redirect_target(&url, location.as_deref(), path, hops)?;
                continue;
            }
            if status.is_success() {
                return Ok((url.to_string(), answer));
            }
            return Err(http_error(status, &url, &answer));
        }
    }

    /// Sends one request and reads its answer within `limit`: the status, the `Location`
    /// header and the body.
    async fn exchange(
        &self,
        url: &Url,
        method: Method,
        body: Option<Bytes>,
        kind: Kind,
        limit: Duration,
    ) -> Result<(StatusCode, Option<String>, Bytes), ClientError> {
        match tokio::time::timeout(limit, self.exchange_unbounded(url, method, body, kind)).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Transport {
                url: url.to_string(),
                source: format!("no answer within {limit:?}").into(),
            }),
        }
    }

    /// [`Client::exchange`] without its time limit.
    async fn exchange_unbounded(
        &self,
        url: &Url,
        method: Method,
        body: Option<Bytes>,
        kind: Kind,
    ) -> Result<(StatusCode, Option<String>, Bytes), ClientError> {
        let transport = |source: Box<dyn std::error::Error + Send + Sync>| ClientError::Transport {
            url: url.to_string(),
            source,
        };
        let req = self.request(method, url.as_str(), body, kind)?;
        let resp = self
            .inner
            .http
            .request(req)
            .await
            .map_err(|e| transport(e.into()))?;
        let status = resp.status();
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let answer = read_body(resp.into_body(), url).await?;
        Ok((status, location, answer))
    }

    /// A request to `uri` (a whole URL, or a path on a connection of one's own), with the secret
    /// on writes and the JSON content type when there is a body.
    fn request(
        &self,
        method: Method,
        uri: &str,
        body: Option<Bytes>,
        kind: Kind,
    ) -> Result<http::Request<Full<Bytes>>, ClientError> {
        let mut req = http::Request::builder().method(method).uri(uri);
        if kind == Kind::Write
            && let Some(key) = &self.inner.opts.api_key
        {
            req = req.header(API_KEY_HEADER, key);
        }
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        req.body(Full::new(body.unwrap_or_default()))
            .map_err(|e| ClientError::Request(format!("cannot build the request: {e}")))
    }

    /// The URL a `307`/`308` points at; the node it names becomes the current endpoint (it is
    /// the leader, as far as the redirecting node knows).
    fn redirect_target(
        &self,
        url: &Url,
        location: Option<&str>,
        path: &str,
        hops: usize,
    ) -> Result<Url, ClientError> {
        let bad = |message: String| ClientError::Redirect {
            url: url.to_string(),
            message,
        };
        if hops > self.inner.opts.max_redirects {
            return Err(bad(format!(
                "more than {} redirects",
                self.inner.opts.max_redirects
            )));
        }
        let location =
            location.ok_or_else(|| bad("a redirect without a Location header".into()))?;
        let next = url
            .join(location)
            .map_err(|e| bad(format!("bad Location {location:?}: {e}")))?;
        if !matches!(next.scheme(), "http" | "https") {
            return Err(bad(format!("Location {location:?} is not an http(s) URL")));
        }
        self.set_current(base_of(&next, path));
        tracing::debug!(from = %url, to = %next, "following a redirect to the leader");
        Ok(next)
    }

    /// After `failed` could not serve a request: ask every endpoint and every known member for
    /// the leader and make it current; when nobody names one, move to the next endpoint after
    /// `failed`.
    async fn fail_over(&self, failed: &Url) {
        for endpoint in self.candidates() {
            let Some(shards) = self.ask_shards(&endpoint).await else {
                continue;
            };
            self.remember(&shards, &endpoint);
            if let Some(leader) = shards
                .leader_http_url()
                .and_then(|u| member_url(u, &endpoint))
                && (&leader != failed || self.inner.endpoints.len() == 1)
            {
                tracing::debug!(leader = %leader, "leader found");
                self.set_current(leader);
                return;
            }
        }
        let eps = &self.inner.endpoints;
        let next = eps
            .iter()
            .position(|e| e == failed)
            .map_or(0, |i| (i + 1) % eps.len());
        if let Some(e) = eps.get(next) {
            self.set_current(e.clone());
        }
    }

    /// The configured endpoints, then the announced members not among them.
    fn candidates(&self) -> Vec<Url> {
        let mut all = self.inner.endpoints.clone();
        let members = lock(&self.inner.members).clone().unwrap_or_default();
        for m in members {
            if !all.contains(&m) {
                all.push(m);
            }
        }
        all
    }

    /// Once per client, after a first answer: the members `base` announces. A node that cannot
    /// say (an old server, an error) is not asked again.
    async fn learn_members(&self, base: &Url) {
        if lock(&self.inner.members).is_some() {
            return;
        }
        *lock(&self.inner.members) = Some(Vec::new());
        if let Some(shards) = self.ask_shards(base).await {
            self.remember(&shards, base);
        }
    }

    fn remember(&self, shards: &Shards, via: &Url) {
        let urls: Vec<Url> = shards
            .members
            .iter()
            .filter_map(|m| member_url(&m.http_url, via))
            .collect();
        if !urls.is_empty() {
            *lock(&self.inner.members) = Some(urls);
        }
    }

    /// `GET /info/shards` of `endpoint`, if it answers at all.
    async fn ask_shards(&self, endpoint: &Url) -> Option<Shards> {
        let url = join(endpoint, "/info/shards").ok()?;
        let limit = self.inner.opts.connect_timeout;
        let (status, _, body) = self
            .exchange(&url, Method::GET, None, Kind::Read, limit)
            .await
            .ok()?;
        if !status.is_success() {
            return None;
        }
        serde_json::from_slice(&body).ok()
    }
}

/// Locks a mutex whose data stays valid even if a holder panicked (plain values, no invariants).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads the body of `url`'s answer, refusing more than [`MAX_ANSWER_BYTES`].
async fn read_body(mut body: Incoming, url: &Url) -> Result<Bytes, ClientError> {
    // An answer usually arrives in one chunk, which is kept as it is; only an answer in several
    // chunks is copied into one buffer (the copy was 4 % of the load generator's CPU).
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ClientError::Transport {
            url: url.to_string(),
            source: e.into(),
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        len = len.saturating_add(chunk.len());
        if len > MAX_ANSWER_BYTES {
            return Err(ClientError::Decode {
                url: url.to_string(),
                message: format!("answer over {MAX_ANSWER_BYTES} bytes"),
            });
        }
        match &first {
            None => first = Some(chunk),
            Some(head) => {
                if joined.is_empty() {
                    joined.extend_from_slice(head);
                }
                joined.extend_from_slice(&chunk);
            }
        }
    }
    Ok(match joined.is_empty() {
        true => first.unwrap_or_default(),
        false => Bytes::from(joined),
    })
}

/// Decodes the JSON answer `body` that `url` gave.
pub(crate) fn decode<T: DeserializeOwned>(url: &str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode {
        url: url.to_string(),
        message: e.to_string(),
    })
}

/// The error of a non-2xx answer, with the server's `{"error": ...}` message when it sent one.
fn http_error(status: StatusCode, url: &Url, body: &[u8]) -> ClientError {
    let message = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => e.error,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("no explanation")
                    .to_string()
            } else {
                text.chars().take(500).collect()
            }
        }
    };
    ClientError::Http {
        status: status.as_u16(),
        url: url.to_string(),
        message,
    }
}

/// Parses an endpoint: `http(s)://host:port[/prefix]`, `host:port`, or `:port` (loopback).
pub fn parse_endpoint(endpoint: &str) -> Result<Url, ClientError> {
    let bad = |message: &str| ClientError::Endpoint {
        endpoint: endpoint.to_string(),
        message: message.to_string(),
    };
    let trimmed = endpoint.trim();
    let with_host = if trimmed.starts_with(':') {
        format!("127.0.0.1{trimmed}")
    } else {
        trimmed.to_string()
    };
    let full = if with_host.contains("://") {
        with_host
    } else {
        format!("http://{with_host}")
    };
    let url = Url::parse(&full).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http:// and https:// endpoints are supported"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("an endpoint has no query or fragment"));
    }
    Ok(url)
}

/// `base` (with any path prefix) followed by the API path.
fn join(base: &Url, path: &str) -> Result<Url, ClientError> {
    if base.cannot_be_a_base() {
        return Err(ClientError::Endpoint {
            endpoint: base.to_string(),
            message: "not a URL that can take a path".into(),
        });
    }
    // Only the path changes: the host was parsed once, with the endpoint. Parsing the whole URL
    // again for every request was 4 % of the load generator's CPU on membership proofs.
    let mut url = base.clone();
    url.set_path(&format!("{}{}", base.path().trim_end_matches('/'), path));
    Ok(url)
}

/// The endpoint a redirected request now goes to: its URL minus the API path (or its origin).
fn base_of(url: &Url, path: &str) -> Url {
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    let prefix = url.path().strip_suffix(path).unwrap_or("").to_string();
    base.set_path(&prefix);
    base
}

/// A member's announced HTTP URL, made reachable from here: an unspecified host (`:port`,
/// `0.0.0.0`, `[::]`) is replaced by the host of the endpoint that announced it.
fn member_url(announced: &str, via: &Url) -> Option<Url> {
    let trimmed = announced.trim();
    let with_host = if trimmed.starts_with(':') {
        format!("{}{trimmed}", via.host_str()?)
    } else {
        trimmed.to_string()
    };
    let mut url = parse_endpoint(&with_host).ok()?;
    if matches!(url.host_str(), Some("0.0.0.0" | "[::]" | "::")) {
        url.set_host(via.host_str()).ok()?;
    }
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_normalised() {
        assert_eq!(
            parse_endpoint(":8800").unwrap().as_str(),
            "http://127.0.0.1:8800/"
        );
        assert_eq!(
            parse_endpoint("localhost:1").unwrap().as_str(),
            "http://localhost:1/"
        );
        assert_eq!(
            parse_endpoint("https://h:2/api/").unwrap().as_str(),
            "https://h:2/api/"
        );
        assert!(matches!(
            parse_endpoint("ftp://h"),
            Err(ClientError::Endpoint { .. })
        ));
        assert!(matches!(
            parse_endpoint("http://h:1/?q=1"),
            Err(ClientError::Endpoint { .. })
        ));
        assert!(matches!(
            parse_endpoint("http://"),
            Err(ClientError::Endpoint { .. })
        ));
        assert!(matches!(
            parse_endpoint(""),
            Err(ClientError::Endpoint { .. })
        ));
    }

    #[test]
    fn paths_join_under_a_prefix() {
        let base = parse_endpoint("http://h:1/api/").unwrap();
        assert_eq!(
            join(&base, "/events").unwrap().as_str(),
            "http://h:1/api/events"
        );
        let root = parse_endpoint("h:1").unwrap();
        assert_eq!(
            join(&root, "/snapshot/3").unwrap().as_str(),
            "http://h:1/snapshot/3"
        );
    }

    #[test]
    fn redirect_targets_become_bases() {
        let to = Url::parse("http://10.0.0.2:8801/api/events").unwrap();
        assert_eq!(base_of(&to, "/events").as_str(), "http://10.0.0.2:8801/api");
        let other = Url::parse("http://10.0.0.2:8801/elsewhere").unwrap();
        assert_eq!(base_of(&other, "/events").as_str(), "http://10.0.0.2:8801/");
    }

    #[test]
    fn member_urls_get_a_reachable_host() {
        let via = parse_endpoint("http://10.1.2.3:8800").unwrap();
        assert_eq!(
            member_url(":8801", &via).unwrap().as_str(),
            "http://10.1.2.3:8801/"
        );
        assert_eq!(
            member_url("0.0.0.0:8802", &via).unwrap().as_str(),
            "http://10.1.2.3:8802/"
        );
        assert_eq!(
            member_url("http://n2:8803", &via).unwrap().as_str(),
            "http://n2:8803/"
        );
        assert!(member_url("ftp://x", &via).is_none());
    }

    #[test]
    fn errors_say_whether_to_retry() {
        let url = Url::parse("http://h:1/events").unwrap();
        let e = http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &url,
            br#"{"error":"no leader"}"#,
        );
        assert!(e.is_retryable());
        assert_eq!(e.status(), Some(503));
        assert!(e.to_string().contains("no leader"));
        let e = http_error(StatusCode::BAD_REQUEST, &url, b"plain words");
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("plain words"));
        let e = http_error(StatusCode::NOT_FOUND, &url, b"");
        assert!(e.to_string().contains("Not Found"));
        assert!(!ClientError::Verify(qed_core::VerifyError::Malformed("x".into())).is_retryable());
    }

    #[test]
    fn no_endpoint_is_an_error() {
        let none: [&str; 0] = [];
        assert!(matches!(
            Client::new(&none, ClientOptions::default()),
            Err(ClientError::Request(_))
        ));
    }
}
