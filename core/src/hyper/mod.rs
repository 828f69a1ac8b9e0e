//! The hyper tree: a sparse Merkle tree mapping each event digest to the version at which it was
//! first added (protocol section 3), with member and non-member proofs.
//!
//! # The tree
//!
//! A binary tree over 256-bit keys; bit 0 is the most significant bit of `key[0]`, and at depth
//! `j` a key goes left on a 0 bit. An empty subtree hashes to [`EMPTY`] at any depth, a subtree
//! holding exactly one leaf has that leaf's [`leaf_hash`] whatever its depth, and a subtree with
//! two or more leaves hashes its two halves with [`interior_hash`]. A leaf therefore sits at the
//! shallowest depth where it is alone, about `log2(n)` bits deep for `n` random keys.
//!
//! # Storage: pages
//!
//! The tree is never held as binary nodes. Four binary levels form one 16-way [`Page`], named by
//! a [`PageId`] (its depth, a multiple of 4, and the key prefix that leads to it). A page lists,
//! for each of its 16 bottom positions that is not empty, either the one leaf below it
//! ([`Entry::Leaf`], stored there whatever depth the leaf logically sits at) or the root hash of
//! the child page below it ([`Entry::Subtree`], two or more leaves). The 15 internal hashes of a
//! page are derived data: a page read from bytes recomputes them when needed, a page produced by
//! [`insert_batch`] carries them (see [`Page::has_hashes`]), so a store that keeps hot pages as
//! [`Page`] values pays for them once.
//!
//! Any [`PageStore`] (a RocksDB column family on the server, a [`MemoryStore`] in tests and in
//! the browser) serves pages; [`insert_batch`] reads each page it touches once, one depth at a
//! time, and returns every changed page once, in [`Changes`], for the caller to write
//! atomically.
//!
//! # Cost, and advice for a disk-backed store
//!
//! A batch hashes each new leaf and each interior node on a new leaf's path exactly once when
//! the pages it reads carry their hashes: about 12.4 SHA-256 calls per key for batches of 1,000
//! into a million keys. Pages decoded from the compact form ([`Page::to_bytes`]) carry none and
//! triple that (about 37.5). So a disk-backed store should:
//! - keep hot pages (at least the top levels) in memory as [`Page`] values: the pages of
//!   [`Changes`] carry their hashes and can go straight into such a cache (cloning a page is
//!   cheap, its content is shared); [`Page::compute_hashes`] warms a page read from disk;
//! - or store [`Page::to_bytes_with_hashes`], which keeps the hashes for about twice the bytes
//!   of a dense page;
//! - implement [`PageStore::pages`] with a multi-get: the pages of one depth are asked together;
//! - check a page once, when it is decoded ([`Page::check`]), and say so with
//!   [`PageStore::checked`]: tree operations otherwise check every page they read.
//!
//! # Proofs
//!
//! [`prove`] walks from the root to where the key's path stops and returns a [`Proof`]: the
//! sibling hashes from depth 1 down and what the walk stopped at. [`verify`] folds it back to a
//! root, rejects every non-canonical shape of section 3, and says [`Lookup::Member`] with the
//! version or [`Lookup::NonMember`].
//!
//! ```
//! use qed_core::hyper::{self, Lookup, MemoryTree};
//!
//! let mut tree = MemoryTree::new();
//! let a = qed_core::hash::digest(b"event a");
//! let b = qed_core::hash::digest(b"event b");
//! assert_eq!(tree.insert(a, 0)?, None);
//! assert_eq!(tree.insert(b, 1)?, None);
//! assert_eq!(tree.insert(a, 2)?, Some(0)); // insert-only: `a` keeps version 0
//!
//! let root = tree.root();
//! assert_eq!(hyper::verify(&root, &b, &tree.prove(&b)?), Ok(Lookup::Member(1)));
//! let c = qed_core::hash::digest(b"never added");
//! assert_eq!(hyper::verify(&root, &c, &tree.prove(&c)?), Ok(Lookup::NonMember));
//! # Ok::<(), qed_core::hyper::StoreError<core::convert::Infallible>>(())
//! ```

mod id;
mod insert;
mod page;
mod proof;
mod store;

pub use id::PageId;
pub use insert::{Changes, insert_batch};
pub use page::{DecodeError, Entry, MAX_PAGE_DEPTH, PAGE_BITS, PAGE_ID_MAX_LEN, Page};
pub use proof::{Lookup, MAX_PROOF_SIBLINGS, Proof, Stop, get, prove, root, verify};
pub use store::{MemoryStore, MemoryTree, PageStore, StoreError};

use crate::Hash;
use crate::hash::{compress_padded, tagged};

/// The hash of every empty subtree, at any depth, and the root of the empty map: 32 zero bytes.
pub const EMPTY: Hash = [0; 32];

/// Hash of a subtree holding exactly the one leaf `(key, version)`:
/// `SHA-256(0x02 || key || be64(version))`.
///
/// ```
/// let h = qed_core::hyper::leaf_hash(&[0; 32], 0);
/// assert_ne!(h, qed_core::hyper::EMPTY);
/// ```
pub fn leaf_hash(key: &Hash, version: u64) -> Hash {
    tagged(0x02, &[key, &version.to_be_bytes()])
}

/// Hash of a subtree holding two or more leaves: `SHA-256(0x03 || left || right)`, where an
/// empty half counts as [`EMPTY`].
pub fn interior_hash(left: &Hash, right: &Hash) -> Hash {
    tagged(0x03, &[left, right])
}

/// [`leaf_hash`] computed on one padded block given straight to the SHA-256 compression
/// function: the same bytes, a quarter faster than the streaming API. The tree's writers use it;
/// the verifier keeps the plain construction, and the tests compare the two.
fn fast_leaf_hash(key: &Hash, version: u64) -> Hash {
    let mut block = [0u8; 64];
    block[0] = 0x02;
    block[1..33].copy_from_slice(key);
    block[33..41].copy_from_slice(&version.to_be_bytes());
    // Padding of a 41-byte message: 0x80, zeros, the length in bits.
    block[41] = 0x80;
    block[56..].copy_from_slice(&(41u64 * 8).to_be_bytes());
    compress_padded(&[block])
}

/// [`interior_hash`] on two padded blocks (see [`fast_leaf_hash`]).
fn fast_interior_hash(left: &Hash, right: &Hash) -> Hash {
    let mut blocks = [[0u8; 64]; 2];
    blocks[0][0] = 0x03;
    blocks[0][1..33].copy_from_slice(left);
    blocks[0][33..].copy_from_slice(&right[..31]);
    blocks[1][0] = right[31];
    // Padding of a 65-byte message.
    blocks[1][1] = 0x80;
    blocks[1][56..].copy_from_slice(&(65u64 * 8).to_be_bytes());
    compress_padded(&blocks)
}

/// Bit `j` of a key (0 = most significant bit of `key[0]`): 0 goes left, 1 goes right.
fn bit(key: &Hash, j: u8) -> u8 {
    // `j / 8` is at most 31, so the index is always inside the 32-byte key.
    (key[usize::from(j / 8)] >> (7 - (j % 8))) & 1
}

/// Whether `a` and `b` agree on their first `bits` bits (`bits` may be 0 to 256).
fn shares_prefix(a: &Hash, b: &Hash, bits: usize) -> bool {
    if bits > 256 {
        // More than 256 bits: only equal keys agree on all of them.
        return a == b;
    }
    // Word by word: a page check compares every leaf it reads with the page's prefix, which is
    // under 64 bits deep in any realistic tree (one word), and a byte-slice comparison cost a
    // `memcmp` call each.
    let word = |h: &[u8]| h.first_chunk::<8>().map_or(0, |w| u64::from_be_bytes(*w));
    let mut left = bits;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let diff = word(x) ^ word(y);
        if left <= 64 {
            return left == 0 || diff >> (64 - left) == 0;
        }
        if diff != 0 {
            return false;
        }
        left -= 64;
    }
    true
}

/// Counts the SHA-256 computations of one operation: the number that decides whether a design
/// meets the throughput budget (see `Changes::hash_calls`).
#[derive(Debug, Default)]
struct Hasher {
    calls: u64,
}

impl Hasher {
    fn leaf(&mut self, key: &Hash, version: u64) -> Hash {
        self.calls = self.calls.saturating_add(1);
        fast_leaf_hash(key, version)
    }

    fn interior(&mut self, left: &Hash, right: &Hash) -> Hash {
        self.calls = self.calls.saturating_add(1);
        fast_interior_hash(left, right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_msb_first() {
        let mut k = [0u8; 32];
        k[0] = 0b1000_0001;
        k[31] = 1;
        assert_eq!(bit(&k, 0), 1);
        assert_eq!(bit(&k, 1), 0);
        assert_eq!(bit(&k, 7), 1);
        assert_eq!(bit(&k, 255), 1);
        assert_eq!(bit(&k, 254), 0);
    }

    #[test]
    fn prefixes() {
        let a = [0xAB; 32];
        let mut b = a;
        b[31] ^= 1;
        assert!(shares_prefix(&a, &b, 255));
        assert!(!shares_prefix(&a, &b, 256));
        assert!(shares_prefix(&a, &a, 256));
        assert!(shares_prefix(&a, &b, 0));
        b[0] ^= 0x10;
        assert!(shares_prefix(&a, &b, 3));
        assert!(!shares_prefix(&a, &b, 4));
        assert!(!shares_prefix(&a, &b, 300));
        assert!(shares_prefix(&a, &a, 300));
    }

    #[test]
    fn fast_hashes_equal_the_plain_ones() {
        let mut key = [0u8; 32];
        for i in 0..200u64 {
            key = crate::hash::digest(&key);
            let version = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert_eq!(fast_leaf_hash(&key, version), leaf_hash(&key, version));
            let other = crate::hash::digest(&version.to_be_bytes());
            assert_eq!(
                fast_interior_hash(&key, &other),
                interior_hash(&key, &other)
            );
        }
        assert_eq!(
            fast_interior_hash(&EMPTY, &EMPTY),
            interior_hash(&EMPTY, &EMPTY)
        );
    }

    #[test]
    fn hashes_follow_the_protocol_bytes() {
        let key = [0x11; 32];
        let mut msg = alloc::vec![0x02];
        msg.extend_from_slice(&key);
        msg.extend_from_slice(&7u64.to_be_bytes());
        assert_eq!(leaf_hash(&key, 7), crate::hash::digest(&msg));
        let mut msg = alloc::vec![0x03];
        msg.extend_from_slice(&[1; 32]);
        msg.extend_from_slice(&[2; 32]);
        assert_eq!(interior_hash(&[1; 32], &[2; 32]), crate::hash::digest(&msg));
    }
}
