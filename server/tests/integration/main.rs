//! The server's integration tests, in one test binary: each test binary links RocksDB and the
//! whole server, which took a test build about 45 s per binary that sccache cannot cache.
//!
//! - `api`: the HTTP API of docs/API.md through the router, every success path and 4xx case;
//! - `cluster`: a two-node cluster in one process;
//! - `consensus`: the Raft log store and group commit;
//! - `ledger`: the state machine against real RocksDB databases;
//! - `common`: the helpers the others share.

mod api;
mod cluster;
mod common;
mod consensus;
mod ledger;
