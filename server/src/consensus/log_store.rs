//! The Raft log and vote in their own RocksDB (under `--raftpath`).
//!
//! Appends are written to RocksDB at once (so replication can read them back) and made durable by
//! a separate syncer thread that fsyncs the write-ahead log once for every group of appends
//! waiting, then reports them flushed to openraft. An entry therefore counts as written only
//! after an fsync, but many appends share one. Votes and truncations are written with a
//! synchronous write of their own.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, ErrorSubject, ErrorVerb, RaftLogReader, StorageError, StorageIOError, Vote};
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};

use crate::consensus::types::{LogId, NodeId, TypeConfig};

const CF_LOGS: &str = "logs";
const CF_META: &str = "meta";
const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_PURGED: &[u8] = b"last_purged";

type StorageResult<T> = Result<T, StorageError<NodeId>>;

/// The Raft log store. Cloning gives another handle on the same database (openraft's log reader).
#[derive(Clone)]
pub struct LogStore {
    db: Arc<DB>,
    syncer: std::sync::mpsc::Sender<LogFlushed<TypeConfig>>,
    /// The last committed index openraft told us about (`u64::MAX` = none), for metrics.
    committed: Arc<AtomicU64>,
    /// Set by the fsync thread once it has dropped the database.
    closed: Arc<std::sync::atomic::AtomicBool>,
}

/// Tells when a [`LogStore`]'s database has been closed.
pub struct LogClosed {
    closed: Arc<std::sync::atomic::AtomicBool>,
}

impl LogClosed {
    /// True once every store handle is dropped and RocksDB has closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// The last committed log index, shared with the log store.
#[derive(Clone)]
pub struct CommittedIndex(Arc<AtomicU64>);

impl CommittedIndex {
    /// The index, if any entry is known committed.
    pub fn get(&self) -> Option<u64> {
        match self.0.load(Ordering::Relaxed) {
            u64::MAX => None,
            i => Some(i),
        }
    }
}

/// Opening the log store failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// RocksDB refused to open the database.
    #[error("raft log store at {path}: {source}")]
    Db {
        /// The directory.
        path: String,
        /// RocksDB's reason.
        source: rocksdb::Error,
    },
    /// The syncer thread could not start.
    #[error("raft log store: cannot start the fsync thread: {0}")]
    Thread(std::io::Error),
}

impl LogStore {
    /// Opens (creating if needed) the Raft log database in `dir` and starts its syncer thread.
    pub fn open(dir: &Path) -> Result<LogStore, OpenError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Flushed tables go to disk as they are written, not all at their final fsync, which
        // would make the next log fsync wait for them (see the state database's options).
        opts.set_bytes_per_sync(1 << 20);
        let cfs =
            [CF_LOGS, CF_META].map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs).map_err(|source| OpenError::Db {
            path: dir.display().to_string(),
            source,
        })?;
        let db = Arc::new(db);
        let (tx, rx) = std::sync::mpsc::channel::<LogFlushed<TypeConfig>>();
        let sync_db = Arc::clone(&db);
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread_closed = Arc::clone(&closed);
        std::thread::Builder::new()
            .name("raft-log-fsync".into())
            .spawn(move || {
                raise_priority();
                sync_loop(&sync_db, &rx);
                // Close the database before saying so (a reopen in the same process needs it).
                drop(sync_db);
                thread_closed.store(true, Ordering::Release);
            })
            .map_err(OpenError::Thread)?;
        let committed = Arc::new(AtomicU64::new(u64::MAX));
        let store = LogStore {
            db,
            syncer: tx,
            committed,
            closed,
        };
        if let Ok(Some(c)) = store.get_meta::<Option<LogId>>(KEY_COMMITTED) {
            store.note_committed(c.as_ref());
        }
        Ok(store)
    }

    /// A handle on the last committed log index recorded (for metrics), which does not keep the
    /// database open.
    pub fn committed(&self) -> CommittedIndex {
        CommittedIndex(Arc::clone(&self.committed))
    }

    /// A handle that tells when the database has been closed (every store handle dropped).
    pub fn closed_watch(&self) -> LogClosed {
        LogClosed {
            closed: Arc::clone(&self.closed),
        }
    }

    fn note_committed(&self, c: Option<&LogId>) {
        self.committed
            .store(c.map_or(u64::MAX, |l| l.index), Ordering::Relaxed);
    }

    fn cf(&self, name: &str) -> StorageResult<&rocksdb::ColumnFamily> {
        self.db.cf_handle(name).ok_or_else(|| {
            StorageIOError::new(
                ErrorSubject::Store,
                ErrorVerb::Read,
                openraft::AnyError::error(format!("missing column family {name}")),
            )
            .into()
        })
    }

    fn get_meta<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> StorageResult<Option<T>> {
        let cf = self.cf(CF_META)?;
        match self
            .db
            .get_cf(cf, key)
            .map_err(|e| StorageIOError::read(&e))?
        {
            None => Ok(None),
            Some(bytes) => Ok(Some(
                bincode::deserialize(&bytes).map_err(|e| StorageIOError::read(&e))?,
            )),
        }
    }

    fn put_meta<T: serde::Serialize>(
        &self,
        key: &[u8],
        value: &T,
        sync: bool,
    ) -> StorageResult<()> {
        let cf = self.cf(CF_META)?;
        let bytes = bincode::serialize(value).map_err(|e| StorageIOError::write(&e))?;
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db
            .put_cf_opt(cf, key, bytes, &wo)
            .map_err(|e| StorageIOError::write(&e).into())
    }

    fn last_entry_log_id(&self) -> StorageResult<Option<LogId>> {
        let cf = self.cf(CF_LOGS)?;
        let mut it = self.db.iterator_cf(cf, IteratorMode::End);
        match it.next() {
            None => Ok(None),
            Some(Err(e)) => Err(StorageIOError::read_logs(&e).into()),
            Some(Ok((_, v))) => {
                let entry: Entry<TypeConfig> =
                    bincode::deserialize(&v).map_err(|e| StorageIOError::read_logs(&e))?;
                Ok(Some(entry.log_id))
            }
        }
    }
}

/// The nice value the syncer thread asks for: every add waits for this thread twice (to start
/// an fsync, then to report it done), and on a busy machine a woken thread of normal priority
/// waited about 0.3 ms for a core, a fifth of a commit cycle. It sleeps in `fsync` nearly all
/// the time, so outranking the other threads costs them almost nothing.
const SYNCER_NICE: i32 = -10;

/// Gives the calling thread (the syncer) [`SYNCER_NICE`]. Lowering a nice value needs
/// `CAP_SYS_NICE` or a matching `RLIMIT_NICE`; without them the thread keeps its priority, and
/// commits are only slower on a loaded machine.
fn raise_priority() {
    // On Linux the nice value belongs to the thread: `None` (who = 0) is the calling thread.
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, SYNCER_NICE) {
        tracing::info!(
            "the Raft log's fsync thread keeps its normal priority (nice {SYNCER_NICE} refused: \
             {e}; it needs CAP_SYS_NICE or RLIMIT_NICE)"
        );
    }
}

/// The syncer thread: waits for flush requests, fsyncs the WAL once for all that are waiting,
/// then completes them in order. Ends when the store is dropped.
fn sync_loop(db: &DB, rx: &std::sync::mpsc::Receiver<LogFlushed<TypeConfig>>) {
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        while let Ok(more) = rx.try_recv() {
            waiting.push(more);
        }
        let start = Instant::now();
        let result = db
            .flush_wal(true)
            .map_err(|e| std::io::Error::other(e.to_string()));
        metrics::histogram!("qed_raft_log_fsync_seconds").record(start.elapsed().as_secs_f64());
        metrics::counter!("qed_raft_log_fsyncs_total").increment(1);
        for cb in waiting {
            let r = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            cb.log_io_completed(r);
        }
    }
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry<TypeConfig>>> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let cf = self.cf(CF_LOGS)?;
        let key = index_key(start);
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(&key, Direction::Forward))
        {
            let (k, v) = item.map_err(|e| StorageIOError::read_logs(&e))?;
            let Ok(kb) = <[u8; 8]>::try_from(k.as_ref()) else {
                break;
            };
            if !range.contains(&u64::from_be_bytes(kb)) {
                break;
            }
            out.push(bincode::deserialize(&v).map_err(|e| StorageIOError::read_logs(&e))?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let last_purged: Option<LogId> = self.get_meta(KEY_PURGED)?;
        let last = self.last_entry_log_id()?.or(last_purged);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StorageResult<()> {
        self.put_meta(KEY_VOTE, vote, true)
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<NodeId>>> {
        self.get_meta(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> StorageResult<()> {
        self.note_committed(committed.as_ref());
        // Not synced: a lost committed index is only a hint; openraft re-learns it.
        self.put_meta(KEY_COMMITTED, &committed, false)
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId>> {
        Ok(self.get_meta::<Option<LogId>>(KEY_COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let cf = self.cf(CF_LOGS)?;
        let mut batch = WriteBatch::default();
        let mut bytes = 0usize;
        for entry in entries {
            let v = bincode::serialize(&entry).map_err(|e| StorageIOError::write_logs(&e))?;
            bytes = bytes.saturating_add(v.len());
            batch.put_cf(cf, index_key(entry.log_id.index), v);
        }
        metrics::counter!("qed_raft_log_bytes_total").increment(bytes as u64);
        let mut wo = WriteOptions::default();
        wo.set_sync(false);
        self.db
            .write_opt(batch, &wo)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        // Durable only once the syncer has fsynced the WAL; it then completes the callback.
        if let Err(std::sync::mpsc::SendError(cb)) = self.syncer.send(callback) {
            cb.log_io_completed(Err(std::io::Error::other("the log syncer has stopped")));
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> StorageResult<()> {
        let cf = self.cf(CF_LOGS)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf, index_key(log_id.index), index_key(u64::MAX));
        batch.delete_cf(cf, index_key(u64::MAX));
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db
            .write_opt(batch, &wo)
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId) -> StorageResult<()> {
        let logs = self.cf(CF_LOGS)?;
        let meta = self.cf(CF_META)?;
        let mut batch = WriteBatch::default();
        let purged = bincode::serialize(&log_id).map_err(|e| StorageIOError::write_logs(&e))?;
        batch.put_cf(meta, KEY_PURGED, purged);
        batch.delete_range_cf(
            logs,
            index_key(0),
            index_key(log_id.index.saturating_add(1)),
        );
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db
            .write_opt(batch, &wo)
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The nice value of every thread of this process named `name` (from `/proc`).
    fn nice_of_threads(name: &str) -> Vec<i32> {
        let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok())
            .filter_map(|stat| {
                // "tid (comm) state ...": the name may hold spaces, so split at the last ')'.
                let (head, rest) = stat.rsplit_once(')')?;
                let comm = head.split_once('(')?.1;
                // After the name: field 3 (state) onwards; the nice value is field 19.
                let nice = rest.split_whitespace().nth(16)?.parse().ok()?;
                (comm == name).then_some(nice)
            })
            .collect()
    }

    #[test]
    fn the_syncer_runs_at_a_raised_priority_when_allowed() {
        // What this process may do: a scratch thread tries the same call, and reports its
        // nice value before trying (the syncer's if the call is refused).
        let (allowed, base) = std::thread::spawn(|| {
            let base = rustix::process::getpriority_process(None).expect("getpriority");
            (
                rustix::process::setpriority_process(None, SYNCER_NICE).is_ok(),
                base,
            )
        })
        .join()
        .expect("scratch thread");
        let dir = tempfile::tempdir().expect("tempdir");
        let _store = LogStore::open(dir.path()).expect("open the log store");
        let want = if allowed { SYNCER_NICE } else { base };
        // The thread sets its priority as it starts: give it a moment.
        for _ in 0..200 {
            let nices = nice_of_threads("raft-log-fsync");
            if !nices.is_empty() && nices.iter().all(|&n| n == want) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!(
            "fsync threads at nice {:?}, want {want} (raising allowed: {allowed})",
            nice_of_threads("raft-log-fsync")
        );
    }
}
