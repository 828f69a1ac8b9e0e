//! The state directory (`-p`): one RocksDB database with the ledger's column families, and the
//! generation switch that lets an import replace the whole database atomically.
//!
//! Layout of the directory:
//!
//! ```text
//! <dir>/ACTIVE          the name of the live database directory, e.g. "state-000003"
//! <dir>/state-000003/   the RocksDB database
//! ```
//!
//! An import builds `state-000004` beside the live one, closes it, and then replaces `ACTIVE`
//! by writing `ACTIVE.tmp`, syncing it and renaming it over `ACTIVE` (a rename is atomic on
//! POSIX file systems). A crash before the rename leaves the old state live; after it, the new
//! one. Whatever `ACTIVE` does not name is left over from such a crash or from a replaced
//! generation, and is deleted at the next open.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompactionStyle,
    DBCompressionType, Env, IngestExternalFileOptions, Options, SstFileWriter, WriteBatch,
    WriteOptions,
};

use crate::state_machine::StateError;

/// Complete history subtrees, as tiles of hashes (see `tiles`), and the entry bundles
/// (the digests by version).
pub const CF_HISTORY: &str = "history";
/// Hyper tree pages keyed by their page id, and the stored tree's records (see `meta`).
pub const CF_HYPER: &str = "hyper";
/// Tree size (big-endian) -> the signed snapshot of that size.
pub const CF_SNAPSHOTS: &str = "snapshots";
/// The storage format record.
pub const CF_META: &str = "meta";

/// Every column family, in the order the export file numbers them.
pub const COLUMN_FAMILIES: [&str; 4] = [CF_HISTORY, CF_HYPER, CF_SNAPSHOTS, CF_META];

const ACTIVE: &str = "ACTIVE";
const ACTIVE_TMP: &str = "ACTIVE.tmp";
const GENERATION_PREFIX: &str = "state-";
/// Where [`StateDb::ingest`] writes its table file, inside the generation's directory: one at
/// a time, and whatever a crash left there is removed at the next open.
const INGEST_FILE: &str = "ingest.sst.tmp";

/// How the memory budget is split between RocksDB and the ledger's own caches.
#[derive(Debug, Clone, Copy)]
pub struct DbBudget {
    /// RocksDB's block cache (data, index and filter blocks of every column family).
    pub block_cache: usize,
    /// All memtables together.
    pub write_buffers: usize,
}

/// One open generation of the state database.
///
/// Readers hold it through an `Arc`; when an import replaces it, the last holder to let go
/// closes the database and deletes its directory (fields drop in declaration order, so `db`
/// closes before `retire` runs).
pub struct StateDb {
    db: DB,
    retire: Retire,
}

/// Deletes a replaced generation's directory once its database is closed.
struct Retire {
    dir: PathBuf,
    retired: AtomicBool,
}

impl Drop for Retire {
    fn drop(&mut self) {
        if self.retired.load(Ordering::Acquire) {
            // Best effort: a directory left behind is removed at the next open.
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl StateDb {
    /// The RocksDB handle.
    pub fn db(&self) -> &DB {
        &self.db
    }

    /// The directory of this generation.
    pub fn dir(&self) -> &Path {
        &self.retire.dir
    }

    /// Handle of a column family that `open` created.
    pub fn cf(&self, name: &str) -> Result<&ColumnFamily, StateError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StateError::Storage(format!("column family {name} is missing")))
    }

    /// Writes one batch: WAL on, no fsync (the Raft log is the durable record, see the module
    /// documentation of `state_machine`).
    pub fn write(&self, batch: WriteBatch) -> Result<(), StateError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(false);
        opts.disable_wal(false);
        Ok(self.db.write_opt(batch, &opts)?)
    }

    /// Adds `records` (keys strictly increasing) to column family `name` as one table file,
    /// atomically: a reader's snapshot holds all of them or none, and they are durable when
    /// this returns (the file and RocksDB's manifest are synced).
    ///
    /// Why not a write batch: the hyper pages of a flush are tens of megabytes, and as a batch
    /// they went through the write-ahead log, a memtable and then a table file, and every
    /// apply's small write waited behind them in RocksDB's single write queue. A file built
    /// directly and ingested skips the first two and the queue: on fresh loads of a million
    /// bulk adds, node CPU fell by a tenth, the apply's own writes took a quarter of the time,
    /// and bulk adds ran 1.04-1.11 times as fast (docs/BENCHMARKS.md).
    ///
    /// `records` must not be empty. Returns the bytes of the file.
    pub fn ingest<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        name: &str,
        records: impl IntoIterator<Item = (K, V)>,
    ) -> Result<u64, StateError> {
        let cf = self.cf(name)?;
        let path = self.dir().join(INGEST_FILE);
        let opts = table_file_options(name);
        let mut writer = SstFileWriter::create(&opts);
        writer.open(&path)?;
        for (key, value) in records {
            writer.put(key, value)?;
        }
        writer.finish()?;
        let bytes = writer.file_size();
        let mut ingest = IngestExternalFileOptions::default();
        // Linked into the database rather than copied.
        ingest.set_move_files(true);
        let result = self
            .db
            .ingest_external_file_cf_opts(cf, &ingest, vec![&path]);
        // RocksDB removes the name on success; after a failure the file is ours to remove.
        let _ = fs::remove_file(&path);
        result?;
        Ok(bytes)
    }

    /// Makes every write so far durable: syncs the write-ahead log, which holds every batch not
    /// yet flushed to table files.
    pub fn sync(&self) -> Result<(), StateError> {
        Ok(self.db.flush_wal(true)?)
    }

    /// Marks this generation as replaced: its directory goes when the database closes.
    pub fn retire(&self) {
        self.retire.retired.store(true, Ordering::Release);
    }
}

/// The `-p` directory: finds the live generation, opens it, and switches to a new one.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
    shared: Shared,
    budget: DbBudget,
}

/// What every generation opened through one [`StateDir`] shares: the block cache and the
/// environment whose compaction threads run at a low CPU priority. RocksDB's handles are not
/// `Debug`; this wrapper is.
#[derive(Clone)]
struct Shared {
    cache: Cache,
    env: Env,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rocksdb::{Cache, Env}")
    }
}

impl StateDir {
    /// Prepares the directory `root` (created if missing) with one block cache shared by every
    /// generation opened through it.
    pub fn new(root: &Path, budget: DbBudget) -> Result<StateDir, StateError> {
        fs::create_dir_all(root)?;
        let cache = Cache::new_lru_cache(budget.block_cache.max(1 << 20))?;
        // Compaction only has to keep up on average, while the request threads answer clients
        // waiting now: on two shared cores a compaction running at the same priority took turns
        // with the apply and the HTTP workers. At the lowest priority it runs in their idle time
        // (bulk adds at 5 million events: 19,800-23,900 against 18,200-18,400 events/s; paced
        // single adds: p99 61-65 against 68 ms). Should it fall far behind, RocksDB's own write
        // slowdown gives it the time.
        let mut env = Env::new()?;
        env.lower_thread_pool_cpu_priority();
        Ok(StateDir {
            root: root.to_path_buf(),
            shared: Shared { cache, env },
            budget,
        })
    }

    /// Opens the live generation (creating the first one on a fresh directory) and deletes
    /// whatever a crashed import or a replaced generation left behind.
    pub fn open_active(&self) -> Result<StateDb, StateError> {
        let name = match self.read_active()? {
            Some(name) => name,
            None => {
                let name = generation_name(0);
                self.write_active(&name)?;
                name
            }
        };
        self.remove_stale(&name)?;
        self.open_generation(&name)
    }

    /// Creates a fresh, empty generation after `current` for an import to fill.
    pub fn create_next(&self, current: &StateDb) -> Result<(String, StateDb), StateError> {
        let number = generation_number(current.dir())
            .unwrap_or(0)
            .saturating_add(1);
        let name = generation_name(number);
        let dir = self.root.join(&name);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        let db = self.open_generation(&name)?;
        Ok((name, db))
    }

    /// Deletes a generation that will never become live (a failed import).
    pub fn discard(&self, db: StateDb) {
        db.retire();
        drop(db);
    }

    /// Makes `db` (made by [`StateDir::create_next`], its contents durable) the live
    /// generation: one atomic rename of the pointer file.
    pub fn activate(&self, db: &StateDb) -> Result<(), StateError> {
        let name = db
            .dir()
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| StateError::Storage("generation directory has no name".into()))?;
        self.write_active(name)
    }

    /// Flushes every column family's memtable to table files, so the database's contents are
    /// durable even where they were written without the WAL.
    pub fn flush_all(db: &StateDb) -> Result<(), StateError> {
        for name in COLUMN_FAMILIES {
            db.db().flush_cf(db.cf(name)?)?;
        }
        Ok(())
    }

    fn open_generation(&self, name: &str) -> Result<StateDb, StateError> {
        let dir = self.root.join(name);
        match fs::remove_file(dir.join(INGEST_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        let (opts, cfs) = self.options();
        let db = DB::open_cf_descriptors(&opts, &dir, cfs)?;
        Ok(StateDb {
            db,
            retire: Retire {
                dir,
                retired: AtomicBool::new(false),
            },
        })
    }

    fn read_active(&self) -> Result<Option<String>, StateError> {
        let path = self.root.join(ACTIVE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let name = text.trim();
                if generation_number(Path::new(name)).is_none() {
                    return Err(StateError::Corrupt(format!(
                        "{} names no state generation: {name:?}",
                        path.display()
                    )));
                }
                Ok(Some(name.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn write_active(&self, name: &str) -> Result<(), StateError> {
        let tmp = self.root.join(ACTIVE_TMP);
        let mut file = fs::File::create(&tmp)?;
        file.write_all(name.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&tmp, self.root.join(ACTIVE))?;
        // The rename itself is durable only once the directory is synced.
        fs::File::open(&self.root)?.sync_all()?;
        Ok(())
    }

    fn remove_stale(&self, live: &str) -> Result<(), StateError> {
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stale_generation = name != live && generation_number(Path::new(name)).is_some();
            if stale_generation {
                fs::remove_dir_all(entry.path())?;
            } else if name == ACTIVE_TMP {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    /// Database and column-family options. Hashes do not compress, so nothing is compressed;
    /// index and filter blocks live in the shared block cache so that memory stays within the
    /// budget however large the log grows.
    fn options(&self) -> (Options, Vec<ColumnFamilyDescriptor>) {
        let mut db = Options::default();
        db.create_if_missing(true);
        db.create_missing_column_families(true);
        // One flush and up to three compactions at once: with one, a merge of the largest hyper
        // runs (hundreds of megabytes at 10M events) held the only slot for seconds while
        // flushes piled up small runs behind it (docs/BENCHMARKS.md). The threads run at the
        // lowest CPU priority (see `Shared`).
        db.set_max_background_jobs(4);
        db.set_env(&self.shared.env);
        db.set_db_write_buffer_size(self.budget.write_buffers);
        // Bound the WAL: past this, RocksDB flushes the column families that pin old WAL files.
        db.set_max_total_wal_size(self.budget.write_buffers as u64 * 2);
        db.set_keep_log_file_num(4);
        db.set_max_log_file_size(16 << 20);
        // Write files back to disk a megabyte at a time as they grow, the WAL included (it is
        // never fsynced here): on ext4 an fsync commits the journal, which first writes out the
        // data of every file whose blocks it allocated, so megabytes left to background
        // writeback made the Raft log's small fsyncs take 50-120 ms now and then.
        db.set_bytes_per_sync(1 << 20);
        db.set_wal_bytes_per_sync(1 << 20);
        let cfs = COLUMN_FAMILIES
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, self.cf_options(name)))
            .collect();
        (db, cfs)
    }

    fn cf_options(&self, name: &str) -> Options {
        let mut table = table_options(name);
        table.set_block_cache(&self.shared.cache);
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        let mut cf = Options::default();
        cf.set_block_based_table_factory(&table);
        cf.set_compression_type(DBCompressionType::None);
        cf.set_level_compaction_dynamic_level_bytes(true);
        // The hyper pages arrive as ingested table files (see `StateDb::ingest`): its memtable
        // only ever holds the applied meta of an apply with no pages pending.
        let share = match name {
            CF_HISTORY => self.budget.write_buffers / 2,
            CF_HYPER => 0,
            _ => self.budget.write_buffers / 16,
        };
        cf.set_write_buffer_size(share.max(1 << 20));
        cf.set_max_write_buffer_number(2);
        if name == CF_HYPER {
            Self::hyper_options(&mut cf);
        }
        cf
    }

    /// The hyper pages are rewritten in place at random keys all over the key space, so every
    /// flushed table overlaps the whole column family. Leveled compaction then rewrote most of
    /// the largest level for every few flushes: at 3-4 million events compaction took most of
    /// a core. Universal compaction merges runs of similar size instead, writing each page far
    /// fewer times; reads consult a few more runs, each behind a bloom filter.
    ///
    /// Each flush of changed pages adds one run (its table file), and RocksDB slows down every
    /// write to the database, the applies' included, while a column family holds more runs
    /// than its trigger: at the default of 20 runs, writes waited behind merges of the largest
    /// runs six times between 6M and 10M events. Runs are cheap to read past (each has a bloom
    /// filter), so writes slow down only at twice that.
    fn hyper_options(cf: &mut Options) {
        cf.set_compaction_style(DBCompactionStyle::Universal);
        cf.set_level_zero_slowdown_writes_trigger(40);
        cf.set_level_zero_stop_writes_trigger(60);
    }
}

/// The table format of column family `name`, shared by the database and the files that
/// [`StateDb::ingest`] builds.
fn table_options(name: &str) -> BlockBasedOptions {
    let mut table = BlockBasedOptions::default();
    table.set_format_version(5);
    if name == CF_HYPER {
        // Point lookups of pages that may not exist yet: a bloom filter answers those misses
        // from memory.
        table.set_bloom_filter(10.0, false);
    }
    table
}

/// Options for building a table file of column family `name` outside the database.
fn table_file_options(name: &str) -> Options {
    let mut opts = Options::default();
    opts.set_block_based_table_factory(&table_options(name));
    opts.set_compression_type(DBCompressionType::None);
    // As the database's own files: written back as they grow, not all at the final sync.
    opts.set_bytes_per_sync(1 << 20);
    opts
}

fn generation_name(number: u64) -> String {
    format!("{GENERATION_PREFIX}{number:06}")
}

/// The number of a generation directory name (`state-000012` -> 12), or `None` for any
/// other name.
fn generation_number(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_prefix(GENERATION_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> DbBudget {
        DbBudget {
            block_cache: 8 << 20,
            write_buffers: 8 << 20,
        }
    }

    #[test]
    fn generation_names_round_trip() {
        assert_eq!(generation_number(Path::new(&generation_name(42))), Some(42));
        assert_eq!(generation_number(Path::new("/x/state-000007")), Some(7));
        assert_eq!(generation_number(Path::new("state-")), None);
        assert_eq!(generation_number(Path::new("state-12a")), None);
        assert_eq!(generation_number(Path::new("ACTIVE")), None);
    }

    #[test]
    fn fresh_directory_gets_generation_zero_and_stale_ones_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::new(tmp.path(), budget()).unwrap();
        let db = dir.open_active().unwrap();
        assert!(db.dir().ends_with("state-000000"));
        let (name, next) = dir.create_next(&db).unwrap();
        assert_eq!(name, "state-000001");
        drop(next);
        drop(db);
        // A crash before activation: the next open keeps generation 0 and removes generation 1.
        let db = dir.open_active().unwrap();
        assert!(db.dir().ends_with("state-000000"));
        assert!(!tmp.path().join("state-000001").exists());
    }

    #[test]
    fn activation_switches_generations_and_retired_ones_vanish() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::new(tmp.path(), budget()).unwrap();
        let old = dir.open_active().unwrap();
        let (name, new) = dir.create_next(&old).unwrap();
        assert_eq!(name, "state-000001");
        let cf = new.cf(CF_META).unwrap();
        new.db().put_cf(cf, b"k", b"v").unwrap();
        StateDir::flush_all(&new).unwrap();
        dir.activate(&new).unwrap();
        old.retire();
        let old_dir = old.dir().to_path_buf();
        drop(old);
        assert!(!old_dir.exists());
        assert_eq!(
            new.db()
                .get_cf(new.cf(CF_META).unwrap(), b"k")
                .unwrap()
                .as_deref(),
            Some(&b"v"[..])
        );
        drop(new);
        let again = dir.open_active().unwrap();
        assert!(again.dir().ends_with("state-000001"));
    }

    #[test]
    fn garbage_in_active_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(ACTIVE), "../../etc\n").unwrap();
        let dir = StateDir::new(tmp.path(), budget()).unwrap();
        assert!(matches!(dir.open_active(), Err(StateError::Corrupt(_))));
    }
}
