//! The end-to-end tests, in one test binary (each binary is linked anew by every test build):
//! every test starts real `qed` processes on loopback (see the crate documentation).
//!
//! - `cluster`: Raft clusters of `qed start` processes: joins, authentication, fail-over, catch-up;
//! - `crash`: `kill -9` under load, and what survives it;
//! - `e2e`: one node, every answer verified, `qed client` and `qed workload`;
//! - `restart`: state, roots and the next version across a clean restart;
//! - `seed`: the seed document's cluster walkthrough, as written.

mod cluster;
mod crash;
mod e2e;
mod restart;
mod seed;
