//! Test helpers shared by the hyper test files: an independent reference implementation of the
//! sparse Merkle tree of PROTOCOL.md section 3, written from the spec and not from the crate.
#![allow(dead_code)]

use std::collections::BTreeMap;

use qed_core::Hash;
use qed_core::hyper::{Page, PageId, PageStore, Proof, Stop};
use sha2::{Digest, Sha256};

pub const EMPTY: Hash = [0; 32];

pub fn sha(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

pub fn leaf(key: &Hash, version: u64) -> Hash {
    sha(&[&[0x02], key, &version.to_be_bytes()])
}

pub fn node(left: &Hash, right: &Hash) -> Hash {
    sha(&[&[0x03], left, right])
}

pub fn bit(key: &Hash, j: usize) -> bool {
    // Beyond bit 255 (only crafted, over-long proofs go there) read zeros.
    key.get(j / 8).is_some_and(|b| b & (0x80 >> (j % 8)) != 0)
}

/// Number of leading bits `a` and `b` share.
pub fn common_bits(a: &Hash, b: &Hash) -> usize {
    (0..256).find(|&j| bit(a, j) != bit(b, j)).unwrap_or(256)
}

/// The first `bits` bits of `key`, the rest zero.
pub fn prefix_bits(key: &Hash, bits: usize) -> Hash {
    let mut out = [0u8; 32];
    out[..bits / 8].copy_from_slice(&key[..bits / 8]);
    if !bits.is_multiple_of(8) {
        out[bits / 8] = key[bits / 8] & (0xff << (8 - bits % 8));
    }
    out
}

/// The least number of SHA-256 calls that inserting `new` keys (absent from the tree) into a tree
/// that ends up holding `all` needs: each new leaf once, plus every interior node on the path of
/// a new leaf (these and only these nodes change), each once.
pub fn ideal_hash_calls(all: &[Hash], new: &[Hash]) -> usize {
    let mut sorted_all = all.to_vec();
    sorted_all.sort();
    let mut nodes = std::collections::HashSet::new();
    for k in new {
        let i = sorted_all
            .binary_search(k)
            .expect("new keys are in the final set");
        let before = i
            .checked_sub(1)
            .map_or(0, |j| common_bits(k, &sorted_all[j]) + 1);
        let after = sorted_all.get(i + 1).map_or(0, |n| common_bits(k, n) + 1);
        let depth = before.max(after);
        for j in 0..depth {
            nodes.insert((j, prefix_bits(k, j)));
        }
    }
    nodes.len() + new.len()
}

/// Root of the subtree at `depth` holding `leaves` (sorted by key, distinct keys).
pub fn reference_root(leaves: &[(Hash, u64)], depth: usize) -> Hash {
    match leaves {
        [] => EMPTY,
        [(k, v)] => leaf(k, *v),
        _ => {
            let split = leaves.partition_point(|(k, _)| !bit(k, depth));
            node(
                &reference_root(&leaves[..split], depth + 1),
                &reference_root(&leaves[split..], depth + 1),
            )
        }
    }
}

/// The canonical proof for `key`, by walking the sorted leaves.
pub fn reference_proof(leaves: &[(Hash, u64)], key: &Hash) -> Proof {
    let mut set = leaves;
    let mut siblings = Vec::new();
    let mut depth = 0;
    loop {
        match set {
            [] => {
                return Proof {
                    siblings,
                    stop: Stop::Empty,
                };
            }
            [(k, v)] => {
                return Proof {
                    siblings,
                    stop: Stop::Leaf {
                        key: *k,
                        version: *v,
                    },
                };
            }
            _ => {
                let split = set.partition_point(|(k, _)| !bit(k, depth));
                let (left, right) = set.split_at(split);
                let (path, other) = if bit(key, depth) {
                    (right, left)
                } else {
                    (left, right)
                };
                siblings.push(reference_root(other, depth + 1));
                set = path;
                depth += 1;
            }
        }
    }
}

/// Folds a proof the way the spec describes, without any canonicality check.
pub fn fold(key: &Hash, proof: &Proof) -> Hash {
    let mut h = match proof.stop {
        Stop::Empty => EMPTY,
        Stop::Leaf { key, version } => leaf(&key, version),
    };
    for (j, s) in proof.siblings.iter().enumerate().rev() {
        h = if bit(key, j) {
            node(s, &h)
        } else {
            node(&h, s)
        };
    }
    h
}

/// The map after inserting `batch` in order into `map`, insert-only (first version wins).
pub fn reference_insert(map: &mut BTreeMap<Hash, u64>, batch: &[(Hash, u64)]) {
    for (k, v) in batch {
        map.entry(*k).or_insert(*v);
    }
}

pub fn sorted(map: &BTreeMap<Hash, u64>) -> Vec<(Hash, u64)> {
    map.iter().map(|(k, v)| (*k, *v)).collect()
}

/// A store that serves pages as a disk store would: freshly decoded, without node hashes.
pub struct ColdStore<S>(pub S);

impl<S: PageStore> PageStore for ColdStore<S> {
    type Error = S::Error;

    fn page(&self, id: &PageId) -> Result<Option<Page>, S::Error> {
        Ok(self
            .0
            .page(id)?
            .map(|p| Page::from_bytes(&p.to_bytes()).expect("own encoding decodes")))
    }
}

/// A disk store that keeps the node hashes in its values (`Page::to_bytes_with_hashes`).
pub struct HashedDiskStore<S>(pub S);

impl<S: PageStore> PageStore for HashedDiskStore<S> {
    type Error = S::Error;

    fn page(&self, id: &PageId) -> Result<Option<Page>, S::Error> {
        Ok(self
            .0
            .page(id)?
            .map(|p| Page::from_bytes(&p.to_bytes_with_hashes()).expect("own encoding decodes")))
    }
}

/// Deterministic pseudo-random keys (SHA-256 of a counter and a seed).
pub fn keys(seed: u64, n: usize) -> Vec<Hash> {
    (0..n as u64)
        .map(|i| sha(&[&seed.to_be_bytes(), &i.to_be_bytes()]))
        .collect()
}
