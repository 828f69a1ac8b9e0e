//! Criterion benchmarks of the proof core (see docs/BENCHMARKS.md).
use criterion::{Criterion, criterion_group, criterion_main};
use qed_core::snapshot::{Checkpoint, Signer, open};
use std::hint::black_box;

fn sha256_64(c: &mut Criterion) {
    let input = [7u8; 64];
    c.bench_function("sha256/64B", |b| {
        b.iter(|| qed_core::hash::digest(std::hint::black_box(&input)))
    });
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

criterion_group!(benches, sha256_64, snapshot);
criterion_main!(benches);
