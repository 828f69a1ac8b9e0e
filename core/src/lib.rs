//! # qed-core
//!
//! The proof core of QED, a tamper-evident log. Everything here is shared by the native
//! programs (server, agents, command-line client) and by the WebAssembly verifier, so it is
//! `no_std` (with `alloc`), free of `unsafe`, and never panics on input from outside.
//!
//! The protocol it implements is `docs/PROTOCOL.md` (a copy of the binding contract):
//!
//! - [`history`]: the RFC 9162 Merkle tree over event digests — roots, inclusion
//!   (membership) and consistency (incremental) proofs, their generation over a storage
//!   trait and their verification.
//! - [`hyper`]: the sparse Merkle tree mapping each digest to the version at which it was
//!   first added, with member and non-member proofs.
//! - [`snapshot`]: signed checkpoints (C2SP signed-note + tlog-checkpoint), Ed25519 signing,
//!   verifier-key strings.
//! - [`receipt`] and [`verify`]: the answers of the API and the one-call verifiers that take
//!   the trusted verifier key and return a verdict.
//! - [`log`]: building those answers from any storage, and [`log::MemoryLog`], a log in memory.
//! - `json` (feature `serde`): the JSON objects of the API.
//!
//! Feature `precomputed-tables` gives Ed25519 curve25519-dalek's precomputed basepoint tables:
//! signing in about 0.57x the time and verification in 0.87x, for a larger binary. The native
//! programs turn it on; the WebAssembly verifier leaves it off.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod error;
pub mod hash;
pub mod history;
pub mod hyper;
#[cfg(feature = "serde")]
pub mod json;
pub mod log;
pub mod receipt;
pub mod snapshot;
pub mod verify;

pub use error::VerifyError;
pub use hash::Hash;
