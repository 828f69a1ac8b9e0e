// The one trusted key of every target: the signer behind the seed corpus.
use qed_core::snapshot::{Signer, VerifierKey};

pub const ORIGIN: &str = "fuzz.example/log";

pub fn key() -> VerifierKey {
    Signer::new(ORIGIN, &[0x5a; 32]).expect("valid origin").verifier_key()
}
