//! History tree storage: tiles of complete-subtree hashes, and bundles of entry digests.
//!
//! The layout follows c2sp.org/tlog-tiles, with one difference measured to matter for proof
//! speed: a stored tile keeps *all eight levels* of its subtree, not only its bottom row.
//!
//! - The hash tile at tile level `L` and index `t` covers the tree levels `8L .. 8L+7`: at
//!   level `8L + j` it holds the nodes `t * 2^(8-j) ..` of that level, up to `256 >> j` of
//!   them. Its value is `be16(width) || level 0 || level 1 || ... || level 7`, where `width`
//!   (1..=256) is the number of level-`8L` nodes present and level `j` holds `width >> j`
//!   hashes. A full tile is 510 hashes (16,322 bytes).
//! - The top of a tile (level `8L + 8`) is the bottom row of tile level `L + 1`.
//! - Only hashes of *complete* subtrees are stored. They never change once written, so any
//!   reader may use a newer copy of a tile than the tree size it proves against: the partial
//!   tile at the right edge is rewritten by later appends, but only ever grows.
//! - The entry bundle `t` holds the digests (leaf data) of versions `256t .. 256t + 255`,
//!   concatenated (`GET /leaves/{version}` answers from it).
//!
//! An inclusion proof in a log of a million entries touches three tiles (one per tile level)
//! and reads the hashes it needs directly, with no recomputation; appending costs two hash
//! calls per entry (the leaf hash and, on average, one interior node). The ledger stores final
//! tiles and bundles as they complete, and the partial ones at the right edge (up to 16 KiB
//! each) only with each flush of the hyper tree, beside the tree record they belong to: with
//! groups of a few single adds, rewriting them on every apply was most of the bytes written.

use qed_core::Hash;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use qed_core::history::{Frontier, NodeId};

use crate::state_machine::StateError;

/// Tree levels covered by one tile.
pub const TILE_HEIGHT: u32 = 8;
/// Nodes in the bottom row of a full tile; also entries in a full bundle.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// Hashes in a full tile: `256 + 128 + ... + 2`.
pub const FULL_TILE_HASHES: usize = 510;
/// The deepest tree level a 64-bit size can have complete nodes at is 63: tile levels 0..=7.
pub const TILE_LEVELS: usize = 8;

const HASH: usize = 32;
const TILE_KEY_TAG: u8 = b'T';
const BUNDLE_KEY_TAG: u8 = b'E';

/// A key of the history column family.
pub type TileKey = [u8; 10];

/// Key of a hash tile in the history column family: `'T' || level || be64(index)`.
pub fn tile_key(level: u8, index: u64) -> TileKey {
    let mut key = [0u8; 10];
    key[0] = TILE_KEY_TAG;
    key[1] = level;
    key[2..].copy_from_slice(&index.to_be_bytes());
    key
}

/// Key of an entry bundle in the history column family: `'E' || 0 || be64(index)`.
pub fn bundle_key(index: u64) -> TileKey {
    let mut key = [0u8; 10];
    key[0] = BUNDLE_KEY_TAG;
    key[2..].copy_from_slice(&index.to_be_bytes());
    key
}

/// Whether a stored history value is final: a full tile or a full bundle.
pub fn is_complete(key: &TileKey, value: &[u8]) -> bool {
    match key[0] {
        TILE_KEY_TAG => value.get(..2) == Some(&[1, 0][..]),
        _ => value.len() == TILE_WIDTH as usize * HASH,
    }
}

/// Number of hashes stored in a tile whose bottom row has `width` nodes.
pub fn tile_hashes(width: usize) -> usize {
    (0..TILE_HEIGHT).map(|j| width >> j).sum()
}

/// Where level `j` starts inside a tile of `width`, in hashes.
fn level_offset(width: usize, j: u32) -> usize {
    (0..j).map(|k| width >> k).sum()
}

/// Where the node `(level, index)` of the tree is stored: tile level, tile index, level inside
/// the tile, position in that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePlace {
    /// Tile level (`level / 8`).
    pub tile_level: u8,
    /// Tile index at that tile level.
    pub tile_index: u64,
    /// Level inside the tile (`level % 8`).
    pub j: u32,
    /// Position inside that level of the tile.
    pub pos: usize,
}

/// The tile place of tree node `(level, index)`; `None` for a level beyond 63.
pub fn place(level: u32, index: u64) -> Option<NodePlace> {
    if level >= TILE_HEIGHT * TILE_LEVELS as u32 {
        return None;
    }
    let j = level % TILE_HEIGHT;
    let shift = TILE_HEIGHT - j;
    let mask = (1u64 << shift) - 1;
    Some(NodePlace {
        tile_level: (level / TILE_HEIGHT) as u8,
        tile_index: index >> shift,
        j,
        // `mask < 256`, so this fits in any usize.
        pos: (index & mask) as usize,
    })
}

/// A stored tile, checked: its width and that its length matches.
#[derive(Debug, Clone, Copy)]
pub struct TileRef<'a> {
    width: usize,
    hashes: &'a [u8],
}

impl<'a> TileRef<'a> {
    /// Parses a stored tile value.
    pub fn parse(value: &'a [u8]) -> Result<TileRef<'a>, StateError> {
        let (head, hashes) = value
            .split_at_checked(2)
            .ok_or_else(|| StateError::Corrupt("history tile shorter than its header".into()))?;
        let width = usize::from(u16::from_be_bytes([head[0], head[1]]));
        if width == 0 || width > TILE_WIDTH as usize {
            return Err(StateError::Corrupt(format!(
                "history tile of width {width}"
            )));
        }
        if hashes.len() != tile_hashes(width) * HASH {
            return Err(StateError::Corrupt(format!(
                "history tile of width {width} has {} bytes of hashes",
                hashes.len()
            )));
        }
        Ok(TileRef { width, hashes })
    }

    /// Nodes in the bottom row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The hash at level `j` (0..8), position `pos` of the tile, if present.
    pub fn node(&self, j: u32, pos: usize) -> Option<Hash> {
        if j >= TILE_HEIGHT || pos >= self.width >> j {
            return None;
        }
        let at = (level_offset(self.width, j) + pos) * HASH;
        self.hashes.get(at..at + HASH)?.try_into().ok()
    }
}

/// Parses a stored entry bundle into its digests.
pub fn parse_bundle(value: &[u8]) -> Result<Vec<Hash>, StateError> {
    let (chunks, rest) = value.as_chunks::<HASH>();
    if !rest.is_empty() || chunks.is_empty() || chunks.len() > TILE_WIDTH as usize {
        return Err(StateError::Corrupt(format!(
            "entry bundle of {} bytes",
            value.len()
        )));
    }
    Ok(chunks.to_vec())
}

/// A history value the writer produced, for the history column family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drained {
    /// The key ([`tile_key`] or [`bundle_key`]).
    pub key: TileKey,
    /// The encoded tile or bundle.
    pub value: Arc<[u8]>,
    /// Whether it is final (a full tile or bundle), so that caches may keep it forever.
    pub complete: bool,
}

/// The partial tiles and bundle at the right edge of the tree, as last drained (at most nine
/// values). A reader may use them for proofs in any tree up to the size they were drained at.
#[derive(Debug, Clone, Default)]
pub struct Edge {
    values: Vec<(TileKey, Arc<[u8]>)>,
}

impl Edge {
    /// The value stored under `key`, if it is one of the edge's.
    pub fn get(&self, key: &TileKey) -> Option<&Arc<[u8]>> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every key and value of the edge.
    pub fn values(&self) -> impl Iterator<Item = &(TileKey, Arc<[u8]>)> {
        self.values.iter()
    }
}

/// The right edge of the tile structure: the history [`Frontier`], the one partial tile of each
/// tile level, and the partial entry bundle. Appends go here; [`TileWriter::drain`] hands out
/// what to store and [`TileWriter::edge`] what readers may use.
#[derive(Debug, Clone)]
pub struct TileWriter {
    frontier: Frontier,
    open: [Option<OpenTile>; TILE_LEVELS],
    /// Tiles and bundles completed since the last drain (full, so final).
    finished: Vec<Drained>,
    bundle: Vec<Hash>,
    bundle_dirty: bool,
    /// The bundle's encoding as last drained or restored.
    bundle_encoded: Option<Arc<[u8]>>,
}

#[derive(Debug, Clone)]
struct OpenTile {
    index: u64,
    levels: [Vec<Hash>; TILE_HEIGHT as usize],
    dirty: bool,
    /// The encoding as last drained or restored.
    encoded: Option<Arc<[u8]>>,
}

impl OpenTile {
    fn new(index: u64) -> OpenTile {
        OpenTile {
            index,
            levels: Default::default(),
            dirty: true,
            encoded: None,
        }
    }

    fn from_stored(index: u64, value: &[u8]) -> Result<OpenTile, StateError> {
        let tile = TileRef::parse(value)?;
        let mut levels: [Vec<Hash>; TILE_HEIGHT as usize] = Default::default();
        for (j, level) in (0..TILE_HEIGHT).zip(levels.iter_mut()) {
            *level = (0..tile.width >> j)
                .filter_map(|pos| tile.node(j, pos))
                .collect();
        }
        Ok(OpenTile {
            index,
            levels,
            dirty: false,
            encoded: Some(Arc::from(value)),
        })
    }

    fn width(&self) -> usize {
        self.levels[0].len()
    }

    /// Keeps the first `width` nodes of the bottom row and the nodes above them: the tile as it
    /// was at that width, since appends only ever add nodes to the right.
    fn truncate(&mut self, width: usize) {
        if width == self.width() {
            return;
        }
        for (j, level) in self.levels.iter_mut().enumerate() {
            level.truncate(width >> j);
        }
        self.encoded = Some(self.encode());
    }

    fn encode(&self) -> Arc<[u8]> {
        let width = self.width();
        let mut out = Vec::with_capacity(2 + tile_hashes(width) * HASH);
        // Width is at most 256: it fits in 16 bits.
        out.extend_from_slice(&(width as u16).to_be_bytes());
        for level in &self.levels {
            for h in level {
                out.extend_from_slice(h);
            }
        }
        Arc::from(out)
    }

    /// Encodes the tile if it changed, remembering the encoding.
    fn drain(&mut self, level: u8) -> Option<Drained> {
        if !self.dirty {
            return None;
        }
        let value = self.encode();
        self.encoded = Some(value.clone());
        self.dirty = false;
        let complete = self.width() == TILE_WIDTH as usize;
        Some(Drained {
            key: tile_key(level, self.index),
            value,
            complete,
        })
    }
}

impl TileWriter {
    /// The writer of an empty tree.
    pub fn empty() -> TileWriter {
        TileWriter {
            frontier: Frontier::new(),
            open: Default::default(),
            finished: Vec::new(),
            bundle: Vec::new(),
            bundle_dirty: false,
            bundle_encoded: None,
        }
    }

    /// Restores the writer of a tree of `size` leaves from its stored frontier and tiles;
    /// `read` fetches a stored history value by key. Checks that the frontier agrees with the
    /// stored tiles, so a damaged state is refused at open rather than producing bad proofs.
    ///
    /// The stored tiles may be ahead of `size`, never behind it: the ledger writes final values
    /// on every apply and the partial ones with every flush, before its tree record, and a
    /// crash can leave a later flush's partial values without its record. Their first nodes are
    /// the tree at `size` (appends only add nodes to the right), so they are cut back to it.
    pub fn restore(
        size: u64,
        frontier: Vec<Hash>,
        mut read: impl FnMut(&[u8]) -> Result<Option<Vec<u8>>, StateError>,
    ) -> Result<TileWriter, StateError> {
        let frontier =
            Frontier::from_parts(size, frontier).map_err(|e| StateError::Corrupt(e.to_string()))?;
        let mut writer = TileWriter {
            frontier,
            ..TileWriter::empty()
        };
        for (level, slot) in writer.open.iter_mut().enumerate() {
            let count = size >> (TILE_HEIGHT as usize * level);
            if count.is_multiple_of(TILE_WIDTH) {
                continue;
            }
            let index = count / TILE_WIDTH;
            let value = read(&tile_key(level as u8, index))?.ok_or_else(|| {
                StateError::Corrupt(format!("history tile {level}/{index} is missing"))
            })?;
            let mut tile = OpenTile::from_stored(index, &value)?;
            let width = (count % TILE_WIDTH) as usize;
            if tile.width() < width {
                return Err(StateError::Corrupt(format!(
                    "history tile {level}/{index} has width {}",
                    tile.width()
                )));
            }
            tile.truncate(width);
            *slot = Some(tile);
        }
        if !size.is_multiple_of(TILE_WIDTH) {
            let index = size / TILE_WIDTH;
            let value = read(&bundle_key(index))?
                .ok_or_else(|| StateError::Corrupt(format!("entry bundle {index} is missing")))?;
            let mut bundle = parse_bundle(&value)?;
            let len = (size % TILE_WIDTH) as usize;
            if bundle.len() < len {
                return Err(StateError::Corrupt(format!(
                    "entry bundle {index} has {} entries",
                    bundle.len()
                )));
            }
            bundle.truncate(len);
            writer.bundle_encoded = Some(Arc::from(bundle.concat()));
            writer.bundle = bundle;
        }
        writer.check_frontier(&mut read)?;
        Ok(writer)
    }

    /// Compares each frontier hash with the stored node it must equal.
    fn check_frontier(
        &self,
        read: &mut impl FnMut(&[u8]) -> Result<Option<Vec<u8>>, StateError>,
    ) -> Result<(), StateError> {
        let size = self.size();
        let levels = (0..64u32).rev().filter(|l| size >> l & 1 == 1);
        for (level, hash) in levels.zip(self.frontier.hashes()) {
            // The perfect subtree of this 1 bit ends where the higher bits of the size end.
            let index = (size >> level) - 1;
            if read_node(level, index, read)? != *hash {
                return Err(StateError::Corrupt(format!(
                    "frontier node {level}/{index} differs from its stored tile"
                )));
            }
        }
        Ok(())
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The frontier: roots of the perfect subtrees, largest (leftmost) first.
    pub fn frontier(&self) -> &[Hash] {
        self.frontier.hashes()
    }

    /// The RFC 9162 root of the whole tree.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Appends one digest as the next leaf; returns its version.
    pub fn append(&mut self, digest: &Hash) -> Result<u64, StateError> {
        let (open, finished) = (&mut self.open, &mut self.finished);
        let mut failure = None;
        let version = self
            .frontier
            .try_append(digest, |level, index, hash| {
                if failure.is_none() {
                    failure = store_node(open, finished, u32::from(level), index, *hash).err();
                }
            })
            .ok_or_else(|| StateError::BadRequest("the log is full".into()))?;
        if let Some(e) = failure {
            return Err(e);
        }
        if version % TILE_WIDTH == 0 && !self.bundle.is_empty() {
            // The previous bundle is full: keep its final form if it changed since the drain.
            if self.bundle_dirty {
                let key = bundle_key(version / TILE_WIDTH - 1);
                self.finished.push(Drained {
                    key,
                    value: Arc::from(self.bundle.concat()),
                    complete: true,
                });
            }
            self.bundle.clear();
            self.bundle_encoded = None;
        }
        self.bundle.push(*digest);
        self.bundle_dirty = true;
        Ok(version)
    }

    /// The tiles and bundles changed since the last call.
    pub fn drain(&mut self) -> Vec<Drained> {
        let mut out = std::mem::take(&mut self.finished);
        for (level, slot) in self.open.iter_mut().enumerate() {
            out.extend(slot.as_mut().and_then(|t| t.drain(level as u8)));
        }
        if self.bundle_dirty && !self.bundle.is_empty() {
            let value: Arc<[u8]> = Arc::from(self.bundle.concat());
            self.bundle_encoded = Some(value.clone());
            let complete = self.bundle.len() == TILE_WIDTH as usize;
            out.push(Drained {
                key: bundle_key((self.size() - 1) / TILE_WIDTH),
                value,
                complete,
            });
            self.bundle_dirty = false;
        }
        out
    }

    /// The right edge as last drained (or restored).
    pub fn edge(&self) -> Edge {
        let mut values = Vec::with_capacity(TILE_LEVELS + 1);
        for (level, tile) in self.open.iter().enumerate() {
            if let Some((tile, encoded)) = tile
                .as_ref()
                .and_then(|t| t.encoded.as_ref().map(|e| (t, e)))
            {
                values.push((tile_key(level as u8, tile.index), encoded.clone()));
            }
        }
        if let Some(encoded) = &self.bundle_encoded {
            // A drained or restored bundle is never empty.
            let index = (self.size().saturating_sub(1)) / TILE_WIDTH;
            values.push((bundle_key(index), encoded.clone()));
        }
        Edge { values }
    }
}

/// Puts a newly complete node into the open tile of its tile level (opening a new tile at a
/// tile boundary).
fn store_node(
    open: &mut [Option<OpenTile>; TILE_LEVELS],
    finished: &mut Vec<Drained>,
    level: u32,
    index: u64,
    hash: Hash,
) -> Result<(), StateError> {
    let p =
        place(level, index).ok_or_else(|| StateError::Corrupt(format!("node level {level}")))?;
    let slot = open
        .get_mut(usize::from(p.tile_level))
        .ok_or_else(|| StateError::Corrupt(format!("tile level {}", p.tile_level)))?;
    if slot.as_ref().is_none_or(|t| t.index != p.tile_index) {
        if p.j != 0 || p.pos != 0 {
            return Err(StateError::Corrupt(format!(
                "node {level}/{index} opens no tile"
            )));
        }
        // The tile it replaces is full; if it changed since the last drain, keep its last form.
        if let Some(mut done) = slot.replace(OpenTile::new(p.tile_index)) {
            finished.extend(done.drain(p.tile_level));
        }
    }
    let tile = slot
        .as_mut()
        .ok_or_else(|| StateError::Corrupt("no open tile".into()))?;
    let row = &mut tile.levels[p.j as usize];
    if row.len() != p.pos {
        return Err(StateError::Corrupt(format!(
            "node {level}/{index} out of order"
        )));
    }
    row.push(hash);
    tile.dirty = true;
    Ok(())
}

/// A bounded, shared cache of final history values (full tiles and full bundles): they never
/// change, so the writer and every reader may share them without any versioning.
pub struct TileCache {
    shards: Vec<Mutex<TileShard>>,
    budget_per_shard: usize,
}

struct TileShard {
    lru: LruCache<TileKey, Arc<[u8]>>,
    bytes: usize,
}

const TILE_SHARDS: usize = 8;
/// Map and allocation overhead per cached value, roughly.
const TILE_OVERHEAD: usize = 96;

impl TileCache {
    /// A cache of about `budget` bytes.
    pub fn new(budget: usize) -> TileCache {
        let shards = (0..TILE_SHARDS)
            .map(|_| {
                Mutex::new(TileShard {
                    lru: LruCache::unbounded(),
                    bytes: 0,
                })
            })
            .collect();
        TileCache {
            shards,
            budget_per_shard: budget / TILE_SHARDS,
        }
    }

    fn shard(&self, key: &TileKey) -> std::sync::MutexGuard<'_, TileShard> {
        // The low bits of the index spread consecutive tiles over the shards.
        let i = usize::from(key[9]) % TILE_SHARDS;
        // Every mutation is a single call on the map: a poisoned lock still guards a sound map.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value of `key`.
    pub fn get(&self, key: &TileKey) -> Option<Arc<[u8]>> {
        self.shard(key).lru.get(key).cloned()
    }

    /// Caches a final value.
    pub fn put(&self, key: TileKey, value: Arc<[u8]>) {
        let bytes = value.len() + TILE_OVERHEAD;
        let mut shard = self.shard(&key);
        if let Some(old) = shard.lru.put(key, value) {
            shard.bytes = shard.bytes.saturating_sub(old.len() + TILE_OVERHEAD);
        }
        shard.bytes += bytes;
        while shard.bytes > self.budget_per_shard {
            let Some((_, old)) = shard.lru.pop_lru() else {
                break;
            };
            shard.bytes = shard.bytes.saturating_sub(old.len() + TILE_OVERHEAD);
        }
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).bytes)
            .sum()
    }
}

/// Reads the complete node `(level, index)` through `read` (one tile read).
pub fn read_node<V: AsRef<[u8]>>(
    level: u32,
    index: u64,
    read: &mut impl FnMut(&[u8]) -> Result<Option<V>, StateError>,
) -> Result<Hash, StateError> {
    let p =
        place(level, index).ok_or_else(|| StateError::Corrupt(format!("node level {level}")))?;
    let value = read(&tile_key(p.tile_level, p.tile_index))?.ok_or_else(|| {
        StateError::Corrupt(format!(
            "history tile {}/{} is missing",
            p.tile_level, p.tile_index
        ))
    })?;
    TileRef::parse(value.as_ref())?
        .node(p.j, p.pos)
        .ok_or_else(|| StateError::Corrupt(format!("history node {level}/{index} is missing")))
}

/// Fetches the listed complete nodes, reading each tile they live in once: the node set that
/// `qed_core::history::{inclusion,consistency}_proof_nodes` lists for one proof.
pub fn fetch_nodes<V: AsRef<[u8]>>(
    ids: &[NodeId],
    mut read: impl FnMut(&TileKey) -> Result<Option<V>, StateError>,
) -> Result<BTreeMap<NodeId, Hash>, StateError> {
    let mut placed: Vec<(NodePlace, NodeId)> = ids
        .iter()
        .map(|id| place(u32::from(id.level), id.index).map(|p| (p, *id)))
        .collect::<Option<_>>()
        .ok_or_else(|| StateError::Corrupt("history node above level 63".into()))?;
    placed.sort_unstable_by_key(|(p, _)| (p.tile_level, p.tile_index));
    let mut out = BTreeMap::new();
    for group in
        placed.chunk_by(|a, b| (a.0.tile_level, a.0.tile_index) == (b.0.tile_level, b.0.tile_index))
    {
        let Some((first, _)) = group.first() else {
            continue;
        };
        let value = read(&tile_key(first.tile_level, first.tile_index))?.ok_or_else(|| {
            StateError::Corrupt(format!(
                "history tile {}/{} is missing",
                first.tile_level, first.tile_index
            ))
        })?;
        let tile = TileRef::parse(value.as_ref())?;
        for (p, id) in group {
            let hash = tile.node(p.j, p.pos).ok_or_else(|| {
                StateError::Corrupt(format!("history node {}/{} is missing", id.level, id.index))
            })?;
            out.insert(*id, hash);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qed_core::history::{leaf_hash, node_hash};
    use std::collections::HashMap;

    /// The RFC 9162 root computed the textbook way, for comparison.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => qed_core::history::EMPTY_ROOT,
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = 1 << (usize::BITS - (n - 1).leading_zeros() - 1);
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn keep(store: &mut HashMap<Vec<u8>, Vec<u8>>, drained: Vec<Drained>) {
        for d in drained {
            assert_eq!(d.complete, is_complete(&d.key, &d.value));
            store.insert(d.key.to_vec(), d.value.to_vec());
        }
    }

    fn digest(i: u64) -> Hash {
        qed_core::hash::digest(&i.to_be_bytes())
    }

    #[test]
    fn places() {
        assert_eq!(
            place(0, 0),
            Some(NodePlace {
                tile_level: 0,
                tile_index: 0,
                j: 0,
                pos: 0
            })
        );
        assert_eq!(
            place(0, 257),
            Some(NodePlace {
                tile_level: 0,
                tile_index: 1,
                j: 0,
                pos: 1
            })
        );
        assert_eq!(
            place(7, 5),
            Some(NodePlace {
                tile_level: 0,
                tile_index: 2,
                j: 7,
                pos: 1
            })
        );
        assert_eq!(
            place(8, 5),
            Some(NodePlace {
                tile_level: 1,
                tile_index: 0,
                j: 0,
                pos: 5
            })
        );
        assert_eq!(
            place(63, 0),
            Some(NodePlace {
                tile_level: 7,
                tile_index: 0,
                j: 7,
                pos: 0
            })
        );
        assert_eq!(place(64, 0), None);
        assert_eq!(tile_hashes(256), FULL_TILE_HASHES);
        assert_eq!(tile_hashes(1), 1);
        assert_eq!(tile_hashes(3), 4);
    }

    #[test]
    fn roots_match_rfc_and_tiles_hold_every_complete_node() {
        let mut store: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut w = TileWriter::empty();
        let mut leaves = Vec::new();
        assert_eq!(w.root(), mth(&[]));
        for i in 0..70_000u64 {
            let d = digest(i);
            w.append(&d).unwrap();
            leaves.push(d);
            // Flush at irregular group boundaries.
            if i % 977 == 0 || i < 300 {
                keep(&mut store, w.drain());
            }
            if i < 300 || i % 4999 == 0 {
                assert_eq!(w.root(), mth(&leaves), "size {}", i + 1);
            }
        }
        keep(&mut store, w.drain());
        assert_eq!(w.root(), mth(&leaves));
        for (key, value) in &w.edge().values {
            assert_eq!(store[&key.to_vec()], value.to_vec());
        }
        let mut read = |k: &[u8]| Ok(store.get(k).cloned());
        // Every complete node at a few levels equals the recomputed subtree hash.
        for level in [0u32, 1, 7, 8, 9, 15, 16] {
            let span = 1usize << level;
            for index in (0..leaves.len() / span).step_by(97) {
                let want = mth(&leaves[index * span..(index + 1) * span]);
                assert_eq!(
                    read_node(level, index as u64, &mut read).unwrap(),
                    want,
                    "{level}/{index}"
                );
            }
        }
        // Restoring from storage gives the same writer state, and appends continue identically.
        let mut restored = TileWriter::restore(w.size(), w.frontier().to_vec(), &mut read).unwrap();
        assert_eq!(restored.root(), w.root());
        for i in 70_000..70_600u64 {
            w.append(&digest(i)).unwrap();
            restored.append(&digest(i)).unwrap();
        }
        assert_eq!(restored.drain(), w.drain());
        assert_eq!(format!("{:?}", restored.edge()), format!("{:?}", w.edge()));
        assert_eq!(restored.root(), w.root());
        // Bundles give the digests back.
        let bundle = parse_bundle(&store[&bundle_key(3).to_vec()]).unwrap();
        assert_eq!(bundle[5], digest(3 * 256 + 5));
    }

    #[test]
    fn restore_cuts_back_tiles_written_past_the_size() {
        // The stored history ran on to 1,300 leaves; the tree record says 1,000.
        let mut store: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut w = TileWriter::empty();
        let mut at_1000 = None;
        for i in 0..1300u64 {
            if i == 1000 {
                keep(&mut store, w.drain());
                at_1000 = Some((w.frontier().to_vec(), w.root()));
            }
            w.append(&digest(i)).unwrap();
        }
        keep(&mut store, w.drain());
        let (frontier, root) = at_1000.unwrap();
        let mut restored =
            TileWriter::restore(1000, frontier, |k: &[u8]| Ok(store.get(k).cloned())).unwrap();
        assert_eq!((restored.size(), restored.root()), (1000, root));
        // Appending the same leaves again gives the same tree and the same stored values.
        for i in 1000..1300u64 {
            restored.append(&digest(i)).unwrap();
        }
        assert_eq!(restored.root(), w.root());
        for drained in restored.drain() {
            assert_eq!(
                store.get(drained.key.as_slice()).unwrap()[..],
                drained.value[..]
            );
        }
    }

    #[test]
    fn restore_refuses_damage() {
        let mut store: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut w = TileWriter::empty();
        for i in 0..1000u64 {
            w.append(&digest(i)).unwrap();
        }
        keep(&mut store, w.drain());
        let frontier = w.frontier().to_vec();
        let ok = |s: &HashMap<Vec<u8>, Vec<u8>>, f: Vec<Hash>, size| {
            TileWriter::restore(size, f, |k: &[u8]| Ok(s.get(k).cloned())).map(|_| ())
        };
        ok(&store, frontier.clone(), 1000).unwrap();
        assert!(matches!(
            ok(&store, frontier.clone(), 1001),
            Err(StateError::Corrupt(_))
        ));
        let mut bad = frontier.clone();
        bad[0][0] ^= 1;
        assert!(matches!(ok(&store, bad, 1000), Err(StateError::Corrupt(_))));
        let mut cut = store.clone();
        cut.remove(tile_key(0, 3).as_slice());
        assert!(matches!(
            ok(&cut, frontier.clone(), 1000),
            Err(StateError::Corrupt(_))
        ));
        let mut short = store.clone();
        short.get_mut(tile_key(1, 0).as_slice()).unwrap().pop();
        assert!(matches!(
            ok(&short, frontier.clone(), 1000),
            Err(StateError::Corrupt(_))
        ));
        assert!(TileRef::parse(&[]).is_err());
        assert!(TileRef::parse(&[0, 0]).is_err());
        assert!(TileRef::parse(&[1, 1]).is_err());
        assert!(parse_bundle(&[0u8; 33]).is_err());
        assert!(parse_bundle(&[]).is_err());
    }
}
