//! Answers made by `qed_core::log::MemoryLog` (the same code the server answers with), written
//! as the server's JSON and verified through the exports: receipts (JSON text, JSON object,
//! tlog-proof), membership answers (members, non-members, past versions, against a stored
//! snapshot or the latest), incremental answers and checkpoints. Every honest answer verifies;
//! every tampered one fails with a reason.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use qed_core::hash::to_hex;
use qed_verifier::{verify_checkpoint, verify_incremental, verify_membership, verify_receipt};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

#[cfg(feature = "browser")]
wasm_bindgen_test_configure!(run_in_browser);

const N: u64 = 13;

#[wasm_bindgen_test]
fn receipts_verify_in_every_form() {
    let (log, key) = log(N);
    let none = JsValue::UNDEFINED;
    for v in 0..N {
        let receipt = log.receipt(v, ev(v), false).unwrap();
        let text = to_json(&receipt);
        for form in [s(&text), parse(&text)] {
            let r = assert_ok(
                &verify_receipt(form.clone(), s(&key), none.clone()),
                "receipt",
            );
            assert_eq!(num_of(&r, "version"), v as f64);
            assert_eq!(str_of(&r, "digest"), to_hex(&ev(v)));
            assert_eq!(get(&r, "duplicate").as_bool(), Some(false));
            let cp = get(&r, "checkpoint");
            assert_eq!(num_of(&cp, "size"), N as f64);
            assert_eq!(str_of(&cp, "origin"), ORIGIN);
            assert_eq!(str_of(&cp, "eventDigest"), to_hex(&ev(N - 1)));
            // Bound to the event, in each way an event can be given.
            for event in [
                s(&event(v)),
                bytes(event(v).as_bytes()),
                s(&to_hex(&ev(v))),
                js(&format!("{{ digest: {:?} }}", to_hex(&ev(v)))),
                js(&format!("{{ event: {:?} }}", event(v))),
            ] {
                assert_ok(
                    &verify_receipt(form.clone(), s(&key), event),
                    "receipt for its event",
                );
            }
            assert_fail_with(
                &verify_receipt(form.clone(), s(&key), s(&event(v + 1))),
                "another digest",
                "another event",
            );
            assert_fail_with(
                &verify_receipt(form, s(&other_key()), none.clone()),
                "no signature by the trusted key",
                "other key",
            );
        }
        // The tlog-proof form, with and without the digest line.
        let proof = receipt.to_tlog_proof();
        assert_ok(
            &verify_receipt(s(&proof), s(&key), none.clone()),
            "tlog-proof",
        );
        let without: String = proof
            .lines()
            .filter(|l| !l.starts_with("extra "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_fail_with(
            &verify_receipt(s(&without), s(&key), none.clone()),
            "no digest",
            "tlog-proof without digest",
        );
        assert_ok(
            &verify_receipt(s(&without), s(&key), s(&event(v))),
            "tlog-proof + event",
        );
    }
}

#[wasm_bindgen_test]
fn tampered_receipts_fail() {
    let (log, key) = log(N);
    let none = || JsValue::UNDEFINED;
    let receipt = log.receipt(5, ev(5), false).unwrap();
    let mut r = receipt.clone();
    r.version = 6;
    assert_fail_with(
        &verify_receipt(s(&to_json(&r)), s(&key), none()),
        "root",
        "version",
    );
    let mut r = receipt.clone();
    r.digest = ev(6);
    assert_fail_with(
        &verify_receipt(s(&to_json(&r)), s(&key), none()),
        "root",
        "digest",
    );
    let mut r = receipt.clone();
    r.proof[1][0] ^= 1;
    assert_fail_with(
        &verify_receipt(s(&to_json(&r)), s(&key), none()),
        "root",
        "proof",
    );
    let mut r = receipt.clone();
    r.proof.pop();
    assert_fail_with(
        &verify_receipt(s(&to_json(&r)), s(&key), none()),
        "hashes",
        "short proof",
    );
    let mut r = receipt.clone();
    r.version = 99;
    assert_fail_with(
        &verify_receipt(s(&to_json(&r)), s(&key), none()),
        "not covered",
        "beyond the snapshot",
    );
    let mut r = receipt.clone();
    r.snapshot = log.snapshot_at(3).unwrap().clone();
    assert_fail(
        &verify_receipt(s(&to_json(&r)), s(&key), none()),
        "older snapshot",
    );
    let mut r = receipt.clone();
    r.snapshot.checkpoint = r
        .snapshot
        .checkpoint
        .replacen(&format!("\n{N}\n"), "\n14\n", 1);
    assert_fail_with(
        &verify_receipt(s(&to_json(&r)), s(&key), none()),
        "does not verify",
        "edited note",
    );
    // The JSON fields beside the note are not trusted: changing them changes nothing.
    let mut r = receipt.clone();
    r.snapshot.size = 1000;
    r.snapshot.history_digest = to_hex(&[0; 32]);
    assert_ok(
        &verify_receipt(s(&to_json(&r)), s(&key), none()),
        "JSON fields ignored",
    );
    // A receipt with an unknown extra field still reads; a duplicated field does not.
    let text = to_json(&receipt);
    assert_ok(
        &verify_receipt(
            s(&text.replacen('{', "{\"extra\":[1,{\"a\":null}],", 1)),
            s(&key),
            none(),
        ),
        "unknown field",
    );
    assert_fail_with(
        &verify_receipt(
            s(&text.replacen('{', "{\"version\":5,", 1)),
            s(&key),
            none(),
        ),
        "duplicate field",
        "duplicate",
    );
}

#[wasm_bindgen_test]
fn membership_answers() {
    let (log, key) = log(N);
    for i in 0..N {
        for q in [i.saturating_sub(1), i, (i + 3).min(N - 1), N - 1] {
            let answer = log.membership(&ev(i), Some(q)).unwrap();
            let text = to_json(&answer);
            let held = to_json(log.snapshot_at(q + 1).unwrap());
            let want_member = i <= q;
            for (ans, snap) in [(s(&text), s(&held)), (parse(&text), parse(&held))] {
                let r = assert_ok(
                    &verify_membership(ans.clone(), snap.clone(), s(&key), s(&event(i))),
                    "membership",
                );
                assert_eq!(
                    get(&r, "member").as_bool(),
                    Some(want_member),
                    "event {i} at {q}"
                );
                assert_eq!(num_of(&r, "queryVersion"), q as f64);
                assert_eq!(num_of(&get(&r, "checkpoint"), "size"), N as f64);
                if want_member {
                    assert_eq!(num_of(&r, "version"), i as f64);
                } else {
                    assert!(get(&r, "version").is_undefined());
                }
                // The note alone serves as the stored snapshot too.
                let note = log.snapshot_at(q + 1).unwrap().checkpoint.clone();
                assert_ok(
                    &verify_membership(ans.clone(), s(&note), s(&key), s(&event(i))),
                    "note as snapshot",
                );
                // Another event, another key, a snapshot of another size: refused.
                let r = verify_membership(ans.clone(), snap.clone(), s(&key), s(&event(i + 100)));
                assert_fail_with(&r, "another digest", "another event");
                assert_eq!(
                    get(&r, "member").as_bool(),
                    Some(false),
                    "failures say member: false"
                );
                assert_fail(
                    &verify_membership(ans.clone(), snap, s(&other_key()), s(&event(i))),
                    "other key",
                );
                let wrong = to_json(log.snapshot_at(if q == 0 { 2 } else { q }).unwrap());
                assert_fail_with(
                    &verify_membership(ans, s(&wrong), s(&key), s(&event(i))),
                    "size",
                    "wrong snapshot",
                );
            }
            if q == N - 1 {
                assert_ok(
                    &verify_membership(s(&text), JsValue::NULL, s(&key), s(&event(i))),
                    "latest, null snapshot",
                );
            } else {
                assert_fail(
                    &verify_membership(s(&text), JsValue::NULL, s(&key), s(&event(i))),
                    "past version needs its snapshot",
                );
            }
        }
    }
    // A digest that was never added: a verified non-member.
    let absent = qed_core::hash::digest(b"never added");
    let answer = to_json(&log.membership(&absent, None).unwrap());
    let r = assert_ok(
        &verify_membership(s(&answer), JsValue::NULL, s(&key), s(&to_hex(&absent))),
        "absent",
    );
    assert_eq!(get(&r, "member").as_bool(), Some(false));
}

#[wasm_bindgen_test]
fn tampered_membership_answers_fail() {
    let (log, key) = log(N);
    let held = to_json(log.snapshot_at(8).unwrap());
    let answer = log.membership(&ev(4), Some(7)).unwrap();
    let check = |a: &qed_core::verify::MembershipAnswer| {
        verify_membership(s(&to_json(a)), s(&held), s(&key), s(&event(4)))
    };
    assert_ok(&check(&answer), "honest");
    let mut a = answer.clone();
    a.member = false;
    assert_fail_with(&check(&a), "contradicts", "member flipped");
    let mut a = answer.clone();
    a.version = Some(5);
    assert_fail(&check(&a), "version changed");
    let mut a = answer.clone();
    a.inclusion_proof = None;
    assert_fail_with(&check(&a), "inclusion proof", "no inclusion proof");
    let mut a = answer.clone();
    a.consistency_proof.as_mut().unwrap()[0][3] ^= 0x80;
    assert_fail(&check(&a), "consistency proof");
    let mut a = answer.clone();
    a.hyper_proof.siblings[0][0] ^= 1;
    assert_fail(&check(&a), "hyper proof");
    let mut a = answer.clone();
    a.query_version = 6;
    assert_fail_with(&check(&a), "size", "query version");
    // A non-member claim for an event that is in the log cannot be made to verify.
    let mut a = log.membership(&ev(10), Some(7)).unwrap();
    assert_ok(
        &verify_membership(s(&to_json(&a)), s(&held), s(&key), s(&event(10))),
        "added later",
    );
    a.member = true;
    assert_fail(
        &verify_membership(s(&to_json(&a)), s(&held), s(&key), s(&event(10))),
        "claims member",
    );
}

#[wasm_bindgen_test]
fn incremental_answers() {
    let (log, key) = log(N);
    let snap = |v: u64| to_json(log.snapshot_at(v + 1).unwrap());
    for start in 0..N {
        for end in start..N {
            let text = to_json(&log.incremental(start, end).unwrap());
            let r = assert_ok(
                &verify_incremental(s(&text), s(&snap(start)), s(&snap(end)), s(&key)),
                "incremental",
            );
            assert_eq!(
                (num_of(&r, "start"), num_of(&r, "end")),
                (start as f64, end as f64)
            );
            assert_eq!(num_of(&get(&r, "older"), "size"), (start + 1) as f64);
            assert_eq!(num_of(&get(&r, "newer"), "size"), (end + 1) as f64);
            if start < end {
                assert_fail(
                    &verify_incremental(s(&text), s(&snap(end)), s(&snap(start)), s(&key)),
                    "swapped",
                );
                assert_fail(
                    &verify_incremental(
                        parse(&text),
                        parse(&snap(start)),
                        parse(&snap(end)),
                        s(&other_key()),
                    ),
                    "other key",
                );
            }
        }
    }
    let mut a = log.incremental(2, 9).unwrap();
    a.proof[0][0] ^= 1;
    assert_fail(
        &verify_incremental(s(&to_json(&a)), s(&snap(2)), s(&snap(9)), s(&key)),
        "tampered proof",
    );
    a.proof.clear();
    assert_fail_with(
        &verify_incremental(s(&to_json(&a)), s(&snap(2)), s(&snap(9)), s(&key)),
        "hashes",
        "empty proof",
    );
}

#[wasm_bindgen_test]
fn checkpoints_and_forks() {
    let (log, key) = log(N);
    let latest = log.latest();
    for form in [
        s(&latest.checkpoint),
        s(&to_json(latest)),
        parse(&to_json(latest)),
    ] {
        let r = assert_ok(&verify_checkpoint(form, s(&key)), "latest");
        assert_eq!(num_of(&r, "size"), N as f64);
        assert_eq!(str_of(&r, "historyDigest"), latest.history_digest);
        assert_eq!(str_of(&r, "hyperDigest"), latest.hyper_digest);
    }
    // A second log under the same key that diverges at version 5: its snapshot of the same size
    // is a fork, and no consistency proof links the two logs.
    let (mut fork, _) = common::log(5);
    fork.commit(&[qed_core::hash::digest(b"rewritten")])
        .unwrap();
    for i in 6..N {
        fork.commit(&[ev(i)]).unwrap();
    }
    let theirs = to_json(fork.snapshot_at(N).unwrap());
    let ours = to_json(log.snapshot_at(N).unwrap());
    let empty_proof = to_json(&qed_core::verify::IncrementalAnswer {
        start: N - 1,
        end: N - 1,
        proof: vec![],
    });
    assert_ok(
        &verify_incremental(s(&empty_proof), s(&ours), s(&ours), s(&key)),
        "same snapshot",
    );
    assert_fail_with(
        &verify_incremental(s(&empty_proof), s(&ours), s(&theirs), s(&key)),
        "forked",
        "fork",
    );
    let proof = to_json(&log.incremental(3, N - 1).unwrap());
    assert_fail(
        &verify_incremental(
            s(&proof),
            s(&to_json(log.snapshot_at(4).unwrap())),
            s(&theirs),
            s(&key),
        ),
        "fork proof",
    );
}
