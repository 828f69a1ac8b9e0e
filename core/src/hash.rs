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
    let (pairs, []) = s.as_bytes().as_chunks::<2>() else {
        return None;
    };
    if pairs.len() != 32 {
        return None;
    }
    let mut out = [0u8; 32];
    // Invalid characters map to a value with the top bit set: one test at the end instead of a
    // branch per character (answers carry dozens of hashes, parsed on every read).
    let mut invalid = 0u8;
    for (o, [hi, lo]) in out.iter_mut().zip(pairs) {
        let (h, l) = (NIBBLE[usize::from(*hi)], NIBBLE[usize::from(*lo)]);
        invalid |= h | l;
        *o = (h << 4) | (l & 0x0f);
    }
    (invalid & 0x80 == 0).then_some(out)
}

/// Formats a hash as 64 lowercase hex characters, the form every JSON object uses.
pub fn to_hex(h: &Hash) -> alloc::string::String {
    alloc::string::String::from(HexDigits::new(h).as_str())
}

/// The 64 lowercase hex characters of a hash, on the stack: for writers that copy them anyway
/// (JSON serialization), so that no `String` is allocated per hash.
pub(crate) struct HexDigits([u8; 64]);

impl HexDigits {
    pub(crate) fn new(h: &Hash) -> HexDigits {
        let mut out = [0u8; 64];
        for (digits, bytes) in out
            .as_chunks_mut::<8>()
            .0
            .iter_mut()
            .zip(h.as_chunks::<4>().0)
        {
            *digits = hex_word(u32::from_be_bytes(*bytes));
        }
        HexDigits(out)
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and letters were written.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The 8 lowercase hex digits of `x`, most significant first, computed on all of them at once
/// in one 64-bit word (a table lookup per digit was 10 % of a node's instructions per membership
/// answer, which carries about 40 hashes).
fn hex_word(x: u32) -> [u8; 8] {
    // Spread the 8 nibbles into the 8 bytes of a word, in order: 0xABCD_EF01 -> 0x0A0B_0C0D_0E0F_0001.
    let mut v = u64::from(x);
    v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
    v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    // Each byte n becomes '0' + n, plus the gap from ':' to 'a' when n is 10 or more (n + 6
    // reaches 16 exactly then; no byte carries into the next).
    let letters = ((v + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (v + 0x3030_3030_3030_3030 + letters * 0x27).to_be_bytes()
}

/// The value of each byte as a hex digit (either case), or `0xff` for a byte that is not one.
const NIBBLE: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = match c as u8 {
            b'0'..=b'9' => c as u8 - b'0',
            b'a'..=b'f' => c as u8 - b'a' + 10,
            b'A'..=b'F' => c as u8 - b'A' + 10,
            _ => 0xff,
        };
        c += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_of_every_byte_in_every_position() {
        for start in 0..=224u8 {
            let mut h = [0u8; 32];
            for (i, b) in h.iter_mut().enumerate() {
                *b = start.wrapping_add(i as u8).wrapping_mul(37);
            }
            let expected: alloc::string::String =
                h.iter().map(|b| alloc::format!("{b:02x}")).collect();
            assert_eq!(to_hex(&h), expected);
        }
        // Every byte value reaches every position of a 4-byte word.
        for b in 0..=255u8 {
            for shift in [0, 8, 16, 24] {
                let word = u32::from(b) << shift;
                assert_eq!(
                    hex_word(word),
                    *alloc::format!("{word:08x}")
                        .as_bytes()
                        .first_chunk::<8>()
                        .unwrap()
                );
            }
        }
    }

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
        // One bad character anywhere, an odd length, one character too many.
        for bad in ['g', ' ', '\0', ':', '`', 'G', '/', '@'] {
            for at in [0, 31, 63] {
                let mut s = to_hex(&h).into_bytes();
                s[at] = bad as u8;
                assert_eq!(
                    from_hex(core::str::from_utf8(&s).unwrap()),
                    None,
                    "{bad:?} at {at}"
                );
            }
        }
        assert_eq!(from_hex(&"0".repeat(63)), None);
        assert_eq!(from_hex(&"0".repeat(65)), None);
    }
}
