//! Reading the tree: lookups, proofs, and proof verification.

use alloc::vec::Vec;

use super::page::Node;
use super::store::{PageStore, StoreError, read_page};
use super::{EMPTY, Entry, Hasher, PageId, bit, interior_hash, leaf_hash, shares_prefix};
use crate::{Hash, VerifyError};

/// Most siblings a proof can have: one per key bit.
pub const MAX_PROOF_SIBLINGS: usize = 256;

/// A proof that a key is in the tree with some version, or is not in it.
///
/// JSON form (feature `serde`): `{"siblings": [hex, ...], "stop": {"leaf": {"key": hex,
/// "version": n}}}` or `{"siblings": [...], "stop": "empty"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Proof {
    /// Sibling hashes along the key's path, from the top: `siblings[j]` is the sibling of the
    /// path node at depth `j + 1`. Its length is the depth where the walk stopped.
    #[cfg_attr(feature = "serde", serde(with = "crate::json::hex_list"))]
    pub siblings: Vec<Hash>,
    /// What the walk stopped at.
    pub stop: Stop,
}

/// Where the walk down a key's path stops: the first node that holds at most one leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Stop {
    /// A node holding exactly one leaf: the key itself (member) or another key that shares the
    /// path so far (non-member).
    Leaf {
        /// The leaf's key.
        #[cfg_attr(feature = "serde", serde(with = "crate::json::hex"))]
        key: Hash,
        /// The leaf's version.
        version: u64,
    },
    /// An empty node (non-member).
    Empty,
}

/// What a verified proof establishes about its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The key is in the tree, first added at this version.
    Member(u64),
    /// The key is not in the tree.
    NonMember,
}

/// The root hash of the tree in `store` ([`EMPTY`] for the empty tree).
pub fn root<S: PageStore>(store: &S) -> Result<Hash, StoreError<S::Error>> {
    Ok(read_page(store, &PageId::ROOT)?.map_or(EMPTY, |p| p.root_hash()))
}

/// The version of `key`, or `None` when it is not in the tree. Hashes nothing.
pub fn get<S: PageStore>(store: &S, key: &Hash) -> Result<Option<u64>, StoreError<S::Error>> {
    let mut id = PageId::ROOT;
    let Some(mut page) = read_page(store, &id)? else {
        return Ok(None);
    };
    loop {
        let pos = id.position(key);
        match page.get(pos) {
            None => return Ok(None),
            Some(Entry::Leaf { key: k, version }) => return Ok((k == *key).then_some(version)),
            Some(Entry::Subtree(_)) => (id, page) = child_page(store, &id, pos)?,
        }
    }
}

/// The page below position `pos` of page `id`, which must exist.
fn child_page<S: PageStore>(
    store: &S,
    id: &PageId,
    pos: u8,
) -> Result<(PageId, super::Page), StoreError<S::Error>> {
    let corrupt = |reason| StoreError::Corrupt { page: *id, reason };
    let child = id
        .child(pos)
        .ok_or(corrupt("a depth-252 page points to a child page"))?;
    let page = read_page(store, &child)?.ok_or(corrupt("a child page is missing"))?;
    Ok((child, page))
}

/// A proof for `key`: member proof with its version if present, non-member proof otherwise.
///
/// Per page on the path, only the sibling hashes the proof needs are computed, and none when
/// the page carries its node hashes (as [`super::MemoryStore`] pages do).
///
/// ```
/// use qed_core::hyper::{self, Lookup, MemoryStore, Stop};
/// let mut store = MemoryStore::new();
/// store.apply(&hyper::insert_batch(&store, &[([0x00; 32], 0), ([0xff; 32], 1)])?);
/// let proof = hyper::prove(&store, &[0x00; 32])?;
/// assert_eq!(proof.siblings.len(), 1); // the two keys split at depth 0
/// assert_eq!(proof.stop, Stop::Leaf { key: [0x00; 32], version: 0 });
/// let root = hyper::root(&store)?;
/// assert_eq!(hyper::verify(&root, &[0x00; 32], &proof), Ok(Lookup::Member(0)));
/// # Ok::<(), hyper::StoreError<core::convert::Infallible>>(())
/// ```
pub fn prove<S: PageStore>(store: &S, key: &Hash) -> Result<Proof, StoreError<S::Error>> {
    let mut siblings = Vec::new();
    let mut hasher = Hasher::default();
    let mut id = PageId::ROOT;
    let Some(mut page) = read_page(store, &id)? else {
        return Ok(Proof {
            siblings,
            stop: Stop::Empty,
        });
    };
    loop {
        let pos = id.position(key);
        let bottom = 16 + usize::from(pos);
        // The path nodes of this page, from its root (level 0) to the bottom position (level 4).
        for level in 0..=4 {
            let node = bottom >> (4 - level);
            match page.classify(node) {
                Node::Empty => {
                    return Ok(Proof {
                        siblings,
                        stop: Stop::Empty,
                    });
                }
                Node::Single(at) => {
                    let Some(Entry::Leaf { key, version }) = page.get(at) else {
                        return Err(StoreError::Corrupt {
                            page: id,
                            reason: "a single entry is not a leaf",
                        });
                    };
                    return Ok(Proof {
                        siblings,
                        stop: Stop::Leaf { key, version },
                    });
                }
                // Two or more leaves at the bottom: they are in the child page.
                Node::Branch if level == 4 => {}
                Node::Branch => {
                    siblings.push(page.node_hash((bottom >> (3 - level)) ^ 1, &mut hasher))
                }
            }
        }
        (id, page) = child_page(store, &id, pos)?;
    }
}

/// Verifies a proof for `key` against a trusted hyper root; says whether the key is a member
/// (and at which version) or not.
///
/// Rejects, before hashing anything, the proofs that a canonical tree cannot produce: more than
/// 256 siblings; a stopping leaf whose deepest sibling is [`EMPTY`] (the leaf would sit higher);
/// a stopping `EMPTY` whose deepest sibling is also `EMPTY` (the walk would stop higher), or at
/// depth 256 (its sibling would hold two leaves with one full key); a non-member leaf that does
/// not share the key's first bits down to the stop. A stopping leaf with the key itself is a
/// membership, never a non-membership. Then folds the siblings up with the `0x03` rule and
/// compares with `root`.
///
/// ```
/// use qed_core::hyper::{self, Lookup, Proof, Stop, leaf_hash};
/// let key = [5; 32];
/// let root = leaf_hash(&key, 9); // a tree with one leaf: its hash is the root
/// let proof = Proof { siblings: vec![], stop: Stop::Leaf { key, version: 9 } };
/// assert_eq!(hyper::verify(&root, &key, &proof), Ok(Lookup::Member(9)));
/// assert_eq!(hyper::verify(&root, &[6; 32], &proof), Ok(Lookup::NonMember));
/// assert!(hyper::verify(&root, &key, &Proof { siblings: vec![], stop: Stop::Empty }).is_err());
/// ```
pub fn verify(root: &Hash, key: &Hash, proof: &Proof) -> Result<Lookup, VerifyError> {
    let depth = proof.siblings.len();
    if depth > MAX_PROOF_SIBLINGS {
        return Err(VerifyError::NonCanonical("more than 256 siblings"));
    }
    let deepest_is_empty = proof.siblings.last() == Some(&EMPTY);
    let (mut hash, lookup) = match &proof.stop {
        Stop::Empty if deepest_is_empty => {
            return Err(VerifyError::NonCanonical(
                "an EMPTY stop whose deepest sibling is also EMPTY",
            ));
        }
        Stop::Empty if depth == MAX_PROOF_SIBLINGS => {
            return Err(VerifyError::NonCanonical("an EMPTY stop at depth 256"));
        }
        Stop::Empty => (EMPTY, Lookup::NonMember),
        Stop::Leaf { .. } if deepest_is_empty => {
            return Err(VerifyError::NonCanonical(
                "the stopping leaf could sit higher: its deepest sibling is EMPTY",
            ));
        }
        Stop::Leaf { key: k, version } if k == key => {
            (leaf_hash(k, *version), Lookup::Member(*version))
        }
        Stop::Leaf { key: k, version } => {
            if !shares_prefix(k, key, depth) {
                return Err(VerifyError::NonCanonical(
                    "the non-member leaf does not share the key's path",
                ));
            }
            (leaf_hash(k, *version), Lookup::NonMember)
        }
    };
    for (j, sibling) in (0u8..=255).zip(&proof.siblings).rev() {
        hash = if bit(key, j) == 0 {
            interior_hash(&hash, sibling)
        } else {
            interior_hash(sibling, &hash)
        };
    }
    if hash != *root {
        return Err(VerifyError::RootMismatch("hyper"));
    }
    Ok(lookup)
}
