//! How the hyper tree's insert cost grows with the tree, in memory (see docs/BENCHMARKS.md,
//! sixteenth session): batches of 16,000 keys, the size of the server's bulk groups, into maps
//! of 1,000,000 and 10,000,000 random keys. The server's 10M target compares its throughput at
//! those two sizes; this is what the insert alone does between them, with no storage at all.
//!
//! `cargo bench -p qed-core --bench growth`. The larger map takes about 10 seconds to build and
//! 2.7 GB of memory, so it is a bench of its own rather than part of `core`.
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use qed_core::Hash;
use qed_core::hyper::{MemoryStore, insert_batch};

mod common;
use common::{keys, map};

const BATCH: u64 = 16_000;

fn batch(from: u64) -> Vec<(Hash, u64)> {
    keys(from, BATCH)
}

/// Prints what a batch costs per key at this size: hash calls, pages written and their
/// encoded bytes (what a store would have to write).
fn report(store: &MemoryStore, size: u64) {
    const ROUNDS: u64 = 10;
    let (mut calls, mut pages, mut bytes) = (0, 0, 0);
    for round in 0..ROUNDS {
        let changes = insert_batch(store, &batch(size + round * BATCH)).expect("in-memory insert");
        calls += changes.hash_calls;
        pages += changes.pages.len();
        bytes += changes
            .pages
            .iter()
            .map(|(_, p)| p.to_bytes().len())
            .sum::<usize>();
    }
    let keys = (ROUNDS * BATCH) as f64;
    eprintln!(
        "growth: batches of {BATCH} into {size}: {:.2} hash calls/key, {:.2} pages/key, {:.0} \
         encoded bytes/key",
        calls as f64 / keys,
        pages as f64 / keys,
        bytes as f64 / keys,
    );
}

fn growth(c: &mut Criterion) {
    let mut g = c.benchmark_group("hyper_growth");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(BATCH));
    // One map at a time: the larger one alone takes gigabytes.
    for (label, size) in [("1M", 1_000_000), ("10M", 10_000_000)] {
        let store = map(size);
        report(&store, size);
        // Fresh keys for every batch; the map itself does not change (the changes are
        // dropped), so every batch meets a map of `size` keys.
        let mut next = size;
        g.bench_function(format!("insert_16000_into_{label}"), |b| {
            b.iter_batched(
                || {
                    next += BATCH;
                    batch(next)
                },
                |keys| insert_batch(black_box(&store), &keys).expect("in-memory insert"),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, growth);
criterion_main!(benches);
