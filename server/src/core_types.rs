//! The qed-core types the server hands out, in one place.

pub use qed_core::receipt::Receipt;
pub use qed_core::snapshot::{Signer, SnapshotJson};
pub use qed_core::verify::{IncrementalAnswer, MembershipAnswer};
