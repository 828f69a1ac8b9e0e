//! Test-only references for the history tree: RFC 9162 read literally.
//!
//! - [`mth`], [`path`] and [`proof`]: the recursive definitions of RFC 9162 2.1.1, 2.1.3.1
//!   and 2.1.4.1 (slow, recursive, obviously right).
//! - [`rfc_verify_inclusion`] and [`rfc_verify_consistency`]: the verification loops of
//!   2.1.3.2 and 2.1.4.2 step by step, with transparency-dev's rules for the cases the RFC
//!   leaves out (equal sizes, size1 = 0).
#![allow(dead_code)]

use qed_core::Hash;
use qed_core::history::{EMPTY_ROOT, leaf_hash, node_hash};

/// The leaves of a test log: digests of a seed and the index.
pub fn leaves(seed: u64, n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| {
            leaf_hash(&qed_core::hash::digest(
                &[seed.to_be_bytes(), i.to_be_bytes()].concat(),
            ))
        })
        .collect()
}

/// The largest power of two strictly below `n` (n >= 2).
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// MTH(D[n]) over leaf hashes.
pub fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]).
pub fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = split(n);
    let (mut p, sibling) = if m < k {
        (path(m, &leaves[..k]), mth(&leaves[k..]))
    } else {
        (path(m - k, &leaves[k..]), mth(&leaves[..k]))
    };
    p.push(sibling);
    p
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m <= n.
pub fn proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    subproof(m, leaves, true)
}

fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if whole { vec![] } else { vec![mth(leaves)] };
    }
    let k = split(n);
    let (mut p, sibling) = if m <= k {
        (subproof(m, &leaves[..k], whole), mth(&leaves[k..]))
    } else {
        (subproof(m - k, &leaves[k..], false), mth(&leaves[..k]))
    };
    p.push(sibling);
    p
}

/// RFC 9162 2.1.3.2, step by step.
pub fn rfc_verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// RFC 9162 2.1.4.2, step by step, plus transparency-dev's rules for the cases it leaves out.
pub fn rfc_verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> bool {
    if size1 == 0 || size1 > size2 {
        return false;
    }
    if size1 == size2 {
        return proof.is_empty() && root1 == root2;
    }
    // 1.
    if proof.is_empty() {
        return false;
    }
    // 2.
    let mut path = proof.to_vec();
    if size1.is_power_of_two() {
        path.insert(0, *root1);
    }
    // 3, 4.
    let (mut f, mut s) = (size1 - 1, size2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // 5.
    let (mut fr, mut sr) = (path[0], path[0]);
    // 6.
    for c in &path[1..] {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // 7.
    fr == *root1 && sr == *root2 && s == 0
}
