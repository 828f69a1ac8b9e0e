//! Offline checks of the answers with qed-core's verifiers, against the trusted verifier key.
//!
//! Each function takes the answer, the [`VerifierKey`] the operator distributed (never one taken
//! from the answer or the node) and what the caller knows (the event digest, the held snapshot)
//! and returns qed-core's verdict or the reason for rejecting the answer.

use qed_core::hash::to_hex;
use qed_core::receipt::{ReceiptVerdict, verify_receipt_for};
use qed_core::snapshot::{Checkpoint, SnapshotJson, VerifierKey};
use qed_core::verify::{
    IncrementalAnswer, MembershipAnswer, MembershipVerdict, verify_incremental, verify_membership,
};
use qed_core::{Hash, VerifyError};

use super::types::BulkAnswer;

/// Checks a receipt for the event whose digest is `digest`: signature of its snapshot, coverage,
/// and the inclusion proof against the signed history root.
pub fn receipt(
    receipt: &qed_core::receipt::Receipt,
    key: &VerifierKey,
    digest: &Hash,
) -> Result<ReceiptVerdict, VerifyError> {
    verify_receipt_for(receipt, key, digest)
}

/// Checks a signed snapshot and that its JSON fields say what its signed note says (a node whose
/// JSON disagrees with its own note is broken or lying, even though verifiers only use the note).
pub fn snapshot(snapshot: &SnapshotJson, key: &VerifierKey) -> Result<Checkpoint, VerifyError> {
    let checkpoint = snapshot.open(key)?;
    let agrees = snapshot.size == checkpoint.size
        && snapshot.history_digest == to_hex(&checkpoint.history_root)
        && snapshot.hyper_digest == to_hex(&checkpoint.hyper_root);
    if !agrees {
        return Err(VerifyError::Mismatch(
            "the snapshot's JSON fields differ from its signed note".to_string(),
        ));
    }
    Ok(checkpoint)
}

/// Checks a bulk answer for the digests that were submitted, in order: the snapshot's
/// signature, one entry per digest with that digest, every version covered by the snapshot, and
/// that no two different digests were given the same version.
///
/// A bulk answer has no inclusion proofs: this shows the node *claims* the versions under a
/// signed snapshot, and a later membership proof against that snapshot can hold it to them.
pub fn bulk(
    answer: &BulkAnswer,
    key: &VerifierKey,
    submitted: &[Hash],
) -> Result<Checkpoint, VerifyError> {
    let checkpoint = answer.snapshot.open(key)?;
    if answer.entries.len() != submitted.len() {
        return Err(VerifyError::Mismatch(format!(
            "{} entries answer {} submitted digests",
            answer.entries.len(),
            submitted.len()
        )));
    }
    let mut seen = std::collections::HashMap::with_capacity(submitted.len());
    for (i, (entry, digest)) in answer.entries.iter().zip(submitted).enumerate() {
        if &entry.digest != digest {
            return Err(VerifyError::Mismatch(format!(
                "entry {i} is about another digest"
            )));
        }
        if entry.version >= checkpoint.size {
            return Err(VerifyError::Mismatch(format!(
                "entry {i} has version {} beyond the snapshot of size {}",
                entry.version, checkpoint.size
            )));
        }
        if let Some(other) = seen.insert(entry.version, entry.digest)
            && other != entry.digest
        {
            return Err(VerifyError::Mismatch(format!(
                "version {} was given to two digests",
                entry.version
            )));
        }
    }
    Ok(checkpoint)
}

/// Checks a membership answer about `digest`. `held` is the signed snapshot of size
/// `query_version + 1` (needed when the question was about an older version than the answer's
/// snapshot; `None` when the question was about the latest version).
pub fn membership(
    answer: &MembershipAnswer,
    held: Option<&SnapshotJson>,
    key: &VerifierKey,
    digest: &Hash,
) -> Result<MembershipVerdict, VerifyError> {
    verify_membership(answer, held, key, digest)
}

/// Checks an incremental answer against the signed snapshots of sizes `start + 1` and `end + 1`.
pub fn incremental(
    answer: &IncrementalAnswer,
    old: &SnapshotJson,
    new: &SnapshotJson,
    key: &VerifierKey,
) -> Result<(Checkpoint, Checkpoint), VerifyError> {
    verify_incremental(answer, old, new, key)
}
