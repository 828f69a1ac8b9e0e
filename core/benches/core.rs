//! Criterion benchmarks of the proof core (see docs/BENCHMARKS.md).
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use qed_core::history::{self, Frontier, MemoryTree};

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

criterion_group!(benches, sha256_64, history_benches);
criterion_main!(benches);
