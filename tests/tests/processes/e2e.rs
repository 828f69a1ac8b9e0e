//! End to end: one real `qed start` on loopback; adds (single, bulk, digests, a duplicate), every
//! receipt verified; membership (member, non-member, member at an older version against the
//! signed snapshot of that size, added-later at an older version) and incremental answers
//! verified with qed-core; typed errors; `qed client` exit codes; a short `qed workload` run.

use std::time::Duration;

use qed_agents::client::{Client, ClientError, ClientOptions, Subject, verify};
use qed_agents::workload::Report;
use qed_core::hash::{digest, to_hex};
use qed_core::receipt::Receipt;
use qed_core::snapshot::SnapshotJson;
use qed_tests::{Node, generate_key, run_qed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adds_and_proofs_verify_end_to_end() {
    let node = Node::start().await;
    let client = node.client();
    let key = node.key();

    // An empty log has no snapshot and no proofs.
    assert_eq!(client.snapshot().await.unwrap_err().status(), Some(404));
    assert_eq!(
        client.incremental(0, 0).await.unwrap_err().status(),
        Some(404)
    );

    // Single adds: versions 0, 1, 2, ... each receipt verified for its own event.
    let mut receipts: Vec<(Vec<u8>, Receipt)> = Vec::new();
    for i in 0..10u64 {
        let event = format!("e2e single {i}").into_bytes();
        let (receipt, verdict) = client.add_verified(&event, &key).await.unwrap();
        assert_eq!(receipt.version, i);
        assert_eq!(verdict.version, i);
        assert!(!receipt.duplicate);
        assert!(verdict.checkpoint.size > i);
        receipts.push((event, receipt));
    }

    // A duplicate appends nothing and answers the first version.
    let (again, _) = client.add_verified(&receipts[3].0, &key).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.version, 3);
    assert_eq!(
        client.snapshot().await.unwrap().size,
        10,
        "a duplicate appends nothing"
    );

    // Bulk adds of events (with a duplicate inside and one of an earlier event) and of digests.
    let mut bulk: Vec<Vec<u8>> = (0..50)
        .map(|i| format!("e2e bulk {i}").into_bytes())
        .collect();
    bulk.push(bulk[7].clone());
    bulk.push(receipts[0].0.clone());
    let digests: Vec<_> = bulk.iter().map(|e| digest(e)).collect();
    let answer = client.add_bulk(&bulk).await.unwrap();
    let checkpoint = verify::bulk(&answer, &key, &digests).unwrap();
    assert_eq!(checkpoint.size, 60);
    let versions: Vec<u64> = answer.entries.iter().map(|e| e.version).collect();
    assert_eq!(
        &versions[..50],
        &(10..60).collect::<Vec<_>>()[..],
        "request order"
    );
    assert_eq!((versions[50], versions[51]), (17, 0));
    assert!(answer.entries[50].duplicate && answer.entries[51].duplicate);
    assert!(answer.entries[..50].iter().all(|e| !e.duplicate));

    let raw: Vec<_> = (0..5)
        .map(|i| digest(format!("e2e digest {i}").as_bytes()))
        .collect();
    let answer = client.add_bulk_digests(&raw).await.unwrap();
    assert_eq!(verify::bulk(&answer, &key, &raw).unwrap().size, 65);
    let (r, _) = client
        .add_digest_verified(&digest(b"e2e one digest"), &key)
        .await
        .unwrap();
    assert_eq!(r.version, 65);

    // Every bulk entry is a member with a valid proof (by event and by digest).
    for (event, entry) in bulk.iter().zip(&answer_entries(&client, &bulk).await) {
        let (m, verdict) = client
            .membership_verified(Subject::Event(event), None, &key)
            .await
            .unwrap();
        assert!(verdict.member && m.member);
        assert_eq!(verdict.version, Some(*entry));
    }
    for d in &raw {
        let (_, verdict) = client
            .membership_verified(Subject::Digest(*d), None, &key)
            .await
            .unwrap();
        assert!(verdict.member);
    }

    // A non-member.
    let (m, verdict) = client
        .membership_verified(Subject::Event(b"never added"), None, &key)
        .await
        .unwrap();
    assert!(!m.member && !verdict.member);
    assert_eq!(verdict.version, None);

    // Membership at an older version, against the signed snapshot of that size that a receipt
    // handed us earlier (an auditor's own copy, not one fetched now).
    let held: SnapshotJson = receipts[4].1.snapshot.clone();
    let held_size = held.size;
    assert!((5..66).contains(&held_size));
    let (m, verdict) = client
        .membership_verified_with(Subject::Event(&receipts[2].0), &held, &key)
        .await
        .unwrap();
    assert!(verdict.member);
    assert_eq!(verdict.query_version, held_size - 1);
    assert!(
        m.consistency_proof.is_some(),
        "an older version needs a consistency proof to the current snapshot"
    );
    // An event added after that version is not a member as of it, though it has a version.
    let (m, verdict) = client
        .membership_verified_with(Subject::Event(&bulk[0]), &held, &key)
        .await
        .unwrap();
    assert!(!verdict.member && !m.member);
    assert_eq!(m.version, Some(10));
    // The same question with the snapshot fetched from the node (what `qed client` does).
    let (_, verdict) = client
        .membership_verified(Subject::Event(&receipts[2].0), Some(held_size - 1), &key)
        .await
        .unwrap();
    assert!(verdict.member);
    // A snapshot of another size does not verify an answer about this version.
    let wrong = client.snapshot().await.unwrap();
    let answer = client
        .membership(Subject::Event(&receipts[2].0), Some(held_size - 1))
        .await
        .unwrap();
    assert!(verify::membership(&answer, Some(&wrong), &key, &digest(&receipts[2].0)).is_err());

    // Incremental proofs between snapshots we hold, and from the node's own snapshots.
    let latest = client.snapshot().await.unwrap();
    let first = receipts[0].1.snapshot.clone();
    let inc = client
        .incremental(first.size - 1, latest.size - 1)
        .await
        .unwrap();
    let (old, new) = verify::incremental(&inc, &first, &latest, &key).unwrap();
    assert_eq!((old.size, new.size), (first.size, 66));
    let (_, (a, b)) = client
        .incremental_verified(held_size - 1, 65, &key)
        .await
        .unwrap();
    assert_eq!((a.size, b.size), (held_size, 66));
    // A proof checked against the wrong pair of snapshots fails.
    assert!(verify::incremental(&inc, &held, &latest, &key).is_err() || held.size == first.size);

    // Leaves, the checkpoint, snapshots by size, info.
    let leaf = client.leaf(12).await.unwrap();
    verify::receipt(&leaf, &key, &digest(&bulk[2])).unwrap();
    let checkpoint = client.checkpoint().await.unwrap();
    assert_eq!(checkpoint, latest.checkpoint);
    assert_eq!(client.snapshot_at(held_size).await.unwrap(), held);
    let (_, cp) = client.snapshot_verified(&key).await.unwrap();
    assert_eq!(cp.size, 66);
    let info = client.info().await.unwrap();
    assert_eq!(info.size, 66);
    assert_eq!(info.verifier_key, node.signer.verifier_key);
    client.healthcheck().await.unwrap();

    // Typed errors: no secret, bad requests, beyond the log.
    let anonymous = Client::new(&[node.url()], ClientOptions::default()).unwrap();
    assert_eq!(anonymous.add(b"x").await.unwrap_err().status(), Some(401));
    let wrong_secret = Client::new(
        &[node.url()],
        ClientOptions {
            api_key: Some("nope".into()),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        wrong_secret.add(b"x").await.unwrap_err().status(),
        Some(401)
    );
    assert_eq!(
        client.incremental(5, 2).await.unwrap_err().status(),
        Some(400)
    );
    assert_eq!(client.add(b"").await.unwrap_err().status(), Some(400));
    let empty: [&[u8]; 0] = [];
    assert_eq!(
        client.add_bulk(&empty).await.unwrap_err().status(),
        Some(400)
    );
    assert_eq!(client.leaf(66).await.unwrap_err().status(), Some(404));
    assert_eq!(
        client.incremental(0, 66).await.unwrap_err().status(),
        Some(404)
    );
    let beyond = client
        .membership(Subject::Event(b"x"), Some(1_000))
        .await
        .unwrap_err();
    assert_eq!(beyond.status(), Some(404), "{beyond}");
    // A forged receipt does not verify.
    let mut forged = receipts[5].1.clone();
    forged.version = 6;
    assert!(verify::receipt(&forged, &key, &forged.digest.clone()).is_err());
    assert!(matches!(
        client
            .add_verified(
                b"e2e checked against another key",
                &generate_key(&node.dir().join("other")).await.key()
            )
            .await,
        Err(ClientError::Verify(_))
    ));
}

/// The versions of a bulk's events, asked again (a bulk resubmitted answers them as duplicates).
async fn answer_entries(client: &Client, events: &[Vec<u8>]) -> Vec<u64> {
    let answer = client.add_bulk(events).await.unwrap();
    assert!(
        answer.entries.iter().all(|e| e.duplicate),
        "a resubmitted bulk is all duplicates"
    );
    answer.entries.iter().map(|e| e.version).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qed_client_exit_codes() {
    let node = Node::start().await;
    let url = node.url();
    let key = node.signer.verifier_key.clone();
    let other = generate_key(&node.dir().join("other")).await.verifier_key;
    let t = Duration::from_secs(60);
    let client = |extra: &[&str]| {
        let mut v = vec![
            "client",
            "--endpoint",
            url.as_str(),
            "-k",
            node.api_key.as_str(),
        ];
        v.extend_from_slice(extra);
        v.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| async move {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_qed(&refs, t).await
    };

    // add, verified: 0, and standard output is the receipt.
    let out = run(client(&[
        "--verify",
        "--verifier-key",
        &key,
        "add",
        "--event",
        "cli event",
    ]))
    .await;
    assert_exit(&out, 0, "");
    let receipt: Receipt = serde_json::from_slice(&out.stdout).expect("the receipt on stdout");
    assert_eq!(receipt.digest, digest(b"cli event"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("verified"));
    for i in 0..5 {
        let out = run(client(&["add", "--event", &format!("cli more {i}")])).await;
        assert_eq!(out.status.code(), Some(0));
    }

    // The same with the wrong verifier key: 1.
    let out = run(client(&[
        "--verify",
        "--verifier-key",
        &other,
        "add",
        "--event",
        "cli other",
    ]))
    .await;
    assert_exit(&out, 1, "");
    let out = run(client(&["--verify", "--verifier-key", &other, "snapshot"])).await;
    assert_eq!(out.status.code(), Some(1));

    // membership (latest, older version, by digest, non-member), incremental, snapshot: 0.
    let d = to_hex(&digest(b"cli event"));
    let version = (receipt.snapshot.size - 1).to_string();
    for args in [
        vec!["membership", "--event", "cli event"],
        vec![
            "membership",
            "--digest",
            d.as_str(),
            "--version",
            version.as_str(),
        ],
        vec!["membership", "--event", "not there"],
        vec!["incremental", "--start", "0", "--end", "3"],
        vec!["snapshot"],
    ] {
        let mut all = vec!["--verify", "--verifier-key", key.as_str()];
        all.extend(args.iter());
        let out = run(client(&all)).await;
        assert_exit(&out, 0, &format!("{args:?}: "));
        assert!(
            serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok(),
            "{args:?}: JSON on stdout"
        );
    }
    // Without --verify: 0 as long as the request succeeds.
    let out = run(client(&["membership", "--event", "cli event"])).await;
    assert_eq!(out.status.code(), Some(0));

    // Bad arguments and HTTP errors: 2.
    for args in [
        vec!["membership", "--digest", "zz"],
        vec!["membership"],
        vec!["--verify", "snapshot"],
        vec!["--verify", "--verifier-key", "junk", "snapshot"],
        vec!["incremental", "--start", "5", "--end", "2"],
        vec!["incremental", "--start", "0", "--end", "999"],
        vec!["frobnicate"],
    ] {
        let out = run(client(&args)).await;
        assert_exit(&out, 2, &format!("{args:?}: "));
    }
    let out = run(vec![
        "client".into(),
        "--endpoint".into(),
        url.clone(),
        "add".into(),
        "--event".into(),
        "no key".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "401 is an error");
}

/// Asserts that a `qed` run exited with `code`; the failure message is `context` and its
/// standard error.
fn assert_exit(out: &std::process::Output, code: i32, context: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{context}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `qed workload` against `node` with `args`, expects exit 0 and returns its report.
async fn workload(node: &Node, name: &str, args: &[&str]) -> Report {
    let out_file = node.dir().join(format!("{name}.json"));
    let url = node.url();
    let mut all = vec![
        "workload",
        "--endpoint",
        &url,
        "-k",
        &node.api_key,
        "--no-progress",
        "--output",
        out_file.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let out = run_qed(&all, Duration::from_secs(120)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qed_workload_reports() {
    let node = Node::start().await;
    let bulk = [
        "--kind",
        "bulk",
        "-n",
        "2000",
        "--bulk-size",
        "250",
        "-c",
        "2",
    ];
    let report = workload(&node, "bulk", &bulk).await;
    assert_eq!(tally(&report), (2000, 0, 0, 0, 1));
    assert_eq!(report.requests, 8);
    assert_eq!(report.log_size_after, Some(2000));
    assert!(report.latency_ms.p50 > 0.0 && report.latency_ms.max >= report.latency_ms.p99);

    let key = &node.signer.verifier_key;
    let membership = [
        "--kind",
        "membership",
        "--preload",
        "300",
        "-n",
        "200",
        "-c",
        "4",
    ];
    let verify = ["--verify", "--verifier-key", key];
    let report = workload(&node, "membership", &[&membership[..], &verify].concat()).await;
    assert_eq!(tally(&report), (200, 0, 0, 0, 1));
    assert_eq!(report.log_size_before, Some(2300));

    // Without --verify the answers are read but not parsed. Each run preloads one event.
    for (kind, size_before) in [("membership", 2301), ("incremental", 2302)] {
        let args = ["--kind", kind, "--preload", "1", "-n", "100", "-c", "2"];
        let report = workload(&node, kind, &args).await;
        assert_eq!(tally(&report), (100, 0, 0, 0, 1), "{kind}");
        assert_eq!(report.log_size_before, Some(size_before), "{kind}");
    }

    // Single adds, verified, then the same events again: without --verify only the receipts'
    // duplicate flags are read, and they must still be counted.
    let adds = ["--kind", "add", "--run-id", "again", "-n", "50", "-c", "4"];
    let report = workload(&node, "add", &[&adds[..], &verify].concat()).await;
    assert_eq!(tally(&report), (50, 0, 0, 0, 2));
    let report = workload(&node, "add-again", &adds).await;
    assert_eq!(tally(&report), (50, 0, 0, 50, 2));
    assert_eq!(report.log_size_after, Some(2352));

    // Five clients dealt over three threads, each with its own runtime and client: every
    // event is still sent once.
    let spread = ["--kind", "add", "-n", "61", "-c", "5", "--threads", "3"];
    let report = workload(&node, "add-threads", &spread).await;
    assert_eq!(tally(&report), (61, 0, 0, 0, 3));
    assert_eq!(report.log_size_after, Some(2413));
}

/// A report's `(events, errors, verification failures, duplicates, threads)`.
fn tally(r: &Report) -> (u64, u64, u64, u64, usize) {
    (
        r.events,
        r.errors,
        r.verify_failures,
        r.duplicates,
        r.threads,
    )
}
