//! Property tests: no input makes the note, checkpoint or key parsers panic, and nothing but
//! the genuine note verifies.

use proptest::prelude::*;
use qed_core::snapshot::{Checkpoint, Note, Signer, VerifierKey, open};
use std::sync::LazyLock;

const ORIGIN: &str = "prop.example/log";

static SIGNER: LazyLock<Signer> = LazyLock::new(|| Signer::new(ORIGIN, &[0x77; 32]).unwrap());
static KEY: LazyLock<VerifierKey> = LazyLock::new(|| SIGNER.verifier_key());
static NOTE: LazyLock<String> = LazyLock::new(|| {
    SIGNER.sign(&Checkpoint {
        origin: ORIGIN.into(),
        size: 12345,
        history_root: [1; 32],
        hyper_root: [2; 32],
        event_digest: Some([3; 32]),
    })
});

/// Opens bytes as a note would arrive from outside (possibly not UTF-8).
fn open_bytes(bytes: &[u8]) -> bool {
    let parsed = Note::parse_bytes(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let opened = open(text, &KEY);
            // Parsing must agree between the two entry points.
            assert_eq!(parsed.is_ok(), Note::parse(text).is_ok());
            opened.is_ok()
        }
        Err(_) => {
            assert!(parsed.is_err());
            false
        }
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Edit::Flip(i, x)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

fn apply(bytes: &mut Vec<u8>, e: &Edit) {
    match *e {
        Edit::Flip(i, x) => {
            let i = i % bytes.len();
            bytes[i] ^= x;
        }
        Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
        Edit::Delete(i) => {
            bytes.remove(i % bytes.len());
        }
    }
}

/// Characters that reach deep into the parsers: base64, digits, newlines, the em dash.
fn noteish() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9+/= \n—.-]{0,300}").unwrap()
}

proptest! {
    // Cheap cases (a parse and at most one verification each): enough of them to hit every line.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn the_genuine_note_opens(_x in 0..1u8) {
        prop_assert!(open_bytes(NOTE.as_bytes()));
    }

    #[test]
    fn random_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(!open_bytes(&bytes));
    }

    #[test]
    fn noteish_strings_never_verify(s in noteish()) {
        prop_assert!(!open_bytes(s.as_bytes()));
        let _ = Checkpoint::parse(&s);
        let _ = VerifierKey::parse(&s);
    }

    #[test]
    fn one_edit_of_a_valid_note_never_verifies(e in edit()) {
        let mut bytes = NOTE.as_bytes().to_vec();
        apply(&mut bytes, &e);
        prop_assert_ne!(&bytes, NOTE.as_bytes());
        prop_assert!(!open_bytes(&bytes), "{:?}", e);
    }

    #[test]
    fn a_few_edits_never_panic(edits in proptest::collection::vec(edit(), 1..6)) {
        let mut bytes = NOTE.as_bytes().to_vec();
        for e in &edits {
            if bytes.is_empty() { break; }
            apply(&mut bytes, e);
        }
        if bytes != NOTE.as_bytes() {
            // Several edits could cancel out; any other result must fail.
            prop_assert!(!open_bytes(&bytes), "{:?}", edits);
        }
    }

    #[test]
    fn edited_key_strings_parse_only_to_the_same_key(e in edit()) {
        let mut bytes = KEY.to_string().into_bytes();
        apply(&mut bytes, &e);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            // Changing the case of a hex digit of the key ID is the only harmless edit.
            if let Ok(key) = VerifierKey::parse(text) {
                prop_assert_eq!(&key, &*KEY);
            }
        }
    }

    #[test]
    fn any_valid_checkpoint_round_trips(
        size in any::<u64>(),
        roots in any::<[[u8; 32]; 3]>(),
    ) {
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size,
            history_root: roots[0],
            hyper_root: roots[1],
            event_digest: (size > 0).then_some(roots[2]),
        };
        prop_assert_eq!(Checkpoint::parse(&cp.to_text()), Ok(cp.clone()));
        prop_assert_eq!(open(&SIGNER.sign(&cp), &KEY), Ok(cp));
    }
}
