//! # qed-agents
//!
//! The programs that talk to a QED cluster from outside:
//!
//! - [`client`]: an async HTTP client over the API of docs/API.md, answering with qed-core's
//!   types, following the leader, with verification helpers;
//! - [`client_cli`]: `qed client`, one request from the command line, verified on demand;
//! - [`workload`]: `qed workload`, a load generator with throughput and latency percentiles.
//!
//! The `qed` binary (crate qed-server) dispatches its `client` and `workload` subcommands to
//! [`client_cli::run`] and [`workload::run`] with the clap argument structs defined here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod client_cli;
pub mod server_args;
pub mod workload;

#[cfg(test)]
mod test_cli;
