//! SHA-256 and the digest type shared by both trees.

use sha2::{Digest, Sha256};

/// A SHA-256 output: event digests, tree nodes and roots.
pub type Hash = [u8; 32];

/// `SHA-256(data)`: the digest of an event (protocol section 1).
///
/// ```
/// let d = qed_core::hash::digest(b"hello");
/// assert_eq!(d[0], 0x2c);
/// ```
pub fn digest(data: &[u8]) -> Hash {
    Sha256::digest(data).into()
}

/// `SHA-256(prefix || parts...)` without building an intermediate buffer.
pub(crate) fn tagged(prefix: u8, parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    h.update([prefix]);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// SHA-256 of a message the caller has already padded into whole blocks. The tree hashes use it
/// to skip the streaming hasher's buffering on their fixed-size inputs (about 10–20% faster).
pub(crate) fn compress_padded(blocks: &[[u8; 64]]) -> Hash {
    /// The initial SHA-256 state (FIPS 180-4 5.3.3).
    const IV: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    let mut state = IV;
    sha2::block_api::compress256(&mut state, blocks);
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Parses a 64-character hex string (either case) into a hash.
pub fn from_hex(s: &str) -> Option<Hash> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// Formats a hash as 64 lowercase hex characters, the form every JSON object uses.
pub fn to_hex(h: &Hash) -> alloc::string::String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = alloc::string::String::with_capacity(64);
    for b in h {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects() {
        let h = digest(b"abc");
        assert_eq!(
            to_hex(&h),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(from_hex(&to_hex(&h)), Some(h));
        assert_eq!(from_hex(&to_hex(&h).to_uppercase()), Some(h));
        assert_eq!(from_hex("00"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
        assert_eq!(from_hex(&"é".repeat(32)), None);
    }
}
