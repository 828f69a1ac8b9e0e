//! The JSON answers a client receives: decoding and verifying never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use qed_core::json::from_str;
use qed_core::receipt::{Receipt, verify_receipt};
use qed_core::snapshot::SnapshotJson;
use qed_core::verify::{IncrementalAnswer, MembershipAnswer, verify_incremental, verify_membership};

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else { return };
    let key = common::key();
    if let Ok(r) = from_str::<Receipt>(text) {
        let _ = verify_receipt(&r, &key);
    }
    if let Ok(m) = from_str::<MembershipAnswer>(text) {
        let digest = m.digest;
        let _ = verify_membership(&m, None, &key, &digest);
        let _ = verify_membership(&m, Some(&m.snapshot), &key, &digest);
    }
    if let Ok(i) = from_str::<IncrementalAnswer>(text) {
        let _ = i.proof.len();
    }
    if let Ok(s) = from_str::<SnapshotJson>(text) {
        if let Ok(i) = from_str::<IncrementalAnswer>(text) {
            let _ = verify_incremental(&i, &s, &s, &key);
        }
        let _ = s.open(&key);
    }
});
