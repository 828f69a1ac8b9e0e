//! Signing and opening snapshots: round trips, and every way a note or checkpoint can be wrong.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use qed_core::VerifyError;
use qed_core::snapshot::{Checkpoint, Note, Signer, VerifierKey, open, verify_note};

const ORIGIN: &str = "qed.example/log";

fn signer() -> Signer {
    Signer::new(ORIGIN, &[0x5a; 32]).unwrap()
}

fn key() -> VerifierKey {
    signer().verifier_key()
}

fn cp(size: u64) -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.into(),
        size,
        history_root: [0x11; 32],
        hyper_root: [0x22; 32],
        event_digest: (size > 0).then_some([0x33; 32]),
    }
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Signs an arbitrary text with the real key, so that only the checkpoint rules can fail.
fn open_signed_text(text: &str) -> Result<Checkpoint, VerifyError> {
    open(&signer().sign_note(text).unwrap(), &key())
}

fn malformed_checkpoint(r: Result<Checkpoint, VerifyError>) -> bool {
    matches!(r, Err(VerifyError::MalformedCheckpoint(_)))
}

#[test]
fn round_trips() {
    for size in [0, 1, 2, 7, 1 << 40, u64::MAX] {
        let c = cp(size);
        let note = signer().sign(&c);
        assert_eq!(open(&note, &key()), Ok(c.clone()));
        assert_eq!(signer().try_sign(&c).unwrap(), note);
        assert_eq!(signer().sign(&c), note, "Ed25519 is deterministic");
        assert_eq!(c.version(), size.checked_sub(1));
    }
}

#[test]
fn exact_text_of_section_4() {
    let z = b64(&[0x11; 32]);
    let h = b64(&[0x22; 32]);
    let e = b64(&[0x33; 32]);
    assert_eq!(
        cp(0).to_text(),
        format!("{ORIGIN}\n0\n{z}\nqed-hyper {h}\n")
    );
    assert_eq!(
        cp(5).to_text(),
        format!("{ORIGIN}\n5\n{z}\nqed-hyper {h}\nqed-event {e}\n")
    );
    let note = signer().sign(&cp(5));
    let (text, sig_line) = note.split_once("\n\n").unwrap();
    assert_eq!(format!("{text}\n"), cp(5).to_text());
    let encoded = sig_line
        .strip_prefix(&format!("\u{2014} {ORIGIN} "))
        .unwrap();
    let raw = STANDARD
        .decode(encoded.strip_suffix('\n').unwrap())
        .unwrap();
    assert_eq!(raw.len(), 68);
    assert_eq!(raw[..4], key().key_id());
}

#[test]
fn tampered_text_is_a_bad_signature() {
    let note = signer().sign(&cp(5));
    for (from, to) in [
        ("\n5\n", "\n6\n"),
        ("qed-hyper I", "qed-hyper J"),
        ("qed.example", "qed.exampl3"),
    ] {
        let tampered = note.replacen(from, to, 1);
        assert_ne!(tampered, note);
        let got = open(&tampered, &key());
        assert!(matches!(got, Err(VerifyError::BadSignature(_))), "{got:?}");
    }
    // Renaming the origin everywhere also renames the signature line: no longer our key.
    let renamed = note.replace("qed.example", "qed.exampl3");
    assert!(matches!(
        open(&renamed, &key()),
        Err(VerifyError::UnknownSigner(_))
    ));
}

#[test]
fn wrong_key_name_or_key_id() {
    let note = signer().sign(&cp(3));
    // Same name, another key: another key ID, so the line is not by that key.
    let other_key = Signer::new(ORIGIN, &[1; 32]).unwrap().verifier_key();
    assert!(matches!(
        open(&note, &other_key),
        Err(VerifyError::UnknownSigner(_))
    ));
    // Same secret, another name.
    let other_name = Signer::new("other.example/log", &[0x5a; 32])
        .unwrap()
        .verifier_key();
    assert!(matches!(
        open(&note, &other_name),
        Err(VerifyError::UnknownSigner(_))
    ));
    // Swapped key ID in the signature line.
    let (text, line) = note.split_once("\n\n").unwrap();
    let encoded = line.rsplit_once(' ').unwrap().1.trim_end();
    let mut raw = STANDARD.decode(encoded).unwrap();
    raw[..4].copy_from_slice(&other_key.key_id());
    let swapped = format!("{text}\n\n\u{2014} {ORIGIN} {}\n", b64(&raw));
    assert!(matches!(
        open(&swapped, &key()),
        Err(VerifyError::UnknownSigner(_))
    ));
    // Right name and key ID, wrong signature bytes or length.
    raw[..4].copy_from_slice(&key().key_id());
    raw[10] ^= 1;
    let flipped = format!("{text}\n\n\u{2014} {ORIGIN} {}\n", b64(&raw));
    assert!(matches!(
        open(&flipped, &key()),
        Err(VerifyError::BadSignature(_))
    ));
    let short = format!("{text}\n\n\u{2014} {ORIGIN} {}\n", b64(&raw[..67]));
    assert!(matches!(
        open(&short, &key()),
        Err(VerifyError::BadSignature(_))
    ));
}

#[test]
fn origin_must_be_the_key_name() {
    let mut c = cp(2);
    c.origin = "someone.else/log".into();
    let note = signer().sign(&c);
    assert!(matches!(open(&note, &key()), Err(VerifyError::Mismatch(_))));
    assert!(matches!(
        signer().try_sign(&c),
        Err(VerifyError::Mismatch(_))
    ));
}

#[test]
fn other_signatures_are_ignored() {
    let note = signer().sign(&cp(4));
    let witness = Signer::new("witness.example", &[7; 32]).unwrap();
    let cosigned = witness.sign_note(&cp(4).to_text()).unwrap();
    let witness_line = cosigned.split_once("\n\n").unwrap().1;
    // Witness line before and after ours; both keys open it.
    let (text, ours) = note.split_once("\n\n").unwrap();
    for n in [
        format!("{text}\n\n{witness_line}{ours}"),
        format!("{note}{witness_line}"),
    ] {
        assert_eq!(open(&n, &key()), Ok(cp(4)));
        assert!(verify_note(&n, &witness.verifier_key()).is_ok());
        assert_eq!(Note::parse(&n).unwrap().signatures().len(), 2);
    }
    // Only the witness: our key finds nothing.
    assert!(matches!(
        open(&cosigned, &key()),
        Err(VerifyError::UnknownSigner(_))
    ));
}

#[test]
fn every_truncation_is_malformed() {
    let note = signer().sign(&cp(9));
    for end in 0..note.len() {
        let Some(prefix) = note.get(..end) else {
            continue;
        };
        let got = open(prefix, &key());
        assert!(
            matches!(got, Err(VerifyError::MalformedNote(_))),
            "{end}: {got:?}"
        );
    }
    for end in 0..note.len() {
        assert!(Note::parse_bytes(&note.as_bytes()[..end]).is_err());
    }
}

#[test]
fn blank_lines_crlf_and_final_newline() {
    let note = signer().sign(&cp(9));
    let (text, line) = note.split_once("\n\n").unwrap();
    let bad_sig = |n: &str| matches!(open(n, &key()), Err(VerifyError::BadSignature(_)));
    let malformed = |n: &str| matches!(open(n, &key()), Err(VerifyError::MalformedNote(_)));
    // Extra blank line between text and signatures: the text gains a line, so it changed.
    assert!(bad_sig(&format!("{text}\n\n\n{line}")));
    // Blank line before the text.
    assert!(bad_sig(&format!("\n{note}")));
    // Blank line after the signatures.
    assert!(malformed(&format!("{note}\n")));
    // Blank line between two signature lines.
    // (the last blank line splits, so our first line joins the text, which then differs)
    assert!(bad_sig(&format!("{note}\n{line}")));
    // CRLF line ends anywhere.
    assert!(malformed(&note.replace('\n', "\r\n")));
    assert!(malformed(&note.replacen('\n', "\r\n", 1)));
    // Missing final newline.
    assert!(malformed(note.strip_suffix('\n').unwrap()));
    // Tabs and other controls.
    assert!(malformed(&note.replacen(' ', "\t", 1)));
    assert!(malformed(&format!("\u{0}{note}")));
    // A validly signed text with a blank line inside is not a checkpoint.
    let inner = cp(9).to_text().replacen("\nqed-hyper", "\n\nqed-hyper", 1);
    assert!(malformed_checkpoint(open_signed_text(&inner)));
    // And a checkpoint text with CRLF or without final newline does not parse on its own.
    assert!(Checkpoint::parse(&cp(9).to_text().replace('\n', "\r\n")).is_err());
    let text9 = cp(9).to_text();
    assert_eq!(
        Checkpoint::parse(text9.strip_suffix('\n').unwrap()),
        Err(VerifyError::MalformedCheckpoint(
            "text does not end with a newline"
        ))
    );
    assert!(
        signer()
            .sign_note(text9.strip_suffix('\n').unwrap())
            .is_err()
    );
    assert!(signer().sign_note(&text9.replace('\n', "\r\n")).is_err());
}

#[test]
fn size_line_rules() {
    let text = cp(9).to_text();
    for bad in [
        "09",
        "+9",
        "-9",
        " 9",
        "9 ",
        "",
        "9.0",
        "0x9",
        "18446744073709551616",
        "\u{0669}",
    ] {
        let t = text.replacen("\n9\n", &format!("\n{bad}\n"), 1);
        assert!(malformed_checkpoint(open_signed_text(&t)), "{bad:?}");
    }
    let zero = cp(0).to_text().replacen("\n0\n", "\n00\n", 1);
    assert!(malformed_checkpoint(open_signed_text(&zero)));
}

/// Flips the lowest bit of the last data character of a padded base64 string: one of the bits
/// that padding leaves unused, so the decoded bytes are the same but the text is not canonical.
fn non_canonical(encoded: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let data = encoded.trim_end_matches('=');
    let pad = &encoded[data.len()..];
    assert!(!pad.is_empty(), "needs padding to have unused bits");
    let (head, last) = data.split_at(data.len() - 1);
    let index = ALPHABET.find(last).unwrap();
    let flipped = &ALPHABET[index ^ 1..(index ^ 1) + 1];
    format!("{head}{flipped}{pad}")
}

#[test]
fn base64_and_root_lengths() {
    let h = b64(&[0x11; 32]);
    let text = cp(9).to_text();
    let unpadded = h.trim_end_matches('=').to_string();
    let short = b64(&[0x11; 31]);
    let long = b64(&[0x11; 33]);
    let url = b64(&[0xfb; 32]).replace('+', "-").replace('/', "_");
    let variants = [
        non_canonical(&h),
        unpadded,
        short,
        long,
        url,
        String::new(),
        format!(" {h}"),
    ];
    for bad in variants {
        for (line, target) in [
            ("", &h),
            ("qed-hyper ", &b64(&[0x22; 32])),
            ("qed-event ", &b64(&[0x33; 32])),
        ] {
            let t = text.replacen(
                &format!("\n{line}{target}\n"),
                &format!("\n{line}{bad}\n"),
                1,
            );
            assert_ne!(t, text);
            assert!(malformed_checkpoint(open_signed_text(&t)), "{line}{bad}");
        }
    }
    // Non-canonical base64 in the signature line itself.
    let note = signer().sign(&cp(9));
    let (text, line) = note.split_once("\n\n").unwrap();
    let encoded = line.rsplit_once(' ').unwrap().1.trim_end();
    let changed = format!("{text}\n\n\u{2014} {ORIGIN} {}\n", non_canonical(encoded));
    assert_eq!(
        STANDARD.decode(non_canonical(encoded)).map_err(|_| ()),
        Err(())
    );
    assert_eq!(
        open(&changed, &key()),
        Err(VerifyError::MalformedNote(
            "signature is not canonical padded base64"
        ))
    );
}

#[test]
fn event_line_presence() {
    let e = b64(&[0x33; 32]);
    // size > 0 without the event line
    let missing = cp(9).to_text().replacen(&format!("qed-event {e}\n"), "", 1);
    assert_eq!(
        open_signed_text(&missing),
        Err(VerifyError::MalformedCheckpoint("missing qed-event line"))
    );
    // size 0 with an event line
    let extra = format!("{}qed-event {e}\n", cp(0).to_text());
    assert_eq!(
        open_signed_text(&extra),
        Err(VerifyError::MalformedCheckpoint(
            "qed-event line in an empty checkpoint"
        ))
    );
}

#[test]
fn line_structure() {
    let h = b64(&[0x22; 32]);
    let e = b64(&[0x33; 32]);
    let text = cp(9).to_text();
    let swapped = text.replacen(
        &format!("qed-hyper {h}\nqed-event {e}"),
        &format!("qed-event {e}\nqed-hyper {h}"),
        1,
    );
    let unknown_ext = format!("{text}qed-extra abc\n");
    let unknown_ext0 = format!("{}witness 1\n", cp(0).to_text());
    let double_space = text.replacen("qed-hyper ", "qed-hyper  ", 1);
    let upper = text.replacen("qed-hyper", "QED-hyper", 1);
    let no_hyper = text.replacen(&format!("qed-hyper {h}\n"), "", 1);
    let empty_origin = text.replacen(ORIGIN, "", 1);
    let tlog_only = format!("{ORIGIN}\n9\n{}\n", b64(&[0x11; 32]));
    let only_origin = format!("{ORIGIN}\n");
    for bad in [
        swapped,
        unknown_ext,
        unknown_ext0,
        double_space,
        upper,
        no_hyper,
        empty_origin,
        tlog_only,
        only_origin,
    ] {
        assert!(malformed_checkpoint(open_signed_text(&bad)), "{bad}");
        assert!(Checkpoint::parse(&bad).is_err());
    }
    assert_eq!(
        Checkpoint::parse(""),
        Err(VerifyError::MalformedCheckpoint(
            "text does not end with a newline"
        ))
    );
    assert_eq!(
        Checkpoint::parse("\n"),
        Err(VerifyError::MalformedCheckpoint("origin is empty"))
    );
}

#[test]
fn signer_and_try_sign_errors() {
    for bad in ["", "a b", "a+b", "a\u{7}b", "tab\there"] {
        assert!(
            matches!(
                Signer::new(bad, &[1; 32]),
                Err(VerifyError::MalformedKey(_))
            ),
            "{bad:?}"
        );
    }
    let mut c = cp(0);
    c.event_digest = Some([0; 32]);
    assert!(matches!(
        signer().try_sign(&c),
        Err(VerifyError::MalformedCheckpoint(_))
    ));
    // sign() signs it anyway; open refuses it.
    assert!(malformed_checkpoint(open(&signer().sign(&c), &key())));
    let mut c = cp(3);
    c.event_digest = None;
    assert!(matches!(
        signer().try_sign(&c),
        Err(VerifyError::MalformedCheckpoint(_))
    ));
    assert!(signer().sign_note("").is_err());
    // The signed note, not only the text, must fit in MAX_NOTE_LEN.
    let near = format!("{}\n", "a".repeat((1 << 20) - 200));
    assert!(open(&signer().sign_note(&near).unwrap(), &key()).is_err());
    assert!(verify_note(&signer().sign_note(&near).unwrap(), &key()).is_ok());
    let over = format!("{}\n", "a".repeat((1 << 20) - 20));
    assert_eq!(
        signer().sign_note(&over),
        Err(VerifyError::MalformedNote("note is too long"))
    );
}

#[test]
fn errors_explain_themselves() {
    let note = signer().sign(&cp(1));
    let stranger = Signer::new(ORIGIN, &[2; 32]).unwrap().verifier_key();
    let err = open(&note, &stranger).unwrap_err().to_string();
    assert!(err.contains(&stranger.to_string()), "{err}");
    let err = open(&note.replacen("\n1\n", "\n2\n", 1), &key())
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not verify"), "{err}");
}

#[cfg(feature = "serde")]
mod json {
    use super::*;
    use qed_core::snapshot::SnapshotJson;

    #[test]
    fn json_form() {
        let c = cp(3);
        let j = SnapshotJson::from_note(signer().sign(&c), &c);
        assert_eq!(j.version, Some(2));
        assert_eq!(j.size, 3);
        assert_eq!(j.history_digest, "11".repeat(32));
        assert_eq!(j.hyper_digest, "22".repeat(32));
        assert_eq!(j.event_digest.as_deref(), Some("33".repeat(32).as_str()));
        let text = serde_json::to_string(&j).unwrap();
        let back: SnapshotJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back, j);
        assert_eq!(back.open(&key()), Ok(c));
    }

    #[test]
    fn empty_log_has_nulls() {
        let c = cp(0);
        let j = SnapshotJson::from_note(signer().sign(&c), &c);
        let v: serde_json::Value = serde_json::to_value(&j).unwrap();
        assert!(v["version"].is_null() && v["event_digest"].is_null());
        assert_eq!(v["size"], 0);
        // Missing optional fields read as null.
        let mut obj = v.as_object().unwrap().clone();
        obj.remove("version");
        obj.remove("event_digest");
        let back: SnapshotJson = serde_json::from_value(obj.into()).unwrap();
        assert_eq!(back, j);
    }

    #[test]
    fn fields_never_override_the_note() {
        let c = cp(3);
        let mut j = SnapshotJson::from_note(signer().sign(&c), &c);
        j.size = 1000;
        j.version = Some(999);
        j.history_digest = "00".repeat(32);
        j.event_digest = None;
        assert_eq!(j.open(&key()), Ok(c));
        j.checkpoint = j.checkpoint.replacen("\n3\n", "\n1000\n", 1);
        assert!(matches!(j.open(&key()), Err(VerifyError::BadSignature(_))));
    }
}
