//! The public test vectors of the core (`core/tests/data/`, sources in the READMEs beside them),
//! run through the WebAssembly exports in Node and in headless Chromium:
//! every transparency-dev inclusion and consistency probe, the 8-leaf Certificate Transparency
//! reference tree, the Go signed-note vectors, the c2sp.org/signed-note example, the
//! independent QED checkpoint known answers, and Wycheproof's Ed25519 cases.
#![cfg(target_arch = "wasm32")]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use qed_core::Hash;
use qed_core::history::{MemoryTree, leaf_hash_bytes};
use qed_core::snapshot::VerifierKey;
use qed_verifier::{
    digest, leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion, verify_receipt,
};
use serde_json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

#[cfg(feature = "browser")]
wasm_bindgen_test_configure!(run_in_browser);

mod probes {
    include!(concat!(env!("OUT_DIR"), "/history_probes.rs"));
}

fn b64(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap_or_default()).expect("base64")
}

fn b64_list(v: &Value) -> Vec<Vec<u8>> {
    v.as_array()
        .map_or_else(Vec::new, |a| a.iter().map(b64).collect())
}

/// A probe value as JS: a Uint8Array of whatever length the probe has (the export must refuse
/// the ones that are not 32 bytes), or its hex string, or a bigint for a size.
fn hash_arg(raw: &[u8], as_hex: bool) -> JsValue {
    if as_hex {
        s(&hex::encode(raw))
    } else {
        bytes(raw)
    }
}

fn list_arg(raw: &[Vec<u8>], as_hex: bool) -> JsValue {
    let arr = js_sys::Array::new();
    for h in raw {
        arr.push(&hash_arg(h, as_hex));
    }
    arr.into()
}

fn size_arg(x: u64, as_bigint: bool) -> JsValue {
    if as_bigint { big(x) } else { n(x as f64) }
}

/// Probes that transparency-dev rejects only because a value is not 32 bytes long: with a
/// 32-byte stand-in they would be valid (the core's history_vectors.rs keeps the same list).
const REJECTED_ONLY_FOR_LENGTH: &[&str] = &["inclusion/single-entry/empty-root-and-leaf.json"];

/// A 32-byte stand-in for a probe value of another length (equal values stay equal), as the
/// core's vector test does: the export refuses the value itself at its type boundary, and the
/// verifier is then run on the stand-in all the same.
fn stand_in(raw: &[u8]) -> Vec<u8> {
    if raw.len() == 32 {
        raw.to_vec()
    } else {
        qed_core::hash::digest(&[b"not a 32-byte hash".as_slice(), raw].concat()).to_vec()
    }
}

/// Runs one probe through `verify` (given the probe's values, stood in or not, and the argument
/// style) and checks the outcome; returns whether the verifier accepted it.
fn check_probe(
    name: &str,
    want_ok: bool,
    values: &[&[u8]],
    verify: impl Fn(&dyn Fn(&[u8]) -> Vec<u8>, bool) -> bool,
) -> bool {
    let all_32 = values.iter().all(|v| v.len() == 32);
    for variant in [false, true] {
        let as_is = verify(&|v: &[u8]| v.to_vec(), variant);
        if all_32 {
            assert_eq!(as_is, want_ok, "{name}");
        } else {
            assert!(
                !as_is,
                "{name}: a value that is not 32 bytes must be refused"
            );
            let stood_in = verify(&stand_in, variant);
            let expected = want_ok || REJECTED_ONLY_FOR_LENGTH.contains(&name);
            assert_eq!(stood_in, expected, "{name} (32-byte stand-ins)");
        }
    }
    want_ok
}

#[wasm_bindgen_test]
fn every_transparency_dev_inclusion_probe() {
    assert_eq!(probes::INCLUSION.len(), 98, "inclusion probe files");
    let (mut accepted, mut rejected) = (0, 0);
    for (name, text) in probes::INCLUSION {
        let p: Value = serde_json::from_str(text).expect(name);
        let want_ok = !p["wantErr"].as_bool().expect("wantErr");
        let (leaf, root, proof) = (b64(&p["leafHash"]), b64(&p["root"]), b64_list(&p["proof"]));
        let (index, size) = (
            p["leafIdx"].as_u64().unwrap(),
            p["treeSize"].as_u64().unwrap(),
        );
        let mut values: Vec<&[u8]> = vec![&leaf, &root];
        values.extend(proof.iter().map(Vec::as_slice));
        // Each probe twice: Uint8Arrays and numbers, then hex strings and bigints.
        let ok = check_probe(name, want_ok, &values, |f, variant| {
            let proof: Vec<Vec<u8>> = proof.iter().map(|h| f(h)).collect();
            verify_inclusion(
                hash_arg(&f(&leaf), variant),
                size_arg(index, variant),
                size_arg(size, variant),
                list_arg(&proof, variant),
                hash_arg(&f(&root), variant),
            )
        });
        if ok { accepted += 1 } else { rejected += 1 }
    }
    assert_eq!((accepted, rejected), (6, 92));
}

#[wasm_bindgen_test]
fn every_transparency_dev_consistency_probe() {
    assert_eq!(probes::CONSISTENCY.len(), 98, "consistency probe files");
    let (mut accepted, mut rejected) = (0, 0);
    for (name, text) in probes::CONSISTENCY {
        let p: Value = serde_json::from_str(text).expect(name);
        let want_ok = !p["wantErr"].as_bool().expect("wantErr");
        let (root1, root2, proof) = (b64(&p["root1"]), b64(&p["root2"]), b64_list(&p["proof"]));
        let (size1, size2) = (p["size1"].as_u64().unwrap(), p["size2"].as_u64().unwrap());
        let mut values: Vec<&[u8]> = vec![&root1, &root2];
        values.extend(proof.iter().map(Vec::as_slice));
        let ok = check_probe(name, want_ok, &values, |f, variant| {
            let proof: Vec<Vec<u8>> = proof.iter().map(|h| f(h)).collect();
            verify_consistency(
                size_arg(size1, variant),
                size_arg(size2, variant),
                list_arg(&proof, variant),
                hash_arg(&f(&root1), variant),
                hash_arg(&f(&root2), variant),
            )
        });
        if ok { accepted += 1 } else { rejected += 1 }
    }
    assert_eq!((accepted, rejected), (6, 92));
}

fn hx(v: &Value) -> Hash {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn hx_list(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hx).collect()
}

/// The 8-leaf reference tree of Certificate Transparency: its published roots and known-good
/// proofs verify through the exports, and so does every proof our tree generates for it.
#[wasm_bindgen_test]
fn rfc6962_reference_tree() {
    let r: Value = serde_json::from_str(include_str!(
        "../../core/tests/data/history/rfc6962-reference.json"
    ))
    .unwrap();
    let leaves: Vec<Hash> = r["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| leaf_hash_bytes(&hex::decode(l.as_str().unwrap()).unwrap()))
        .collect();
    let roots: Vec<Hash> = hx_list(&r["roots"]);
    let mut tree = MemoryTree::new();
    for l in &leaves {
        tree.append_leaf_hash(l);
    }
    for case in r["inclusion"].as_array().unwrap() {
        let (leaf, size) = (
            case["leaf"].as_u64().unwrap(),
            case["size"].as_u64().unwrap(),
        );
        let proof = hx_list(&case["proof"]);
        // The published cases number leaves from 1 (RFC 6962's test data).
        let index = leaf - 1;
        let root = roots[size as usize];
        let leaf_js = hash_js(&leaves[index as usize]);
        assert!(verify_inclusion(
            leaf_js.clone(),
            n(index as f64),
            n(size as f64),
            hashes_js(&proof),
            hash_js(&root)
        ));
        assert!(!verify_inclusion(
            leaf_js,
            n(index as f64),
            n(size as f64),
            hashes_js(&proof),
            hash_js(&roots[0])
        ));
    }
    for case in r["consistency"].as_array().unwrap() {
        let (m, k) = (
            case["size1"].as_u64().unwrap(),
            case["size2"].as_u64().unwrap(),
        );
        let proof = hx_list(&case["proof"]);
        let (r1, r2) = (roots[m as usize], roots[k as usize]);
        assert!(verify_consistency(
            n(m as f64),
            n(k as f64),
            hashes_js(&proof),
            hash_js(&r1),
            hash_js(&r2)
        ));
        if m != k {
            assert!(!verify_consistency(
                n(m as f64),
                n(k as f64),
                hashes_js(&proof),
                hash_js(&r2),
                hash_js(&r1)
            ));
        }
    }
    for size in 1..=8u64 {
        assert_eq!(tree.root_at(size).unwrap(), roots[size as usize]);
        for i in 0..size {
            let proof = tree.inclusion_proof(i, size).unwrap();
            assert!(verify_inclusion(
                hash_js(&leaves[i as usize]),
                n(i as f64),
                n(size as f64),
                hashes_hex(&proof),
                hash_js(&roots[size as usize])
            ));
        }
        for m in 1..=size {
            let proof = tree.consistency_proof(m, size).unwrap();
            assert!(verify_consistency(
                n(m as f64),
                n(size as f64),
                hashes_js(&proof),
                hash_js(&roots[m as usize]),
                hash_js(&roots[size as usize])
            ));
        }
    }
}

#[wasm_bindgen_test]
fn digest_and_leaf_hash_known_answers() {
    // SHA-256 of "abc" (FIPS 180-2) and of the empty string.
    assert_eq!(
        digest(s("abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        digest(bytes(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        digest(s("")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // UTF-8: "é" is c3 a9.
    assert_eq!(digest(s("é")), digest(bytes(&[0xc3, 0xa9])));
    // The reference tree's leaf 0 is the empty string: leaf hash SHA-256(0x00).
    let d0 = [0u8; 32];
    assert_eq!(
        leaf_hash(bytes(&d0)),
        hex::encode(qed_core::history::leaf_hash(&d0))
    );
    assert_eq!(
        leaf_hash(s(&hex::encode([7u8; 32]))),
        hex::encode(qed_core::history::leaf_hash(&[7; 32]))
    );
}

fn note_data() -> Value {
    serde_json::from_str(include_str!(
        "../../core/tests/data/note/go_sumdb_note.json"
    ))
    .unwrap()
}

/// Go's signed-note vectors. The exports verify QED checkpoints, whose text Go's example is not:
/// a note whose signature verifies fails later, on the checkpoint's format, so the reason tells
/// how far verification got.
#[wasm_bindgen_test]
fn go_signed_note_vectors() {
    let d = note_data();
    let note = d["signed_note"].as_str().unwrap();
    let peter = d["peter"]["verifier_key"].as_str().unwrap();
    let enoch = d["enoch"]["verifier_key"].as_str().unwrap();
    assert_fail_with(
        &verify_checkpoint(s(note), s(peter)),
        "malformed checkpoint",
        "Go note, its key",
    );
    assert_fail_with(
        &verify_checkpoint(s(note), s(enoch)),
        "no signature by the trusted key",
        "Go note, another key",
    );
    // Every proper substring and every one-byte change of the verifier key is refused.
    let key = peter.as_bytes();
    for i in 0..key.len() {
        for j in i + 1..=key.len() {
            if (i, j) == (0, key.len()) {
                continue;
            }
            let sub = std::str::from_utf8(&key[i..j]).unwrap();
            assert_fail_with(&verify_checkpoint(s(note), s(sub)), "verifierKey", sub);
        }
        let mut changed = key.to_vec();
        changed[i] += 1;
        let changed = String::from_utf8(changed).unwrap();
        assert_fail(&verify_checkpoint(s(note), s(&changed)), &changed);
    }
    for bad in d["bad_verifier_keys"].as_array().unwrap() {
        let k = bad["key"].as_str().unwrap();
        assert_fail_with(&verify_checkpoint(s(note), s(k)), "malformed key", k);
    }
    // Go's TestOpen bad messages: none gets as far as the checkpoint, as text or as bytes.
    for bad in d["bad_messages"].as_array().unwrap() {
        let raw = hex::decode(bad["hex"].as_str().unwrap()).unwrap();
        let what = bad["go_expression"].as_str().unwrap();
        let r = assert_fail(&verify_checkpoint(bytes(&raw), s(peter)), what);
        assert!(!r.contains("malformed checkpoint"), "{what}: {r}");
        if let Ok(text) = std::str::from_utf8(&raw) {
            let r = assert_fail(&verify_checkpoint(s(text), s(peter)), what);
            assert!(!r.contains("malformed checkpoint"), "{what}: {r}");
        }
    }
    // A corrupted signature: the key is found, the signature does not verify.
    let tampered = note.replace("JnAM=", "JnAA=");
    assert_fail_with(
        &verify_checkpoint(s(&tampered), s(peter)),
        "does not verify",
        "tampered signature",
    );
}

#[wasm_bindgen_test]
fn c2sp_signed_note_example() {
    let d: Value = serde_json::from_str(include_str!(
        "../../core/tests/data/note/c2sp_signed_note.json"
    ))
    .unwrap();
    let key = d["verifier_key"].as_str().unwrap();
    let note = d["signed_note"].as_str().unwrap();
    assert_fail_with(
        &verify_checkpoint(s(note), s(key)),
        "malformed checkpoint",
        "c2sp example",
    );
    let note = qed_core::snapshot::verify_note(note, &VerifierKey::parse(key).unwrap()).unwrap();
    assert_eq!(note.text(), d["text"].as_str().unwrap());
}

/// The independent QED checkpoint known answers (Python `cryptography`): every field comes back
/// exactly, the size 2^64 - 1 as a bigint, and the small-order-R signature is refused.
#[wasm_bindgen_test]
fn qed_checkpoint_known_answers() {
    let d: Value = serde_json::from_str(include_str!(
        "../../core/tests/data/note/qed_checkpoint_kat.json"
    ))
    .unwrap();
    let key = d["verifier_key"].as_str().unwrap();
    let cases = d["checkpoints"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let note = case["note"].as_str().unwrap();
        let r = assert_ok(&verify_checkpoint(s(note), s(key)), note);
        assert_eq!(str_of(&r, "origin"), d["name"].as_str().unwrap());
        assert_eq!(
            str_of(&r, "historyDigest"),
            case["history_root"].as_str().unwrap()
        );
        assert_eq!(
            str_of(&r, "hyperDigest"),
            case["hyper_root"].as_str().unwrap()
        );
        assert_eq!(
            get(&r, "eventDigest").as_string().as_deref(),
            case["event_digest"].as_str()
        );
        let size = case["size"].as_u64().unwrap();
        let got = get(&r, "size");
        if size < (1 << 53) {
            assert_eq!(got.as_f64(), Some(size as f64), "size as a number");
        } else {
            assert!(got.is_bigint(), "size above 2^53 is a bigint");
            assert_eq!(u64::try_from(got).unwrap(), size);
        }
        // Any change to the note is refused.
        let changed = note.replacen('\n', "\n\n", 1);
        assert_fail(&verify_checkpoint(s(&changed), s(key)), "changed note");
    }
    let weak = d["small_order_r"]["note"].as_str().unwrap();
    assert_fail_with(
        &verify_checkpoint(s(weak), s(key)),
        "does not verify",
        "small-order R",
    );
}

/// Wycheproof's Ed25519 cases against the signature check every note goes through, compiled to
/// WebAssembly (the core's `VerifierKey::verify`).
#[wasm_bindgen_test]
fn wycheproof_ed25519() {
    let d: Value = serde_json::from_str(include_str!(
        "../../core/tests/data/wycheproof/ed25519_test.json"
    ))
    .unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in d["testGroups"].as_array().unwrap() {
        let pk: Vec<u8> = hex::decode(group["publicKey"]["pk"].as_str().unwrap()).unwrap();
        let key = <[u8; 32]>::try_from(pk.as_slice())
            .ok()
            .and_then(|pk| VerifierKey::new("wycheproof", &pk).ok());
        for t in group["tests"].as_array().unwrap() {
            let msg = hex::decode(t["msg"].as_str().unwrap()).unwrap();
            let sig = hex::decode(t["sig"].as_str().unwrap()).unwrap();
            let accepted = key.as_ref().is_some_and(|k| k.verify(&msg, &sig));
            match t["result"].as_str().unwrap() {
                "valid" => {
                    assert!(accepted, "tcId {}", t["tcId"]);
                    valid += 1;
                }
                "invalid" => {
                    assert!(!accepted, "tcId {}", t["tcId"]);
                    invalid += 1;
                }
                other => panic!("tcId {}: unexpected result {other}", t["tcId"]),
            }
        }
    }
    assert_eq!((valid, invalid), (88, 63));
}

/// A receipt given as a c2sp.org/tlog-proof text, built from the KAT key's log: checks that the
/// export reads the format the core writes.
#[wasm_bindgen_test]
fn tlog_proof_text_round_trip() {
    let (log, key) = log(9);
    let receipt = log.receipt(4, ev(4), false).unwrap();
    let text = receipt.to_tlog_proof();
    let r = assert_ok(
        &verify_receipt(s(&text), s(&key), JsValue::UNDEFINED),
        "tlog-proof",
    );
    assert_eq!(num_of(&r, "version"), 4.0);
    assert_eq!(str_of(&r, "digest"), hex::encode(ev(4)));
}
