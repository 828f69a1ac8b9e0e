//! Verifiers of the membership and incremental answers (protocol section 5). Each takes the
//! trusted verifier key and returns a verdict, or the reason the answer is rejected.

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::snapshot::{Checkpoint, SnapshotJson, VerifierKey};
use crate::{Hash, VerifyError, history, hyper};

/// The answer to a membership question about `digest` as of version `query_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MembershipAnswer {
    /// The digest asked about.
    #[cfg_attr(feature = "serde", serde(with = "crate::json::hex"))]
    pub digest: Hash,
    /// The version the question is about (the latest when the request named none).
    pub query_version: u64,
    /// The server's claim: the digest is in the log at a version `<= query_version`.
    pub member: bool,
    /// The version at which the digest was first added, when it is in the log at all.
    #[cfg_attr(feature = "serde", serde(default))]
    pub version: Option<u64>,
    /// The server's current signed snapshot, against which the hyper proof is made.
    pub snapshot: SnapshotJson,
    /// Proof of the digest's presence (and version) or absence in the hyper tree.
    pub hyper_proof: hyper::Proof,
    /// For a member: inclusion proof of `version` in the log of size `query_version + 1`.
    #[cfg_attr(feature = "serde", serde(default, with = "crate::json::hex_list_opt"))]
    pub inclusion_proof: Option<Vec<Hash>>,
    /// When `query_version + 1` is below the snapshot's size: consistency proof between them.
    #[cfg_attr(feature = "serde", serde(default, with = "crate::json::hex_list_opt"))]
    pub consistency_proof: Option<Vec<Hash>>,
}

/// What a verified membership answer establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipVerdict {
    /// Whether the digest is in the log as of `query_version`.
    pub member: bool,
    /// The version at which it was added, for a member.
    pub version: Option<u64>,
    /// The version the verdict is about.
    pub query_version: u64,
    /// The server's verified current checkpoint.
    pub checkpoint: Checkpoint,
}

/// Verifies a membership answer about `digest`.
///
/// `held` is the signed snapshot of size `query_version + 1` the client already trusts (from the
/// snapshot store); `None` asks about the latest version, which must then be the answer's own
/// snapshot. Checks, in order: both signatures, that the two snapshots are consistent, the hyper
/// proof against the current snapshot, and for a member the inclusion proof against the held
/// snapshot with `version <= query_version`. The answer's `member` and `version` claims must
/// agree with what the proofs show.
pub fn verify_membership(
    answer: &MembershipAnswer,
    held: Option<&SnapshotJson>,
    key: &VerifierKey,
    digest: &Hash,
) -> Result<MembershipVerdict, VerifyError> {
    if &answer.digest != digest {
        return Err(mismatch("the answer is about another digest"));
    }
    let current = answer.snapshot.open(key)?;
    let q = answer.query_version;
    let held = match held {
        Some(s) => s.open(key)?,
        None => current.clone(),
    };
    let size_q = q
        .checked_add(1)
        .ok_or_else(|| mismatch("query version is out of range"))?;
    if held.size != size_q {
        return Err(mismatch_owned(format!(
            "the snapshot checked against has size {}, the question is about size {size_q}",
            held.size
        )));
    }
    check_consistent(
        &held,
        &current,
        answer.consistency_proof.as_deref().unwrap_or(&[]),
    )?;
    let found = match hyper::verify(&current.hyper_root, digest, &answer.hyper_proof)? {
        hyper::Lookup::Member(v) => Some(v),
        hyper::Lookup::NonMember => None,
    };
    let member = matches!(found, Some(v) if v <= q);
    if answer.member != member || answer.version != found {
        return Err(mismatch(
            "the answer's member/version claim contradicts its hyper proof",
        ));
    }
    if let Some(v) = found.filter(|_| member) {
        let proof = answer
            .inclusion_proof
            .as_deref()
            .ok_or_else(|| mismatch("a member needs an inclusion proof"))?;
        history::verify_inclusion(
            &history::leaf_hash(digest),
            v,
            size_q,
            proof,
            &held.history_root,
        )?;
    }
    Ok(MembershipVerdict {
        member,
        version: found.filter(|_| member),
        query_version: q,
        checkpoint: current,
    })
}

/// The answer to an incremental question: the RFC 9162 consistency proof from size `start + 1`
/// to size `end + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IncrementalAnswer {
    /// The older version.
    pub start: u64,
    /// The newer version.
    pub end: u64,
    /// The consistency proof between sizes `start + 1` and `end + 1`.
    #[cfg_attr(feature = "serde", serde(with = "crate::json::hex_list"))]
    pub proof: Vec<Hash>,
}

/// Verifies an incremental answer against the two signed snapshots it connects (of sizes
/// `start + 1` and `end + 1`): both signatures and the consistency proof. Returns the two
/// verified checkpoints, older first.
pub fn verify_incremental(
    answer: &IncrementalAnswer,
    old: &SnapshotJson,
    new: &SnapshotJson,
    key: &VerifierKey,
) -> Result<(Checkpoint, Checkpoint), VerifyError> {
    let (old, new) = (old.open(key)?, new.open(key)?);
    if old.version() != Some(answer.start) || new.version() != Some(answer.end) {
        return Err(mismatch(
            "the snapshots are not those of the answer's start and end versions",
        ));
    }
    check_consistent(&old, &new, &answer.proof)?;
    Ok((old, new))
}

/// Checks that two verified checkpoints belong to one log: the RFC 9162 consistency proof from
/// the older to the newer, and, at equal sizes, identical roots (two different snapshots of one
/// size are a fork). Every log extends the empty log, whose only valid form is the empty roots.
pub fn check_consistent(
    older: &Checkpoint,
    newer: &Checkpoint,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if older.size == 0 && older.size < newer.size {
        return if older.history_root == history::EMPTY_ROOT
            && older.hyper_root == hyper::EMPTY
            && proof.is_empty()
        {
            Ok(())
        } else {
            Err(mismatch(
                "an empty snapshot must have the empty roots and an empty proof",
            ))
        };
    }
    if older.size == newer.size
        && (older.history_root != newer.history_root || older.hyper_root != newer.hyper_root)
    {
        return Err(mismatch(
            "two different snapshots of the same size: the log forked",
        ));
    }
    history::verify_consistency(
        older.size,
        newer.size,
        proof,
        &older.history_root,
        &newer.history_root,
    )
}

fn mismatch(why: &str) -> VerifyError {
    VerifyError::Mismatch(why.to_string())
}

fn mismatch_owned(why: alloc::string::String) -> VerifyError {
    VerifyError::Mismatch(why)
}
