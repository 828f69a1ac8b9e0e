//! Building the answers of protocol section 5 from any storage, and [`MemoryLog`], a whole QED
//! log in memory.
//!
//! The server builds its answers with [`LogView`] over RocksDB-backed trees; tests, tools and
//! the WASM package use [`MemoryLog`]. Both therefore produce the same bytes for the same log.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Display;

use crate::Hash;
use crate::history::{self, MemoryTree, NodeSource, ProofError};
use crate::hyper::{self, PageStore, StoreError};
use crate::receipt::Receipt;
use crate::snapshot::{Checkpoint, Signer, SnapshotJson};
use crate::verify::{IncrementalAnswer, MembershipAnswer};

/// Why an answer could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The question is about something the log does not have (a version beyond it, or any
    /// proof of an empty log).
    #[error("{0}")]
    NotFound(String),
    /// The question itself is wrong (`start > end`).
    #[error("{0}")]
    BadRequest(String),
    /// The storage failed or returned data the trees cannot contain.
    #[error("storage: {0}")]
    Storage(String),
}

fn history_err<E: Display>(e: ProofError<E>) -> AnswerError {
    AnswerError::Storage(format!("{e}"))
}

fn hyper_err<E: Display>(e: StoreError<E>) -> AnswerError {
    AnswerError::Storage(format!("{e}"))
}

/// One consistent state of a log: both trees as of the signed `snapshot` (the caller
/// guarantees the trees hold exactly the snapshot's size, no more).
pub struct LogView<'a, H, P> {
    /// Complete history-tree nodes (at least those of the snapshot's size).
    pub history: &'a H,
    /// Hyper-tree pages as of the snapshot.
    pub hyper: &'a P,
    /// The signed snapshot the answers are made against.
    pub snapshot: &'a SnapshotJson,
}

impl<H, P> LogView<'_, H, P>
where
    H: NodeSource,
    H::Error: Display,
    P: PageStore,
    P::Error: Display,
{
    fn size(&self) -> Result<u64, AnswerError> {
        match self.snapshot.size {
            0 => Err(AnswerError::NotFound("the log is empty".into())),
            n => Ok(n),
        }
    }

    fn check_version(&self, version: u64) -> Result<u64, AnswerError> {
        let size = self.size()?;
        if version >= size {
            return Err(AnswerError::NotFound(format!(
                "version {version} is beyond the log (latest version {})",
                size - 1
            )));
        }
        Ok(size)
    }

    /// The receipt of `digest` at `version`: the inclusion proof in the snapshot's size.
    pub fn receipt(
        &self,
        version: u64,
        digest: Hash,
        duplicate: bool,
    ) -> Result<Receipt, AnswerError> {
        let size = self.check_version(version)?;
        let proof = history::inclusion_proof(self.history, version, size).map_err(history_err)?;
        Ok(Receipt {
            version,
            digest,
            duplicate,
            snapshot: self.snapshot.clone(),
            proof,
        })
    }

    /// The membership answer for `digest` as of version `query` (the latest when `None`).
    pub fn membership(
        &self,
        digest: &Hash,
        query: Option<u64>,
    ) -> Result<MembershipAnswer, AnswerError> {
        let size = self.size()?;
        let q = query.unwrap_or(size - 1);
        self.check_version(q)?;
        let hyper_proof = hyper::prove(self.hyper, digest).map_err(hyper_err)?;
        let found = match &hyper_proof.stop {
            hyper::Stop::Leaf { key, version } if key == digest => Some(*version),
            _ => None,
        };
        let member = matches!(found, Some(v) if v <= q);
        let inclusion_proof = match found.filter(|_| member) {
            Some(v) => Some(history::inclusion_proof(self.history, v, q + 1).map_err(history_err)?),
            None => None,
        };
        let consistency_proof = if q + 1 < size {
            Some(history::consistency_proof(self.history, q + 1, size).map_err(history_err)?)
        } else {
            None
        };
        Ok(MembershipAnswer {
            digest: *digest,
            query_version: q,
            member,
            version: found,
            snapshot: self.snapshot.clone(),
            hyper_proof,
            inclusion_proof,
            consistency_proof,
        })
    }

    /// The incremental answer between versions `start <= end`.
    pub fn incremental(&self, start: u64, end: u64) -> Result<IncrementalAnswer, AnswerError> {
        if start > end {
            return Err(AnswerError::BadRequest(format!(
                "start {start} is greater than end {end}"
            )));
        }
        self.check_version(end)?;
        let proof =
            history::consistency_proof(self.history, start + 1, end + 1).map_err(history_err)?;
        Ok(IncrementalAnswer { start, end, proof })
    }
}

/// What one commit did to each digest it was given, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// The version of the digest (its first addition).
    pub version: u64,
    /// True when the digest was already in the log and nothing was appended.
    pub duplicate: bool,
}

/// A whole QED log in memory: both trees, a signer and the signed snapshot of every commit.
///
/// ```
/// use qed_core::{hash::digest, log::MemoryLog, snapshot::Signer, receipt::verify_receipt};
/// let signer = Signer::new("example.com/log", &[7; 32])?;
/// let key = signer.verifier_key();
/// let mut log = MemoryLog::new(signer);
/// let (added, _snapshot) = log.commit(&[digest(b"first"), digest(b"second")]).unwrap();
/// let receipt = log.receipt(added[1].version, digest(b"second"), false).unwrap();
/// assert_eq!(verify_receipt(&receipt, &key)?.version, 1);
/// # Ok::<(), qed_core::VerifyError>(())
/// ```
pub struct MemoryLog {
    history: MemoryTree,
    hyper: hyper::MemoryTree,
    signer: Signer,
    snapshots: BTreeMap<u64, SnapshotJson>,
    latest: SnapshotJson,
}

impl MemoryLog {
    /// An empty log whose snapshots `signer` signs (the origin is the signer's name).
    pub fn new(signer: Signer) -> MemoryLog {
        let latest = sign(&signer, 0, history::EMPTY_ROOT, hyper::EMPTY, None);
        MemoryLog {
            history: MemoryTree::new(),
            hyper: hyper::MemoryTree::new(),
            signer,
            snapshots: BTreeMap::new(),
            latest,
        }
    }

    /// Adds a group of digests as one commit: duplicates (in the log or earlier in the group)
    /// append nothing and keep their first version; one snapshot is signed when anything was
    /// appended. Returns each digest's outcome and the snapshot covering them all.
    pub fn commit(&mut self, digests: &[Hash]) -> Result<(Vec<Added>, SnapshotJson), AnswerError> {
        let mut added = Vec::with_capacity(digests.len());
        let mut fresh: BTreeMap<Hash, u64> = BTreeMap::new();
        let mut next = self.history.size();
        for d in digests {
            let known = match fresh.get(d) {
                Some(v) => Some(*v),
                None => self.hyper.get(d).map_err(hyper_err)?,
            };
            added.push(match known {
                Some(version) => Added {
                    version,
                    duplicate: true,
                },
                None => {
                    fresh.insert(*d, next);
                    self.history.append(d);
                    next += 1;
                    Added {
                        version: next - 1,
                        duplicate: false,
                    }
                }
            });
        }
        if !fresh.is_empty() {
            let batch: Vec<(Hash, u64)> = fresh.into_iter().collect();
            self.hyper.insert_batch(&batch).map_err(hyper_err)?;
            let event = digests
                .iter()
                .zip(&added)
                .rev()
                .find(|(_, a)| !a.duplicate)
                .map(|(d, _)| *d);
            self.latest = sign(
                &self.signer,
                self.history.size(),
                self.history.root(),
                self.hyper.root(),
                event,
            );
            self.snapshots.insert(self.latest.size, self.latest.clone());
        }
        Ok((added, self.latest.clone()))
    }

    /// The latest signed snapshot (size 0 before the first commit).
    pub fn latest(&self) -> &SnapshotJson {
        &self.latest
    }

    /// The signed snapshot of the commit that left the log at `size`, if there was one.
    pub fn snapshot_at(&self, size: u64) -> Option<&SnapshotJson> {
        self.snapshots.get(&size)
    }

    fn view(&self) -> LogView<'_, MemoryTree, hyper::MemoryStore> {
        LogView {
            history: &self.history,
            hyper: self.hyper.store(),
            snapshot: &self.latest,
        }
    }

    /// See [`LogView::receipt`].
    pub fn receipt(
        &self,
        version: u64,
        digest: Hash,
        duplicate: bool,
    ) -> Result<Receipt, AnswerError> {
        self.view().receipt(version, digest, duplicate)
    }

    /// See [`LogView::membership`].
    pub fn membership(
        &self,
        digest: &Hash,
        query: Option<u64>,
    ) -> Result<MembershipAnswer, AnswerError> {
        self.view().membership(digest, query)
    }

    /// See [`LogView::incremental`].
    pub fn incremental(&self, start: u64, end: u64) -> Result<IncrementalAnswer, AnswerError> {
        self.view().incremental(start, end)
    }
}

fn sign(
    signer: &Signer,
    size: u64,
    history_root: Hash,
    hyper_root: Hash,
    event_digest: Option<Hash>,
) -> SnapshotJson {
    let checkpoint = Checkpoint {
        origin: String::from(signer.name()),
        size,
        history_root,
        hyper_root,
        event_digest,
    };
    SnapshotJson::from_note(signer.sign(&checkpoint), &checkpoint)
}
