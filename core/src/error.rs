//! The one error type of every verifier: its `Display` text is the verdict's reason.

use alloc::string::String;

/// Why a proof, note, receipt or answer was rejected.
///
/// Every verifier in this crate returns `Result<_, VerifyError>`; nothing panics on malformed
/// input. The messages are meant for people: they say what failed, not only that it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// An inclusion proof was asked for an index at or beyond the tree size.
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof between sizes in the wrong order.
    #[error("sizes out of order: {size1} > {size2}")]
    SizesOutOfOrder {
        /// The older size.
        size1: u64,
        /// The newer size.
        size2: u64,
    },
    /// A proof has a different number of hashes than its sizes require (RFC 9162).
    #[error("proof has {got} hashes, {expected} expected")]
    WrongProofLength {
        /// What the index and sizes require.
        expected: usize,
        /// What the proof holds.
        got: usize,
    },
    /// The root recomputed from a proof differs from the trusted root.
    #[error("{0} root recomputed from the proof does not match the signed root")]
    RootMismatch(&'static str),
    /// A hyper-tree proof that a canonical tree could not produce.
    #[error("hyper proof is not canonical: {0}")]
    NonCanonical(&'static str),
    /// A signed note that does not follow c2sp.org/signed-note.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// A note body that is not a QED tlog-checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A verifier key string or key file that cannot be used.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// The note carries no signature line from the trusted key (name and key ID).
    #[error("no signature by the trusted key {0}")]
    UnknownSigner(String),
    /// A signature line of the trusted key that does not verify.
    #[error("signature by {0} does not verify")]
    BadSignature(String),
    /// An answer that does not fit the question or the snapshots it is checked against.
    #[error("{0}")]
    Mismatch(String),
    /// Input that could not be decoded (JSON, hex, base64, tlog-proof text).
    #[error("malformed input: {0}")]
    Malformed(String),
}
