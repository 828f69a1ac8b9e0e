//! What the deep hyper tree's storage costs per event at 10M events at the very least, in the
//! node's RocksDB state database (docs/BENCHMARKS.md, nineteenth session). Not the node's tree:
//! the floor under its layout, and under any layout that reads and rewrites a bucket of leaves
//! per event.
//!
//! At 10 million events the pages at depth 20 are about a million records of some 400 bytes
//! (nine or ten leaves each), and a random new event has to read one of them and write it back
//! changed. This bench stores `QED_FLOOR_BUCKETS` records (default 1,048,576, one per 20-bit
//! bucket) of `QED_FLOOR_RECORD` bytes (default 400) in the hyper column family of the node's
//! own state database ([`StateDir`], with the budget the node's default `--cache-mib` gives
//! RocksDB: a 48 MiB block cache and 48 MiB of memtables), then runs events in groups of 16,000
//! (the size of the node's flushed sets at 10M): one batched point lookup per group that does
//! not fill the block cache, as the node's writer does, and the rewritten records added as one
//! table file through [`StateDb::ingest`], as the node's flushes add theirs. Nothing else: no
//! hashing, no upper pages, no HTTP. It prints the CPU time of all the process's threads per
//! event (the lookups and writes, RocksDB's compactions) after a warm-up long enough for the
//! runs to reach their steady sizes; then the same number of events once more without the
//! writes, for the lookups' share; and both in SHA-256 64-byte hashes timed in the same run, the
//! core benches' baseline.
//!
//! ```text
//! cargo bench -p qed-server --bench floor
//! QED_FLOOR_EVENTS=4000000 cargo bench -p qed-server --bench floor   # a longer measured run
//! ```

use std::hint::black_box;
use std::time::Instant;

use qed_server::state_machine::DEFAULT_CACHE_MIB;
use qed_server::storage::db::{CF_HYPER, DbBudget, StateDb, StateDir};
use rocksdb::ReadOptions;

mod common;
use common::{cpu_seconds, proc_value};

const GROUP: usize = 16_000;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: the buckets the events land in, and the records' bytes.
struct Random(u64);

impl Random {
    /// A value in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// The events' side of the bench: the buckets they land in and the stamp of each rewrite.
struct Events<'a> {
    state: &'a StateDb,
    buckets: u64,
    random: Random,
    stamp: u64,
}

impl Events<'_> {
    /// Runs `n` events in groups, writing the rewritten records back when `write` is set;
    /// returns the CPU seconds and the wall seconds they took.
    fn run(&mut self, n: u64, write: bool) -> (f64, f64) {
        let cf = self.state.cf(CF_HYPER).expect("the hyper column family");
        let mut read = ReadOptions::default();
        read.fill_cache(false);
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        let mut done = 0;
        while done < n {
            // A table file takes its keys in order, once each, as a flush's pages are.
            let mut keys: Vec<[u8; 8]> = (0..GROUP)
                .map(|_| self.random.below(self.buckets).to_be_bytes())
                .collect();
            keys.sort_unstable();
            keys.dedup();
            let values = self
                .state
                .db()
                .batched_multi_get_cf_opt(cf, &keys, true, &read);
            let mut records = Vec::with_capacity(keys.len());
            for (key, value) in keys.iter().zip(values) {
                let mut record = value
                    .expect("lookup")
                    .expect("every bucket exists")
                    .to_vec();
                self.stamp += 1;
                record[..8].copy_from_slice(&self.stamp.to_be_bytes());
                records.push((key, record));
            }
            if write {
                self.state.ingest(CF_HYPER, records).expect("write");
            }
            done += GROUP as u64;
        }
        (cpu_seconds() - cpu0, wall0.elapsed().as_secs_f64())
    }
}

/// Waits (a minute at most) until RocksDB runs no flush or compaction, so that the lookups
/// measured alone do not pay for the merges of the writes before them.
fn settle(state: &StateDb) {
    let busy = |name| {
        let value = state.db().property_int_value(name);
        value.ok().flatten().unwrap_or(0) > 0
    };
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while Instant::now() < deadline
        && (busy("rocksdb.num-running-compactions") || busy("rocksdb.num-running-flushes"))
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The run's baseline: the best time, in nanoseconds, of one SHA-256 of 64 bytes (the core
/// benches' unit), so that the figures can be quoted as ratios on a shared machine.
fn sha256_ns() -> f64 {
    let input = [7u8; 64];
    (0..200)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..1000 {
                black_box(qed_core::hash::digest(black_box(&input)));
            }
            start.elapsed().as_nanos() as f64 / 1000.0
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no arguments of its own.
    let buckets = setting("QED_FLOOR_BUCKETS", 1 << 20).max(1);
    // Each rewrite stamps the record's first 8 bytes.
    let record = setting("QED_FLOOR_RECORD", 400).max(8) as usize;
    let events = setting("QED_FLOOR_EVENTS", 2_000_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    // The node's default split of `--cache-mib`: an eighth each (`LedgerOptions`).
    let eighth = (DEFAULT_CACHE_MIB << 20) / 8;
    let budget = DbBudget {
        block_cache: eighth,
        write_buffers: eighth,
    };
    let state = StateDir::new(dir.path(), budget)
        .and_then(|d| d.open_active())
        .expect("open the state database");

    let start = Instant::now();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    for first in (0..buckets).step_by(GROUP) {
        let records = (first..(first + GROUP as u64).min(buckets)).map(|b| {
            // Incompressible bytes, as keys and hashes are.
            let value: Vec<u8> = (0..record).map(|_| random.below(256) as u8).collect();
            (b.to_be_bytes(), value)
        });
        state.ingest(CF_HYPER, records).expect("fill");
    }
    eprintln!(
        "filled {buckets} records of {record} bytes in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let mut events_of = Events {
        state: &state,
        buckets,
        random,
        stamp: 0,
    };
    let warm = buckets.max(1_000_000);
    let (cpu, wall) = events_of.run(warm, true);
    eprintln!(
        "warm-up: {warm} events, {:.0} events/s, {:.2} µs of CPU per event",
        warm as f64 / wall,
        cpu / warm as f64 * 1e6
    );
    let io = || {
        let own = |key| proc_value("../thread-self/io", key);
        [
            proc_value("io", "syscr:"),
            proc_value("io", "rchar:"),
            own("syscr:"),
            own("rchar:"),
        ]
    };
    let before = io();
    let (cpu, wall) = events_of.run(events, true);
    let per = |x: f64| x / events as f64;
    let read = io()
        .iter()
        .zip(before)
        .map(|(a, b)| per(a.saturating_sub(b) as f64))
        .collect::<Vec<_>>();
    settle(&state);
    let (lookups, _) = events_of.run(events, false);
    let sha = sha256_ns();
    let in_sha = |cpu: f64| per(cpu) * 1e9 / sha;
    println!(
        "floor: {events} events over {buckets} records of {record} bytes: {:.0} events/s, \
         {:.2} µs of CPU per event (all threads), {:.2} reads and {:.0} bytes read per event \
         ({:.2} and {:.0} by the lookups' thread), {} MiB resident",
        events as f64 / wall,
        per(cpu) * 1e6,
        read[0],
        read[1],
        read[2],
        read[3],
        proc_value("status", "VmRSS:") / 1024,
    );
    println!(
        "baseline sha256/64B {sha:.0} ns: lookups and writes {:.0} sha256/64B per event, the \
         same lookups alone {:.0} ({:.2} µs of CPU per event)",
        in_sha(cpu),
        in_sha(lookups),
        per(lookups) * 1e6,
    );
}
