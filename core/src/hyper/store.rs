//! Where pages live: the [`PageStore`] trait, and an in-memory store and tree.

use alloc::collections::BTreeMap;
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
}

impl<S: PageStore + ?Sized> PageStore for &S {
    type Error = S::Error;

    fn page(&self, id: &PageId) -> Result<Option<Page>, Self::Error> {
        (**self).page(id)
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
    let page = store.page(id).map_err(StoreError::Store)?;
    if let Some(p) = &page {
        p.check(id)
            .map_err(|reason| StoreError::Corrupt { page: *id, reason })?;
    }
    Ok(page)
}

/// A [`PageStore`] in memory, ordered by page id. Pages keep their node hashes, so inserts
/// and proofs hash only what changed or what a proof needs.
///
/// ```
/// use qed_core::hyper::{self, MemoryStore};
/// let mut store = MemoryStore::new();
/// let changes = hyper::insert_batch(&store, &[([7; 32], 0)])?;
/// store.apply(&changes);
/// assert_eq!(store.len(), 1);
/// # Ok::<(), hyper::StoreError<core::convert::Infallible>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStore {
    pages: BTreeMap<PageId, Page>,
}

impl MemoryStore {
    /// An empty store: the empty tree.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Writes the pages of a batch (copies them; see [`MemoryStore::apply_owned`]).
    pub fn apply(&mut self, changes: &Changes) {
        for (id, page) in &changes.pages {
            self.pages.insert(*id, page.clone());
        }
    }

    /// Writes the pages of a batch, taking them.
    pub fn apply_owned(&mut self, changes: Changes) {
        for (id, page) in changes.pages {
            self.pages.insert(id, page);
        }
    }

    /// Writes one page (for tests that craft trees).
    pub fn put(&mut self, id: PageId, page: Page) {
        self.pages.insert(id, page);
    }

    /// Number of pages.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether the store holds no page (the empty tree).
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The pages by ascending id.
    pub fn iter(&self) -> impl Iterator<Item = (&PageId, &Page)> + '_ {
        self.pages.iter()
    }
}

impl PageStore for MemoryStore {
    type Error = Infallible;

    fn page(&self, id: &PageId) -> Result<Option<Page>, Infallible> {
        Ok(self.pages.get(id).cloned())
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
