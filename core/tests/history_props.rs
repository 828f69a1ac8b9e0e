//! Property tests of the history tree on random logs of up to about 300 leaves: generation
//! against the RFC 9162 recursive definitions, verification against the RFC's loops read
//! literally, and every kind of corruption rejected.

mod history_common;

use std::cell::RefCell;

use history_common::{leaves, mth, path, proof, rfc_verify_consistency, rfc_verify_inclusion};
use proptest::prelude::*;
use qed_core::Hash;
use qed_core::history::{
    self, Frontier, MemoryTree, NodeId, NodeSource, verify_consistency, verify_inclusion,
};

fn tree_of(leaves: &[Hash]) -> MemoryTree {
    let mut t = MemoryTree::new();
    for l in leaves {
        t.append_leaf_hash(l);
    }
    t
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[bit / 8] ^= 1 << (bit % 8);
    h
}

fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// What the verifier computes for an inclusion proof of `(index, size)`: the side of each
/// proof hash, bottom up. Two requests with the same shape make the verifier hash exactly the
/// same values, so a proof for one passes for the other: RFC 9162 binds a root to its size
/// only through the signed checkpoint, never through the proof.
fn inclusion_shape(index: u64, size: u64) -> Option<Vec<bool>> {
    if index >= size {
        return None;
    }
    let inner = bit_len(index ^ (size - 1));
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    let mut sides: Vec<bool> = (0..inner).map(|b| (index >> b) & 1 == 1).collect();
    sides.extend(std::iter::repeat_n(true, border as usize));
    Some(sides)
}

/// The same for a consistency proof: whether it carries its seed, and the sides of its path.
fn consistency_shape(size1: u64, size2: u64) -> Option<String> {
    if size1 == 0 || size1 > size2 {
        return None;
    }
    if size1 == size2 {
        return Some("equal".into());
    }
    let shift = size1.trailing_zeros();
    let sides = inclusion_shape((size1 - 1) >> shift, ((size2 - 1) >> shift) + 1)?;
    Some(format!("{}{sides:?}", size1.is_power_of_two()))
}

/// Runs our verifier and the literal RFC loop on one inclusion request; they must agree, and
/// the result is returned.
fn inclusion_agrees(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    let ours = verify_inclusion(leaf, index, size, proof, root).is_ok();
    let rfc = rfc_verify_inclusion(leaf, index, size, proof, root);
    assert_eq!(
        ours,
        rfc,
        "inclusion index {index} size {size} len {}",
        proof.len()
    );
    ours
}

fn consistency_agrees(size1: u64, size2: u64, proof: &[Hash], root1: &Hash, root2: &Hash) -> bool {
    let ours = verify_consistency(size1, size2, proof, root1, root2).is_ok();
    let rfc = rfc_verify_consistency(size1, size2, proof, root1, root2);
    assert_eq!(
        ours,
        rfc,
        "consistency {size1} -> {size2} len {}",
        proof.len()
    );
    ours
}

/// Proof edits that must all be rejected: every element removed, an element added at each
/// end and in the middle, two distinct elements swapped, and `bit` flipped in each element.
fn corrupted_proofs(proof: &[Hash], bit: usize, extra: Hash) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        let mut p = proof.to_vec();
        p.remove(i);
        out.push(p);
        let mut p = proof.to_vec();
        p[i] = flip(&p[i], bit);
        out.push(p);
        if i + 1 < proof.len() && proof[i] != proof[i + 1] {
            let mut p = proof.to_vec();
            p.swap(i, i + 1);
            out.push(p);
        }
    }
    for at in [0, proof.len() / 2, proof.len()] {
        let mut p = proof.to_vec();
        p.insert(at, extra);
        out.push(p);
    }
    // A copy of an existing element (rather than a random one) at the end too.
    if let Some(first) = proof.first() {
        let mut p = proof.to_vec();
        p.push(*first);
        out.push(p);
    }
    out
}

/// A node source that records its reads and checks that each is a complete subtree within
/// the size being asked about.
struct Recorder<'a> {
    tree: &'a MemoryTree,
    size: u64,
    reads: RefCell<Vec<NodeId>>,
}

impl NodeSource for Recorder<'_> {
    type Error = history::MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        let end = (u128::from(index) + 1) << level;
        assert!(
            end <= u128::from(self.size),
            "read ({level}, {index}) beyond size {}",
            self.size
        );
        self.reads.borrow_mut().push(NodeId { level, index });
        NodeSource::node(self.tree, level, index)
    }
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// The hand-padded single-call hashes equal SHA-256 of the protocol's byte strings.
    #[test]
    fn hash_rules_are_sha256_of_the_prefixed_bytes(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        let digest = qed_core::hash::digest;
        prop_assert_eq!(history::leaf_hash(&a), digest(&[&[0u8][..], &a].concat()));
        prop_assert_eq!(history::leaf_hash_bytes(&a), history::leaf_hash(&a));
        prop_assert_eq!(history::node_hash(&a, &b), digest(&[&[1u8][..], &a, &b].concat()));
    }
}

proptest! {
    #![proptest_config(config(6))]

    /// Every inclusion proof of every (index, size) and every consistency proof of every
    /// (size1, size2) of a random log verifies, and has the length the verifier expects.
    #[test]
    fn every_proof_of_a_log_verifies(n in 0u64..=300, seed in any::<u64>()) {
        let leaves = leaves(seed, n);
        let tree = tree_of(&leaves);
        let roots: Vec<Hash> = (0..=n).map(|s| tree.root_at(s).unwrap()).collect();
        for size in 1..=n {
            let root = &roots[size as usize];
            for index in 0..size {
                let p = tree.inclusion_proof(index, size).unwrap();
                prop_assert_eq!(Some(p.len()), history::inclusion_proof_len(index, size));
                prop_assert_eq!(verify_inclusion(&leaves[index as usize], index, size, &p, root), Ok(()));
            }
            for size1 in 1..=size {
                let p = tree.consistency_proof(size1, size).unwrap();
                prop_assert_eq!(Some(p.len()), history::consistency_proof_len(size1, size));
                let r1 = &roots[size1 as usize];
                prop_assert_eq!(verify_consistency(size1, size, &p, r1, root), Ok(()));
            }
        }
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// On smaller logs, every generated root and proof is exactly the RFC's recursive
    /// definition, and the frontier agrees with the tree at every size.
    #[test]
    fn generation_is_the_rfc_definition(n in 0u64..=70, seed in any::<u64>()) {
        let leaves = leaves(seed, n);
        let mut tree = MemoryTree::new();
        let mut frontier = Frontier::new();
        prop_assert_eq!(tree.root(), mth(&[]));
        for (i, l) in leaves.iter().enumerate() {
            tree.append_leaf_hash(l);
            frontier.try_append_leaf_hash(l, |_, _, _| {});
            prop_assert_eq!(tree.root(), mth(&leaves[..=i]));
            prop_assert_eq!(frontier.root(), tree.root());
            prop_assert_eq!(tree.frontier(), &frontier);
        }
        for size in 0..=n as usize {
            prop_assert_eq!(tree.root_at(size as u64).unwrap(), mth(&leaves[..size]));
            for index in 0..size {
                prop_assert_eq!(tree.inclusion_proof(index as u64, size as u64).unwrap(), path(index, &leaves[..size]));
            }
            for size1 in 1..=size {
                prop_assert_eq!(tree.consistency_proof(size1 as u64, size as u64).unwrap(), proof(size1, &leaves[..size]));
            }
        }
    }

    /// The frontier reports every complete node exactly once, each as soon as it is complete,
    /// with the hash the tree stores; the tree's root equals the recursive definition.
    #[test]
    fn frontier_reports_every_complete_node(n in 0u64..=300, seed in any::<u64>()) {
        let leaves = leaves(seed, n);
        let tree = tree_of(&leaves);
        prop_assert_eq!(tree.root(), mth(&leaves));
        let mut frontier = Frontier::new();
        let mut seen = Vec::new();
        for (i, l) in leaves.iter().enumerate() {
            let mut now = Vec::new();
            prop_assert_eq!(frontier.try_append_leaf_hash(l, |lv, ix, h| now.push((lv, ix, *h))), Some(i as u64));
            // The leaf, then one parent per trailing 1 bit of its index.
            prop_assert_eq!(now.len() as u32, 1 + (i as u64).trailing_ones());
            prop_assert_eq!(now[0], (0, i as u64, *l));
            for &(lv, ix, h) in &now {
                prop_assert_eq!((ix + 1) << lv, i as u64 + 1, "node completed by leaf {}", i);
                prop_assert_eq!(tree.node(lv, ix), Some(h));
            }
            seen.extend(now);
        }
        // Every stored node was reported: n leaves, n - popcount(n) interior nodes.
        prop_assert_eq!(seen.len() as u64, 2 * n - u64::from(n.count_ones()));
        let restored = Frontier::from_parts(frontier.size(), frontier.hashes().to_vec()).unwrap();
        prop_assert_eq!(restored.root(), tree.root());
        prop_assert_eq!(frontier.root(), tree.root());
    }

    /// Proof generation reads exactly the nodes it lists, only complete nodes within the size,
    /// at most about 2 log2(size) of them.
    #[test]
    fn generation_reads_only_what_it_lists(n in 1u64..=300, seed in any::<u64>(), a in any::<u64>(), b in any::<u64>()) {
        let tree = tree_of(&leaves(seed, n));
        let size = 1 + a % n;
        let index = b % size;
        let size1 = 1 + b % size;
        let bound = 2 * bit_len(size) as usize + 1;
        let rec = Recorder { tree: &tree, size, reads: RefCell::new(Vec::new()) };

        prop_assert_eq!(history::inclusion_proof(&rec, index, size).unwrap(), tree.inclusion_proof(index, size).unwrap());
        let reads = rec.reads.take();
        prop_assert_eq!(&reads, &history::inclusion_proof_nodes(index, size).unwrap());
        prop_assert!(reads.len() <= bound, "{} reads for {}/{}", reads.len(), index, size);

        prop_assert_eq!(history::consistency_proof(&rec, size1, size).unwrap(), tree.consistency_proof(size1, size).unwrap());
        let reads = rec.reads.take();
        prop_assert_eq!(&reads, &history::consistency_proof_nodes(size1, size).unwrap());
        prop_assert!(reads.len() <= bound, "{} reads for {}->{}", reads.len(), size1, size);

        prop_assert_eq!(history::root(&rec, size).unwrap(), tree.root_at(size).unwrap());
        let reads = rec.reads.take();
        prop_assert_eq!(&reads, &history::root_nodes(size));
        prop_assert_eq!(reads.len() as u32, size.count_ones());
    }
}

proptest! {
    #![proptest_config(config(96))]

    /// Any corruption of an inclusion proof, its leaf, root, index or size is rejected, and
    /// our verifier and the RFC's loop agree on every variant. A changed index or size is
    /// accepted only in the one way RFC 9162 allows: when the verifier's computation is
    /// identical (the same hash sides), which the signed size then rules out.
    #[test]
    fn corrupted_inclusion_proofs_fail(
        n in 1u64..=300, seed in any::<u64>(), a in any::<u64>(), b in any::<u64>(),
        bit in 0usize..256, other in any::<u64>(), extra in any::<[u8; 32]>(),
    ) {
        let leaves = leaves(seed, n);
        let tree = tree_of(&leaves);
        let size = 1 + a % n;
        let index = b % size;
        let leaf = leaves[index as usize];
        let root = tree.root_at(size).unwrap();
        let proof = tree.inclusion_proof(index, size).unwrap();
        prop_assert!(inclusion_agrees(&leaf, index, size, &proof, &root));

        for p in corrupted_proofs(&proof, bit, extra) {
            prop_assert!(!inclusion_agrees(&leaf, index, size, &p, &root), "{:?}", p.len());
        }
        prop_assert!(!inclusion_agrees(&leaf, index, size, &proof, &flip(&root, bit)));
        prop_assert!(!inclusion_agrees(&flip(&leaf, bit), index, size, &proof, &root));

        let mut params = vec![
            (index.wrapping_add(1), size), (index.wrapping_sub(1), size),
            (index, size + 1), (index, size - 1), (other % (2 * n), size), (index, other % (2 * n + 1)),
            (index, other), (other, size), (index, u64::MAX), (u64::MAX - 1, u64::MAX),
        ];
        params.retain(|&p| p != (index, size));
        let shape = inclusion_shape(index, size);
        for (i, s) in params {
            if inclusion_agrees(&leaf, i, s, &proof, &root) {
                prop_assert_eq!(inclusion_shape(i, s), shape.clone(), "({}, {}) accepted for ({}, {})", i, s, index, size);
            }
        }
    }

    /// The same for consistency proofs: proof edits, either root, either size.
    #[test]
    fn corrupted_consistency_proofs_fail(
        n in 1u64..=300, seed in any::<u64>(), a in any::<u64>(), b in any::<u64>(),
        bit in 0usize..256, other in any::<u64>(), extra in any::<[u8; 32]>(),
    ) {
        let tree = tree_of(&leaves(seed, n));
        let size2 = 1 + a % n;
        let size1 = 1 + b % size2;
        let (r1, r2) = (tree.root_at(size1).unwrap(), tree.root_at(size2).unwrap());
        let proof = tree.consistency_proof(size1, size2).unwrap();
        prop_assert!(consistency_agrees(size1, size2, &proof, &r1, &r2));

        for p in corrupted_proofs(&proof, bit, extra) {
            prop_assert!(!consistency_agrees(size1, size2, &p, &r1, &r2));
        }
        prop_assert!(!consistency_agrees(size1, size2, &proof, &flip(&r1, bit), &r2));
        prop_assert!(!consistency_agrees(size1, size2, &proof, &r1, &flip(&r2, bit)));
        if size1 != size2 {
            prop_assert!(!consistency_agrees(size1, size2, &proof, &r2, &r1));
        }
        // With equal sizes the proof is empty and the roots decide alone; flipping both the
        // same way keeps them equal, which is fine: there is nothing else to check.

        let mut params = vec![
            (size1 + 1, size2), (size1 - 1, size2), (size1, size2 + 1), (size1, size2 - 1),
            (other % (2 * n), size2), (size1, other % (2 * n + 1)), (size1, other), (other, size2),
            (size1, u64::MAX), (u64::MAX - 1, u64::MAX), (0, size2), (0, 0),
        ];
        params.retain(|&p| p != (size1, size2));
        let shape = consistency_shape(size1, size2);
        for (s1, s2) in params {
            if consistency_agrees(s1, s2, &proof, &r1, &r2) {
                prop_assert_eq!(consistency_shape(s1, s2), shape.clone(), "({}, {}) accepted for ({}, {})", s1, s2, size1, size2);
            }
        }
    }
}
