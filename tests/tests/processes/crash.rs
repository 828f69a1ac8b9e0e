//! Crash: writers keep adding (single and bulk) while the node is killed with SIGKILL at random
//! moments, six times, and restarted each time with the same flags. Afterwards:
//!
//! - every acknowledged event is still a member, at the version it was acknowledged with, with
//!   a valid proof;
//! - every snapshot seen before a crash is consistent with the latest snapshot after it (checked
//!   after every restart for the snapshots seen since the last check and the previous latest;
//!   consistency is transitive, so this links every snapshot to the final one), and no two
//!   snapshots of one size differ;
//! - no version was handed out twice: distinct digests never share a version.
//!
//! The node flushes its tree every megabyte of changed pages (the harness's small cache), and
//! the test checks that flushes happened: kills land both before and after them, so recovery
//! replays the Raft log onto a stored tree that is behind the acknowledged state.
//!
//! The moments are random; the seed is printed and `QED_TEST_SEED` replays it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qed_agents::client::{Client, ClientError, ClientOptions, Subject, verify};
use qed_core::Hash;
use qed_core::hash::digest;
use qed_core::snapshot::{SnapshotJson, VerifierKey};
use qed_core::verify::check_consistent;
use qed_tests::{Node, Rng};

const KILLS: usize = 6;
const WRITERS: usize = 4;
const BULK: usize = 20;

/// What the writers were told.
#[derive(Default)]
struct Acks {
    /// Every acknowledged (digest, version).
    events: Vec<(Hash, u64)>,
    /// Every snapshot seen, by size, not yet checked against a later latest snapshot.
    unchecked: BTreeMap<u64, SnapshotJson>,
    /// Every snapshot seen, by size.
    all: BTreeMap<u64, SnapshotJson>,
    /// Anything a writer found wrong (a receipt that does not verify, a 4xx).
    failures: Vec<String>,
}

impl Acks {
    fn saw(&mut self, snapshot: &SnapshotJson, key: &VerifierKey) {
        if let Some(old) = self.all.get(&snapshot.size) {
            if let Err(e) = same_size(old, snapshot, key) {
                self.failures
                    .push(format!("two snapshots of size {}: {e}", snapshot.size));
            }
            return;
        }
        self.all.insert(snapshot.size, snapshot.clone());
        self.unchecked.insert(snapshot.size, snapshot.clone());
    }
}

fn same_size(a: &SnapshotJson, b: &SnapshotJson, key: &VerifierKey) -> Result<(), String> {
    let (a, b) = (
        a.open(key).map_err(|e| e.to_string())?,
        b.open(key).map_err(|e| e.to_string())?,
    );
    check_consistent(&a, &b, &[]).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_kill_9() {
    let started = Instant::now();
    let mut rng = Rng::from_env("crash");
    let mut node = Node::start().await;
    let key = node.key();
    let checker = node.client();
    let acks = Arc::new(Mutex::new(Acks::default()));
    let mut latest: Option<SnapshotJson> = None;
    // Flushes of the ledger's tree before the kills: the crashes must also land after some.
    let mut flushes = 0.0;

    for round in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let client = node.client_with(ClientOptions {
                    max_retries: 0,
                    timeout: Duration::from_secs(5),
                    connect_timeout: Duration::from_millis(500),
                    ..ClientOptions::default()
                });
                tokio::spawn(writer(
                    client,
                    key.clone(),
                    acks.clone(),
                    stop.clone(),
                    format!("crash r{round} w{w}"),
                ))
            })
            .collect();
        // Let the load build up, then pull the plug at a random moment.
        tokio::time::sleep(Duration::from_millis(rng.range(300, 1500))).await;
        let page = node.metrics().await;
        flushes += qed_tests::metric_value(&page, "qed_state_flush_seconds_count").unwrap_or(0.0);
        node.kill9().await;
        stop.store(true, Ordering::SeqCst);
        for w in writers {
            w.await.expect("a writer panicked");
        }
        node.restart().await;
        latest = Some(check_snapshots(&checker, &key, &acks, latest.as_ref()).await);
        let n = acks.lock().unwrap().events.len();
        eprintln!(
            "crash round {round}: {n} events acknowledged so far, {:?} elapsed",
            started.elapsed()
        );
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "the crash test is taking too long"
        );
    }

    let acks = Arc::try_unwrap(acks)
        .ok()
        .expect("the writers are done")
        .into_inner()
        .unwrap();
    assert!(
        acks.failures.is_empty(),
        "writers saw: {:#?}",
        &acks.failures[..acks.failures.len().min(10)]
    );
    assert!(
        acks.events.len() > 50,
        "too little load to mean anything: {}",
        acks.events.len()
    );
    assert!(flushes > 0.0, "no flush of the tree before any kill");
    let by_version = versions_are_unique(&acks.events);
    every_ack_is_a_member(&checker, &key, &acks.events).await;

    // A sample of versions: the leaf there is the digest acknowledged for it.
    let versions: Vec<u64> = by_version.keys().copied().collect();
    for _ in 0..50 {
        let v = versions[rng.range(0, versions.len() as u64) as usize];
        let leaf = checker.leaf(v).await.unwrap();
        verify::receipt(&leaf, &key, &by_version[&v]).unwrap();
    }
    // A sample of all snapshots, directly against the final one.
    let last = latest.expect("six rounds ran");
    let sizes: Vec<u64> = acks.all.keys().copied().collect();
    for _ in 0..50 {
        let old = &acks.all[&sizes[rng.range(0, sizes.len() as u64) as usize]];
        let inc = checker
            .incremental(old.size - 1, last.size - 1)
            .await
            .unwrap();
        verify::incremental(&inc, old, &last, &key).unwrap();
    }
    eprintln!(
        "crash: {} events, {} snapshots, {} kills ({flushes} flushes before them) in {:?}",
        acks.events.len(),
        acks.all.len(),
        KILLS,
        started.elapsed()
    );
}

/// Adds unique events (three singles, then a bulk) until told to stop; records what was
/// acknowledged after checking it.
async fn writer(
    client: Client,
    key: VerifierKey,
    acks: Arc<Mutex<Acks>>,
    stop: Arc<AtomicBool>,
    name: String,
) {
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let result = if n.is_multiple_of(4) {
            let events: Vec<Vec<u8>> = (0..BULK)
                .map(|i| format!("{name} n{n} b{i}").into_bytes())
                .collect();
            let digests: Vec<Hash> = events.iter().map(|e| digest(e)).collect();
            client.add_bulk(&events).await.map(|answer| {
                let checked = verify::bulk(&answer, &key, &digests)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                let acked = answer
                    .entries
                    .iter()
                    .map(|e| (e.digest, e.version))
                    .collect::<Vec<_>>();
                (acked, answer.snapshot, checked)
            })
        } else {
            let event = format!("{name} n{n}").into_bytes();
            client.add(&event).await.map(|receipt| {
                let checked = verify::receipt(&receipt, &key, &digest(&event))
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                (
                    vec![(receipt.digest, receipt.version)],
                    receipt.snapshot,
                    checked,
                )
            })
        };
        match result {
            Ok((acked, snapshot, checked)) => {
                let mut a = acks.lock().unwrap();
                if let Err(e) = checked {
                    a.failures
                        .push(format!("{name} n{n}: an answer that does not verify: {e}"));
                }
                a.events.extend(acked);
                a.saw(&snapshot, &key);
            }
            // The node is being killed or restarted: expected. Anything else is a failure.
            Err(e) if e.is_retryable() => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => {
                acks.lock()
                    .unwrap()
                    .failures
                    .push(format!("{name} n{n}: {e}"));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// After a restart: the latest snapshot is at least as large as every snapshot seen, and
/// consistent with each one seen since the last check and with the previous latest.
async fn check_snapshots(
    client: &Client,
    key: &VerifierKey,
    acks: &Mutex<Acks>,
    previous: Option<&SnapshotJson>,
) -> SnapshotJson {
    let latest = client.snapshot().await.unwrap();
    verify::snapshot(&latest, key).unwrap();
    let unchecked: Vec<SnapshotJson> = {
        let mut a = acks.lock().unwrap();
        a.saw(&latest, key);
        std::mem::take(&mut a.unchecked).into_values().collect()
    };
    for old in unchecked.iter().chain(previous) {
        assert!(
            old.size <= latest.size,
            "a snapshot of size {} was seen, but after the crash the log has {}",
            old.size,
            latest.size
        );
        if old.size == latest.size {
            same_size(old, &latest, key).unwrap();
            continue;
        }
        let inc = client
            .incremental(old.size - 1, latest.size - 1)
            .await
            .unwrap();
        verify::incremental(&inc, old, &latest, key).unwrap_or_else(|e| {
            panic!(
                "the snapshot of size {} is not consistent with the latest ({}): {e}",
                old.size, latest.size
            )
        });
    }
    latest
}

/// No version was given to two different digests, and no digest got two versions.
fn versions_are_unique(events: &[(Hash, u64)]) -> HashMap<u64, Hash> {
    let mut by_version = HashMap::new();
    let mut by_digest = HashMap::new();
    for (d, v) in events {
        if let Some(other) = by_version.insert(*v, *d) {
            assert_eq!(&other, d, "version {v} was handed out twice");
        }
        if let Some(other) = by_digest.insert(*d, *v) {
            assert_eq!(&other, v, "a digest was acknowledged at two versions");
        }
    }
    by_version
}

/// Every acknowledged digest is a member at its version, with a valid proof (4 in flight).
async fn every_ack_is_a_member(client: &Client, key: &VerifierKey, events: &[(Hash, u64)]) {
    let chunks: Vec<Vec<(Hash, u64)>> = events
        .chunks(events.len().div_ceil(4).max(1))
        .map(<[_]>::to_vec)
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in chunks {
        let (client, key) = (client.clone(), key.clone());
        tasks.spawn(async move {
            for (d, v) in chunk {
                let (_, verdict) = client
                    .membership_verified(Subject::Digest(d), None, &key)
                    .await
                    .unwrap_or_else(|e: ClientError| {
                        panic!("acknowledged version {v} does not check out: {e}")
                    });
                assert!(
                    verdict.member,
                    "acknowledged version {v} is not a member any more"
                );
                assert_eq!(verdict.version, Some(v));
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a membership checker panicked");
    }
}
