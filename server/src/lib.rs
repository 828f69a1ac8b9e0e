//! QED server library: the RocksDB storage and the state machine (the ledger), the Raft
//! consensus and the HTTP API of the `qed` binary.

pub mod state_machine;
pub mod storage;
