//! A whole history tree in memory, for tests, the WASM tests and small tools.

use alloc::vec::Vec;

use super::frontier::Frontier;
use super::generate::{self, MissingNode, NodeId, NodeSource, ProofError};
use super::hashing::leaf_hash;
use crate::Hash;

/// An in-memory history tree: a [`Frontier`] plus every complete subtree hash, so it can
/// produce the root, inclusion and consistency proofs of any size it has reached.
///
/// ```
/// use qed_core::history::{MemoryTree, leaf_hash, verify_consistency, verify_inclusion};
///
/// let mut tree = MemoryTree::new();
/// let digests: Vec<[u8; 32]> = (0..10u8).map(|i| qed_core::hash::digest(&[i])).collect();
/// for (version, d) in digests.iter().enumerate() {
///     assert_eq!(tree.append(d), version as u64);
/// }
/// assert_eq!(tree.size(), 10);
///
/// // Version 7 is in the tree of size 9, whose root a client signed earlier.
/// let root9 = tree.root_at(9).unwrap();
/// let proof = tree.inclusion_proof(7, 9).unwrap();
/// assert!(verify_inclusion(&leaf_hash(&digests[7]), 7, 9, &proof, &root9).is_ok());
///
/// // And the tree of size 10 extends it.
/// let proof = tree.consistency_proof(9, 10).unwrap();
/// assert!(verify_consistency(9, 10, &proof, &root9, &tree.root()).is_ok());
///
/// // Sizes it never reached are out of range.
/// assert!(tree.inclusion_proof(3, 11).is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryTree {
    frontier: Frontier,
    /// `levels[l][i]` is the hash of the complete subtree `(l, i)`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self {
            frontier: Frontier::new(),
            levels: Vec::new(),
        }
    }

    /// Appends the leaf of an event digest and returns its index (the event's version).
    pub fn append(&mut self, digest: &[u8; 32]) -> u64 {
        self.append_leaf_hash(&leaf_hash(digest))
    }

    /// Appends a leaf given its leaf hash (see
    /// [`leaf_hash_bytes`](super::leaf_hash_bytes) for leaf data that is not a digest).
    pub fn append_leaf_hash(&mut self, leaf: &Hash) -> u64 {
        let levels = &mut self.levels;
        let stored = self.frontier.try_append_leaf_hash(leaf, |level, _, hash| {
            // Nodes of one level become known left to right, so the next one is always the
            // end of its row.
            let level = usize::from(level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            if let Some(row) = levels.get_mut(level) {
                row.push(*hash);
            }
        });
        // A memory tree cannot hold u64::MAX leaves: the allocation fails long before.
        stored.unwrap_or(u64::MAX)
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError<MissingNode>> {
        generate::root(self, size)
    }

    /// The right edge of the tree.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// The hash of the complete subtree `(level, index)`, if the tree has it.
    pub fn node(&self, level: u8, index: u64) -> Option<Hash> {
        let row = self.levels.get(usize::from(level))?;
        row.get(usize::try_from(index).ok()?).copied()
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, ProofError<MissingNode>> {
        generate::inclusion_proof(self, index, size)
    }

    /// The consistency proof from the first `size1` leaves to the first `size2` leaves.
    pub fn consistency_proof(
        &self,
        size1: u64,
        size2: u64,
    ) -> Result<Vec<Hash>, ProofError<MissingNode>> {
        generate::consistency_proof(self, size1, size2)
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        MemoryTree::node(self, level, index).ok_or(MissingNode(NodeId { level, index }))
    }

    fn stored_size(&self) -> Option<u64> {
        Some(self.size())
    }
}
