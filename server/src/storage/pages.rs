//! Hyper tree storage: pages in RocksDB, the sets of pages changed since they were last
//! written there ([`DirtyPages`]), a bounded cache of decoded pages shared by the writer and
//! the readers, and the two [`PageStore`]s over them.
//!
//! Stored value of a page: `be64(written_at) || Page::to_bytes()`, where `written_at` is the
//! tree size after the apply that made this version of the page. Key: `PageId::to_bytes()`
//! (depth first, so the hot upper pages sit together).
//!
//! # Where a page version lives
//!
//! An apply records every page it changes in the current set of changed pages; RocksDB gets
//! the latest version of each only when the set is flushed (see `state_machine`), and so does
//! the cache: the flush puts each page's latest version in the cache just before it writes
//! them. The writer always wants the latest version: a set holds it if the page changed since
//! the last flush, else the cache holds it if it holds the page, and RocksDB holds it
//! otherwise.
//!
//! Why the apply does not fill the cache itself: a bulk apply changes about three pages per
//! digest, and putting each in the cache (a lock, a recency update, an eviction and the free of
//! the evicted page) and in the set took a quarter of the apply's time, on the thread every
//! write waits for. A flush puts each page in the cache once however many versions the set
//! holds, on a thread of its own.
//!
//! # Why readers can share the writer's cache
//!
//! Pages change with every apply, so a proof must read every page of one version of the tree:
//! the published size `S`. A reader takes a RocksDB snapshot of a stored tree (the state of
//! some flush at size `F <= S`) and the sets of pages changed since `F`, which hold every
//! version made since. The cache maps a page id to one version of that page together with its
//! `written_at`, and:
//!
//! 1. entries are put by the flush, the latest version of each page of its set, *before* it
//!    writes them to RocksDB, and by the writer, a page it read from RocksDB while no set held
//!    it (so the latest version too); flushes run one at a time, in order;
//! 2. a reader takes the newest version in the sets with `written_at <= S`, else the cache
//!    entry if its `written_at <= S`, else the page in its snapshot.
//!
//! Step 2 reaches the cache only for a page with no version made between `F` and `S`, whose
//! version at `S` is therefore its latest version with `written_at <= F`, the one the snapshot
//! holds. A cache entry with `written_at <= S` (so `<= F`) is that version: any later version
//! made at or before `F` belongs to a set flushed by `F`, and that flush put the set's latest
//! version in the cache before its write made `F` visible (rule 1), replacing any older entry
//! for good. Evictions only send readers to their snapshot. A reader's own decoded pages are
//! not inserted, since a page read from an old snapshot may no longer be the latest version.
//!
//! The cache counts approximate bytes and, beyond its budget, evicts the least recently used
//! page of the deepest level it holds. The pages of the top [`PINNED_DEPTH`] levels (at most
//! 4,369 pages), which every operation touches, stay resident.
//!
//! Why deepest first: an insert or a proof reads one page at each depth along a random key, so
//! each of the 65,536 pages at depth 16 is read once per 65,536 operations or so, and each of
//! the million pages at depth 20 about once per million. One recency order over all levels
//! filled the cache with deep pages that are evicted before they are read again, and pushed
//! out the shallower pages that would have been.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use lru::LruCache;
use qed_core::hyper::{PAGE_BITS, Page, PageId, PageStore};
use rocksdb::{ColumnFamily, DB, ReadOptions, Snapshot};

use crate::state_machine::StateError;

/// Pages at this depth or above (depths 0, 4, 8, 12) are never evicted.
pub const PINNED_DEPTH: u8 = 12;
const SHARDS: usize = 16;

/// One cached page version.
#[derive(Clone)]
pub struct CachedPage {
    /// Tree size after the apply that wrote this version.
    pub written_at: u64,
    /// The decoded page, with its node hashes computed.
    pub page: Arc<Page>,
}

struct Shard {
    /// The pages, one recency order per level (index: depth / 4), grown on demand.
    levels: Vec<LruCache<PageId, CachedPage>>,
    bytes: usize,
}

/// The levels above this index are never evicted (see [`PINNED_DEPTH`]).
const PINNED_LEVELS: usize = (PINNED_DEPTH / PAGE_BITS) as usize + 1;

/// The level index of a page.
fn level_of(id: &PageId) -> usize {
    usize::from(id.depth() / PAGE_BITS)
}

impl Shard {
    /// Evicts the least recently used page of the deepest evictable level held; false when
    /// none is left.
    fn evict(&mut self) -> bool {
        let evictable = self.levels.iter_mut().skip(PINNED_LEVELS);
        let Some(level) = evictable.rev().find(|l| !l.is_empty()) else {
            return false;
        };
        let Some((_, old)) = level.pop_lru() else {
            return false;
        };
        self.bytes = self.bytes.saturating_sub(page_bytes(&old.page));
        true
    }
}

/// The shared, bounded cache of the latest version of hot pages.
pub struct PageCache {
    shards: Vec<Mutex<Shard>>,
    budget_per_shard: usize,
}

/// The shard of a page id. Prefixes are bits of random digests: the last 4 bits of a page's
/// prefix (the position it hangs from) spread pages evenly over the shards without hashing the
/// whole id.
fn shard_of(id: &PageId) -> usize {
    match id.depth().checked_sub(4) {
        None => 0,
        Some(d) => {
            let byte = id.prefix().get(usize::from(d / 8)).copied().unwrap_or(0);
            usize::from(if d % 8 == 0 { byte >> 4 } else { byte & 0x0f }) % SHARDS
        }
    }
}

/// Approximate memory held by a cached page: the struct, its entries and hashes, the map node.
fn page_bytes(page: &Page) -> usize {
    const OVERHEAD: usize = 160;
    OVERHEAD
        + page.len() * 48
        + if page.has_hashes() {
            (page.len() + 15) * 32
        } else {
            0
        }
}

impl PageCache {
    /// A cache holding about `budget` bytes of pages (pinned pages included).
    pub fn new(budget: usize) -> PageCache {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    levels: Vec::new(),
                    bytes: 0,
                })
            })
            .collect();
        PageCache {
            shards,
            budget_per_shard: budget / SHARDS,
        }
    }

    fn shard(&self, id: &PageId) -> MutexGuard<'_, Shard> {
        // A poisoned shard only means another thread panicked while holding it; the map itself
        // is still consistent (every mutation is a single call), so keep using it.
        self.shards[shard_of(id)]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The cached latest version of `id`, if any.
    pub fn get(&self, id: &PageId) -> Option<CachedPage> {
        let mut shard = self.shard(id);
        shard.levels.get_mut(level_of(id))?.get(id).cloned()
    }

    /// Records the latest version of a page (the writer and the flush only: see the module
    /// documentation).
    pub fn put(&self, id: PageId, entry: CachedPage) {
        let bytes = page_bytes(&entry.page);
        let mut shard = self.shard(&id);
        let level = level_of(&id);
        if shard.levels.len() <= level {
            shard.levels.resize_with(level + 1, LruCache::unbounded);
        }
        if let Some(old) = shard.levels[level].put(id, entry) {
            shard.bytes = shard.bytes.saturating_sub(page_bytes(&old.page));
        }
        shard.bytes += bytes;
        while shard.bytes > self.budget_per_shard && shard.evict() {}
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).bytes)
            .sum()
    }

    /// Pages held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(|e| e.into_inner());
                s.levels.iter().map(LruCache::len).sum::<usize>()
            })
            .sum()
    }

    /// Whether the cache holds no page.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The hyper pages changed since the tree was last written to RocksDB at size `since` (see
/// `state_machine`): every version of each, oldest first. Pages stay here, whatever the cache
/// evicts, until a flush has written them, and a reader at any size since `since` finds the
/// version it needs.
pub struct DirtyPages {
    since: u64,
    shards: Vec<RwLock<HashMap<PageId, Vec<CachedPage>>>>,
    bytes: AtomicUsize,
}

impl DirtyPages {
    /// An empty set over the tree stored at size `since`.
    pub fn new(since: u64) -> DirtyPages {
        DirtyPages {
            since,
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            bytes: AtomicUsize::new(0),
        }
    }

    /// The tree size of the stored state this set lies on.
    pub fn since(&self) -> u64 {
        self.since
    }

    fn shard(&self, id: &PageId) -> &RwLock<HashMap<PageId, Vec<CachedPage>>> {
        &self.shards[shard_of(id)]
    }

    /// Records a new version of a page (writer only, in increasing sizes).
    pub fn record(&self, id: PageId, page: CachedPage) {
        self.bytes
            .fetch_add(page_bytes(&page.page), Ordering::Relaxed);
        let mut shard = self.shard(&id).write().unwrap_or_else(|e| e.into_inner());
        shard.entry(id).or_default().push(page);
    }

    /// The latest version of a page, if it changed in this set.
    pub fn latest(&self, id: &PageId) -> Option<CachedPage> {
        let shard = self.shard(id).read().unwrap_or_else(|e| e.into_inner());
        shard.get(id).and_then(|v| v.last().cloned())
    }

    /// The version of a page at tree size `size`, if it changed in this set by then (if not,
    /// its version is the stored one or an older set's).
    pub fn at(&self, id: &PageId, size: u64) -> Option<CachedPage> {
        let shard = self.shard(id).read().unwrap_or_else(|e| e.into_inner());
        let versions = shard.get(id)?;
        versions
            .iter()
            .rev()
            .find(|v| v.written_at <= size)
            .cloned()
    }

    /// Approximate bytes of the versions held (the latest ones are shared with the cache
    /// while it keeps them).
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Whether no page changed since `since`.
    pub fn is_empty(&self) -> bool {
        self.bytes() == 0
    }

    /// The latest version of every page, in key order (the order of a table file's keys).
    pub fn latest_in_key_order(&self) -> Vec<(PageId, CachedPage)> {
        let mut out: Vec<(PageId, CachedPage)> = self
            .shards
            .iter()
            .flat_map(|s| {
                let shard = s.read().unwrap_or_else(|e| e.into_inner());
                shard
                    .iter()
                    .filter_map(|(id, v)| Some((*id, v.last()?.clone())))
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort_unstable_by_key(|(id, _)| *id);
        out
    }
}

/// Encodes a page version for the hyper column family.
pub fn encode_page(written_at: u64, page: &Page) -> Vec<u8> {
    let body = page.to_bytes();
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&written_at.to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Decodes a stored page version, `(written_at, page)`, and checks that the page can sit at
/// `id` ([`Page::check`]): every page read from RocksDB comes through here, so both stores
/// vouch for their pages ([`PageStore::checked`]) and the tree operations do not check them
/// again on every read.
pub fn decode_page(id: &PageId, value: &[u8]) -> Result<(u64, Page), StateError> {
    let corrupt =
        |reason: &dyn std::fmt::Display| StateError::Corrupt(format!("hyper page {id}: {reason}"));
    let (at, body) = value
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt(&"shorter than its header"))?;
    let page = Page::from_bytes(body).map_err(|e| corrupt(&e))?;
    page.check(id).map_err(|reason| corrupt(&reason))?;
    Ok((u64::from_be_bytes(*at), page))
}

/// The writer's view: the latest version of every page, from the sets of pages not yet flushed
/// (newest first), the cache, or the live database (which holds everything else, since only the
/// writer changes it). Pages read from the database fill the cache.
pub struct WriterPages<'a> {
    /// The live database.
    pub db: &'a DB,
    /// Its hyper column family.
    pub cf: &'a ColumnFamily,
    /// The shared cache.
    pub cache: &'a PageCache,
    /// The pages not yet flushed, newest set first.
    pub dirty: &'a [Arc<DirtyPages>],
}

impl WriterPages<'_> {
    /// The latest version of `id` held in memory: not yet flushed, or cached (the cache only
    /// gets a set's versions when it is flushed).
    fn in_memory(&self, id: &PageId) -> Option<Page> {
        let hit = self
            .dirty
            .iter()
            .find_map(|d| d.latest(id))
            .or_else(|| self.cache.get(id))?;
        Some((*hit.page).clone())
    }

    /// Decodes (and checks) a stored page read from the live database, computes its node
    /// hashes once and caches it (the writer's reads are always the latest version).
    fn load(&self, id: &PageId, value: &[u8]) -> Result<Page, StateError> {
        let (written_at, mut page) = decode_page(id, value)?;
        page.compute_hashes();
        let page = Arc::new(page);
        self.cache.put(
            *id,
            CachedPage {
                written_at,
                page: page.clone(),
            },
        );
        Ok((*page).clone())
    }
}

impl PageStore for WriterPages<'_> {
    type Error = StateError;

    fn page(&self, id: &PageId) -> Result<Option<Page>, StateError> {
        Ok(self.pages(std::slice::from_ref(id))?.pop().flatten())
    }

    /// The pages held in memory, then every miss in one RocksDB `MultiGet`: an insert asks for
    /// all the pages of one depth at once, and a batched lookup shares the memtable, filter and
    /// index work of neighbouring keys (on a log of a million events most pages below depth 12
    /// are misses, and single lookups were a quarter of the writer's CPU).
    ///
    /// The lookup does not fill RocksDB's block cache: the page read goes to the page cache,
    /// and the rest of its 4 KiB block is rarely wanted again before it would be evicted, so
    /// filling cost an allocation and an insertion (with an eviction) per miss for nothing:
    /// about 1.12x bulk throughput at 5 million events without it.
    fn pages(&self, ids: &[PageId]) -> Result<Vec<Option<Page>>, StateError> {
        let mut out = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            let hit = self.in_memory(id);
            if hit.is_none() {
                missing.push(*id);
            }
            out.push(hit);
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let keys = missing.iter().map(PageId::to_bytes);
        let mut opts = ReadOptions::default();
        opts.fill_cache(false);
        let values = self
            .db
            .batched_multi_get_cf_opt(self.cf, keys, false, &opts);
        let mut found = missing.iter().zip(values);
        for slot in out.iter_mut().filter(|slot| slot.is_none()) {
            let Some((id, value)) = found.next() else {
                break;
            };
            if let Some(value) = value? {
                *slot = Some(self.load(id, &value)?);
            }
        }
        Ok(out)
    }

    /// Pages in memory were built by the insert or decoded (and checked) before they were
    /// cached, and [`decode_page`] checks the others: checking each page again on every read
    /// was 2 % of a bulk load's CPU.
    fn checked(&self) -> bool {
        true
    }
}

/// A reader's view at tree size `size`: the sets of pages changed since the stored state that
/// `snapshot` holds (newest first, down to the one lying on that state), the cache entries
/// valid at `size` (see the module documentation), and the snapshot.
pub struct SnapshotPages<'a> {
    /// The database.
    pub db: &'a DB,
    /// Its hyper column family.
    pub cf: &'a ColumnFamily,
    /// A snapshot of the stored state the oldest of `dirty` lies on.
    pub snapshot: &'a Snapshot<'a>,
    /// The tree size read.
    pub size: u64,
    /// The shared cache.
    pub cache: &'a PageCache,
    /// The pages changed since the snapshot's state, newest set first.
    pub dirty: &'a [Arc<DirtyPages>],
}

impl PageStore for SnapshotPages<'_> {
    type Error = StateError;

    fn page(&self, id: &PageId) -> Result<Option<Page>, StateError> {
        let hit = self
            .dirty
            .iter()
            .find_map(|set| set.at(id, self.size))
            .or_else(|| self.cache.get(id).filter(|c| c.written_at <= self.size));
        if let Some(hit) = hit {
            return Ok(Some((*hit.page).clone()));
        }
        let mut opts = ReadOptions::default();
        opts.set_snapshot(self.snapshot);
        let Some(value) = self.db.get_pinned_cf_opt(self.cf, id.to_bytes(), &opts)? else {
            return Ok(None);
        };
        let (written_at, page) = decode_page(id, &value)?;
        if written_at > self.size {
            return Err(StateError::Corrupt(format!(
                "hyper page {id} written at size {written_at} seen in a snapshot of size {}",
                self.size
            )));
        }
        Ok(Some(page))
    }

    /// As for the writer: the sets and the cache hold pages built by the insert or decoded by
    /// [`decode_page`], which checks what it decodes.
    fn checked(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(written_at: u64) -> CachedPage {
        CachedPage {
            written_at,
            page: Arc::new(Page::new()),
        }
    }

    /// A page at `depth` whose id differs from the others' in its first byte only, in shard 0.
    fn page_id(depth: u8, first: u8) -> PageId {
        let mut key = [0u8; 32];
        key[0] = first;
        let id = PageId::new(depth, &key).unwrap();
        assert_eq!(shard_of(&id), 0);
        id
    }

    #[test]
    fn the_cache_evicts_the_deepest_level_first() {
        // Room for three empty pages per shard.
        let cache = PageCache::new(SHARDS * 3 * page_bytes(&Page::new()));
        let (a, b) = (page_id(16, 1), page_id(16, 2));
        let (c, d) = (page_id(20, 3), page_id(20, 4));
        for id in [a, b, c, d] {
            cache.put(id, version(1));
        }
        // d is the most recent page, but c is the least recent one of the deepest level.
        let held = |id: &PageId| cache.get(id).is_some();
        assert!(held(&a) && held(&b) && !held(&c) && held(&d));
        // A new depth-16 page pushes out d rather than the older a.
        let e = page_id(16, 5);
        cache.put(e, version(2));
        assert!(held(&a) && held(&b) && !held(&d) && held(&e));
        assert_eq!(cache.len(), 3);
        // Within a level, recency decides: b was read less recently than a and e.
        cache.get(&a);
        cache.get(&e);
        cache.put(page_id(16, 6), version(3));
        assert!(held(&a) && !held(&b) && held(&e));
    }

    #[test]
    fn dirty_pages_answer_each_size_with_its_version() {
        let set = DirtyPages::new(10);
        let (root, child) = (PageId::ROOT, PageId::ROOT.child(7).unwrap());
        assert!(set.is_empty() && set.at(&root, 20).is_none() && set.latest(&root).is_none());
        set.record(child, version(12));
        set.record(root, version(12));
        set.record(root, version(15));
        assert!(!set.is_empty());
        assert_eq!(set.since(), 10);
        assert_eq!(set.latest(&root).unwrap().written_at, 15);
        // Before its first change here, a page's version is below the set.
        assert!(set.at(&root, 11).is_none());
        assert_eq!(set.at(&root, 12).unwrap().written_at, 12);
        assert_eq!(set.at(&root, 14).unwrap().written_at, 12);
        assert_eq!(set.at(&root, 15).unwrap().written_at, 15);
        assert_eq!(set.at(&child, 99).unwrap().written_at, 12);
        // A flush writes the latest version of each page, in key order.
        let flushed: Vec<(PageId, u64)> = set
            .latest_in_key_order()
            .into_iter()
            .map(|(id, p)| (id, p.written_at))
            .collect();
        assert_eq!(flushed, [(root, 15), (child, 12)]);
        assert!(root.to_bytes() < child.to_bytes());
    }
}
