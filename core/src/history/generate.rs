//! Proof generation over a store of complete-subtree hashes.
//!
//! Every proof element of RFC 9162 is the hash of a run of consecutive leaves. A run is either a
//! complete subtree, read with one [`NodeSource::node`] call, or a subtree on the right edge of
//! the tree that is not complete yet; such a run splits into at most 63 complete subtrees (one
//! for each 1 bit of its length), and its hash is folded from theirs. A proof therefore reads
//! O(log n) nodes, and [`inclusion_proof_nodes`] / [`consistency_proof_nodes`] list them up
//! front so that a store can fetch them in one batch.

use alloc::vec::Vec;

use super::hashing::{EMPTY_ROOT, node_hash};
use super::verify::bit_len;
use crate::Hash;

/// Read access to the hashes of the complete subtrees of one tree.
///
/// `(level, index)` names the subtree of `2^level` leaves that starts at leaf `index << level`;
/// level 0 holds the leaf hashes. Only complete subtrees are ever asked for, and only within
/// the size given to the generating function.
pub trait NodeSource {
    /// Why a node could not be read.
    type Error;

    /// The hash of the complete subtree `(level, index)`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;

    /// The number of leaves the source holds, when it knows it. Requests for larger trees are
    /// then refused as [`ProofError::OutOfRange`] before any read. The default is `None`: the
    /// source reports missing nodes through its own error instead.
    fn stored_size(&self) -> Option<u64> {
        None
    }
}

/// The address of a complete subtree: `2^level` leaves starting at leaf `index << level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves (0 for a leaf).
    pub level: u8,
    /// Position among the subtrees of this level, from the left.
    pub index: u64,
}

/// A node that a [`NodeSource`] does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("history node at level {} index {} is not stored", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

/// Why a proof request makes no sense, whatever the storage holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// An inclusion proof for a leaf that is not in the tree.
    #[error("index {index} is not below tree size {size}")]
    IndexNotBelowSize {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from a larger to a smaller tree.
    #[error("sizes out of order: {size1} > {size2}")]
    SizesOutOfOrder {
        /// The older size.
        size1: u64,
        /// The newer size.
        size2: u64,
    },
    /// A consistency proof from the empty tree, which no verifier accepts.
    #[error("a consistency proof needs a non-empty older tree (size1 = 0)")]
    EmptyOlderTree,
    /// A tree larger than what the source holds.
    #[error("tree size {size} is beyond the {stored} leaves stored")]
    BeyondStored {
        /// The requested tree size.
        size: u64,
        /// What the source holds.
        stored: u64,
    },
}

/// Why a proof or root could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    /// The node source failed.
    #[error("history storage: {0}")]
    Source(E),
    /// The request itself is out of range.
    #[error("{0}")]
    OutOfRange(RangeError),
}

impl<E> From<RangeError> for ProofError<E> {
    fn from(e: RangeError) -> Self {
        Self::OutOfRange(e)
    }
}

/// A run of leaves `[start, end)` whose hash is one proof element. `start` is a multiple of
/// the largest power of two not above `end - start`, which every run of an RFC 9162 proof is.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    end: u64,
}

impl Run {
    /// The complete subtrees this run splits into, from the right: the lowest 1 bit of the
    /// length is the rightmost subtree.
    fn nodes(self) -> impl Iterator<Item = NodeId> {
        let mut end = self.end;
        let mut remaining = self.end.saturating_sub(self.start);
        core::iter::from_fn(move || {
            if remaining == 0 {
                return None;
            }
            let level = remaining.trailing_zeros();
            // `end - start == remaining` and `remaining >= 1 << level`: no underflow.
            end -= 1 << level;
            remaining &= remaining - 1;
            // `level < 64`, so the cast is exact.
            Some(NodeId {
                level: level as u8,
                index: end >> level,
            })
        })
    }

    /// The RFC 9162 hash of the run: its complete subtrees folded from the right.
    fn hash<S: NodeSource>(self, src: &S) -> Result<Hash, ProofError<S::Error>> {
        let mut acc: Option<Hash> = None;
        for id in self.nodes() {
            let left = src.node(id.level, id.index).map_err(ProofError::Source)?;
            acc = Some(match acc {
                Some(right) => node_hash(&left, &right),
                None => left,
            });
        }
        Ok(acc.unwrap_or(EMPTY_ROOT))
    }
}

/// The runs whose hashes form the audit path of the node at `position` on `level` in a tree
/// of `size` leaves, from `level` up (the inclusion proof of a leaf when `level == 0`).
///
/// Needs `position << level < size`. See `verify::PathShape` for the two parts of a path.
fn path_runs(position: u64, level: u32, size: u64, out: &mut Vec<Run>) {
    let last = size.saturating_sub(1) >> level;
    let meet = bit_len(position ^ last);
    for step in 0..meet {
        let height = level + step; // < 64: the path has at most 64 - level steps
        let sibling = (position >> step) ^ 1;
        let start = sibling << height;
        // Only the last inner sibling can be cut short by the end of the tree; a run that
        // would end at 2^64 saturates and is cut at `size` all the same.
        let end = start.saturating_add(1 << height).min(size);
        out.push(Run { start, end });
    }
    for step in meet..(u64::BITS - level) {
        let node = position >> step;
        if node & 1 == 1 {
            let height = level + step;
            out.push(Run {
                start: (node - 1) << height,
                end: node << height,
            });
        }
    }
}

fn inclusion_runs(index: u64, size: u64) -> Result<Vec<Run>, RangeError> {
    if index >= size {
        return Err(RangeError::IndexNotBelowSize { index, size });
    }
    let mut runs = Vec::with_capacity(64);
    path_runs(index, 0, size, &mut runs);
    Ok(runs)
}

fn consistency_runs(size1: u64, size2: u64) -> Result<Vec<Run>, RangeError> {
    if size1 > size2 {
        return Err(RangeError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(RangeError::EmptyOlderTree);
    }
    let mut runs = Vec::with_capacity(64);
    if size1 == size2 {
        return Ok(runs);
    }
    // The proof grows the older tree's last complete subtree (2^shift leaves ending at size1)
    // into the newer tree: that subtree's hash, unless it is the whole older tree (whose root
    // the verifier holds), then its audit path in the newer tree.
    let shift = size1.trailing_zeros();
    let width = 1u64 << shift;
    if size1 != width {
        runs.push(Run {
            start: size1 - width,
            end: size1,
        });
    }
    path_runs((size1 - 1) >> shift, shift, size2, &mut runs);
    Ok(runs)
}

fn check_stored<S: NodeSource>(src: &S, size: u64) -> Result<(), RangeError> {
    match src.stored_size() {
        Some(stored) if size > stored => Err(RangeError::BeyondStored { size, stored }),
        _ => Ok(()),
    }
}

fn hash_runs<S: NodeSource>(src: &S, runs: &[Run]) -> Result<Vec<Hash>, ProofError<S::Error>> {
    runs.iter().map(|run| run.hash(src)).collect()
}

/// The root of the tree made of the first `size` leaves ([`EMPTY_ROOT`] for 0), read from
/// `popcount(size)` complete subtrees.
///
/// ```
/// use qed_core::history::{MemoryTree, root};
/// let mut tree = MemoryTree::new();
/// for i in 0..6u8 {
///     tree.append(&[i; 32]);
/// }
/// assert_eq!(root(&tree, 6).unwrap(), tree.root());
/// ```
pub fn root<S: NodeSource>(src: &S, size: u64) -> Result<Hash, ProofError<S::Error>> {
    check_stored(src, size)?;
    Run {
        start: 0,
        end: size,
    }
    .hash(src)
}

/// The RFC 9162 inclusion proof of leaf `index` in the tree of the first `size` leaves.
///
/// Reads the nodes [`inclusion_proof_nodes`] lists, at most about `2 log2(size)` of them.
///
/// ```
/// use qed_core::history::{MemoryTree, inclusion_proof, leaf_hash, verify_inclusion};
/// let mut tree = MemoryTree::new();
/// for i in 0..6u8 {
///     tree.append(&[i; 32]);
/// }
/// let proof = inclusion_proof(&tree, 4, 6).unwrap();
/// assert!(verify_inclusion(&leaf_hash(&[4; 32]), 4, 6, &proof, &tree.root()).is_ok());
/// ```
pub fn inclusion_proof<S: NodeSource>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    let runs = inclusion_runs(index, size)?;
    check_stored(src, size)?;
    hash_runs(src, &runs)
}

/// The RFC 9162 consistency proof from the tree of the first `size1` leaves to the tree of the
/// first `size2` leaves: empty when the sizes are equal, refused when `size1 == 0` (no verifier
/// accepts it) or `size1 > size2`.
///
/// ```
/// use qed_core::history::{MemoryTree, consistency_proof, verify_consistency};
/// let mut tree = MemoryTree::new();
/// for i in 0..6u8 {
///     tree.append(&[i; 32]);
/// }
/// let proof = consistency_proof(&tree, 3, 6).unwrap();
/// let old = tree.root_at(3).unwrap();
/// assert!(verify_consistency(3, 6, &proof, &old, &tree.root()).is_ok());
/// ```
pub fn consistency_proof<S: NodeSource>(
    src: &S,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    let runs = consistency_runs(size1, size2)?;
    check_stored(src, size2)?;
    hash_runs(src, &runs)
}

/// Every node [`root`] reads for `size`, in the order it reads them.
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    Run {
        start: 0,
        end: size,
    }
    .nodes()
    .collect()
}

/// Every node [`inclusion_proof`] reads, in the order it reads them: fetch these in one batch,
/// then generate the proof from the fetched set (a `BTreeMap<NodeId, Hash>` is a
/// [`NodeSource`]).
///
/// ```
/// use std::collections::BTreeMap;
/// use qed_core::history::{MemoryTree, NodeId, inclusion_proof, inclusion_proof_nodes};
/// let mut tree = MemoryTree::new();
/// for i in 0..13u8 {
///     tree.append(&[i; 32]);
/// }
/// let batch: BTreeMap<NodeId, [u8; 32]> = inclusion_proof_nodes(5, 13)
///     .unwrap()
///     .into_iter()
///     .map(|id| (id, tree.node(id.level, id.index).unwrap()))
///     .collect();
/// assert_eq!(inclusion_proof(&batch, 5, 13), inclusion_proof(&tree, 5, 13).map_err(|_| unreachable!()));
/// ```
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Result<Vec<NodeId>, RangeError> {
    Ok(flatten(&inclusion_runs(index, size)?))
}

/// Every node [`consistency_proof`] reads, in the order it reads them.
pub fn consistency_proof_nodes(size1: u64, size2: u64) -> Result<Vec<NodeId>, RangeError> {
    Ok(flatten(&consistency_runs(size1, size2)?))
}

fn flatten(runs: &[Run]) -> Vec<NodeId> {
    runs.iter().flat_map(|run| run.nodes()).collect()
}

/// A prefetched set of nodes, for example the batch that [`inclusion_proof_nodes`] listed.
impl NodeSource for alloc::collections::BTreeMap<NodeId, Hash> {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        let id = NodeId { level, index };
        self.get(&id).copied().ok_or(MissingNode(id))
    }
}
