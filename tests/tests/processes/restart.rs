//! Restart: a node stopped cleanly (SIGTERM) and started again with the same flags keeps its
//! roots, its signed snapshots and its next version.

use std::time::Duration;

use qed_agents::client::{Subject, verify};
use qed_core::hash::digest;
use qed_tests::Node;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_clean_restart() {
    let mut node = Node::start().await;
    let key = node.key();
    let client = node.client();

    let mut receipts = Vec::new();
    for i in 0..5 {
        let event = format!("restart single {i}").into_bytes();
        receipts.push((
            event.clone(),
            client.add_verified(&event, &key).await.unwrap().0,
        ));
    }
    let bulk: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("restart bulk {i}").into_bytes())
        .collect();
    let answer = client.add_bulk(&bulk).await.unwrap();
    verify::bulk(
        &answer,
        &key,
        &bulk.iter().map(|e| digest(e)).collect::<Vec<_>>(),
    )
    .unwrap();
    let before = client.snapshot().await.unwrap();
    assert_eq!(before.size, 205);
    let info_before = client.info().await.unwrap();

    let status = node.stop(Duration::from_secs(20)).await;
    assert!(
        status.success(),
        "a clean shutdown exits 0, not {status}:\n{}",
        node.log_tail(30)
    );
    assert!(client.healthcheck().await.is_err(), "the node is down");
    node.restart().await;

    // The same latest snapshot, byte for byte, and the same signed snapshots by size.
    let after = client.snapshot().await.unwrap();
    assert_eq!(after, before);
    for (_, r) in &receipts {
        assert_eq!(
            client.snapshot_at(r.snapshot.size).await.unwrap(),
            r.snapshot
        );
    }
    assert_eq!(
        client.snapshot_at(answer.snapshot.size).await.unwrap(),
        answer.snapshot
    );
    let info_after = client.info().await.unwrap();
    assert_eq!(
        (
            info_after.size,
            &info_after.verifier_key,
            &info_after.origin
        ),
        (205, &info_before.verifier_key, &info_before.origin)
    );

    // Old events are still members with valid proofs, at their versions; old snapshots are
    // consistent with the new ones.
    for (event, r) in &receipts {
        let (_, verdict) = client
            .membership_verified(Subject::Event(event), None, &key)
            .await
            .unwrap();
        assert_eq!(verdict.version, Some(r.version));
        let (_, verdict) = client
            .membership_verified_with(Subject::Event(event), &r.snapshot, &key)
            .await
            .unwrap();
        assert!(verdict.member);
    }

    // The next version is the one after the last, and duplicates are still recognised.
    let (r, _) = client.add_verified(b"restart after", &key).await.unwrap();
    assert_eq!((r.version, r.duplicate), (205, false));
    let (r, _) = client.add_verified(&bulk[10], &key).await.unwrap();
    assert_eq!((r.version, r.duplicate), (15, true));
    let (r, _) = client.add_verified(&receipts[0].0, &key).await.unwrap();
    assert_eq!((r.version, r.duplicate), (0, true));
    let latest = client.snapshot().await.unwrap();
    assert_eq!(latest.size, 206);
    for held in [&receipts[0].1.snapshot, &before] {
        let inc = client
            .incremental(held.size - 1, latest.size - 1)
            .await
            .unwrap();
        verify::incremental(&inc, held, &latest, &key).unwrap();
    }

    // And once more, with the node stopped right after a write.
    let bulk2: Vec<Vec<u8>> = (0..50)
        .map(|i| format!("restart bulk two {i}").into_bytes())
        .collect();
    let answer2 = client.add_bulk(&bulk2).await.unwrap();
    assert!(node.stop(Duration::from_secs(20)).await.success());
    node.restart().await;
    assert_eq!(client.snapshot().await.unwrap(), answer2.snapshot);
    let (r, _) = client
        .add_verified(b"restart after two", &key)
        .await
        .unwrap();
    assert_eq!(r.version, 256);
}
