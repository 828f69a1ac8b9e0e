//! TEMPORARY stand-in for helper "state"'s `Ledger` (branch server-state), with the exact
//! signatures of SERVER-PLAN.md, so that consensus and the HTTP API compile and can be tested
//! before the real one lands. It keeps everything in memory and fakes proofs. On merging
//! server-state this file is replaced by the real `state_machine.rs` (take theirs).
#![allow(missing_docs, dead_code, clippy::all)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use qed_core::Hash;

pub use stub_core::*;

/// Stand-ins for the qed-core types still being written (snapshot, receipt, verify).
pub mod stub_core {
    use qed_core::Hash;
    use serde::{Deserialize, Serialize};

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SnapshotJson {
        #[serde(default)]
        pub version: Option<u64>,
        pub size: u64,
        pub history_digest: String,
        pub hyper_digest: String,
        #[serde(default)]
        pub event_digest: Option<String>,
        pub checkpoint: String,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Receipt {
        pub version: u64,
        #[serde(with = "qed_core::json::hex")]
        pub digest: Hash,
        pub duplicate: bool,
        pub snapshot: SnapshotJson,
        #[serde(with = "qed_core::json::hex_list")]
        pub proof: Vec<Hash>,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct MembershipAnswer {
        #[serde(with = "qed_core::json::hex")]
        pub digest: Hash,
        pub query_version: u64,
        pub member: bool,
        pub version: Option<u64>,
        pub snapshot: SnapshotJson,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct IncrementalAnswer {
        pub start: u64,
        pub end: u64,
        #[serde(with = "qed_core::json::hex_list")]
        pub proof: Vec<Hash>,
    }

    pub struct Signer {
        name: String,
        secret: [u8; 32],
    }
    impl Signer {
        pub fn new(name: &str, secret: &[u8; 32]) -> Result<Self, qed_core::VerifyError> {
            Ok(Signer { name: name.to_string(), secret: *secret })
        }
        pub fn name(&self) -> &str {
            &self.name
        }
        pub fn verifier_key(&self) -> String {
            format!("{}+00000000+stub", self.name)
        }
        pub fn sign_text(&self, text: &str) -> String {
            format!("{text}\n— {} stub\n", self.name)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("storage: {0}")]
    Storage(String),
}

pub struct LedgerOptions {
    pub cache_bytes: usize,
}

#[derive(Default)]
struct Inner {
    leaves: Vec<Hash>,
    index: HashMap<Hash, u64>,
    snapshots: HashMap<u64, SnapshotJson>,
    meta: Option<Vec<u8>>,
}

pub struct Ledger {
    inner: Arc<RwLock<Inner>>,
    signer: Signer,
    dir: std::path::PathBuf,
}

#[derive(Debug, Clone)]
pub struct Applied {
    pub entries: Vec<AppliedEntry>,
    pub snapshot: Option<SnapshotJson>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedEntry {
    pub version: u64,
    pub digest: Hash,
    pub duplicate: bool,
}

#[derive(Clone)]
pub struct LedgerReader {
    inner: Arc<RwLock<Inner>>,
}

fn storage<E: std::fmt::Display>(e: E) -> StateError {
    StateError::Storage(e.to_string())
}

impl Ledger {
    pub fn open(dir: &Path, signer: Signer, _opts: LedgerOptions) -> Result<Ledger, StateError> {
        std::fs::create_dir_all(dir).map_err(storage)?;
        let inner = Arc::new(RwLock::new(Inner::default()));
        let l = Ledger { inner, signer, dir: dir.to_path_buf() };
        if let Ok(bytes) = std::fs::read(dir.join("stub.bin")) {
            l.load(&bytes)?;
        }
        Ok(l)
    }
    fn load(&self, bytes: &[u8]) -> Result<(), StateError> {
        let (leaves, meta): (Vec<Hash>, Option<Vec<u8>>) = bincode::deserialize(bytes).map_err(storage)?;
        let mut g = self.inner.write().map_err(storage)?;
        *g = Inner::default();
        for d in leaves {
            let v = g.leaves.len() as u64;
            g.index.entry(d).or_insert(v);
            g.leaves.push(d);
        }
        g.meta = meta;
        let n = g.leaves.len() as u64;
        if n > 0 {
            let s = self.snap(&g, n);
            g.snapshots.insert(n, s);
        }
        Ok(())
    }
    fn snap(&self, g: &Inner, size: u64) -> SnapshotJson {
        let last = g.leaves[size as usize - 1];
        SnapshotJson {
            version: Some(size - 1),
            size,
            history_digest: qed_core::hash::to_hex(&[size as u8; 32]),
            hyper_digest: qed_core::hash::to_hex(&[0; 32]),
            event_digest: Some(qed_core::hash::to_hex(&last)),
            checkpoint: self.signer.sign_text(&format!("{}\n{size}\n", self.signer.name())),
        }
    }
    pub fn applied_meta(&self) -> Option<Vec<u8>> {
        self.inner.read().ok()?.meta.clone()
    }
    pub fn apply(&mut self, digests: &[Hash], meta: &[u8]) -> Result<Applied, StateError> {
        let mut g = self.inner.write().map_err(storage)?;
        let mut entries = Vec::with_capacity(digests.len());
        let before = g.leaves.len();
        for d in digests {
            if let Some(&v) = g.index.get(d) {
                entries.push(AppliedEntry { version: v, digest: *d, duplicate: true });
            } else {
                let v = g.leaves.len() as u64;
                g.leaves.push(*d);
                g.index.insert(*d, v);
                entries.push(AppliedEntry { version: v, digest: *d, duplicate: false });
            }
        }
        g.meta = Some(meta.to_vec());
        let n = g.leaves.len() as u64;
        if g.leaves.len() > before {
            let s = self.snap(&g, n);
            g.snapshots.insert(n, s);
        }
        let snapshot = g.snapshots.get(&n).cloned();
        Ok(Applied { entries, snapshot })
    }
    pub fn apply_meta(&mut self, meta: &[u8]) -> Result<(), StateError> {
        self.inner.write().map_err(storage)?.meta = Some(meta.to_vec());
        Ok(())
    }
    pub fn flush(&self) -> Result<(), StateError> {
        let g = self.inner.read().map_err(storage)?;
        let bytes = bincode::serialize(&(&g.leaves, &g.meta)).map_err(storage)?;
        std::fs::write(self.dir.join("stub.bin"), bytes).map_err(storage)
    }
    pub fn export(&self, file: &Path) -> Result<(), StateError> {
        let g = self.inner.read().map_err(storage)?;
        let bytes = bincode::serialize(&(&g.leaves, &g.meta)).map_err(storage)?;
        std::fs::write(file, bytes).map_err(storage)
    }
    pub fn import(&mut self, file: &Path) -> Result<(), StateError> {
        let bytes = std::fs::read(file).map_err(storage)?;
        self.load(&bytes)?;
        self.flush()
    }
    pub fn reader(&self) -> LedgerReader {
        LedgerReader { inner: self.inner.clone() }
    }
}

impl LedgerReader {
    pub fn size(&self) -> u64 {
        self.inner.read().map(|g| g.leaves.len() as u64).unwrap_or(0)
    }
    pub fn latest(&self) -> Option<SnapshotJson> {
        let g = self.inner.read().ok()?;
        g.snapshots.get(&(g.leaves.len() as u64)).cloned()
    }
    pub fn snapshot_at(&self, size: u64) -> Option<SnapshotJson> {
        self.inner.read().ok()?.snapshots.get(&size).cloned()
    }
    pub fn receipt(&self, entry: &AppliedEntry, snapshot: &SnapshotJson) -> Result<Receipt, StateError> {
        Ok(Receipt {
            version: entry.version,
            digest: entry.digest,
            duplicate: entry.duplicate,
            snapshot: snapshot.clone(),
            proof: vec![],
        })
    }
    pub fn membership(&self, digest: &Hash, version: Option<u64>) -> Result<MembershipAnswer, StateError> {
        let g = self.inner.read().map_err(storage)?;
        let n = g.leaves.len() as u64;
        if n == 0 {
            return Err(StateError::NotFound("the log is empty".into()));
        }
        let q = version.unwrap_or(n - 1);
        if q >= n {
            return Err(StateError::NotFound(format!("version {q} is beyond the log")));
        }
        let found = g.index.get(digest).copied();
        Ok(MembershipAnswer {
            digest: *digest,
            query_version: q,
            member: matches!(found, Some(v) if v <= q),
            version: found,
            snapshot: g.snapshots.get(&n).cloned().ok_or_else(|| StateError::Storage("no snapshot".into()))?,
        })
    }
    pub fn incremental(&self, start: u64, end: u64) -> Result<IncrementalAnswer, StateError> {
        if start > end {
            return Err(StateError::BadRequest("start > end".into()));
        }
        if end >= self.size() {
            return Err(StateError::NotFound("end beyond the log".into()));
        }
        Ok(IncrementalAnswer { start, end, proof: vec![] })
    }
    pub fn leaf(&self, version: u64) -> Result<Receipt, StateError> {
        let g = self.inner.read().map_err(storage)?;
        let n = g.leaves.len() as u64;
        let d = *g.leaves.get(version as usize).ok_or_else(|| StateError::NotFound("beyond".into()))?;
        let snapshot = g.snapshots.get(&n).cloned().ok_or_else(|| StateError::Storage("no snapshot".into()))?;
        Ok(Receipt { version, digest: d, duplicate: false, snapshot, proof: vec![] })
    }
    pub fn lookup(&self, digest: &Hash) -> Result<Option<u64>, StateError> {
        Ok(self.inner.read().map_err(storage)?.index.get(digest).copied())
    }
}
