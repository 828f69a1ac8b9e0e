//! Every export fed garbage in every argument — wrong types, wrong lengths, huge numbers,
//! bigints, `null`/`undefined`, truncated and corrupted notes and answers, proxies whose traps
//! throw, objects that cannot be written as JSON — returns a failed result (`false`, `""`, or
//! `{ ok: false, reason }`) and never throws. Afterwards the module still verifies honest
//! answers (no state was corrupted).
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use qed_verifier::{
    digest, leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion, verify_incremental,
    verify_membership, verify_receipt,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

#[cfg(feature = "browser")]
wasm_bindgen_test_configure!(run_in_browser);

/// Values that are wrong for every argument of every export.
fn garbage() -> Vec<(&'static str, JsValue)> {
    vec![
        ("undefined", JsValue::UNDEFINED),
        ("null", JsValue::NULL),
        ("true", JsValue::TRUE),
        ("-1", n(-1.0)),
        ("1.5", n(1.5)),
        ("NaN", n(f64::NAN)),
        ("Infinity", n(f64::INFINITY)),
        ("-Infinity", n(f64::NEG_INFINITY)),
        ("2^64 as a number", n(18446744073709551616.0)),
        ("1e308", n(1e308)),
        ("-1n", js("-1n")),
        ("2n**64n", js("2n**64n")),
        ("2n**200n", js("2n**200n")),
        ("empty string", s("")),
        ("'{'", s("{")),
        ("'[]'", s("[]")),
        ("'null'", s("null")),
        ("lone surrogate", js("'\\ud800'")),
        ("17M-character string", js("'x'.repeat(17 * 1024 * 1024)")),
        ("Symbol", js("Symbol('x')")),
        ("function", js("function () { return 1; }")),
        ("{}", js("({})")),
        ("[]", js("[]")),
        ("[1, 2]", js("[1, 2]")),
        (
            "array of 300 hashes",
            js("Array.from({ length: 300 }, () => new Uint8Array(32))"),
        ),
        (
            "sparse array",
            js("(() => { const a = []; a[5] = 1; return a; })()"),
        ),
        ("Uint8Array(0)", js("new Uint8Array(0)")),
        ("Uint8Array(31)", js("new Uint8Array(31)")),
        ("Uint8Array(33)", js("new Uint8Array(33)")),
        ("Int8Array(32)", js("new Int8Array(32)")),
        ("ArrayBuffer(32)", js("new ArrayBuffer(32)")),
        ("DataView", js("new DataView(new ArrayBuffer(32))")),
        (
            "detached Uint8Array",
            js(
                "(() => { const b = new ArrayBuffer(32); const u = new Uint8Array(b); structuredClone(b, { transfer: [b] }); return u; })()",
            ),
        ),
        ("fake Uint8Array", js("Object.create(Uint8Array.prototype)")),
        (
            "Uint8Array with a throwing length",
            js(
                "(() => { const u = new Uint8Array(32); Object.defineProperty(u, 'length', { get() { throw new Error('length'); } }); return u; })()",
            ),
        ),
        (
            "proxy of a Uint8Array",
            js("new Proxy(new Uint8Array(32), { get() { throw new Error('trap'); } })"),
        ),
        (
            "throwing proxy",
            js(
                "new Proxy({}, { get() { throw new Error('get'); }, getPrototypeOf() { throw new Error('proto'); }, ownKeys() { throw new Error('keys'); }, has() { throw new Error('has'); } })",
            ),
        ),
        (
            "revoked proxy",
            js("(() => { const r = Proxy.revocable([], {}); r.revoke(); return r.proxy; })()"),
        ),
        (
            "throwing getter",
            js(
                "({ get digest() { throw new Error('getter'); }, get event() { throw new Error('getter'); }, get checkpoint() { throw new Error('getter'); } })",
            ),
        ),
        (
            "throwing toJSON",
            js("({ toJSON() { throw new Error('toJSON'); } })"),
        ),
        (
            "cyclic object",
            js("(() => { const o = {}; o.self = o; return o; })()"),
        ),
        ("object with a bigint", js("({ version: 1n })")),
        ("Date", js("new Date(0)")),
        ("Map", js("new Map([[1, 2]])")),
        (
            "deep nesting",
            js("JSON.parse('['.repeat(10000) + ']'.repeat(10000))"),
        ),
        (
            "deeply nested text",
            js("'{\"a\":' .repeat(100000) + '1' + '}'.repeat(100000)"),
        ),
        ("{ digest: 5 }", js("({ digest: 5 })")),
        ("{ event: null }", js("({ event: null })")),
        ("hex of 63 characters", s(&"a".repeat(63))),
        (
            "hex with a non-hex character",
            s(&format!("{}g", "a".repeat(63))),
        ),
    ]
}

/// What a failed call of each kind of export returns.
fn assert_failed_object(r: &JsValue, what: &str) {
    assert_fail(r, what);
}

/// Valid arguments for every export, so that each position can be spoiled alone.
struct Valid {
    key: String,
    receipt: String,
    membership: String,
    held: String,
    incremental: String,
    old: String,
    new: String,
    note: String,
    leaf: Vec<u8>,
    proof: Vec<qed_core::Hash>,
    root: Vec<u8>,
    cons: Vec<qed_core::Hash>,
    root4: Vec<u8>,
}

fn valid() -> Valid {
    let (log, key) = log(9);
    let receipt = log.receipt(3, ev(3), false).unwrap();
    Valid {
        receipt: to_json(&receipt),
        membership: to_json(&log.membership(&ev(2), Some(5)).unwrap()),
        held: to_json(log.snapshot_at(6).unwrap()),
        incremental: to_json(&log.incremental(3, 8).unwrap()),
        old: to_json(log.snapshot_at(4).unwrap()),
        new: to_json(log.snapshot_at(9).unwrap()),
        note: log.latest().checkpoint.clone(),
        leaf: qed_core::history::leaf_hash(&ev(3)).to_vec(),
        proof: receipt.proof.clone(),
        root: qed_core::hash::from_hex(&log.latest().history_digest)
            .unwrap()
            .to_vec(),
        cons: log.incremental(3, 8).unwrap().proof,
        root4: qed_core::hash::from_hex(&log.snapshot_at(4).unwrap().history_digest)
            .unwrap()
            .to_vec(),
        key,
    }
}

/// Runs every export once with valid arguments (each must succeed) and, for each argument
/// position, with `bad` in its place (each must fail).
fn spoil_each_argument(v: &Valid, label: &str, bad: &JsValue) {
    let key = || s(&v.key);
    // verifyInclusion / verifyConsistency: booleans.
    let inc = |a: [JsValue; 5]| {
        let [a, b, c, d, e] = a;
        verify_inclusion(a, b, c, d, e)
    };
    let good_inc = || {
        [
            bytes(&v.leaf),
            n(3.0),
            n(9.0),
            hashes_js(&v.proof),
            bytes(&v.root),
        ]
    };
    assert!(inc(good_inc()), "verifyInclusion, valid");
    for i in 0..5 {
        let mut args = good_inc();
        args[i] = bad.clone();
        assert!(!inc(args), "verifyInclusion arg {i} = {label}");
    }
    let cons = |a: [JsValue; 5]| {
        let [a, b, c, d, e] = a;
        verify_consistency(a, b, c, d, e)
    };
    let good_cons = || {
        [
            n(4.0),
            n(9.0),
            hashes_js(&v.cons),
            bytes(&v.root4),
            bytes(&v.root),
        ]
    };
    assert!(cons(good_cons()), "verifyConsistency, valid");
    for i in 0..5 {
        let mut args = good_cons();
        args[i] = bad.clone();
        assert!(!cons(args), "verifyConsistency arg {i} = {label}");
    }
    // digest: "" unless the value is bytes or a string (a garbage string is still an event,
    // up to the 16 Mi-character limit).
    let d = digest(bad.clone());
    match bad.dyn_ref::<js_sys::JsString>() {
        Some(t) if t.length() <= 16 << 20 => assert_eq!(d.len(), 64, "digest of a string {label}"),
        Some(_) => assert_eq!(d, "", "digest of an over-long string"),
        None if is_real_u8(bad) => assert_eq!(d.len(), 64, "digest of bytes {label}"),
        None => assert_eq!(d, "", "digest({label})"),
    }
    let lh = leaf_hash(bad.clone());
    assert!(lh.is_empty() || lh.len() == 64, "leafHash({label})");
    if !is_real_u8(bad) {
        assert_eq!(lh, "", "leafHash({label})");
    }
    // The result-object exports.
    assert_ok(
        &verify_checkpoint(s(&v.note), key()),
        "verifyCheckpoint, valid",
    );
    assert_failed_object(
        &verify_checkpoint(bad.clone(), key()),
        &format!("verifyCheckpoint(note = {label})"),
    );
    assert_failed_object(
        &verify_checkpoint(s(&v.note), bad.clone()),
        &format!("verifyCheckpoint(key = {label})"),
    );

    assert_ok(
        &verify_receipt(s(&v.receipt), key(), JsValue::UNDEFINED),
        "verifyReceipt, valid",
    );
    assert_failed_object(
        &verify_receipt(bad.clone(), key(), JsValue::UNDEFINED),
        &format!("verifyReceipt(receipt = {label})"),
    );
    assert_failed_object(
        &verify_receipt(s(&v.receipt), bad.clone(), JsValue::UNDEFINED),
        &format!("verifyReceipt(key = {label})"),
    );
    if !bad.is_null() && !bad.is_undefined() && !bad.is_string() {
        assert_failed_object(
            &verify_receipt(s(&v.receipt), key(), bad.clone()),
            &format!("verifyReceipt(event = {label})"),
        );
    }

    let mem = |a: JsValue, b: JsValue, c: JsValue, d: JsValue| {
        let r = verify_membership(a, b, c, d);
        assert!(
            get(&r, "member").as_bool().is_some(),
            "member is always a boolean"
        );
        r
    };
    let ev2 = || s(&event(2));
    assert_ok(
        &mem(s(&v.membership), s(&v.held), key(), ev2()),
        "verifyMembership, valid",
    );
    let what = |pos: &str| format!("verifyMembership({pos} = {label})");
    assert_failed_object(&mem(bad.clone(), s(&v.held), key(), ev2()), &what("answer"));
    if !bad.is_null() && !bad.is_undefined() {
        assert_failed_object(
            &mem(s(&v.membership), bad.clone(), key(), ev2()),
            &what("snapshot"),
        );
    }
    assert_failed_object(
        &mem(s(&v.membership), s(&v.held), bad.clone(), ev2()),
        &what("key"),
    );
    assert_failed_object(
        &mem(s(&v.membership), s(&v.held), key(), bad.clone()),
        &what("event"),
    );

    assert_ok(
        &verify_incremental(s(&v.incremental), s(&v.old), s(&v.new), key()),
        "verifyIncremental, valid",
    );
    let what = |pos: &str| format!("verifyIncremental({pos} = {label})");
    assert_failed_object(
        &verify_incremental(bad.clone(), s(&v.old), s(&v.new), key()),
        &what("answer"),
    );
    assert_failed_object(
        &verify_incremental(s(&v.incremental), bad.clone(), s(&v.new), key()),
        &what("old"),
    );
    assert_failed_object(
        &verify_incremental(s(&v.incremental), s(&v.old), bad.clone(), key()),
        &what("new"),
    );
    assert_failed_object(
        &verify_incremental(s(&v.incremental), s(&v.old), s(&v.new), bad.clone()),
        &what("key"),
    );
}

/// A genuine Uint8Array (which `digest` and `leafHash` may accept).
fn is_real_u8(v: &JsValue) -> bool {
    js_sys::ArrayBuffer::is_view(v) && v.is_instance_of::<js_sys::Uint8Array>() && {
        let f = js_sys::Function::new_with_args(
            "u",
            "try { return new Uint8Array(u).length >= 0; } catch { return false; }",
        );
        f.call1(&JsValue::NULL, v)
            .ok()
            .and_then(|r| r.as_bool())
            .unwrap_or(false)
    }
}

#[wasm_bindgen_test]
fn every_export_survives_garbage_in_every_argument() {
    let v = valid();
    let list = garbage();
    assert!(list.len() >= 45);
    for (label, bad) in &list {
        spoil_each_argument(&v, label, bad);
    }
}

#[wasm_bindgen_test]
fn missing_arguments() {
    let u = || JsValue::UNDEFINED;
    assert_eq!(digest(u()), "");
    assert_eq!(leaf_hash(u()), "");
    assert!(!verify_inclusion(u(), u(), u(), u(), u()));
    assert!(!verify_consistency(u(), u(), u(), u(), u()));
    assert_fail(&verify_checkpoint(u(), u()), "verifyCheckpoint()");
    assert_fail(&verify_receipt(u(), u(), u()), "verifyReceipt()");
    assert_fail(&verify_membership(u(), u(), u(), u()), "verifyMembership()");
    assert_fail(
        &verify_incremental(u(), u(), u(), u()),
        "verifyIncremental()",
    );
}

/// Sizes and indexes at the edges: 2^53 - 1 as a number, beyond it only as a bigint, up to
/// 2^64 - 1; none of them may overflow anything.
#[wasm_bindgen_test]
fn huge_sizes_and_indexes() {
    let zero = || bytes(&[0; 32]);
    let max_safe = n(9007199254740991.0);
    let beyond = n(9007199254740992.0);
    let max = big(u64::MAX);
    for (index, size) in [
        (max_safe.clone(), max_safe.clone()),
        (max.clone(), max.clone()),
        (n(0.0), max.clone()),
        (big(u64::MAX - 1), max.clone()),
    ] {
        let proof = hashes_js(&vec![[1; 32]; 64]);
        assert!(!verify_inclusion(zero(), index, size, proof, zero()));
    }
    assert!(
        !verify_inclusion(zero(), n(0.0), beyond.clone(), hashes_js(&[]), zero()),
        "2^53 as a number is refused"
    );
    assert!(!verify_consistency(
        max.clone(),
        max.clone(),
        hashes_js(&[[1; 32]]),
        zero(),
        zero()
    ));
    assert!(
        verify_consistency(max.clone(), max.clone(), hashes_js(&[]), zero(), zero()),
        "equal sizes, equal roots"
    );
    assert!(!verify_consistency(
        beyond,
        max,
        hashes_js(&[]),
        zero(),
        zero()
    ));
    // A JSON answer with versions at and beyond 2^64 - 1.
    let (log, key) = log(3);
    let text = to_json(&log.receipt(1, ev(1), false).unwrap());
    for version in [
        "18446744073709551615",
        "18446744073709551616",
        "1e3",
        "1.0",
        "-1",
        "01",
        "99999999999999999999999",
    ] {
        let edited = text.replacen("\"version\":1", &format!("\"version\":{version}"), 1);
        assert_fail(
            &verify_receipt(s(&edited), s(&key), JsValue::UNDEFINED),
            version,
        );
    }
}

/// Every prefix of a note, a receipt, a membership answer and an incremental answer, and every
/// single-byte corruption of the note, fails cleanly.
#[wasm_bindgen_test]
fn truncated_and_corrupted_inputs() {
    let v = valid();
    let key = || s(&v.key);
    for cut in 0..v.note.len() {
        if let Some(prefix) = v.note.get(..cut) {
            assert_fail(&verify_checkpoint(s(prefix), key()), "truncated note");
            assert_fail(
                &verify_checkpoint(bytes(&v.note.as_bytes()[..cut]), key()),
                "truncated note bytes",
            );
        }
    }
    for i in 0..v.note.len() {
        let mut b = v.note.as_bytes().to_vec();
        b[i] ^= 0x01;
        assert_fail(&verify_checkpoint(bytes(&b), key()), "corrupted note");
    }
    for prefix in prefixes(&v.receipt) {
        assert_fail(
            &verify_receipt(s(prefix), key(), JsValue::UNDEFINED),
            "truncated receipt",
        );
    }
    for prefix in prefixes(&v.membership) {
        let r = verify_membership(s(prefix), s(&v.held), key(), s(&event(2)));
        assert_fail(&r, "truncated membership answer");
    }
    for prefix in prefixes(&v.incremental) {
        assert_fail(
            &verify_incremental(s(prefix), s(&v.old), s(&v.new), key()),
            "truncated incremental answer",
        );
    }
    for prefix in prefixes(&v.key) {
        assert_fail(&verify_checkpoint(s(&v.note), s(prefix)), "truncated key");
    }
    // JSON that is valid but of the wrong shape, and broken JSON strings.
    for text in [
        "{\"version\":\"1\"}",
        "{\"proof\":{}}",
        "[]",
        "1",
        "\"x\"",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\u{1}\"}",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "{,}",
        "{\"a\":01}",
        "{\"a\":-}",
        "{\"a\":1e}",
        "{\"a\":tru}",
    ] {
        assert_fail(&verify_receipt(s(text), key(), JsValue::UNDEFINED), text);
        assert_fail(
            &verify_incremental(s(text), s(&v.old), s(&v.new), key()),
            text,
        );
    }
}

/// Every proper prefix of a text that ends on a character boundary.
fn prefixes(text: &str) -> impl Iterator<Item = &str> {
    (0..text.len()).filter_map(|cut| text.get(..cut))
}

/// After all that, honest answers still verify: no garbage left the module in a bad state.
#[wasm_bindgen_test]
fn still_works_afterwards() {
    let v = valid();
    for (label, bad) in garbage() {
        let _ = verify_receipt(bad.clone(), bad.clone(), bad.clone());
        let _ = verify_membership(bad.clone(), bad.clone(), bad.clone(), bad);
        let _ = label;
    }
    assert_ok(
        &verify_receipt(s(&v.receipt), s(&v.key), s(&event(3))),
        "receipt afterwards",
    );
    assert_ok(
        &verify_membership(s(&v.membership), s(&v.held), s(&v.key), s(&event(2))),
        "membership afterwards",
    );
}
