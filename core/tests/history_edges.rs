//! Edge cases of the history tree: every error path with its typed error, sizes up to
//! `u64::MAX` (no panic, no overflow), frontier persistence and the full tree.

mod history_common;

use std::collections::BTreeMap;
use std::convert::Infallible;

use history_common::{leaves, rfc_verify_consistency, rfc_verify_inclusion};
use qed_core::history::{
    self, EMPTY_ROOT, Frontier, MemoryTree, MissingNode, NodeId, NodeSource, ProofError,
    RangeError, consistency_proof_len, inclusion_proof_len, leaf_hash, leaf_hash_bytes, node_hash,
    root_from_consistency_proof, root_from_inclusion_proof, verify_consistency, verify_inclusion,
};
use qed_core::{Hash, VerifyError};

/// A tree of any size (up to `u64::MAX` leaves) whose leaves are all the same: the node of
/// level `l` is the same hash at every index, so any node is O(1) to produce and proofs of
/// astronomically large trees can be generated and checked.
struct Uniform {
    levels: Vec<Hash>,
}

impl Uniform {
    fn new() -> Self {
        let mut levels = vec![leaf_hash(&[0xaa; 32])];
        for l in 0..63 {
            let below = levels[l];
            levels.push(node_hash(&below, &below));
        }
        Self { levels }
    }
}

impl NodeSource for Uniform {
    type Error = Infallible;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Infallible> {
        // Only complete subtrees of a tree of at most u64::MAX leaves may be asked for.
        assert!(
            (u128::from(index) + 1) << level <= u128::from(u64::MAX),
            "({level}, {index})"
        );
        Ok(self.levels[usize::from(level)])
    }
}

const HUGE: [u64; 9] = [
    u64::MAX,
    u64::MAX - 1,
    1 << 63,
    (1 << 63) + 1,
    (1 << 63) - 1,
    (1 << 32) + 5,
    0x5555_5555_5555_5555,
    0xaaaa_aaaa_aaaa_aaab,
    3,
];

#[test]
fn huge_inclusion_proofs_verify() {
    let src = Uniform::new();
    let leaf = src.levels[0];
    for &size in &HUGE {
        let root = history::root(&src, size).unwrap();
        for index in [
            0,
            1,
            size / 2,
            size - 2,
            size - 1,
            0x1234_5678_9abc_def0 % size,
        ] {
            let proof = history::inclusion_proof(&src, index, size).unwrap();
            assert_eq!(
                Some(proof.len()),
                inclusion_proof_len(index, size),
                "{index}/{size}"
            );
            assert!(proof.len() <= 128);
            assert_eq!(
                verify_inclusion(&leaf, index, size, &proof, &root),
                Ok(()),
                "{index}/{size}"
            );
            assert!(rfc_verify_inclusion(&leaf, index, size, &proof, &root));
            let nodes = history::inclusion_proof_nodes(index, size).unwrap();
            assert!(nodes.len() <= 2 * 64, "{} reads", nodes.len());
        }
    }
    assert_eq!(inclusion_proof_len(0, u64::MAX), Some(64));
    assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), Some(63));
    assert_eq!(inclusion_proof_len(u64::MAX, u64::MAX), None);
    assert_eq!(inclusion_proof_len(0, 0), None);
}

#[test]
fn huge_consistency_proofs_verify() {
    let src = Uniform::new();
    for &size2 in &HUGE {
        let root2 = history::root(&src, size2).unwrap();
        for size1 in [
            1,
            2,
            3,
            size2 / 2,
            size2 - 1,
            size2,
            0x0123_4567_89ab_cdef % size2 + 1,
        ] {
            let root1 = history::root(&src, size1).unwrap();
            let proof = history::consistency_proof(&src, size1, size2).unwrap();
            assert_eq!(
                Some(proof.len()),
                consistency_proof_len(size1, size2),
                "{size1}->{size2}"
            );
            assert_eq!(
                verify_consistency(size1, size2, &proof, &root1, &root2),
                Ok(())
            );
            assert!(rfc_verify_consistency(size1, size2, &proof, &root1, &root2));
            assert_eq!(
                root_from_consistency_proof(size1, size2, &proof, &root1),
                Ok(root2)
            );
        }
    }
}

#[test]
fn hostile_sizes_never_panic() {
    let h = [7u8; 32];
    let long = vec![h; 200];
    for size in [0, 1, 2, u64::MAX - 1, u64::MAX] {
        for index in [0, 1, size.wrapping_sub(1), size, u64::MAX] {
            for len in [0, 1, 63, 64, 65, 128, 200] {
                let proof = &long[..len];
                let got = verify_inclusion(&h, index, size, proof, &h);
                assert!(
                    got.is_err() || (size == 1 && index == 0 && len == 0),
                    "{index}/{size}/{len}"
                );
                for size1 in [0, 1, size.wrapping_sub(1), size, u64::MAX] {
                    let _ = verify_consistency(size1, size, proof, &h, &h);
                }
            }
        }
    }
    assert_eq!(
        verify_inclusion(&h, 0, u64::MAX, &long, &h),
        Err(VerifyError::WrongProofLength {
            expected: 64,
            got: 200
        })
    );
    assert_eq!(
        verify_inclusion(&h, 0, u64::MAX, &long[..64], &h),
        Err(VerifyError::RootMismatch("history"))
    );
}

#[test]
fn inclusion_errors_are_typed() {
    let leaves = leaves(1, 11);
    let tree = tree_of(&leaves);
    let root = tree.root();
    let proof = tree.inclusion_proof(4, 11).unwrap();
    let leaf = &leaves[4];
    assert_eq!(verify_inclusion(leaf, 4, 11, &proof, &root), Ok(()));
    assert_eq!(
        verify_inclusion(leaf, 11, 11, &proof, &root),
        Err(VerifyError::IndexOutOfRange {
            index: 11,
            size: 11
        })
    );
    assert_eq!(
        verify_inclusion(leaf, 0, 0, &[], &EMPTY_ROOT),
        Err(VerifyError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        verify_inclusion(leaf, 4, 11, &proof[..3], &root),
        Err(VerifyError::WrongProofLength {
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        verify_inclusion(leaf, 5, 11, &proof, &root),
        Err(VerifyError::RootMismatch("history"))
    );
    assert_eq!(
        root_from_inclusion_proof(leaf, 4, 11, &proof),
        Ok(root),
        "the root-returning form gives the root"
    );
    assert_eq!(
        VerifyError::WrongProofLength {
            expected: 4,
            got: 3
        }
        .to_string(),
        "proof has 3 hashes, 4 expected"
    );
}

#[test]
fn consistency_errors_are_typed() {
    let tree = tree_of(&leaves(2, 11));
    let (r5, r11) = (tree.root_at(5).unwrap(), tree.root());
    let proof = tree.consistency_proof(5, 11).unwrap();
    assert_eq!(verify_consistency(5, 11, &proof, &r5, &r11), Ok(()));
    assert_eq!(
        verify_consistency(11, 5, &proof, &r11, &r5),
        Err(VerifyError::SizesOutOfOrder {
            size1: 11,
            size2: 5
        })
    );
    assert_eq!(
        verify_consistency(5, 11, &proof[1..], &r5, &r11),
        Err(VerifyError::WrongProofLength {
            expected: proof.len(),
            got: proof.len() - 1
        })
    );
    assert_eq!(
        verify_consistency(5, 11, &proof, &r11, &r11),
        Err(VerifyError::RootMismatch("older history"))
    );
    assert_eq!(
        verify_consistency(5, 11, &proof, &r5, &r5),
        Err(VerifyError::RootMismatch("history"))
    );
    // Equal sizes: an empty proof and equal roots, nothing else.
    assert_eq!(verify_consistency(11, 11, &[], &r11, &r11), Ok(()));
    assert_eq!(
        verify_consistency(11, 11, &[], &r5, &r11),
        Err(VerifyError::RootMismatch("history"))
    );
    assert_eq!(
        verify_consistency(11, 11, &[r11], &r11, &r11),
        Err(VerifyError::WrongProofLength {
            expected: 0,
            got: 1
        })
    );
    // Size 0 proves nothing and is always refused, like transparency-dev does.
    for (size2, proof) in [
        (0, vec![]),
        (0, vec![EMPTY_ROOT]),
        (11, vec![]),
        (11, vec![r11]),
    ] {
        let got = verify_consistency(0, size2, &proof, &EMPTY_ROOT, &r11);
        assert!(
            matches!(&got, Err(VerifyError::Mismatch(m)) if m.contains("empty tree")),
            "{got:?}"
        );
    }
    assert!(verify_consistency(0, 0, &[], &EMPTY_ROOT, &EMPTY_ROOT).is_err());
    assert_eq!(consistency_proof_len(0, 0), None);
    assert_eq!(consistency_proof_len(3, 2), None);
    assert_eq!(consistency_proof_len(u64::MAX, u64::MAX), Some(0));
}

#[test]
fn generation_errors_are_typed() {
    let tree = tree_of(&leaves(3, 9));
    type E = ProofError<MissingNode>;
    let out = |r: RangeError| -> E { ProofError::OutOfRange(r) };
    assert_eq!(
        tree.inclusion_proof(9, 9),
        Err(out(RangeError::IndexNotBelowSize { index: 9, size: 9 }))
    );
    assert_eq!(
        tree.inclusion_proof(0, 10),
        Err(out(RangeError::BeyondStored {
            size: 10,
            stored: 9
        }))
    );
    assert_eq!(
        tree.consistency_proof(4, 3),
        Err(out(RangeError::SizesOutOfOrder { size1: 4, size2: 3 }))
    );
    assert_eq!(
        tree.consistency_proof(0, 3),
        Err(out(RangeError::EmptyOlderTree))
    );
    assert_eq!(
        tree.consistency_proof(0, 0),
        Err(out(RangeError::EmptyOlderTree))
    );
    assert_eq!(
        tree.consistency_proof(4, 10),
        Err(out(RangeError::BeyondStored {
            size: 10,
            stored: 9
        }))
    );
    assert_eq!(tree.consistency_proof(9, 9), Ok(vec![]));
    assert_eq!(
        tree.root_at(10),
        Err(out(RangeError::BeyondStored {
            size: 10,
            stored: 9
        }))
    );
    assert_eq!(tree.root_at(0), Ok(EMPTY_ROOT));
    assert_eq!(
        history::inclusion_proof_nodes(3, 3),
        Err(RangeError::IndexNotBelowSize { index: 3, size: 3 })
    );
    assert_eq!(
        history::consistency_proof_nodes(0, 3),
        Err(RangeError::EmptyOlderTree)
    );
    assert_eq!(history::root_nodes(0), vec![]);

    // The nodes a proof reads, in order: leaf 3, pair [0, 2), quad [4, 8), and [8, 9) which
    // stands for the incomplete right subtree [8, 16).
    let ids = |v: &[(u8, u64)]| {
        v.iter()
            .map(|&(level, index)| NodeId { level, index })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        history::inclusion_proof_nodes(2, 9).unwrap(),
        ids(&[(0, 3), (1, 0), (2, 1), (0, 8)])
    );
    // Consistency 6 -> 11 (RFC: [4, 6), [6, 8), [0, 4), [8, 11)): the pair [4, 6), then its
    // path in the tree of 11, where [8, 11) is folded from [10, 11) and [8, 10).
    assert_eq!(
        history::consistency_proof_nodes(6, 11).unwrap(),
        ids(&[(1, 2), (1, 3), (2, 0), (0, 10), (1, 4)])
    );
    assert_eq!(history::root_nodes(11), ids(&[(0, 10), (1, 4), (3, 0)]));

    // A source that lacks a node reports it through its own error.
    let mut batch: BTreeMap<NodeId, Hash> = history::inclusion_proof_nodes(2, 9)
        .unwrap()
        .into_iter()
        .map(|id| (id, tree.node(id.level, id.index).unwrap()))
        .collect();
    assert_eq!(
        history::inclusion_proof(&batch, 2, 9),
        Ok(tree.inclusion_proof(2, 9).unwrap())
    );
    let gone = NodeId { level: 2, index: 1 };
    assert!(batch.remove(&gone).is_some());
    assert_eq!(
        history::inclusion_proof(&batch, 2, 9),
        Err(ProofError::Source(MissingNode(gone)))
    );
    assert_eq!(
        NodeSource::node(&tree, 4, 0),
        Err(MissingNode(NodeId { level: 4, index: 0 }))
    );
    assert_eq!(
        NodeSource::node(&tree, 0, 9),
        Err(MissingNode(NodeId { level: 0, index: 9 }))
    );
    assert_eq!(tree.node(200, 0), None);

    // A ProofError is an Error whenever its source error can be displayed.
    let plain: ProofError<String> = ProofError::Source("disk on fire".into());
    let as_error: &dyn std::error::Error = &plain;
    assert_eq!(as_error.to_string(), "history storage: disk on fire");
    let e: E = ProofError::Source(MissingNode(gone));
    assert_eq!(
        e.to_string(),
        "history storage: history node at level 2 index 1 is not stored"
    );
    assert_eq!(
        out(RangeError::BeyondStored {
            size: 10,
            stored: 9
        })
        .to_string(),
        "tree size 10 is beyond the 9 leaves stored"
    );
    assert_eq!(
        out(RangeError::IndexNotBelowSize { index: 9, size: 9 }).to_string(),
        "index 9 is not below tree size 9"
    );
}

#[test]
fn frontier_parts_and_full_tree() {
    assert_eq!(Frontier::new().root(), EMPTY_ROOT);
    assert_eq!(Frontier::new(), Frontier::default());
    assert!(matches!(
        Frontier::from_parts(5, vec![[0; 32]]),
        Err(VerifyError::Malformed(_))
    ));
    assert!(matches!(
        Frontier::from_parts(0, vec![[0; 32]]),
        Err(VerifyError::Malformed(_))
    ));
    assert!(Frontier::from_parts(0, vec![]).is_ok());

    // The edge of a uniform tree of u64::MAX - 1 leaves: one hash per 1 bit, largest first.
    let src = Uniform::new();
    let edge: Vec<Hash> = (1..64).rev().map(|l| src.levels[l]).collect();
    let mut f = Frontier::from_parts(u64::MAX - 1, edge).unwrap();
    assert_eq!(f.root(), history::root(&src, u64::MAX - 1).unwrap());
    let mut calls = Vec::new();
    assert_eq!(
        f.append_leaf_hash_for_test(&src.levels[0], &mut calls),
        Some(u64::MAX - 1)
    );
    assert_eq!(calls, vec![(0, u64::MAX - 1)]);
    assert_eq!(f.size(), u64::MAX);
    assert_eq!(f.hashes().len(), 64);
    assert_eq!(f.root(), history::root(&src, u64::MAX).unwrap());

    // Full: nothing changes, nothing is reported.
    let before = f.clone();
    let mut calls = Vec::new();
    assert_eq!(
        f.append_leaf_hash_for_test(&src.levels[0], &mut calls),
        None
    );
    assert_eq!(f.append(&[1; 32], |l, i, _| calls.push((l, i))), u64::MAX);
    assert_eq!(f.try_append(&[1; 32], |l, i, _| calls.push((l, i))), None);
    assert!(calls.is_empty());
    assert_eq!(f, before);
}

/// Small helper so the test reads clearly.
trait AppendForTest {
    fn append_leaf_hash_for_test(&mut self, leaf: &Hash, calls: &mut Vec<(u8, u64)>)
    -> Option<u64>;
}

impl AppendForTest for Frontier {
    fn append_leaf_hash_for_test(
        &mut self,
        leaf: &Hash,
        calls: &mut Vec<(u8, u64)>,
    ) -> Option<u64> {
        self.try_append_leaf_hash(leaf, |l, i, _| calls.push((l, i)))
    }
}

#[test]
fn memory_tree_basics() {
    let mut tree = MemoryTree::new();
    assert_eq!((tree.size(), tree.root()), (0, EMPTY_ROOT));
    assert_eq!(tree, MemoryTree::default());
    let d = qed_core::hash::digest(b"first event");
    assert_eq!(tree.append(&d), 0);
    assert_eq!(tree.root(), leaf_hash(&d));
    assert_eq!(tree.node(0, 0), Some(leaf_hash(&d)));
    assert_eq!(tree.append(&d), 1, "the tree itself does not deduplicate");
    assert_eq!(tree.root(), node_hash(&leaf_hash(&d), &leaf_hash(&d)));
    assert_eq!(tree.frontier().size(), 2);
}

#[test]
fn hash_rules() {
    assert_eq!(EMPTY_ROOT, qed_core::hash::digest(b""));
    let d = [0x42u8; 32];
    let mut leaf_input = vec![0u8];
    leaf_input.extend_from_slice(&d);
    assert_eq!(leaf_hash(&d), qed_core::hash::digest(&leaf_input));
    assert_eq!(leaf_hash_bytes(&d), leaf_hash(&d));
    let (l, r) = ([1u8; 32], [2u8; 32]);
    let node_input = [&[1u8][..], &l, &r].concat();
    assert_eq!(node_hash(&l, &r), qed_core::hash::digest(&node_input));
    // The empty leaf of RFC 6962 (from the reference tree).
    assert_eq!(
        qed_core::hash::to_hex(&leaf_hash_bytes(b"")),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
}

/// RFC 9162 proofs do not carry the tree size: the signed checkpoint binds a root to its size.
/// So a proof can pass for another (index, size) whose audit path has the same shape, against
/// the same root. This pins down that known property (the property tests check that nothing
/// else ever passes).
#[test]
fn the_size_is_bound_by_the_checkpoint_not_the_proof() {
    let leaves = leaves(4, 4);
    let tree = tree_of(&leaves);
    let root3 = tree.root_at(3).unwrap();
    let proof = tree.inclusion_proof(0, 3).unwrap();
    assert_eq!(verify_inclusion(&leaves[0], 0, 3, &proof, &root3), Ok(()));
    // The paths of leaf 0 in trees of 3 and 4 leaves have the same shape.
    assert_eq!(verify_inclusion(&leaves[0], 0, 4, &proof, &root3), Ok(()));
    assert!(rfc_verify_inclusion(&leaves[0], 0, 4, &proof, &root3));
    // But not in a tree of 5.
    assert!(verify_inclusion(&leaves[0], 0, 5, &proof, &root3).is_err());
}

fn tree_of(leaves: &[Hash]) -> MemoryTree {
    let mut t = MemoryTree::new();
    for l in leaves {
        t.append_leaf_hash(l);
    }
    t
}
