//! Receipts read from c2sp.org/tlog-proof text: parsing and verifying never panic, and a
//! parsed receipt writes back to text that parses to the same receipt.
#![no_main]
use libfuzzer_sys::fuzz_target;
use qed_core::receipt::{Receipt, verify_receipt};

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else { return };
    if let Ok(r) = Receipt::from_tlog_proof(text, Some(&[7; 32])) {
        let _ = verify_receipt(&r, &common::key());
        let again = Receipt::from_tlog_proof(&r.to_tlog_proof(), None);
        assert_eq!(again.as_ref().map(|x| &x.proof), Ok(&r.proof));
    }
});
