//! Consensus: openraft over a RocksDB Raft log, with the [`Ledger`](crate::state_machine::Ledger)
//! as the state machine, HTTP between members, group commit on the write path and the
//! management API for joins.

// openraft's storage and RPC traits fix their error types (StorageError, RPCError), which are
// large; boxing them here would only add conversions at every trait boundary.
#![allow(clippy::result_large_err)]

pub mod group_commit;
pub mod log_store;
pub mod mgmt;
pub mod network;
pub mod snapshot_file;
pub mod state;
pub mod types;

use std::sync::Arc;

pub use types::{LogId, NodeId, NodeInfo, Raft, Request, Response, TypeConfig, raft_id};

/// Tuning of the Raft group.
#[derive(Clone, Debug)]
pub struct RaftOptions {
    /// Build a Raft snapshot (a Ledger export) after this many entries since the last one; older
    /// entries are then purged from the Raft log.
    pub snapshot_every: u64,
    /// Entries kept in the log behind the snapshot, for followers that are only a little behind.
    pub keep_behind_snapshot: u64,
    /// Heartbeat interval (ms); elections time out after 4 to 8 heartbeats. openraft also makes
    /// a follower refuse votes for 8 heartbeats after it last heard the leader (the leader lease),
    /// so a new leader takes 8 to 16 heartbeats after a leader dies: 1.2 to 2.4 s at 150 ms.
    pub heartbeat_ms: u64,
}

impl Default for RaftOptions {
    fn default() -> Self {
        RaftOptions {
            snapshot_every: 2_000,
            keep_behind_snapshot: 200,
            heartbeat_ms: 150,
        }
    }
}

/// The openraft configuration QED runs with.
pub fn raft_config(options: &RaftOptions) -> Result<Arc<openraft::Config>, openraft::ConfigError> {
    let config = openraft::Config {
        cluster_name: "qed".into(),
        heartbeat_interval: options.heartbeat_ms,
        election_timeout_min: options.heartbeat_ms.saturating_mul(4),
        election_timeout_max: options.heartbeat_ms.saturating_mul(8),
        // One entry can hold 20,000 digests (640 KB): keep append RPCs to a few MB.
        max_payload_entries: 16,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(options.snapshot_every),
        max_in_snapshot_log_to_keep: options.keep_behind_snapshot,
        snapshot_max_chunk_size: 4 << 20,
        // A follower further behind than this gets a snapshot instead of the log.
        replication_lag_threshold: options.snapshot_every,
        ..Default::default()
    };
    Ok(Arc::new(config.validate()?))
}
