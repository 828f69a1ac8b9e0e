//! The Raft cluster with real `qed start` processes on loopback: joins through any member,
//! repeated joins and rejoins after a restart, authentication of Raft and management traffic,
//! `GET /info/shards` and the Raft metrics, failover under load after `kill -9` of the leader,
//! and the catch-up of a member through an openraft snapshot once the log is compacted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qed_agents::client::{Client, ClientOptions, Subject};
use qed_core::Hash;
use qed_core::hash::digest;
use qed_tests::{Cluster, Node, quick_client};
use serde_json::{Value, json};

const CONVERGE: Duration = Duration::from_secs(60);

/// `n` distinct digests, unique to `tag`.
fn digests(tag: &str, n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| digest(format!("{tag} {i}").as_bytes()))
        .collect()
}

/// The JSON body `POST /join` takes for `node`.
fn join_body(node: &Node) -> Value {
    json!({
        "node_id": node.node_id,
        "http_url": format!("http://{}", node.http_addr),
        "raft_addr": node.raft_addr.to_string(),
        "mgmt_url": format!("http://{}", node.mgmt_addr),
    })
}

/// A management API call with the node's key (or none); the status and the JSON answer.
async fn mgmt(
    node: &Node,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("http://{}{path}", node.mgmt_addr);
    let http = reqwest::Client::new();
    let mut req = match method {
        "GET" => http.get(&url),
        _ => http.post(&url),
    };
    if let Some(k) = key {
        req = req.header("Api-Key", k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `GET /info/shards` of a node.
async fn shards(node: &Node) -> qed_agents::client::Shards {
    quick_client(node).shards().await.expect("GET /info/shards")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_join_through_any_member_rejoin_and_guard_their_apis() {
    // n1 joins through the leader n0, n2 through the follower n1 (which forwards to n0).
    let mut cluster = Cluster::start(3).await;
    let leader = &cluster.nodes[0];
    let key = leader.api_key.clone();
    let answer = leader
        .client()
        .add_bulk_digests(&digests("join", 100))
        .await
        .unwrap();
    assert_eq!(answer.snapshot.size, 100);

    // Every member lists every member, with its URLs and role, and the leader.
    for node in &cluster.nodes {
        let s = shards(node).await;
        assert_eq!(
            s.leader_id.as_deref(),
            Some("n0"),
            "as {} sees it",
            node.node_id
        );
        assert_eq!(s.members.len(), 3, "{s:?}");
        for m in &cluster.nodes {
            let listed = s.members.iter().find(|x| x.node_id == m.node_id).unwrap();
            assert_eq!(listed.http_url, format!("http://{}", m.http_addr));
            assert_eq!(listed.raft_addr, m.raft_addr.to_string());
            assert_eq!(listed.mgmt_url, format!("http://{}", m.mgmt_addr));
            let role = if m.node_id == "n0" {
                "leader"
            } else {
                "follower"
            };
            assert_eq!(listed.role, role);
        }
    }

    // Joining again with the same id, through the leader or a follower, changes nothing.
    for via in [0, 2] {
        let (status, view) = mgmt(
            &cluster.nodes[via],
            "POST",
            "/join",
            Some(&key),
            Some(join_body(&cluster.nodes[1])),
        )
        .await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["members"].as_array().map(Vec::len), Some(3), "{view}");
    }

    // A node that signs with another key cannot join: members must sign identical snapshots.
    let mut other = join_body(&cluster.nodes[1]);
    other["node_id"] = json!("stranger");
    other["verifier_key"] = json!("other.local/log+01234567+AAAA");
    let (status, refusal) = mgmt(leader, "POST", "/join", Some(&key), Some(other)).await;
    assert_eq!(status, 409, "{refusal}");
    let mut same = join_body(&cluster.nodes[1]);
    same["verifier_key"] = json!(leader.signer.verifier_key);
    assert_eq!(
        mgmt(leader, "POST", "/join", Some(&key), Some(same))
            .await
            .0,
        200
    );

    // Raft and management traffic without the key (or with a wrong one) is refused.
    let http = reqwest::Client::new();
    for (path, k) in [
        ("/raft/vote", None),
        ("/raft/append", Some("wrong")),
        ("/raft/snapshot", None),
    ] {
        let mut req = http
            .post(format!("http://{}{path}", leader.raft_addr))
            .body(vec![0u8; 16]);
        if let Some(k) = k {
            req = req.header("Api-Key", k);
        }
        assert_eq!(
            req.send().await.unwrap().status(),
            401,
            "{path} with key {k:?}"
        );
    }
    for (method, path) in [("GET", "/members"), ("POST", "/join"), ("POST", "/compact")] {
        let body = Some(join_body(&cluster.nodes[2]));
        assert_eq!(
            mgmt(leader, method, path, None, body.clone()).await.0,
            401,
            "{path}"
        );
        assert_eq!(
            mgmt(leader, method, path, Some("wrong"), body).await.0,
            401,
            "{path}"
        );
    }

    // The Raft metrics: term, leader, commit and applied indexes, replication lag per follower.
    let page = leader.metrics().await;
    let value =
        |s: &str| qed_tests::metric_value(&page, s).unwrap_or_else(|| panic!("no {s} in:\n{page}"));
    assert!(value("qed_raft_term") >= 1.0);
    assert_eq!(value("qed_raft_is_leader"), 1.0);
    assert_eq!(value("qed_raft_leader{leader=\"n0\"}"), 1.0);
    assert!(
        value("qed_raft_commit_index") >= 4.0,
        "bootstrap, 2 joins, 1 add"
    );
    assert!(value("qed_raft_applied_index") >= 4.0);
    for f in ["n1", "n2"] {
        assert!(value(&format!("qed_raft_replication_lag{{follower=\"{f}\"}}")) >= 0.0);
    }
    let follower = &cluster.nodes[1];
    assert_eq!(
        follower.metric("qed_raft_leader{leader=\"n0\"}").await,
        Some(1.0)
    );
    assert_eq!(follower.metric("qed_raft_is_leader").await, Some(0.0));

    // A member stopped and started again with the same flags (it joins through n1 again) keeps
    // its data and catches up with what it missed.
    cluster.nodes[2].stop(Duration::from_secs(30)).await;
    let client = cluster.nodes[0].client();
    client
        .add_bulk_digests(&digests("while n2 was away", 200))
        .await
        .unwrap();
    cluster.nodes[2].restart_member().await;
    cluster.wait_converged(300, CONVERGE).await;
    assert_eq!(shards(&cluster.nodes[2]).await.members.len(), 3);
    client
        .add_bulk_digests(&digests("after the rejoin", 10))
        .await
        .unwrap();
    cluster.wait_converged(310, CONVERGE).await;
}

/// What the writers of the failover test saw: every acknowledged digest with its version and
/// when each acknowledgement arrived.
#[derive(Default)]
struct Acks {
    events: Vec<(Hash, u64)>,
    times: Vec<Instant>,
    errors: Vec<String>,
}

/// Adds single digests one after the other until `stop` is set, through a client that knows
/// only the first leader's URL (it finds the next leader itself, through `GET /info/shards`).
async fn writer(
    client: Client,
    tag: String,
    acks: Arc<Mutex<Acks>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut i = 0u64;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 100_000 {
        let d = digest(format!("{tag} {i}").as_bytes());
        i += 1;
        let result = client.add_digest(&d).await;
        let mut a = acks.lock().unwrap();
        match result {
            Ok(r) => {
                assert_eq!(r.digest, d);
                a.events.push((d, r.version));
                a.times.push(Instant::now());
            }
            Err(e) => a.errors.push(e.to_string()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_under_load_loses_no_acknowledged_event() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader(Duration::from_secs(10)).await;
    let key = cluster.nodes[leader].key();
    let opts = ClientOptions {
        max_retries: 40,
        retry_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(250),
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_millis(500),
        ..ClientOptions::default()
    };
    let client = cluster.nodes[leader].client_with(opts);
    let acks = Arc::new(Mutex::new(Acks::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            tokio::spawn(writer(
                client.clone(),
                format!("failover writer {w}"),
                acks.clone(),
                stop.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = acks.lock().unwrap().events.len();
    assert!(before > 0, "the load is running before the kill");
    let killed_at = Instant::now();
    cluster.nodes[leader].kill9().await;

    // A new leader is elected and the load goes on through it.
    let new_leader = cluster.leader(Duration::from_secs(10)).await;
    let elected = Instant::now();
    assert_ne!(new_leader, leader);
    let deadline = elected + Duration::from_secs(20);
    while acks
        .lock()
        .unwrap()
        .times
        .last()
        .is_none_or(|t| *t < elected)
    {
        assert!(
            Instant::now() < deadline,
            "no write was acknowledged within 20 s of the election"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    // Answers the old leader had sent before it died can still arrive just after the kill, so the
    // unavailability is the longest silence between two acknowledgements, as writers saw it.
    let unavailable = longest_gap(acks.times.clone());
    eprintln!(
        "failover: {} events acknowledged ({before} before the kill), new leader agreed {:?} after \
         the kill, write unavailability {unavailable:?}, {} failed requests",
        acks.events.len(),
        elected - killed_at,
        acks.errors.len()
    );
    assert!(
        unavailable < Duration::from_secs(5),
        "writes were unavailable for {unavailable:?}"
    );
    assert!(
        acks.errors.is_empty(),
        "requests failed after the client's retries: {:?}",
        acks.errors
    );

    // Every acknowledged event is a member, at its acknowledged version, on every survivor.
    let size = acks.events.len() as u64;
    cluster.wait_converged(size, CONVERGE).await;
    for node in cluster.running() {
        assert_members(node, &acks.events, &key).await;
    }

    // The killed leader restarts with the same flags, rejoins and converges to the same roots.
    cluster.nodes[leader].restart_member().await;
    client
        .add_digest(&digest(b"after the restart"))
        .await
        .unwrap();
    let last = cluster.wait_converged(size + 1, CONVERGE).await;
    assert_eq!(
        quick_client(&cluster.nodes[leader])
            .snapshot()
            .await
            .unwrap(),
        last
    );
}

/// The longest time between two consecutive instants.
fn longest_gap(mut times: Vec<Instant>) -> Duration {
    times.sort();
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default()
}

/// Checks, with verified membership proofs, that every `(digest, version)` is a member of the
/// node's log at that version (8 questions in flight).
async fn assert_members(
    node: &Node,
    events: &[(Hash, u64)],
    key: &qed_core::snapshot::VerifierKey,
) {
    let client = quick_client(node);
    for chunk in events.chunks(8) {
        let mut checks = tokio::task::JoinSet::new();
        for &(d, v) in chunk {
            let (client, key) = (client.clone(), key.clone());
            checks.spawn(async move {
                let (_, verdict) = client
                    .membership_verified(Subject::Digest(d), None, &key)
                    .await
                    .unwrap();
                (verdict.member, verdict.version, v)
            });
        }
        while let Some(done) = checks.join_next().await {
            let (member, version, acked) = done.unwrap();
            assert!(member, "{} lost an acknowledged event", node.node_id);
            assert_eq!(version, Some(acked), "{} renumbered an event", node.node_id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_member_catches_up_through_a_snapshot_after_compaction() {
    let mut cluster = Cluster::start(3).await;
    let client = cluster.nodes[0].client();
    client
        .add_bulk_digests(&digests("catch-up first", 10))
        .await
        .unwrap();
    cluster.wait_converged(10, CONVERGE).await;
    let stopped_at = cluster.nodes[2]
        .metric("qed_raft_applied_index")
        .await
        .unwrap();
    cluster.nodes[2].stop(Duration::from_secs(30)).await;

    // 100,000 events in bulk requests of 10,000 digests, two in flight.
    let all = digests("catch-up bulk", 100_000);
    for pair in all.chunks(20_000) {
        let (a, b) = pair.split_at(pair.len() / 2);
        let (ra, rb) = tokio::join!(client.add_bulk_digests(a), client.add_bulk_digests(b));
        ra.unwrap();
        rb.unwrap();
    }

    // Compact the leader's log: the entries n2 misses are gone, only a snapshot can bring it up.
    let (status, compacted) = mgmt(
        &cluster.nodes[0],
        "POST",
        "/compact",
        Some(&cluster.nodes[0].api_key),
        None,
    )
    .await;
    assert_eq!(status, 200, "{compacted}");
    let purged = compacted["purged_index"].as_f64().unwrap();
    assert!(
        purged > stopped_at + 1.0,
        "purged up to {purged}, n2 stopped at {stopped_at}"
    );
    assert_eq!(
        cluster.nodes[0].metric("qed_raft_purged_index").await,
        Some(purged)
    );

    cluster.nodes[2].restart_member().await;
    cluster
        .wait_converged(100_010, Duration::from_secs(120))
        .await;
    let installs = cluster.nodes[2]
        .metric("qed_raft_snapshot_install_seconds_count")
        .await;
    assert_eq!(
        installs,
        Some(1.0),
        "n2 caught up by installing exactly one snapshot"
    );
}
