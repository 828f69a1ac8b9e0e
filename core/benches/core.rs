//! Criterion benchmarks of the proof core (see docs/BENCHMARKS.md).
use criterion::{Criterion, criterion_group, criterion_main};

fn sha256_64(c: &mut Criterion) {
    let input = [7u8; 64];
    c.bench_function("sha256/64B", |b| {
        b.iter(|| qed_core::hash::digest(std::hint::black_box(&input)))
    });
}

criterion_group!(benches, sha256_64);
criterion_main!(benches);
