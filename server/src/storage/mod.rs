//! Storage of the ledger's state in RocksDB (the `-p` directory).
//!
//! One database with four column families:
//!
//! | column family | key | value |
//! |---|---|---|
//! | `history` | `'T' level be64(index)` / `'E' be64(index)` | tiles of complete-subtree hashes / bundles of 256 digests ([`tiles`]) |
//! | `hyper` | `PageId::to_bytes()` | `be64(written_at) || Page::to_bytes()` ([`pages`]) |
//! | `hyper` | `0xFF "tree"`, `0xFF "applied"` | the stored tree's size + hyper root + history frontier, and its opaque applied meta ([`meta`]) |
//! | `snapshots` | `be64(size)` | the signed snapshot of that size, as JSON |
//! | `meta` | `format` | the storage format ([`meta`]) |
//!
//! Deduplication needs no column family of its own: the hyper tree *is* the map from digest to
//! first version, and a batch insert reports the digests it already holds (see
//! `state_machine`). That saves a write and 40 bytes of storage per event, and a lookup that
//! would read the same pages the insert reads anyway.
//!
//! Every apply is one `WriteBatch` of history and snapshot (WAL on, no fsync); the hyper
//! pages and the stored tree's records go in flushes of their own, each one table file that
//! RocksDB ingests (see `state_machine` and `db::StateDb::ingest`). Memory is
//! bounded whatever the log's size: RocksDB's block cache (which also holds index and filter
//! blocks) and memtables have fixed budgets, the page cache evicts beyond its budget, the set
//! of changed pages is flushed at its threshold, and the history writer keeps only the right
//! edge (at most eight partial tiles and one bundle, about 140 KiB).

pub mod db;
pub mod export;
pub mod meta;
pub mod pages;
pub mod tiles;
