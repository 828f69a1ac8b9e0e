//! Criterion benchmarks of the proof core (see docs/BENCHMARKS.md).
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use qed_core::history::{self, Frontier, MemoryTree};
use qed_core::snapshot::{Checkpoint, Signer, open};

mod common;

fn sha256_64(c: &mut Criterion) {
    let input = [7u8; 64];
    c.bench_function("sha256/64B", |b| {
        b.iter(|| qed_core::hash::digest(black_box(&input)))
    });
}

/// Distinct event digests for the history benches.
fn digests(n: u64) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| qed_core::hash::digest(&i.to_be_bytes()))
        .collect()
}

/// History tree: appends (the server's write path), proof verification (every client) and
/// proof generation (the server's read path).
fn history_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("history");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);

    // Appends: 4096 leaves per iteration into one ever-growing frontier, the nodes it reports
    // passed to a sink that only looks at them (the server would batch them into a write).
    const BATCH: u64 = 4096;
    let batch = digests(BATCH);
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("frontier_append", |b| {
        let mut frontier = Frontier::new();
        b.iter(|| {
            for d in &batch {
                frontier.append(d, |level, index, hash| {
                    black_box((level, index, hash));
                });
            }
        })
    });
    g.bench_function("memory_tree_append", |b| {
        b.iter_batched_ref(
            MemoryTree::new,
            |tree| {
                for d in &batch {
                    tree.append(d);
                }
            },
            criterion::BatchSize::SmallInput,
        )
    });

    // The hash rules on their own, to relate appends to the SHA-256 rate.
    g.throughput(Throughput::Elements(1));
    let (l, r) = (history::leaf_hash(&[1; 32]), history::leaf_hash(&[2; 32]));
    g.bench_function("leaf_hash", |b| {
        b.iter(|| history::leaf_hash(black_box(&[3; 32])))
    });
    g.bench_function("node_hash", |b| {
        b.iter(|| history::node_hash(black_box(&l), black_box(&r)))
    });

    // Proofs in a tree of one million leaves.
    const SIZE: u64 = 1_000_000;
    let leaves = digests(SIZE);
    let mut tree = MemoryTree::new();
    for d in &leaves {
        tree.append(d);
    }
    let root = tree.root();
    let index = 765_432;
    let leaf = history::leaf_hash(&leaves[index as usize]);
    let proof = tree.inclusion_proof(index, SIZE).unwrap();
    g.bench_with_input(
        BenchmarkId::new("verify_inclusion", SIZE),
        &proof,
        |b, proof| {
            b.iter(|| {
                history::verify_inclusion(black_box(&leaf), index, SIZE, black_box(proof), &root)
                    .unwrap()
            })
        },
    );
    let old = 345_678;
    let old_root = tree.root_at(old).unwrap();
    let cproof = tree.consistency_proof(old, SIZE).unwrap();
    g.bench_with_input(
        BenchmarkId::new("verify_consistency", SIZE),
        &cproof,
        |b, cproof| {
            b.iter(|| {
                history::verify_consistency(old, SIZE, black_box(cproof), &old_root, &root).unwrap()
            })
        },
    );
    g.bench_function(BenchmarkId::new("inclusion_proof", SIZE), |b| {
        b.iter(|| tree.inclusion_proof(black_box(index), SIZE).unwrap())
    });
    g.finish();
}

/// Signing and opening (verifying and parsing) one checkpoint note.
fn snapshot(c: &mut Criterion) {
    let signer = Signer::new("bench.example/log", &[0x42; 32]).unwrap();
    let key = signer.verifier_key();
    let cp = Checkpoint {
        origin: "bench.example/log".into(),
        size: 1_000_000,
        history_root: [1; 32],
        hyper_root: [2; 32],
        event_digest: Some([3; 32]),
    };
    let note = signer.sign(&cp);
    let mut g = c.benchmark_group("snapshot");
    g.bench_function("sign", |b| b.iter(|| signer.sign(black_box(&cp))));
    g.bench_function("open", |b| b.iter(|| open(black_box(&note), &key).unwrap()));
    let key_text = key.to_string();
    g.bench_function("parse_verifier_key", |b| {
        b.iter(|| qed_core::snapshot::VerifierKey::parse(black_box(&key_text)).unwrap())
    });
    g.finish();
}

/// A whole receipt check (signature + inclusion proof) and a membership check, on a log of
/// 100,000 events: what every client pays per answer.
fn answers(c: &mut Criterion) {
    use qed_core::log::MemoryLog;
    use qed_core::receipt::verify_receipt;
    use qed_core::verify::verify_membership;
    let signer = Signer::new("bench.example/log", &[0x42; 32]).unwrap();
    let key = signer.verifier_key();
    let mut log = MemoryLog::new(signer);
    let events: Vec<_> = (0..100_000u64)
        .map(|i| qed_core::hash::digest(&i.to_be_bytes()))
        .collect();
    for chunk in events.chunks(10_000) {
        log.commit(chunk).unwrap();
    }
    let receipt = log.receipt(54_321, events[54_321], false).unwrap();
    let membership = log.membership(&events[54_321], None).unwrap();
    let mut g = c.benchmark_group("answers");
    g.bench_function("verify_receipt_100k", |b| {
        b.iter(|| verify_receipt(black_box(&receipt), &key).unwrap())
    });
    g.bench_function("verify_membership_100k", |b| {
        b.iter(|| verify_membership(black_box(&membership), None, &key, &events[54_321]).unwrap())
    });
    g.finish();
}

/// The hyper tree: batch inserts and proofs in a map of one million random keys, in memory.
mod hyper {
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    use criterion::{BatchSize, Criterion, Throughput};
    use qed_core::Hash;
    use qed_core::hyper::{self, MemoryStore, Page, PageId, PageStore, insert_batch};

    use crate::common::{key, keys, map};

    const MAP: u64 = 1_000_000;
    const BATCH: u64 = 1_000;

    fn batch(from: u64) -> Vec<(Hash, u64)> {
        keys(from, BATCH)
    }

    /// A store serving pages as a disk store would: decoded from bytes, in the compact form
    /// (no node hashes) or in the form that keeps them.
    struct Disk<'a> {
        store: &'a MemoryStore,
        with_hashes: bool,
    }

    impl PageStore for Disk<'_> {
        type Error = std::convert::Infallible;
        fn page(&self, id: &PageId) -> Result<Option<Page>, Self::Error> {
            Ok(self.store.page(id)?.and_then(|p| {
                let bytes = if self.with_hashes {
                    p.to_bytes_with_hashes()
                } else {
                    p.to_bytes()
                };
                Page::from_bytes(&bytes).ok()
            }))
        }
    }

    /// Prints the hash calls per key of batches into the million-key map (the design's cost).
    fn report_hash_calls(store: &MemoryStore) {
        let mut calls = 0;
        let mut pages = 0;
        for round in 0..20 {
            let changes =
                insert_batch(store, &batch(MAP + round * BATCH)).expect("in-memory insert");
            calls += changes.hash_calls;
            pages += changes.pages.len();
        }
        let disk = |with_hashes| {
            let store = Disk { store, with_hashes };
            insert_batch(&store, &batch(MAP))
                .expect("in-memory insert")
                .hash_calls as f64
                / BATCH as f64
        };
        eprintln!(
            "hyper: batches of {BATCH} into 1M: {:.2} hash calls/key ({:.2} with pages decoded \
             from the compact form, {:.2} from the form with hashes), {:.2} pages written/key",
            calls as f64 / (20 * BATCH) as f64,
            disk(false),
            disk(true),
            pages as f64 / (20 * BATCH) as f64,
        );
    }

    /// Best and median times of `runs` runs of `f` on the run's index (the best one is the
    /// least disturbed by other processes on a shared machine). What `f` returns is dropped
    /// after the clock stops, as criterion does with a routine's output.
    fn best_and_median<R>(runs: usize, mut f: impl FnMut(usize) -> R) -> (Duration, Duration) {
        let mut times: Vec<Duration> = (0..runs)
            .map(|run| {
                let start = Instant::now();
                let output = f(run);
                let elapsed = start.elapsed();
                drop(black_box(output));
                elapsed
            })
            .collect();
        times.sort();
        (times[0], times[runs / 2])
    }

    /// Keys per second of batch inserts, and their cost in SHA-256 64-byte hashes, from the
    /// least disturbed runs (criterion's means below include whatever else the machine runs).
    fn report_best(store: &MemoryStore) {
        let input = [7u8; 64];
        let (sha, sha_median) = best_and_median(200, |_| {
            for _ in 0..1000 {
                black_box(qed_core::hash::digest(black_box(&input)));
            }
        });
        let sha_ns = sha.as_nanos() as f64 / 1000.0;
        // The keys are made before timing: only `insert_batch` is measured.
        let batches: Vec<_> = (1..=100).map(|i| batch(5 * MAP + i * BATCH)).collect();
        let (insert, insert_median) = best_and_median(batches.len(), |i| {
            insert_batch(store, &batches[i]).expect("in-memory insert")
        });
        let per_key_ns = insert.as_nanos() as f64 / BATCH as f64;
        eprintln!(
            "hyper: best of 100 batches: {:.0} keys/s ({:.0} ns/key, median {:.0}); sha256/64B best \
             {sha_ns:.0} ns (median {:.0}); one key costs {:.1} sha256/64B",
            1e9 / per_key_ns,
            per_key_ns,
            insert_median.as_nanos() as f64 / BATCH as f64,
            sha_median.as_nanos() as f64 / 1000.0,
            per_key_ns / sha_ns,
        );
    }

    pub fn benches(c: &mut Criterion) {
        let (l, r) = ([1u8; 32], [2u8; 32]);
        c.bench_function("hyper/leaf_hash", |b| {
            b.iter(|| hyper::leaf_hash(black_box(&l), black_box(7)))
        });
        c.bench_function("hyper/interior_hash", |b| {
            b.iter(|| hyper::interior_hash(black_box(&l), black_box(&r)))
        });
        let mut store = map(MAP);
        report_hash_calls(&store);
        report_best(&store);
        let mut g = c.benchmark_group("hyper");
        g.sample_size(20).measurement_time(Duration::from_secs(6));

        // Computing a batch's changes (reads, hashes, new pages), store unchanged.
        g.throughput(Throughput::Elements(BATCH));
        let mut next = MAP;
        g.bench_function("insert_1000_into_1M", |b| {
            b.iter_batched(
                || {
                    next += BATCH;
                    batch(next)
                },
                |batch| insert_batch(&store, &batch).expect("in-memory insert"),
                BatchSize::SmallInput,
            )
        });
        let probe: Vec<Hash> = (0..10_000).map(|i| key(i * 97 % MAP)).collect();
        let root = hyper::root(&store).expect("root");

        g.throughput(Throughput::Elements(1));
        let mut i = 0;
        g.bench_function("prove_member_1M", |b| {
            b.iter(|| {
                i = (i + 1) % probe.len();
                hyper::prove(&store, black_box(&probe[i])).expect("prove")
            })
        });
        let cold = Disk {
            store: &store,
            with_hashes: false,
        };
        g.bench_function("prove_member_1M_cold_pages", |b| {
            b.iter(|| {
                i = (i + 1) % probe.len();
                hyper::prove(&cold, black_box(&probe[i])).expect("prove")
            })
        });
        let proofs: Vec<_> = probe
            .iter()
            .take(1000)
            .map(|k| hyper::prove(&store, k).expect("prove"))
            .collect();
        g.bench_function("verify_member_1M", |b| {
            b.iter(|| {
                i = (i + 1) % proofs.len();
                hyper::verify(&root, &probe[i], black_box(&proofs[i])).expect("verify")
            })
        });

        // The whole in-memory insert: compute and store. The map grows by 1,000 keys per
        // iteration (to about 1.3M over the run).
        g.throughput(Throughput::Elements(BATCH));
        g.sample_size(10)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        let mut next = 10 * MAP;
        g.bench_function("insert_apply_1000_into_1M", |b| {
            b.iter_batched(
                || {
                    next += BATCH;
                    batch(next)
                },
                |batch| {
                    let changes = insert_batch(&store, &batch).expect("in-memory insert");
                    store.apply_owned(changes);
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

criterion_group!(benches, sha256_64, history_benches, snapshot, answers);
criterion_group!(hyper_benches, hyper::benches);
criterion_main!(benches, hyper_benches);
