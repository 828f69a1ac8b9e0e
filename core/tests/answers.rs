//! Receipts, membership and incremental answers end to end over a MemoryLog: every honest
//! answer verifies, every tampered one is rejected with a reason.

use qed_core::hash::digest;
use qed_core::log::{AnswerError, MemoryLog};
use qed_core::receipt::{Receipt, verify_receipt, verify_receipt_for};
use qed_core::snapshot::{Signer, SnapshotJson, VerifierKey};
use qed_core::verify::{check_consistent, verify_incremental, verify_membership};
use qed_core::{Hash, VerifyError};

const ORIGIN: &str = "example.com/answers";

fn ev(i: u64) -> Hash {
    digest(format!("event {i}").as_bytes())
}

/// A log of 50 events in commits of 1..=7, with every commit's snapshot kept.
fn log() -> (MemoryLog, VerifierKey) {
    let signer = Signer::new(ORIGIN, &[9; 32]).unwrap();
    let key = signer.verifier_key();
    let mut log = MemoryLog::new(signer);
    let mut i = 0;
    let mut group = 1;
    while i < 50 {
        let digests: Vec<Hash> = (i..(i + group).min(50)).map(ev).collect();
        i += digests.len() as u64;
        log.commit(&digests).unwrap();
        group = group % 7 + 1;
    }
    (log, key)
}

fn other_key() -> VerifierKey {
    Signer::new(ORIGIN, &[8; 32]).unwrap().verifier_key()
}

#[test]
fn commits_number_densely_and_dedup() {
    let signer = Signer::new(ORIGIN, &[9; 32]).unwrap();
    let mut log = MemoryLog::new(signer);
    let (a, s1) = log.commit(&[ev(0), ev(1), ev(0)]).unwrap();
    assert_eq!(
        a.iter()
            .map(|x| (x.version, x.duplicate))
            .collect::<Vec<_>>(),
        [(0, false), (1, false), (0, true)]
    );
    assert_eq!(s1.size, 2);
    let (b, s2) = log.commit(&[ev(1), ev(2)]).unwrap();
    assert_eq!(
        b.iter()
            .map(|x| (x.version, x.duplicate))
            .collect::<Vec<_>>(),
        [(1, true), (2, false)]
    );
    assert_eq!(
        (s2.size, s2.event_digest.clone()),
        (3, Some(qed_core::hash::to_hex(&ev(2))))
    );
    // An all-duplicate commit signs nothing new.
    let (_, s3) = log.commit(&[ev(2)]).unwrap();
    assert_eq!(s3, s2);
}

#[test]
fn every_receipt_verifies_and_tampering_fails() {
    let (log, key) = log();
    for v in 0..50 {
        let r = log.receipt(v, ev(v), false).unwrap();
        assert_eq!(verify_receipt_for(&r, &key, &ev(v)).unwrap().version, v);
        assert!(verify_receipt_for(&r, &key, &ev(v + 1)).is_err());
        assert!(matches!(
            verify_receipt(&r, &other_key()),
            Err(VerifyError::UnknownSigner(_))
        ));
        let mut wrong_digest = r.clone();
        wrong_digest.digest = ev(v + 100);
        assert!(verify_receipt(&wrong_digest, &key).is_err());
        let mut wrong_version = r.clone();
        wrong_version.version = (v + 1) % 50;
        assert!(verify_receipt(&wrong_version, &key).is_err());
        let mut beyond = r.clone();
        beyond.version = 50;
        assert!(matches!(
            verify_receipt(&beyond, &key),
            Err(VerifyError::Mismatch(_))
        ));
        if !r.proof.is_empty() {
            let mut flipped = r.clone();
            flipped.proof[0][31] ^= 1;
            assert!(verify_receipt(&flipped, &key).is_err());
        }
    }
}

#[test]
fn receipts_round_trip_as_tlog_proofs() {
    let (log, key) = log();
    let r = log.receipt(17, ev(17), false).unwrap();
    let text = r.to_tlog_proof();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
    let back = Receipt::from_tlog_proof(&text, None).unwrap();
    assert_eq!(back, r);
    assert_eq!(verify_receipt(&back, &key).unwrap().version, 17);
    // Without the extra line the digest must be supplied.
    let no_extra: String = text
        .lines()
        .filter(|l| !l.starts_with("extra "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(Receipt::from_tlog_proof(&no_extra, None).is_err());
    assert_eq!(
        Receipt::from_tlog_proof(&no_extra, Some(&ev(17))).unwrap(),
        r
    );
    for bad in [
        text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
        text.replacen("index 17", "index 017", 1),
        text.replacen("index 17", "index x", 1),
        text.replacen("\n\n", "\n", 1),
        text[..text.len() / 2].to_string(),
        String::new(),
    ] {
        assert!(
            Receipt::from_tlog_proof(&bad, None).is_err(),
            "accepted {bad:?}"
        );
    }
    // A changed index parses but no longer verifies.
    let moved = Receipt::from_tlog_proof(&text.replacen("index 17", "index 16", 1), None).unwrap();
    assert!(verify_receipt(&moved, &key).is_err());
}

#[test]
fn membership_latest_member_and_non_member() {
    let (log, key) = log();
    for v in [0, 1, 24, 49] {
        let a = log.membership(&ev(v), None).unwrap();
        let verdict = verify_membership(&a, None, &key, &ev(v)).unwrap();
        assert_eq!(
            (verdict.member, verdict.version, verdict.query_version),
            (true, Some(v), 49)
        );
        assert!(verify_membership(&a, None, &other_key(), &ev(v)).is_err());
        assert!(verify_membership(&a, None, &key, &ev(v + 1)).is_err());
    }
    let a = log.membership(&ev(1000), None).unwrap();
    let verdict = verify_membership(&a, None, &key, &ev(1000)).unwrap();
    assert!(!verdict.member && verdict.version.is_none());
}

#[test]
fn membership_at_older_versions_against_held_snapshots() {
    let (log, key) = log();
    for q in 0..50u64 {
        let Some(held) = log.snapshot_at(q + 1) else {
            continue;
        };
        for v in [0, q, q + 1, 49] {
            let a = log.membership(&ev(v), Some(q)).unwrap();
            let verdict = verify_membership(&a, Some(held), &key, &ev(v)).unwrap();
            assert_eq!(verdict.member, v <= q, "v={v} q={q}");
            assert_eq!(verdict.version, (v <= q).then_some(v));
            // The wrong held snapshot (another size) is refused.
            if let Some(other) = log.snapshot_at(50).filter(|_| q + 1 != 50) {
                assert!(verify_membership(&a, Some(other), &key, &ev(v)).is_err());
            }
        }
    }
}

#[test]
fn membership_lies_are_caught() {
    let (log, key) = log();
    let held = log
        .snapshot_at(log.snapshot_at(22).map(|_| 22).unwrap_or(50))
        .unwrap()
        .clone();
    let q = held.size - 1;
    let honest = log.membership(&ev(3), Some(q)).unwrap();
    assert!(verify_membership(&honest, Some(&held), &key, &ev(3)).is_ok());

    let mut claim = honest.clone();
    claim.member = false;
    assert!(matches!(
        verify_membership(&claim, Some(&held), &key, &ev(3)),
        Err(VerifyError::Mismatch(_))
    ));
    let mut claim = honest.clone();
    claim.version = Some(4);
    assert!(verify_membership(&claim, Some(&held), &key, &ev(3)).is_err());
    let mut no_inclusion = honest.clone();
    no_inclusion.inclusion_proof = None;
    assert!(verify_membership(&no_inclusion, Some(&held), &key, &ev(3)).is_err());
    let mut bad_hyper = honest.clone();
    bad_hyper.hyper_proof.siblings[0][0] ^= 0x80;
    assert!(verify_membership(&bad_hyper, Some(&held), &key, &ev(3)).is_err());
    if q + 1 < 50 {
        let mut no_consistency = honest.clone();
        no_consistency.consistency_proof = None;
        assert!(verify_membership(&no_consistency, Some(&held), &key, &ev(3)).is_err());
    }
    // A non-member answer for a digest that is in the log cannot be made to verify.
    let absent = log.membership(&ev(1000), Some(q)).unwrap();
    let mut swapped = absent.clone();
    swapped.digest = ev(3);
    assert!(verify_membership(&swapped, Some(&held), &key, &ev(3)).is_err());
}

#[test]
fn incremental_between_every_pair_of_snapshots() {
    let (log, key) = log();
    let sizes: Vec<u64> = (1..=50).filter(|s| log.snapshot_at(*s).is_some()).collect();
    for &a in &sizes {
        for &b in sizes.iter().filter(|&&b| b >= a) {
            let (old, new) = (log.snapshot_at(a).unwrap(), log.snapshot_at(b).unwrap());
            let ans = log.incremental(a - 1, b - 1).unwrap();
            verify_incremental(&ans, old, new, &key).unwrap();
            assert!(verify_incremental(&ans, new, old, &key).is_err() || a == b);
            if let Some(h) = ans.proof.first() {
                let mut bad = ans.clone();
                bad.proof[0] = [h[0] ^ 1; 32];
                assert!(verify_incremental(&bad, old, new, &key).is_err());
            }
        }
    }
    assert!(matches!(
        log.incremental(5, 4),
        Err(AnswerError::BadRequest(_))
    ));
    assert!(matches!(
        log.incremental(0, 50),
        Err(AnswerError::NotFound(_))
    ));
}

#[test]
fn forks_are_detected() {
    let (log, key) = log();
    // Another log with the same key and a different 50th event: same size, other roots.
    let signer = Signer::new(ORIGIN, &[9; 32]).unwrap();
    let mut fork = MemoryLog::new(signer);
    fork.commit(
        &(0..49)
            .map(ev)
            .chain([digest(b"forged")])
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let (a, b) = (
        log.latest().open(&key).unwrap(),
        fork.latest().open(&key).unwrap(),
    );
    assert_eq!(a.size, b.size);
    assert!(matches!(
        check_consistent(&a, &b, &[]),
        Err(VerifyError::Mismatch(_))
    ));
    // The empty snapshot is consistent with everything.
    let empty = MemoryLog::new(Signer::new(ORIGIN, &[9; 32]).unwrap());
    assert!(check_consistent(&empty.latest().open(&key).unwrap(), &a, &[]).is_ok());
}

#[test]
fn empty_log_answers_nothing() {
    let log = MemoryLog::new(Signer::new(ORIGIN, &[9; 32]).unwrap());
    assert!(matches!(
        log.receipt(0, ev(0), false),
        Err(AnswerError::NotFound(_))
    ));
    assert!(matches!(
        log.membership(&ev(0), None),
        Err(AnswerError::NotFound(_))
    ));
    assert!(matches!(
        log.incremental(0, 0),
        Err(AnswerError::NotFound(_))
    ));
    assert_eq!(log.latest().size, 0);
}

#[cfg(feature = "serde")]
#[test]
fn answers_round_trip_through_json() {
    use qed_core::json::{from_str, to_string};
    use qed_core::verify::{IncrementalAnswer, MembershipAnswer};
    let (log, key) = log();
    let r = log.receipt(7, ev(7), false).unwrap();
    let back: Receipt = from_str(&to_string(&r)).unwrap();
    assert_eq!(back, r);
    let m = log.membership(&ev(7), None).unwrap();
    let json = to_string(&m);
    assert!(json.contains("\"stop\":{\"leaf\":{\"key\":"), "{json}");
    let back: MembershipAnswer = from_str(&json).unwrap();
    assert!(verify_membership(&back, None, &key, &ev(7)).is_ok());
    let n = log.membership(&ev(777), None).unwrap();
    let back: MembershipAnswer = from_str(&to_string(&n)).unwrap();
    assert_eq!(back, n);
    let i = log.incremental(3, 40).unwrap();
    let back: IncrementalAnswer = from_str(&to_string(&i)).unwrap();
    assert_eq!(back, i);
    let s: SnapshotJson = from_str(&to_string(log.latest())).unwrap();
    assert_eq!(&s, log.latest());
    for bad in [
        "",
        "{",
        "[]",
        "{\"version\":1}",
        &json.replace("\"query_version\":49", "\"query_version\":-1"),
    ] {
        assert!(
            matches!(
                from_str::<MembershipAnswer>(bad),
                Err(VerifyError::Malformed(_))
            ),
            "{bad}"
        );
    }
}
