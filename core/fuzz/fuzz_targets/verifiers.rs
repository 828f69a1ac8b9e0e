//! The proof verifiers over raw bytes: sizes, indexes and proofs of any shape, including
//! u64 extremes, are rejected or accepted without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use qed_core::{Hash, history, hyper};

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, x) in data.iter().skip(at).take(8).enumerate() {
        b[i] = *x;
    }
    u64::from_le_bytes(b)
}

fn hashes(data: &[u8]) -> Vec<Hash> {
    data.chunks_exact(32).map(|c| c.try_into().unwrap()).collect()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 17 {
        return;
    }
    let (a, b) = (u64_at(data, 0), u64_at(data, 8));
    let selector = data[16];
    let rest = &data[17..];
    let list = hashes(rest);
    let first = list.first().copied().unwrap_or([0; 32]);
    let second = list.get(1).copied().unwrap_or([1; 32]);
    match selector % 3 {
        0 => {
            let _ = history::verify_inclusion(&first, a, b, &list, &second);
            let _ = history::root_from_inclusion_proof(&first, a, b, &list);
        }
        1 => {
            let _ = history::verify_consistency(a, b, &list, &first, &second);
        }
        _ => {
            let stop = if selector & 0x80 == 0 {
                hyper::Stop::Empty
            } else {
                hyper::Stop::Leaf { key: second, version: a }
            };
            let proof = hyper::Proof { siblings: list.iter().skip(2).copied().collect(), stop };
            let _ = hyper::verify(&first, &second, &proof);
            if let Ok(page) = hyper::Page::from_bytes(rest) {
                assert_eq!(hyper::Page::from_bytes(&page.to_bytes()), Ok(page));
            }
        }
    }
});
