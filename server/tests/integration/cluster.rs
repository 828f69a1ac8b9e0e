//! A two-node cluster in one process: a follower joins through the management API, catches up
//! through a Raft snapshot (the log is compacted first), serves the same signed snapshots,
//! redirects writes to the leader, and Raft and management traffic needs the key.

use std::time::Duration;

use crate::common::*;
use axum::http::StatusCode;
use qed_server::consensus::RaftOptions;
use qed_server::node::Node;
use serde_json::json;

/// The status a request gets.
async fn status(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.unwrap().status().as_u16()
}

async fn wait_size(node: &Node, size: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if get(node, "/info").await.json()["size"] == size {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} never reached size {size}",
            node.info.node_id
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_joins_catches_up_by_snapshot_and_redirects_writes() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    let small = RaftOptions {
        snapshot_every: 10,
        keep_behind_snapshot: 2,
        heartbeat_ms: 100,
    };
    let mut c0 = config(dir.path(), "node0", &key);
    c0.raft = small.clone();
    let leader = Node::start(c0).await.unwrap();
    wait_leader(&leader).await;
    for i in 0..30u32 {
        let a = post(
            &leader,
            "/events",
            json!({"digest": qed_core::hash::to_hex(&qed_core::hash::digest(&i.to_be_bytes()))}),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
    }
    // The leader compacted its log: a new member can only catch up through a snapshot.
    leader
        .raft
        .wait(Some(Duration::from_secs(20)))
        .metrics(
            |m| m.purged.is_some() && m.snapshot.is_some(),
            "log purged behind a snapshot",
        )
        .await
        .unwrap();

    let mut c1 = config(dir.path(), "node1", &key);
    c1.raft = small;
    c1.join_addr = Some(leader.info.mgmt_url.clone());
    let follower = Node::start(c1).await.unwrap();
    wait_size(&follower, 30).await;
    // The snapshot that brought the state predates the join: the membership entry that names
    // the follower may reach it just after.
    follower
        .raft
        .wait(Some(Duration::from_secs(10)))
        .metrics(
            |m| m.membership_config.membership().nodes().count() == 2,
            "the follower sees both members",
        )
        .await
        .unwrap();
    assert_eq!(
        get(&follower, "/snapshot").await.json(),
        get(&leader, "/snapshot").await.json()
    );
    let shards = get(&follower, "/info/shards").await.json();
    assert_eq!(shards["leader_id"], "node0");
    assert_eq!(shards["members"].as_array().unwrap().len(), 2);

    // Writes on the follower are redirected to the leader; proofs are answered locally.
    let a = call(
        &follower,
        "POST",
        "/events",
        Some(KEY),
        json!({"event": "aGk="}).to_string().into_bytes(),
    )
    .await;
    a.assert_error(StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        a.headers["location"],
        format!("{}/events", leader.info.http_url)
    );
    let m = post(
        &follower,
        "/proofs/incremental",
        json!({"start": 3, "end": 29}),
    )
    .await;
    assert_eq!(m.status, StatusCode::OK);

    // New writes replicate.
    post(&leader, "/events/bulk", json!({"events": ["YQ==", "Yg=="]})).await;
    wait_size(&follower, 32).await;
    assert_eq!(
        get(&follower, "/snapshot").await.json(),
        get(&leader, "/snapshot").await.json()
    );

    // Joining again is harmless.
    let client = reqwest::Client::new();
    let join = || {
        client
            .post(format!("{}/join", leader.info.mgmt_url))
            .json(&follower.info)
    };
    assert_eq!(status(join().header("Api-Key", KEY)).await, 200);

    // Raft and management traffic without the key is refused.
    let raft = |rpc: &str| {
        client
            .post(format!("http://{}/raft/{rpc}", leader.info.raft_addr))
            .body(vec![0u8; 8])
    };
    assert_eq!(status(raft("vote")).await, 401);
    assert_eq!(status(raft("append").header("Api-Key", "nope")).await, 401);
    assert_eq!(status(join()).await, 401);

    follower.shutdown().await;
    leader.shutdown().await;
}
