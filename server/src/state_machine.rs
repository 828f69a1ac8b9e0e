//! The ledger: the replicated state machine over the history tree, the hyper tree and the
//! signed snapshots, stored in RocksDB (see [`crate::storage`]).
//!
//! # Writes
//!
//! [`Ledger::apply`] takes one committed Raft entry (a group of digests) and turns it into one
//! atomic RocksDB write of the history tiles and bundles it completes and the new signed
//! snapshot, WAL on and no fsync: the Raft log is the durable record. The partial tiles and
//! bundle at the right edge stay in memory, published to readers as the edge, and each flush
//! (below) writes them just before its tree record: a group of a few single adds rewrote about
//! 12 KB of them. The hyper pages the apply changes go to an in-memory set of changed pages.
//! Once the set passes its threshold, a thread of its own flushes it: the latest version of
//! each page into the page cache, then one table file of those pages, the tree record (size,
//! hyper root, history frontier) and the opaque applied meta of the size the set ends at,
//! which RocksDB ingests atomically and durably (see `StateDb::ingest`); applies go on with a
//! new set meanwhile.
//!
//! Pages that change in every apply (the upper levels) are so written once per flush rather
//! than once per apply, and RocksDB's work leaves the apply's path: bulk adds ran 1.15 times
//! as fast over a million events, 1.4-1.6 times on a tree of 300,000 (docs/BENCHMARKS.md).
//!
//! The stored tree, applied meta included, is therefore the state of the last flush: after a
//! crash Raft replays the entries applied since. History and snapshots stored past that size
//! are the same ones the replay writes again (the writer cuts the partial tiles back to the
//! stored size on open). Stored meta never claims more than the stored tree: a membership or
//! blank entry's meta waits for the next flush when pages are pending. [`Ledger::flush`]
//! flushes everything and syncs the WAL; a clean close and the Raft snapshot builder call it.
//!
//! Deduplication runs through the hyper tree, which maps every digest to its first version:
//! the group is inserted with tentative versions (`size + i`), and the insert reports the
//! digests that were already present, in the log or earlier in the group. When it reports
//! none, which is the normal case, that single pass is the whole update. Otherwise the new
//! digests are renumbered consecutively and inserted again (the pages the first pass read are
//! then in memory). Nothing is appended and no snapshot is signed for a group of duplicates.
//!
//! The apply runs on one thread. Splitting a large group's hyper insert between two threads
//! (the root's subtrees in two halves) was measured and dropped: on two cores the node is
//! already CPU-bound under bulk adds, the two halves used more CPU in all, and a run to 10M
//! events ended at the same rate (docs/BENCHMARKS.md).
//!
//! Everything is deterministic: replicas fed the same entries write byte-identical trees, and
//! Ed25519 signatures are deterministic too, so with the same key their notes are identical.
//!
//! # Reads
//!
//! A [`LedgerReader`] never blocks the writer and never mixes two versions:
//!
//! - After each write the ledger publishes `(generation, size, latest snapshot, sets of
//!   changed pages)` through an atomically swapped `Arc`; `size()` and `latest()` read only
//!   that.
//! - History proofs read the partial tiles at the right edge from the published edge, and
//!   complete tiles from the cache or the live database. A tile's hashes are those of complete
//!   subtrees, which never change (a partial tile is only ever extended), so any state at least
//!   as new as the published one proves the published size correctly.
//! - Hyper pages do change with every apply, so [`LedgerReader::membership`] and
//!   [`LedgerReader::lookup`] read every page of the published size: they take a RocksDB
//!   snapshot, read the stored tree size in it, and use the published sets of changed pages
//!   down to the one lying on that stored tree; each page comes from those sets, the shared
//!   page cache or the snapshot (the argument is in [`crate::storage::pages`]).
//!
//! An import replaces the whole database with a new generation (see
//! [`crate::storage::db`]); readers holding the old one finish against it, and it is deleted
//! when the last of them lets go.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use qed_core::Hash;
use qed_core::history;
use qed_core::hyper::{self, Changes, Stop, StoreError};
use qed_core::receipt::Receipt;
use qed_core::snapshot::{Checkpoint, Signer, SnapshotJson};
use qed_core::verify::{IncrementalAnswer, MembershipAnswer};
use rocksdb::{DB, ReadOptions, Snapshot, WriteBatch};

use crate::storage::db::{
    CF_HISTORY, CF_HYPER, CF_META, CF_SNAPSHOTS, COLUMN_FAMILIES, DbBudget, StateDb, StateDir,
};
use crate::storage::export::{self, Exported};
use crate::storage::meta::{self, TreeRecord};
use crate::storage::pages::{self, CachedPage, DirtyPages, PageCache, SnapshotPages, WriterPages};
use crate::storage::tiles::{self, Edge, TILE_WIDTH, TileCache, TileKey, TileWriter};

/// The default of [`LedgerOptions::cache_bytes`], in MiB (`qed start --cache-mib`).
///
/// A node with 384 MiB ended runs to 10M events at 402-433 MiB resident, under the 512 MiB that
/// issue 3 allows, and ran the tenth million and membership proofs faster than with 256
/// (docs/BENCHMARKS.md). The flushes' table files need no memtables of their own, which is
/// what made the room.
pub const DEFAULT_CACHE_MIB: usize = 384;

/// Tuning of a [`Ledger`].
#[derive(Debug, Clone, Copy)]
pub struct LedgerOptions {
    /// Memory for caches and write buffers, in bytes: 3/8 for the hyper page cache, 1/8 for
    /// the cache of full history tiles, 1/8 for RocksDB's block cache, 1/8 for its memtables,
    /// and 1/4 for hyper pages changed since the last flush: a set is flushed once it passes
    /// 1/8, while the next one fills (see [`Ledger`]). Memory does not grow with the log beyond
    /// this (plus one apply's pages, RocksDB's and the allocator's fixed overheads).
    pub cache_bytes: usize,
}

impl Default for LedgerOptions {
    /// [`DEFAULT_CACHE_MIB`].
    fn default() -> Self {
        LedgerOptions {
            cache_bytes: DEFAULT_CACHE_MIB << 20,
        }
    }
}

impl LedgerOptions {
    /// `(RocksDB budget, page cache bytes, tile cache bytes, flush threshold bytes)`.
    fn split(&self) -> (DbBudget, usize, usize, usize) {
        let eighth = (self.cache_bytes / 8).max(2 << 20);
        // The page cache holds decoded pages, several hundred to the 4 KiB block that RocksDB
        // caches for one of them, so it gets the larger share; the writer does not fill the
        // block cache (see `WriterPages`), which keeps index and filter blocks and the readers'
        // data blocks.
        (
            DbBudget {
                block_cache: eighth,
                write_buffers: eighth,
            },
            eighth * 3,
            eighth,
            eighth,
        )
    }
}

/// Why a ledger operation failed. [`StateError::status`] gives the HTTP status of docs/API.md.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The thing asked for does not exist: a version beyond the log, any proof of an empty
    /// log, a snapshot size never signed. HTTP 404.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be answered as asked (`start > end`, a version outside the given
    /// snapshot). HTTP 400.
    #[error("{0}")]
    BadRequest(String),
    /// RocksDB or the file system failed. HTTP 500.
    #[error("storage failure: {0}")]
    Storage(String),
    /// Stored state or an import file that does not hold what it must. HTTP 500.
    #[error("corrupt state: {0}")]
    Corrupt(String),
    /// Flushes kept landing under a read, so it found no consistent view (see
    /// [`LedgerReader`]). HTTP 503.
    #[error("the log kept changing during the read; try again")]
    Moved,
}

impl StateError {
    /// The HTTP status for this error (docs/API.md).
    pub fn status(&self) -> u16 {
        match self {
            StateError::NotFound(_) => 404,
            StateError::BadRequest(_) => 400,
            StateError::Storage(_) | StateError::Corrupt(_) => 500,
            StateError::Moved => 503,
        }
    }
}

impl From<rocksdb::Error> for StateError {
    fn from(e: rocksdb::Error) -> Self {
        StateError::Storage(e.into_string())
    }
}

impl From<std::io::Error> for StateError {
    fn from(e: std::io::Error) -> Self {
        StateError::Storage(e.to_string())
    }
}

fn from_hyper(e: StoreError<StateError>) -> StateError {
    match e {
        StoreError::Store(e) => e,
        other => StateError::Corrupt(other.to_string()),
    }
}

fn from_proof(e: history::ProofError<history::MissingNode>) -> StateError {
    match e {
        history::ProofError::OutOfRange(r) => StateError::BadRequest(r.to_string()),
        history::ProofError::Source(m) => StateError::Corrupt(m.to_string()),
    }
}

/// The outcome of one [`Ledger::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// One entry per input digest, in input order.
    pub entries: Vec<AppliedEntry>,
    /// The snapshot covering every entry: the one just signed, or the current one when
    /// nothing was appended; `None` only while the log is empty.
    pub snapshot: Option<SnapshotJson>,
}

/// What happened to one digest of an applied group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppliedEntry {
    /// The version at which the digest is in the log (its first one, for a duplicate).
    pub version: u64,
    /// The digest.
    #[serde(with = "qed_core::json::hex")]
    pub digest: Hash,
    /// True when the digest was already in the log or earlier in the group.
    pub duplicate: bool,
}

/// One database generation with the caches whose contents belong to it.
struct Generation {
    db: StateDb,
    pages: PageCache,
    tiles: TileCache,
}

impl Generation {
    fn new(db: StateDb, budgets: (usize, usize)) -> Generation {
        Generation {
            db,
            pages: PageCache::new(budgets.0),
            tiles: TileCache::new(budgets.1),
        }
    }
}

impl Generation {
    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StateError> {
        self.db.cf(name)
    }
}

/// What readers see: replaced as a whole after every write.
struct Published {
    generation: Arc<Generation>,
    size: u64,
    latest: Option<Arc<SnapshotJson>>,
    /// The partial tiles and bundle at `size`.
    edge: Edge,
    /// The hyper pages changed since the stored tree: the writer's current set, then the set
    /// being flushed, if any.
    dirty: Vec<Arc<DirtyPages>>,
}

/// The in-memory state restored from a generation.
struct Loaded {
    tiles: TileWriter,
    hyper_root: Hash,
    latest: Option<Arc<SnapshotJson>>,
    applied: Option<Vec<u8>>,
}

/// Running totals since open, for metrics and benchmarks.
#[derive(Debug, Default)]
struct Counters {
    applies: AtomicU64,
    appended: AtomicU64,
    duplicates: AtomicU64,
    batch_bytes: AtomicU64,
    hyper_hash_calls: AtomicU64,
    pages_written: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The state machine: owns the state database; single writer. See the module documentation.
pub struct Ledger {
    dir: StateDir,
    signer: Signer,
    /// Page and tile cache budgets of each generation.
    budgets: (usize, usize),
    generation: Arc<Generation>,
    shared: Arc<ArcSwap<Published>>,
    counters: Arc<Counters>,
    tiles: TileWriter,
    hyper_root: Hash,
    latest: Option<Arc<SnapshotJson>>,
    applied: Option<Vec<u8>>,
    /// The hyper pages changed since the stored tree or the set being flushed.
    dirty: Arc<DirtyPages>,
    /// The set of changed pages being written out, by its own thread.
    flushing: Option<Flushing>,
    /// Size of `dirty` at which it is handed to a flush.
    flush_at: usize,
    /// Set when a write failed after the in-memory state moved on: the stored state is behind
    /// what Raft counts as applied, so nothing more is written until a reopen replays the log.
    failed: bool,
}

/// A set of changed hyper pages on its way to RocksDB.
struct Flushing {
    dirty: Arc<DirtyPages>,
    done: std::thread::JoinHandle<Result<(), StateError>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("dir", &self.generation.db.dir())
            .field("size", &self.tiles.size())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir`. Nothing is rebuilt: the history writer restores
    /// its right edge from a few tiles, the hyper tree is read on demand, and the stored
    /// frontier, roots and latest snapshot are cross-checked.
    ///
    /// ```
    /// use qed_server::state_machine::{Ledger, LedgerOptions};
    /// use qed_core::snapshot::Signer;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let signer = Signer::new("example.com/log", &[7; 32])?;
    /// let mut ledger = Ledger::open(dir.path(), signer, LedgerOptions::default())?;
    /// let d = qed_core::hash::digest(b"hello");
    /// let applied = ledger.apply(&[d, d], b"raft log id 1")?;
    /// assert_eq!(applied.entries[0].version, 0);
    /// assert!(applied.entries[1].duplicate);
    /// assert_eq!(ledger.reader().size(), 1);
    /// assert_eq!(ledger.applied_meta().as_deref(), Some(&b"raft log id 1"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(dir: &Path, signer: Signer, opts: LedgerOptions) -> Result<Ledger, StateError> {
        let (budget, pages, tiles, flush_at) = opts.split();
        let budgets = (pages, tiles);
        let dir = StateDir::new(dir, budget)?;
        let generation = Arc::new(Generation::new(dir.open_active()?, budgets));
        let loaded = load(&generation)?;
        let dirty = Arc::new(DirtyPages::new(loaded.tiles.size()));
        let published = Published {
            generation: generation.clone(),
            size: loaded.tiles.size(),
            latest: loaded.latest.clone(),
            edge: loaded.tiles.edge(),
            dirty: vec![dirty.clone()],
        };
        Ok(Ledger {
            dir,
            signer,
            budgets,
            generation,
            shared: Arc::new(ArcSwap::from_pointee(published)),
            counters: Arc::default(),
            tiles: loaded.tiles,
            hyper_root: loaded.hyper_root,
            latest: loaded.latest,
            applied: loaded.applied,
            dirty,
            flushing: None,
            flush_at,
            failed: false,
        })
    }

    /// The opaque meta of the last apply (net stores the last applied Raft log id and
    /// membership there); `None` on a fresh ledger.
    pub fn applied_meta(&self) -> Option<Vec<u8>> {
        self.applied.clone()
    }

    /// The number of events in the log.
    pub fn size(&self) -> u64 {
        self.tiles.size()
    }

    /// Applies one committed entry holding a group of digests: one atomic write with the
    /// history append, the hyper insert, a new signed snapshot (when anything was appended) and
    /// `meta`. Entries come back in input order; a digest already in the log, or earlier in
    /// the group, is a duplicate with its first version and appends nothing.
    pub fn apply(&mut self, digests: &[Hash], meta: &[u8]) -> Result<Applied, StateError> {
        self.check_failed()?;
        let size = self.tiles.size();
        let plan = self.plan(digests, size)?;
        let c = &self.counters;
        Counters::add(&c.applies, 1);
        Counters::add(&c.appended, plan.new.len() as u64);
        Counters::add(&c.duplicates, (plan.entries.len() - plan.new.len()) as u64);
        let Some(changes) = plan.changes else {
            self.write_meta_only(meta)?;
            return Ok(Applied {
                entries: plan.entries,
                snapshot: self.latest.as_deref().cloned(),
            });
        };
        // From here the in-memory state runs ahead of the database until the write succeeds.
        self.failed = true;
        let snapshot = self.append_and_write(&plan.new, changes, meta)?;
        self.failed = false;
        self.flush_when_due()?;
        Ok(Applied {
            entries: plan.entries,
            snapshot: Some(snapshot),
        })
    }

    /// Whether a flush thread is still writing a set of changed pages. While one is, an apply
    /// may wait for it (see `flush_when_due`); otherwise an apply waits on nothing but its own
    /// work.
    pub fn flush_running(&self) -> bool {
        self.flushing
            .as_ref()
            .is_some_and(|f| !f.done.is_finished())
    }

    /// Records meta only (membership changes, blank entries).
    pub fn apply_meta(&mut self, meta: &[u8]) -> Result<(), StateError> {
        self.check_failed()?;
        self.write_meta_only(meta)
    }

    /// Makes everything applied so far durable: [`Ledger::store`] (a flush's table file is
    /// durable once ingested), then a sync of RocksDB's write-ahead log, which holds the
    /// history, the snapshots and an applied meta written alone. A clean close does it too;
    /// after a crash, Raft replays the entries applied since the last flush.
    pub fn flush(&mut self) -> Result<(), StateError> {
        self.store()?;
        self.generation.db.sync()
    }

    /// Writes everything applied so far to RocksDB, without a sync: the changed hyper pages
    /// with the tree record and applied meta, or only the meta when no page is pending (the
    /// stored tree is then the current one). A RocksDB snapshot taken after it holds the whole
    /// applied state.
    pub fn store(&mut self) -> Result<(), StateError> {
        self.check_failed()?;
        self.finish_flush()?;
        if !self.dirty.is_empty() {
            self.start_flush()?;
            return self.finish_flush();
        }
        match self.applied.clone() {
            Some(meta) => self.write_meta_only(&meta),
            None => Ok(()),
        }
    }

    /// Writes the whole state (everything applied so far), from one consistent RocksDB
    /// snapshot, to `file` (the format is in [`crate::storage::export`]; the export syncs).
    pub fn export(&mut self, file: &Path) -> Result<Exported, StateError> {
        self.store()?;
        export::export(&self.generation.db, file)
    }

    /// Replaces the whole state with an export file. The file is read into a new database
    /// generation and checked (checksum, records, and the same consistency checks as `open`)
    /// before one atomic rename makes it live; a crash at any point leaves either the old or
    /// the new state. On error the old state stays in place, untouched.
    pub fn import(&mut self, file: &Path) -> Result<(), StateError> {
        // The state being replaced needs no flush, but its flush thread must be done with it.
        if let Err(e) = self.finish_flush() {
            tracing::warn!("flushing the state an import replaces: {e}");
        }
        let (_, db) = self.dir.create_next(&self.generation.db)?;
        let generation = Arc::new(Generation::new(db, self.budgets));
        let prepared =
            export::import(&generation.db, file).and_then(|stats| Ok((stats, load(&generation)?)));
        let (_stats, loaded) =
            match prepared.and_then(|p| self.dir.activate(&generation.db).map(|()| p)) {
                Ok(p) => p,
                Err(e) => {
                    generation.db.retire();
                    return Err(e);
                }
            };
        let old = std::mem::replace(&mut self.generation, generation);
        old.db.retire();
        self.install(loaded);
        Ok(())
    }

    /// A cheap, cloneable handle for concurrent reads.
    pub fn reader(&self) -> LedgerReader {
        LedgerReader {
            shared: self.shared.clone(),
            counters: self.counters.clone(),
        }
    }

    fn install(&mut self, loaded: Loaded) {
        self.dirty = Arc::new(DirtyPages::new(loaded.tiles.size()));
        self.tiles = loaded.tiles;
        self.hyper_root = loaded.hyper_root;
        self.latest = loaded.latest;
        self.applied = loaded.applied;
        self.failed = false;
        self.publish();
    }

    /// The sets of changed pages, newest first: the current one, then the one being flushed.
    fn dirty_sets(&self) -> Vec<Arc<DirtyPages>> {
        let flushing = self.flushing.as_ref().map(|f| f.dirty.clone());
        std::iter::once(self.dirty.clone())
            .chain(flushing)
            .collect()
    }

    fn publish(&self) {
        self.shared.store(Arc::new(Published {
            generation: self.generation.clone(),
            size: self.tiles.size(),
            latest: self.latest.clone(),
            edge: self.tiles.edge(),
            dirty: self.dirty_sets(),
        }));
    }

    fn check_failed(&self) -> Result<(), StateError> {
        if self.failed {
            return Err(StateError::Storage(
                "an earlier write failed; reopen the ledger to recover".into(),
            ));
        }
        Ok(())
    }

    fn write_meta_only(&mut self, meta: &[u8]) -> Result<(), StateError> {
        self.applied = Some(meta.to_vec());
        // With changes not yet flushed, the meta waits for the flush that writes them: stored
        // meta must never claim more than the stored tree holds.
        if self.dirty.is_empty() && self.flushing.is_none() {
            let mut batch = WriteBatch::default();
            batch.put_cf(self.generation.cf(CF_HYPER)?, meta::KEY_APPLIED, meta);
            self.generation.db.write(batch)?;
        }
        Ok(())
    }

    /// Hands the changed pages to a flush once they pass the threshold, after waiting for the
    /// flush still running, if any: at most two sets are held, which bounds memory when the
    /// disk falls behind.
    fn flush_when_due(&mut self) -> Result<(), StateError> {
        if self.flushing.as_ref().is_some_and(|f| f.done.is_finished()) {
            self.finish_flush()?;
        }
        if self.dirty.bytes() < self.flush_at {
            return Ok(());
        }
        self.finish_flush()?;
        self.start_flush()
    }

    /// Starts writing the current set of changed pages, with the tree record and applied
    /// meta of the current size, on a thread of its own; applies go on with a new set.
    fn start_flush(&mut self) -> Result<(), StateError> {
        let size = self.tiles.size();
        // The partial history tiles and bundle at `size`, which the tree record needs at open
        // (applies store only final ones): written before the flush can write that record.
        let mut batch = WriteBatch::default();
        let history_cf = self.generation.cf(CF_HISTORY)?;
        for (key, value) in self.tiles.edge().values() {
            batch.put_cf(history_cf, key, value);
        }
        self.generation.db.write(batch)?;
        let dirty = std::mem::replace(&mut self.dirty, Arc::new(DirtyPages::new(size)));
        let job = FlushJob {
            generation: self.generation.clone(),
            dirty: dirty.clone(),
            tree: TreeRecord {
                size,
                hyper_root: self.hyper_root,
                frontier: self.tiles.frontier().to_vec(),
            },
            applied: self.applied.clone(),
            counters: self.counters.clone(),
        };
        let done = std::thread::Builder::new()
            .name("qed-flush".into())
            .spawn(move || job.run())?;
        self.flushing = Some(Flushing { dirty, done });
        self.publish();
        Ok(())
    }

    /// Waits for the running flush, if any, and stops showing its set to readers.
    fn finish_flush(&mut self) -> Result<(), StateError> {
        let Some(flushing) = self.flushing.take() else {
            return Ok(());
        };
        let result = flushing
            .done
            .join()
            .unwrap_or_else(|_| Err(StateError::Storage("the flush thread panicked".into())));
        if result.is_err() {
            self.failed = true;
        }
        self.publish();
        // Freeing a set's thousands of page versions took milliseconds of the writer's time;
        // readers may still hold it, and whoever lets go last frees it.
        let dirty = flushing.dirty;
        let _ = std::thread::Builder::new()
            .name("qed-free".into())
            .spawn(move || drop(dirty));
        result
    }

    /// Deduplicates the group against the log and itself, and computes the hyper changes.
    fn plan(&self, digests: &[Hash], size: u64) -> Result<Plan, StateError> {
        let count = u64::try_from(digests.len())
            .map_err(|_| StateError::BadRequest("group too large".into()))?;
        size.checked_add(count)
            .ok_or_else(|| StateError::BadRequest("the log is full".into()))?;
        // Versions below `size + count`, which was just checked, cannot overflow.
        let tentative: Vec<(Hash, u64)> =
            digests.iter().zip(size..).map(|(d, v)| (*d, v)).collect();
        let dirty = self.dirty_sets();
        let store = self.writer_pages(&dirty)?;
        let first = hyper::insert_batch(&store, &tentative).map_err(from_hyper)?;
        if first.existing.is_empty() {
            let entries = tentative
                .iter()
                .map(|(d, v)| AppliedEntry {
                    version: *v,
                    digest: *d,
                    duplicate: false,
                })
                .collect();
            let changes = (!tentative.is_empty()).then_some(first);
            return Ok(Plan {
                entries,
                new: tentative,
                changes,
            });
        }
        let existing: HashMap<usize, u64> = first.existing.iter().copied().collect();
        let mut entries = Vec::with_capacity(digests.len());
        let mut new = Vec::new();
        let mut fresh: HashMap<Hash, u64> = HashMap::new();
        let mut next = size;
        for (i, d) in digests.iter().enumerate() {
            let entry = match existing.get(&i) {
                Some(&v) if v < size => AppliedEntry {
                    version: v,
                    digest: *d,
                    duplicate: true,
                },
                Some(_) => {
                    let v = fresh.get(d).ok_or_else(|| {
                        StateError::Corrupt("a repeated digest has no first occurrence".into())
                    })?;
                    AppliedEntry {
                        version: *v,
                        digest: *d,
                        duplicate: true,
                    }
                }
                None => {
                    fresh.insert(*d, next);
                    new.push((*d, next));
                    next += 1;
                    AppliedEntry {
                        version: next - 1,
                        digest: *d,
                        duplicate: false,
                    }
                }
            };
            entries.push(entry);
        }
        if new.is_empty() {
            return Ok(Plan {
                entries,
                new,
                changes: None,
            });
        }
        Counters::add(&self.counters.hyper_hash_calls, first.hash_calls);
        let second = hyper::insert_batch(&store, &new).map_err(from_hyper)?;
        if !second.existing.is_empty() {
            return Err(StateError::Corrupt(
                "the hyper tree changed between two passes".into(),
            ));
        }
        Ok(Plan {
            entries,
            new,
            changes: Some(second),
        })
    }

    fn writer_pages<'a>(
        &'a self,
        dirty: &'a [Arc<DirtyPages>],
    ) -> Result<WriterPages<'a>, StateError> {
        Ok(WriterPages {
            db: self.generation.db.db(),
            cf: self.generation.cf(CF_HYPER)?,
            cache: &self.generation.pages,
            dirty,
        })
    }

    /// Appends the new digests, signs the snapshot and writes everything in one batch.
    fn append_and_write(
        &mut self,
        new: &[(Hash, u64)],
        changes: Changes,
        meta: &[u8],
    ) -> Result<SnapshotJson, StateError> {
        for (digest, version) in new {
            let got = self.tiles.append(digest)?;
            if got != *version {
                return Err(StateError::Corrupt(format!(
                    "history appended version {got}, expected {version}"
                )));
            }
        }
        let size = self.tiles.size();
        let last = new.last().map(|(d, _)| *d);
        let checkpoint = Checkpoint {
            origin: self.signer.name().to_string(),
            size,
            history_root: self.tiles.root(),
            hyper_root: changes.root,
            event_digest: last,
        };
        let snapshot = SnapshotJson::from_note(self.signer.sign(&checkpoint), &checkpoint);
        let generation = self.generation.clone();
        let mut batch = WriteBatch::default();
        let history_cf = generation.cf(CF_HISTORY)?;
        for drained in self.tiles.drain() {
            // Only final values; the partial ones stay in the published edge, and the next flush
            // stores them (see `start_flush`).
            if drained.complete {
                batch.put_cf(history_cf, drained.key, &drained.value);
                generation.tiles.put(drained.key, drained.value);
            }
        }
        Counters::add(&self.counters.hyper_hash_calls, changes.hash_calls);
        for (id, page) in changes.pages {
            let page = CachedPage {
                written_at: size,
                page: Arc::new(page),
            };
            // Before publishing; the cache gets the page when the set is flushed (see the
            // storage::pages documentation).
            self.dirty.record(id, page);
        }
        batch.put_cf(
            generation.cf(CF_SNAPSHOTS)?,
            meta::snapshot_key(size),
            meta::encode_snapshot(&snapshot)?,
        );
        Counters::add(&self.counters.batch_bytes, batch.size_in_bytes() as u64);
        generation.db.write(batch)?;
        self.hyper_root = changes.root;
        self.latest = Some(Arc::new(snapshot.clone()));
        self.applied = Some(meta.to_vec());
        self.publish();
        Ok(snapshot)
    }
}

/// The outcome of deduplication: entries, the new digests with their versions, and the hyper
/// changes (`None` when nothing is new).
struct Plan {
    entries: Vec<AppliedEntry>,
    new: Vec<(Hash, u64)>,
    changes: Option<Changes>,
}

/// One flush: the latest version of each changed page, the tree record and the applied meta
/// of the size the set ends at, in one table file that RocksDB ingests atomically.
struct FlushJob {
    generation: Arc<Generation>,
    dirty: Arc<DirtyPages>,
    tree: TreeRecord,
    applied: Option<Vec<u8>>,
    counters: Arc<Counters>,
}

impl FlushJob {
    fn run(self) -> Result<(), StateError> {
        let start = std::time::Instant::now();
        let generation = &self.generation;
        let pages = self.dirty.latest_in_key_order();
        for (id, page) in &pages {
            // Before the ingestion makes this state visible to readers: see the storage::pages
            // documentation.
            generation.pages.put(*id, page.clone());
        }
        // The file's keys must increase: pages in id order (which is the order of their
        // encodings), then the records, whose keys sort after every page id (see `meta`).
        let records = pages.iter().map(|(id, page)| {
            (
                id.to_bytes(),
                pages::encode_page(page.written_at, &page.page),
            )
        });
        let applied = self
            .applied
            .map(|a| (meta::KEY_APPLIED.to_vec(), a))
            .into_iter();
        let tree = std::iter::once((meta::KEY_TREE.to_vec(), self.tree.encode()));
        let bytes = generation
            .db
            .ingest(CF_HYPER, records.chain(applied).chain(tree))?;
        Counters::add(&self.counters.pages_written, pages.len() as u64);
        Counters::add(&self.counters.batch_bytes, bytes);
        metrics::histogram!("qed_state_flush_seconds").record(start.elapsed().as_secs_f64());
        metrics::histogram!("qed_state_flush_pages").record(pages.len() as f64);
        Ok(())
    }
}

impl Drop for Ledger {
    /// A clean close stores everything applied, so a reopen needs no replay.
    fn drop(&mut self) {
        if !self.failed
            && let Err(e) = self.flush()
        {
            tracing::error!("flushing the ledger on close: {e}");
        }
    }
}

/// Moves the stored tree's records of a first-format state to where this format keeps them
/// (see `storage::meta`), in one atomic write with the new format record.
fn upgrade_from_v1(generation: &Generation) -> Result<(), StateError> {
    let db = generation.db.db();
    let meta_cf = generation.cf(CF_META)?;
    let hyper_cf = generation.cf(CF_HYPER)?;
    let mut batch = WriteBatch::default();
    for (old, new) in [
        (meta::v1::KEY_TREE, meta::KEY_TREE),
        (meta::v1::KEY_APPLIED, meta::KEY_APPLIED),
    ] {
        if let Some(value) = db.get_cf(meta_cf, old)? {
            batch.put_cf(hyper_cf, new, value);
            batch.delete_cf(meta_cf, old);
        }
    }
    batch.put_cf(meta_cf, meta::KEY_FORMAT, meta::FORMAT);
    generation.db.write(batch)?;
    generation.db.sync()
}

/// Restores the in-memory state from a generation, checking that its records agree.
fn load(generation: &Generation) -> Result<Loaded, StateError> {
    let db = generation.db.db();
    let meta_cf = generation.cf(CF_META)?;
    let hyper_cf = generation.cf(CF_HYPER)?;
    let format = db.get_cf(meta_cf, meta::KEY_FORMAT)?;
    match format.as_deref() {
        Some(f) if f == meta::v1::FORMAT => upgrade_from_v1(generation)?,
        Some(f) if f != meta::FORMAT => {
            return Err(StateError::Corrupt(format!(
                "unknown state format {:?}",
                String::from_utf8_lossy(f)
            )));
        }
        _ => {}
    }
    let tree = db
        .get_cf(hyper_cf, meta::KEY_TREE)?
        .map(|v| TreeRecord::decode(&v))
        .transpose()?;
    let applied = db.get_cf(hyper_cf, meta::KEY_APPLIED)?;
    if format.is_none() {
        if tree.is_some() || applied.is_some() {
            return Err(StateError::Corrupt("state without a format record".into()));
        }
        db.put_cf(meta_cf, meta::KEY_FORMAT, meta::FORMAT)?;
    }
    let Some(tree) = tree.filter(|t| t.size > 0) else {
        return Ok(Loaded {
            tiles: TileWriter::empty(),
            hyper_root: hyper::EMPTY,
            latest: None,
            applied,
        });
    };
    let history_cf = generation.cf(CF_HISTORY)?;
    let tiles = TileWriter::restore(tree.size, tree.frontier, |k| Ok(db.get_cf(history_cf, k)?))?;
    let latest = db
        .get_cf(generation.cf(CF_SNAPSHOTS)?, meta::snapshot_key(tree.size))?
        .ok_or_else(|| {
            StateError::Corrupt(format!("no snapshot of the current size {}", tree.size))
        })?;
    let latest = meta::decode_snapshot(&latest)?;
    let hex = qed_core::hash::to_hex;
    if latest.size != tree.size
        || latest.history_digest != hex(&tiles.root())
        || latest.hyper_digest != hex(&tree.hyper_root)
    {
        return Err(StateError::Corrupt(
            "the latest snapshot does not match the stored trees".into(),
        ));
    }
    let pages = WriterPages {
        db,
        cf: generation.cf(CF_HYPER)?,
        cache: &generation.pages,
        dirty: &[],
    };
    if hyper::root(&pages).map_err(from_hyper)? != tree.hyper_root {
        return Err(StateError::Corrupt(
            "the hyper root page does not match the tree record".into(),
        ));
    }
    Ok(Loaded {
        tiles,
        hyper_root: tree.hyper_root,
        latest: Some(Arc::new(latest)),
        applied,
    })
}

/// How many times a read starts over before answering [`StateError::Moved`].
const READ_ATTEMPTS: usize = 64;

/// The signed snapshot of a published state.
fn latest_snapshot(published: &Published) -> Result<SnapshotJson, StateError> {
    published
        .latest
        .as_deref()
        .cloned()
        .ok_or_else(|| StateError::NotFound("the log is empty".into()))
}

/// Concurrent read access to a [`Ledger`]: `Clone + Send + Sync`, never blocks the writer, and
/// every answer comes from one committed state (see the module documentation).
#[derive(Clone)]
pub struct LedgerReader {
    shared: Arc<ArcSwap<Published>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for LedgerReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerReader")
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

/// One consistent view for a hyper read at the published size: a RocksDB snapshot of a stored
/// tree, and the sets of pages changed since that tree.
struct View<'a> {
    published: &'a Published,
    snapshot: Snapshot<'a>,
    dirty: &'a [Arc<DirtyPages>],
}

impl View<'_> {
    fn db(&self) -> &DB {
        self.published.generation.db.db()
    }

    fn pages(&self) -> Result<SnapshotPages<'_>, StateError> {
        let generation = &self.published.generation;
        Ok(SnapshotPages {
            db: self.db(),
            cf: generation.cf(CF_HYPER)?,
            snapshot: &self.snapshot,
            size: self.published.size,
            cache: &generation.pages,
            dirty: self.dirty,
        })
    }
}

impl LedgerReader {
    fn published(&self) -> Arc<Published> {
        self.shared.load_full()
    }

    /// Runs `f` on a consistent view of the latest committed state. It starts over when a
    /// whole flush lands between loading the state and taking the snapshot, which takes a
    /// flush within a few instructions: a few attempts are plenty.
    fn with_view<R>(
        &self,
        f: impl FnOnce(&View<'_>) -> Result<R, StateError>,
    ) -> Result<R, StateError> {
        for _ in 0..READ_ATTEMPTS {
            let published = self.published();
            let db = published.generation.db.db();
            let snapshot = db.snapshot();
            let mut opts = ReadOptions::default();
            opts.set_snapshot(&snapshot);
            let tree =
                db.get_pinned_cf_opt(published.generation.cf(CF_HYPER)?, meta::KEY_TREE, &opts)?;
            let stored = tree
                .map(|v| TreeRecord::decode(&v))
                .transpose()?
                .map_or(0, |t| t.size);
            // The sets down to the one lying on the snapshot's tree.
            let Some(n) = published.dirty.iter().position(|d| d.since() == stored) else {
                std::thread::yield_now();
                continue;
            };
            return f(&View {
                published: &published,
                snapshot,
                dirty: &published.dirty[..=n],
            });
        }
        Err(StateError::Moved)
    }

    /// The number of events in the log (the latest snapshot's size; 0 when empty).
    pub fn size(&self) -> u64 {
        self.shared.load().size
    }

    /// The latest signed snapshot; `None` on an empty log.
    pub fn latest(&self) -> Option<SnapshotJson> {
        self.shared.load().latest.as_deref().cloned()
    }

    /// The signed snapshot of `size`, if this node signed one (one per applied group).
    ///
    /// A storage failure is logged and answered as `None`.
    pub fn snapshot_at(&self, size: u64) -> Option<SnapshotJson> {
        self.try_snapshot_at(size).unwrap_or_else(|e| {
            tracing::error!("reading the snapshot of size {size}: {e}");
            None
        })
    }

    /// [`LedgerReader::snapshot_at`] with storage failures reported.
    pub fn try_snapshot_at(&self, size: u64) -> Result<Option<SnapshotJson>, StateError> {
        let published = self.published();
        if size == 0 || size > published.size {
            return Ok(None);
        }
        let generation = &published.generation;
        let value = generation
            .db
            .db()
            .get_pinned_cf(generation.cf(CF_SNAPSHOTS)?, meta::snapshot_key(size))?;
        value.map(|v| meta::decode_snapshot(&v)).transpose()
    }

    /// The receipt of an applied entry: its inclusion proof in `snapshot`'s size.
    pub fn receipt(
        &self,
        entry: &AppliedEntry,
        snapshot: &SnapshotJson,
    ) -> Result<Receipt, StateError> {
        let published = self.published();
        if snapshot.size > published.size {
            return Err(StateError::NotFound(format!(
                "snapshot of size {} is beyond the log of size {}",
                snapshot.size, published.size
            )));
        }
        if entry.version >= snapshot.size {
            return Err(StateError::BadRequest(format!(
                "version {} is not covered by the snapshot of size {}",
                entry.version, snapshot.size
            )));
        }
        let proof = inclusion(&published, entry.version, snapshot.size)?;
        Ok(Receipt {
            version: entry.version,
            digest: entry.digest,
            duplicate: entry.duplicate,
            snapshot: snapshot.clone(),
            proof,
        })
    }

    /// Membership of `digest` as of `version` (the latest when `None`), against the current
    /// snapshot (protocol section 5).
    pub fn membership(
        &self,
        digest: &Hash,
        version: Option<u64>,
    ) -> Result<MembershipAnswer, StateError> {
        self.with_view(|view| {
            let size = view.published.size;
            let last = size
                .checked_sub(1)
                .ok_or_else(|| StateError::NotFound("the log is empty".into()))?;
            let q = version.unwrap_or(last);
            if q > last {
                return Err(StateError::NotFound(format!(
                    "version {q} is beyond the log (latest version {last})"
                )));
            }
            let hyper_proof = hyper::prove(&view.pages()?, digest).map_err(from_hyper)?;
            let found = match hyper_proof.stop {
                Stop::Leaf { key, version } if key == *digest => Some(version),
                _ => None,
            };
            let member = found.filter(|v| *v <= q);
            // `q < size`, so `q + 1` cannot overflow.
            let inclusion_proof = member
                .map(|v| inclusion(view.published, v, q + 1))
                .transpose()?;
            let consistency_proof = (q + 1 < size)
                .then(|| consistency(view.published, q + 1, size))
                .transpose()?;
            Ok(MembershipAnswer {
                digest: *digest,
                query_version: q,
                member: member.is_some(),
                version: found,
                snapshot: latest_snapshot(view.published)?,
                hyper_proof,
                inclusion_proof,
                consistency_proof,
            })
        })
    }

    /// The consistency proof between versions `start <= end` (sizes `start + 1`, `end + 1`).
    pub fn incremental(&self, start: u64, end: u64) -> Result<IncrementalAnswer, StateError> {
        if start > end {
            return Err(StateError::BadRequest(format!(
                "start {start} is greater than end {end}"
            )));
        }
        let published = self.published();
        let last = published
            .size
            .checked_sub(1)
            .ok_or_else(|| StateError::NotFound("the log is empty".into()))?;
        if end > last {
            return Err(StateError::NotFound(format!(
                "version {end} is beyond the log (latest version {last})"
            )));
        }
        // `end < size`: neither addition overflows.
        let proof = consistency(&published, start + 1, end + 1)?;
        Ok(IncrementalAnswer { start, end, proof })
    }

    /// The digest at `version` with its inclusion proof in the latest snapshot
    /// (`duplicate` is false).
    pub fn leaf(&self, version: u64) -> Result<Receipt, StateError> {
        let published = self.published();
        let (Some(latest), true) = (&published.latest, version < published.size) else {
            return Err(StateError::NotFound(format!(
                "version {version} is beyond the log of size {}",
                published.size
            )));
        };
        let value = read_history(
            &published,
            &tiles::bundle_key(version / TILE_WIDTH),
            published.size,
        )?
        .ok_or_else(|| {
            StateError::Corrupt(format!("entry bundle of version {version} is missing"))
        })?;
        let at = (version % TILE_WIDTH) as usize * 32;
        let digest: Hash = value
            .as_ref()
            .get(at..at + 32)
            .and_then(|d| d.try_into().ok())
            .ok_or_else(|| {
                StateError::Corrupt(format!("entry bundle of version {version} is short"))
            })?;
        let proof = inclusion(&published, version, published.size)?;
        Ok(Receipt {
            version,
            digest,
            duplicate: false,
            snapshot: (**latest).clone(),
            proof,
        })
    }

    /// The version at which `digest` was first added, if it is in the log.
    pub fn lookup(&self, digest: &Hash) -> Result<Option<u64>, StateError> {
        self.with_view(|view| hyper::get(&view.pages()?, digest).map_err(from_hyper))
    }

    /// Writes the whole state, from one consistent RocksDB snapshot, to `file` (the format is
    /// in [`crate::storage::export`]). Runs beside the writer.
    pub fn export(&self, file: &Path) -> Result<Exported, StateError> {
        export::export(&self.published().generation.db, file)
    }

    /// Cache and storage figures for metrics.
    pub fn stats(&self) -> LedgerStats {
        let published = self.published();
        let db = published.generation.db.db();
        // Summed over the column families: RocksDB answers a property for one at a time.
        let int = |name: &str| {
            COLUMN_FAMILIES
                .iter()
                .filter_map(|cf| published.generation.cf(cf).ok())
                .map(|cf| {
                    db.property_int_value_cf(cf, name)
                        .ok()
                        .flatten()
                        .unwrap_or(0)
                })
                .sum::<u64>()
        };
        let c = &self.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        LedgerStats {
            size: published.size,
            applies: get(&c.applies),
            appended: get(&c.appended),
            duplicates: get(&c.duplicates),
            batch_bytes: get(&c.batch_bytes),
            hyper_hash_calls: get(&c.hyper_hash_calls),
            pages_written: get(&c.pages_written),
            page_cache_pages: published.generation.pages.len() as u64,
            page_cache_bytes: published.generation.pages.bytes() as u64,
            memtable_bytes: int("rocksdb.cur-size-all-mem-tables"),
            // One cache shared by every column family.
            block_cache_bytes: published
                .generation
                .cf(CF_META)
                .ok()
                .and_then(|cf| {
                    db.property_int_value_cf(cf, "rocksdb.block-cache-usage")
                        .ok()
                        .flatten()
                })
                .unwrap_or(0),
            tile_cache_bytes: published.generation.tiles.bytes() as u64,
            sst_bytes: int("rocksdb.total-sst-files-size"),
        }
    }
}

/// Figures of a ledger for metrics (see [`LedgerReader::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LedgerStats {
    /// Events in the log.
    pub size: u64,
    /// Applies with digests since open (including groups of duplicates).
    pub applies: u64,
    /// Digests appended since open.
    pub appended: u64,
    /// Duplicate digests answered since open.
    pub duplicates: u64,
    /// Bytes of the write batches and flushed table files since open (what the ledger asked
    /// RocksDB to write).
    pub batch_bytes: u64,
    /// SHA-256 calls of hyper tree inserts since open.
    pub hyper_hash_calls: u64,
    /// Hyper pages written since open.
    pub pages_written: u64,
    /// Pages in the hyper page cache.
    pub page_cache_pages: u64,
    /// Approximate bytes of the hyper page cache.
    pub page_cache_bytes: u64,
    /// Approximate bytes of the cache of full history tiles.
    pub tile_cache_bytes: u64,
    /// RocksDB memtables (all column families).
    pub memtable_bytes: u64,
    /// RocksDB block cache usage.
    pub block_cache_bytes: u64,
    /// Size of RocksDB's table files.
    pub sst_bytes: u64,
}

/// A history value as a reader gets it: shared from memory, or pinned in RocksDB.
enum Blob<'a> {
    Shared(Arc<[u8]>),
    Pinned(rocksdb::DBPinnableSlice<'a>),
}

impl AsRef<[u8]> for Blob<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Blob::Shared(v) => v,
            Blob::Pinned(v) => v,
        }
    }
}

/// Reads a history value for a proof in a tree of `size` leaves: from the published edge
/// (valid for any size up to the published one), from the cache of final values, or from the
/// live database (caching it if it is final). History values never lose nodes, so the live
/// database is always new enough.
fn read_history<'a>(
    published: &'a Published,
    key: &TileKey,
    size: u64,
) -> Result<Option<Blob<'a>>, StateError> {
    if size <= published.size
        && let Some(value) = published.edge.get(key)
    {
        return Ok(Some(Blob::Shared(value.clone())));
    }
    let generation = &published.generation;
    if let Some(value) = generation.tiles.get(key) {
        return Ok(Some(Blob::Shared(value)));
    }
    let Some(value) = generation
        .db
        .db()
        .get_pinned_cf(generation.cf(CF_HISTORY)?, key)?
    else {
        return Ok(None);
    };
    if tiles::is_complete(key, &value) {
        let shared: Arc<[u8]> = Arc::from(&value[..]);
        generation.tiles.put(*key, shared.clone());
        return Ok(Some(Blob::Shared(shared)));
    }
    Ok(Some(Blob::Pinned(value)))
}

/// The inclusion proof of `index` in `size` (both checked by the caller).
fn inclusion(published: &Published, index: u64, size: u64) -> Result<Vec<Hash>, StateError> {
    let ids = history::inclusion_proof_nodes(index, size)
        .map_err(|e| StateError::BadRequest(e.to_string()))?;
    let nodes = tiles::fetch_nodes(&ids, |key| read_history(published, key, size))?;
    history::inclusion_proof(&nodes, index, size).map_err(from_proof)
}

/// The consistency proof from `size1` to `size2` (both checked by the caller).
fn consistency(published: &Published, size1: u64, size2: u64) -> Result<Vec<Hash>, StateError> {
    let ids = history::consistency_proof_nodes(size1, size2)
        .map_err(|e| StateError::BadRequest(e.to_string()))?;
    let nodes = tiles::fetch_nodes(&ids, |key| read_history(published, key, size2))?;
    history::consistency_proof(&nodes, size1, size2).map_err(from_proof)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(StateError::NotFound("x".into()).status(), 404);
        assert_eq!(StateError::BadRequest("x".into()).status(), 400);
        assert_eq!(StateError::Storage("x".into()).status(), 500);
        assert_eq!(StateError::Corrupt("x".into()).status(), 500);
        assert_eq!(StateError::Moved.status(), 503);
    }

    #[test]
    fn options_split_the_budget() {
        let (db, pages, tiles, flush) = LedgerOptions {
            cache_bytes: 400 << 20,
        }
        .split();
        assert_eq!(db.block_cache, 50 << 20);
        assert_eq!(db.write_buffers, 50 << 20);
        assert_eq!(pages, 150 << 20);
        assert_eq!(tiles, 50 << 20);
        assert_eq!(flush, 50 << 20);
    }
}
