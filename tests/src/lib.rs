//! # qed-tests: end-to-end tests of the real `qed` binary
//!
//! The tests in `tests/tests/processes/` start `qed start` as a child process on 127.0.0.1 (free
//! ports, a temporary directory per node) and drive it with the client library of qed-agents,
//! checking every answer with qed-core's verifiers.
//!
//! ## Which `qed` binary runs
//!
//! `CARGO_BIN_EXE_qed` exists only for tests of the package that owns the binary (qed-server),
//! so this crate finds the binary itself, once per test process ([`qed_bin`]):
//!
//! 1. if `QED_BIN` is set, that file is used as is (for CI jobs that built it already, or to test
//!    a release build);
//! 2. otherwise it runs `$CARGO build -p qed-server --bin qed` (`--release` when the tests are
//!    built without debug assertions) in the workspace, with the same environment, hence the
//!    same `CARGO_TARGET_DIR` and `.cargo/config.toml`, and takes the path of the executable
//!    from cargo's JSON messages. When the binary is up to date this costs about a second; when
//!    it is not, the tests never run a stale server.
//!
//! `cargo test` releases the build directory lock before it runs the test binaries, so the
//! nested build does not wait on the outer one.
//!
//! ## Processes are always cleaned up
//!
//! Every child is spawned with `kill_on_drop`: a [`Node`] (or a [`run_qed`] call that times out)
//! kills its process when it is dropped, including when a test panics. When a test panics while
//! a node is alive, the tail of that node's log is printed to help diagnose it; set
//! `QED_TEST_KEEP=1` to keep the temporary directories.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use qed_agents::client::{Client, ClientOptions, Info};
use qed_core::snapshot::{SnapshotJson, VerifierKey};
use tempfile::TempDir;
use tokio::process::{Child, Command};

/// The `qed` binary under test (built or located once per process; see the crate docs).
///
/// Panics with cargo's explanation when the binary cannot be built: no test can run then.
pub fn qed_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("QED_BIN") {
        Some(path) => PathBuf::from(path),
        None => build_qed().unwrap_or_else(|e| panic!("cannot build the qed binary: {e}")),
    })
}

fn build_qed() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace directory")?;
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "-p",
            "qed-server",
            "--bin",
            "qed",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit());
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo build failed ({})", out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "qed")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo reported no qed executable".to_string())
}

/// Ports handed to test nodes: below Linux's ephemeral range (32768-60999 by default), so that no
/// outgoing connection of any process can take a node's port while the node restarts (a member
/// restarted on its old ports once found one taken by another test's client).
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_768;

/// A loopback port that was free a moment ago and that no other node of this process uses. The
/// search starts at a place derived from the process id, so that test processes running in
/// parallel try different ports.
pub fn free_port() -> u16 {
    static NEXT: Mutex<Option<(u32, HashSet<u16>)>> = Mutex::new(None);
    let span = u32::from(TEST_PORTS.end - TEST_PORTS.start);
    let mut state = NEXT.lock().unwrap_or_else(|p| p.into_inner());
    let (next, taken) = state.get_or_insert_with(|| {
        (
            std::process::id().wrapping_mul(2_654_435_761) % span,
            HashSet::new(),
        )
    });
    for _ in 0..span {
        // A step coprime with the span visits every port once (`next` stays below the span, so
        // the sequence never wraps around `u32`).
        *next = (*next + 7_919) % span;
        let port = TEST_PORTS.start + *next as u16;
        if !taken.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            taken.insert(port);
            return port;
        }
    }
    panic!("no free loopback port in {TEST_PORTS:?}");
}

/// Runs `qed ARGS...` to completion, killing it after `timeout` (then this panics).
pub async fn run_qed(args: &[&str], timeout: Duration) -> Output {
    let mut cmd = Command::new(qed_bin());
    cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
    match tokio::time::timeout(timeout, cmd.output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("cannot run qed {args:?}: {e}"),
        Err(_) => panic!("qed {args:?} did not finish within {timeout:?}"),
    }
}

/// A signing key made by `qed generate signerkeys`.
#[derive(Debug, Clone)]
pub struct SignerKey {
    /// The private key file (`-y`).
    pub path: PathBuf,
    /// The verifier key string the command printed.
    pub verifier_key: String,
}

impl SignerKey {
    /// The parsed verifier key.
    pub fn key(&self) -> VerifierKey {
        self.verifier_key
            .parse()
            .unwrap_or_else(|e| panic!("bad verifier key {:?}: {e}", self.verifier_key))
    }
}

/// Runs `qed generate signerkeys --path DIR` and finds the verifier key in what it prints.
pub async fn generate_key(dir: &Path) -> SignerKey {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let dir_str = dir.to_str().expect("temporary paths are UTF-8");
    let out = run_qed(
        &["generate", "signerkeys", "--path", dir_str],
        Duration::from_secs(30),
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "qed generate signerkeys failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verifier_key = stdout
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| matches!(c, '"' | '\'' | '`' | ',' | ';')))
        .find(|w| w.parse::<VerifierKey>().is_ok())
        .unwrap_or_else(|| panic!("no verifier key string in: {stdout}"))
        .to_string();
    SignerKey {
        path: dir.join("qed_ed25519"),
        verifier_key,
    }
}

/// One `qed start` process and everything needed to start it again with the same flags.
pub struct Node {
    dir: Option<TempDir>,
    /// The `--node-id`.
    pub node_id: String,
    /// The shared secret (`-k`).
    pub api_key: String,
    /// The signing key.
    pub signer: SignerKey,
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// Where the Raft RPCs listen.
    pub raft_addr: SocketAddr,
    /// Where the management API listens (what `--join-addr` names).
    pub mgmt_addr: SocketAddr,
    /// Where the Prometheus metrics are served.
    pub metrics_addr: SocketAddr,
    args: Vec<String>,
    child: Option<Child>,
    starts: u32,
}

/// How to start a [`Node`] that is a member of a cluster ([`Node::launch`]).
#[derive(Debug, Clone)]
pub struct Member {
    /// `--node-id`.
    pub node_id: String,
    /// The shared secret (`-k`), the same on every member.
    pub api_key: String,
    /// The signing key (`-y`), the same on every member.
    pub signer: SignerKey,
    /// `--join-addr`: a member's management address; `None` bootstraps a new cluster.
    pub join: Option<SocketAddr>,
}

impl Node {
    /// Starts a fresh single-node cluster in a new temporary directory and waits until it leads.
    pub async fn start() -> Node {
        let dir = node_dir();
        let signer = generate_key(&dir.path().join("keys")).await;
        let member = Member {
            node_id: "1".into(),
            api_key: format!("e2e-secret-{}", free_port()),
            signer,
            join: None,
        };
        let mut node = Node::launch_in(dir, member);
        node.wait_ready(Duration::from_secs(60)).await;
        node
    }

    /// Starts a member of a cluster on free loopback ports in a new temporary directory, and
    /// returns at once (see [`Node::wait_ready`] and [`Node::wait_member`]).
    pub fn launch(member: Member) -> Node {
        Node::launch_in(node_dir(), member)
    }

    fn launch_in(dir: TempDir, m: Member) -> Node {
        let loopback = |port: u16| -> SocketAddr { ([127, 0, 0, 1], port).into() };
        let (http_addr, raft_addr) = (loopback(free_port()), loopback(free_port()));
        let (mgmt_addr, metrics_addr) = (loopback(free_port()), loopback(free_port()));
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let mut args: Vec<String> = vec![
            "start".into(),
            "-k".into(),
            m.api_key.clone(),
            "-p".into(),
            path("db"),
            "--raftpath".into(),
            path("raft"),
            "-y".into(),
            m.signer.path.to_string_lossy().into_owned(),
            "--http-addr".into(),
            http_addr.to_string(),
            "--raft-addr".into(),
            raft_addr.to_string(),
            "--mgmt-addr".into(),
            mgmt_addr.to_string(),
            "--metrics-addr".into(),
            metrics_addr.to_string(),
            "--node-id".into(),
            m.node_id.clone(),
            "-l".into(),
            "info".into(),
            // A small cache: the ledger flushes its tree every megabyte of changed pages, so
            // crashes, restarts and snapshots land between flushes as well as on them.
            "--cache-mib".into(),
            "8".into(),
        ];
        if let Some(join) = m.join {
            args.extend(["--join-addr".into(), join.to_string()]);
        }
        let mut node = Node {
            dir: Some(dir),
            node_id: m.node_id,
            api_key: m.api_key,
            signer: m.signer,
            http_addr,
            raft_addr,
            mgmt_addr,
            metrics_addr,
            args,
            child: None,
            starts: 0,
        };
        node.spawn();
        node
    }

    /// The node's directory (keys, databases, log).
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new("."), |d| d.path())
    }

    /// The HTTP endpoint, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The trusted verifier key.
    pub fn key(&self) -> VerifierKey {
        self.signer.key()
    }

    /// A client with the node's secret and the default retries.
    pub fn client(&self) -> Client {
        self.client_with(ClientOptions::default())
    }

    /// A client with the node's secret and the given options.
    pub fn client_with(&self, opts: ClientOptions) -> Client {
        let opts = ClientOptions {
            api_key: Some(self.api_key.clone()),
            ..opts
        };
        Client::new(&[self.url()], opts).expect("a valid endpoint")
    }

    /// The process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Spawns `qed start` with the node's flags; its output is appended to `node.log`.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "the node is already running");
        self.starts += 1;
        let log_path = self.dir().join("node.log");
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("the node log");
        use std::io::Write;
        let _ = writeln!(log, "===== start #{} =====", self.starts);
        let err = log.try_clone().expect("the node log");
        let child = Command::new(qed_bin())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", qed_bin().display()));
        self.child = Some(child);
    }

    /// Waits until the node answers and leads its cluster; panics with its log after `timeout`
    /// or if it exits.
    pub async fn wait_ready(&mut self, timeout: Duration) {
        self.wait_info(timeout, "leading its cluster", |info| {
            info.role.eq_ignore_ascii_case("leader")
                || info.leader_id.as_deref() == Some(info.node_id.as_str())
        })
        .await;
    }

    /// Waits until the node is a voting member (leader or follower) that knows a leader.
    pub async fn wait_member(&mut self, timeout: Duration) {
        self.wait_info(timeout, "a voter that knows the leader", |info| {
            matches!(info.role.as_str(), "leader" | "follower") && info.leader_id.is_some()
        })
        .await;
    }

    /// Polls `GET /info` until `ok` holds; panics with the node's log after `timeout` or if the
    /// process exits.
    pub async fn wait_info(&mut self, timeout: Duration, what: &str, ok: impl Fn(&Info) -> bool) {
        let probe = quick_client(self);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "node {} exited during start-up ({status}):\n{}",
                    self.node_id,
                    self.log_tail(60)
                );
            }
            if probe.info().await.is_ok_and(|info| ok(&info)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {} was not {what} after {timeout:?}:\n{}",
                self.node_id,
                self.log_tail(60)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /metrics` of the node, as text.
    pub async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.metrics_addr);
        let resp = reqwest::get(&url)
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        resp.text()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// The value of the metric whose line starts with `series` (a name with its labels, as
    /// rendered), if the node exports it.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        metric_value(&self.metrics().await, series)
    }

    /// Asks the node to stop (SIGTERM) and waits for it; returns its exit status.
    pub async fn stop(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("the node is running");
        let pid = child.id().expect("a running child has a pid");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        assert!(
            sent.is_ok_and(|s| s.success()),
            "cannot send SIGTERM to {pid}"
        );
        match tokio::time::timeout(timeout, child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("cannot wait for the node: {e}"),
            Err(_) => panic!(
                "the node did not stop within {timeout:?} of SIGTERM:\n{}",
                self.log_tail(40)
            ),
        }
    }

    /// Kills the node at once (SIGKILL, like `kill -9`) and reaps it.
    pub async fn kill9(&mut self) {
        let mut child = self.child.take().expect("the node is running");
        child.start_kill().expect("SIGKILL");
        let _ = child.wait().await;
    }

    /// Starts the node again with the same flags and waits until it leads.
    pub async fn restart(&mut self) {
        self.spawn();
        self.wait_ready(Duration::from_secs(60)).await;
    }

    /// Starts a cluster member again with the same flags and waits until it is a voter.
    pub async fn restart_member(&mut self) {
        self.spawn();
        self.wait_member(Duration::from_secs(60)).await;
    }

    /// Whether the process is running (started and not stopped or killed).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The last `lines` lines of the node's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.dir().join("node.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        if std::thread::panicking() {
            eprintln!(
                "----- last lines of the node log ({}) -----\n{}",
                self.dir().display(),
                self.log_tail(40)
            );
        }
        if std::env::var_os("QED_TEST_KEEP").is_some()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("keeping {}", dir.keep().display());
        }
    }
}

/// Members of one cluster on loopback: `qed start` processes sharing one secret and one signing
/// key (docs/CLUSTER.md says why the key is shared).
pub struct Cluster {
    _keys: TempDir,
    /// The members, in the order they were started (`nodes[0]` bootstrapped the cluster).
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// Starts `size` members named `n0`, `n1`, ...: `n0` bootstraps the cluster and each next one
    /// joins through the management address of the one before it (a follower from the third on,
    /// which forwards the join to the leader). Returns once every member is a voter.
    pub async fn start(size: usize) -> Cluster {
        let keys = node_dir();
        let signer = generate_key(keys.path()).await;
        let api_key = format!("cluster-secret-{}", free_port());
        let mut nodes: Vec<Node> = Vec::with_capacity(size);
        for i in 0..size {
            let member = Member {
                node_id: format!("n{i}"),
                api_key: api_key.clone(),
                signer: signer.clone(),
                join: nodes.last().map(|n| n.mgmt_addr),
            };
            let mut node = Node::launch(member);
            if i == 0 {
                node.wait_ready(Duration::from_secs(60)).await;
            } else {
                node.wait_member(Duration::from_secs(60)).await;
            }
            nodes.push(node);
        }
        Cluster { _keys: keys, nodes }
    }

    /// The running members.
    pub fn running(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.is_running())
    }

    /// The index in `nodes` of the leader as the running members see it, once they agree on one
    /// that is running (panics after `timeout`).
    pub async fn leader(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let mut seen = Vec::new();
            for node in self.running() {
                seen.push(
                    quick_client(node)
                        .info()
                        .await
                        .ok()
                        .and_then(|i| i.leader_id),
                );
            }
            let agreed = seen
                .first()
                .cloned()
                .flatten()
                .filter(|l| seen.iter().all(|s| s.as_ref() == Some(l)));
            if let Some(i) = agreed.and_then(|l| {
                self.nodes
                    .iter()
                    .position(|n| n.node_id == l && n.is_running())
            }) {
                return i;
            }
            assert!(
                Instant::now() < deadline,
                "no agreed running leader after {timeout:?}: {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every running member serves the same latest signed snapshot (history root,
    /// hyper root, signed note) of `size` events, at the same applied Raft log index; returns
    /// it. Panics after `timeout` with what each member had.
    pub async fn wait_converged(&self, size: u64, timeout: Duration) -> SnapshotJson {
        let deadline = Instant::now() + timeout;
        loop {
            let mut views = Vec::new();
            for node in self.running() {
                let snapshot = quick_client(node).snapshot().await.ok();
                let applied = node.metric("qed_raft_applied_index").await;
                views.push((node.node_id.clone(), snapshot, applied));
            }
            let (_, first, applied) = &views[0];
            let same = views.iter().all(|(_, s, a)| s == first && a == applied);
            if let Some(snap) = first.as_ref().filter(|s| same && s.size == size) {
                return snap.clone();
            }
            assert!(
                Instant::now() < deadline,
                "the members did not converge on size {size} within {timeout:?}: {views:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A client of one node that fails fast (probes: no retries, short timeouts).
pub fn quick_client(node: &Node) -> Client {
    node.client_with(ClientOptions {
        max_retries: 0,
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_millis(500),
        ..ClientOptions::default()
    })
}

/// The value on the line of a Prometheus text `page` that starts with `series` and a space.
pub fn metric_value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

fn node_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("qed-e2e-")
        .tempdir()
        .expect("a temporary directory")
}

/// A small deterministic generator for test randomness (seeded from the clock and printed, so a
/// failing run can be replayed with `QED_TEST_SEED`).
pub struct Rng(u64);

impl Rng {
    /// Seeded from `QED_TEST_SEED`, or else the clock; prints the seed.
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var("QED_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{test}: QED_TEST_SEED={seed}");
        Rng(seed)
    }

    /// The next 64 random bits (SplitMix64).
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo)
        }
    }
}
