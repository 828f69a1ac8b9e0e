//! Hand-computed and crafted cases for the hyper tree (qed_core::hyper).

mod hyper_common;

use std::collections::{BTreeMap, BTreeSet};

use hyper_common::*;
use qed_core::VerifyError;
use qed_core::hyper::{
    self, Entry, Lookup, MemoryStore, MemoryTree, Page, PageId, Proof, Stop, StoreError,
    insert_batch, verify,
};

fn key_with_bits(bits: &[usize]) -> [u8; 32] {
    let mut k = [0u8; 32];
    for &b in bits {
        k[b / 8] |= 0x80 >> (b % 8);
    }
    k
}

#[test]
fn empty_tree() {
    let store = MemoryStore::new();
    assert_eq!(hyper::root(&store).unwrap(), EMPTY);
    assert_eq!(hyper::get(&store, &[1; 32]).unwrap(), None);
    let proof = hyper::prove(&store, &[1; 32]).unwrap();
    assert_eq!(
        proof,
        Proof {
            siblings: vec![],
            stop: Stop::Empty
        }
    );
    assert_eq!(verify(&EMPTY, &[1; 32], &proof), Ok(Lookup::NonMember));
    assert_eq!(
        verify(&[1; 32], &[1; 32], &proof),
        Err(VerifyError::RootMismatch("hyper"))
    );
    let changes = insert_batch(&store, &[]).unwrap();
    assert_eq!(
        (changes.root, changes.pages.len(), changes.hash_calls),
        (EMPTY, 0, 0)
    );
    assert_eq!(MemoryTree::new().root(), EMPTY);
}

#[test]
fn one_key_root_is_its_leaf_hash() {
    let mut tree = MemoryTree::new();
    let k = [0xc3; 32];
    assert_eq!(tree.insert(k, 42).unwrap(), None);
    assert_eq!(tree.root(), leaf(&k, 42));
    assert_eq!(hyper::leaf_hash(&k, 42), leaf(&k, 42));
    let proof = tree.prove(&k).unwrap();
    assert_eq!(
        proof,
        Proof {
            siblings: vec![],
            stop: Stop::Leaf {
                key: k,
                version: 42
            }
        }
    );
    assert_eq!(verify(&tree.root(), &k, &proof), Ok(Lookup::Member(42)));
    // Any other key: non-member, the walk stops at the same leaf with no siblings.
    let other = [0x00; 32];
    assert_eq!(tree.prove(&other).unwrap(), proof);
    assert_eq!(verify(&tree.root(), &other, &proof), Ok(Lookup::NonMember));
    assert_eq!(tree.store().len(), 1);
}

/// Two keys that agree on bits 0..j and differ at bit j: their leaves sit at depth j + 1 and the
/// path above them is a chain of interior nodes with EMPTY siblings.
#[test]
fn two_keys_diverging_at_every_bit() {
    for j in [
        0usize, 1, 3, 4, 5, 7, 8, 15, 16, 100, 251, 252, 253, 254, 255,
    ] {
        let common: Vec<usize> = (0..j).filter(|b| b % 3 == 0).collect();
        let a = key_with_bits(&common);
        let mut with_j = common.clone();
        with_j.push(j);
        let b = key_with_bits(&with_j);
        let mut expected = node(&leaf(&a, 1), &leaf(&b, 2));
        for d in (0..j).rev() {
            expected = if bit(&a, d) {
                node(&EMPTY, &expected)
            } else {
                node(&expected, &EMPTY)
            };
        }
        let mut tree = MemoryTree::new();
        tree.insert_batch(&[(b, 2), (a, 1)]).unwrap();
        assert_eq!(tree.root(), expected, "diverging at bit {j}");
        // One batch or two: the same tree.
        let mut again = MemoryTree::new();
        again.insert(a, 1).unwrap();
        again.insert(b, 2).unwrap();
        assert_eq!(again, tree);
        for (k, v) in [(a, 1), (b, 2)] {
            let proof = tree.prove(&k).unwrap();
            assert_eq!(proof.siblings.len(), j + 1);
            assert_eq!(verify(&expected, &k, &proof), Ok(Lookup::Member(v)));
            assert_eq!(tree.get(&k).unwrap(), Some(v));
        }
        // Pages: one per 4 levels down to the page holding depth j + 1.
        assert_eq!(tree.store().len(), j / 4 + 1, "pages for bit {j}");
    }
}

#[test]
fn keys_differing_only_in_the_last_bit() {
    let a = [0x5a; 32];
    let mut b = a;
    b[31] ^= 1;
    let mut tree = MemoryTree::new();
    tree.insert_batch(&[(a, 7), (b, 8)]).unwrap();
    let proof = tree.prove(&b).unwrap();
    assert_eq!(proof.siblings.len(), 256);
    assert_eq!(proof.siblings[255], leaf(&a, 7));
    assert!(proof.siblings[..255].iter().all(|s| *s == EMPTY));
    assert_eq!(verify(&tree.root(), &b, &proof), Ok(Lookup::Member(8)));
    // A third key sharing 255 bits with neither: it stops early.
    let mut c = a;
    c[31] ^= 2;
    let pc = tree.prove(&c).unwrap();
    assert_eq!(pc.siblings.len(), 255);
    assert_eq!(pc.stop, Stop::Empty);
    assert_eq!(verify(&tree.root(), &c, &pc), Ok(Lookup::NonMember));
    tree.insert(c, 9).unwrap();
    let all = vec![(a, 7), (b, 8), (c, 9)];
    let mut sorted_all = all.clone();
    sorted_all.sort();
    assert_eq!(tree.root(), reference_root(&sorted_all, 0));
    for (k, v) in all {
        assert_eq!(
            verify(&tree.root(), &k, &tree.prove(&k).unwrap()),
            Ok(Lookup::Member(v))
        );
    }
    let deepest = PageId::new(252, &a).unwrap();
    assert!(tree.store().iter().any(|(id, _)| *id == deepest));
}

/// A small tree worked out by hand: keys 0000.., 0100.., 0110.., 1...
#[test]
fn hand_computed_four_keys() {
    let k1 = key_with_bits(&[]); // 0000
    let k2 = key_with_bits(&[1]); // 0100
    let k3 = key_with_bits(&[1, 2]); // 0110
    let k4 = key_with_bits(&[0, 200]); // 1...
    let (l1, l2, l3, l4) = (leaf(&k1, 0), leaf(&k2, 1), leaf(&k3, 2), leaf(&k4, 3));
    // depth 0: left = {k1,k2,k3}, right = {k4} -> l4
    // depth 1 (prefix 0): left = {k1} -> l1, right = {k2,k3}
    // depth 2 (prefix 01): both go left at bit 2? k2 bit2 = 0, k3 bit2 = 1 -> split at depth 2
    let n01 = node(&l2, &l3);
    let n0 = node(&l1, &n01);
    let expected = node(&n0, &l4);
    let mut tree = MemoryTree::new();
    tree.insert_batch(&[(k3, 2), (k1, 0), (k4, 3), (k2, 1)])
        .unwrap();
    assert_eq!(tree.root(), expected);
    assert_eq!(
        tree.prove(&k3).unwrap(),
        Proof {
            siblings: vec![l4, l1, l2],
            stop: Stop::Leaf {
                key: k3,
                version: 2
            }
        }
    );
    assert_eq!(
        tree.prove(&k4).unwrap(),
        Proof {
            siblings: vec![n0],
            stop: Stop::Leaf {
                key: k4,
                version: 3
            }
        }
    );
    // Absent 0010..: stops at the leaf k1's position? depth 1 left = {k1}: a single leaf.
    let absent = key_with_bits(&[2]);
    let p = tree.prove(&absent).unwrap();
    assert_eq!(
        p,
        Proof {
            siblings: vec![l4, n01],
            stop: Stop::Leaf {
                key: k1,
                version: 0
            }
        }
    );
    assert_eq!(verify(&expected, &absent, &p), Ok(Lookup::NonMember));
    // Absent 0111..: stops at k3's leaf at depth 3.
    let absent2 = key_with_bits(&[1, 2, 3]);
    assert_eq!(
        verify(&expected, &absent2, &tree.prove(&absent2).unwrap()),
        Ok(Lookup::NonMember)
    );
}

#[test]
fn empty_stop_non_member() {
    // Keys 00.. and 01..; 1... is empty at depth 1, its sibling is the interior node.
    let a = key_with_bits(&[]);
    let b = key_with_bits(&[1]);
    let mut tree = MemoryTree::new();
    tree.insert_batch(&[(a, 0), (b, 1)]).unwrap();
    let absent = key_with_bits(&[0]);
    let p = tree.prove(&absent).unwrap();
    assert_eq!(
        p,
        Proof {
            siblings: vec![node(&leaf(&a, 0), &leaf(&b, 1))],
            stop: Stop::Empty
        }
    );
    assert_eq!(verify(&tree.root(), &absent, &p), Ok(Lookup::NonMember));
}

#[test]
fn duplicates_keep_their_first_version() {
    let (a, b, c) = ([1; 32], [2; 32], [3; 32]);
    let store = MemoryStore::new();
    let changes = insert_batch(&store, &[(a, 10), (b, 11), (a, 12), (a, 13), (b, 14)]).unwrap();
    assert_eq!(changes.existing, vec![(2, 10), (3, 10), (4, 11)]);
    let mut store = store;
    store.apply(&changes);
    assert_eq!(hyper::get(&store, &a).unwrap(), Some(10));
    // Against the tree: already present keys keep their tree version, repeats too.
    let changes = insert_batch(&store, &[(c, 20), (a, 21), (a, 22), (c, 23)]).unwrap();
    assert_eq!(changes.existing, vec![(1, 10), (2, 10), (3, 20)]);
    store.apply(&changes);
    assert_eq!(hyper::get(&store, &c).unwrap(), Some(20));
    // Repeats of keys already in the tree, interleaved with repeats of new keys.
    let (d, e) = ([4; 32], [5; 32]);
    let batch = [
        (d, 40),
        (a, 41),
        (e, 42),
        (e, 43),
        (b, 44),
        (a, 45),
        (d, 46),
        (b, 47),
    ];
    let changes = insert_batch(&store, &batch).unwrap();
    assert_eq!(
        changes.existing,
        vec![(1, 10), (3, 42), (4, 11), (5, 10), (6, 40), (7, 11)]
    );
    // A later repeat reported before a tree key's repeat must not hide the tree version.
    let (k1, k2) = ([0x10; 32], [0x20; 32]);
    let mut tree = MemoryTree::new();
    tree.insert(k2, 7).unwrap();
    let mut batch: Vec<_> = (0u8..10)
        .map(|i| ([0x80 + i; 32], 100 + u64::from(i)))
        .collect();
    batch[0] = (k1, 50);
    batch[3] = (k1, 53);
    batch[8] = (k2, 58);
    batch[9] = (k2, 59);
    assert_eq!(
        tree.insert_batch(&batch).unwrap(),
        vec![(3, 50), (8, 7), (9, 7)]
    );
    // A batch of only existing keys changes nothing.
    let changes = insert_batch(&store, &[(b, 30), (a, 31)]).unwrap();
    assert!(changes.pages.is_empty());
    assert_eq!(changes.existing, vec![(0, 11), (1, 10)]);
    assert_eq!(changes.root, hyper::root(&store).unwrap());
    let mut tree = MemoryTree::new();
    assert_eq!(tree.insert(a, 1).unwrap(), None);
    assert_eq!(tree.insert(a, 2).unwrap(), Some(1));
}

/// Exact hash counts on small cases: every node hashed once, nothing else.
#[test]
fn hash_calls_are_exact_on_small_cases() {
    let store = MemoryStore::new();
    assert_eq!(insert_batch(&store, &[([1; 32], 0)]).unwrap().hash_calls, 1);
    // Split at bit 0: two leaves and one interior node.
    let two = insert_batch(&store, &[([0; 32], 0), ([0xff; 32], 1)]).unwrap();
    assert_eq!(two.hash_calls, 3);
    // Split at bit 9: two leaves, ten interior nodes (depths 0..=9).
    let a = key_with_bits(&[]);
    let b = key_with_bits(&[9]);
    assert_eq!(
        insert_batch(&store, &[(a, 0), (b, 1)]).unwrap().hash_calls,
        12
    );
    // Adding b after a: a's leaf hash is cached in its page, so 1 + 10.
    let mut store = MemoryStore::new();
    store.apply(&insert_batch(&store, &[(a, 0)]).unwrap());
    assert_eq!(insert_batch(&store, &[(b, 1)]).unwrap().hash_calls, 11);
    // From a cold store (pages decoded from bytes) a's leaf must be rehashed.
    assert_eq!(
        insert_batch(&ColdStore(&store), &[(b, 1)])
            .unwrap()
            .hash_calls,
        12
    );
}

/// The cost of the design: a batch into a tree whose pages carry their hashes computes exactly the
/// nodes that change (each new leaf and each interior node on a new leaf's path), once each.
#[test]
fn hash_calls_are_the_changed_nodes_exactly() {
    let mut tree = MemoryTree::new();
    let base_keys = keys(1, 1 << 14);
    let base: Vec<_> = base_keys.iter().copied().zip(0..).collect();
    let first = insert_batch(tree.store(), &base).unwrap();
    assert_eq!(
        first.hash_calls as usize,
        ideal_hash_calls(&base_keys, &base_keys)
    );
    tree.insert_batch(&base).unwrap();
    let new_keys = keys(2, 1000);
    let batch: Vec<_> = new_keys.iter().copied().zip(1 << 20..).collect();
    let changes = insert_batch(tree.store(), &batch).unwrap();
    let all: Vec<_> = base_keys.iter().chain(&new_keys).copied().collect();
    assert_eq!(
        changes.hash_calls as usize,
        ideal_hash_calls(&all, &new_keys)
    );
    let per_key = changes.hash_calls as f64 / 1000.0;
    println!("hash calls per key, 1000 into 16384: {per_key:.2}");
    assert!(per_key < 15.0, "{per_key} hash calls per key");
    // Every page once, and none unchanged.
    let ids: BTreeSet<_> = changes.pages.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), changes.pages.len());
    for (id, page) in &changes.pages {
        assert_ne!(tree.store().get(id), Some(page));
    }
}

#[test]
fn cold_and_warm_stores_agree() {
    let mut store = MemoryStore::new();
    store.apply(
        &insert_batch(
            &store,
            &keys(3, 3000).into_iter().zip(0..).collect::<Vec<_>>(),
        )
        .unwrap(),
    );
    let batch: Vec<_> = keys(4, 300).into_iter().zip(5000..).collect();
    let warm = insert_batch(&store, &batch).unwrap();
    let cold = insert_batch(&ColdStore(&store), &batch).unwrap();
    assert_eq!(
        (warm.root, &warm.pages, &warm.existing),
        (cold.root, &cold.pages, &cold.existing)
    );
    let disk = insert_batch(&HashedDiskStore(&store), &batch).unwrap();
    assert_eq!((warm.root, &warm.pages), (disk.root, &disk.pages));
    assert_eq!(disk.hash_calls, warm.hash_calls);
    assert!(cold.hash_calls > warm.hash_calls);
    for k in keys(3, 50).iter().chain(&keys(9, 50)) {
        assert_eq!(
            hyper::prove(&store, k).unwrap(),
            hyper::prove(&ColdStore(&store), k).unwrap()
        );
    }
    assert_eq!(
        hyper::root(&ColdStore(&store)).unwrap(),
        hyper::root(&store).unwrap()
    );
    for (_, page) in &warm.pages {
        assert!(page.has_hashes());
    }
}

/// A canonical-looking tree whose root is made to match a crafted proof: the verifier must still
/// refuse it because of the shape, not because of the root.
fn assert_non_canonical(key: &[u8; 32], proof: &Proof, why: &str) {
    let root = fold(key, proof);
    match verify(&root, key, proof) {
        Err(VerifyError::NonCanonical(reason)) => {
            assert!(reason.contains(why), "{reason} vs {why}")
        }
        other => panic!("crafted proof accepted or wrongly rejected: {other:?}"),
    }
}

#[test]
fn every_canonicality_rule_is_enforced() {
    let k = key_with_bits(&[0, 5, 77]);
    let sib = leaf(&[9; 32], 1);
    // A leaf that could sit higher: its deepest sibling is EMPTY.
    let p = Proof {
        siblings: vec![sib, EMPTY],
        stop: Stop::Leaf { key: k, version: 3 },
    };
    assert_non_canonical(&k, &p, "could sit higher");
    let mut other = k;
    other[31] = 1;
    let p = Proof {
        siblings: vec![sib, EMPTY],
        stop: Stop::Leaf {
            key: other,
            version: 3,
        },
    };
    assert_non_canonical(&k, &p, "could sit higher");
    // An EMPTY stop whose deepest sibling is EMPTY.
    let p = Proof {
        siblings: vec![sib, EMPTY],
        stop: Stop::Empty,
    };
    assert_non_canonical(&k, &p, "also EMPTY");
    // An EMPTY stop at depth 256.
    let p = Proof {
        siblings: vec![sib; 256],
        stop: Stop::Empty,
    };
    assert_non_canonical(&k, &p, "depth 256");
    // A non-member leaf off the key's path.
    let off = key_with_bits(&[0, 6]); // differs at bit 5
    let p = Proof {
        siblings: vec![sib; 6],
        stop: Stop::Leaf {
            key: off,
            version: 0,
        },
    };
    assert_non_canonical(&k, &p, "does not share");
    let p = Proof {
        siblings: vec![sib; 5],
        stop: Stop::Leaf {
            key: off,
            version: 0,
        },
    };
    assert_eq!(
        verify(&fold(&k, &p), &k, &p),
        Ok(Lookup::NonMember),
        "sharing 5 bits is fine"
    );
    // A stopping leaf with the key itself is a member, never a non-member.
    let p = Proof {
        siblings: vec![sib; 5],
        stop: Stop::Leaf { key: k, version: 4 },
    };
    assert_eq!(verify(&fold(&k, &p), &k, &p), Ok(Lookup::Member(4)));
    // More than 256 siblings.
    let p = Proof {
        siblings: vec![sib; 257],
        stop: Stop::Leaf { key: k, version: 4 },
    };
    assert_non_canonical(&k, &p, "more than 256");
    // 256 siblings with the key's own leaf is the deepest legal member proof.
    let p = Proof {
        siblings: vec![sib; 256],
        stop: Stop::Leaf { key: k, version: 4 },
    };
    assert_eq!(verify(&fold(&k, &p), &k, &p), Ok(Lookup::Member(4)));
    // EMPTY siblings above the deepest one are legal (a chain of one-sided nodes).
    let p = Proof {
        siblings: vec![EMPTY, EMPTY, sib],
        stop: Stop::Empty,
    };
    assert_eq!(verify(&fold(&k, &p), &k, &p), Ok(Lookup::NonMember));
}

#[test]
fn both_kinds_of_non_member_stop_occur() {
    let mut tree = MemoryTree::new();
    let base: Vec<_> = keys(5, 200).into_iter().zip(0..).collect();
    tree.insert_batch(&base).unwrap();
    let mut seen = BTreeMap::new();
    for k in keys(6, 200) {
        let p = tree.prove(&k).unwrap();
        assert_eq!(verify(&tree.root(), &k, &p), Ok(Lookup::NonMember));
        *seen.entry(matches!(p.stop, Stop::Empty)).or_insert(0) += 1;
    }
    assert!(seen.len() == 2, "{seen:?}");
}

// --- corrupt stores: errors, never panics ---

fn corrupt_of<T: std::fmt::Debug>(
    r: Result<T, StoreError<std::convert::Infallible>>,
) -> &'static str {
    match r {
        Err(StoreError::Corrupt { reason, .. }) => reason,
        other => panic!("expected a corrupt-store error, got {other:?}"),
    }
}

#[test]
fn corrupt_stores_are_reported() {
    let a = [0x00; 32];
    let b = [0x01; 32]; // shares 7 bits with a: pages at depth 0 and 4
    let mut tree = MemoryTree::new();
    tree.insert_batch(&[(a, 0), (b, 1)]).unwrap();
    let child = PageId::new(4, &a).unwrap();

    // A missing child page.
    let mut missing = MemoryStore::new();
    for (id, p) in tree.store().iter().filter(|(id, _)| **id != child) {
        missing.put(*id, p.clone());
    }
    assert!(corrupt_of(hyper::get(&missing, &a)).contains("missing"));
    assert!(corrupt_of(hyper::prove(&missing, &a)).contains("missing"));
    assert!(corrupt_of(insert_batch(&missing, &[([0x02; 32], 2)])).contains("missing"));

    // A child page with a single leaf (it belongs in the parent).
    let mut lonely = tree.store().clone();
    lonely.put(
        child,
        Page::from_entries([(0, Entry::Leaf { key: a, version: 0 })]).unwrap(),
    );
    assert!(corrupt_of(hyper::prove(&lonely, &a)).contains("fewer than two"));

    // A leaf off its path.
    let mut off = tree.store().clone();
    let wrong = Page::from_entries([
        (0, Entry::Leaf { key: b, version: 0 }),
        (1, Entry::Leaf { key: a, version: 1 }),
    ]);
    off.put(child, wrong.unwrap());
    assert!(corrupt_of(hyper::get(&off, &a)).contains("not on its path"));
    assert!(corrupt_of(insert_batch(&off, &[([0x03; 32], 2)])).contains("not on its path"));

    // The root page misplaced entirely.
    let mut bad_root = MemoryStore::new();
    bad_root.put(
        PageId::ROOT,
        Page::from_entries([(5, Entry::Leaf { key: a, version: 0 })]).unwrap(),
    );
    assert!(corrupt_of(hyper::root(&bad_root)).contains("not on its path"));

    // A depth-252 page that points below itself.
    let deep = PageId::new(252, &a).unwrap();
    let mut deep_store = MemoryStore::new();
    let mut id = PageId::ROOT;
    while id != deep {
        deep_store.put(
            id,
            Page::from_entries([(0, Entry::Subtree([1; 32]))]).unwrap(),
        );
        id = id.child(0).unwrap();
    }
    deep_store.put(
        deep,
        Page::from_entries([(0, Entry::Subtree([1; 32]))]).unwrap(),
    );
    assert!(corrupt_of(hyper::get(&deep_store, &a)).contains("252"));
    assert!(corrupt_of(hyper::prove(&deep_store, &a)).contains("252"));
    assert!(corrupt_of(insert_batch(&deep_store, &[(a, 0)])).contains("252"));

    // A store that fails.
    struct Failing;
    impl hyper::PageStore for Failing {
        type Error = &'static str;
        fn page(&self, _: &PageId) -> Result<Option<Page>, &'static str> {
            Err("disk on fire")
        }
    }
    assert_eq!(
        hyper::root(&Failing),
        Err(StoreError::Store("disk on fire"))
    );
    assert_eq!(
        insert_batch(&Failing, &[(a, 0)]).unwrap_err().to_string(),
        "hyper page store failed: disk on fire"
    );
}

#[test]
fn store_error_display_names_the_page() {
    let e: StoreError<std::convert::Infallible> = StoreError::Corrupt {
        page: PageId::new(8, &[0xab; 32]).unwrap(),
        reason: "a child page is missing",
    };
    assert_eq!(
        e.to_string(),
        "hyper page 8/ab is corrupt: a child page is missing"
    );
}

#[cfg(feature = "serde")]
#[test]
fn proof_json_form() {
    let leaf_proof = Proof {
        siblings: vec![[0xab; 32]],
        stop: Stop::Leaf {
            key: [0x01; 32],
            version: 7,
        },
    };
    let text = qed_core::json::to_string(&leaf_proof);
    let hex = |b: &str| b.repeat(32);
    assert_eq!(
        text,
        format!(
            r#"{{"siblings":["{}"],"stop":{{"leaf":{{"key":"{}","version":7}}}}}}"#,
            hex("ab"),
            hex("01")
        )
    );
    assert_eq!(qed_core::json::from_str::<Proof>(&text), Ok(leaf_proof));
    let empty = Proof {
        siblings: vec![],
        stop: Stop::Empty,
    };
    let text = qed_core::json::to_string(&empty);
    assert_eq!(text, r#"{"siblings":[],"stop":"empty"}"#);
    assert_eq!(qed_core::json::from_str::<Proof>(&text), Ok(empty));
    for bad in [
        r#"{"siblings":["00"],"stop":"empty"}"#,
        r#"{"siblings":[],"stop":"leaf"}"#,
        r#"{"siblings":[],"stop":{"leaf":{"key":"zz","version":1}}}"#,
        r#"{"siblings":[],"stop":{"leaf":{"key":"00","version":-1}}}"#,
        r#"{"siblings":[]}"#,
    ] {
        assert!(qed_core::json::from_str::<Proof>(bad).is_err(), "{bad}");
    }
    let too_long = format!(
        r#"{{"siblings":[{}],"stop":"empty"}}"#,
        vec![format!("\"{}\"", hex("00")); 257].join(",")
    );
    assert!(qed_core::json::from_str::<Proof>(&too_long).is_err());
}
