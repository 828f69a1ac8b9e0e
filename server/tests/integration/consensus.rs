//! The Raft log store (durability across reopen, truncation, purge) and group commit (concurrent
//! adds share Raft entries and each gets its own correct answer).

use std::collections::HashSet;

use crate::common::*;
use axum::http::StatusCode;
use openraft::storage::{RaftLogReaderExt, RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftLogReader, Vote};
use qed_server::consensus::log_store::LogStore;
use qed_server::consensus::state::{APPLY_IN_PLACE_DIGESTS, StateMachine};
use qed_server::consensus::{Request, TypeConfig};
use serde_json::json;

fn entry(index: u64, term: u64) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
        payload: EntryPayload::Normal(Request {
            digests: vec![[index as u8; 32]],
        }),
    }
}

/// Groups small enough to apply on the state machine's task and groups that go to the blocking
/// pool apply alike: consecutive versions in order, and the applied log id recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_and_large_groups_apply_alike() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = crate::ledger::open(&dir.path().join("state"));
    let mut sm = StateMachine::new(ledger, &dir.path().join("snapshots")).unwrap();
    let sizes = [
        1,
        APPLY_IN_PLACE_DIGESTS,
        APPLY_IN_PLACE_DIGESTS + 1,
        3,
        1_000,
    ];
    let mut next = 0u64;
    for (index, size) in (1u64..).zip(sizes) {
        let log_id = LogId::new(CommittedLeaderId::new(1, 1), index);
        let digests = (0..size)
            .map(|i| qed_core::hash::digest(format!("{index}/{i}").as_bytes()))
            .collect();
        let group = Entry {
            log_id,
            payload: EntryPayload::Normal(Request { digests }),
        };
        let responses = sm.apply([group]).await.unwrap();
        let applied = responses[0].applied.as_ref().unwrap();
        let versions: Vec<u64> = applied.entries.iter().map(|e| e.version).collect();
        let end = next + size as u64;
        assert_eq!(versions, (next..end).collect::<Vec<_>>(), "group of {size}");
        assert!(applied.entries.iter().all(|e| !e.duplicate));
        assert_eq!(applied.snapshot.as_ref().unwrap().size, end);
        assert_eq!(sm.applied_state().await.unwrap().0, Some(log_id));
        next = end;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raft_log_survives_reopen_and_truncates_and_purges() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = LogStore::open(dir.path()).unwrap();
        assert_eq!(log.get_log_state().await.unwrap().last_log_id, None);
        log.blocking_append((1..=10).map(|i| entry(i, 1)))
            .await
            .unwrap();
        log.save_vote(&Vote::new(3, 1)).await.unwrap();
        log.truncate(LogId::new(CommittedLeaderId::new(1, 1), 8))
            .await
            .unwrap();
        log.purge(LogId::new(CommittedLeaderId::new(1, 1), 3))
            .await
            .unwrap();
        close(log).await;
    }
    let mut log = LogStore::open(dir.path()).unwrap();
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id.map(|l| l.index), Some(7));
    assert_eq!(state.last_purged_log_id.map(|l| l.index), Some(3));
    assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(3, 1)));
    let entries = log.try_get_log_entries(0..100).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.log_id.index).collect::<Vec<_>>(),
        vec![4, 5, 6, 7]
    );
    let e5 = log.try_get_log_entry(5).await.unwrap().unwrap();
    assert!(matches!(e5.payload, EntryPayload::Normal(ref r) if r.digests == vec![[5u8; 32]]));
    assert!(log.try_get_log_entries(8..).await.unwrap().is_empty());
    // Everything purged: the last log id is the purged one.
    log.purge(LogId::new(CommittedLeaderId::new(1, 1), 7))
        .await
        .unwrap();
    let state = log.get_log_state().await.unwrap();
    assert_eq!(
        (
            state.last_log_id.map(|l| l.index),
            state.last_purged_log_id.map(|l| l.index)
        ),
        (Some(7), Some(7))
    );
    close(log).await;
}

/// Drops the store and waits until its fsync thread has closed RocksDB: neither a reopen nor
/// the end of the test process may race that close (the process exiting under the closing
/// thread crashed with SIGSEGV once in a fresh-clone run).
async fn close(log: LogStore) {
    let closed = log.closed_watch();
    drop(log);
    while !closed.is_closed() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_share_raft_entries_and_get_distinct_versions() {
    let (_dir, node) = single_in_temp_dir().await;
    let before = node.raft.metrics().borrow().last_log_index.unwrap_or(0);
    let router = qed_server::api::router(node.api.clone());
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let router = router.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"digest": qed_core::hash::to_hex(&qed_core::hash::digest(&i.to_be_bytes()))});
            call_router(router, "POST", "/events", Some(KEY), body.to_string().into_bytes()).await
        }));
    }
    let mut versions = HashSet::new();
    for t in tasks {
        let a = t.await.unwrap();
        assert_eq!(a.status, StatusCode::OK);
        let r = a.json();
        assert!(r["snapshot"]["size"].as_u64().unwrap() > r["version"].as_u64().unwrap());
        assert!(
            versions.insert(r["version"].as_u64().unwrap()),
            "a version was handed out twice"
        );
    }
    assert_eq!(versions, (0..200).collect());
    let entries = node.raft.metrics().borrow().last_log_index.unwrap_or(0) - before;
    assert!(
        entries < 200,
        "200 concurrent adds took {entries} Raft entries: no grouping"
    );
    // The router holds readers of the Ledger; shutdown waits for every handle to go.
    drop(router);
    node.shutdown().await;
}
