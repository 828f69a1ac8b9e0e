//! The native side of the receipt-verification benchmark (wasm-verifier/BENCHMARKS.md): the same
//! work the WebAssembly `verifyReceipt` does, timed in native Rust, and the input for the Node
//! side (js-tests/bench.mjs).
//!
//! ```text
//! cargo run --release -p qed-verifier --example native_bench -- OUT_DIR [CALLS]
//! ```
//!
//! Builds a 100,000-event log (`MemoryLog`), takes the receipt of version 54,321 (an inclusion
//! proof of 17 hashes), writes `OUT_DIR/bench.json` (verifier key, receipt JSON text, event) and
//! times CALLS (default 10,000) verifications:
//! - `parse + verify`: JSON text to `Receipt` (serde) and `verify_receipt` (Ed25519 signature of
//!   the snapshot note, note and checkpoint parsing, the RFC 9162 inclusion proof) — what the
//!   export does with a JSON text;
//! - `verify only`: `verify_receipt` on an already parsed receipt.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use qed_core::hash::digest;
use qed_core::log::MemoryLog;
use qed_core::receipt::{Receipt, verify_receipt};
use qed_core::snapshot::{Signer, VerifierKey};

const EVENTS: u64 = 100_000;
const VERSION: u64 = 54_321;

/// Nanoseconds this thread has run on a CPU (first field of /proc/thread-self/schedstat).
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: native_bench OUT_DIR [CALLS]")?);
    let calls: u32 = args.next().map_or(Ok(10_000), |a| a.parse())?;
    std::fs::create_dir_all(&out)?;

    let signer = Signer::new("example.com/qed-bench", &[0x42; 32])?;
    let key_text = signer.verifier_key().to_string();
    let mut log = MemoryLog::new(signer);
    let digests: Vec<_> = (0..EVENTS)
        .map(|i| digest(format!("event {i}").as_bytes()))
        .collect();
    log.commit(&digests)?;
    let event = format!("event {VERSION}");
    let receipt = log.receipt(VERSION, digest(event.as_bytes()), false)?;
    let text = qed_core::json::to_string(&receipt);
    let bench = serde_json::json!({
        "verifierKey": key_text, "receipt": text, "event": event,
        "events": EVENTS, "version": VERSION, "proofHashes": receipt.proof.len(),
    });
    std::fs::write(
        out.join("bench.json"),
        serde_json::to_string_pretty(&bench)?,
    )?;

    let key = VerifierKey::parse(&key_text)?;
    // The machine may be shared: besides the wall-clock mean over all calls, report the fastest
    // of 20 equal batches (what an idle core gives) and the CPU time per call (the thread's
    // on-CPU time from /proc, which other processes do not inflate; Linux only).
    let time = |label: &str, f: &dyn Fn() -> bool| {
        for _ in 0..calls / 20 {
            assert!(f());
        }
        let per = calls.div_ceil(20);
        let (mut best, mut total) = (f64::INFINITY, 0.0);
        let cpu0 = cpu_ns();
        for _ in 0..20 {
            let start = Instant::now();
            for _ in 0..per {
                assert!(black_box(f()));
            }
            let secs = start.elapsed().as_secs_f64();
            total += secs;
            best = best.min(secs * 1e6 / f64::from(per));
        }
        let n = f64::from(per * 20);
        let mean = total * 1e6 / n;
        let cpu = match (cpu0, cpu_ns()) {
            (Some(a), Some(b)) => format!("{:6.1}", (b - a) as f64 / 1e3 / n),
            _ => "  n/a".to_string(),
        };
        println!(
            "native {label:<16} mean {mean:6.1} µs, best batch {best:6.1} µs, CPU {cpu} µs per call ({} calls)",
            per * 20
        );
    };
    time("parse + verify", &|| {
        let r: Receipt = qed_core::json::from_str(black_box(&text)).expect("receipt");
        verify_receipt(&r, &key).is_ok()
    });
    time("verify only", &|| {
        verify_receipt(black_box(&receipt), &key).is_ok()
    });
    println!(
        "(log of {EVENTS} events, receipt of version {VERSION}, {} proof hashes; input written to {})",
        receipt.proof.len(),
        out.join("bench.json").display()
    );
    Ok(())
}
