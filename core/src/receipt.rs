//! Receipts: the answer to an add (protocol section 5), checkable offline with only the
//! verifier key, and their c2sp.org/tlog-proof text form.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::snapshot::{Checkpoint, Note, SnapshotJson, VerifierKey};
use crate::{Hash, VerifyError, history};

/// The first line of every tlog-proof text.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The answer to an add: the event's version, its digest, whether it was already in the log,
/// the signed snapshot that covers it and the RFC 9162 inclusion proof of `version` in that
/// snapshot's size.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Receipt {
    /// The version (0-based index) at which the digest was first added.
    pub version: u64,
    /// `SHA-256(event)`.
    #[cfg_attr(feature = "serde", serde(with = "crate::json::hex"))]
    pub digest: Hash,
    /// True when the digest was already in the log and nothing was appended.
    pub duplicate: bool,
    /// The signed snapshot covering `version`.
    pub snapshot: SnapshotJson,
    /// Inclusion proof of `version` in the snapshot's size, leaf sibling first.
    #[cfg_attr(feature = "serde", serde(with = "crate::json::hex_list"))]
    pub proof: Vec<Hash>,
}

/// What a verified receipt establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptVerdict {
    /// The verified version of the digest.
    pub version: u64,
    /// The verified checkpoint whose history root includes it.
    pub checkpoint: Checkpoint,
}

/// Verifies a receipt with nothing but the trusted verifier key: the snapshot's signature, that
/// its size covers the version, and the inclusion proof against its history root.
///
/// To bind the receipt to an event you hold, also compare `receipt.digest` with
/// `qed_core::hash::digest(event)` (or use [`verify_receipt_for`]).
pub fn verify_receipt(receipt: &Receipt, key: &VerifierKey) -> Result<ReceiptVerdict, VerifyError> {
    let checkpoint = receipt.snapshot.open(key)?;
    if receipt.version >= checkpoint.size {
        return Err(VerifyError::Mismatch(format!(
            "version {} is not covered by the snapshot of size {}",
            receipt.version, checkpoint.size
        )));
    }
    let leaf = history::leaf_hash(&receipt.digest);
    history::verify_inclusion(
        &leaf,
        receipt.version,
        checkpoint.size,
        &receipt.proof,
        &checkpoint.history_root,
    )?;
    Ok(ReceiptVerdict {
        version: receipt.version,
        checkpoint,
    })
}

/// [`verify_receipt`], and also checks that the receipt is about `digest`.
pub fn verify_receipt_for(
    receipt: &Receipt,
    key: &VerifierKey,
    digest: &Hash,
) -> Result<ReceiptVerdict, VerifyError> {
    if &receipt.digest != digest {
        return Err(VerifyError::Mismatch(
            "the receipt is for another digest".to_string(),
        ));
    }
    verify_receipt(receipt, key)
}

impl Receipt {
    /// Writes the receipt as a c2sp.org/tlog-proof text: the digest travels in the `extra` line
    /// (unauthenticated there, but the inclusion proof binds it), the version is the `index`.
    ///
    /// The `duplicate` flag is not part of the proof and is not written.
    pub fn to_tlog_proof(&self) -> String {
        let mut out = String::new();
        out.push_str(TLOG_PROOF_HEADER);
        out.push('\n');
        out.push_str(&format!("extra {}\n", B64.encode(self.digest)));
        out.push_str(&format!("index {}\n", self.version));
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.snapshot.checkpoint);
        out
    }

    /// Reads a c2sp.org/tlog-proof text written by [`Receipt::to_tlog_proof`]. The digest comes
    /// from the `extra` line, or from `digest` when the text has none. The snapshot's JSON
    /// fields are filled from the (not yet verified) checkpoint text; verification uses only the
    /// signed note, as always.
    pub fn from_tlog_proof(text: &str, digest: Option<&Hash>) -> Result<Receipt, VerifyError> {
        let bad = |why: &str| VerifyError::Malformed(format!("tlog-proof: {why}"));
        let (head, note) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(TLOG_PROOF_HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| bad("missing index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(B64.decode(b64).map_err(|_| bad("extra is not base64"))?);
            line = lines.next().ok_or_else(|| bad("missing index line"))?;
        }
        let version = parse_decimal(
            line.strip_prefix("index ")
                .ok_or_else(|| bad("missing index line"))?,
        )
        .ok_or_else(|| bad("index is not a decimal without leading zeros"))?;
        let proof = lines
            .map(decode_hash)
            .collect::<Option<Vec<Hash>>>()
            .ok_or_else(|| bad("proof line is not a base64 SHA-256 hash"))?;
        if proof.len() > 64 {
            return Err(bad("inclusion proof longer than 64 hashes"));
        }
        let digest = match (extra, digest) {
            (Some(e), _) => {
                Hash::try_from(e.as_slice()).map_err(|_| bad("extra is not a 32-byte digest"))?
            }
            (None, Some(d)) => *d,
            (None, None) => return Err(bad("no digest: neither an extra line nor a digest given")),
        };
        let parsed = Note::parse(note)?;
        let checkpoint = Checkpoint::parse(parsed.text())?;
        let snapshot = SnapshotJson::from_note(note.to_string(), &checkpoint);
        Ok(Receipt {
            version,
            digest,
            duplicate: false,
            snapshot,
            proof,
        })
    }
}

/// ASCII decimal with no leading zeros (except "0") that fits in a u64.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

fn decode_hash(line: &str) -> Option<Hash> {
    let bytes = B64.decode(line).ok()?;
    Hash::try_from(bytes.as_slice()).ok()
}
