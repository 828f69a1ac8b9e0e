//! Page identifiers: a depth (a multiple of 4) and the key prefix that leads to the page.

use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;

use super::page::{DecodeError, MAX_PAGE_DEPTH, PAGE_BITS};
use crate::Hash;

/// The 4 key bits below `depth` (a multiple of 4), as a position 0..16.
pub(super) fn nibble(key: &Hash, depth: u8) -> u8 {
    // `depth / 8` is at most 31: always inside the key.
    let byte = key[usize::from(depth / 8)];
    if depth.is_multiple_of(8) {
        byte >> 4
    } else {
        byte & 0x0f
    }
}

/// The first `bits` bits of `key`, the others zero.
fn mask_prefix(key: &Hash, bits: u16) -> Hash {
    let mut out = [0u8; 32];
    let full = usize::from(bits / 8);
    for (o, k) in out.iter_mut().zip(key).take(full) {
        *o = *k;
    }
    let rest = bits % 8;
    if let (Some(o), Some(k)) = (out.get_mut(full), key.get(full))
        && rest > 0
    {
        *o = k & (0xffu8 << (8 - rest));
    }
    out
}

/// Names a page: its depth (a multiple of 4, from 0 to [`MAX_PAGE_DEPTH`]) and the first `depth`
/// bits of every key below it.
///
/// Ids are ordered by depth, then prefix; so are their [`PageId::to_bytes`] encodings.
///
/// ```
/// use qed_core::hyper::PageId;
/// let key = [0xab; 32];
/// let id = PageId::new(12, &key).unwrap();
/// assert_eq!(id.prefix()[..2], [0xab, 0xa0]);
/// assert_eq!(PageId::from_bytes(&id.to_bytes()), Ok(id));
/// assert!(PageId::ROOT < id);
/// ```
#[derive(Clone, Copy, Eq, Debug)]
pub struct PageId {
    depth: u8,
    prefix: Hash,
}

impl PageId {
    /// The root page (depth 0).
    pub const ROOT: PageId = PageId {
        depth: 0,
        prefix: [0; 32],
    };

    /// The page at `depth` on the path of `key`; `None` when `depth` is not a multiple of 4 at
    /// most [`MAX_PAGE_DEPTH`].
    pub fn new(depth: u8, key: &Hash) -> Option<PageId> {
        if !depth.is_multiple_of(PAGE_BITS) || depth > MAX_PAGE_DEPTH {
            return None;
        }
        Some(PageId {
            depth,
            prefix: mask_prefix(key, u16::from(depth)),
        })
    }

    /// The page's depth: that of its root node.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The first `depth` bits of every key below the page; the other bits are zero.
    pub fn prefix(&self) -> &Hash {
        &self.prefix
    }

    /// Whether `key` lies below this page (starts with its prefix).
    pub fn contains(&self, key: &Hash) -> bool {
        super::shares_prefix(key, &self.prefix, usize::from(self.depth))
    }

    /// The bottom position (0..16) on the path of `key`: its 4 bits below the page's depth.
    pub fn position(&self, key: &Hash) -> u8 {
        nibble(key, self.depth)
    }

    /// The page below bottom position `position`; `None` below the deepest pages or for a
    /// position over 15.
    pub fn child(&self, position: u8) -> Option<PageId> {
        if position > 15 || self.depth >= MAX_PAGE_DEPTH {
            return None;
        }
        let mut prefix = self.prefix;
        let byte = prefix.get_mut(usize::from(self.depth / 8))?;
        *byte |= if self.depth.is_multiple_of(8) {
            position << 4
        } else {
            position
        };
        Some(PageId {
            depth: self.depth + PAGE_BITS,
            prefix,
        })
    }

    /// The page above and this page's position in it; `None` for the root.
    pub fn parent(&self) -> Option<(PageId, u8)> {
        let depth = self.depth.checked_sub(PAGE_BITS)?;
        Some((
            PageId {
                depth,
                prefix: mask_prefix(&self.prefix, u16::from(depth)),
            },
            nibble(&self.prefix, depth),
        ))
    }

    /// Stable encoding: the depth byte, then the prefix's first `ceil(depth / 8)` bytes. Byte
    /// order of encodings is the order of `(depth, prefix)`, so they can key a sorted store.
    pub fn to_bytes(&self) -> Vec<u8> {
        let len = usize::from(self.depth.div_ceil(8));
        let mut out = Vec::with_capacity(1 + len);
        out.push(self.depth);
        out.extend_from_slice(self.prefix.get(..len).unwrap_or(&self.prefix));
        out
    }

    /// Decodes [`PageId::to_bytes`]; rejects any other bytes (wrong length, bad depth, bits set
    /// beyond the depth), so each page has exactly one encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<PageId, DecodeError> {
        let (&depth, rest) = bytes.split_first().ok_or(DecodeError("empty page id"))?;
        if !depth.is_multiple_of(PAGE_BITS) || depth > MAX_PAGE_DEPTH {
            return Err(DecodeError("page depth is not a multiple of 4 up to 252"));
        }
        if rest.len() != usize::from(depth.div_ceil(8)) {
            return Err(DecodeError("page id length does not match its depth"));
        }
        let mut prefix = [0u8; 32];
        for (p, b) in prefix.iter_mut().zip(rest) {
            *p = *b;
        }
        if mask_prefix(&prefix, u16::from(depth)) != prefix {
            return Err(DecodeError("page id has bits set below its depth"));
        }
        Ok(PageId { depth, prefix })
    }
}

impl PartialEq for PageId {
    /// Same depth and prefix (compared as words: this runs in every store lookup).
    fn eq(&self, other: &PageId) -> bool {
        self.depth == other.depth && words(&self.prefix) == words(&other.prefix)
    }
}

impl core::hash::Hash for PageId {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        state.write_u8(self.depth);
        state.write(&self.prefix);
    }
}

impl Ord for PageId {
    /// By depth, then prefix: the order of the encodings. Compares the prefix as four
    /// big-endian words, which is the byte order and much cheaper than a byte loop in the
    /// comparisons of a sorted map.
    fn cmp(&self, other: &PageId) -> Ordering {
        self.depth
            .cmp(&other.depth)
            .then_with(|| words(&self.prefix).cmp(&words(&other.prefix)))
    }
}

impl PartialOrd for PageId {
    fn partial_cmp(&self, other: &PageId) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A key as four big-endian words (same order as its bytes).
fn words(key: &Hash) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (w, chunk) in out.iter_mut().zip(key.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        *w = u64::from_be_bytes(bytes);
    }
    out
}

impl fmt::Display for PageId {
    /// `depth/hex prefix`, e.g. `12/aba`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/", self.depth)?;
        let hex = crate::hash::to_hex(&self.prefix);
        f.write_str(hex.get(..usize::from(self.depth / 4)).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyper::PAGE_ID_MAX_LEN;

    #[test]
    fn ids_children_parents() {
        let key = [0xab; 32];
        let root = PageId::ROOT;
        let c = root.child(root.position(&key)).unwrap();
        assert_eq!(c, PageId::new(4, &key).unwrap());
        let g = c.child(c.position(&key)).unwrap();
        assert_eq!(g.prefix()[0], 0xab);
        assert_eq!(g.parent(), Some((c, 0xb)));
        assert_eq!(c.parent(), Some((root, 0xa)));
        assert_eq!(root.parent(), None);
        assert!(g.contains(&key));
        assert!(!g.contains(&[0; 32]));
        let deepest = PageId::new(252, &key).unwrap();
        assert_eq!(deepest.child(0), None);
        assert_eq!(root.child(16), None);
        assert_eq!(PageId::new(3, &key), None);
        assert_eq!(PageId::new(253, &key), None);
        assert_eq!(deepest.position(&key), 0xb);
        assert_eq!(alloc::format!("{g}"), "8/ab");
    }

    #[test]
    fn order_is_depth_then_prefix_bytes() {
        let mut ids = alloc::vec::Vec::new();
        for depth in [0u8, 4, 8, 64, 68, 252] {
            for first in [0u8, 1, 0x80, 0xff] {
                let mut key = [0x5a; 32];
                key[0] = first;
                key[8] = first; // decides between ids equal in their first word
                ids.push(PageId::new(depth, &key).unwrap());
            }
        }
        for a in &ids {
            for b in &ids {
                assert_eq!(a.cmp(b), (a.depth, a.prefix).cmp(&(b.depth, b.prefix)));
                assert_eq!(a.cmp(b), a.to_bytes().cmp(&b.to_bytes()));
            }
        }
    }

    #[test]
    fn id_encoding_is_canonical() {
        assert_eq!(PageId::ROOT.to_bytes(), [0]);
        assert_eq!(PageId::new(4, &[0xff; 32]).unwrap().to_bytes(), [4, 0xf0]);
        assert!(PageId::from_bytes(&[4, 0xf1]).is_err());
        assert!(PageId::from_bytes(&[4]).is_err());
        assert!(PageId::from_bytes(&[4, 0xf0, 0]).is_err());
        assert!(PageId::from_bytes(&[2, 0]).is_err());
        assert!(PageId::from_bytes(&[]).is_err());
        let deep = PageId::new(252, &[0xff; 32]).unwrap();
        assert_eq!(deep.to_bytes().len(), PAGE_ID_MAX_LEN);
        assert_eq!(PageId::from_bytes(&deep.to_bytes()), Ok(deep));
    }
}
