//! The Raft state machine: applies committed entries to the [`Ledger`], records openraft's
//! applied log id and membership inside the Ledger's own atomic writes, and builds and installs
//! Raft snapshots from Ledger exports.
//!
//! The Ledger is blocking (RocksDB, hashing, signing), so calls into it run on tokio's blocking
//! pool, except the apply of a small entry that cannot wait on anything (see
//! [`APPLY_IN_PLACE_DIGESTS`]); it sits behind a mutex that only the state machine task and the
//! snapshot builder take.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, TryLockError};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    AnyError, Entry, EntryPayload, ErrorSubject, ErrorVerb, RaftSnapshotBuilder, StorageError,
    StorageIOError,
};
use serde::{Deserialize, Serialize};

use crate::consensus::snapshot_file::SnapshotFile;
use crate::consensus::types::{
    LogId, NodeId, Response, SnapshotMeta, StoredMembership, TypeConfig,
};
use crate::state_machine::{Ledger, LedgerReader};

type StorageResult<T> = Result<T, StorageError<NodeId>>;

/// What applying entries gives: a response per entry, and the applied meta after them.
type Outcome = (Vec<Response>, AppliedMeta);

/// Entries holding at most this many digests in all are applied on the state machine's own task
/// rather than on the blocking pool, when the Ledger is free and no flush is running (so that
/// the apply waits on no other thread): a group of single adds applies in about 0.2 ms, and the
/// hops to the pool and back took about 0.1 ms more of a 1.5 ms commit cycle that every
/// waiting client sits through. Single adds from 64 clients at 1M events ran about 1.08x as
/// fast (docs/BENCHMARKS.md, fifteenth session). On a log of millions, whose deep pages miss
/// the caches, a small apply takes longer and holds one of the runtime's threads for it; larger
/// entries (bulk adds) take milliseconds and always stay off the runtime's threads.
pub const APPLY_IN_PLACE_DIGESTS: usize = 64;

/// What the state machine records in the Ledger with every entry it applies (the Ledger's opaque
/// `meta`): the entry's log id and the membership in force.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AppliedMeta {
    /// The last applied log id.
    pub last_applied: Option<LogId>,
    /// The last membership configuration applied.
    pub membership: StoredMembership,
}

impl AppliedMeta {
    fn encode(&self) -> Result<Vec<u8>, StorageError<NodeId>> {
        serde_json::to_vec(self).map_err(|e| StorageIOError::write_state_machine(&e).into())
    }

    fn decode(bytes: &[u8]) -> Result<AppliedMeta, StorageError<NodeId>> {
        serde_json::from_slice(bytes).map_err(|e| StorageIOError::read_state_machine(&e).into())
    }
}

/// A handle on the current [`LedgerReader`] that survives snapshot installation (which replaces
/// the whole state, and with it the reader).
#[derive(Clone)]
pub struct SharedReader(Arc<RwLock<LedgerReader>>);

impl SharedReader {
    /// Wraps a reader.
    pub fn new(reader: LedgerReader) -> Self {
        SharedReader(Arc::new(RwLock::new(reader)))
    }

    /// The current reader (cheap to clone).
    pub fn get(&self) -> LedgerReader {
        match self.0.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, reader: LedgerReader) {
        match self.0.write() {
            Ok(mut r) => *r = reader,
            Err(poisoned) => *poisoned.into_inner() = reader,
        }
    }
}

/// The file `current.json` in the snapshot directory: the snapshot openraft may send.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CurrentSnapshot {
    meta: SnapshotMeta,
    file: String,
}

/// Shared parts of the state machine and its snapshot builder.
struct Shared {
    ledger: Mutex<Ledger>,
    reader: SharedReader,
    snapshot_dir: PathBuf,
    current: Mutex<Option<CurrentSnapshot>>,
    counter: AtomicU64,
}

/// The openraft state machine over a [`Ledger`].
pub struct StateMachine {
    shared: Arc<Shared>,
    applied: AppliedMeta,
}

/// Builds one Raft snapshot.
pub struct SnapshotBuilder {
    shared: Arc<Shared>,
}

fn io_err<E: std::error::Error + 'static>(verb: ErrorVerb, e: &E) -> StorageError<NodeId> {
    StorageIOError::new(ErrorSubject::StateMachine, verb, AnyError::new(e)).into()
}

fn msg_err(verb: ErrorVerb, msg: impl ToString) -> StorageError<NodeId> {
    StorageIOError::new(ErrorSubject::StateMachine, verb, AnyError::error(msg)).into()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the Ledger half-written (its writes are atomic
    // batches), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// [`lock`] without waiting: `None` while another thread holds the lock.
fn try_lock<T>(m: &Mutex<T>) -> Option<std::sync::MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StorageResult<T> + Send + 'static,
) -> StorageResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| msg_err(ErrorVerb::Write, e))?
}

impl StateMachine {
    /// Wraps an open Ledger; `snapshot_dir` holds Raft snapshot files (created if missing).
    pub fn new(ledger: Ledger, snapshot_dir: &Path) -> Result<StateMachine, std::io::Error> {
        std::fs::create_dir_all(snapshot_dir)?;
        let applied = match ledger.applied_meta() {
            Some(bytes) => {
                AppliedMeta::decode(&bytes).map_err(|e| std::io::Error::other(e.to_string()))?
            }
            None => AppliedMeta::default(),
        };
        let current = std::fs::read(snapshot_dir.join("current.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<CurrentSnapshot>(&b).ok())
            .filter(|c| snapshot_dir.join(&c.file).exists());
        remove_stale_files(snapshot_dir, current.as_ref());
        let reader = SharedReader::new(ledger.reader());
        let shared = Arc::new(Shared {
            ledger: Mutex::new(ledger),
            reader,
            snapshot_dir: snapshot_dir.to_path_buf(),
            current: Mutex::new(current),
            counter: AtomicU64::new(0),
        });
        Ok(StateMachine { shared, applied })
    }

    /// The reader handle the HTTP API uses.
    pub fn reader(&self) -> SharedReader {
        self.shared.reader.clone()
    }
}

/// Deletes snapshot files that are neither the current one nor its metadata (left by a crash in
/// the middle of building or receiving one).
fn remove_stale_files(dir: &Path, current: Option<&CurrentSnapshot>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let keep = name == "current.json" || current.is_some_and(|c| c.file == name);
        if !keep {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Shared {
    fn next_name(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{prefix}-{nanos}-{n}")
    }

    /// Makes `file` (already in the snapshot directory, fsynced) the current snapshot.
    fn set_current(&self, meta: &SnapshotMeta, file: &str) -> StorageResult<()> {
        let cur = CurrentSnapshot {
            meta: meta.clone(),
            file: file.to_string(),
        };
        let bytes = serde_json::to_vec(&cur).map_err(|e| io_err(ErrorVerb::Write, &e))?;
        let tmp = self.snapshot_dir.join("current.json.tmp");
        std::fs::write(&tmp, bytes).map_err(|e| io_err(ErrorVerb::Write, &e))?;
        std::fs::rename(&tmp, self.snapshot_dir.join("current.json"))
            .map_err(|e| io_err(ErrorVerb::Write, &e))?;
        let old = lock(&self.current).replace(cur);
        if let Some(old) = old.filter(|o| o.file != file) {
            let _ = std::fs::remove_file(self.snapshot_dir.join(old.file));
        }
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        let shared = Arc::clone(&self.shared);
        let name = shared.next_name("snapshot");
        let path = shared.snapshot_dir.join(&name);
        let build_path = path.clone();
        let start = std::time::Instant::now();
        // The ledger stores its tree (and the applied meta with it) in flushes: one now, under
        // the Ledger lock, so the snapshot covers what is applied. The export itself runs from
        // a reader, not under the lock: it reads one RocksDB snapshot and the applied meta
        // stored in it (and syncs the WAL), so applies go on while a large state is written out.
        let reader = shared.reader.get();
        let storing = Arc::clone(&shared);
        blocking(move || {
            lock(&storing.ledger)
                .store()
                .map_err(|e| io_err(ErrorVerb::Write, &e))
        })
        .await?;
        let applied = blocking(move || {
            let exported = reader
                .export(&build_path)
                .map_err(|e| io_err(ErrorVerb::Write, &e))?;
            match exported.applied {
                Some(b) => AppliedMeta::decode(&b),
                None => Ok(AppliedMeta::default()),
            }
        })
        .await?;
        let meta = SnapshotMeta {
            last_log_id: applied.last_applied,
            last_membership: applied.membership,
            snapshot_id: name.clone(),
        };
        self.shared.set_current(&meta, &name)?;
        metrics::histogram!("qed_raft_snapshot_build_seconds")
            .record(start.elapsed().as_secs_f64());
        tracing::info!(snapshot = %name, last = ?meta.last_log_id, "built a Raft snapshot");
        let file = SnapshotFile::open(&path)
            .await
            .map_err(|e| io_err(ErrorVerb::Read, &e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(file),
        })
    }
}

/// Applies `entries` to the Ledger, recording each one's log id (and any membership) in
/// `applied`; the responses in entry order and the resulting meta.
fn apply_entries(
    ledger: &mut Ledger,
    entries: Vec<Entry<TypeConfig>>,
    mut applied: AppliedMeta,
) -> StorageResult<Outcome> {
    let mut responses = Vec::with_capacity(entries.len());
    for entry in entries {
        applied.last_applied = Some(entry.log_id);
        let response = match entry.payload {
            EntryPayload::Normal(req) => {
                let meta = applied.encode()?;
                let start = std::time::Instant::now();
                let result = ledger
                    .apply(&req.digests, &meta)
                    .map_err(|e| StorageIOError::apply(entry.log_id, &e))?;
                metrics::histogram!("qed_apply_seconds").record(start.elapsed().as_secs_f64());
                metrics::histogram!("qed_apply_batch_digests").record(req.digests.len() as f64);
                Response {
                    applied: Some(Arc::new(result)),
                }
            }
            EntryPayload::Membership(m) => {
                applied.membership = StoredMembership::new(Some(entry.log_id), m);
                ledger
                    .apply_meta(&applied.encode()?)
                    .map_err(|e| StorageIOError::apply(entry.log_id, &e))?;
                Response::default()
            }
            EntryPayload::Blank => {
                ledger
                    .apply_meta(&applied.encode()?)
                    .map_err(|e| StorageIOError::apply(entry.log_id, &e))?;
                Response::default()
            }
        };
        responses.push(response);
    }
    metrics::gauge!("qed_log_size").set(ledger.reader().size() as f64);
    Ok((responses, applied))
}

/// Applies `entries` on the calling task when they are small (see [`APPLY_IN_PLACE_DIGESTS`]),
/// the Ledger is not locked by the snapshot builder, and no flush is running; otherwise hands
/// them back for the blocking pool.
fn apply_in_place(
    shared: &Shared,
    entries: Vec<Entry<TypeConfig>>,
    applied: AppliedMeta,
) -> Result<StorageResult<Outcome>, (Vec<Entry<TypeConfig>>, AppliedMeta)> {
    let digests: usize = entries
        .iter()
        .map(|e| match &e.payload {
            EntryPayload::Normal(req) => req.digests.len(),
            _ => 0,
        })
        .sum();
    if digests > APPLY_IN_PLACE_DIGESTS {
        return Err((entries, applied));
    }
    let Some(mut ledger) = try_lock(&shared.ledger) else {
        return Err((entries, applied));
    };
    if ledger.flush_running() {
        return Err((entries, applied));
    }
    Ok(apply_entries(&mut ledger, entries, applied))
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> StorageResult<(Option<LogId>, StoredMembership)> {
        Ok((self.applied.last_applied, self.applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<Response>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        let applied = self.applied.clone();
        let (responses, applied) = match apply_in_place(&self.shared, entries, applied) {
            Ok(done) => done?,
            Err((entries, applied)) => {
                let shared = Arc::clone(&self.shared);
                blocking(move || apply_entries(&mut lock(&shared.ledger), entries, applied)).await?
            }
        };
        self.applied = applied;
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            shared: Arc::clone(&self.shared),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<SnapshotFile>> {
        let path = self
            .shared
            .snapshot_dir
            .join(self.shared.next_name("incoming"));
        let file = SnapshotFile::create(&path)
            .await
            .map_err(|e| io_err(ErrorVerb::Write, &e))?;
        Ok(Box::new(file))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<SnapshotFile>,
    ) -> StorageResult<()> {
        let path = snapshot
            .finish()
            .await
            .map_err(|e| io_err(ErrorVerb::Write, &e))?;
        let name = self.shared.next_name("snapshot");
        let final_path = self.shared.snapshot_dir.join(&name);
        std::fs::rename(&path, &final_path).map_err(|e| io_err(ErrorVerb::Write, &e))?;
        let shared = Arc::clone(&self.shared);
        let import_path = final_path.clone();
        let start = std::time::Instant::now();
        let applied = blocking(move || {
            let mut ledger = lock(&shared.ledger);
            ledger
                .import(&import_path)
                .map_err(|e| io_err(ErrorVerb::Write, &e))?;
            shared.reader.replace(ledger.reader());
            metrics::gauge!("qed_log_size").set(ledger.reader().size() as f64);
            match ledger.applied_meta() {
                Some(b) => AppliedMeta::decode(&b),
                None => Err(msg_err(
                    ErrorVerb::Read,
                    "the installed snapshot carries no Raft metadata",
                )),
            }
        })
        .await?;
        if applied.last_applied != meta.last_log_id {
            return Err(msg_err(
                ErrorVerb::Read,
                format!(
                    "snapshot meta says {:?}, its state says {:?}",
                    meta.last_log_id, applied.last_applied
                ),
            ));
        }
        self.shared.set_current(meta, &name)?;
        self.applied = applied;
        metrics::histogram!("qed_raft_snapshot_install_seconds")
            .record(start.elapsed().as_secs_f64());
        tracing::info!(last = ?meta.last_log_id, "installed a Raft snapshot");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        let current = lock(&self.shared.current).clone();
        match current {
            None => Ok(None),
            Some(c) => {
                let file = SnapshotFile::open(&self.shared.snapshot_dir.join(&c.file))
                    .await
                    .map_err(|e| io_err(ErrorVerb::Read, &e))?;
                Ok(Some(Snapshot {
                    meta: c.meta,
                    snapshot: Box::new(file),
                }))
            }
        }
    }
}

/// A handle that can flush the Ledger after Raft has stopped (clean shutdown).
pub struct LedgerHandle(Arc<Shared>);

impl LedgerHandle {
    /// Flushes the Ledger's memtables.
    pub fn flush(&self) -> Result<(), crate::state_machine::StateError> {
        lock(&self.0.ledger).flush()
    }

    /// A weak handle that tells when the Ledger and its readers have all been dropped.
    pub fn closed_watch(&self) -> LedgerClosed {
        LedgerClosed {
            state: Arc::downgrade(&self.0),
            readers: Arc::downgrade(&self.0.reader.0),
        }
    }
}

/// Tells whether a Ledger and its shared readers have been dropped (RocksDB closed).
pub struct LedgerClosed {
    state: std::sync::Weak<Shared>,
    readers: std::sync::Weak<RwLock<LedgerReader>>,
}

impl LedgerClosed {
    /// True once nothing holds the Ledger or the shared reader any more.
    pub fn is_closed(&self) -> bool {
        self.state.strong_count() == 0 && self.readers.strong_count() == 0
    }
}

impl StateMachine {
    /// A flush handle on the same Ledger.
    pub fn handle(&self) -> LedgerHandle {
        LedgerHandle(Arc::clone(&self.shared))
    }
}
