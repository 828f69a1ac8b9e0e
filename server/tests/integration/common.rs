//! Helpers shared by the server's integration tests: nodes on 127.0.0.1:0 in temporary
//! directories, and requests through the router without a socket.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use qed_server::consensus::RaftOptions;
use qed_server::consensus::group_commit::GroupCommitOptions;
use qed_server::node::{KeySource, Node, NodeConfig};
use tower::ServiceExt;

pub const KEY: &str = "test-key";

pub fn config(dir: &std::path::Path, name: &str, key_file: &std::path::Path) -> NodeConfig {
    NodeConfig {
        node_id: name.to_string(),
        api_key: KEY.to_string(),
        db_path: dir.join(name).join("db"),
        raft_path: dir.join(name).join("raft"),
        key: KeySource::GenerateIfMissing(key_file.to_path_buf()),
        origin: "test.local/log".to_string(),
        http_addr: "127.0.0.1:0".to_string(),
        raft_addr: "127.0.0.1:0".to_string(),
        mgmt_addr: "127.0.0.1:0".to_string(),
        metrics_addr: None,
        join_addr: None,
        cache_bytes: 16 << 20,
        raft: RaftOptions {
            heartbeat_ms: 100,
            ..RaftOptions::default()
        },
        commit: GroupCommitOptions::default(),
    }
}

/// Waits until `node` sees a leader (itself, for a single node).
pub async fn wait_leader(node: &Node) {
    node.raft
        .wait(Some(Duration::from_secs(20)))
        .metrics(|m| m.current_leader.is_some(), "a leader")
        .await
        .expect("no leader elected");
}

/// A single bootstrapped node, leader.
pub async fn single(dir: &std::path::Path) -> Node {
    let node = Node::start(config(dir, "node0", &dir.join("key")))
        .await
        .expect("start");
    wait_leader(&node).await;
    node
}

/// [`single`] in a temporary directory, which lasts as long as the guard returned with the node.
pub async fn single_in_temp_dir() -> (tempfile::TempDir, Node) {
    let dir = tempfile::tempdir().unwrap();
    let node = single(dir.path()).await;
    (dir, node)
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts an error answer: the status and a JSON `error` message.
    pub fn assert_error(&self, status: StatusCode) -> String {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let msg = self.json()["error"]
            .as_str()
            .expect("an error message")
            .to_string();
        assert!(!msg.is_empty());
        msg
    }
}

pub async fn call(
    node: &Node,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    call_router(
        qed_server::api::router(node.api.clone()),
        method,
        path,
        key,
        body,
    )
    .await
}

pub async fn call_router(
    router: axum::Router,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", "application/json");
    if let Some(k) = key {
        req = req.header("Api-Key", k);
    }
    let resp = router
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn post(node: &Node, path: &str, json: serde_json::Value) -> Answer {
    call(node, "POST", path, Some(KEY), json.to_string().into_bytes()).await
}

pub async fn get(node: &Node, path: &str) -> Answer {
    call(node, "GET", path, None, vec![]).await
}
