//! Property tests for the hyper tree (qed_core::hyper) against an independent reference.

mod hyper_common;

use std::collections::BTreeMap;

use hyper_common::*;
use proptest::prelude::*;
use qed_core::Hash;
use qed_core::hyper::{
    self, Lookup, MemoryStore, MemoryTree, Page, PageId, Proof, Stop, insert_batch, verify,
};

/// Keys that often share long prefixes: a base key with a few bits flipped (often deep ones,
/// including the very last bit), mixed with fully random keys.
fn key_strategy(base: Hash) -> impl Strategy<Value = Hash> {
    prop_oneof![
        any::<[u8; 32]>(),
        proptest::collection::vec(prop_oneof![0usize..256, 240usize..256, 248usize..256], 1..4)
            .prop_map(move |bits| {
                let mut k = base;
                for b in bits {
                    k[b / 8] ^= 0x80 >> (b % 8);
                }
                k
            }),
    ]
}

/// A list of `(key, version)` pairs, often with some keys repeated later with other versions.
fn batch_strategy(max: usize) -> impl Strategy<Value = Vec<(Hash, u64)>> {
    any::<[u8; 32]>()
        .prop_flat_map(move |base| {
            (
                proptest::collection::vec((key_strategy(base), any::<u64>()), 0..max),
                proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
            )
        })
        .prop_map(|(mut pairs, repeats)| {
            for index in repeats {
                if !pairs.is_empty() {
                    let (k, v) = pairs[index.index(pairs.len())];
                    pairs.push((k, v.wrapping_add(1)));
                }
            }
            pairs
        })
}

/// Inserts `pairs` in batches cut at `cuts`, checking each batch's report against the reference.
fn build(pairs: &[(Hash, u64)], cuts: &[usize]) -> (MemoryTree, BTreeMap<Hash, u64>) {
    let mut tree = MemoryTree::new();
    let mut map = BTreeMap::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (pairs.len() + 1)).collect();
    bounds.push(0);
    bounds.push(pairs.len());
    bounds.sort_unstable();
    for w in bounds.windows(2) {
        let batch = &pairs[w[0]..w[1]];
        let expected: Vec<(usize, u64)> = batch
            .iter()
            .enumerate()
            .filter_map(|(i, (k, _))| {
                let earlier = batch[..i].iter().find(|(k2, _)| k2 == k).map(|e| e.1);
                map.get(k).copied().or(earlier).map(|v| (i, v))
            })
            .collect();
        let existing = tree.insert_batch(batch).unwrap();
        assert_eq!(existing, expected);
        reference_insert(&mut map, batch);
    }
    (tree, map)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// The root equals the reference and depends neither on insertion order nor on batching;
    /// the stored pages are the same too (storage is history-independent).
    #[test]
    fn root_is_canonical(pairs in batch_strategy(60), cuts in proptest::collection::vec(any::<usize>(), 0..4), seed in any::<u64>()) {
        let (tree, map) = build(&pairs, &cuts);
        let leaves = sorted(&map);
        prop_assert_eq!(tree.root(), reference_root(&leaves, 0));
        prop_assert_eq!(hyper::root(tree.store()).unwrap(), tree.root());
        // Another order (the set of first versions kept) in one batch.
        let mut shuffled = leaves.clone();
        let len = shuffled.len();
        for i in (1..len).rev() {
            shuffled.swap(i, (seed as usize).wrapping_mul(i + 7) % (i + 1));
        }
        let mut other = MemoryTree::new();
        other.insert_batch(&shuffled).unwrap();
        prop_assert_eq!(other.root(), tree.root());
        prop_assert_eq!(other.store(), tree.store());
        for (k, v) in &leaves {
            prop_assert_eq!(tree.get(k).unwrap(), Some(*v));
        }
    }

    /// Every inserted key has a member proof (equal to the reference proof) that verifies with
    /// its version, and never as a non-member.
    #[test]
    fn member_proofs_verify(pairs in batch_strategy(40), cuts in proptest::collection::vec(any::<usize>(), 0..3)) {
        let (tree, map) = build(&pairs, &cuts);
        let leaves = sorted(&map);
        let root = tree.root();
        for (k, v) in &leaves {
            let proof = tree.prove(k).unwrap();
            prop_assert_eq!(&proof, &reference_proof(&leaves, k));
            prop_assert_eq!(verify(&root, k, &proof), Ok(Lookup::Member(*v)));
            // Claiming absence with the same siblings fails.
            let empty = Proof { siblings: proof.siblings.clone(), stop: Stop::Empty };
            prop_assert!(verify(&root, k, &empty).is_err());
            // So does another version.
            let other = Proof { siblings: proof.siblings.clone(), stop: Stop::Leaf { key: *k, version: v ^ 1 } };
            prop_assert!(verify(&root, k, &other).is_err());
        }
    }

    /// Absent keys (random, or near inserted keys) have non-member proofs that verify, and a
    /// forged member claim with the same siblings fails.
    #[test]
    fn non_member_proofs_verify(pairs in batch_strategy(40), absent in proptest::collection::vec(any::<[u8; 32]>(), 1..8), flips in proptest::collection::vec(0usize..256, 1..8)) {
        let (tree, map) = build(&pairs, &[]);
        let leaves = sorted(&map);
        let root = tree.root();
        let mut candidates = absent;
        for (i, b) in flips.iter().enumerate() {
            if let Some((k, _)) = leaves.get(i % leaves.len().max(1)) {
                let mut near = *k;
                near[b / 8] ^= 0x80 >> (b % 8);
                candidates.push(near);
            }
        }
        for k in candidates.iter().filter(|k| !map.contains_key(*k)) {
            let proof = tree.prove(k).unwrap();
            prop_assert_eq!(&proof, &reference_proof(&leaves, k));
            prop_assert_eq!(verify(&root, k, &proof), Ok(Lookup::NonMember));
            let forged = Proof { siblings: proof.siblings.clone(), stop: Stop::Leaf { key: *k, version: 0 } };
            prop_assert!(verify(&root, k, &forged).is_err());
            if let Stop::Leaf { .. } = proof.stop {
                let empty = Proof { siblings: proof.siblings.clone(), stop: Stop::Empty };
                prop_assert!(verify(&root, k, &empty).is_err());
            }
        }
    }

    /// Any single change to a proof makes it fail: a flipped bit in a sibling, the stop's key or
    /// version, a dropped or an added sibling.
    #[test]
    fn tampered_proofs_fail(pairs in batch_strategy(30), probe in any::<[u8; 32]>(), pick in any::<usize>(), bit in 0usize..256, extra in any::<[u8; 32]>()) {
        let (tree, map) = build(&pairs, &[]);
        let root = tree.root();
        let keys: Vec<Hash> = map.keys().copied().chain([probe]).collect();
        let key = keys[pick % keys.len()];
        let proof = tree.prove(&key).unwrap();
        prop_assert!(verify(&root, &key, &proof).is_ok());
        let mut variants = Vec::new();
        for i in 0..proof.siblings.len() {
            let mut p = proof.clone();
            p.siblings[i][bit / 8] ^= 0x80 >> (bit % 8);
            variants.push(p);
        }
        if let Stop::Leaf { key: k, version } = proof.stop {
            let mut k2 = k;
            k2[bit / 8] ^= 0x80 >> (bit % 8);
            variants.push(Proof { siblings: proof.siblings.clone(), stop: Stop::Leaf { key: k2, version } });
            variants.push(Proof { siblings: proof.siblings.clone(), stop: Stop::Leaf { key: k, version: version ^ (1 << (bit % 64)) } });
        }
        if !proof.siblings.is_empty() {
            let mut p = proof.clone();
            p.siblings.pop();
            variants.push(p);
            let mut p = proof.clone();
            p.siblings.remove(0);
            variants.push(p);
        }
        for added in [extra, EMPTY] {
            let mut p = proof.clone();
            p.siblings.push(added);
            variants.push(p.clone());
            p.siblings.pop();
            p.siblings.insert(0, added);
            variants.push(p);
        }
        for v in &variants {
            prop_assert!(verify(&root, &key, v).is_err(), "tampered proof accepted: {:?}", v);
        }
        // Against another root, the genuine proof fails too.
        let mut other_root = root;
        other_root[bit / 8] ^= 0x80 >> (bit % 8);
        prop_assert!(verify(&other_root, &key, &proof).is_err());
    }

    /// Pages round-trip through their encoding; ids keep their order when encoded.
    #[test]
    fn page_encoding_round_trips(pairs in batch_strategy(60)) {
        let (tree, _) = build(&pairs, &[]);
        let mut previous: Option<Vec<u8>> = None;
        for (id, page) in tree.store().iter() {
            let bytes = page.to_bytes();
            let decoded = Page::from_bytes(&bytes).unwrap();
            prop_assert_eq!(&decoded, page);
            prop_assert!(!decoded.has_hashes());
            prop_assert_eq!(decoded.root_hash(), page.root_hash());
            let with_hashes = Page::from_bytes(&page.to_bytes_with_hashes()).unwrap();
            prop_assert_eq!(&with_hashes, page);
            prop_assert!(with_hashes.has_hashes());
            prop_assert_eq!(with_hashes.root_hash(), page.root_hash());
            prop_assert_eq!(with_hashes.to_bytes_with_hashes(), page.to_bytes_with_hashes());
            let id_bytes = id.to_bytes();
            prop_assert_eq!(PageId::from_bytes(&id_bytes), Ok(*id));
            if let Some(prev) = &previous {
                prop_assert!(prev < &id_bytes, "encoded ids out of order");
            }
            previous = Some(id_bytes);
        }
    }

    /// Decoding garbage never panics; whatever decodes re-encodes to the same bytes.
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), header in any::<[u8; 5]>()) {
        let mut framed = header.to_vec();
        framed[0] = 1;
        framed.extend_from_slice(&bytes);
        let mut framed2 = framed.clone();
        framed2[0] = 2;
        for input in [&bytes[..], &framed[..], &framed2[..]] {
            if let Ok(page) = Page::from_bytes(input) {
                if page.has_hashes() {
                    prop_assert_eq!(page.to_bytes_with_hashes(), input.to_vec());
                } else {
                    prop_assert_eq!(page.to_bytes(), input.to_vec());
                }
                let _ = page.root_hash();
            }
            if let Ok(id) = PageId::from_bytes(input) {
                prop_assert_eq!(id.to_bytes(), input.to_vec());
            }
        }
    }

    /// A decoded garbage page put in a store never makes the tree operations panic.
    #[test]
    fn garbage_stores_never_panic(pages in proptest::collection::vec((0u8..3, any::<[u8; 32]>(), proptest::collection::vec(any::<u8>(), 5..120)), 1..6), key in any::<[u8; 32]>()) {
        let mut store = MemoryStore::new();
        for (depth, prefix_key, mut bytes) in pages {
            bytes[0] = 1;
            let len = bytes.len();
            bytes[3] &= bytes[1]; // subtree positions among the occupied ones, more often valid
            bytes.truncate(5 + (len - 5) / 32 * 32);
            if let (Some(id), Ok(page)) = (PageId::new(depth * 4, &prefix_key), Page::from_bytes(&bytes)) {
                store.put(id, page);
            }
        }
        let _ = hyper::root(&store);
        let _ = hyper::get(&store, &key);
        if let Ok(proof) = hyper::prove(&store, &key) {
            let _ = verify(&[0; 32], &key, &proof);
        }
        let _ = insert_batch(&store, &[(key, 1), ([0; 32], 2)]);
    }

    /// A real tree with one page's bytes corrupted (either encoding) never makes the tree
    /// operations panic; they may fail with an error or compute other hashes.
    #[test]
    fn corrupted_trees_never_panic(pairs in batch_strategy(40), pick in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), flip in 1u8..=255, hashed in any::<bool>(), probe in any::<[u8; 32]>()) {
        let (tree, map) = build(&pairs, &[]);
        let pages: Vec<_> = tree.store().iter().map(|(id, p)| (*id, p.clone())).collect();
        prop_assume!(!pages.is_empty());
        let (id, page) = &pages[pick.index(pages.len())];
        let mut bytes = if hashed { page.to_bytes_with_hashes() } else { page.to_bytes() };
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        let mut store = MemoryStore::new();
        for (other, p) in &pages {
            store.put(*other, p.clone());
        }
        match Page::from_bytes(&bytes) {
            Ok(corrupt) => store.put(*id, corrupt),
            Err(_) => return Ok(()),
        }
        let keys: Vec<Hash> = map.keys().copied().take(5).chain([probe]).collect();
        for k in &keys {
            let _ = hyper::get(&store, k);
            if let Ok(proof) = hyper::prove(&store, k) {
                let _ = verify(&tree.root(), k, &proof);
            }
        }
        let _ = hyper::root(&store);
        let _ = insert_batch(&store, &[(probe, 1)]);
        let _ = insert_batch(&ColdStore(&store), &[(probe, 1)]);
    }

    /// Verification never panics on arbitrary proofs.
    #[test]
    fn arbitrary_proofs_never_panic(siblings in proptest::collection::vec(prop_oneof![Just(EMPTY), any::<[u8; 32]>()], 0..300), key in any::<[u8; 32]>(), stop_key in any::<[u8; 32]>(), empty in any::<bool>(), root in any::<[u8; 32]>()) {
        let stop = if empty { Stop::Empty } else { Stop::Leaf { key: stop_key, version: 1 } };
        let proof = Proof { siblings, stop };
        let folded = fold(&key, &proof);
        let _ = verify(&root, &key, &proof);
        let _ = verify(&folded, &key, &proof);
    }
}
