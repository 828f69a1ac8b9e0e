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

use crate::consensus::state::SharedReader;

pub use types::{LogId, NodeId, NodeInfo, Raft, Request, Response, TypeConfig, raft_id};

/// Tuning of the Raft group.
#[derive(Clone, Debug)]
pub struct RaftOptions {
    /// Build a Raft snapshot (a Ledger export) once at least this many entries have been
    /// applied since the last one *and* the log has grown by a quarter of its size since then
    /// (see [`spawn_snapshot_trigger`]); older entries are then purged from the Raft log.
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
        // Snapshots are triggered by `spawn_snapshot_trigger`, which also weighs their cost.
        snapshot_policy: openraft::SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: options.keep_behind_snapshot,
        snapshot_max_chunk_size: 4 << 20,
        // A follower further behind than this gets a snapshot instead of the log.
        replication_lag_threshold: options.snapshot_every,
        ..Default::default()
    };
    Ok(Arc::new(config.validate()?))
}

/// A snapshot exports the whole state, so its cost grows with the log: at a fixed number of
/// entries (2,000 entries of a few single adds each), a log of a million events wrote a
/// 350 MB export every few seconds, and its I/O stalled the Raft log's fsyncs (p99.9 latency of
/// adds about 0.7-1.2 s). Requiring the log to have grown by `1 / GROWTH` of its size since the
/// last snapshot keeps the export work per event constant (about `GROWTH` times the state per
/// event) while the Raft log on disk stays under a quarter of the events.
const GROWTH: u64 = 4;

/// Starts the task that asks Raft for a snapshot when the log has grown enough (see
/// [`RaftOptions::snapshot_every`]); it ends when Raft stops.
pub fn spawn_snapshot_trigger(raft: Raft, reader: SharedReader, options: &RaftOptions) {
    let every = options.snapshot_every;
    let mut rx = raft.metrics();
    tokio::spawn(async move {
        let mut size_at_last = reader.get().size();
        while rx.changed().await.is_ok() {
            let behind = {
                let m = rx.borrow_and_update();
                let index = |l: Option<LogId>| l.map_or(0, |l| l.index);
                index(m.last_applied).saturating_sub(index(m.snapshot))
            };
            if behind < every {
                continue;
            }
            // Only now read the size: most metrics changes are far from a snapshot.
            let size = reader.get().size();
            if size.saturating_sub(size_at_last) >= size_at_last / GROWTH {
                if raft.trigger().snapshot().await.is_err() {
                    break;
                }
                size_at_last = size;
            }
        }
    });
}
