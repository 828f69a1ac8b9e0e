//! Signed notes, checkpoints and verifier-key strings: parsing never panics, and whatever
//! parses re-encodes to the same text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use qed_core::snapshot::{Checkpoint, Note, VerifierKey, open};

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        let _ = Note::parse_bytes(data);
        return;
    };
    if let Ok(note) = Note::parse(text) {
        let _ = note.verify(&common::key());
    }
    let _ = open(text, &common::key());
    if let Ok(cp) = Checkpoint::parse(text) {
        assert_eq!(cp.to_text(), text, "a parsed checkpoint must re-encode to its text");
    }
    if let Ok(key) = VerifierKey::parse(text) {
        assert_eq!(VerifierKey::parse(&key.to_string()), Ok(key));
    }
});
