//! Verification of inclusion and consistency proofs: RFC 9162 sections 2.1.3.2 and 2.1.4.2.
//!
//! The RFC states both algorithms as one loop that shifts two counters and fails when the
//! proof runs out early or is left over. The loop's shape depends only on the index and sizes,
//! so this module computes that shape first, rejects a proof of any other length before hashing
//! anything, and then folds the proof in two simple runs. The accepted proofs and computed
//! roots are exactly the RFC's (the property tests compare both forms on random and corrupted
//! proofs).

use alloc::string::ToString;

use super::hashing::node_hash;
use crate::{Hash, VerifyError};

/// The shape of an audit path: how the proof of a node splits into two runs.
///
/// Going up from a node towards the root, the path first climbs `inner` levels below the point
/// where it meets the path of the tree's last leaf; there a sibling may be on either side. Above
/// that point the path runs along the tree's right edge, where the only siblings are complete
/// subtrees on the left: `border` of them, one for each 1 bit left in the position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathShape {
    pub(crate) inner: u32,
    pub(crate) border: u32,
}

impl PathShape {
    /// The shape of the path of the node at `position` whose right-edge counterpart (the
    /// ancestor of the tree's last leaf at the same level) is at `last`; `position <= last`.
    pub(crate) fn new(position: u64, last: u64) -> Self {
        let inner = bit_len(position ^ last);
        // A shift by 64 is what a 64-level path needs; `checked_shr` gives the 0 it means.
        let border = position.checked_shr(inner).unwrap_or(0).count_ones();
        Self { inner, border }
    }

    fn len(self) -> usize {
        // At most 128: both parts are bounded by the 64 bits of a position.
        (self.inner + self.border) as usize
    }
}

/// Number of significant bits of `x` (0 for 0).
pub(crate) fn bit_len(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

/// The number of hashes in the inclusion proof of leaf `index` in a tree of `size` leaves, or
/// `None` when `index >= size` (no such proof exists).
///
/// ```
/// use qed_core::history::inclusion_proof_len;
/// assert_eq!(inclusion_proof_len(0, 1), Some(0));
/// assert_eq!(inclusion_proof_len(5, 8), Some(3));
/// assert_eq!(inclusion_proof_len(6, 7), Some(2));
/// assert_eq!(inclusion_proof_len(7, 7), None);
/// ```
pub fn inclusion_proof_len(index: u64, size: u64) -> Option<usize> {
    let last = size.checked_sub(1)?;
    (index <= last).then(|| PathShape::new(index, last).len())
}

/// The number of hashes in the consistency proof from `size1` to `size2` leaves, or `None` when
/// no proof is accepted between those sizes (`size1 == 0` or `size1 > size2`).
///
/// ```
/// use qed_core::history::consistency_proof_len;
/// assert_eq!(consistency_proof_len(4, 4), Some(0));
/// assert_eq!(consistency_proof_len(4, 8), Some(1));
/// assert_eq!(consistency_proof_len(6, 8), Some(3));
/// assert_eq!(consistency_proof_len(0, 8), None);
/// ```
pub fn consistency_proof_len(size1: u64, size2: u64) -> Option<usize> {
    match ConsistencyShape::new(size1, size2) {
        Ok(Some(shape)) => Some(shape.len()),
        Ok(None) => Some(0),
        Err(_) => None,
    }
}

/// What a consistency proof between two different sizes holds.
#[derive(Debug, Clone, Copy)]
struct ConsistencyShape {
    /// Whether the proof starts with the hash of the older tree's last complete subtree. When
    /// the older tree is itself one complete subtree (its size is a power of two), that hash is
    /// the older root, which the verifier already has, and the proof leaves it out.
    has_seed: bool,
    /// The path of that subtree in the newer tree.
    path: PathShape,
    /// The subtree's position on its level, whose bits say on which side each inner sibling is.
    position: u64,
}

impl ConsistencyShape {
    /// `Ok(None)` for equal sizes (the proof is empty), an error for sizes with no proof.
    fn new(size1: u64, size2: u64) -> Result<Option<Self>, VerifyError> {
        if size1 > size2 {
            return Err(VerifyError::SizesOutOfOrder { size1, size2 });
        }
        // Every tree extends the empty tree, so such a "proof" could vouch for any root2 at
        // all. RFC 9162 defines consistency proofs only for 0 < size1, and transparency-dev
        // (and its published test vectors) reject size1 == 0 even against size2 == 0.
        let (Some(last1), Some(last2)) = (size1.checked_sub(1), size2.checked_sub(1)) else {
            return Err(VerifyError::Mismatch(
                "a consistency proof from the empty tree proves nothing: size1 must be at least 1"
                    .to_string(),
            ));
        };
        if size1 == size2 {
            return Ok(None);
        }
        // The older tree's last complete subtree has 2^shift leaves and ends at size1; the
        // proof starts from it (level `shift`), not from a leaf.
        let shift = size1.trailing_zeros();
        let position = last1 >> shift;
        let path = PathShape::new(position, last2 >> shift);
        Ok(Some(Self {
            has_seed: size1.count_ones() != 1,
            path,
            position,
        }))
    }

    fn len(self) -> usize {
        usize::from(self.has_seed) + self.path.len()
    }
}

/// Fails with [`VerifyError::WrongProofLength`] unless `proof` has exactly `expected` hashes.
fn check_len(proof: &[Hash], expected: usize) -> Result<(), VerifyError> {
    if proof.len() == expected {
        Ok(())
    } else {
        Err(VerifyError::WrongProofLength {
            expected,
            got: proof.len(),
        })
    }
}

/// Folds the siblings below the meeting point: bit `i` of `position` says whether the node is
/// a right child (1, sibling on the left) or a left child (0) at the `i`-th step.
fn fold_inner(seed: Hash, siblings: &[Hash], position: u64) -> Hash {
    let mut position = position;
    let mut acc = seed;
    for sibling in siblings {
        acc = if position & 1 == 1 {
            node_hash(sibling, &acc)
        } else {
            node_hash(&acc, sibling)
        };
        position >>= 1;
    }
    acc
}

/// Like [`fold_inner`] but keeps only the left siblings: the hash of the same subtree as it was
/// when the node was the last one (right siblings did not exist yet).
fn fold_inner_left(seed: Hash, siblings: &[Hash], position: u64) -> Hash {
    let mut position = position;
    let mut acc = seed;
    for sibling in siblings {
        if position & 1 == 1 {
            acc = node_hash(sibling, &acc);
        }
        position >>= 1;
    }
    acc
}

/// Folds the left siblings along the right edge of the tree.
fn fold_border(seed: Hash, siblings: &[Hash]) -> Hash {
    siblings
        .iter()
        .fold(seed, |acc, sibling| node_hash(sibling, &acc))
}

/// Recomputes the root of a tree of `size` leaves from the hash of leaf `index` and its
/// inclusion proof (RFC 9162 2.1.3.2), without comparing it with anything.
///
/// Fails when `index >= size` or when the proof does not have the length the index and size
/// require. Other verifiers use it to compare the root with one they hold.
///
/// ```
/// use qed_core::history::{MemoryTree, leaf_hash, root_from_inclusion_proof};
/// let mut tree = MemoryTree::new();
/// for i in 0..5u8 {
///     tree.append(&[i; 32]);
/// }
/// let proof = tree.inclusion_proof(2, 5).unwrap();
/// let root = root_from_inclusion_proof(&leaf_hash(&[2; 32]), 2, 5, &proof).unwrap();
/// assert_eq!(root, tree.root());
/// ```
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    let last = match size.checked_sub(1) {
        Some(last) if index <= last => last,
        _ => return Err(VerifyError::IndexOutOfRange { index, size }),
    };
    let shape = PathShape::new(index, last);
    check_len(proof, shape.len())?;
    let (inner, border) = split(proof, shape.inner)?;
    Ok(fold_border(fold_inner(*leaf_hash, inner, index), border))
}

/// Verifies that the leaf with hash `leaf_hash` is at `index` in the tree of `size` leaves whose
/// root is `root`, by RFC 9162 2.1.3.2.
///
/// The leaf hash is [`leaf_hash`](super::leaf_hash) of the event digest. A proof of the wrong
/// length is rejected before any hashing, as the RFC requires; so is `index >= size`.
///
/// ```
/// use qed_core::VerifyError;
/// use qed_core::history::{MemoryTree, leaf_hash, verify_inclusion};
///
/// let digests: Vec<[u8; 32]> = (0..7u8).map(|i| qed_core::hash::digest(&[i])).collect();
/// let mut tree = MemoryTree::new();
/// for d in &digests {
///     tree.append(d);
/// }
/// let (root, proof) = (tree.root(), tree.inclusion_proof(3, 7).unwrap());
/// assert_eq!(verify_inclusion(&leaf_hash(&digests[3]), 3, 7, &proof, &root), Ok(()));
///
/// // Another leaf, another index or a shortened proof are all rejected.
/// assert!(verify_inclusion(&leaf_hash(&digests[4]), 3, 7, &proof, &root).is_err());
/// assert!(verify_inclusion(&leaf_hash(&digests[3]), 2, 7, &proof, &root).is_err());
/// assert_eq!(
///     verify_inclusion(&leaf_hash(&digests[3]), 3, 7, &proof[1..], &root),
///     Err(VerifyError::WrongProofLength { expected: 3, got: 2 })
/// );
/// ```
pub fn verify_inclusion(
    leaf_hash: &[u8; 32],
    index: u64,
    size: u64,
    proof: &[[u8; 32]],
    root: &[u8; 32],
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    matching(&computed, root, "history")
}

/// Checks a consistency proof from the tree of `size1` leaves with root `root1` and returns the
/// root of the tree of `size2` leaves it leads to (RFC 9162 2.1.4.2).
///
/// The older root is checked here: a proof that does not reproduce `root1` is rejected. Equal
/// sizes need an empty proof and give back `root1`; `size1 == 0` is always rejected.
///
/// ```
/// use qed_core::history::{MemoryTree, root_from_consistency_proof};
/// let mut tree = MemoryTree::new();
/// for i in 0..10u8 {
///     tree.append(&[i; 32]);
/// }
/// let proof = tree.consistency_proof(6, 10).unwrap();
/// let root6 = tree.root_at(6).unwrap();
/// assert_eq!(root_from_consistency_proof(6, 10, &proof, &root6), Ok(tree.root()));
/// ```
pub fn root_from_consistency_proof(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
) -> Result<Hash, VerifyError> {
    let Some(shape) = ConsistencyShape::new(size1, size2)? else {
        check_len(proof, 0)?;
        return Ok(*root1);
    };
    check_len(proof, shape.len())?;
    let (seed, rest) = match (shape.has_seed, proof.split_first()) {
        (true, Some((first, rest))) => (*first, rest),
        _ => (*root1, proof),
    };
    let (inner, border) = split(rest, shape.path.inner)?;
    let old = fold_border(fold_inner_left(seed, inner, shape.position), border);
    matching(&old, root1, "older history")?;
    Ok(fold_border(fold_inner(seed, inner, shape.position), border))
}

/// Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1`
/// leaves with root `root1`, by RFC 9162 2.1.4.2.
///
/// Follows transparency-dev/merkle on the edge cases: `size1 > size2` and `size1 == 0` are
/// rejected; `size1 == size2` needs an empty proof and `root1 == root2`; a proof of the wrong
/// length is rejected before any hashing.
///
/// ```
/// use qed_core::history::{MemoryTree, verify_consistency};
/// let mut tree = MemoryTree::new();
/// for i in 0..10u8 {
///     tree.append(&[i; 32]);
/// }
/// let proof = tree.consistency_proof(3, 10).unwrap();
/// let (root3, root10) = (tree.root_at(3).unwrap(), tree.root());
/// assert_eq!(verify_consistency(3, 10, &proof, &root3, &root10), Ok(()));
/// assert!(verify_consistency(3, 10, &proof, &root10, &root3).is_err());
/// assert!(verify_consistency(4, 10, &proof, &root3, &root10).is_err());
/// ```
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[[u8; 32]],
    root1: &[u8; 32],
    root2: &[u8; 32],
) -> Result<(), VerifyError> {
    let computed = root_from_consistency_proof(size1, size2, proof, root1)?;
    matching(&computed, root2, "history")
}

/// Splits a proof whose length has been checked into its inner and border runs.
fn split(proof: &[Hash], inner: u32) -> Result<(&[Hash], &[Hash]), VerifyError> {
    // The length check ran first, so this cannot fail; it stays an error rather than a panic.
    proof
        .split_at_checked(inner as usize)
        .ok_or(VerifyError::WrongProofLength {
            expected: inner as usize,
            got: proof.len(),
        })
}

fn matching(computed: &Hash, expected: &Hash, which: &'static str) -> Result<(), VerifyError> {
    if computed == expected {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch(which))
    }
}
