//! Where pages live: the [`PageStore`] trait, and an in-memory store and tree.

use alloc::vec::Vec;
use core::convert::Infallible;

use super::{Changes, EMPTY, Page, PageId, Proof, insert_batch};
use crate::Hash;

/// Read access to the pages of one version of the tree.
///
/// Every read of one operation must see the same version of the tree (on the server: one
/// RocksDB snapshot, or the state machine's committed state).
pub trait PageStore {
    /// The store's own failure (I/O, decoding).
    type Error;

    /// The page `id`, or `None` when it does not exist.
    fn page(&self, id: &PageId) -> Result<Option<Page>, Self::Error>;

    /// The pages `ids`, in order. [`super::insert_batch`] reads all the pages it needs at one
    /// depth in one call, so a store can fetch them together (RocksDB's `multi_get`, overlapped
    /// memory reads). By default, one [`PageStore::page`] call each.
    fn pages(&self, ids: &[PageId]) -> Result<Vec<Option<Page>>, Self::Error> {
        ids.iter().map(|id| self.page(id)).collect()
    }

    /// True when every page the store serves has already passed [`Page::check`] for its id:
    /// pages it built with [`super::insert_batch`] or checked when it decoded them. Tree
    /// operations then skip the check. False by default: every page read is checked.
    fn checked(&self) -> bool {
        false
    }
}

impl<S: PageStore + ?Sized> PageStore for &S {
    type Error = S::Error;

    fn page(&self, id: &PageId) -> Result<Option<Page>, Self::Error> {
        (**self).page(id)
    }

    fn pages(&self, ids: &[PageId]) -> Result<Vec<Option<Page>>, Self::Error> {
        (**self).pages(ids)
    }

    fn checked(&self) -> bool {
        (**self).checked()
    }
}

/// Why a tree operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError<E> {
    /// The store could not serve a page.
    #[error("hyper page store failed: {0}")]
    Store(E),
    /// The store served a page that a canonical tree cannot contain: a missing child page, a
    /// leaf off its path, a page below the root with fewer than two leaves.
    #[error("hyper page {page} is corrupt: {reason}")]
    Corrupt {
        /// The page.
        page: PageId,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Reads page `id` and checks that it can sit there.
pub(super) fn read_page<S: PageStore>(
    store: &S,
    id: &PageId,
) -> Result<Option<Page>, StoreError<S::Error>> {
    Ok(read_pages(store, core::slice::from_ref(id))?
        .pop()
        .flatten())
}

/// Reads pages `ids` and checks that each can sit where it is.
pub(super) fn read_pages<S: PageStore>(
    store: &S,
    ids: &[PageId],
) -> Result<Vec<Option<Page>>, StoreError<S::Error>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let pages = store.pages(ids).map_err(StoreError::Store)?;
    if pages.len() != ids.len() {
        let page = ids.first().copied().unwrap_or(PageId::ROOT);
        return Err(StoreError::Corrupt {
            page,
            reason: "the store answered for other pages",
        });
    }
    if store.checked() {
        return Ok(pages);
    }
    for (id, page) in ids.iter().zip(&pages) {
        if let Some(p) = page {
            p.check(id)
                .map_err(|reason| StoreError::Corrupt { page: *id, reason })?;
        }
    }
    Ok(pages)
}

/// A [`PageStore`] in memory. Pages keep their node hashes, so inserts and proofs hash only
/// what changed or what a proof needs.
///
/// Pages sit in a hash table: a lookup usually touches one slot, where a sorted map of a million
/// pages touched about twenty cache lines and dominated the cost of an insert.
/// [`MemoryStore::iter`] still lists the pages in id order.
///
/// ```
/// use qed_core::hyper::{self, MemoryStore};
/// let mut store = MemoryStore::new();
/// let changes = hyper::insert_batch(&store, &[([7; 32], 0)])?;
/// store.apply(&changes);
/// assert_eq!(store.len(), 1);
/// # Ok::<(), hyper::StoreError<core::convert::Infallible>>(())
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    /// Open addressing: each page sits in the first free slot from its id's hash on, so a lookup
    /// usually touches one slot. Empty, or a power of two at least twice the number of pages.
    slots: Vec<Slot>,
    len: usize,
}

/// One slot of the table, alone on its cache line: the 64-byte slots of a 16-byte-aligned
/// buffer straddled two lines, so most lookups missed twice.
#[derive(Clone, Default)]
#[repr(align(64))]
struct Slot(Option<(PageId, Page)>);

impl MemoryStore {
    /// An empty store: the empty tree.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Writes the pages of a batch (copies them, which is cheap: a page shares its content).
    pub fn apply(&mut self, changes: &Changes) {
        for (id, page) in &changes.pages {
            self.put(*id, page.clone());
        }
    }

    /// Writes the pages of a batch, taking them.
    pub fn apply_owned(&mut self, changes: Changes) {
        for (id, page) in changes.pages {
            self.put(id, page);
        }
    }

    /// Writes one page, replacing any page with that id (for tests that craft trees).
    pub fn put(&mut self, id: PageId, page: Page) {
        if self.slots.len() < 2 * (self.len + 1) {
            self.grow();
        }
        let (slot, found) = self.find(&id);
        if let Some(s) = self.slots.get_mut(slot) {
            s.0 = Some((id, page));
            if !found {
                self.len += 1;
            }
        }
    }

    /// Number of pages.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the store holds no page (the empty tree).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pages by ascending id.
    pub fn iter(&self) -> impl Iterator<Item = (&PageId, &Page)> + '_ {
        let mut sorted: Vec<(&PageId, &Page)> = self
            .slots
            .iter()
            .filter_map(|slot| slot.0.as_ref())
            .map(|(id, page)| (id, page))
            .collect();
        sorted.sort_unstable_by_key(|(id, _)| **id);
        sorted.into_iter()
    }

    /// The page `id`, by reference.
    pub fn get(&self, id: &PageId) -> Option<&Page> {
        match self.find(id) {
            (slot, true) => self.slots.get(slot)?.0.as_ref().map(|(_, page)| page),
            _ => None,
        }
    }

    /// The slot holding `id` and `true`, or the free slot where it would go and `false`
    /// (`usize::MAX` while there are no slots).
    fn find(&self, id: &PageId) -> (usize, bool) {
        let mask = self.slots.len().wrapping_sub(1);
        let mut slot = slot_hash(id) & mask;
        // At most half the slots are used, so the probe meets a free slot.
        for _ in 0..self.slots.len() {
            match self.slots.get(slot).map(|s| &s.0) {
                None | Some(None) => return (slot, false),
                Some(Some((stored, _))) if stored == id => return (slot, true),
                Some(Some(_)) => slot = (slot + 1) & mask,
            }
        }
        (usize::MAX, false)
    }

    /// Reads one byte of the slot where the lookup of `id` starts, which brings it into the
    /// cache (see [`PageStore::pages`]).
    fn touch_slot(&self, id: &PageId) -> u8 {
        let mask = self.slots.len().wrapping_sub(1);
        match self.slots.get(slot_hash(id) & mask) {
            Some(Slot(Some((stored, _)))) => stored.depth(),
            _ => 0,
        }
    }

    /// Doubles the slots (at least 16) and re-inserts every page.
    fn grow(&mut self) {
        let size = (2 * self.slots.len()).max(16);
        let old = core::mem::take(&mut self.slots);
        self.slots.resize_with(size, Slot::default);
        for (id, page) in old.into_iter().filter_map(|slot| slot.0) {
            let (slot, _) = self.find(&id);
            if let Some(s) = self.slots.get_mut(slot) {
                s.0 = Some((id, page));
            }
        }
    }
}

/// Spreads a page id over the index: the prefix words and the depth, through the splitmix64
/// finalizer (the first bits of a prefix are key bits, i.e. SHA-256 output, but they sit at the
/// top of the first word and the depth must count too).
fn slot_hash(id: &PageId) -> usize {
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let mut z = u64::from(id.depth());
    for word in id.prefix().chunks_exact(8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        z = mix(z ^ u64::from_be_bytes(bytes));
    }
    z as usize
}

impl PartialEq for MemoryStore {
    /// Same pages under the same ids, whatever order they were written in.
    fn eq(&self, other: &MemoryStore) -> bool {
        self.len == other.len
            && self
                .slots
                .iter()
                .filter_map(|slot| slot.0.as_ref())
                .all(|(id, page)| other.get(id) == Some(page))
    }
}

impl Eq for MemoryStore {}

impl core::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl PageStore for MemoryStore {
    type Error = Infallible;

    fn page(&self, id: &PageId) -> Result<Option<Page>, Infallible> {
        Ok(self.get(id).cloned())
    }

    fn pages(&self, ids: &[PageId]) -> Result<Vec<Option<Page>>, Infallible> {
        // Touch every slot before looking any page up, then the first cache line of every page
        // found before cloning any: loops of independent loads whose cache misses the processor
        // overlaps. A lookup's probe loop keeps only a few in flight, and a clone's atomic
        // reference count update on a line not yet loaded waits for its miss alone. The rest of
        // a page's content is touched later, just before it is rebuilt
        // (`Batch::touch_children`): touched here too, it was evicted again before its turn.
        let slots = ids.iter().fold(0u8, |acc, id| acc ^ self.touch_slot(id));
        core::hint::black_box(slots);
        let found: Vec<Option<&Page>> = ids.iter().map(|id| self.get(id)).collect();
        let heads = found
            .iter()
            .flatten()
            .fold(0u8, |acc, page| acc ^ page.touch_head());
        core::hint::black_box(heads);
        Ok(found.into_iter().map(|page| page.cloned()).collect())
    }
}

/// A whole hyper tree in memory, for tests, tools and the WASM package: a [`MemoryStore`] and
/// its root, changed only through inserts.
///
/// Its methods return `Result` because they share the store-generic code; with a store filled
/// only by these inserts they do not fail.
///
/// ```
/// use qed_core::hyper::{self, Lookup, MemoryTree};
/// let mut tree = MemoryTree::new();
/// tree.insert_batch(&[([1; 32], 0), ([2; 32], 1)])?;
/// let proof = tree.prove(&[2; 32])?;
/// assert_eq!(hyper::verify(&tree.root(), &[2; 32], &proof), Ok(Lookup::Member(1)));
/// # Ok::<(), hyper::StoreError<core::convert::Infallible>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    store: MemoryStore,
    root: Hash,
}

impl MemoryTree {
    /// The empty tree (root [`EMPTY`]).
    pub fn new() -> MemoryTree {
        MemoryTree {
            store: MemoryStore::new(),
            root: EMPTY,
        }
    }

    /// Inserts one key; returns its existing version if it was already present (it keeps it).
    pub fn insert(
        &mut self,
        key: Hash,
        version: u64,
    ) -> Result<Option<u64>, StoreError<Infallible>> {
        Ok(self.insert_batch(&[(key, version)])?.first().map(|e| e.1))
    }

    /// Inserts a batch (see [`insert_batch`]); returns the input indexes of keys already
    /// present, with the versions they keep.
    pub fn insert_batch(
        &mut self,
        batch: &[(Hash, u64)],
    ) -> Result<Vec<(usize, u64)>, StoreError<Infallible>> {
        let mut changes = insert_batch(&self.store, batch)?;
        let existing = core::mem::take(&mut changes.existing);
        self.root = changes.root;
        self.store.apply_owned(changes);
        Ok(existing)
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The version of `key`, if present.
    pub fn get(&self, key: &Hash) -> Result<Option<u64>, StoreError<Infallible>> {
        super::get(&self.store, key)
    }

    /// A member or non-member proof for `key` (see [`super::prove`]).
    pub fn prove(&self, key: &Hash) -> Result<Proof, StoreError<Infallible>> {
        super::prove(&self.store, key)
    }

    /// The pages.
    pub fn store(&self) -> &MemoryStore {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyper::Entry;

    fn page(tag: u8) -> Page {
        Page::from_entries([(0, Entry::Subtree([tag; 32]))]).unwrap_or_default()
    }

    #[test]
    fn memory_store_puts_replaces_and_grows() {
        let mut store = MemoryStore::new();
        assert!(store.is_empty());
        assert_eq!(store.get(&PageId::ROOT), None);
        // Ids that share their first bits and differ in depth: the index must tell them apart.
        let mut ids: Vec<PageId> = (0u8..=63)
            .flat_map(|d| (0u8..4).filter_map(move |k| PageId::new(d * 4, &[k << 4 | k; 32])))
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 1 + 63 * 4);
        for (i, id) in ids.iter().enumerate() {
            store.put(*id, page(i as u8));
        }
        assert_eq!(store.len(), ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(store.get(id), Some(&page(i as u8)));
        }
        store.put(ids[5], page(0xee));
        assert_eq!(store.len(), ids.len());
        assert_eq!(store.get(&ids[5]), Some(&page(0xee)));
        let listed: Vec<PageId> = store.iter().map(|(id, _)| *id).collect();
        assert_eq!(listed, ids);
        // The same pages written in another order: an equal store.
        let mut other = MemoryStore::new();
        for id in ids.iter().rev() {
            other.put(*id, store.get(id).cloned().unwrap_or_default());
        }
        assert_eq!(other, store);
        other.put(ids[0], page(0x77));
        assert_ne!(other, store);
        let fetched = store.pages(&[
            ids[1],
            PageId::new(8, &[9; 32]).unwrap_or(PageId::ROOT),
            ids[2],
        ]);
        assert_eq!(fetched, Ok(alloc::vec![Some(page(1)), None, Some(page(2))]));
    }
}
