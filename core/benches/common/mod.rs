//! What the benches share: random keys, and maps of them built in memory.
use std::time::Instant;

use qed_core::Hash;
use qed_core::hyper::{MemoryStore, insert_batch};

/// The `i`-th random key (a digest), with the same keys in every bench.
pub fn key(i: u64) -> Hash {
    qed_core::hash::digest(&i.to_be_bytes())
}

/// The keys `from..from + len`, each with its index as the version.
pub fn keys(from: u64, len: u64) -> Vec<(Hash, u64)> {
    (from..from + len).map(|i| (key(i), i)).collect()
}

/// A map of the first `size` keys, built with one batch; says how long that took.
pub fn map(size: u64) -> MemoryStore {
    let start = Instant::now();
    let mut store = MemoryStore::new();
    let changes = insert_batch(&store, &keys(0, size)).expect("in-memory insert");
    store.apply_owned(changes);
    eprintln!(
        "hyper: built {size} keys in {:?}, {} pages",
        start.elapsed(),
        store.len()
    );
    store
}
