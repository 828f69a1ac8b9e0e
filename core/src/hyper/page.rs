//! Pages: four binary levels of the tree, read and written as one unit.
//!
//! Inside a page, binary nodes are numbered like a heap: node 1 is the page's root (the tree
//! node at the page's depth), nodes `2i` and `2i + 1` are the left and right children of node
//! `i`, and nodes 16 to 31 are the 16 bottom positions (position `p` is node `16 + p`, and `p` is
//! the 4 key bits below the page's depth, read as a number with the first bit most significant).
//! A set of positions is a `u16` with bit `p` set for position `p`.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use super::{EMPTY, Hasher, PageId};
use crate::Hash;

/// Key bits spanned by one page: a page is a 16-way node made of four binary levels.
pub const PAGE_BITS: u8 = 4;

/// Depth of the deepest pages: their bottom positions sit at depth 256, the whole key.
pub const MAX_PAGE_DEPTH: u8 = 252;

/// Longest byte encoding of a [`PageId`]: its depth and the 32 bytes of its prefix.
pub const PAGE_ID_MAX_LEN: usize = 33;

/// First byte of the compact page encoding (entries only).
const PAGE_FORMAT: u8 = 1;

/// First byte of the page encoding that also carries the node hashes.
const PAGE_FORMAT_WITH_HASHES: u8 = 2;

/// The positions under each heap node (index 0 unused).
const RANGE: [u16; 32] = ranges();

const fn ranges() -> [u16; 32] {
    let mut out = [0u16; 32];
    let mut node = 1;
    while node < 32 {
        let level = 31 - (node as u32).leading_zeros();
        let span = 1u32 << (4 - level);
        let start = (node as u32 - (1 << level)) * span;
        out[node] = (((1u32 << span) - 1) << start) as u16;
        node += 1;
    }
    out
}

/// The set bits of `mask` strictly below bit `bit` (for positions 0..16 or nodes 0..16).
fn count_below(mask: u16, bit: usize) -> usize {
    let below = ((1u32 << bit.min(16)) - 1) as u16;
    (mask & below).count_ones() as usize
}

/// Why bytes could not be decoded as a [`PageId`] or a [`Page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed hyper page encoding: {0}")]
pub struct DecodeError(pub &'static str);

/// What a page holds at one of its 16 bottom positions (an absent entry is an empty subtree).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Entry {
    /// Exactly one leaf lies below the position (it is stored here whatever depth it
    /// logically sits at).
    Leaf {
        /// The leaf's key (an event digest).
        key: Hash,
        /// Its value: the version at which the digest was first added.
        version: u64,
    },
    /// Two or more leaves lie below: the root hash of the child page.
    Subtree(Hash),
}

impl Entry {
    /// The hash of the subtree at this position: the leaf's hash, or the child page's root.
    pub fn hash(&self) -> Hash {
        match self {
            Entry::Leaf { key, version } => super::leaf_hash(key, *version),
            Entry::Subtree(h) => *h,
        }
    }
}

/// How a node inside a page is hashed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Node {
    /// No entry below: [`EMPTY`].
    Empty,
    /// Exactly one leaf below, stored at this position: its leaf hash.
    Single(u8),
    /// Two or more leaves below (several entries, or a child page): an interior hash, or for a
    /// bottom position, the child page's root.
    Branch,
}

/// Which positions hold entries, and which of those are child pages: all that decides how each
/// node of a page is hashed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
struct Shape {
    occupied: u16,
    subtrees: u16,
}

impl Shape {
    fn classify(self, node: usize) -> Node {
        let range = RANGE.get(node).copied().unwrap_or(0);
        let occupied = self.occupied & range;
        if occupied == 0 {
            Node::Empty
        } else if self.subtrees & range != 0 || occupied.count_ones() > 1 {
            Node::Branch
        } else {
            Node::Single(occupied.trailing_zeros() as u8)
        }
    }

    /// The heap nodes 1..16 with two or more leaves below (bit `i` for node `i`).
    fn branches(self) -> u16 {
        let mut mask = 0u16;
        for node in 1..16 {
            if self.classify(node) == Node::Branch {
                mask |= 1 << node;
            }
        }
        mask
    }

    fn entries(self) -> usize {
        self.occupied.count_ones() as usize
    }

    fn leaves(self) -> usize {
        (self.occupied & !self.subtrees).count_ones() as usize
    }
}

/// One 16-way node of the tree: the entries at its 16 bottom positions (see the module docs).
///
/// Equality and the byte encoding consider the entries only. A page may also carry the hashes of
/// its nodes ([`Page::has_hashes`]); they are derived from the entries, never encoded, and save
/// recomputing them. The content is shared and immutable, so cloning a page is cheap.
///
/// ```
/// use qed_core::hyper::{Entry, Page, leaf_hash};
/// let key = [0x70; 32]; // first bits 0111: position 7 of the root page
/// let page = Page::from_entries([(7, Entry::Leaf { key, version: 3 })]).unwrap();
/// assert_eq!(page.root_hash(), leaf_hash(&key, 3));
/// assert_eq!(Page::from_bytes(&page.to_bytes()), Ok(page));
/// ```
#[derive(Clone, Default)]
pub struct Page {
    shape: Shape,
    /// Heap nodes 1..16 with two or more leaves below.
    branches: u16,
    /// Whether `data` holds the node hashes.
    hashed: bool,
    /// One allocation: per entry (by position) the leaf's key or the child page's root; the
    /// leaves' versions, four per slot (big-endian); then, when `hashed`, the hash of each leaf
    /// and the hash of each branch node (by ascending node).
    data: Arc<[Hash]>,
}

impl PartialEq for Page {
    fn eq(&self, other: &Page) -> bool {
        self.shape == other.shape
            && self.data.get(..self.entry_slots()) == other.data.get(..other.entry_slots())
    }
}

impl Eq for Page {}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Page {
    /// A page without entries.
    pub fn new() -> Page {
        Page::default()
    }

    /// A page from `(position, entry)` pairs in any order; fails on a position over 15 or a
    /// position given twice. The page carries no node hashes.
    pub fn from_entries<I: IntoIterator<Item = (u8, Entry)>>(
        entries: I,
    ) -> Result<Page, DecodeError> {
        let mut slots: [Option<Entry>; 16] = [None; 16];
        for (pos, entry) in entries {
            let slot = slots
                .get_mut(usize::from(pos))
                .ok_or(DecodeError("position over 15"))?;
            if slot.replace(entry).is_some() {
                return Err(DecodeError("position given twice"));
            }
        }
        let mut b = Builder::default();
        for (pos, entry) in (0u8..).zip(slots) {
            if let Some(e) = entry {
                b.push(pos, e, None);
            }
        }
        Ok(b.finish(None))
    }

    /// Number of entries (non-empty positions).
    pub fn len(&self) -> usize {
        self.shape.entries()
    }

    /// Whether no position holds an entry.
    pub fn is_empty(&self) -> bool {
        self.shape.occupied == 0
    }

    /// The entry at `position`, if any.
    pub fn get(&self, position: u8) -> Option<Entry> {
        let bit = 1u16.checked_shl(u32::from(position))?;
        if self.shape.occupied & bit == 0 {
            return None;
        }
        let slot = self.slot(count_below(self.shape.occupied, usize::from(position)));
        if self.shape.subtrees & bit != 0 {
            return Some(Entry::Subtree(slot));
        }
        let leaf_rank = count_below(self.leaf_bits(), usize::from(position));
        Some(Entry::Leaf {
            key: slot,
            version: self.version(leaf_rank),
        })
    }

    /// Whether `position` holds a child page (reads no entry).
    pub(super) fn is_subtree(&self, position: u8) -> bool {
        1u16.checked_shl(u32::from(position))
            .is_some_and(|bit| self.shape.subtrees & bit != 0)
    }

    /// The positions holding a child page (bit `p` for position `p`).
    pub(super) fn subtree_positions(&self) -> u16 {
        self.shape.subtrees
    }

    /// The positions holding a leaf.
    fn leaf_bits(&self) -> u16 {
        self.shape.occupied & !self.shape.subtrees
    }

    /// The key or child page root of the entry of rank `rank` (its index among the entries).
    fn slot(&self, rank: usize) -> Hash {
        self.data.get(rank).copied().unwrap_or(EMPTY)
    }

    /// The version of the leaf of leaf rank `leaf_rank` (its index among the leaves).
    fn version(&self, leaf_rank: usize) -> u64 {
        let at = leaf_rank % 4 * 8;
        let packed = self
            .data
            .get(self.len() + leaf_rank / 4)
            .and_then(|slot| slot.get(at..at + 8));
        let mut word = [0u8; 8];
        if let Some(bytes) = packed {
            word.copy_from_slice(bytes);
        }
        u64::from_be_bytes(word)
    }

    /// The cached hash of the leaf at `position`, if the page carries its hashes.
    pub(super) fn cached_leaf_hash(&self, position: u8) -> Option<Hash> {
        let leaves = self.shape.occupied & !self.shape.subtrees;
        let bit = 1u16.checked_shl(u32::from(position))?;
        if leaves & bit == 0 {
            return None;
        }
        self.cached_leaf(count_below(leaves, usize::from(position)))
    }

    /// The cached hash of the leaf of leaf rank `leaf_rank` (its index among the leaves).
    fn cached_leaf(&self, leaf_rank: usize) -> Option<Hash> {
        if !self.hashed {
            return None;
        }
        self.data.get(self.entry_slots() + leaf_rank).copied()
    }

    /// The `(position, entry)` pairs by ascending position.
    pub fn iter(&self) -> impl Iterator<Item = (u8, Entry)> + '_ {
        (0u8..16).filter_map(|p| self.get(p).map(|e| (p, e)))
    }

    /// Whether the page carries its node hashes (pages built by [`super::insert_batch`] do;
    /// decoded pages do not until [`Page::compute_hashes`]).
    pub fn has_hashes(&self) -> bool {
        self.hashed
    }

    /// Computes and keeps the hashes of the page's nodes, so that later inserts and proofs that
    /// read this value do not recompute them. Useful for a store's cache of hot pages.
    pub fn compute_hashes(&mut self) {
        if !self.hashed {
            *self = self.updated(&[None; 16], 0, &mut Hasher::default());
        }
    }

    /// The hash of the page's root node: the tree node at the page's depth.
    pub fn root_hash(&self) -> Hash {
        self.node_hash(1, &mut Hasher::default())
    }

    /// Reads one byte per cache line of the page's content, which brings it into the cache;
    /// the loads of several pages overlap (see `MemoryStore::pages`).
    pub(super) fn touch(&self) -> u8 {
        self.data
            .iter()
            .step_by(2)
            .fold(0, |acc, slot| acc ^ slot[0])
    }

    /// Reads the first byte of the page's content, which brings its first cache line (with
    /// the shared allocation's reference counts) into the cache (see `MemoryStore::pages`).
    pub(super) fn touch_head(&self) -> u8 {
        self.data.first().map_or(0, |slot| slot[0])
    }

    /// Slots holding the entries and the leaves' versions (four to a slot).
    fn entry_slots(&self) -> usize {
        self.len() + self.shape.leaves().div_ceil(4)
    }

    /// How heap node `node` (1..32) is hashed.
    pub(super) fn classify(&self, node: usize) -> Node {
        self.shape.classify(node)
    }

    /// The hash of the entry at `position`: a child page's root, or a leaf's hash from the
    /// cache or computed.
    fn entry_hash(&self, position: u8, h: &mut Hasher) -> Hash {
        match self.get(position) {
            None => EMPTY,
            Some(Entry::Subtree(root)) => root,
            Some(Entry::Leaf { key, version }) => match self.cached_leaf_hash(position) {
                Some(hash) => hash,
                None => h.leaf(&key, version),
            },
        }
    }

    /// The hash of heap node `node` (1..32). Uses the cache when present; otherwise computes
    /// only this node's subtree, so a proof pays for the siblings it needs and nothing else.
    pub(super) fn node_hash(&self, node: usize, h: &mut Hasher) -> Hash {
        match self.classify(node) {
            Node::Empty => EMPTY,
            Node::Single(pos) => self.entry_hash(pos, h),
            Node::Branch if node >= 16 => self.entry_hash((node & 15) as u8, h),
            Node::Branch => match self.cached_branch(node) {
                Some(cached) => cached,
                None => {
                    let left = self.node_hash(2 * node, h);
                    let right = self.node_hash(2 * node + 1, h);
                    h.interior(&left, &right)
                }
            },
        }
    }

    fn cached_branch(&self, node: usize) -> Option<Hash> {
        if !self.hashed {
            return None;
        }
        let index = self.entry_slots() + self.shape.leaves() + count_below(self.branches, node);
        self.data.get(index).copied()
    }

    /// This page with the entries of `changes` set (the positions in `changed`; each new entry
    /// comes with its hash), carrying all its node hashes. When this page carries its hashes,
    /// only the nodes above a changed position are recomputed.
    pub(super) fn updated(
        &self,
        changes: &[Option<(Entry, Hash)>; 16],
        changed: u16,
        h: &mut Hasher,
    ) -> Page {
        let mut b = Builder::default();
        let (mut rank, mut leaf_rank) = (0, 0);
        for (pos, change) in (0u8..16).zip(changes) {
            let bit = 1u16 << pos;
            let (was, was_subtree) = (
                self.shape.occupied & bit != 0,
                self.shape.subtrees & bit != 0,
            );
            match change {
                Some((entry, hash)) => b.push(pos, *entry, Some(*hash)),
                // Unchanged: copy the slot, and the version and hash of a leaf.
                None if was => {
                    let slot = self.slot(rank);
                    if was_subtree {
                        b.push_subtree(pos, slot);
                    } else {
                        let version = self.version(leaf_rank);
                        let hash = match self.cached_leaf(leaf_rank) {
                            Some(hash) => hash,
                            None => h.leaf(&slot, version),
                        };
                        b.push_leaf(pos, slot, version, hash);
                    }
                }
                None => {}
            }
            if was {
                rank += 1;
                if !was_subtree {
                    leaf_rank += 1;
                }
            }
        }
        let shape = b.shape;
        let branches = shape.branches();
        let mut inner = [EMPTY; 16];
        for node in (1..16usize).rev() {
            if branches & (1 << node) == 0 {
                continue;
            }
            let unchanged = changed & RANGE[node] == 0;
            inner[node] = match self.cached_branch(node).filter(|_| unchanged) {
                Some(cached) => cached,
                None => {
                    let left = b.child_hash(2 * node, &inner);
                    let right = b.child_hash(2 * node + 1, &inner);
                    h.interior(&left, &right)
                }
            };
        }
        b.finish(Some(&inner))
    }

    /// Checks that the page can sit at `id` in a canonical tree: every leaf lies below its own
    /// position, the deepest pages have no child pages, and a page other than the root holds two
    /// or more leaves (one leaf would be stored in the parent instead). The error says what is
    /// wrong. Reads through a [`super::PageStore`] run it unless the store vouches for its pages
    /// ([`super::PageStore::checked`]).
    pub fn check(&self, id: &PageId) -> Result<(), &'static str> {
        let mut rank = 0;
        for pos in 0u8..16 {
            let bit = 1u16 << pos;
            if self.shape.occupied & bit == 0 {
                continue;
            }
            if self.shape.subtrees & bit == 0 {
                let key = self.data.get(rank).ok_or("a page lost an entry")?;
                if !id.contains(key) || id.position(key) != pos {
                    return Err("a leaf is stored under a position that is not on its path");
                }
            }
            rank += 1;
        }
        if id.depth() == MAX_PAGE_DEPTH && self.shape.subtrees != 0 {
            return Err("a page at depth 252 points to a child page");
        }
        if *id != PageId::ROOT && self.classify(1) != Node::Branch {
            return Err("a page below the root holds fewer than two leaves");
        }
        Ok(())
    }

    /// Stable, compact encoding: a format byte (1), the occupied and subtree position sets
    /// (2 bytes each, big-endian, bit `p` for position `p`), then per entry by ascending
    /// position: a leaf's key and `be64` version (40 bytes), or a child page's root (32 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode(PAGE_FORMAT)
    }

    /// The encoding of [`Page::to_bytes`] with format byte 2, followed by the page's node
    /// hashes (32 bytes per leaf entry, then per node with two or more leaves below, by node):
    /// a page decoded from it carries its hashes, so inserts and proofs do not recompute them,
    /// for about twice the bytes of a dense page. The hashes are taken on trust when decoded:
    /// use it only for a store's own data.
    pub fn to_bytes_with_hashes(&self) -> Vec<u8> {
        let computed;
        let page = if self.hashed {
            self
        } else {
            computed = {
                let mut p = self.clone();
                p.compute_hashes();
                p
            };
            &computed
        };
        let mut out = page.encode(PAGE_FORMAT_WITH_HASHES);
        for hash in page.data.get(page.entry_slots()..).unwrap_or(&[]) {
            out.extend_from_slice(hash);
        }
        out
    }

    fn encode(&self, format: u8) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + 40 * self.len());
        out.push(format);
        out.extend_from_slice(&self.shape.occupied.to_be_bytes());
        out.extend_from_slice(&self.shape.subtrees.to_be_bytes());
        for (_, entry) in self.iter() {
            match entry {
                Entry::Leaf { key, version } => {
                    out.extend_from_slice(&key);
                    out.extend_from_slice(&version.to_be_bytes());
                }
                Entry::Subtree(h) => out.extend_from_slice(&h),
            }
        }
        out
    }

    /// Decodes [`Page::to_bytes`] or [`Page::to_bytes_with_hashes`] from untrusted bytes: any
    /// other input is an error, never a panic. Only the second form gives a page that carries
    /// its node hashes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Page, DecodeError> {
        let (&format, rest) = bytes.split_first().ok_or(DecodeError("empty page"))?;
        if format != PAGE_FORMAT && format != PAGE_FORMAT_WITH_HASHES {
            return Err(DecodeError("unknown page format"));
        }
        let (occupied, rest) = rest
            .split_first_chunk::<2>()
            .ok_or(DecodeError("truncated page header"))?;
        let (subtrees, mut rest) = rest
            .split_first_chunk::<2>()
            .ok_or(DecodeError("truncated page header"))?;
        let shape = Shape {
            occupied: u16::from_be_bytes(*occupied),
            subtrees: u16::from_be_bytes(*subtrees),
        };
        if shape.subtrees & !shape.occupied != 0 {
            return Err(DecodeError("a subtree at an empty position"));
        }
        let mut b = Builder::default();
        for pos in 0u8..16 {
            if shape.occupied & (1 << pos) == 0 {
                continue;
            }
            let (hash, tail) = rest
                .split_first_chunk::<32>()
                .ok_or(DecodeError("truncated entry"))?;
            let entry = if shape.subtrees & (1 << pos) != 0 {
                rest = tail;
                Entry::Subtree(*hash)
            } else {
                let (version, tail) = tail
                    .split_first_chunk::<8>()
                    .ok_or(DecodeError("truncated entry"))?;
                rest = tail;
                Entry::Leaf {
                    key: *hash,
                    version: u64::from_be_bytes(*version),
                }
            };
            b.push(pos, entry, None);
        }
        if format == PAGE_FORMAT {
            return match rest.is_empty() {
                true => Ok(b.finish(None)),
                false => Err(DecodeError("trailing bytes after the entries")),
            };
        }
        let truncated = DecodeError("truncated node hashes");
        for slot in b.leaf_hashes.iter_mut().take(b.leaves) {
            let (hash, tail) = rest.split_first_chunk::<32>().ok_or(truncated)?;
            *slot = *hash;
            rest = tail;
        }
        let branches = shape.branches();
        let mut inner = [EMPTY; 16];
        for (node, slot) in inner.iter_mut().enumerate() {
            if branches & (1 << node) != 0 {
                let (hash, tail) = rest.split_first_chunk::<32>().ok_or(truncated)?;
                *slot = *hash;
                rest = tail;
            }
        }
        if !rest.is_empty() {
            return Err(DecodeError("trailing bytes after the node hashes"));
        }
        Ok(b.finish(Some(&inner)))
    }
}

/// Assembles a page's single allocation from entries given by ascending position.
#[derive(Default)]
struct Builder {
    shape: Shape,
    slots: [Hash; 16],
    versions: [u64; 16],
    leaf_hashes: [Hash; 16],
    entries: usize,
    leaves: usize,
}

impl Builder {
    /// Adds the entry at `pos` (above every position added so far), with its hash if known.
    fn push(&mut self, pos: u8, entry: Entry, hash: Option<Hash>) {
        match entry {
            Entry::Leaf { key, version } => {
                self.push_leaf(pos, key, version, hash.unwrap_or(EMPTY))
            }
            Entry::Subtree(root) => self.push_subtree(pos, root),
        }
    }

    fn push_leaf(&mut self, pos: u8, key: Hash, version: u64, hash: Hash) {
        self.shape.occupied |= 1u16 << (pos & 15);
        self.slots[self.entries & 15] = key;
        self.versions[self.leaves & 15] = version;
        self.leaf_hashes[self.leaves & 15] = hash;
        self.leaves += 1;
        self.entries += 1;
    }

    fn push_subtree(&mut self, pos: u8, root: Hash) {
        let bit = 1u16 << (pos & 15);
        self.shape.occupied |= bit;
        self.shape.subtrees |= bit;
        self.slots[self.entries & 15] = root;
        self.entries += 1;
    }

    /// While computing the branch hashes: the hash of node `node`, with the entries' hashes
    /// pushed with them and the branch nodes below from `inner`.
    fn child_hash(&self, node: usize, inner: &[Hash; 16]) -> Hash {
        match self.shape.classify(node) {
            Node::Empty => EMPTY,
            Node::Single(pos) => {
                let rank =
                    count_below(self.shape.occupied & !self.shape.subtrees, usize::from(pos));
                self.leaf_hashes.get(rank).copied().unwrap_or(EMPTY)
            }
            Node::Branch if node >= 16 => self
                .slots
                .get(count_below(self.shape.occupied, node & 15))
                .copied()
                .unwrap_or(EMPTY),
            Node::Branch => inner.get(node).copied().unwrap_or(EMPTY),
        }
    }

    /// The page; with `inner` (the branch nodes' hashes, by node), a page carrying its hashes,
    /// the leaf hashes then being those given to `push`.
    fn finish(self, inner: Option<&[Hash; 16]>) -> Page {
        let n = self.entries.min(16);
        let leaves = self.leaves.min(16);
        let branches = self.shape.branches();
        let mut packed = [[0u8; 32]; 4];
        for (i, v) in self.versions.iter().take(leaves).enumerate() {
            if let Some(word) = packed
                .get_mut(i / 4)
                .and_then(|s| s.get_mut(i % 4 * 8..i % 4 * 8 + 8))
            {
                word.copy_from_slice(&v.to_be_bytes());
            }
        }
        let (mut branch_hashes, mut nb) = ([EMPTY; 15], 0);
        let hashes = match inner {
            Some(inner) => {
                for (node, hash) in inner.iter().enumerate() {
                    if branches & (1 << node) != 0
                        && let Some(slot) = branch_hashes.get_mut(nb)
                    {
                        *slot = *hash;
                        nb += 1;
                    }
                }
                leaves
            }
            None => 0,
        };
        // A chain of slices has an exact length, so the shared allocation is made once and
        // written in place (no intermediate buffer to fill and copy).
        let data: Arc<[Hash]> = self
            .slots
            .get(..n)
            .unwrap_or(&[])
            .iter()
            .chain(packed.get(..leaves.div_ceil(4)).unwrap_or(&[]))
            .chain(self.leaf_hashes.get(..hashes).unwrap_or(&[]))
            .chain(branch_hashes.get(..nb).unwrap_or(&[]))
            .copied()
            .collect();
        Page {
            shape: self.shape,
            branches,
            hashed: inner.is_some(),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyper::{interior_hash, leaf_hash};

    #[test]
    fn ranges_cover_the_heap() {
        assert_eq!(RANGE[1], 0xffff);
        assert_eq!(RANGE[2], 0x00ff);
        assert_eq!(RANGE[3], 0xff00);
        assert_eq!(RANGE[15], 0xc000);
        assert_eq!(RANGE[16], 0x0001);
        assert_eq!(RANGE[31], 0x8000);
    }

    fn leaf(first: u8, version: u64) -> Entry {
        let mut key = [0u8; 32];
        key[0] = first;
        Entry::Leaf { key, version }
    }

    #[test]
    fn entries_and_versions_are_stored() {
        let entries: Vec<(u8, Entry)> = (0u8..16)
            .map(|p| {
                if p % 3 == 0 {
                    (p, Entry::Subtree([p; 32]))
                } else {
                    (p, leaf(p << 4, u64::MAX - u64::from(p)))
                }
            })
            .collect();
        let page = Page::from_entries(entries.iter().rev().copied()).unwrap();
        assert_eq!(page.iter().collect::<Vec<_>>(), entries);
        assert_eq!(page.len(), 16);
        assert_eq!(page.get(16), None);
        let mut hashed = page.clone();
        hashed.compute_hashes();
        assert_eq!(hashed.iter().collect::<Vec<_>>(), entries);
        assert_eq!(hashed, page);
        assert_eq!(hashed.root_hash(), page.root_hash());
        let sparse = Page::from_entries([(9, leaf(0x90, 5))]).unwrap();
        assert_eq!(sparse.get(9), Some(leaf(0x90, 5)));
        assert_eq!(sparse.get(8), None);
        assert!(Page::new().is_empty());
        assert_eq!(Page::new().root_hash(), EMPTY);
    }

    #[test]
    fn hashes_of_a_small_page() {
        // Root page with leaves at positions 0 (0000) and 1 (0001): they split at depth 3.
        let (a, b) = (leaf(0x00, 1), leaf(0x10, 2));
        let page = Page::from_entries([(1, b), (0, a)]).unwrap();
        let split = interior_hash(&a.hash(), &b.hash());
        let expected = interior_hash(
            &interior_hash(&interior_hash(&split, &EMPTY), &EMPTY),
            &EMPTY,
        );
        assert_eq!(page.root_hash(), expected);
        assert_eq!(page.classify(1), Node::Branch);
        assert_eq!(page.classify(3), Node::Empty);
        assert_eq!(page.classify(16), Node::Single(0));
        let mut cached = page.clone();
        cached.compute_hashes();
        assert!(cached.has_hashes() && !page.has_hashes());
        assert_eq!(cached.root_hash(), expected);
        assert_eq!(cached, page);
        // A single subtree entry still hashes with EMPTY siblings all the way up.
        let s = Page::from_entries([(15, Entry::Subtree([9; 32]))]).unwrap();
        let expected = interior_hash(
            &EMPTY,
            &interior_hash(
                &EMPTY,
                &interior_hash(&EMPTY, &interior_hash(&EMPTY, &[9; 32])),
            ),
        );
        assert_eq!(s.root_hash(), expected);
        assert_eq!(leaf(0, 5).hash(), leaf_hash(&[0; 32], 5));
    }

    #[test]
    fn page_encoding_round_trip_and_rejects() {
        let page = Page::from_entries([(0, leaf(0x00, 1)), (9, Entry::Subtree([7; 32]))]).unwrap();
        let bytes = page.to_bytes();
        assert_eq!(bytes.len(), 5 + 40 + 32);
        assert_eq!(Page::from_bytes(&bytes), Ok(page.clone()));
        assert!(Page::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Page::from_bytes(&longer).is_err());
        let mut bad = bytes.clone();
        bad[0] = 2;
        assert!(Page::from_bytes(&bad).is_err());
        let mut bad = bytes.clone();
        bad[4] |= 0x02; // subtree flag at empty position 1
        assert!(Page::from_bytes(&bad).is_err());
        assert!(Page::from_bytes(&[]).is_err());
        assert!(Page::from_bytes(&[1, 0]).is_err());
        assert_eq!(Page::from_bytes(&[1, 0, 0, 0, 0]), Ok(Page::new()));
        assert!(Page::from_entries([(16, leaf(0, 0))]).is_err());
        assert!(Page::from_entries([(1, leaf(0, 0)), (1, leaf(0, 0))]).is_err());
    }

    #[test]
    fn encoding_with_hashes() {
        let page = Page::from_entries([
            (0, leaf(0x00, 1)),
            (1, leaf(0x10, 2)),
            (9, Entry::Subtree([7; 32])),
        ])
        .unwrap();
        let bytes = page.to_bytes_with_hashes();
        // Entries, then 2 leaf hashes and the branch nodes 1, 2, 4, 8 and 3, 6, 12 (the lone
        // subtree at position 9 makes every node above it a branch).
        assert_eq!(bytes.len(), 5 + 2 * 40 + 32 + 32 * (2 + 7));
        assert_eq!(bytes[0], 2);
        let decoded = Page::from_bytes(&bytes).unwrap();
        assert!(decoded.has_hashes());
        assert_eq!(decoded, page);
        assert_eq!(decoded.root_hash(), page.root_hash());
        assert_eq!(decoded.to_bytes_with_hashes(), bytes);
        assert_eq!(decoded.to_bytes(), page.to_bytes());
        assert!(Page::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Page::from_bytes(&longer).is_err());
        // The compact form with format byte 2 lacks its hashes.
        let mut compact = page.to_bytes();
        compact[0] = 2;
        assert!(Page::from_bytes(&compact).is_err());
        assert_eq!(
            Page::from_bytes(&Page::new().to_bytes_with_hashes()),
            Ok(Page::new())
        );
    }

    #[test]
    fn check_rejects_misplaced_pages() {
        let ok = Page::from_entries([(0, leaf(0x00, 1)), (1, leaf(0x10, 2))]).unwrap();
        assert_eq!(ok.check(&PageId::ROOT), Ok(()));
        let misplaced = Page::from_entries([(2, leaf(0x00, 1)), (1, leaf(0x10, 2))]).unwrap();
        assert!(misplaced.check(&PageId::ROOT).is_err());
        let other = PageId::new(4, &[0xf0; 32]).unwrap();
        assert!(ok.check(&other).is_err());
        let lonely = Page::from_entries([(0, leaf(0x00, 1))]).unwrap();
        assert_eq!(lonely.check(&PageId::ROOT), Ok(()));
        let child = PageId::new(4, &[0; 32]).unwrap();
        assert!(lonely.check(&child).is_err());
        let deep = PageId::new(252, &[0; 32]).unwrap();
        let sub = Page::from_entries([(0, Entry::Subtree([1; 32]))]).unwrap();
        assert!(sub.check(&deep).is_err());
    }
}
