//! The `qed` command line (clap). `main.rs` parses it and dispatches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::consensus::RaftOptions;
use crate::consensus::group_commit::GroupCommitOptions;
use crate::node::{KeySource, NodeConfig, parse_listen};
use crate::state_machine::DEFAULT_CACHE_MIB;

/// The log's origin (the signing key's name) when `--origin` is not given.
pub const DEFAULT_ORIGIN: &str = "qed.local/log";
/// The API key when `-k` is not given (a warning is logged: set a real secret).
pub const DEFAULT_API_KEY: &str = "my-key";
/// The signing key used when `-y` is not given (generated on first start).
pub const DEFAULT_KEY_PATH: &str = "./data/qed_ed25519";

/// QED: a tamper-evident log.
#[derive(Debug, Parser)]
#[command(name = "qed", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a QED server node.
    Start(Box<StartArgs>),
    /// Generate key material.
    Generate {
        /// What to generate.
        #[command(subcommand)]
        what: Generate,
    },
    /// Talk to a QED server: add events, ask for proofs and verify them.
    Client(Box<qed_agents::client_cli::Args>),
    /// Generate load against a QED server and report throughput and latency.
    Workload(Box<qed_agents::workload::Args>),
}

/// `qed generate ...`.
#[derive(Debug, Subcommand)]
pub enum Generate {
    /// Write a snapshot signing key pair (OpenSSH Ed25519) and print its verifier key.
    Signerkeys(SignerKeysArgs),
}

/// `qed generate signerkeys`.
#[derive(Debug, Args)]
pub struct SignerKeysArgs {
    /// Directory to write qed_ed25519 and qed_ed25519.pub into.
    #[arg(long, default_value = ".")]
    pub path: PathBuf,
    /// The log's origin, which names the key in the verifier key string.
    #[arg(long, default_value = DEFAULT_ORIGIN)]
    pub origin: String,
}

/// `qed start`: the flags of PROTOCOL.md section 6, plus `--metrics-addr` and `--origin`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Shared secret: writes, management and Raft traffic must carry it (`Api-Key` header).
    #[arg(short = 'k', long = "apikey", env = "QED_APIKEY", default_value = DEFAULT_API_KEY, hide_env_values = true)]
    pub apikey: String,
    /// Directory of the state database (history and hyper trees, snapshots).
    #[arg(short = 'p', long = "path", default_value = "./data/db")]
    pub path: PathBuf,
    /// Directory of the Raft log and Raft snapshots.
    #[arg(long = "raftpath", default_value = "./data/raft")]
    pub raftpath: PathBuf,
    /// Snapshot signing key: an OpenSSH Ed25519 private key (`ssh-keygen -t ed25519 -N ""` or
    /// `qed generate signerkeys`). Default: ./data/qed_ed25519, generated if missing.
    #[arg(short = 'y', long = "keypath")]
    pub keypath: Option<PathBuf>,
    /// Public HTTP API address (`:PORT` = every interface).
    #[arg(long = "http-addr", default_value = "127.0.0.1:8800")]
    pub http_addr: String,
    /// Raft address for the other members.
    #[arg(long = "raft-addr", default_value = "127.0.0.1:8500")]
    pub raft_addr: String,
    /// Management API address (joins).
    #[arg(long = "mgmt-addr", default_value = "127.0.0.1:8700")]
    pub mgmt_addr: String,
    /// Prometheus metrics address. Default: the HTTP host with the HTTP port + 100.
    #[arg(long = "metrics-addr")]
    pub metrics_addr: Option<String>,
    /// Management address of a cluster member to join (instead of starting a new cluster).
    #[arg(long = "join-addr")]
    pub join_addr: Option<String>,
    /// This node's name in the cluster.
    #[arg(long = "node-id", default_value = "node0")]
    pub node_id: String,
    /// The log's name (origin of every checkpoint and name of the signing key); the same on
    /// every node of a cluster.
    #[arg(long, default_value = DEFAULT_ORIGIN)]
    pub origin: String,
    /// Log level: silent, error, warn, info, debug or trace.
    #[arg(short = 'l', long = "log", default_value = "info")]
    pub log: String,
    /// Ledger cache size in MiB.
    #[arg(long = "cache-mib", default_value_t = DEFAULT_CACHE_MIB, hide = true)]
    pub cache_mib: usize,
}

impl StartArgs {
    /// The node configuration these flags describe.
    pub fn to_config(&self) -> NodeConfig {
        let key = match &self.keypath {
            Some(p) => KeySource::File(p.clone()),
            None => KeySource::GenerateIfMissing(PathBuf::from(DEFAULT_KEY_PATH)),
        };
        NodeConfig {
            node_id: self.node_id.clone(),
            api_key: self.apikey.clone(),
            db_path: self.path.clone(),
            raft_path: self.raftpath.clone(),
            key,
            origin: self.origin.clone(),
            http_addr: self.http_addr.clone(),
            raft_addr: self.raft_addr.clone(),
            mgmt_addr: self.mgmt_addr.clone(),
            metrics_addr: self
                .metrics_addr
                .clone()
                .or_else(|| default_metrics_addr(&self.http_addr)),
            join_addr: self.join_addr.clone(),
            cache_bytes: self.cache_mib.saturating_mul(1 << 20),
            raft: RaftOptions::default(),
            commit: GroupCommitOptions::default(),
        }
    }
}

/// The HTTP address with its port + 100 (`:8800` → `:8900`), so that several nodes started
/// with only distinct `--http-addr` get distinct metrics ports.
fn default_metrics_addr(http: &str) -> Option<String> {
    let sock = parse_listen(http).ok()?;
    let port = sock.port().checked_add(100)?;
    if http.starts_with(':') {
        Some(format!(":{port}"))
    } else {
        Some(format!("{}:{port}", sock.ip()))
    }
}

/// The tracing filter for a `-l` level.
pub fn log_filter(level: &str) -> Result<&'static str, String> {
    match level.to_ascii_lowercase().as_str() {
        "silent" | "off" => Ok("off"),
        "error" => Ok("error"),
        "warn" | "warning" => Ok("warn"),
        "info" => Ok("info,openraft=warn"),
        "debug" => Ok("debug,openraft=info,hyper=info,reqwest=info"),
        "trace" => Ok("trace"),
        other => Err(format!(
            "unknown log level {other:?}: use silent, error, warn, info, debug or trace"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(args: &[&str]) -> StartArgs {
        let mut all = vec!["qed", "start"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Start(s) => *s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_seed_walkthrough_flags_parse() {
        let s = start(&[
            "-k",
            "my-key",
            "-p",
            "/tmp/a",
            "--raftpath",
            "/tmp/b",
            "-y",
            "/k",
            "--http-addr",
            ":8081",
            "--join-addr",
            ":8700",
            "--raft-addr",
            ":9001",
            "--mgmt-addr",
            ":8091",
            "--node-id",
            "node1",
            "-l",
            "error",
        ]);
        let c = s.to_config();
        assert_eq!(c.api_key, "my-key");
        assert_eq!(c.node_id, "node1");
        assert_eq!(c.join_addr.as_deref(), Some(":8700"));
        assert_eq!(c.metrics_addr.as_deref(), Some(":8181"));
        assert!(matches!(c.key, KeySource::File(ref p) if p == std::path::Path::new("/k")));
        assert_eq!(log_filter(&s.log).unwrap(), "error");
    }

    #[test]
    fn defaults_make_a_single_node() {
        let c = start(&[]).to_config();
        assert_eq!(c.node_id, "node0");
        assert_eq!(c.origin, DEFAULT_ORIGIN);
        assert_eq!(c.http_addr, "127.0.0.1:8800");
        assert_eq!(c.metrics_addr.as_deref(), Some("127.0.0.1:8900"));
        assert!(c.join_addr.is_none());
        assert!(matches!(c.key, KeySource::GenerateIfMissing(_)));
    }

    #[test]
    fn generate_signerkeys_parses_and_bad_levels_are_refused() {
        let cli =
            Cli::try_parse_from(["qed", "generate", "signerkeys", "--path", "/tmp/x"]).unwrap();
        assert!(
            matches!(cli.command, Command::Generate { what: Generate::Signerkeys(ref a) } if a.path == std::path::Path::new("/tmp/x"))
        );
        assert!(log_filter("loud").is_err());
        assert!(Cli::try_parse_from(["qed", "start", "--bogus"]).is_err());
    }
}
