//! The client against a mock cluster (axum on loopback): redirects to the leader keep the method,
//! body and secret; a dead endpoint is replaced by the leader that `/info/shards` names; `503` is
//! retried a bounded number of times; server errors come back typed with the server's message;
//! a node that never answers is cut off at the time limit, and an oversized answer is refused.
//! A connection of one's own keeps to one socket, answers refusals itself, and leaves
//! redirects and broken connections to the client.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use qed_agents::client::{Client, ClientError, ClientOptions, Connection, Subject};
use serde_json::json;

const HEX: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn snapshot_json() -> serde_json::Value {
    json!({"version": 0, "size": 1, "history_digest": HEX, "hyper_digest": HEX, "event_digest": HEX,
           "checkpoint": "not checked by these tests\n"})
}

fn receipt_json() -> serde_json::Value {
    json!({"version": 0, "digest": HEX, "duplicate": false, "snapshot": snapshot_json(), "proof": []})
}

/// What a mock node saw: (method, path, Api-Key header, body) of every request.
type Seen = Arc<Mutex<Vec<(String, String, Option<String>, Vec<u8>)>>>;

#[derive(Clone, Default)]
struct Mock {
    seen: Seen,
    /// Answers `503` to this many writes before answering normally.
    unavailable: Arc<Mutex<u32>>,
    /// When set, every write is redirected there.
    redirect_to: Option<String>,
    /// When set, `/info/shards` names this URL as the leader's.
    leader_url: Option<String>,
}

async fn record(
    State(m): State<Mock>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = headers
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    m.seen.lock().unwrap().push((
        method.to_string(),
        uri.path().to_string(),
        key,
        body.to_vec(),
    ));
    {
        let mut left = m.unavailable.lock().unwrap();
        if *left > 0 && uri.path() == "/events" {
            *left -= 1;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"error": "no leader yet"})),
            )
                .into_response();
        }
    }
    if let Some(to) = &m.redirect_to
        && method == axum::http::Method::POST
    {
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, format!("{to}{}", uri.path()))],
        )
            .into_response();
    }
    match uri.path() {
        "/events" => axum::Json(receipt_json()).into_response(),
        "/snapshot" => axum::Json(snapshot_json()).into_response(),
        "/proofs/incremental" => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "start 5 is after end 2"}))).into_response(),
        "/info/shards" => match &m.leader_url {
            Some(url) => axum::Json(json!({"leader_id": "n2", "members": [
                {"node_id": "n1", "http_url": "http://127.0.0.1:1", "raft_addr": "", "mgmt_url": "", "role": "follower"},
                {"node_id": "n2", "http_url": url, "raft_addr": "", "mgmt_url": "", "role": "leader"}]}))
            .into_response(),
            None => axum::Json(json!({"leader_id": null, "members": []})).into_response(),
        },
        _ => (StatusCode::NOT_FOUND, "plain text not found").into_response(),
    }
}

async fn serve(mock: Mock) -> SocketAddr {
    let app = Router::new()
        .route("/events", post(record))
        .route("/proofs/incremental", post(record))
        .route("/snapshot", get(record))
        .route("/info/shards", get(record))
        .route("/leaves/{v}", get(record))
        .with_state(mock);
    listen(app).await
}

/// Serves `app` on a free loopback port.
async fn listen(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn fast(key: Option<&str>, retries: usize) -> ClientOptions {
    ClientOptions {
        api_key: key.map(str::to_string),
        max_retries: retries,
        retry_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_millis(500),
        ..ClientOptions::default()
    }
}

/// The requests a mock saw, without the client's look-ups of the members (`GET /info/shards`).
fn api_calls(m: &Mock) -> Vec<(String, String, Option<String>, Vec<u8>)> {
    let seen = m.seen.lock().unwrap();
    seen.iter()
        .filter(|s| s.1 != "/info/shards")
        .cloned()
        .collect()
}

fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

/// A leader, and a follower that redirects every write to it.
async fn leader_and_follower() -> (Mock, SocketAddr, Mock, SocketAddr) {
    let leader = Mock::default();
    let leader_addr = serve(leader.clone()).await;
    let follower = Mock {
        redirect_to: Some(format!("http://{leader_addr}")),
        ..Mock::default()
    };
    let follower_addr = serve(follower.clone()).await;
    (leader, leader_addr, follower, follower_addr)
}

#[tokio::test]
async fn writes_follow_the_redirect_with_method_body_and_secret() {
    let (leader, leader_addr, follower, follower_addr) = leader_and_follower().await;

    let client = Client::new(
        &[format!("http://{follower_addr}")],
        fast(Some("s3cret"), 0),
    )
    .unwrap();
    let receipt = client.add(b"hello").await.unwrap();
    assert_eq!(receipt.version, 0);
    assert_eq!(
        client.current_endpoint(),
        format!("http://{leader_addr}"),
        "the leader becomes current"
    );

    let seen_by_follower = api_calls(&follower);
    let seen_by_leader = api_calls(&leader);
    assert_eq!(seen_by_follower.len(), 1);
    assert_eq!(seen_by_leader.len(), 1);
    let (method, path, key, body) = &seen_by_leader[0];
    assert_eq!(
        (method.as_str(), path.as_str(), key.as_deref()),
        ("POST", "/events", Some("s3cret"))
    );
    assert_eq!(body, &seen_by_follower[0].3, "the same body is re-sent");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(body).unwrap(),
        json!({"event": "aGVsbG8="})
    );

    // The next write goes straight to the leader.
    client.add_digest(&[7; 32]).await.unwrap();
    assert_eq!(api_calls(&follower).len(), 1);
    let last = api_calls(&leader).last().cloned().unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&last.3).unwrap(),
        json!({"digest": "07".repeat(32)})
    );
}

#[tokio::test]
async fn reads_do_not_carry_the_secret() {
    let node = Mock::default();
    let addr = serve(node.clone()).await;
    let client = Client::new(&[format!("http://{addr}")], fast(Some("s3cret"), 0)).unwrap();
    client.snapshot().await.unwrap();
    let seen = node.seen.lock().unwrap().clone();
    assert_eq!(seen[0].2, None);
}

#[tokio::test]
async fn a_redirect_loop_is_cut_short() {
    // A relative Location naming the same path: the node redirects to itself.
    let looping = Mock {
        redirect_to: Some(String::new()),
        ..Mock::default()
    };
    let addr = serve(looping.clone()).await;
    let client = Client::new(&[format!("http://{addr}")], fast(Some("k"), 0)).unwrap();
    let err = client.add(b"x").await.unwrap_err();
    assert!(matches!(err, ClientError::Redirect { .. }), "{err}");
    assert_eq!(
        looping.seen.lock().unwrap().len(),
        5,
        "the first request and 4 hops"
    );
}

#[tokio::test]
async fn a_dead_endpoint_is_replaced_by_the_leader_the_others_name() {
    let leader = Mock::default();
    let leader_addr = serve(leader.clone()).await;
    // The surviving follower announces the leader as ":PORT" (every interface).
    let follower = Mock {
        leader_url: Some(format!(":{}", leader_addr.port())),
        ..Mock::default()
    };
    let follower_addr = serve(follower.clone()).await;

    let endpoints = [closed_port(), format!("http://{follower_addr}")];
    let client = Client::new(&endpoints, fast(Some("k"), 2)).unwrap();
    client.add(b"x").await.unwrap();
    assert_eq!(
        client.current_endpoint(),
        format!("http://127.0.0.1:{}", leader_addr.port())
    );
    assert_eq!(leader.seen.lock().unwrap().len(), 1);
    assert!(
        follower
            .seen
            .lock()
            .unwrap()
            .iter()
            .all(|s| s.1 == "/info/shards")
    );
}

#[tokio::test]
async fn unavailable_is_retried_a_bounded_number_of_times() {
    let node = Mock {
        unavailable: Arc::new(Mutex::new(2)),
        ..Mock::default()
    };
    let addr = serve(node.clone()).await;
    let client = Client::new(&[format!("http://{addr}")], fast(Some("k"), 3)).unwrap();
    client.add(b"x").await.unwrap();
    let events = node
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.1 == "/events")
        .count();
    assert_eq!(events, 3, "two 503s, then success");

    let node = Mock {
        unavailable: Arc::new(Mutex::new(10)),
        ..Mock::default()
    };
    let addr = serve(node.clone()).await;
    let client = Client::new(&[format!("http://{addr}")], fast(Some("k"), 1)).unwrap();
    let err = client.add(b"x").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.to_string().contains("no leader yet"), "{err}");
}

#[tokio::test]
async fn an_unreachable_cluster_fails_after_the_retries() {
    let client = Client::new(&[closed_port()], fast(None, 2)).unwrap();
    let started = std::time::Instant::now();
    let err = client.snapshot().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn errors_carry_the_status_and_the_servers_message() {
    let addr = serve(Mock::default()).await;
    let client = Client::new(&[format!("http://{addr}")], fast(None, 3)).unwrap();
    let err = client.incremental(5, 2).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("start 5 is after end 2"), "{err}");
    let err = client.leaf(3).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("plain text not found"), "{err}");
    // No such route on the mock: axum's empty 404 gets the status text as its message.
    let err = client
        .membership(Subject::Digest([0; 32]), None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert!(err.to_string().contains("Not Found"), "{err}");
    let err = client.shards().await.map(|s| s.leader_id);
    assert_eq!(err.unwrap(), None);
}

#[tokio::test]
async fn an_answer_that_is_not_the_documented_json_is_a_decode_error() {
    // A 200 whose body is not the documented object.
    let app = Router::new().route(
        "/snapshot",
        get(|| async { axum::Json(json!({"leader_id": 1})) }),
    );
    let addr = listen(app).await;
    let client = Client::new(&[format!("http://{addr}")], fast(None, 0)).unwrap();
    let err = client.snapshot().await.unwrap_err();
    assert!(matches!(err, ClientError::Decode { .. }), "{err}");
}

/// A node that accepts connections and reads requests but never answers.
async fn silent() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

#[tokio::test]
async fn a_node_that_never_answers_is_cut_off_at_the_time_limit() {
    let addr = silent().await;
    let opts = ClientOptions {
        timeout: Duration::from_millis(300),
        ..fast(None, 0)
    };
    let client = Client::new(&[format!("http://{addr}")], opts).unwrap();
    let started = std::time::Instant::now();
    let err = client.snapshot().await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, ClientError::Transport { .. }), "{err}");
    assert!(err.to_string().contains("no answer within 300ms"), "{err}");
    assert!(err.is_retryable());
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn an_answer_over_the_limit_is_refused() {
    let huge = "x".repeat(qed_agents::client::MAX_ANSWER_BYTES + 1);
    let addr = listen(Router::new().route("/snapshot", get(move || async move { huge }))).await;
    let client = Client::new(&[format!("http://{addr}")], fast(None, 0)).unwrap();
    let err = client.snapshot().await.unwrap_err();
    assert!(matches!(err, ClientError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("answer over"), "{err}");
}

/// A node that answers adds, refuses incremental proofs, and records the peer port of every
/// request; with `close`, it asks for the connection to be closed after each answer.
async fn port_recorder(close: bool) -> (SocketAddr, Arc<Mutex<Vec<u16>>>) {
    let ports = Arc::new(Mutex::new(Vec::new()));
    let seen = ports.clone();
    let answer = move |ConnectInfo(peer): ConnectInfo<SocketAddr>, uri: axum::http::Uri| {
        seen.lock().unwrap().push(peer.port());
        let close = [(
            header::CONNECTION,
            if close { "close" } else { "keep-alive" },
        )];
        async move {
            match uri.path() {
                "/events" => (close, axum::Json(receipt_json())).into_response(),
                _ => (
                    StatusCode::BAD_REQUEST,
                    close,
                    axum::Json(json!({"error": "start 5 is after end 2"})),
                )
                    .into_response(),
            }
        }
    };
    let app = Router::new()
        .route("/events", post(answer.clone()))
        .route("/proofs/incremental", post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    (addr, ports)
}

async fn add(connection: &mut Connection, i: u8) -> Result<String, ClientError> {
    let (url, answer) = connection.add_json(Subject::Digest([i; 32])).await?;
    let receipt: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(receipt["digest"], HEX);
    Ok(url)
}

#[tokio::test]
async fn a_connection_keeps_to_one_socket_and_answers_refusals_itself() {
    let (addr, ports) = port_recorder(false).await;
    let client = Client::new(&[format!("http://{addr}")], fast(Some("k"), 0)).unwrap();
    let mut connection = client.connection();
    for i in 0..20 {
        let url = add(&mut connection, i).await.unwrap();
        assert_eq!(url, format!("http://{addr}/events"));
    }
    let err = connection.incremental_json(5, 2).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("start 5 is after end 2"), "{err}");
    add(&mut connection, 21).await.unwrap();
    let ports = ports.lock().unwrap().clone();
    assert_eq!(ports.len(), 22, "the refusal is not sent again");
    assert!(ports.iter().all(|p| *p == ports[0]), "{ports:?}");
}

#[tokio::test]
async fn a_connection_leaves_redirects_to_the_client_then_talks_to_the_leader() {
    let (leader, leader_addr, follower, follower_addr) = leader_and_follower().await;
    let client = Client::new(&[format!("http://{follower_addr}")], fast(Some("k"), 0)).unwrap();
    let mut connection = client.connection();
    let url = add(&mut connection, 1).await.unwrap();
    assert_eq!(url, format!("http://{leader_addr}/events"));
    for i in 2..6 {
        add(&mut connection, i).await.unwrap();
    }
    // The first add reached the follower twice: on the connection, whose redirect sent it back
    // to the client, then from the client, which followed the redirect. None after it.
    assert_eq!(api_calls(&follower).len(), 2);
    assert_eq!(api_calls(&leader).len(), 5);
    assert!(
        api_calls(&leader)
            .iter()
            .all(|c| c.2.as_deref() == Some("k"))
    );
}

#[tokio::test]
async fn a_connection_the_server_closes_is_replaced() {
    let (addr, ports) = port_recorder(true).await;
    let client = Client::new(&[format!("http://{addr}")], fast(None, 0)).unwrap();
    let mut connection = client.connection();
    for i in 0..5 {
        add(&mut connection, i).await.unwrap();
    }
    let mut ports = ports.lock().unwrap().clone();
    ports.sort_unstable();
    ports.dedup();
    assert!(
        ports.len() >= 3,
        "a closed connection is not reused: {ports:?}"
    );
}
