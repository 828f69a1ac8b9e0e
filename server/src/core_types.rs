//! The qed-core types the server hands out, in one place.
//!
//! While the core's snapshot, receipt and verify modules are being finished these come from the
//! temporary stand-ins in `state_machine`; once merged, this file re-exports qed-core directly.

pub use crate::state_machine::stub_core::{IncrementalAnswer, MembershipAnswer, Receipt, Signer, SnapshotJson};
