//! # qed-server
//!
//! The QED server: the [`state_machine`] (the Ledger: history and hyper trees in RocksDB, see
//! [`storage`]), [`consensus`] (openraft, the Raft log, group commit, the management API), the
//! public HTTP [`api`], signing [`keys`], [`telemetry`], and the [`node`] that wires them
//! together for the `qed` binary.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod cli;
pub mod consensus;
pub mod core_types;
pub mod keys;
pub mod node;
pub mod state_machine;
pub mod storage;
pub mod telemetry;
