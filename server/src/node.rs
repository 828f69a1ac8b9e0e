//! A running QED node: opens the stores, starts Raft, the servers and the batcher, and shuts
//! them down in order.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::api::{self, ApiState};
use crate::auth::ApiKey;
use crate::consensus::group_commit::{Committer, GroupCommitOptions};
use crate::consensus::log_store::LogStore;
use crate::consensus::mgmt;
use crate::consensus::network::{NetworkFactory, raft_router};
use crate::consensus::state::{LedgerHandle, StateMachine};
use crate::consensus::{NodeInfo, Raft, RaftOptions, raft_config, raft_id, spawn_snapshot_trigger};
use crate::keys;
use crate::state_machine::{Ledger, LedgerOptions};
use crate::telemetry;

/// Where a node's signing key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// An existing OpenSSH Ed25519 key file (`-y`).
    File(PathBuf),
    /// This file, generated on first start if missing (the default single-node setup).
    GenerateIfMissing(PathBuf),
}

/// Everything `qed start` configures.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// `--node-id`.
    pub node_id: String,
    /// `-k`.
    pub api_key: String,
    /// `-p`: the state RocksDB.
    pub db_path: PathBuf,
    /// `--raftpath`: the Raft log and snapshots.
    pub raft_path: PathBuf,
    /// `-y`.
    pub key: KeySource,
    /// `--origin`: the log's name, also the signing key's name.
    pub origin: String,
    /// `--http-addr`.
    pub http_addr: String,
    /// `--raft-addr`.
    pub raft_addr: String,
    /// `--mgmt-addr`.
    pub mgmt_addr: String,
    /// `--metrics-addr` (`None`: no metrics server).
    pub metrics_addr: Option<String>,
    /// `--join-addr`: a member's management address.
    pub join_addr: Option<String>,
    /// Bytes of cache for the Ledger.
    pub cache_bytes: usize,
    /// Raft tuning.
    pub raft: RaftOptions,
    /// Group commit tuning.
    pub commit: GroupCommitOptions,
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A listen address that does not parse or resolve.
    #[error("address {addr:?}: {why}")]
    Address {
        /// The flag value.
        addr: String,
        /// What is wrong.
        why: String,
    },
    /// Binding a listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The signing key.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// Opening a store or starting Raft.
    #[error("{0}")]
    Start(String),
}

/// Parses a listen address: `host:port`, or `:port` for every interface.
///
/// ```
/// use qed_server::node::parse_listen;
/// assert_eq!(parse_listen(":8800").unwrap().to_string(), "0.0.0.0:8800");
/// assert_eq!(parse_listen("127.0.0.1:1").unwrap().to_string(), "127.0.0.1:1");
/// assert!(parse_listen("nonsense").is_err());
/// ```
pub fn parse_listen(addr: &str) -> Result<SocketAddr, NodeError> {
    let bad = |why: &str| NodeError::Address {
        addr: addr.to_string(),
        why: why.to_string(),
    };
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    };
    use std::net::ToSocketAddrs;
    full.to_socket_addrs()
        .map_err(|e| bad(&e.to_string()))?
        .next()
        .ok_or_else(|| bad("resolves to no address"))
}

/// The address other processes use to reach a listener: wildcard binds are advertised as
/// 127.0.0.1 (a QED cluster on one host; run on several hosts with explicit IPs).
pub fn advertised(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
    } else {
        bound
    }
}

/// Turns a `--join-addr` (`host:port`, `:port` or a URL) into a base URL.
///
/// ```
/// assert_eq!(qed_server::node::join_url(":8700").unwrap(), "http://127.0.0.1:8700");
/// assert_eq!(qed_server::node::join_url("http://10.0.0.1:8700/").unwrap(), "http://10.0.0.1:8700");
/// ```
pub fn join_url(addr: &str) -> Result<String, NodeError> {
    if addr.starts_with("http://") || addr.starts_with("https://") {
        return Ok(addr.trim_end_matches('/').to_string());
    }
    Ok(format!("http://{}", advertised(parse_listen(addr)?)))
}

async fn bind(addr: &str) -> Result<TcpListener, NodeError> {
    let sock = parse_listen(addr)?;
    TcpListener::bind(sock)
        .await
        .map_err(|source| NodeError::Bind {
            addr: addr.to_string(),
            source,
        })
}

fn local(l: &TcpListener) -> Result<SocketAddr, NodeError> {
    l.local_addr()
        .map(advertised)
        .map_err(|e| NodeError::Start(e.to_string()))
}

/// A started node.
pub struct Node {
    /// The Raft handle.
    pub raft: Raft,
    /// The API state (also usable to build a router in tests).
    pub api: ApiState,
    /// This node's advertised addresses.
    pub info: NodeInfo,
    /// The bound metrics address, if any.
    pub metrics_addr: Option<SocketAddr>,
    ledger: LedgerHandle,
    log_closed: crate::consensus::log_store::LogClosed,
    http: JoinHandle<()>,
    others: Vec<JoinHandle<()>>,
    stop_http: tokio::sync::watch::Sender<bool>,
}

fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("server stopped: {e}");
        }
    })
}

impl Node {
    /// Opens everything and starts serving. Without `join_addr` a fresh node bootstraps a
    /// one-member cluster; with it, the node asks that member's management API to add it (in
    /// the background, retrying).
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        let seed = match &config.key {
            KeySource::File(p) => keys::load_seed(p)?,
            KeySource::GenerateIfMissing(p) => {
                let (seed, created) = keys::load_or_generate(p)?;
                if created {
                    tracing::warn!("generated a new signing key at {}", p.display());
                }
                seed
            }
        };
        let signer = keys::signer(&config.origin, &seed)?;
        let verifier_key = signer.verifier_key().to_string();
        let http_l = bind(&config.http_addr).await?;
        let raft_l = bind(&config.raft_addr).await?;
        let mgmt_l = bind(&config.mgmt_addr).await?;
        let info = NodeInfo {
            node_id: config.node_id.clone(),
            http_url: format!("http://{}", local(&http_l)?),
            raft_addr: local(&raft_l)?.to_string(),
            mgmt_url: format!("http://{}", local(&mgmt_l)?),
        };
        let id = raft_id(&config.node_id);
        let key = ApiKey::new(&config.api_key);

        let db_path = config.db_path.clone();
        let cache_bytes = config.cache_bytes;
        let ledger = tokio::task::spawn_blocking(move || {
            Ledger::open(&db_path, signer, LedgerOptions { cache_bytes })
        })
        .await
        .map_err(|e| NodeError::Start(e.to_string()))?
        .map_err(|e| {
            NodeError::Start(format!(
                "opening the state at {}: {e}",
                config.db_path.display()
            ))
        })?;
        let log = LogStore::open(&config.raft_path.join("log"))
            .map_err(|e| NodeError::Start(e.to_string()))?;
        let sm = StateMachine::new(ledger, &config.raft_path.join("snapshots"))
            .map_err(|e| NodeError::Start(format!("state machine: {e}")))?;
        let reader = sm.reader();
        let ledger = sm.handle();
        let raft_cfg = raft_config(&config.raft).map_err(|e| NodeError::Start(e.to_string()))?;
        let raft = Raft::new(
            id,
            raft_cfg,
            NetworkFactory::new(key.clone()),
            log.clone(),
            sm,
        )
        .await
        .map_err(|e| NodeError::Start(format!("starting Raft: {e}")))?;
        telemetry::spawn_raft_gauges(raft.clone(), log.committed());
        spawn_snapshot_trigger(raft.clone(), reader.clone(), &config.raft);
        let log_closed = log.closed_watch();
        drop(log);

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut others = vec![
            serve(
                raft_l,
                raft_router(raft.clone(), key.clone()),
                stop_rx.clone(),
            ),
            serve(
                mgmt_l,
                mgmt::mgmt_router(raft.clone(), key.clone(), verifier_key.clone()),
                stop_rx.clone(),
            ),
        ];
        let mut metrics_addr = None;
        if let (Some(addr), Some(handle)) = (&config.metrics_addr, telemetry::recorder()) {
            match bind(addr).await {
                Ok(l) => {
                    metrics_addr = l.local_addr().ok();
                    others.push(serve(l, telemetry::metrics_router(handle), stop_rx.clone()));
                }
                Err(e) => tracing::warn!("metrics disabled: {e}"),
            }
        }

        match &config.join_addr {
            None => bootstrap(&raft, id, &info).await?,
            Some(addr) => {
                let url = join_url(addr)?;
                let me = mgmt::JoinRequest {
                    node: info.clone(),
                    verifier_key: Some(verifier_key.clone()),
                };
                let key = key.clone();
                others.push(tokio::spawn(async move {
                    match mgmt::request_join(&url, &key, &me, Duration::from_secs(3600)).await {
                        Ok(view) => tracing::info!(leader = ?view.leader_id, members = view.members.len(), "joined the cluster"),
                        Err(e) => tracing::error!("could not join the cluster: {e}"),
                    }
                }));
            }
        }

        let committer = Committer::spawn(raft.clone(), config.commit);
        let api = ApiState {
            raft: raft.clone(),
            committer,
            reader,
            key,
            id,
            node: info.clone(),
            origin: config.origin.clone(),
            verifier_key,
        };
        let http = serve(http_l, api::router(api.clone()), stop_rx);
        tracing::info!(node = %config.node_id, http = %info.http_url, raft = %info.raft_addr, mgmt = %info.mgmt_url, "qed node started");
        Ok(Node {
            raft,
            api,
            info,
            metrics_addr,
            ledger,
            log_closed,
            http,
            others,
            stop_http: stop_tx,
        })
    }

    /// Stops in order: no new requests, in-flight ones finish (their writes commit and are
    /// answered), Raft stops, the state is flushed, and RocksDB closes as the last handles drop.
    pub async fn shutdown(self) {
        let _ = self.stop_http.send(true);
        if tokio::time::timeout(Duration::from_secs(30), self.http)
            .await
            .is_err()
        {
            tracing::warn!("HTTP requests still running after 30 s; stopping anyway");
        }
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!("Raft shutdown: {e}");
        }
        for task in &self.others {
            task.abort();
        }
        for task in self.others {
            let _ = task.await;
        }
        let ledger = self.ledger;
        let ledger_closed = ledger.closed_watch();
        let flushed = tokio::task::spawn_blocking(move || ledger.flush()).await;
        if let Ok(Err(e)) = flushed {
            tracing::warn!("flushing the state at shutdown: {e}");
        }
        drop(self.api);
        drop(self.raft);
        // The databases close when their last handles drop (openraft's tasks, blocking reads in
        // flight): wait for that, so that a restart in the same process finds them unlocked.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self.log_closed.is_closed() || !ledger_closed.is_closed() {
            if std::time::Instant::now() > deadline {
                tracing::warn!("some database handles are still open after shutdown");
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::info!("qed node stopped");
    }

    /// Runs until `signal` completes, then shuts down.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        tracing::info!("shutting down");
        self.shutdown().await;
    }
}

/// Makes a fresh node the single member of a new cluster. A node that already has Raft state
/// (a restart) keeps it.
async fn bootstrap(raft: &Raft, id: u64, info: &NodeInfo) -> Result<(), NodeError> {
    let initialized = raft
        .is_initialized()
        .await
        .map_err(|e| NodeError::Start(e.to_string()))?;
    if initialized {
        return Ok(());
    }
    let members: BTreeMap<u64, NodeInfo> = [(id, info.clone())].into_iter().collect();
    match raft.initialize(members).await {
        Ok(()) => {
            tracing::info!("bootstrapped a new one-member cluster");
            Ok(())
        }
        Err(openraft::error::RaftError::APIError(
            openraft::error::InitializeError::NotAllowed(_),
        )) => Ok(()),
        Err(e) => Err(NodeError::Start(format!("bootstrapping the cluster: {e}"))),
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
