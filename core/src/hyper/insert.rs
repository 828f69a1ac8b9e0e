//! Batch insertion: one pass over the touched pages, sorted by key.

use alloc::vec::{self, Vec};

use super::id::nibble;
use super::store::{PageStore, StoreError, read_page, read_pages};
use super::{EMPTY, Entry, Hasher, PAGE_BITS, Page, PageId};
use crate::Hash;

/// The result of [`insert_batch`]: what the caller writes, atomically, to its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The tree's root after the batch.
    pub root: Hash,
    /// Every page the batch created or changed, each once (children before their parents). A
    /// page is never removed: the tree is insert-only.
    pub pages: Vec<(PageId, Page)>,
    /// For each input key that was already present (in the tree, or earlier in the batch), its
    /// index in the batch and the version it keeps; by ascending index.
    pub existing: Vec<(usize, u64)>,
    /// SHA-256 computations the batch performed (leaf and interior hashes): the cost measure of
    /// the design, reported by the benchmarks.
    pub hash_calls: u64,
}

/// Inserts a batch of `(key, version)` pairs, without writing anything: returns the new root and
/// the pages to write (see [`Changes`]).
///
/// The tree is insert-only: a key already in the tree keeps its version and is reported in
/// [`Changes::existing`]. The batch may be unsorted and may repeat a key: the first occurrence
/// wins and the later ones are reported as existing, with the version that the key ends up with.
/// Keys are sorted first, so each touched page is read once, recomputed once and returned once,
/// and the upper levels are hashed once per batch. A page that carries its node hashes (see
/// [`Page::has_hashes`]) only has the nodes above changed positions rehashed.
///
/// Errors come from the store, or report a page that a canonical tree cannot contain.
///
/// ```
/// use qed_core::hyper::{self, MemoryStore};
/// let mut store = MemoryStore::new();
/// let (a, b) = ([1u8; 32], [2u8; 32]);
/// let changes = hyper::insert_batch(&store, &[(a, 0), (b, 1), (a, 2)])?;
/// assert_eq!(changes.existing, vec![(2, 0)]); // the second `a` keeps version 0
/// store.apply(&changes);
/// assert_eq!(hyper::root(&store)?, changes.root);
/// assert_eq!(hyper::get(&store, &b)?, Some(1));
/// # Ok::<(), hyper::StoreError<core::convert::Infallible>>(())
/// ```
pub fn insert_batch<S: PageStore>(
    store: &S,
    batch: &[(Hash, u64)],
) -> Result<Changes, StoreError<S::Error>> {
    let (items, repeats) = sorted_unique(batch);
    let old_root = read_page(store, &PageId::ROOT)?;
    let mut ctx = Batch {
        read: read_ahead(store, old_root.as_ref(), &items)?,
        hasher: Hasher::default(),
        // About three pages change per key in a large tree; bounded so a huge first batch does
        // not reserve more than it uses.
        pages: Vec::with_capacity(items.len().saturating_mul(3).min(1 << 16)),
        existing: Vec::new(),
    };
    let root = match ctx.page::<S::Error>(PageId::ROOT, old_root.as_ref(), &items)? {
        Some(root) => root,
        None => old_root.map_or(EMPTY, |p| p.root_hash()),
    };
    let mut existing = ctx.existing;
    existing.sort_unstable();
    // The first occurrence of a repeated key either was already in the tree (then it is in
    // `existing`) or was inserted with its own version.
    let repeated: Vec<(usize, u64)> = repeats
        .into_iter()
        .map(|(later, first)| {
            let in_tree = existing.binary_search_by_key(&first, |e| e.0).ok();
            let version = match in_tree.and_then(|i| existing.get(i)) {
                Some(&(_, v)) => v,
                None => batch.get(first).map_or(0, |e| e.1),
            };
            (later, version)
        })
        .collect();
    existing.extend(repeated);
    existing.sort_unstable();
    Ok(Changes {
        root,
        pages: ctx.pages,
        existing,
        hash_calls: ctx.hasher.calls,
    })
}

/// A key on its way into the tree.
#[derive(Clone, Copy, Debug)]
struct Item {
    key: Hash,
    version: u64,
    origin: Origin,
}

#[derive(Clone, Copy, Debug)]
enum Origin {
    /// From the batch, at this index.
    Input(usize),
    /// A leaf already in the tree that must move down to make room, with its hash when known.
    Moved(Option<Hash>),
}

impl Item {
    /// The batch index of an item from the batch (moved leaves never meet this).
    fn index(&self) -> usize {
        match self.origin {
            Origin::Input(i) => i,
            Origin::Moved(_) => usize::MAX,
        }
    }
}

/// The first eight bytes of a key, big-endian: the key order on them.
fn first_word(key: &Hash) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&key[..8]);
    u64::from_be_bytes(word)
}

/// The batch sorted by key with repeated keys removed, and each removed `(index, index of the
/// first occurrence)`.
fn sorted_unique(batch: &[(Hash, u64)]) -> (Vec<Item>, Vec<(usize, usize)>) {
    let mut items: Vec<Item> = batch
        .iter()
        .enumerate()
        .map(|(i, (key, version))| Item {
            key: *key,
            version: *version,
            origin: Origin::Input(i),
        })
        .collect();
    // Equal keys in batch order, so that the first occurrence is the one kept.
    items.sort_unstable_by(|a, b| {
        // Keys are digests: their first eight bytes nearly always decide, as one integer.
        let (x, y) = (first_word(&a.key), first_word(&b.key));
        x.cmp(&y)
            .then_with(|| a.key.cmp(&b.key))
            .then(a.index().cmp(&b.index()))
    });
    let mut repeats = Vec::new();
    items.dedup_by(|later, first| {
        let same = later.key == first.key;
        if same {
            repeats.push((later.index(), first.index()));
        }
        same
    });
    (items, repeats)
}

/// `items` (sorted, all below a page at `depth`) split by the page's bottom positions: each
/// position's items are a run.
fn groups(depth: u8, items: &[Item]) -> [&[Item]; 16] {
    let mut groups: [&[Item]; 16] = [&[]; 16];
    let mut rest = items;
    while let Some(first) = rest.first() {
        let pos = nibble(&first.key, depth);
        let (group, tail) = rest.split_at(rest.partition_point(|it| nibble(&it.key, depth) == pos));
        if let Some(slot) = groups.get_mut(usize::from(pos)) {
            *slot = group;
        }
        rest = tail;
    }
    groups
}

/// Reads every existing page that the insert of `items` will change below the root `root`,
/// level by level: one request to the store per level (page depth), in the order in which
/// [`Batch::page`] then visits them (by depth, by key).
///
/// The pages of one level are independent reads, so a store can overlap their latency (cache
/// misses in memory, a `multi_get` on disk); read while descending, each page waited for its
/// parent, and in a large tree almost every page was a miss behind another miss.
fn read_ahead<S: PageStore>(
    store: &S,
    root: Option<&Page>,
    items: &[Item],
) -> Result<Vec<vec::IntoIter<Option<Page>>>, StoreError<S::Error>> {
    let mut levels = Vec::new();
    // The existing pages of the current level, by their positions that hold child pages (all
    // the descent needs: no clone of the page, whose reference count is one more memory
    // write), with the items below each.
    let mut frontier: Vec<(PageId, u16, &[Item])> = root
        .map(|page| (PageId::ROOT, page.subtree_positions(), items))
        .into_iter()
        .collect();
    while !frontier.is_empty() {
        let mut ids = Vec::new();
        let mut below = Vec::new();
        for (id, subtrees, items) in &frontier {
            for (pos, group) in (0u8..).zip(groups(id.depth(), items)) {
                if !group.is_empty() && subtrees & (1 << pos) != 0 {
                    ids.push(id.child(pos).ok_or(StoreError::Corrupt {
                        page: *id,
                        reason: "a depth-252 page points to a child page",
                    })?);
                    below.push(group);
                }
            }
        }
        let pages = read_pages(store, &ids)?;
        // A missing page ends its descent here; `Batch::position` reports it.
        frontier = ids
            .into_iter()
            .zip(&pages)
            .zip(below)
            .filter_map(|((id, page), group)| Some((id, page.as_ref()?.subtree_positions(), group)))
            .collect();
        levels.push(pages.into_iter());
    }
    Ok(levels)
}

/// What the tree holds below a position that receives items.
enum Below {
    /// Nothing: an empty subtree.
    Nothing,
    /// Exactly one leaf, with its hash if the page carried it.
    Leaf {
        key: Hash,
        version: u64,
        hash: Option<Hash>,
    },
    /// A child page (`None` if the store lacks it).
    Page(Option<Page>),
}

/// The state of one `insert_batch` call.
struct Batch {
    /// The existing child pages, from [`read_ahead`]: at index `i`, those at depth `4 * (i + 1)`
    /// not yet visited.
    read: Vec<vec::IntoIter<Option<Page>>>,
    hasher: Hasher,
    pages: Vec<(PageId, Page)>,
    existing: Vec<(usize, u64)>,
}

impl Batch {
    /// Inserts `items` (sorted, distinct, all below `id`) into the page `id`, whose current
    /// content is `old` (`None`: a new page). Returns the page's new root hash, or `None` when
    /// every item was already present and nothing changed.
    fn page<E>(
        &mut self,
        id: PageId,
        old: Option<&Page>,
        items: &[Item],
    ) -> Result<Option<Hash>, StoreError<E>> {
        let level = usize::from(id.depth() / PAGE_BITS);
        let mut changes: [Option<(Entry, Hash)>; 16] = [None; 16];
        let mut changed = 0u16;
        let groups = groups(id.depth(), items);
        self.touch_children(level, old, &groups);
        for (pos, group) in (0u8..).zip(groups) {
            if group.is_empty() {
                continue;
            }
            let below = match old {
                Some(p) if p.is_subtree(pos) => {
                    Below::Page(self.read.get_mut(level).and_then(Iterator::next).flatten())
                }
                Some(p) => match p.get(pos) {
                    Some(Entry::Leaf { key, version }) => Below::Leaf {
                        key,
                        version,
                        hash: p.cached_leaf_hash(pos),
                    },
                    _ => Below::Nothing,
                },
                None => Below::Nothing,
            };
            if let Some(change) = self.position(&id, pos, below, group)?
                && let Some(slot) = changes.get_mut(usize::from(pos))
            {
                *slot = Some(change);
                changed |= 1 << pos;
            }
        }
        if changed == 0 {
            return Ok(None);
        }
        let page = match old {
            Some(old) => old.updated(&changes, changed, &mut self.hasher),
            None => Page::new().updated(&changes, changed, &mut self.hasher),
        };
        let root = page.node_hash(1, &mut self.hasher);
        self.pages.push((id, page));
        Ok(Some(root))
    }

    /// Reads the content of the child pages that the page `old` (`level`: its depth / 4)
    /// descends into (its subtrees that receive a group), which brings them into the cache
    /// together just before their turn: [`read_ahead`] touched them too, but a batch's pages are
    /// too many to stay in the processor's cache until then.
    fn touch_children(&self, level: usize, old: Option<&Page>, groups: &[&[Item]; 16]) {
        let Some(old) = old else { return };
        let descents = (0u8..)
            .zip(groups)
            .filter(|(pos, group)| !group.is_empty() && old.is_subtree(*pos))
            .count();
        // The children of a page at `level` are the next ones read at that index.
        let next = self.read.get(level).map_or(&[][..], |it| it.as_slice());
        let touched = next
            .iter()
            .take(descents)
            .flatten()
            .fold(0u8, |acc, page| acc ^ page.touch());
        core::hint::black_box(touched);
    }

    /// Inserts `group` (sorted, distinct, all below bottom position `pos` of page `id`, where
    /// the tree holds `below`) and returns the position's new entry with its hash, or `None`
    /// if it does not change.
    fn position<E>(
        &mut self,
        id: &PageId,
        pos: u8,
        below: Below,
        group: &[Item],
    ) -> Result<Option<(Entry, Hash)>, StoreError<E>> {
        let corrupt = |reason| StoreError::Corrupt { page: *id, reason };
        // Two distinct keys below one position need a child page; a depth-252 page has none, but
        // its positions are whole keys, so this only happens in a corrupt store.
        let child = id
            .child(pos)
            .ok_or(corrupt("two keys below one position of a depth-252 page"));
        let subtree = match (below, group) {
            (Below::Nothing, [one]) => return Ok(Some(self.leaf(one))),
            (Below::Nothing, _) => self.page::<E>(child?, None, group)?,
            (Below::Leaf { key, version, hash }, _) => {
                let merged = self.merge_leaf(&key, version, hash, group);
                if merged.len() < 2 {
                    return Ok(None);
                }
                self.page::<E>(child?, None, &merged)?
            }
            (Below::Page(page), _) => {
                let page = page.ok_or(corrupt("a child page is missing"))?;
                self.page::<E>(child?, Some(&page), group)?
            }
        };
        Ok(subtree.map(|h| (Entry::Subtree(h), h)))
    }

    /// The items below a position that held the one leaf `(key, version)`: `group` plus that
    /// leaf, which moves down (a batch item with the same key is reported as existing instead).
    fn merge_leaf(
        &mut self,
        key: &Hash,
        version: u64,
        hash: Option<Hash>,
        group: &[Item],
    ) -> Vec<Item> {
        let moved = Item {
            key: *key,
            version,
            origin: Origin::Moved(hash),
        };
        let mut merged = Vec::with_capacity(group.len() + 1);
        match group.binary_search_by(|it| it.key.cmp(key)) {
            Ok(i) => {
                if let Some(Item {
                    origin: Origin::Input(index),
                    ..
                }) = group.get(i)
                {
                    self.existing.push((*index, version));
                }
                merged.extend_from_slice(group);
                if let Some(slot) = merged.get_mut(i) {
                    *slot = moved;
                }
            }
            Err(i) => {
                let (before, after) = group.split_at(i);
                merged.extend_from_slice(before);
                merged.push(moved);
                merged.extend_from_slice(after);
            }
        }
        merged
    }

    /// The entry for a position that holds exactly `item`.
    fn leaf(&mut self, item: &Item) -> (Entry, Hash) {
        let hash = match item.origin {
            Origin::Moved(Some(h)) => h,
            _ => self.hasher.leaf(&item.key, item.version),
        };
        (
            Entry::Leaf {
                key: item.key,
                version: item.version,
            },
            hash,
        )
    }
}
