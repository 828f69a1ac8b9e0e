//! The ledger's own records, and the keys of the `snapshots` column family.
//!
//! The stored tree (its record and the applied meta) lives in the `hyper` column family,
//! beside the pages it describes: a flush adds both in one table file, which RocksDB ingests
//! atomically (see `state_machine`), and no ingestion spans two column families. Their keys
//! begin with `0xFF`, which no page id does (its first byte is a depth of at most 252), so they
//! sort after every page. The `meta` column family keeps the format record.

use qed_core::Hash;
use qed_core::snapshot::SnapshotJson;

use crate::state_machine::StateError;

/// Tree size, hyper root and history frontier of the stored tree (`hyper` column family).
pub const KEY_TREE: &[u8] = b"\xfftree";
/// The opaque applied meta (the last applied Raft log id and membership) of the stored tree
/// (`hyper` column family). Sorts before [`KEY_TREE`].
pub const KEY_APPLIED: &[u8] = b"\xffapplied";
/// The storage format, written when the database is created (`meta` column family).
pub const KEY_FORMAT: &[u8] = b"format";
/// The value of [`KEY_FORMAT`] this code reads and writes.
pub const FORMAT: &[u8] = b"qed-ledger/2";

/// The first format, which kept the tree record and applied meta in the `meta` column family
/// under these keys; [`crate::state_machine`] moves them on open.
pub mod v1 {
    /// The format record's value.
    pub const FORMAT: &[u8] = b"qed-ledger/1";
    /// The tree record's key in the `meta` column family.
    pub const KEY_TREE: &[u8] = b"tree";
    /// The applied meta's key in the `meta` column family.
    pub const KEY_APPLIED: &[u8] = b"applied";
}

/// What [`KEY_TREE`] holds: `be64(size) || hyper root || frontier hashes (largest first)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRecord {
    /// Number of events in the log.
    pub size: u64,
    /// The hyper tree's root.
    pub hyper_root: Hash,
    /// The history frontier: one hash per 1 bit of `size`.
    pub frontier: Vec<Hash>,
}

impl TreeRecord {
    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40 + 32 * self.frontier.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.hyper_root);
        for h in &self.frontier {
            out.extend_from_slice(h);
        }
        out
    }

    /// Parses the stored form, checking its length against the size.
    pub fn decode(value: &[u8]) -> Result<TreeRecord, StateError> {
        let bad = || StateError::Corrupt(format!("tree record of {} bytes", value.len()));
        let (size, rest) = value.split_first_chunk::<8>().ok_or_else(bad)?;
        let (hyper_root, rest) = rest.split_first_chunk::<32>().ok_or_else(bad)?;
        let size = u64::from_be_bytes(*size);
        let (frontier, tail) = rest.as_chunks::<32>();
        if !tail.is_empty() || frontier.len() != size.count_ones() as usize {
            return Err(bad());
        }
        Ok(TreeRecord {
            size,
            hyper_root: *hyper_root,
            frontier: frontier.to_vec(),
        })
    }
}

/// Key of the snapshot of `size` in the `snapshots` column family.
pub fn snapshot_key(size: u64) -> [u8; 8] {
    size.to_be_bytes()
}

/// Stored form of a snapshot: its JSON.
pub fn encode_snapshot(snapshot: &SnapshotJson) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(snapshot).map_err(|e| StateError::Storage(format!("snapshot JSON: {e}")))
}

/// Parses a stored snapshot.
pub fn decode_snapshot(value: &[u8]) -> Result<SnapshotJson, StateError> {
    serde_json::from_slice(value).map_err(|e| StateError::Corrupt(format!("stored snapshot: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_record_round_trip_and_checks() {
        let r = TreeRecord {
            size: 5,
            hyper_root: [9; 32],
            frontier: vec![[1; 32], [2; 32]],
        };
        assert_eq!(TreeRecord::decode(&r.encode()).unwrap(), r);
        let empty = TreeRecord {
            size: 0,
            hyper_root: [0; 32],
            frontier: vec![],
        };
        assert_eq!(TreeRecord::decode(&empty.encode()).unwrap(), empty);
        let mut long = r.encode();
        long.extend_from_slice(&[3; 32]);
        assert!(TreeRecord::decode(&long).is_err());
        let mut odd = r.encode();
        odd.push(0);
        assert!(TreeRecord::decode(&odd).is_err());
        assert!(TreeRecord::decode(&[0; 7]).is_err());
        assert!(TreeRecord::decode(&[0; 39]).is_err());
    }
}
