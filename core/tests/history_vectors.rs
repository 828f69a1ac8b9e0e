//! The history tree against public RFC 6962 / RFC 9162 test data (see
//! `tests/data/history/README.md` for the sources): every transparency-dev/merkle inclusion
//! and consistency probe, and the 8-leaf reference tree of Certificate Transparency.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use qed_core::Hash;
use qed_core::hash::{digest, from_hex};
use qed_core::history::{
    self, EMPTY_ROOT, Frontier, MemoryTree, leaf_hash_bytes, verify_consistency, verify_inclusion,
};
use serde::Deserialize;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/history")
}

/// Every `.json` file under `dir`, sorted so failures are reported in a stable order.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Probe values decoded to hashes. Values of another length cannot even be passed to QED's
/// `[u8; 32]` API (they fail to decode at the boundary); to run the verifier on every probe all
/// the same, each is stood in by a 32-byte hash of itself (equal values stay equal).
#[derive(Default)]
struct Decoder {
    /// How many values were stood in, over all probes.
    stand_ins: usize,
    /// Whether the current probe had any.
    probe_had_one: bool,
}

impl Decoder {
    fn start_probe(&mut self) {
        self.probe_had_one = false;
    }

    fn hash(&mut self, b64: &str) -> Hash {
        let bytes = B64.decode(b64).unwrap();
        match <[u8; 32]>::try_from(bytes.as_slice()) {
            Ok(h) => h,
            Err(_) => {
                self.stand_ins += 1;
                self.probe_had_one = true;
                digest(&[b"not a 32-byte hash".as_slice(), &bytes].concat())
            }
        }
    }

    fn hashes(&mut self, list: &Option<Vec<String>>) -> Vec<Hash> {
        list.iter().flatten().map(|s| self.hash(s)).collect()
    }
}

/// Probes that transparency-dev rejects only because a value has the wrong length: with a
/// 32-byte stand-in they would be valid. QED rejects them at the type boundary (no `[u8; 32]`
/// can be built from them), so the verifier never sees them.
const REJECTED_ONLY_FOR_LENGTH: &[&str] = &["inclusion/single-entry/empty-root-and-leaf.json"];

/// Checks one probe's outcome; returns whether the verifier itself (not the types) decided.
fn check_probe(
    path: &Path,
    desc: &str,
    want_err: bool,
    had_stand_in: bool,
    got: Result<(), qed_core::VerifyError>,
) -> bool {
    let name = path
        .strip_prefix(data_dir())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    if had_stand_in && want_err && REJECTED_ONLY_FOR_LENGTH.contains(&name.as_str()) {
        assert_eq!(got, Ok(()), "{name}: {desc}: the list above is out of date");
        return false;
    }
    assert_eq!(got.is_err(), want_err, "{name}: {desc} -> {got:?}");
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InclusionProbe {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyProbe {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

#[derive(Deserialize)]
struct Reference {
    leaves: Vec<String>,
    node_hashes: Vec<Vec<String>>,
    roots: Vec<String>,
    inclusion: Vec<RefInclusion>,
    consistency: Vec<RefConsistency>,
}

#[derive(Deserialize)]
struct RefInclusion {
    leaf: u64,
    size: u64,
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct RefConsistency {
    size1: u64,
    size2: u64,
    proof: Vec<String>,
}

fn hx(s: &str) -> Hash {
    from_hex(s).unwrap()
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(data_dir().join("rfc6962-reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The reference tree built from its leaf data.
fn reference_tree(r: &Reference) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in &r.leaves {
        tree.append_leaf_hash(&leaf_hash_bytes(&hex::decode(leaf).unwrap()));
    }
    tree
}

#[test]
fn every_transparency_dev_inclusion_probe() {
    let tree = reference_tree(&reference());
    let files = json_files(&data_dir().join("inclusion"));
    assert_eq!(files.len(), 98, "probe files found");
    let mut dec = Decoder::default();
    let (mut accepted, mut rejected, mut by_type, mut cross_checked) = (0, 0, 0, 0);
    for path in &files {
        let p: InclusionProbe =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        dec.start_probe();
        let leaf = dec.hash(&p.leaf_hash);
        let root = dec.hash(&p.root);
        let proof = dec.hashes(&p.proof);
        let got = verify_inclusion(&leaf, p.leaf_idx, p.tree_size, &proof, &root);
        if !check_probe(path, &p.desc, p.want_err, dec.probe_had_one, got) {
            by_type += 1;
        } else if p.want_err {
            rejected += 1;
        } else {
            accepted += 1;
            // A happy path over the reference tree must be exactly the proof we generate.
            if p.tree_size <= 8 && tree.root_at(p.tree_size) == Ok(root) {
                let ours = tree.inclusion_proof(p.leaf_idx, p.tree_size).unwrap();
                assert_eq!(ours, proof, "{}", p.desc);
                cross_checked += 1;
            }
        }
    }
    assert_eq!((accepted, rejected, by_type), (6, 91, 1));
    assert_eq!(
        cross_checked, 5,
        "happy paths that are proofs of the reference tree"
    );
    assert_eq!(dec.stand_ins, 27, "values that are not 32 bytes, stood in");
}

#[test]
fn every_transparency_dev_consistency_probe() {
    let tree = reference_tree(&reference());
    let files = json_files(&data_dir().join("consistency"));
    assert_eq!(files.len(), 98, "probe files found");
    let mut dec = Decoder::default();
    let (mut accepted, mut rejected, mut by_type, mut cross_checked) = (0, 0, 0, 0);
    for path in &files {
        let p: ConsistencyProbe =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        dec.start_probe();
        let root1 = dec.hash(&p.root1);
        let root2 = dec.hash(&p.root2);
        let proof = dec.hashes(&p.proof);
        let got = verify_consistency(p.size1, p.size2, &proof, &root1, &root2);
        if !check_probe(path, &p.desc, p.want_err, dec.probe_had_one, got) {
            by_type += 1;
        } else if p.want_err {
            rejected += 1;
        } else {
            accepted += 1;
            if p.size2 <= 8 && tree.root_at(p.size2) == Ok(root2) {
                let ours = tree.consistency_proof(p.size1, p.size2).unwrap();
                assert_eq!(ours, proof, "{}", p.desc);
                cross_checked += 1;
            }
        }
    }
    assert_eq!((accepted, rejected, by_type), (6, 92, 0));
    assert_eq!(
        cross_checked, 5,
        "happy paths that are proofs of the reference tree"
    );
    assert_eq!(dec.stand_ins, 35, "values that are not 32 bytes, stood in");
}

#[test]
fn reference_tree_roots_and_nodes() {
    let r = reference();
    let roots: Vec<Hash> = r.roots.iter().map(|s| hx(s)).collect();
    assert_eq!(roots.len(), 9);
    assert_eq!(roots[0], EMPTY_ROOT);
    let mut tree = MemoryTree::new();
    let mut frontier = Frontier::new();
    assert_eq!(tree.root(), roots[0]);
    assert_eq!(frontier.root(), roots[0]);
    for (i, leaf) in r.leaves.iter().enumerate() {
        let h = leaf_hash_bytes(&hex::decode(leaf).unwrap());
        assert_eq!(tree.append_leaf_hash(&h), i as u64);
        assert_eq!(
            frontier.try_append_leaf_hash(&h, |_, _, _| {}),
            Some(i as u64)
        );
        let size = i + 1;
        assert_eq!(tree.root(), roots[size], "root of size {size}");
        assert_eq!(frontier.root(), roots[size], "frontier root of size {size}");
    }
    for size in 0..=8u64 {
        assert_eq!(
            tree.root_at(size).unwrap(),
            roots[size as usize],
            "root_at({size})"
        );
        assert_eq!(history::root(&tree, size).unwrap(), roots[size as usize]);
    }
    for (level, row) in r.node_hashes.iter().enumerate() {
        for (index, h) in row.iter().enumerate() {
            assert_eq!(
                tree.node(level as u8, index as u64),
                Some(hx(h)),
                "node ({level}, {index})"
            );
        }
        assert_eq!(tree.node(level as u8, row.len() as u64), None);
    }
    assert_eq!(tree.node(4, 0), None);
}

#[test]
fn reference_tree_published_proofs() {
    let r = reference();
    let tree = reference_tree(&r);
    let roots: Vec<Hash> = r.roots.iter().map(|s| hx(s)).collect();
    let leaves: Vec<Hash> = r
        .leaves
        .iter()
        .map(|l| leaf_hash_bytes(&hex::decode(l).unwrap()))
        .collect();
    assert_eq!(r.inclusion.len(), 5);
    for v in &r.inclusion {
        let index = v.leaf - 1; // 1-based in the source
        let proof: Vec<Hash> = v.proof.iter().map(|s| hx(s)).collect();
        assert_eq!(
            tree.inclusion_proof(index, v.size).unwrap(),
            proof,
            "inclusion {index}/{}",
            v.size
        );
        let root = &roots[v.size as usize];
        assert_eq!(
            verify_inclusion(&leaves[index as usize], index, v.size, &proof, root),
            Ok(())
        );
    }
    assert_eq!(r.consistency.len(), 5);
    for v in &r.consistency {
        let proof: Vec<Hash> = v.proof.iter().map(|s| hx(s)).collect();
        assert_eq!(
            tree.consistency_proof(v.size1, v.size2).unwrap(),
            proof,
            "{}->{}",
            v.size1,
            v.size2
        );
        let (r1, r2) = (&roots[v.size1 as usize], &roots[v.size2 as usize]);
        assert_eq!(verify_consistency(v.size1, v.size2, &proof, r1, r2), Ok(()));
    }
}

#[test]
fn reference_tree_every_proof() {
    let r = reference();
    let tree = reference_tree(&r);
    let roots: Vec<Hash> = r.roots.iter().map(|s| hx(s)).collect();
    let leaves: Vec<Hash> = r
        .leaves
        .iter()
        .map(|l| leaf_hash_bytes(&hex::decode(l).unwrap()))
        .collect();
    let mut checked = 0;
    for size in 1..=8u64 {
        for index in 0..size {
            let proof = tree.inclusion_proof(index, size).unwrap();
            assert_eq!(Some(proof.len()), history::inclusion_proof_len(index, size));
            let leaf = &leaves[index as usize];
            assert_eq!(
                verify_inclusion(leaf, index, size, &proof, &roots[size as usize]),
                Ok(())
            );
            // Against every other root of the reference tree it fails.
            for other in (1..=8usize).filter(|&s| s as u64 != size) {
                assert!(verify_inclusion(leaf, index, size, &proof, &roots[other]).is_err());
            }
            checked += 1;
        }
        for size1 in 1..=size {
            let proof = tree.consistency_proof(size1, size).unwrap();
            assert_eq!(
                Some(proof.len()),
                history::consistency_proof_len(size1, size)
            );
            let (r1, r2) = (&roots[size1 as usize], &roots[size as usize]);
            assert_eq!(verify_consistency(size1, size, &proof, r1, r2), Ok(()));
            if size1 != size {
                assert!(verify_consistency(size1, size, &proof, r2, r1).is_err());
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 36 + 36);
}
