//! Key names, key IDs, verifier key strings and the Ed25519 signer.

use super::{Checkpoint, b64_decode, b64_encode, note};
use crate::VerifyError;
use alloc::string::String;
use core::fmt;
use core::str::FromStr;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The signed-note signature type byte of Ed25519 (c2sp.org/signed-note).
const ALG_ED25519: u8 = 0x01;

/// The key ID of an Ed25519 key: the first 4 bytes of `SHA-256(name || 0x0A || 0x01 || key)`.
///
/// This is the ID c2sp.org/signed-note recommends; it is written big-endian at the start of each
/// signature and as 8 hex digits in the verifier key string.
///
/// ```
/// use qed_core::snapshot::{key_id, VerifierKey};
/// let key: VerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW".parse()?;
/// assert_eq!(key_id("PeterNeumann", &key.public_key()), [0xc7, 0x4f, 0x20, 0xa3]);
/// # Ok::<(), qed_core::VerifyError>(())
/// ```
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public_key);
    let sum = h.finalize();
    let mut id = [0u8; 4];
    id.copy_from_slice(&sum[..4]);
    id
}

/// Whether `name` may name one of our keys (and so a log origin).
///
/// The signed-note rule (non-empty, no Unicode white space, no `+`), plus no control
/// characters at all: a key name is printed in logs and configuration, where an invisible
/// character would make two different names look the same.
pub(super) fn is_valid_key_name(name: &str) -> bool {
    note::is_valid_signature_name(name) && !name.chars().any(char::is_control)
}

/// A trusted Ed25519 verifier key: a name, its key ID and the public key.
///
/// Its text form is the signed-note verifier key string
/// `<name>+<8 hex key ID>+<base64(0x01 || 32-byte public key)>`, produced by `Display` and
/// read by [`VerifierKey::parse`] (also `FromStr`). Every verifier of QED is configured with
/// one such string and trusts nothing else.
///
/// ```
/// use qed_core::snapshot::VerifierKey;
/// let s = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// let key = VerifierKey::parse(s)?;
/// assert_eq!(key.name(), "PeterNeumann");
/// assert_eq!(key.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
/// assert_eq!(key.to_string(), s);
/// # Ok::<(), qed_core::VerifyError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    name: String,
    key_id: [u8; 4],
    // Kept decompressed so that each verification skips point decompression.
    key: VerifyingKey,
}

impl VerifierKey {
    /// Builds the verifier key of `name` and an Ed25519 public key.
    ///
    /// # Errors
    ///
    /// [`VerifyError::MalformedKey`] if the name is not a valid key name (empty, or containing
    /// white space, `+` or a control character), if the 32 bytes are not a point of the curve,
    /// or if the point has small order (such a key can never verify a signature under
    /// `verify_strict`, so it is refused up front).
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, VerifyError> {
        if !is_valid_key_name(name) {
            return Err(VerifyError::MalformedKey(
                "key name must be non-empty, without white space, '+' or control characters",
            ));
        }
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| VerifyError::MalformedKey("public key is not an Ed25519 point"))?;
        if key.is_weak() {
            return Err(VerifyError::MalformedKey("public key has small order"));
        }
        Ok(VerifierKey {
            name: name.into(),
            key_id: key_id(name, public_key),
            key,
        })
    }

    /// Parses a verifier key string `<name>+<8 hex key ID>+<base64(0x01 || public key)>`.
    ///
    /// The hex key ID may use either case. The base64 must be canonical and padded.
    ///
    /// # Errors
    ///
    /// [`VerifyError::MalformedKey`] for a bad name, missing parts, a key ID that is not 8 hex
    /// digits or that does not match the name and key, bad base64, an algorithm byte other than
    /// `0x01` (Ed25519), a key that is not 32 bytes, or a key refused by [`VerifierKey::new`].
    pub fn parse(s: &str) -> Result<Self, VerifyError> {
        // The name and the hex ID cannot hold '+', but base64 can: split at the first two only.
        let (name, rest) = s
            .split_once('+')
            .ok_or(VerifyError::MalformedKey("expected <name>+<key ID>+<key>"))?;
        let (id_hex, key_b64) = rest
            .split_once('+')
            .ok_or(VerifyError::MalformedKey("expected <name>+<key ID>+<key>"))?;
        let id = parse_key_id_hex(id_hex)?;
        let bytes = b64_decode(key_b64).ok_or(VerifyError::MalformedKey(
            "key is not canonical padded base64",
        ))?;
        let (alg, public) = bytes
            .split_first()
            .ok_or(VerifyError::MalformedKey("key is empty"))?;
        if *alg != ALG_ED25519 {
            return Err(VerifyError::MalformedKey(
                "signature type is not Ed25519 (0x01)",
            ));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| VerifyError::MalformedKey("Ed25519 public key is not 32 bytes"))?;
        let key = VerifierKey::new(name, &public)?;
        if key.key_id != id {
            return Err(VerifyError::MalformedKey(
                "key ID does not match the name and key",
            ));
        }
        Ok(key)
    }

    /// The key name: the log's origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key ID (see [`key_id`]).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Whether `signature` is a valid Ed25519 signature of `message` by this key.
    ///
    /// This is the one verification function of the crate: RFC 8032 with the strict checks of
    /// `ed25519-dalek`'s `verify_strict` (canonical `S`, and no small-order `R` or key), so a
    /// signature has one accepted encoding. A signature that is not 64 bytes is invalid.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <&[u8; 64]>::try_from(signature) else {
            return false;
        };
        self.key
            .verify_strict(message, &Signature::from_bytes(bytes))
            .is_ok()
    }
}

/// Parses exactly 8 hex digits into a key ID.
fn parse_key_id_hex(s: &str) -> Result<[u8; 4], VerifyError> {
    const BAD: VerifyError = VerifyError::MalformedKey("key ID is not 8 hex digits");
    let digits = s.as_bytes();
    if digits.len() != 8 {
        return Err(BAD);
    }
    let mut id = [0u8; 4];
    for (out, pair) in id.iter_mut().zip(digits.chunks_exact(2)) {
        let [hi, lo] = pair else { return Err(BAD) };
        *out = (hex_value(*hi).ok_or(BAD)? << 4) | hex_value(*lo).ok_or(BAD)?;
    }
    Ok(id)
}

fn hex_value(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut encoded = [0u8; 33];
        encoded[0] = ALG_ED25519;
        encoded[1..].copy_from_slice(self.key.as_bytes());
        let [a, b, c, d] = self.key_id;
        write!(
            f,
            "{}+{a:02x}{b:02x}{c:02x}{d:02x}+{}",
            self.name,
            b64_encode(&encoded)
        )
    }
}

impl FromStr for VerifierKey {
    type Err = VerifyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VerifierKey::parse(s)
    }
}

/// The log's Ed25519 signing key, under a key name (the origin it signs for).
///
/// Ed25519 signing is deterministic: the same key and text always give the same note.
/// `Debug` shows the name and key ID, never the secret.
///
/// ```
/// use qed_core::snapshot::{verify_note, Signer};
/// let signer = Signer::new("example.com/qed", &[42u8; 32])?;
/// let note = signer.sign_note("hello\n")?;
/// assert!(note.starts_with("hello\n\n— example.com/qed "));
/// verify_note(&note, &signer.verifier_key())?;
/// # Ok::<(), qed_core::VerifyError>(())
/// ```
pub struct Signer {
    key: SigningKey,
    verifier: VerifierKey,
}

impl Signer {
    /// A signer for `name` from a 32-byte Ed25519 secret key (the RFC 8032 seed).
    ///
    /// # Errors
    ///
    /// [`VerifyError::MalformedKey`] if the name is not a valid key name, or (with negligible
    /// probability) if the derived public key is refused by [`VerifierKey::new`].
    pub fn new(name: &str, secret: &[u8; 32]) -> Result<Self, VerifyError> {
        let key = SigningKey::from_bytes(secret);
        let verifier = VerifierKey::new(name, key.verifying_key().as_bytes())?;
        Ok(Signer { key, verifier })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        self.verifier.name()
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> [u8; 4] {
        self.verifier.key_id()
    }

    /// The verifier key to hand to every verifier.
    pub fn verifier_key(&self) -> VerifierKey {
        self.verifier.clone()
    }

    /// Signs a note text and returns the whole signed note: `text`, a blank line, and one
    /// signature line `— <name> <base64(key ID || signature)>`.
    ///
    /// # Errors
    ///
    /// [`VerifyError::MalformedNote`] if the text could not travel in a signed note: empty,
    /// not ending in a newline, holding a control character other than newline, or too long
    /// for [`super::MAX_NOTE_LEN`] once signed.
    pub fn sign_note(&self, text: &str) -> Result<String, VerifyError> {
        note::check_text(text)?;
        let signed = self.sign_unchecked(text);
        if signed.len() > note::MAX_NOTE_LEN {
            return Err(VerifyError::MalformedNote("note is too long"));
        }
        Ok(signed)
    }

    /// Signs a checkpoint: the signed note of [`Checkpoint::to_text`].
    ///
    /// The text is signed as it is. A checkpoint whose origin is not this signer's name, or
    /// that breaks the rules of [`Checkpoint::parse`], gives a note that [`super::open`] will
    /// refuse; use [`Signer::try_sign`] where the checkpoint is not known to be well formed.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        self.sign_unchecked(&checkpoint.to_text())
    }

    /// Signs a checkpoint after checking that it is well formed and that its origin is this
    /// signer's name, so that the note is sure to open with [`Signer::verifier_key`].
    ///
    /// # Errors
    ///
    /// [`VerifyError::MalformedCheckpoint`] (see [`Checkpoint::validate`]) or
    /// [`VerifyError::Mismatch`] if the origin is not the signer's name.
    pub fn try_sign(&self, checkpoint: &Checkpoint) -> Result<String, VerifyError> {
        checkpoint.validate()?;
        if checkpoint.origin != self.name() {
            return Err(VerifyError::Mismatch(alloc::format!(
                "checkpoint origin {:?} is not the signer's name {:?}",
                checkpoint.origin,
                self.name()
            )));
        }
        self.sign_note(&checkpoint.to_text())
    }

    fn sign_unchecked(&self, text: &str) -> String {
        let signature = self.key.sign(text.as_bytes()).to_bytes();
        note::signed(text, self.name(), self.key_id(), &signature)
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name())
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PETER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    #[test]
    fn parses_and_prints_verifier_key() {
        let key = VerifierKey::parse(PETER).unwrap();
        assert_eq!(key.name(), "PeterNeumann");
        assert_eq!(key.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(alloc::string::ToString::to_string(&key), PETER);
        let upper = PETER.replace("c74f20a3", "C74F20A3");
        assert_eq!(VerifierKey::parse(&upper).unwrap(), key);
    }

    #[test]
    fn key_id_hex_is_strict() {
        assert_eq!(parse_key_id_hex("0a1B2c3D"), Ok([0x0a, 0x1b, 0x2c, 0x3d]));
        for bad in [
            "",
            "c74f20a",
            "c74f20a3a",
            "+74f20a3",
            "c74f20g3",
            "c74f20 3",
            "c74f2é3",
        ] {
            assert!(parse_key_id_hex(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        for good in ["a", "example.com/log", "PeterNeumann", "é/ü"] {
            assert!(is_valid_key_name(good), "{good}");
        }
        for bad in [
            "", "a b", "a+b", "a\tb", "a\u{a0}b", "a\u{85}b", "a\u{7f}", "a\u{9f}", "\n",
        ] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn signer_debug_hides_secret() {
        let s = Signer::new("n", &[5u8; 32]).unwrap();
        let dbg = alloc::format!("{s:?}");
        assert!(dbg.contains("\"n\""));
        assert!(!dbg.contains("5, 5, 5"));
    }
}
