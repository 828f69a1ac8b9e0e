//! C2SP signed notes: parsing, the signature line, and verification by one key.

use super::{VerifierKey, b64_decode, b64_encode};
use crate::VerifyError;
use alloc::string::String;
use alloc::vec::Vec;

/// The longest signed note accepted, in bytes (1 MiB).
///
/// A QED checkpoint note is a few hundred bytes; the limit only bounds the work an attacker can
/// cause with one note.
pub const MAX_NOTE_LEN: usize = 1 << 20;

/// The most signature lines accepted in one note (the limit of Go's `sumdb/note`;
/// c2sp.org/signed-note asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Start of every signature line: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// One signature line of a note, decoded but not verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: [u8; 4],
    signature: Vec<u8>,
}

impl NoteSignature {
    /// The key name the line claims.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID: the first four decoded bytes.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The signature proper: the decoded bytes after the key ID (64 bytes for Ed25519).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Whether this line claims to be by `key` (same name and key ID).
    pub fn is_by(&self, key: &VerifierKey) -> bool {
        self.key_id == key.key_id() && self.name == key.name()
    }

    fn parse(line: &str) -> Result<Self, VerifyError> {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(VerifyError::MalformedNote(
                "signature line does not start with \"— \"",
            ))?;
        let (name, encoded) = rest.split_once(' ').ok_or(VerifyError::MalformedNote(
            "signature line has no signature",
        ))?;
        if !is_valid_signature_name(name) {
            return Err(VerifyError::MalformedNote(
                "signature line has an invalid key name",
            ));
        }
        let bytes = b64_decode(encoded).ok_or(VerifyError::MalformedNote(
            "signature is not canonical padded base64",
        ))?;
        let (id, signature) = bytes
            .split_first_chunk::<4>()
            .filter(|(_, sig)| !sig.is_empty())
            .ok_or(VerifyError::MalformedNote(
                "signature is shorter than 5 bytes",
            ))?;
        Ok(NoteSignature {
            name: name.into(),
            key_id: *id,
            signature: signature.to_vec(),
        })
    }
}

/// A signed note (c2sp.org/signed-note), parsed and checked but not verified.
///
/// Its text must not be trusted before [`Note::verify`] (or [`super::verify_note`]) succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note.
    ///
    /// The rules, from c2sp.org/signed-note and Go's `sumdb/note`:
    /// - at most [`MAX_NOTE_LEN`] bytes, valid UTF-8 (guaranteed by `&str`; see
    ///   [`Note::parse_bytes`]), no control character below U+0020 other than newline (so no
    ///   CR and no tab);
    /// - the text ends with a newline and is separated from the signatures by the **last**
    ///   blank line of the note (the text itself may hold blank lines);
    /// - one or more, at most [`MAX_SIGNATURES`], signature lines
    ///   `— <name> <base64>` each ending with a newline, where the name is non-empty without
    ///   white space or `+`, the base64 is canonical and padded, and it decodes to at least 5
    ///   bytes (4-byte key ID and a signature).
    ///
    /// # Errors
    ///
    /// [`VerifyError::MalformedNote`] naming the broken rule.
    pub fn parse(note: &str) -> Result<Self, VerifyError> {
        if note.len() > MAX_NOTE_LEN {
            return Err(VerifyError::MalformedNote("note is too long"));
        }
        check_no_controls(note)?;
        let (head, block) = note.rsplit_once("\n\n").ok_or(VerifyError::MalformedNote(
            "no blank line before the signatures",
        ))?;
        let lines = block.strip_suffix('\n').ok_or(VerifyError::MalformedNote(
            "signature block does not end with a newline",
        ))?;
        let mut signatures = Vec::new();
        for line in lines.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(VerifyError::MalformedNote("too many signatures"));
            }
            signatures.push(NoteSignature::parse(line)?);
        }
        // The text keeps its final newline; the blank line belongs to neither part.
        let mut text = String::with_capacity(head.len() + 1);
        text.push_str(head);
        text.push('\n');
        Ok(Note { text, signatures })
    }

    /// Parses a signed note given as bytes, refusing invalid UTF-8.
    ///
    /// # Errors
    ///
    /// [`VerifyError::MalformedNote`], as for [`Note::parse`].
    pub fn parse_bytes(note: &[u8]) -> Result<Self, VerifyError> {
        if note.len() > MAX_NOTE_LEN {
            return Err(VerifyError::MalformedNote("note is too long"));
        }
        let text =
            core::str::from_utf8(note).map_err(|_| VerifyError::MalformedNote("not UTF-8"))?;
        Note::parse(text)
    }

    /// The signed text, including its final newline (but not the blank line after it).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in the note's order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Verifies the note by `key`.
    ///
    /// Lines by other keys are ignored (signed-note: verifiers MUST ignore unknown keys, even
    /// when they share the name or the ID, but not both). Every line by `key` must verify:
    /// signed-note says a note with a failing known signature SHOULD be rejected, and we do.
    ///
    /// # Errors
    ///
    /// [`VerifyError::UnknownSigner`] if no line is by `key`; [`VerifyError::BadSignature`] if
    /// a line by `key` does not verify.
    pub fn verify(&self, key: &VerifierKey) -> Result<(), VerifyError> {
        let mut found = false;
        for sig in self.signatures.iter().filter(|s| s.is_by(key)) {
            if !key.verify(self.text.as_bytes(), sig.signature()) {
                return Err(VerifyError::BadSignature(
                    alloc::string::ToString::to_string(key),
                ));
            }
            found = true;
        }
        if found {
            Ok(())
        } else {
            Err(VerifyError::UnknownSigner(
                alloc::string::ToString::to_string(key),
            ))
        }
    }
}

/// A key name as signed-note allows it in a signature line: non-empty, no Unicode white space,
/// no `+`.
pub(super) fn is_valid_signature_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Checks that `text` can be the text of a signed note: non-empty, ends with a newline, and
/// holds no control character other than newline.
pub(super) fn check_text(text: &str) -> Result<(), VerifyError> {
    if !text.ends_with('\n') {
        return Err(VerifyError::MalformedNote(
            "text does not end with a newline",
        ));
    }
    if text.len() > MAX_NOTE_LEN {
        return Err(VerifyError::MalformedNote("note is too long"));
    }
    check_no_controls(text)
}

fn check_no_controls(s: &str) -> Result<(), VerifyError> {
    // Only ASCII controls are forbidden, so a byte scan is exact on UTF-8.
    if s.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(VerifyError::MalformedNote(
            "control character other than newline",
        ));
    }
    Ok(())
}

/// The signed note: `text`, a blank line, and the signature line of `name`/`key_id`.
pub(super) fn signed(text: &str, name: &str, key_id: [u8; 4], signature: &[u8; 64]) -> String {
    let mut raw = [0u8; 68];
    raw[..4].copy_from_slice(&key_id);
    raw[4..].copy_from_slice(signature);
    let encoded = b64_encode(&raw);
    let mut out =
        String::with_capacity(text.len() + SIG_PREFIX.len() + name.len() + encoded.len() + 3);
    out.push_str(text);
    out.push('\n');
    out.push_str(SIG_PREFIX);
    out.push_str(name);
    out.push(' ');
    out.push_str(&encoded);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn splits_at_last_blank_line() {
        let n = Note::parse(&alloc::format!("a\n\nb\n\n{SIG}")).unwrap();
        assert_eq!(n.text(), "a\n\nb\n");
        assert_eq!(n.signatures().len(), 1);
        assert_eq!(n.signatures()[0].name(), "PeterNeumann");
        assert_eq!(n.signatures()[0].key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(n.signatures()[0].signature().len(), 64);
    }

    #[test]
    fn rejects_short_signature_and_empty_name() {
        // "AAAAAA==" decodes to 4 bytes: a key ID and no signature.
        assert!(Note::parse("a\n\n— n AAAAAA==\n").is_err());
        assert!(Note::parse("a\n\n— n AAAAAAA=\n").is_ok());
        assert!(Note::parse("a\n\n—  AAAAAAA=\n").is_err());
        assert!(Note::parse("a\n\n— n \n").is_err());
        assert!(Note::parse("a\n\n— n\n").is_err());
    }

    #[test]
    fn signature_count_limit() {
        let ok = alloc::format!("a\n\n{}", SIG.repeat(MAX_SIGNATURES));
        assert_eq!(Note::parse(&ok).unwrap().signatures().len(), MAX_SIGNATURES);
        let bad = alloc::format!("a\n\n{}", SIG.repeat(MAX_SIGNATURES + 1));
        assert_eq!(
            Note::parse(&bad),
            Err(VerifyError::MalformedNote("too many signatures"))
        );
    }

    #[test]
    fn length_limit() {
        let long = alloc::format!("{}\n\n{SIG}", "a".repeat(MAX_NOTE_LEN));
        assert_eq!(
            Note::parse(&long),
            Err(VerifyError::MalformedNote("note is too long"))
        );
        assert_eq!(
            Note::parse_bytes(long.as_bytes()),
            Err(VerifyError::MalformedNote("note is too long"))
        );
    }
}
