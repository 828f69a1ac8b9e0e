//! The HTTP API of docs/API.md against a real single-node server (openraft + RocksDB Raft log +
//! Ledger), through the router: every success path and every 4xx case.

use crate::common::*;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

fn b64(s: &[u8]) -> String {
    B64.encode(s)
}

fn hexd(s: &[u8]) -> String {
    qed_core::hash::to_hex(&qed_core::hash::digest(s))
}

#[tokio::test]
async fn adds_answer_receipts_and_duplicates_keep_their_version() {
    let (_dir, node) = single_in_temp_dir().await;

    let a = post(&node, "/events", json!({"event": b64(b"hello")})).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    let r = a.json();
    assert_eq!(r["version"], 0);
    assert_eq!(r["duplicate"], false);
    assert_eq!(r["digest"], hexd(b"hello"));
    assert_eq!(r["snapshot"]["size"], 1);
    assert!(r["proof"].is_array());

    let b = post(&node, "/events", json!({"digest": hexd(b"world")}))
        .await
        .json();
    assert_eq!(b["version"], 1);
    assert_eq!(b["snapshot"]["size"], 2);

    let again = post(&node, "/events", json!({"event": b64(b"hello")}))
        .await
        .json();
    assert_eq!(again["version"], 0);
    assert_eq!(again["duplicate"], true);

    let bulk = post(
        &node,
        "/events/bulk",
        json!({"digests": [hexd(b"x"), hexd(b"hello"), hexd(b"y"), hexd(b"x")]}),
    )
    .await;
    assert_eq!(bulk.status, StatusCode::OK);
    let bulk = bulk.json();
    let versions: Vec<(u64, bool)> = bulk["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["version"].as_u64().unwrap(),
                e["duplicate"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, vec![(2, false), (0, true), (3, false), (2, true)]);
    assert_eq!(bulk["snapshot"]["size"], 4);
    assert_eq!(bulk["entries"][0]["digest"], hexd(b"x"));

    let events = post(
        &node,
        "/events/bulk",
        json!({"events": [b64(b"e1"), b64(b"e2")]}),
    )
    .await
    .json();
    assert_eq!(events["entries"][1]["version"], 5);
    node.shutdown().await;
}

fn verifier(info: &serde_json::Value) -> qed_core::snapshot::VerifierKey {
    qed_core::snapshot::VerifierKey::parse(info["verifier_key"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn every_answer_verifies_with_the_verifier_key() {
    use qed_core::receipt::{Receipt, verify_receipt_for};
    use qed_core::snapshot::SnapshotJson;
    use qed_core::verify::{
        IncrementalAnswer, MembershipAnswer, verify_incremental, verify_membership,
    };
    let (_dir, node) = single_in_temp_dir().await;
    let key = verifier(&get(&node, "/info").await.json());
    for i in 0..5u8 {
        let event = [i; 3];
        let a = post(&node, "/events", json!({"event": b64(&event)})).await;
        let receipt: Receipt = serde_json::from_slice(&a.body).unwrap();
        let verdict = verify_receipt_for(&receipt, &key, &qed_core::hash::digest(&event)).unwrap();
        assert_eq!(verdict.version, u64::from(i));
    }
    let d = qed_core::hash::digest(&[2u8; 3]);
    let m: MembershipAnswer = serde_json::from_slice(
        &post(
            &node,
            "/proofs/digest-membership",
            json!({"digest": qed_core::hash::to_hex(&d)}),
        )
        .await
        .body,
    )
    .unwrap();
    let v = verify_membership(&m, None, &key, &d).unwrap();
    assert_eq!((v.member, v.version), (true, Some(2)));
    // As of version 1, against the snapshot of size 2.
    let held: SnapshotJson = serde_json::from_slice(&get(&node, "/snapshot/2").await.body).unwrap();
    let m: MembershipAnswer = serde_json::from_slice(
        &post(
            &node,
            "/proofs/digest-membership",
            json!({"digest": qed_core::hash::to_hex(&d), "version": 1}),
        )
        .await
        .body,
    )
    .unwrap();
    assert!(!verify_membership(&m, Some(&held), &key, &d).unwrap().member);
    let inc: IncrementalAnswer = serde_json::from_slice(
        &post(&node, "/proofs/incremental", json!({"start": 1, "end": 4}))
            .await
            .body,
    )
    .unwrap();
    let old: SnapshotJson = serde_json::from_slice(&get(&node, "/snapshot/2").await.body).unwrap();
    let new: SnapshotJson = serde_json::from_slice(&get(&node, "/snapshot/5").await.body).unwrap();
    verify_incremental(&inc, &old, &new, &key).unwrap();
    let leaf = get(&node, "/leaves/3").await.json();
    let receipt = Receipt {
        version: 3,
        digest: qed_core::hash::from_hex(leaf["digest"].as_str().unwrap()).unwrap(),
        duplicate: false,
        snapshot: serde_json::from_value(leaf["snapshot"].clone()).unwrap(),
        proof: leaf["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| qed_core::hash::from_hex(h.as_str().unwrap()).unwrap())
            .collect(),
    };
    verify_receipt_for(&receipt, &key, &qed_core::hash::digest(&[3u8; 3])).unwrap();
    node.shutdown().await;
}

#[tokio::test]
async fn writes_need_the_api_key_and_reads_do_not() {
    let (_dir, node) = single_in_temp_dir().await;
    let body = json!({"event": b64(b"e")}).to_string().into_bytes();
    for path in ["/events", "/events/bulk"] {
        call(&node, "POST", path, None, body.clone())
            .await
            .assert_error(StatusCode::UNAUTHORIZED);
        call(&node, "POST", path, Some("wrong-key"), body.clone())
            .await
            .assert_error(StatusCode::UNAUTHORIZED);
        call(&node, "POST", path, Some(""), body.clone())
            .await
            .assert_error(StatusCode::UNAUTHORIZED);
        call(&node, "POST", path, Some("test-key "), body.clone())
            .await
            .assert_error(StatusCode::UNAUTHORIZED);
    }
    assert_eq!(get(&node, "/healthcheck").await.status, StatusCode::OK);
    assert_eq!(get(&node, "/info").await.status, StatusCode::OK);
    node.shutdown().await;
}

#[tokio::test]
async fn bad_add_requests_get_4xx_json_errors() {
    let (_dir, node) = single_in_temp_dir().await;
    let raw = |s: &str| s.as_bytes().to_vec();
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        ("/events", raw("{"), StatusCode::BAD_REQUEST),
        ("/events", raw("not json"), StatusCode::BAD_REQUEST),
        ("/events", raw(""), StatusCode::BAD_REQUEST),
        ("/events", raw("[]"), StatusCode::BAD_REQUEST),
        ("/events", raw(r#"{"event": 5}"#), StatusCode::BAD_REQUEST),
        (
            "/events",
            raw(r#"{"event": null, "digest": null}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/events",
            raw(r#"{"evnt": "aGk="}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/events",
            raw(r#"{"event": "***"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/events",
            raw(r#"{"event": "aGk"}"#),
            StatusCode::BAD_REQUEST,
        ),
        ("/events", raw(r#"{"event": ""}"#), StatusCode::BAD_REQUEST),
        (
            "/events",
            raw(r#"{"digest": "abc"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/events",
            raw(&format!(r#"{{"digest": "{}"}}"#, "zz".repeat(32))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/events",
            raw(r#"{"event": "aGk=", "digest": "00"}"#),
            StatusCode::BAD_REQUEST,
        ),
        ("/events", raw("{}"), StatusCode::BAD_REQUEST),
        (
            "/events/bulk",
            raw(r#"{"events": []}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/events/bulk",
            raw(r#"{"digests": "00"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/events/bulk",
            raw(r#"{"events": ["aGk="], "digests": []}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/events/bulk",
            raw(r#"{"events": ["aGk=", ""]}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/events/bulk",
            raw(r#"{"digests": ["00"]}"#),
            StatusCode::BAD_REQUEST,
        ),
        ("/events/bulk", raw("{}"), StatusCode::BAD_REQUEST),
    ];
    for (path, body, status) in cases {
        let text = String::from_utf8_lossy(&body).into_owned();
        let a = call(&node, "POST", path, Some(KEY), body).await;
        assert_eq!(
            a.status,
            status,
            "{path} {text}: {}",
            String::from_utf8_lossy(&a.body)
        );
        a.assert_error(status);
    }
    // Oversized: an event over 1 MiB, a bulk of 10,001 items, a body over 16 MiB.
    let big = b64(&vec![1u8; (1 << 20) + 1]);
    post(&node, "/events", json!({"event": big}))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE);
    let exactly = b64(&vec![1u8; 1 << 20]);
    assert_eq!(
        post(&node, "/events", json!({"event": exactly}))
            .await
            .status,
        StatusCode::OK
    );
    let many: Vec<String> = (0..10_001u32).map(|i| hexd(&i.to_be_bytes())).collect();
    post(&node, "/events/bulk", json!({"digests": many}))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE);
    let huge = vec![b' '; (16 << 20) + 1];
    call(&node, "POST", "/events", Some(KEY), huge)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing was appended by any of the bad requests.
    assert_eq!(get(&node, "/snapshot").await.json()["size"], 1);
    node.shutdown().await;
}

#[tokio::test]
async fn an_empty_log_answers_404_to_every_proof() {
    let (_dir, node) = single_in_temp_dir().await;
    for path in ["/snapshot", "/checkpoint", "/leaves/0", "/snapshot/0"] {
        get(&node, path).await.assert_error(StatusCode::NOT_FOUND);
    }
    for (path, body) in [
        ("/proofs/membership", json!({"event": b64(b"a")})),
        ("/proofs/digest-membership", json!({"digest": hexd(b"a")})),
        ("/proofs/incremental", json!({"start": 0, "end": 0})),
    ] {
        post(&node, path, body)
            .await
            .assert_error(StatusCode::NOT_FOUND);
    }
    assert_eq!(get(&node, "/info").await.json()["size"], 0);
    node.shutdown().await;
}

#[tokio::test]
async fn proofs_and_reads_with_their_error_cases() {
    let (_dir, node) = single_in_temp_dir().await;
    for e in [b"a", b"b", b"c"] {
        assert_eq!(
            post(&node, "/events", json!({"event": b64(e)}))
                .await
                .status,
            StatusCode::OK
        );
    }
    // Membership, by event and by digest, latest and at a version.
    let m = post(&node, "/proofs/membership", json!({"event": b64(b"b")})).await;
    assert_eq!(m.status, StatusCode::OK);
    assert_eq!(m.headers["content-type"], "application/json");
    // Proof answers are written by sonic-rs: byte for byte what serde_json writes for the same
    // typed answer (its checkpoint note has newlines and a non-ASCII dash to escape or not).
    let typed: qed_core::verify::MembershipAnswer = serde_json::from_slice(&m.body).unwrap();
    assert_eq!(
        String::from_utf8(serde_json::to_vec(&typed).unwrap()).unwrap(),
        String::from_utf8(m.body.clone()).unwrap()
    );
    let m = m.json();
    assert_eq!(
        (
            m["member"].as_bool(),
            m["version"].as_u64(),
            m["query_version"].as_u64()
        ),
        (Some(true), Some(1), Some(2))
    );
    let m = post(
        &node,
        "/proofs/digest-membership",
        json!({"digest": hexd(b"c"), "version": 1}),
    )
    .await
    .json();
    assert_eq!(
        (m["member"].as_bool(), m["version"].as_u64()),
        (Some(false), Some(2))
    );
    let m = post(
        &node,
        "/proofs/digest-membership",
        json!({"digest": hexd(b"zz")}),
    )
    .await
    .json();
    assert_eq!(m["member"], false);
    post(
        &node,
        "/proofs/membership",
        json!({"event": b64(b"a"), "version": 3}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND);
    post(
        &node,
        "/proofs/membership",
        json!({"event": b64(b"a"), "version": -1}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST);
    post(
        &node,
        "/proofs/membership",
        json!({"event": b64(b"a"), "version": "1"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST);
    post(&node, "/proofs/membership", json!({"digest": hexd(b"a")}))
        .await
        .assert_error(StatusCode::BAD_REQUEST);
    post(&node, "/proofs/membership", json!({"event": "%%"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST);
    post(&node, "/proofs/membership", json!({"event": ""}))
        .await
        .assert_error(StatusCode::BAD_REQUEST);
    post(
        &node,
        "/proofs/digest-membership",
        json!({"event": b64(b"a")}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST);
    post(&node, "/proofs/digest-membership", json!({"digest": "00"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST);
    post(&node, "/proofs/digest-membership", json!({}))
        .await
        .assert_error(StatusCode::BAD_REQUEST);
    // Incremental.
    let i = post(&node, "/proofs/incremental", json!({"start": 0, "end": 2})).await;
    assert_eq!(i.status, StatusCode::OK);
    assert_eq!(
        (i.json()["start"].as_u64(), i.json()["end"].as_u64()),
        (Some(0), Some(2))
    );
    post(&node, "/proofs/incremental", json!({"start": 2, "end": 1}))
        .await
        .assert_error(StatusCode::BAD_REQUEST);
    post(&node, "/proofs/incremental", json!({"start": 0, "end": 3}))
        .await
        .assert_error(StatusCode::NOT_FOUND);
    post(&node, "/proofs/incremental", json!({"start": 0}))
        .await
        .assert_error(StatusCode::BAD_REQUEST);
    post(
        &node,
        "/proofs/incremental",
        json!({"start": 0, "end": 1.5}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST);
    call(&node, "POST", "/proofs/incremental", None, b"{".to_vec())
        .await
        .assert_error(StatusCode::BAD_REQUEST);
    // Snapshots, checkpoint, leaves.
    let s = get(&node, "/snapshot").await.json();
    assert_eq!(
        (s["size"].as_u64(), s["version"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(get(&node, "/snapshot/2").await.json()["size"], 2);
    get(&node, "/snapshot/7")
        .await
        .assert_error(StatusCode::NOT_FOUND);
    get(&node, "/snapshot/x")
        .await
        .assert_error(StatusCode::BAD_REQUEST);
    let c = get(&node, "/checkpoint").await;
    assert_eq!(c.status, StatusCode::OK);
    assert_eq!(c.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        String::from_utf8(c.body).unwrap(),
        s["checkpoint"].as_str().unwrap()
    );
    let l = get(&node, "/leaves/1").await.json();
    assert_eq!(
        (l["version"].as_u64(), l["digest"].as_str()),
        (Some(1), Some(hexd(b"b").as_str()))
    );
    for (path, status) in [
        ("/leaves/3", StatusCode::NOT_FOUND),
        ("/leaves/-1", StatusCode::BAD_REQUEST),
        ("/leaves/99999999999999999999999", StatusCode::BAD_REQUEST),
    ] {
        get(&node, path).await.assert_error(status);
    }
    node.shutdown().await;
}

#[tokio::test]
async fn service_endpoints_methods_and_unknown_paths() {
    let (_dir, node) = single_in_temp_dir().await;
    let h = get(&node, "/healthcheck").await;
    assert_eq!(
        (h.status, h.json()["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let head = call(&node, "HEAD", "/healthcheck", None, vec![]).await;
    assert_eq!(head.status, StatusCode::OK);
    let info = get(&node, "/info").await.json();
    assert_eq!(info["node_id"], "node0");
    assert_eq!(info["origin"], "test.local/log");
    assert_eq!(info["role"], "leader");
    assert_eq!(info["leader_id"], "node0");
    assert!(
        info["verifier_key"]
            .as_str()
            .unwrap()
            .starts_with("test.local/log+")
    );
    let shards = get(&node, "/info/shards").await.json();
    assert_eq!(shards["leader_id"], "node0");
    assert_eq!(shards["members"][0]["http_url"], node.info.http_url);
    assert_eq!(shards["members"][0]["role"], "leader");
    for (method, path, status) in [
        ("GET", "/events", StatusCode::METHOD_NOT_ALLOWED),
        ("DELETE", "/snapshot", StatusCode::METHOD_NOT_ALLOWED),
        ("GET", "/nope", StatusCode::NOT_FOUND),
    ] {
        call(&node, method, path, None, vec![])
            .await
            .assert_error(status);
    }
    node.shutdown().await;
}

#[tokio::test]
async fn writes_on_a_node_that_is_not_the_leader_are_redirected() {
    let (_dir, node) = single_in_temp_dir().await;
    // The same router, but as seen by another member: the leader is someone else.
    let mut follower = node.api.clone();
    follower.id = follower.id.wrapping_add(1);
    let router = qed_server::api::router(follower);
    let body = json!({"event": b64(b"e")}).to_string().into_bytes();
    for path in ["/events", "/events/bulk"] {
        let a = call_router(router.clone(), "POST", path, Some(KEY), body.clone()).await;
        a.assert_error(StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(
            a.headers["location"],
            format!("{}{path}", node.info.http_url)
        );
    }
    // The key is still checked first.
    let a = call_router(router.clone(), "POST", "/events", None, body).await;
    a.assert_error(StatusCode::UNAUTHORIZED);
    // Reads are answered locally.
    assert_eq!(
        call_router(router, "GET", "/healthcheck", None, vec![])
            .await
            .status,
        StatusCode::OK
    );
    node.shutdown().await;
}

#[tokio::test]
async fn state_and_next_version_survive_a_restart() {
    let (dir, node) = single_in_temp_dir().await;
    for e in [b"a", b"b"] {
        post(&node, "/events", json!({"event": b64(e)})).await;
    }
    let before = get(&node, "/snapshot").await.json();
    node.shutdown().await;
    let node = single(dir.path()).await;
    assert_eq!(get(&node, "/snapshot").await.json(), before);
    let c = post(&node, "/events", json!({"event": b64(b"c")}))
        .await
        .json();
    assert_eq!(c["version"], 2);
    let a = post(&node, "/events", json!({"event": b64(b"a")}))
        .await
        .json();
    assert_eq!(
        (a["version"].as_u64(), a["duplicate"].as_bool()),
        (Some(0), Some(true))
    );
    node.shutdown().await;
}
