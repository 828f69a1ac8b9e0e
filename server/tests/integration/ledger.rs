//! The ledger against real RocksDB databases in temporary directories: every answer is checked
//! with qed-core's verifiers, with nothing but the verifier key.

use std::path::Path;

use qed_core::Hash;
use qed_core::hash::digest;
use qed_core::receipt::verify_receipt;
use qed_core::snapshot::{Signer, SnapshotJson, VerifierKey};
use qed_core::verify::{verify_incremental, verify_membership};
use qed_server::state_machine::{Applied, Ledger, LedgerOptions, StateError};

const ORIGIN: &str = "test.example/qed";

fn signer() -> Signer {
    Signer::new(ORIGIN, &[42; 32]).unwrap()
}

fn key() -> VerifierKey {
    signer().verifier_key()
}

fn small() -> LedgerOptions {
    LedgerOptions {
        cache_bytes: 16 << 20,
    }
}

pub(crate) fn open(dir: &Path) -> Ledger {
    Ledger::open(dir, signer(), small()).unwrap()
}

/// A ledger whose page cache holds `cache_bytes`.
fn open_with_cache(dir: &Path, cache_bytes: usize) -> Ledger {
    Ledger::open(dir, signer(), LedgerOptions { cache_bytes }).unwrap()
}

fn d(i: u64) -> Hash {
    digest(&i.to_be_bytes())
}

/// Groups of distinct digests: sizes 1, 2, 3, ... until `total` digests.
fn groups(total: u64) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    let mut next = 0;
    let mut len = 1;
    while next < total {
        let end = (next + len).min(total);
        out.push((next..end).map(d).collect());
        next = end;
        len += 1;
    }
    out
}

fn meta(i: usize) -> Vec<u8> {
    format!("log id {i}").into_bytes()
}

/// Applies the groups (numbered from `first` in their meta), checking every receipt on the
/// way; returns the boundaries (sizes).
fn feed_from(ledger: &mut Ledger, groups: &[Vec<Hash>], first: usize) -> Vec<u64> {
    let key = key();
    let reader = ledger.reader();
    let mut sizes = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let applied = ledger.apply(g, &meta(first + i)).unwrap();
        let snapshot = applied.snapshot.clone().unwrap();
        for entry in &applied.entries {
            let receipt = reader.receipt(entry, &snapshot).unwrap();
            let verdict = verify_receipt(&receipt, &key).unwrap();
            assert_eq!(verdict.version, entry.version);
        }
        sizes.push(snapshot.size);
    }
    sizes
}

/// The answer for digest `d(version)`, added at `version`.
fn new_entry(version: u64) -> qed_server::state_machine::AppliedEntry {
    qed_server::state_machine::AppliedEntry {
        version,
        digest: d(version),
        duplicate: false,
    }
}

/// `(version, duplicate)` of each digest of an applied group, in order.
fn versions(applied: &Applied) -> Vec<(u64, bool)> {
    applied
        .entries
        .iter()
        .map(|e| (e.version, e.duplicate))
        .collect()
}

fn feed(ledger: &mut Ledger, groups: &[Vec<Hash>]) -> Vec<u64> {
    feed_from(ledger, groups, 0)
}

#[test]
fn applies_and_every_answer_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open(dir.path());
    let reader = ledger.reader();
    assert_eq!(reader.size(), 0);
    assert_eq!(reader.latest(), None);
    assert_eq!(ledger.applied_meta(), None);
    let groups = groups(300);
    let sizes = feed(&mut ledger, &groups);
    assert_eq!(reader.size(), 300);
    assert_eq!(ledger.applied_meta(), Some(meta(groups.len() - 1)));
    let key = key();
    let latest = reader.latest().unwrap();
    assert_eq!(latest.size, 300);
    assert_eq!(latest.event_digest, Some(qed_core::hash::to_hex(&d(299))));

    // Membership at the latest version: members, and a digest never added.
    for i in [0u64, 1, 150, 299] {
        let answer = reader.membership(&d(i), None).unwrap();
        let verdict = verify_membership(&answer, None, &key, &d(i)).unwrap();
        assert!(verdict.member);
        assert_eq!(verdict.version, Some(i));
    }
    let absent = digest(b"never added");
    let answer = reader.membership(&absent, None).unwrap();
    assert!(
        !verify_membership(&answer, None, &key, &absent)
            .unwrap()
            .member
    );
    assert_eq!(answer.version, None);

    // Membership as of every signed snapshot: members before, "added later" after.
    for &size in &sizes {
        let q = size - 1;
        let held = reader.snapshot_at(size).unwrap();
        for i in [0u64, q, (q + 1).min(299), 299] {
            let answer = reader.membership(&d(i), Some(q)).unwrap();
            let verdict = verify_membership(&answer, Some(&held), &key, &d(i)).unwrap();
            assert_eq!(verdict.member, i <= q, "digest {i} at version {q}");
            assert_eq!(answer.version, Some(i));
            assert_eq!(verdict.query_version, q);
        }
    }

    // Incremental proofs between every pair of a few signed snapshots.
    let picks: Vec<u64> = sizes.iter().copied().step_by(4).chain([300]).collect();
    for &a in &picks {
        for &b in picks.iter().filter(|b| **b >= a) {
            let answer = reader.incremental(a - 1, b - 1).unwrap();
            let (old, new) = (
                reader.snapshot_at(a).unwrap(),
                reader.snapshot_at(b).unwrap(),
            );
            let (o, n) = verify_incremental(&answer, &old, &new, &key).unwrap();
            assert_eq!((o.size, n.size), (a, b));
        }
    }

    // Leaves and lookups.
    for v in [0u64, 255, 256, 299] {
        let receipt = reader.leaf(v).unwrap();
        assert_eq!(receipt.digest, d(v));
        assert!(!receipt.duplicate);
        assert_eq!(verify_receipt(&receipt, &key).unwrap().checkpoint.size, 300);
        assert_eq!(reader.lookup(&d(v)).unwrap(), Some(v));
    }
    assert_eq!(reader.lookup(&absent).unwrap(), None);
    // Snapshots exist only for signed sizes.
    assert!(reader.snapshot_at(2).is_none());
    assert!(reader.snapshot_at(0).is_none());
    assert!(reader.snapshot_at(301).is_none());
}

#[test]
fn duplicates_within_and_across_groups() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open(dir.path());
    let reader = ledger.reader();
    let key = key();
    let a = ledger.apply(&[d(0), d(1), d(0), d(2), d(1)], b"1").unwrap();
    assert_eq!(
        versions(&a),
        [(0, false), (1, false), (0, true), (2, false), (1, true)]
    );
    let s1 = a.snapshot.clone().unwrap();
    assert_eq!(s1.size, 3);

    // Across groups, mixed with new digests: new ones are numbered without gaps.
    let b = ledger.apply(&[d(3), d(1), d(4), d(3), d(0)], b"2").unwrap();
    assert_eq!(
        versions(&b),
        [(3, false), (1, true), (4, false), (3, true), (0, true)]
    );
    let s2 = b.snapshot.clone().unwrap();
    assert_eq!(s2.size, 5);
    for entry in a.entries.iter().chain(&b.entries) {
        let snapshot = if entry.version < 3 && a.entries.contains(entry) {
            &s1
        } else {
            &s2
        };
        let receipt = reader.receipt(entry, snapshot).unwrap();
        assert_eq!(receipt.duplicate, entry.duplicate);
        verify_receipt(&receipt, &key).unwrap();
    }

    // A group of duplicates appends nothing and signs nothing, but records its meta.
    let c = ledger.apply(&[d(4), d(2), d(2)], b"3").unwrap();
    assert!(c.entries.iter().all(|e| e.duplicate));
    assert_eq!(c.snapshot.as_ref(), Some(&s2));
    assert_eq!(reader.size(), 5);
    assert_eq!(ledger.applied_meta().as_deref(), Some(&b"3"[..]));
    // An empty group likewise.
    let e = ledger.apply(&[], b"4").unwrap();
    assert_eq!(
        e,
        Applied {
            entries: vec![],
            snapshot: Some(s2.clone())
        }
    );
    // Meta-only entries.
    ledger.apply_meta(b"membership").unwrap();
    assert_eq!(ledger.applied_meta().as_deref(), Some(&b"membership"[..]));
    // The database closes when the ledger and every reader are gone.
    drop(reader);
    drop(ledger);
    let ledger = open(dir.path());
    assert_eq!(ledger.applied_meta().as_deref(), Some(&b"membership"[..]));
    assert_eq!(ledger.reader().latest(), Some(s2));
}

#[test]
fn empty_log_and_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open(dir.path());
    let reader = ledger.reader();
    let not_found = |r: Result<_, StateError>| matches!(r, Err(StateError::NotFound(_)));
    assert!(not_found(reader.membership(&d(0), None).map(|_| ())));
    assert!(not_found(reader.membership(&d(0), Some(0)).map(|_| ())));
    assert!(not_found(reader.incremental(0, 0).map(|_| ())));
    assert!(not_found(reader.leaf(0).map(|_| ())));
    assert_eq!(reader.lookup(&d(0)).unwrap(), None);
    // An empty group on an empty log: nothing to sign.
    let applied = ledger.apply(&[], b"m").unwrap();
    assert_eq!(applied.snapshot, None);

    ledger.apply(&[d(0), d(1), d(2)], b"m").unwrap();
    let err = reader.incremental(2, 1).unwrap_err();
    assert!(matches!(err, StateError::BadRequest(_)));
    assert_eq!(err.status(), 400);
    let err = reader.incremental(0, 3).unwrap_err();
    assert!(matches!(err, StateError::NotFound(_)));
    assert_eq!(err.status(), 404);
    assert!(not_found(reader.membership(&d(0), Some(3)).map(|_| ())));
    assert!(not_found(
        reader.membership(&d(0), Some(u64::MAX)).map(|_| ())
    ));
    assert!(not_found(reader.leaf(3).map(|_| ())));
    assert!(not_found(reader.leaf(u64::MAX).map(|_| ())));
    assert!(reader.incremental(0, 2).is_ok());
    assert!(reader.incremental(2, 2).unwrap().proof.is_empty());

    // A receipt asked against a snapshot that does not cover the entry.
    let snapshot = reader.latest().unwrap();
    assert!(matches!(
        reader.receipt(&new_entry(3), &snapshot),
        Err(StateError::BadRequest(_))
    ));
    let mut future = snapshot.clone();
    future.size = 10;
    assert!(matches!(
        reader.receipt(&new_entry(0), &future),
        Err(StateError::NotFound(_))
    ));
}

#[test]
fn state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let groups = groups(1000);
    let (latest, sizes) = {
        let mut ledger = open(dir.path());
        let sizes = feed(&mut ledger, &groups[..20]);
        ledger.flush().unwrap();
        // More groups without a flush: the WAL carries them across a close.
        let more = feed_from(&mut ledger, &groups[20..], 20);
        (ledger.reader().latest().unwrap(), [sizes, more].concat())
    };
    let mut ledger = open(dir.path());
    let reader = ledger.reader();
    assert_eq!(reader.latest().as_ref(), Some(&latest));
    assert_eq!(reader.size(), 1000);
    assert_eq!(ledger.applied_meta(), Some(meta(groups.len() - 1)));
    for &size in &sizes {
        assert_eq!(reader.snapshot_at(size).unwrap().size, size);
    }
    // The next version continues, duplicates are still known, and proofs span the restart.
    let applied = ledger.apply(&[d(5), d(1000), d(1001)], b"after").unwrap();
    assert_eq!(
        versions(&applied),
        [(5, true), (1000, false), (1001, false)]
    );
    let key = key();
    let answer = reader.incremental(latest.size - 1, 1001).unwrap();
    verify_incremental(&answer, &latest, &applied.snapshot.clone().unwrap(), &key).unwrap();
    for i in [0u64, 999, 1001] {
        let answer = reader.membership(&d(i), None).unwrap();
        assert!(
            verify_membership(&answer, None, &key, &d(i))
                .unwrap()
                .member
        );
    }
}

/// Copies a directory tree: taken from a live ledger whose flushes have finished, this is what
/// `kill -9` leaves (every write has reached its file; nothing was closed or synced).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_crash_resumes_from_the_last_flush() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    let groups = groups(1830);
    let mut ledger = open(dir.path());
    // A flush at 820 events, inside a tile and a bundle; then groups that complete four of
    // each and leave partial ones that only the ledger's memory holds.
    feed(&mut ledger, &groups[..40]);
    ledger.store().unwrap();
    feed_from(&mut ledger, &groups[40..], 40);
    while ledger.flush_running() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    copy_tree(dir.path(), crashed.path());
    let want = answers(&ledger);
    drop(ledger);

    // The copy opens at its last stored flush (820 events or a later one), as Raft would find
    // it, and replaying the groups after its applied meta gives the same state.
    let mut replica = open(crashed.path());
    let stored = String::from_utf8(replica.applied_meta().unwrap()).unwrap();
    let last: usize = stored.strip_prefix("log id ").unwrap().parse().unwrap();
    assert!((39..groups.len()).contains(&last), "{stored}");
    assert_eq!(
        replica.reader().size(),
        groups[..=last].iter().map(|g| g.len() as u64).sum::<u64>()
    );
    feed_from(&mut replica, &groups[last + 1..], last + 1);
    assert_eq!(answers(&replica), want);
}

/// The active state database of a closed ledger in `dir`, opened directly.
fn raw_db(dir: &Path) -> rocksdb::DB {
    use qed_server::storage::db::COLUMN_FAMILIES;
    let active = std::fs::read_to_string(dir.join("ACTIVE")).unwrap();
    rocksdb::DB::open_cf(
        &rocksdb::Options::default(),
        dir.join(active.trim()),
        COLUMN_FAMILIES,
    )
    .unwrap()
}

/// Rewrites a closed state directory into the first format's layout: the tree record and
/// applied meta in the `meta` column family under their old keys.
fn downgrade_to_v1(dir: &Path) {
    use qed_server::storage::db::{CF_HYPER, CF_META};
    use qed_server::storage::meta;
    let db = raw_db(dir);
    let (hyper, meta_cf) = (
        db.cf_handle(CF_HYPER).unwrap(),
        db.cf_handle(CF_META).unwrap(),
    );
    for (new, old) in [
        (meta::KEY_TREE, meta::v1::KEY_TREE),
        (meta::KEY_APPLIED, meta::v1::KEY_APPLIED),
    ] {
        let value = db.get_cf(hyper, new).unwrap().unwrap();
        db.put_cf(meta_cf, old, value).unwrap();
        db.delete_cf(hyper, new).unwrap();
    }
    db.put_cf(meta_cf, meta::KEY_FORMAT, meta::v1::FORMAT)
        .unwrap();
}

#[test]
fn a_first_format_state_is_upgraded_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let groups = groups(500);
    let before = {
        let mut ledger = open(dir.path());
        feed(&mut ledger, &groups);
        answers(&ledger)
    };
    downgrade_to_v1(dir.path());
    {
        let ledger = open(dir.path());
        assert_eq!(answers(&ledger), before);
        assert_eq!(ledger.applied_meta(), Some(meta(groups.len() - 1)));
    }
    // Upgraded for good: a second open finds the new format.
    let mut ledger = open(dir.path());
    assert_eq!(answers(&ledger), before);
    let applied = ledger.apply(&[d(3), d(500)], b"after").unwrap();
    assert_eq!(applied.entries[0].version, 3);
    assert_eq!(applied.entries[1].version, 500);
}

#[test]
fn a_corrupt_stored_page_stops_the_writer() {
    use qed_core::hyper::{Entry, Page, PageId};
    use qed_server::storage::db::CF_HYPER;
    use qed_server::storage::pages::{decode_page, encode_page};
    let dir = tempfile::tempdir().unwrap();
    feed(&mut open(dir.path()), &groups(500));
    {
        // A page at depth 4 (500 digests fill all 16) with one leaf, which a canonical tree
        // keeps in the parent instead.
        let db = raw_db(dir.path());
        let hyper = db.cf_handle(CF_HYPER).unwrap();
        let (key, value) = db
            .iterator_cf(hyper, rocksdb::IteratorMode::Start)
            .map(Result::unwrap)
            .find(|(k, _)| k.first() == Some(&4))
            .unwrap();
        let id = PageId::from_bytes(&key).unwrap();
        let (written_at, page) = decode_page(&id, &value).unwrap();
        let (position, leaf) = page
            .iter()
            .find(|(_, e)| matches!(e, Entry::Leaf { .. }))
            .unwrap_or((
                0,
                Entry::Leaf {
                    key: *id.prefix(),
                    version: 0,
                },
            ));
        let lonely = Page::from_entries([(position, leaf)]).unwrap();
        db.put_cf(hyper, &key, encode_page(written_at, &lonely))
            .unwrap();
    }
    // Every page the writer reads from disk is checked before it is used or cached.
    let mut ledger = open(dir.path());
    let fresh: Vec<Hash> = (500..600).map(d).collect();
    match ledger.apply(&fresh, &meta(0)) {
        Err(StateError::Corrupt(msg)) => assert!(msg.contains("fewer than two"), "{msg}"),
        other => panic!(
            "expected a corrupt state, got {:?}",
            other.map(|a| a.entries.len())
        ),
    }
}

#[test]
fn replicas_fed_the_same_groups_are_identical() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut la = open(a.path());
    let mut lb = open_with_cache(b.path(), 4 << 20);
    let mut groups = groups(2000);
    groups.push(vec![d(7), d(3000), d(7)]);
    for (i, g) in groups.iter().enumerate() {
        let (x, y) = (
            la.apply(g, &meta(i)).unwrap(),
            lb.apply(g, &meta(i)).unwrap(),
        );
        assert_eq!(x, y);
    }
    let (ra, rb) = (la.reader(), lb.reader());
    assert_eq!(ra.latest(), rb.latest());
    assert_eq!(
        ra.membership(&d(77), Some(500)).unwrap(),
        rb.membership(&d(77), Some(500)).unwrap()
    );
    // Byte-identical state: the exports are equal.
    let (fa, fb) = (a.path().join("x.export"), b.path().join("x.export"));
    la.export(&fa).unwrap();
    lb.export(&fb).unwrap();
    assert_eq!(std::fs::read(&fa).unwrap(), std::fs::read(&fb).unwrap());
}

fn answers(ledger: &Ledger) -> Vec<String> {
    let r = ledger.reader();
    let mut out = vec![serde_json::to_string(&r.latest()).unwrap()];
    for i in [0u64, 17, 499, 500, 10_000] {
        out.push(serde_json::to_string(&r.membership(&d(i), None).unwrap()).unwrap());
        out.push(serde_json::to_string(&r.membership(&d(i), Some(100)).unwrap()).unwrap());
    }
    out.push(serde_json::to_string(&r.incremental(3, 480).unwrap()).unwrap());
    out.push(serde_json::to_string(&r.leaf(321).unwrap()).unwrap());
    out
}

#[test]
fn export_import_round_trip() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut source = open(a.path());
    feed(&mut source, &groups(500));
    source.apply_meta(b"raft meta at export").unwrap();
    let file = a.path().join("state.export");
    source.export(&file).unwrap();

    let mut target = open(b.path());
    target.apply(&[digest(b"to be replaced")], b"old").unwrap();
    let reader = target.reader();
    target.import(&file).unwrap();
    assert_eq!(
        target.applied_meta().as_deref(),
        Some(&b"raft meta at export"[..])
    );
    assert_eq!(reader.latest(), source.reader().latest());
    assert_eq!(answers(&target), answers(&source));
    assert_eq!(reader.lookup(&digest(b"to be replaced")).unwrap(), None);

    // Both continue identically, and the import survives a reopen.
    let next = [d(9999), d(1)];
    assert_eq!(
        target.apply(&next, b"n").unwrap(),
        source.apply(&next, b"n").unwrap()
    );
    drop(reader);
    drop(target);
    let target = open(b.path());
    assert_eq!(answers(&target), answers(&source));
    // Only the live generation is left in the directory.
    let generations: Vec<_> = std::fs::read_dir(b.path())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.starts_with("state-"))
        .collect();
    assert_eq!(generations, ["state-000001"]);
}

#[test]
fn corrupt_exports_are_rejected_and_leave_the_state_alone() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut source = open(a.path());
    feed(&mut source, &groups(300));
    let file = a.path().join("good.export");
    source.export(&file).unwrap();
    let good = std::fs::read(&file).unwrap();

    let mut target = open(b.path());
    target.apply(&[d(1), d(2)], b"mine").unwrap();
    let before = answers_small(&target);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("magic only", good[..8].to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("no checksum", good[..good.len() - 32].to_vec()),
        ("trailing byte", [good.clone(), vec![0]].concat()),
        (
            "junk",
            (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
    ];
    let mut flipped = good.clone();
    let mid = flipped.len() / 3;
    flipped[mid] ^= 0x10;
    cases.push(("flipped byte", flipped));
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    cases.push(("bad magic", bad_magic));
    let mut bad_format = good.clone();
    bad_format[11] = 9;
    cases.push(("bad format", bad_format));
    let mut huge_key = good.clone();
    huge_key[13..17].copy_from_slice(&u32::MAX.to_be_bytes());
    cases.push(("huge key length", huge_key));
    let mut bad_cf = good.clone();
    bad_cf[12] = 7;
    cases.push(("unknown column family", bad_cf));
    for (name, bytes) in cases {
        let path = b.path().join("bad.export");
        std::fs::write(&path, &bytes).unwrap();
        let err = target.import(&path).unwrap_err();
        assert!(matches!(err, StateError::Corrupt(_)), "{name}: {err}");
        assert_eq!(answers_small(&target), before, "{name}");
    }
    // A well-formed file whose contents disagree (checksum recomputed) is refused by the
    // consistency checks.
    let tampered = retamper(&good);
    let path = b.path().join("tampered.export");
    std::fs::write(&path, &tampered).unwrap();
    assert!(matches!(target.import(&path), Err(StateError::Corrupt(_))));
    assert!(target.import(&b.path().join("missing.export")).is_err());
    assert_eq!(answers_small(&target), before);
    // The ledger still works, and nothing but the live generation remains.
    target.apply(&[d(3)], b"still").unwrap();
    drop(target);
    let target = open(b.path());
    assert_eq!(target.reader().size(), 3);
    let names: Vec<_> = std::fs::read_dir(b.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.to_string_lossy().starts_with("state-"))
            .count(),
        1
    );
}

fn answers_small(ledger: &Ledger) -> (Option<SnapshotJson>, Option<Vec<u8>>, Option<u64>) {
    let r = ledger.reader();
    (r.latest(), ledger.applied_meta(), r.lookup(&d(1)).unwrap())
}

/// Changes the last byte of the tree record (a frontier hash) and fixes up the checksum.
fn retamper(good: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let body_end = good.len() - 32;
    let mut body = good[..body_end].to_vec();
    let tree = body.windows(4).rposition(|w| w == b"tree").unwrap();
    // key "tree" is followed by be32 value length and the value: flip a byte of the value.
    body[tree + 4 + 4 + 20] ^= 1;
    let sum = sha2::Sha256::digest(&body);
    [body, sum.to_vec()].concat()
}

#[test]
fn readers_see_one_state_while_the_writer_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open_with_cache(dir.path(), 4 << 20);
    ledger.apply(&[d(0)], b"0").unwrap();
    let reader = ledger.reader();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let checker = {
        let (reader, stop) = (reader.clone(), stop.clone());
        std::thread::spawn(move || {
            let key = key();
            let mut checked = 0u64;
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let size = reader.size();
                let target = d(i % size.max(1));
                let answer = reader.membership(&target, None).unwrap();
                let verdict = verify_membership(&answer, None, &key, &target).unwrap();
                assert!(verdict.member);
                let absent = digest(&i.to_le_bytes());
                let answer = reader.membership(&absent, None).unwrap();
                verify_membership(&answer, None, &key, &absent).unwrap();
                checked += 1;
                i += 7;
            }
            checked
        })
    };
    for g in groups(20_000).iter().skip(1) {
        ledger.apply(g, b"m").unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let checked = checker.join().unwrap();
    assert!(checked > 0);
}

#[test]
fn small_cache_large_log_stays_correct() {
    // A page cache far smaller than the tree: evictions send readers and the writer to disk.
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open_with_cache(dir.path(), 1 << 20);
    let all: Vec<Hash> = (0..30_000).map(d).collect();
    for (i, g) in all.chunks(1000).enumerate() {
        ledger.apply(g, &meta(i)).unwrap();
    }
    let reader = ledger.reader();
    let key = key();
    for i in (0..30_000u64).step_by(997) {
        let answer = reader.membership(&d(i), Some(14_999)).unwrap();
        let held = reader.snapshot_at(15_000).unwrap();
        assert_eq!(
            verify_membership(&answer, Some(&held), &key, &d(i))
                .unwrap()
                .member,
            i < 15_000
        );
        assert_eq!(reader.lookup(&d(i)).unwrap(), Some(i));
    }
    let again: Vec<Hash> = (29_000..31_000).map(d).collect();
    let applied = ledger.apply(&again, b"last").unwrap();
    assert_eq!(applied.entries.iter().filter(|e| e.duplicate).count(), 1000);
    assert_eq!(applied.entries[1000].version, 30_000);
    assert_eq!(applied.entries[1999].version, 30_999);
}
