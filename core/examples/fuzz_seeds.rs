//! Writes the seed corpus of the fuzz targets (core/fuzz/corpus/<target>/seed-*) from a real
//! log signed by the fuzz targets' trusted key, so fuzzing starts from valid inputs.
//!
//! Run from the repository root: `cargo run -p qed-core --features serde --example fuzz_seeds`.
use std::fs;
use std::path::Path;

use qed_core::hash::digest;
use qed_core::json::to_string;
use qed_core::log::MemoryLog;
use qed_core::snapshot::Signer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let signer = Signer::new("fuzz.example/log", &[0x5a; 32])?;
    let key = signer.verifier_key().to_string();
    let mut log = MemoryLog::new(signer);
    for group in 0..6u64 {
        let events: Vec<_> = (group * 5..group * 5 + 5)
            .map(|i| digest(&i.to_be_bytes()))
            .collect();
        log.commit(&events)?;
    }
    let receipt = log.receipt(11, digest(&11u64.to_be_bytes()), false)?;
    let seeds: [(&str, Vec<String>); 4] = [
        ("note", vec![log.latest().checkpoint.clone(), key]),
        (
            "json_answers",
            vec![
                to_string(&receipt),
                to_string(&log.membership(&digest(&3u64.to_be_bytes()), Some(9))?),
                to_string(&log.membership(&digest(b"absent"), None)?),
                to_string(&log.incremental(4, 29)?),
                to_string(log.latest()),
            ],
        ),
        ("tlog_proof", vec![receipt.to_tlog_proof()]),
        ("verifiers", vec![]),
    ];
    let root = Path::new("core/fuzz/corpus");
    for (target, texts) in seeds {
        let dir = root.join(target);
        fs::create_dir_all(&dir)?;
        for (i, t) in texts.iter().enumerate() {
            fs::write(dir.join(format!("seed-{i}")), t)?;
        }
    }
    // verifiers: u64 a, u64 b, selector, then hashes (an inclusion proof of version 11 in 30).
    let mut raw = Vec::new();
    raw.extend_from_slice(&11u64.to_le_bytes());
    raw.extend_from_slice(&30u64.to_le_bytes());
    raw.push(0);
    raw.extend_from_slice(&qed_core::history::leaf_hash(&receipt.digest));
    for h in &receipt.proof {
        raw.extend_from_slice(h);
    }
    fs::write(root.join("verifiers/seed-0"), raw)?;
    println!("seeds written under {}", root.display());
    Ok(())
}
