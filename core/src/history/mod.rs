//! The history tree: the RFC 9162 section 2.1 Merkle tree over event digests (protocol
//! section 2).
//!
//! - Hashing: [`leaf_hash`] (`SHA-256(0x00 || d)`), [`node_hash`] (`SHA-256(0x01 || l || r)`),
//!   [`EMPTY_ROOT`] (`SHA-256("")`).
//! - Verification, for clients: [`verify_inclusion`] and [`verify_consistency`] (RFC 9162
//!   2.1.3.2 and 2.1.4.2, including the rejection of proofs of the wrong length), and the
//!   root-returning forms [`root_from_inclusion_proof`] and [`root_from_consistency_proof`].
//! - Generation, for the server: [`root`], [`inclusion_proof`] and [`consistency_proof`] over
//!   any [`NodeSource`], a store of complete-subtree hashes. They read O(log n) nodes, listed in
//!   advance by [`inclusion_proof_nodes`] and [`consistency_proof_nodes`] for batched reads.
//! - Appending: [`Frontier`], the right edge of the tree kept in memory, which reports every
//!   node it completes so the caller can store it.
//! - [`MemoryTree`]: all of it in memory.
//!
//! Nothing here recurses or panics, whatever the sizes, indexes or proofs (up to `u64::MAX`).

mod frontier;
mod generate;
mod hashing;
mod memory;
mod verify;

pub use frontier::Frontier;
pub use generate::{
    MissingNode, NodeId, NodeSource, ProofError, RangeError, consistency_proof,
    consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes, root, root_nodes,
};
pub use hashing::{EMPTY_ROOT, leaf_hash, leaf_hash_bytes, node_hash};
pub use memory::MemoryTree;
pub use verify::{
    consistency_proof_len, inclusion_proof_len, root_from_consistency_proof,
    root_from_inclusion_proof, verify_consistency, verify_inclusion,
};
