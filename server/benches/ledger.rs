//! Ledger benchmarks on a real RocksDB database.
//!
//! First fills a ledger with `QED_BENCH_EVENTS` events (default 1,000,000) in groups of 1,000
//! digests and prints the figures of the fill: events per second, the bytes of the write
//! batches, the bytes the process wrote to disk (WAL, flushes and compactions, from
//! `/proc/self/io`), hash calls and pages per event, resident memory, and the rate of
//! membership proofs from one and two threads. Then criterion measures, on that ledger,
//! applying one more group of 1,000 and generating one membership proof.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-server cargo bench -p qed-server --bench ledger
//! QED_BENCH_EVENTS=100000 cargo bench -p qed-server --bench ledger   # quicker
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qed_core::Hash;
use qed_core::snapshot::Signer;
use qed_server::state_machine::{Ledger, LedgerOptions, LedgerReader};

mod common;
use common::{cpu_seconds, proc_value};

const GROUP: u64 = 1000;

fn d(i: u64) -> Hash {
    qed_core::hash::digest(&i.to_le_bytes())
}

fn events() -> u64 {
    std::env::var("QED_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn fill(ledger: &mut Ledger, n: u64) {
    let reader = ledger.reader();
    let disk0 = proc_value("io", "write_bytes:");
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut lap = Instant::now();
    let mut next = 0;
    while next < n {
        let end = (next + GROUP).min(n);
        let group: Vec<Hash> = (next..end).map(d).collect();
        ledger.apply(&group, &next.to_be_bytes()).expect("apply");
        next = end;
        if next % 200_000 == 0 {
            let rate = 200_000.0 / lap.elapsed().as_secs_f64();
            eprintln!("  {next:>9} events, last 200k at {rate:>9.0} events/s");
            lap = Instant::now();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    ledger.flush().expect("flush");
    let disk = proc_value("io", "write_bytes:") - disk0;
    let s = reader.stats();
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    eprintln!(
        "fill: {n} events in groups of {GROUP}: {secs:.1} s, {:.0} events/s; CPU {cpu:.1} s, \
         {:.1} µs/event ({:.0} events per CPU second)",
        n as f64 / secs,
        cpu * 1e6 / n as f64,
        n as f64 / cpu
    );
    eprintln!(
        "  write batches {:.0} MB ({:.0} B/event); disk writes {:.0} MB ({:.0} B/event); SST {:.0} MB",
        mb(s.batch_bytes),
        s.batch_bytes as f64 / n as f64,
        mb(disk),
        disk as f64 / n as f64,
        mb(s.sst_bytes)
    );
    eprintln!(
        "  hyper: {:.1} hash calls/event, {:.2} pages written/event; page cache {} pages, {:.0} MB; \
         tile cache {:.0} MB; block cache {:.0} MB; memtables {:.0} MB; RSS {:.0} MB",
        s.hyper_hash_calls as f64 / n as f64,
        s.pages_written as f64 / n as f64,
        s.page_cache_pages,
        mb(s.page_cache_bytes),
        mb(s.tile_cache_bytes),
        mb(s.block_cache_bytes),
        mb(s.memtable_bytes),
        proc_value("status", "VmRSS:") as f64 / 1024.0
    );
}

/// Membership proofs per second from `threads` threads over `secs` seconds.
fn membership_rate(reader: &LedgerReader, n: u64, threads: u64, secs: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (reader, stop, done) = (reader.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    black_box(reader.membership(&d(x % n), None).expect("membership"));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let cpu0 = cpu_seconds();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("thread");
    }
    let cpu = cpu_seconds() - cpu0;
    let count = done.load(Ordering::Relaxed) as f64;
    eprintln!("  ({:.1} µs CPU per proof)", cpu * 1e6 / count);
    count / secs
}

fn ledger_benches(c: &mut Criterion) {
    let n = events();
    let dir = tempfile::tempdir().expect("tempdir");
    let signer = Signer::new("bench.example/qed", &[1; 32]).expect("signer");
    let mut ledger = Ledger::open(dir.path(), signer, LedgerOptions::default()).expect("open");
    fill(&mut ledger, n);
    let reader = ledger.reader();
    for threads in [1, 2] {
        let rate = membership_rate(&reader, n, threads, 3.0);
        eprintln!("membership proofs at {n} events, {threads} thread(s): {rate:.0}/s");
    }

    let mut group = c.benchmark_group("ledger");
    group.sample_size(20);
    group.throughput(Throughput::Elements(GROUP));
    let mut next = n;
    group.bench_function(format!("apply {GROUP} new digests at {n} events"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let digests: Vec<Hash> = (next..next + GROUP).map(d).collect();
                next += GROUP;
                let start = Instant::now();
                black_box(ledger.apply(&digests, b"bench").expect("apply"));
                total += start.elapsed();
            }
            total
        })
    });
    group.throughput(Throughput::Elements(1));
    let reader = ledger.reader();
    let mut x = 1u64;
    group.bench_function(format!("membership proof at {n} events"), |b| {
        b.iter(|| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            black_box(reader.membership(&d(x % n), None).expect("membership"))
        })
    });
    group.bench_function(format!("receipt (inclusion proof) at {n} events"), |b| {
        let latest = reader.latest().expect("latest");
        b.iter(|| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            black_box(reader.leaf(x % n).expect("leaf"));
            black_box(&latest);
        })
    });
    group.finish();
}

criterion_group!(benches, ledger_benches);
criterion_main!(benches);
