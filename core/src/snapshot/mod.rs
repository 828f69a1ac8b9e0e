//! Snapshots: signed checkpoints (protocol section 4).
//!
//! A snapshot commits to the whole log at one size. It travels as a
//! [C2SP signed note](https://c2sp.org/signed-note) whose text is a
//! [tlog-checkpoint](https://c2sp.org/tlog-checkpoint) with two QED extension lines:
//!
//! ```text
//! <origin>
//! <size>
//! <base64 history root>
//! qed-hyper <base64 hyper root>
//! qed-event <base64 digest of the event at version size-1>   (absent when size is 0)
//!
//! — <origin> <base64(4-byte key ID || 64-byte Ed25519 signature)>
//! ```
//!
//! The pieces:
//!
//! - [`Checkpoint`]: the note text, with a strict parser ([`Checkpoint::parse`]) and its exact
//!   serialisation ([`Checkpoint::to_text`]).
//! - [`Note`]: a parsed signed note (text plus signature lines), checked against the
//!   signed-note rules but not yet verified.
//! - [`VerifierKey`]: the public key string `<name>+<8 hex key ID>+<base64(0x01 || key)>` that
//!   every verifier is configured with; [`key_id`] computes the key ID.
//! - [`Signer`]: the server's Ed25519 signing key.
//! - [`open`]: the one call a verifier makes — verify the note by the trusted key, then parse the
//!   checkpoint and check that its origin is the key's name. [`verify_note`] does the first half
//!   for notes whose text is not a checkpoint.
//! - `SnapshotJson` (feature `serde`): the JSON form used by the APIs.
//!
//! ```
//! use qed_core::snapshot::{open, Checkpoint, Signer};
//!
//! let signer = Signer::new("example.com/qed", &[7u8; 32])?;
//! let cp = Checkpoint {
//!     origin: "example.com/qed".into(),
//!     size: 1,
//!     history_root: [1u8; 32],
//!     hyper_root: [2u8; 32],
//!     event_digest: Some([3u8; 32]),
//! };
//! let note = signer.sign(&cp);
//! // A verifier knows only the verifier key string, never the secret.
//! let key = signer.verifier_key().to_string().parse()?;
//! assert_eq!(open(&note, &key)?, cp);
//! # Ok::<(), qed_core::VerifyError>(())
//! ```

mod checkpoint;
mod key;
mod note;

pub use checkpoint::Checkpoint;
pub use key::{Signer, VerifierKey, key_id};
pub use note::{MAX_NOTE_LEN, MAX_SIGNATURES, Note, NoteSignature};

use crate::{Hash, VerifyError};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Verifies a signed note by exactly one trusted key and returns the parsed note.
///
/// This is the signed-note half of [`open`], for notes whose text is not a checkpoint.
/// Signature lines from other keys (another name, or the same name with another key ID) are
/// ignored, as c2sp.org/signed-note requires. Every line that names this key (name and key ID)
/// must verify.
///
/// # Errors
///
/// [`VerifyError::MalformedNote`] if the note breaks the signed-note rules,
/// [`VerifyError::UnknownSigner`] if no line names the key, and
/// [`VerifyError::BadSignature`] if a line that names the key does not verify.
///
/// ```
/// use qed_core::snapshot::{verify_note, VerifierKey};
///
/// // The example of golang.org/x/mod/sumdb/note.
/// let key: VerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW".parse()?;
/// let msg = "If you think cryptography is the answer to your problem,\n\
///            then you don't know what your problem is.\n\
///            \n\
///            — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
/// let note = verify_note(msg, &key)?;
/// assert!(note.text().starts_with("If you think"));
/// # Ok::<(), qed_core::VerifyError>(())
/// ```
pub fn verify_note(note: &str, key: &VerifierKey) -> Result<Note, VerifyError> {
    let parsed = Note::parse(note)?;
    parsed.verify(key)?;
    Ok(parsed)
}

/// Opens a signed snapshot: verifies it by the trusted key, then parses its checkpoint.
///
/// The order matters: nothing is read from the text before the signature has verified (the
/// signed-note rule). The checkpoint's origin must then equal the key's name (protocol
/// section 4: key name = origin), so a key can only vouch for its own log.
///
/// # Errors
///
/// Those of [`verify_note`], then [`VerifyError::MalformedCheckpoint`] if the verified text is
/// not a QED checkpoint (see [`Checkpoint::parse`]), and [`VerifyError::Mismatch`] if its
/// origin is not the key's name.
///
/// ```
/// use qed_core::snapshot::{open, Checkpoint, Signer};
/// use qed_core::VerifyError;
///
/// let signer = Signer::new("example.com/qed", &[9u8; 32])?;
/// let empty = Checkpoint {
///     origin: "example.com/qed".into(),
///     size: 0,
///     history_root: qed_core::hash::digest(b""),
///     hyper_root: [0u8; 32],
///     event_digest: None,
/// };
/// let note = signer.sign(&empty);
/// assert_eq!(open(&note, &signer.verifier_key())?.version(), None);
///
/// let other = Signer::new("example.com/qed", &[1u8; 32])?.verifier_key();
/// assert!(matches!(open(&note, &other), Err(VerifyError::UnknownSigner(_))));
/// # Ok::<(), VerifyError>(())
/// ```
pub fn open(note: &str, key: &VerifierKey) -> Result<Checkpoint, VerifyError> {
    let verified = verify_note(note, key)?;
    let checkpoint = Checkpoint::parse(verified.text())?;
    if checkpoint.origin != key.name() {
        return Err(VerifyError::Mismatch(format!(
            "checkpoint origin {:?} is not the name of the trusted key {:?}",
            checkpoint.origin,
            key.name()
        )));
    }
    Ok(checkpoint)
}

/// Standard padded base64 (RFC 4648 section 4), the only encoding the specs allow.
fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64, accepting only the canonical encoding: padding is required
/// and the unused low bits of the last character must be zero, so each byte string has exactly
/// one accepted text (no malleable encodings).
fn b64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// Decodes the canonical base64 of exactly 32 bytes (a root or digest).
fn b64_decode_hash(text: &str) -> Option<Hash> {
    // 32 bytes are always 44 characters: refuse anything else before decoding.
    if text.len() != 44 {
        return None;
    }
    b64_decode(text)?.try_into().ok()
}

#[cfg(feature = "serde")]
mod json;
#[cfg(feature = "serde")]
pub use json::SnapshotJson;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_canonical_and_padded() {
        assert_eq!(b64_decode("AA=="), Some(alloc::vec![0]));
        assert_eq!(b64_decode("AB=="), None, "non-zero trailing bits");
        assert_eq!(b64_decode("AA"), None, "missing padding");
        assert_eq!(b64_decode("AA=\n"), None, "newline inside");
        assert_eq!(b64_decode("-_=="), None, "URL alphabet");
        let h = [0xabu8; 32];
        assert_eq!(b64_decode_hash(&b64_encode(&h)), Some(h));
        assert_eq!(b64_decode_hash(&b64_encode(&[1u8; 31])), None);
        assert_eq!(b64_decode_hash(&b64_encode(&[1u8; 33])), None);
    }
}
