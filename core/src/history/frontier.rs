//! The right edge of the tree: enough to append leaves and compute the root from memory.

use alloc::format;
use alloc::vec::Vec;

use super::hashing::{EMPTY_ROOT, leaf_hash, node_hash};
use crate::{Hash, VerifyError};

/// The right edge of a tree (a "compact range" from leaf 0): the roots of the complete subtrees
/// the tree splits into, one per 1 bit of its size, largest (leftmost) first. At most 64 hashes.
///
/// Appending needs nothing else: a new leaf merges with the trailing subtrees of equal size,
/// so an append costs one leaf hash plus, on average, one interior hash.
///
/// ```
/// use qed_core::history::{Frontier, MemoryTree};
/// let (mut frontier, mut tree) = (Frontier::new(), MemoryTree::new());
/// let mut stored = Vec::new();
/// for i in 0..5u8 {
///     let v = frontier.append(&[i; 32], |level, index, hash| stored.push((level, index, *hash)));
///     assert_eq!(v, tree.append(&[i; 32]));
/// }
/// assert_eq!(frontier.root(), tree.root());
/// assert_eq!(frontier.hashes().len(), 2); // 5 = 4 + 1
/// // Five leaves, two pairs and one subtree of four became known.
/// assert_eq!(stored.len(), 5 + 2 + 1);
/// let restored = Frontier::from_parts(frontier.size(), frontier.hashes().to_vec()).unwrap();
/// assert_eq!(restored, frontier);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self {
            size: 0,
            hashes: Vec::with_capacity(64),
        }
    }

    /// Rebuilds a frontier from what [`size`](Self::size) and [`hashes`](Self::hashes) returned.
    /// Fails unless there is exactly one hash per 1 bit of `size`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, VerifyError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(VerifyError::Malformed(format!(
                "a history frontier of size {size} has {expected} hashes, not {}",
                hashes.len()
            )));
        }
        Ok(Self { size, hashes })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The complete-subtree roots of the right edge, largest first: what to persist.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The root of the tree: the edge folded from the right; [`EMPTY_ROOT`] when empty.
    pub fn root(&self) -> Hash {
        let mut edge = self.hashes.iter().rev();
        match edge.next() {
            Some(last) => edge.fold(*last, |acc, left| node_hash(left, &acc)),
            None => EMPTY_ROOT,
        }
    }

    /// Appends the leaf whose data is the event digest `digest` and returns its index (the
    /// event's version).
    ///
    /// `sink(level, index, hash)` is called for every complete subtree that becomes known, in
    /// order: the leaf itself at level 0, then each parent the leaf completes. Storing these
    /// is all a [`NodeSource`](super::NodeSource) needs.
    ///
    /// A tree of `u64::MAX` leaves cannot grow: then nothing changes, `sink` is not called and
    /// the result is `u64::MAX`, which is never a leaf index. Use
    /// [`try_append`](Self::try_append) to get `None` instead.
    pub fn append(&mut self, digest: &[u8; 32], sink: impl FnMut(u8, u64, &Hash)) -> u64 {
        self.try_append(digest, sink).unwrap_or(u64::MAX)
    }

    /// [`append`](Self::append), returning `None` when the tree is full (`u64::MAX` leaves).
    pub fn try_append(
        &mut self,
        digest: &[u8; 32],
        sink: impl FnMut(u8, u64, &Hash),
    ) -> Option<u64> {
        self.try_append_leaf_hash(&leaf_hash(digest), sink)
    }

    /// Appends a leaf given its leaf hash (for leaf data other than a 32-byte digest, such as the
    /// RFC 6962 test trees). Returns `None` when the tree is full.
    pub fn try_append_leaf_hash(
        &mut self,
        leaf: &Hash,
        mut sink: impl FnMut(u8, u64, &Hash),
    ) -> Option<u64> {
        let index = self.size;
        let size = index.checked_add(1)?;
        sink(0, index, leaf);
        let mut hash = *leaf;
        // Each trailing 1 bit of the index is a complete subtree of the same height waiting on
        // the edge for its right sibling, which the new leaf has just completed.
        let mut position = index;
        let mut level = 0u8;
        while position & 1 == 1 {
            let Some(left) = self.hashes.pop() else {
                break; // unreachable: the edge holds one hash per 1 bit of the size
            };
            hash = node_hash(&left, &hash);
            position >>= 1;
            level += 1; // at most 63: `index < u64::MAX` has at most 63 trailing ones
            sink(level, position, &hash);
        }
        self.hashes.push(hash);
        self.size = size;
        Some(index)
    }
}
