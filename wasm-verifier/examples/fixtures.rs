//! Writes the answers of a QED log as its server would send them, for the JavaScript tests of
//! the npm package (wasm-verifier/test.sh generates them at test time; they are not committed).
//!
//! ```text
//! cargo run -p qed-verifier --example fixtures -- OUT_DIR [EVENTS]
//! ```
//!
//! The log is a `qed_core::log::MemoryLog` — the code the server answers with — holding EVENTS
//! (default 8) events `"event 0"`, `"event 1"`, ... each added in its own commit, so that every
//! size has a signed snapshot, exactly as a server fed one `POST /events` at a time. It writes
//! `OUT_DIR/fixtures.json`:
//!
//! - `verifierKey`, `otherKey` (same name, another key), `origin`, `events`;
//! - `receipts`: digest → receipt JSON text; `tlogProofs`: the same receipts as tlog-proof text;
//! - `membership`: `"<digest>@<version>"` and `"<digest>@latest"` → membership answer text, for
//!   every event and version, and for a digest never added (`absent`);
//! - `incremental`: `"<start>-<end>"` → incremental answer text, for every pair;
//! - `snapshots`: size → signed snapshot JSON text (what a snapshot store holds);
//! - `checkpoint`: the latest signed note.

use std::collections::BTreeMap;
use std::path::PathBuf;

use qed_core::hash::{digest, to_hex};
use qed_core::log::MemoryLog;
use qed_core::snapshot::Signer;
use serde_json::{Value, json};

const ORIGIN: &str = "example.com/qed-fixtures";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: fixtures OUT_DIR [EVENTS]")?);
    let n: u64 = args.next().map_or(Ok(8), |a| a.parse())?;
    std::fs::create_dir_all(&out)?;

    let signer = Signer::new(ORIGIN, &[0x5a; 32])?;
    let key = signer.verifier_key().to_string();
    let other = Signer::new(ORIGIN, &[0x5b; 32])?.verifier_key().to_string();
    let mut log = MemoryLog::new(signer);
    let events: Vec<String> = (0..n).map(|i| format!("event {i}")).collect();
    for e in &events {
        log.commit(&[digest(e.as_bytes())])?;
    }

    let mut receipts = BTreeMap::new();
    let mut tlog_proofs = BTreeMap::new();
    let mut membership = BTreeMap::new();
    for (i, e) in (0..n).zip(&events) {
        let d = digest(e.as_bytes());
        let receipt = log.receipt(i, d, false)?;
        receipts.insert(to_hex(&d), text(&receipt));
        tlog_proofs.insert(to_hex(&d), receipt.to_tlog_proof());
        membership.insert(
            format!("{}@latest", to_hex(&d)),
            text(&log.membership(&d, None)?),
        );
        for q in 0..n {
            membership.insert(
                format!("{}@{q}", to_hex(&d)),
                text(&log.membership(&d, Some(q))?),
            );
        }
    }
    let absent = digest(b"never added");
    membership.insert(
        format!("{}@latest", to_hex(&absent)),
        text(&log.membership(&absent, None)?),
    );
    for q in 0..n {
        membership.insert(
            format!("{}@{q}", to_hex(&absent)),
            text(&log.membership(&absent, Some(q))?),
        );
    }
    let mut incremental = BTreeMap::new();
    let mut snapshots = BTreeMap::new();
    for start in 0..n {
        for end in start..n {
            incremental.insert(
                format!("{start}-{end}"),
                text(&log.incremental(start, end)?),
            );
        }
        if let Some(s) = log.snapshot_at(start + 1) {
            snapshots.insert((start + 1).to_string(), text(s));
        }
    }
    let fixtures: Value = json!({
        "origin": ORIGIN,
        "verifierKey": key,
        "otherKey": other,
        "events": events,
        "absent": to_hex(&absent),
        "receipts": receipts,
        "tlogProofs": tlog_proofs,
        "membership": membership,
        "incremental": incremental,
        "snapshots": snapshots,
        "checkpoint": log.latest().checkpoint,
    });
    let path = out.join("fixtures.json");
    std::fs::write(&path, serde_json::to_string_pretty(&fixtures)?)?;
    println!("wrote {} ({n} events)", path.display());
    Ok(())
}

/// An answer's JSON text exactly as the server writes it (qed-core's serde types).
fn text<T: serde::Serialize>(value: &T) -> String {
    qed_core::json::to_string(value)
}
