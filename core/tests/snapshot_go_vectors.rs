//! The test vectors of Go's signed-note implementation (golang.org/x/mod/sumdb/note), from
//! `data/note/go_sumdb_note.json`, and the example of c2sp.org/signed-note (sources and commits in
//! `data/note/README.md`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use qed_core::VerifyError;
use qed_core::snapshot::{Note, Signer, VerifierKey, key_id, verify_note};
use serde_json::Value;

fn data() -> Value {
    serde_json::from_str(include_str!("data/note/go_sumdb_note.json")).unwrap()
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter().fold(v, |v, k| &v[*k]).as_str().unwrap()
}

fn peter() -> VerifierKey {
    VerifierKey::parse(s(&data(), &["peter", "verifier_key"])).unwrap()
}

fn enoch() -> VerifierKey {
    VerifierKey::parse(s(&data(), &["enoch", "verifier_key"])).unwrap()
}

/// Reads Go's test-only signer key format `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`.
fn parse_go_signer_key(skey: &str) -> (String, [u8; 4], [u8; 32]) {
    let parts: Vec<&str> = skey.splitn(5, '+').collect();
    assert_eq!(parts[..2], ["PRIVATE", "KEY"]);
    let id: [u8; 4] = hex::decode(parts[3]).unwrap().try_into().unwrap();
    let raw = STANDARD.decode(parts[4]).unwrap();
    assert_eq!(raw[0], 1, "Ed25519");
    (parts[2].to_string(), id, raw[1..].try_into().unwrap())
}

#[test]
fn verifier_keys_parse_with_their_key_ids() {
    let d = data();
    for who in ["peter", "enoch"] {
        let text = s(&d, &[who, "verifier_key"]);
        let key = VerifierKey::parse(text).unwrap();
        let id = hex::decode(s(&d, &[who, "key_id"])).unwrap();
        assert_eq!(key.key_id().as_slice(), id);
        assert_eq!(key_id(key.name(), &key.public_key()).as_slice(), id);
        assert_eq!(key.to_string(), text, "Display gives back the same string");
        assert_eq!(text.parse::<VerifierKey>().unwrap(), key);
    }
    assert_eq!(peter().name(), "PeterNeumann");
    assert_eq!(enoch().name(), "EnochRoot");
}

/// Go's TestNewVerifier: every proper substring and every one-byte change is refused.
#[test]
fn verifier_key_manglings_are_refused() {
    let vkey = s(&data(), &["peter", "verifier_key"]).as_bytes().to_vec();
    for i in 0..=vkey.len() {
        for j in i + 1..=vkey.len() {
            if i == 0 && j == vkey.len() {
                continue;
            }
            let sub = std::str::from_utf8(&vkey[i..j]).unwrap();
            assert!(
                matches!(VerifierKey::parse(sub), Err(VerifyError::MalformedKey(_))),
                "{sub}"
            );
        }
    }
    for i in 0..vkey.len() {
        let mut b = vkey.clone();
        b[i] += 1;
        let changed = String::from_utf8(b).unwrap();
        assert!(VerifierKey::parse(&changed).is_err(), "{changed}");
    }
    for bad in data()["bad_verifier_keys"].as_array().unwrap() {
        let key = bad["key"].as_str().unwrap();
        assert!(
            matches!(VerifierKey::parse(key), Err(VerifyError::MalformedKey(_))),
            "{key}"
        );
    }
}

#[test]
fn signing_reproduces_go_signature() {
    let d = data();
    let (name, id, seed) = parse_go_signer_key(s(&d, &["peter", "signer_key"]));
    let signer = Signer::new(&name, &seed).unwrap();
    assert_eq!(signer.key_id(), id);
    assert_eq!(signer.verifier_key(), peter());
    assert_eq!(
        signer.verifier_key().to_string(),
        s(&d, &["peter", "verifier_key"])
    );
    let note = signer.sign_note(s(&d, &["text"])).unwrap();
    assert_eq!(note, s(&d, &["signed_note"]));
    // Go's TestSign: a text without a final newline cannot be signed.
    assert_eq!(
        signer.sign_note("abc"),
        Err(VerifyError::MalformedNote(
            "text does not end with a newline"
        ))
    );
}

#[test]
fn go_note_verifies_and_parses() {
    let d = data();
    let note = verify_note(s(&d, &["signed_note"]), &peter()).unwrap();
    assert_eq!(note.text(), s(&d, &["text"]));
    assert_eq!(note.signatures().len(), 1);
    let sig = &note.signatures()[0];
    assert_eq!(sig.name(), "PeterNeumann");
    assert_eq!(sig.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(sig.signature().len(), 64);
    assert!(sig.is_by(&peter()) && !sig.is_by(&enoch()));
}

/// Go's TestOpen, with our single-trusted-key API.
#[test]
fn go_open_cases() {
    let d = data();
    let text = s(&d, &["text"]);
    let peter_sig = s(&d, &["peter", "signature_line"]);
    let enoch_sig = s(&d, &["enoch", "signature_line"]);
    let both = format!("{text}\n{peter_sig}{enoch_sig}");

    // Each known key verifies its own line and ignores the other one.
    assert_eq!(verify_note(&both, &peter()).unwrap().text(), text);
    assert_eq!(verify_note(&both, &enoch()).unwrap().signatures().len(), 2);

    // No line by the trusted key.
    let stranger = Signer::new("PeterNeumann", &[1; 32])
        .unwrap()
        .verifier_key();
    assert!(matches!(
        verify_note(&both, &stranger),
        Err(VerifyError::UnknownSigner(_))
    ));

    // Too many signatures.
    let many = format!("{text}\n{}", peter_sig.repeat(101));
    assert_eq!(
        verify_note(&many, &peter()),
        Err(VerifyError::MalformedNote("too many signatures"))
    );

    // A corrupted signature by the trusted key.
    let corrupt = format!("{}ABCD{}", &peter_sig[..60], &peter_sig[60..]);
    let corrupt_note = format!("{text}\n{corrupt}");
    assert!(matches!(
        verify_note(&corrupt_note, &peter()),
        Err(VerifyError::BadSignature(_))
    ));

    // Duplicated verified and unverified signatures.
    let enoch_bad = format!("{}ABCD{}", &enoch_sig[..60], &enoch_sig[60..]);
    let dup = format!("{text}\n{peter_sig}{peter_sig}{enoch_sig}{enoch_sig}{enoch_bad}");
    assert_eq!(verify_note(&dup, &peter()).unwrap().signatures().len(), 5);
    // Stricter than Go, which checks only the first line of each key: every line by the
    // trusted key must verify (signed-note: a failing known signature SHOULD reject the note).
    assert!(matches!(
        verify_note(&dup, &enoch()),
        Err(VerifyError::BadSignature(_))
    ));

    // A line under another name, or with another key ID, is not by the trusted key.
    let misnamed = format!(
        "{text}\n{}",
        peter_sig.replace("PeterNeumann", "CarmenSandiego")
    );
    assert!(matches!(
        verify_note(&misnamed, &peter()),
        Err(VerifyError::UnknownSigner(_))
    ));
    let wrong_hash = format!("{text}\n{}", peter_sig.replace("x08g", "xxxx"));
    assert!(matches!(
        verify_note(&wrong_hash, &peter()),
        Err(VerifyError::UnknownSigner(_))
    ));
}

#[test]
fn go_bad_messages_are_malformed() {
    let d = data();
    let bad = d["bad_messages"].as_array().unwrap();
    assert_eq!(bad.len(), 7);
    for case in bad {
        let bytes = hex::decode(case["hex"].as_str().unwrap()).unwrap();
        let what = case["go_expression"].as_str().unwrap();
        assert!(
            matches!(
                Note::parse_bytes(&bytes),
                Err(VerifyError::MalformedNote(_))
            ),
            "{what}"
        );
        if let Ok(text) = std::str::from_utf8(&bytes) {
            assert!(
                matches!(
                    verify_note(text, &peter()),
                    Err(VerifyError::MalformedNote(_))
                ),
                "{what}"
            );
        }
    }
}

#[test]
fn own_key_error_paths() {
    let pk = peter().public_key();
    let enc = |bytes: &[u8]| STANDARD.encode(bytes);
    let with_alg = |alg: u8, key: &[u8]| [&[alg][..], key].concat();
    let id_hex = |name: &str| hex::encode(key_id(name, &pk));
    let cases = [
        // Right ID, 31-byte key.
        (
            format!(
                "PeterNeumann+{}+{}",
                id_hex("PeterNeumann"),
                enc(&with_alg(1, &pk[..31]))
            ),
            "Ed25519 public key is not 32 bytes",
        ),
        // Right ID for the name, unknown algorithm byte.
        (
            format!(
                "PeterNeumann+{}+{}",
                id_hex("PeterNeumann"),
                enc(&with_alg(2, &pk))
            ),
            "signature type is not Ed25519 (0x01)",
        ),
        (
            format!("PeterNeumann+00000000+{}", enc(&with_alg(1, &pk))),
            "key ID does not match the name and key",
        ),
        (
            format!(
                "Peter Neumann+{}+{}",
                id_hex("Peter Neumann"),
                enc(&with_alg(1, &pk))
            ),
            "key name must be non-empty, without white space, '+' or control characters",
        ),
        (
            format!("+{}+{}", id_hex(""), enc(&with_alg(1, &pk))),
            "key name must be non-empty, without white space, '+' or control characters",
        ),
        (
            format!(
                "PeterNeumann+{}+{}=",
                id_hex("PeterNeumann"),
                enc(&with_alg(1, &pk))
            ),
            "key is not canonical padded base64",
        ),
        (
            format!("PeterNeumann+{}+", id_hex("PeterNeumann")),
            "key is empty",
        ),
        (
            "PeterNeumann+c74f20a3".to_string(),
            "expected <name>+<key ID>+<key>",
        ),
        ("PeterNeumann".to_string(), "expected <name>+<key ID>+<key>"),
        (
            format!("PeterNeumann+0xc74f20+{}", enc(&with_alg(1, &pk))),
            "key ID is not 8 hex digits",
        ),
        // The identity point has small order; all-0xff is not a canonical point encoding.
        (
            format!(
                "n+{}+{}",
                hex::encode(key_id("n", &ident())),
                enc(&with_alg(1, &ident()))
            ),
            "public key has small order",
        ),
    ];
    for (text, reason) in cases {
        assert_eq!(
            VerifierKey::parse(&text),
            Err(VerifyError::MalformedKey(reason)),
            "{text}"
        );
    }
}

fn ident() -> [u8; 32] {
    let mut p = [0u8; 32];
    p[0] = 1;
    p
}

/// The example of c2sp.org/signed-note (`data/note/c2sp_signed_note.json`).
#[test]
fn c2sp_spec_example_verifies() {
    let d: Value = serde_json::from_str(include_str!("data/note/c2sp_signed_note.json")).unwrap();
    let vkey = d["verifier_key"].as_str().unwrap();
    let key = VerifierKey::parse(vkey).unwrap();
    assert_eq!(key.to_string(), vkey);
    assert_eq!(
        hex::encode(key_id(key.name(), &key.public_key())),
        d["key_id"].as_str().unwrap()
    );
    let signed = d["signed_note"].as_str().unwrap();
    let note = verify_note(signed, &key).unwrap();
    assert_eq!(note.text(), d["text"].as_str().unwrap());
    let tampered = signed.replacen("example message", "example massage", 1);
    assert!(matches!(
        verify_note(&tampered, &key),
        Err(VerifyError::BadSignature(_))
    ));
    assert!(matches!(
        verify_note(signed, &peter()),
        Err(VerifyError::UnknownSigner(_))
    ));
}
