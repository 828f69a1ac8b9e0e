//! The JSON form of a snapshot (protocol section 4).

use super::{Checkpoint, VerifierKey, open};
use crate::VerifyError;
use crate::hash::to_hex;
use alloc::string::String;
use serde::{Deserialize, Serialize};

/// A snapshot as the APIs send it:
/// `{"version": n-1, "size": n, "history_digest": hex, "hyper_digest": hex,
/// "event_digest": hex, "checkpoint": "<signed note>"}`.
///
/// `version` and `event_digest` are `null` for the empty log. Digests are lowercase hex.
/// Only `checkpoint` is authoritative: [`SnapshotJson::open`] verifies it and returns the values
/// read from the verified note, whatever the other fields say.
///
/// ```
/// use qed_core::snapshot::{Checkpoint, Signer, SnapshotJson};
/// let signer = Signer::new("example.com/qed", &[3u8; 32])?;
/// let cp = Checkpoint {
///     origin: "example.com/qed".into(),
///     size: 2,
///     history_root: [1; 32],
///     hyper_root: [2; 32],
///     event_digest: Some([3; 32]),
/// };
/// let json = SnapshotJson::from_note(signer.sign(&cp), &cp);
/// assert_eq!(json.version, Some(1));
/// assert_eq!(json.open(&signer.verifier_key())?, cp);
/// # Ok::<(), qed_core::VerifyError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotJson {
    /// `size - 1`, or `null` when the log is empty.
    #[serde(default)]
    pub version: Option<u64>,
    /// The number of events.
    pub size: u64,
    /// The history root, lowercase hex.
    pub history_digest: String,
    /// The hyper root, lowercase hex.
    pub hyper_digest: String,
    /// The digest of the event at version `size - 1`, lowercase hex; `null` when empty.
    #[serde(default)]
    pub event_digest: Option<String>,
    /// The signed note.
    pub checkpoint: String,
}

impl SnapshotJson {
    /// The JSON form of a signed note `note` whose checkpoint is `checkpoint`.
    ///
    /// The caller vouches that `note` is the signed form of `checkpoint` (as returned by
    /// [`super::Signer::sign`]); the other fields are copied from `checkpoint`.
    pub fn from_note(note: String, checkpoint: &Checkpoint) -> Self {
        SnapshotJson {
            version: checkpoint.version(),
            size: checkpoint.size,
            history_digest: to_hex(&checkpoint.history_root),
            hyper_digest: to_hex(&checkpoint.hyper_root),
            event_digest: checkpoint.event_digest.as_ref().map(to_hex),
            checkpoint: note,
        }
    }

    /// Verifies the `checkpoint` note by `key` (see [`open`]) and returns the checkpoint it
    /// holds. The other fields are ignored: a verifier takes every value from the verified note.
    ///
    /// # Errors
    ///
    /// Those of [`open`].
    pub fn open(&self, key: &VerifierKey) -> Result<Checkpoint, VerifyError> {
        open(&self.checkpoint, key)
    }
}
