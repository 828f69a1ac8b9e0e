//! Known-answer QED checkpoint notes made independently with Python's `cryptography`
//! (`data/note/qed_checkpoint_kat.json`, generator in `data/note/README.md`).

use qed_core::Hash;
use qed_core::snapshot::{Checkpoint, Signer, VerifierKey, open};
use serde_json::Value;

fn hash(v: &Value) -> Hash {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn our_signer_and_verifier_match_the_independent_vectors() {
    let d: Value = serde_json::from_str(include_str!("data/note/qed_checkpoint_kat.json")).unwrap();
    let name = d["name"].as_str().unwrap();
    let signer = Signer::new(name, &hash(&d["secret"])).unwrap();
    let key = VerifierKey::parse(d["verifier_key"].as_str().unwrap()).unwrap();
    assert_eq!(signer.verifier_key(), key);
    assert_eq!(key.public_key(), hash(&d["public_key"]));
    assert_eq!(hex::encode(key.key_id()), d["key_id"].as_str().unwrap());

    let cases = d["checkpoints"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let cp = Checkpoint {
            origin: name.to_string(),
            size: case["size"].as_u64().unwrap(),
            history_root: hash(&case["history_root"]),
            hyper_root: hash(&case["hyper_root"]),
            event_digest: case["event_digest"]
                .as_str()
                .map(|_| hash(&case["event_digest"])),
        };
        assert_eq!(cp.to_text(), case["text"].as_str().unwrap());
        let note = case["note"].as_str().unwrap();
        assert_eq!(signer.sign(&cp), note);
        assert_eq!(signer.try_sign(&cp).unwrap(), note);
        assert_eq!(open(note, &key).unwrap(), cp);
    }
}

/// A signer can make a signature whose `R` is the identity (small order). Cofactorless
/// verification without the small-order check accepts it; ours (`verify_strict`) must not.
#[test]
fn small_order_r_is_refused() {
    use ed25519_dalek::Verifier as _;
    let d: Value = serde_json::from_str(include_str!("data/note/qed_checkpoint_kat.json")).unwrap();
    let key = VerifierKey::parse(d["verifier_key"].as_str().unwrap()).unwrap();
    let case = &d["small_order_r"];
    let text = case["text"].as_str().unwrap();
    let sig: [u8; 64] = hex::decode(case["signature"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let lenient = ed25519_dalek::VerifyingKey::from_bytes(&key.public_key()).unwrap();
    assert!(
        lenient
            .verify(text.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
            .is_ok()
    );
    assert!(!key.verify(text.as_bytes(), &sig));
    let note = case["note"].as_str().unwrap();
    assert!(matches!(
        open(note, &key),
        Err(qed_core::VerifyError::BadSignature(_))
    ));
}
