//! `qed workload`: a load generator for one QED cluster.
//!
//! Kinds:
//! - `add`: single adds (`POST /events`), one event per request;
//! - `bulk`: bulk adds (`POST /events/bulk`), `--bulk-size` events per request;
//! - `membership`: membership proofs of random events among `--preload` events this run adds
//!   first (in bulk), as of the latest version;
//! - `incremental`: consistency proofs between random versions of the log (at least
//!   `--preload` events, added first when the log is smaller).
//!
//! `--concurrency` tasks run until `--count` events (adds) or queries (proofs) are done, or for
//! `--duration`. Each sends its single adds and proof questions over a
//! [`Connection`](crate::client::Connection) of its own and its bulk requests through its
//! thread's client. The tasks are dealt out over `--threads` threads, each running a one-thread
//! runtime with a client of its own, so that no request and no wake-up crosses threads: two
//! for single adds, one for the other kinds, unless told otherwise (see [`Kind::threads`]).
//! Every event is unique to the run: it is
//! `<run id>-<index>` (optionally padded to `--event-size` bytes), the run id being random unless
//! given, so adds are never duplicates of an earlier run's.
//!
//! At the end it prints throughput (requests and events per second) and latency percentiles per
//! request (p50, p90, p99, p99.9, max, from an HDR histogram in microseconds), and writes the same
//! figures as JSON to `--output`. With `--verify` every answer is also checked with qed-core
//! against `--verifier-key` (client CPU, not server work), except incremental answers, which need
//! two signed snapshots each. Without it, proof answers are read but not parsed, so that the load
//! generator takes as little as it can of the CPU it shares with a server on the same machine.
//!
//! Exit codes: 0 when every request succeeded (and verified), 1 when some failed, 2 when the run
//! could not start or its report could not be written.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args as ClapArgs, ValueEnum};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use qed_core::Hash;
use qed_core::receipt::Receipt;
use qed_core::snapshot::VerifierKey;
use qed_core::verify::MembershipAnswer;
use serde::{Deserialize, Serialize};

use crate::client::{Client, ClientError, Connection, Subject, decode, verify};
use crate::server_args::ServerArgs;

/// Arguments of `qed workload`.
#[derive(Debug, Clone, ClapArgs)]
pub struct Args {
    /// What to send.
    #[arg(long, value_enum, default_value_t = Kind::Add)]
    pub kind: Kind,
    /// Concurrent requests in flight.
    #[arg(short = 'c', long, default_value_t = 16)]
    pub concurrency: usize,
    /// Threads that send them, each with an equal share of the concurrent requests (at most
    /// one thread per request). Default: 2 for single adds, 1 for the other kinds.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Events per bulk request (kind bulk, and the preload of membership/incremental).
    #[arg(long, default_value_t = 1000)]
    pub bulk_size: usize,
    /// Events to add (add, bulk) or queries to make (membership, incremental). Default 10,000
    /// when no --duration is given.
    #[arg(short = 'n', long, conflicts_with = "duration")]
    pub count: Option<u64>,
    /// Run for this long instead of a count (`30s`, `2m`, `500ms`, or plain seconds).
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// The cluster and its secret.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Write the report as JSON to this file.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Events the membership and incremental kinds add (in bulk) before measuring.
    #[arg(long, default_value_t = 10_000)]
    pub preload: u64,
    /// Send digests (hashed here) instead of events, for adds and membership questions.
    #[arg(long)]
    pub digests: bool,
    /// Pad every event to at least this many bytes.
    #[arg(long, default_value_t = 0)]
    pub event_size: usize,
    /// The prefix that makes this run's events unique (default: random).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Check every answer with the verifiers against --verifier-key.
    #[arg(long, requires = "verifier_key")]
    pub verify: bool,
    /// The trusted verifier key string, for --verify.
    #[arg(long = "verifier-key", env = "QED_VERIFIER_KEY")]
    pub verifier_key: Option<String>,
    /// No progress bar (it is also hidden when standard error is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Seconds to wait for one answer.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Pace the run at this many events (or questions) per second in all, instead of as fast
    /// as the server answers: request `i` is sent no earlier than `i / rate` seconds after the
    /// start (for latency at a given load; give enough --concurrency to keep up).
    #[arg(long)]
    pub rate: Option<f64>,
}

/// The load a workload sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Single adds.
    Add,
    /// Bulk adds.
    Bulk,
    /// Membership proofs.
    Membership,
    /// Incremental (consistency) proofs.
    Incremental,
}

impl Kind {
    /// The threads a run of this kind sends from unless `--threads` says otherwise. Single
    /// adds wait on commit cycles, whose answers arrive a whole group at once: one thread
    /// reading them and sending the next requests in turn held 64 clients to 0.86 times the
    /// rate that two reached on the same node. Proofs are answered one by one and keep both
    /// cores busy, and a second thread only added CPU (docs/BENCHMARKS.md).
    pub fn threads(self) -> usize {
        match self {
            Kind::Add => 2,
            Kind::Bulk | Kind::Membership | Kind::Incremental => 1,
        }
    }
}

/// What a run measured; written as JSON with `--output`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The kind of load.
    pub kind: Kind,
    /// The prefix of this run's events.
    pub run_id: String,
    /// The endpoints given.
    pub endpoint: Vec<String>,
    /// Concurrent requests.
    pub concurrency: usize,
    /// Threads they were sent from.
    #[serde(default)]
    pub threads: usize,
    /// Events per request (1 except for bulk).
    pub bulk_size: usize,
    /// Requests answered successfully.
    pub requests: u64,
    /// Events added (add, bulk) or questions answered (membership, incremental).
    pub events: u64,
    /// Adds answered as duplicates (none expected).
    pub duplicates: u64,
    /// Requests that failed (after the client's retries).
    pub errors: u64,
    /// Answers that did not verify (with --verify).
    pub verify_failures: u64,
    /// The pace asked for with --rate (events or questions per second), if any.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Wall time of the measured phase.
    pub duration_secs: f64,
    /// Successful requests per second.
    pub requests_per_sec: f64,
    /// Events (or questions) per second.
    pub events_per_sec: f64,
    /// Latency of successful requests, in milliseconds.
    pub latency_ms: Latency,
    /// The log's size before and after the measured phase.
    pub log_size_before: Option<u64>,
    /// See `log_size_before`.
    pub log_size_after: Option<u64>,
    /// The first few error messages.
    pub first_errors: Vec<String>,
}

/// Latency percentiles of one run, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest request.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// Arguments that cannot work together.
    #[error("{0}")]
    Args(String),
    /// The client could not be built, or the preload failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A thread of the load, or its runtime, could not start.
    #[error("cannot start a load thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The report could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The report file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Runs `qed workload`, prints the summary, writes the report; see the module docs for the
/// exit codes.
pub async fn run(args: Args) -> ExitCode {
    match execute(&args).await {
        Ok(report) => {
            print_summary(&report);
            if report.errors > 0 || report.verify_failures > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the workload and returns (and with `--output`, writes) its report.
pub async fn execute(args: &Args) -> Result<Report, WorkloadError> {
    let plan = Plan::new(args)?;
    let client = args.server.client(args.timeout)?;
    let preloaded = preload(&client, &plan, args).await?;
    let before = log_size(&client).await;
    let shared = Arc::new(Shared::new(
        plan,
        preloaded,
        before.unwrap_or(0),
        progress_bar(args),
    ));
    let started = Instant::now();
    let ticker = shared
        .plan
        .deadline
        .map(|_| tokio::spawn(tick(shared.clone(), started)));
    let histogram = run_workers(args, &client, &shared).await?;
    let elapsed = started.elapsed();
    if let Some(t) = ticker {
        t.abort();
    }
    shared.bar.finish_and_clear();
    let after = log_size(&client).await;
    let report = shared.report(args, &histogram, elapsed, before, after);
    if let Some(path) = &args.output {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|source| WorkloadError::Output {
            path: path.clone(),
            source,
        })?;
    }
    Ok(report)
}

/// The fixed parameters of a run.
#[derive(Debug, Clone)]
struct Plan {
    kind: Kind,
    run_id: String,
    per_request: u64,
    count: Option<u64>,
    deadline_after: Option<Duration>,
    deadline: Option<Instant>,
    rate: Option<f64>,
    digests: bool,
    event_size: usize,
    key: Option<VerifierKey>,
}

impl Plan {
    fn new(args: &Args) -> Result<Plan, WorkloadError> {
        if args.concurrency == 0 {
            return Err(WorkloadError::Args(
                "--concurrency must be at least 1".into(),
            ));
        }
        if args.threads == Some(0) {
            return Err(WorkloadError::Args("--threads must be at least 1".into()));
        }
        if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return Err(WorkloadError::Args(
                "--rate must be a positive number".into(),
            ));
        }
        if args.bulk_size == 0 || args.bulk_size > 10_000 {
            return Err(WorkloadError::Args(
                "--bulk-size must be 1 to 10,000".into(),
            ));
        }
        if matches!(args.kind, Kind::Membership | Kind::Incremental) && args.preload == 0 {
            return Err(WorkloadError::Args(
                "membership and incremental need --preload of at least 1".into(),
            ));
        }
        let key = match (&args.verify, &args.verifier_key) {
            (true, Some(k)) => Some(
                k.trim()
                    .parse::<VerifierKey>()
                    .map_err(|e| WorkloadError::Args(format!("--verifier-key: {e}")))?,
            ),
            (true, None) => {
                return Err(WorkloadError::Args("--verify needs --verifier-key".into()));
            }
            (false, _) => None,
        };
        let per_request = if args.kind == Kind::Bulk {
            args.bulk_size as u64
        } else {
            1
        };
        let count = match (args.count, args.duration) {
            (Some(c), _) => Some(c),
            (None, Some(_)) => None,
            (None, None) => Some(10_000),
        };
        Ok(Plan {
            kind: args.kind,
            run_id: args.run_id.clone().unwrap_or_else(random_run_id),
            per_request,
            count,
            deadline_after: args.duration,
            deadline: None,
            rate: args.rate,
            digests: args.digests,
            event_size: args.event_size,
            key,
        })
    }

    /// The event of index `i` in this run (`prefix` keeps the preload apart from the load).
    fn event(&self, prefix: &str, i: u64) -> Vec<u8> {
        let mut e = format!("{}-{prefix}{i}", self.run_id).into_bytes();
        if e.len() < self.event_size {
            e.resize(self.event_size, b'.');
        }
        e
    }

    /// The digest of `event`, if requests need it: to send it (`--digests`) or to check the
    /// answers (a verifier key). Otherwise the generator, which shares the machine with the
    /// server it measures, does not hash at all.
    fn digest(&self, event: &[u8]) -> Option<Hash> {
        (self.digests || self.key.is_some()).then(|| qed_core::hash::digest(event))
    }

    /// What a single add or membership request sends for `event`: the event itself, or only
    /// its `digest` with `--digests`.
    fn subject<'e>(&self, event: &'e [u8], digest: Option<Hash>) -> Subject<'e> {
        match digest {
            Some(digest) if self.digests => Subject::Digest(digest),
            _ => Subject::Event(event),
        }
    }
}

/// State shared by the workers.
struct Shared {
    plan: Plan,
    /// When the measured phase started (the origin of --rate's schedule).
    started: Instant,
    /// Next event (or question) index to hand out.
    next: AtomicU64,
    preloaded: u64,
    size_at_start: u64,
    requests: AtomicU64,
    events: AtomicU64,
    duplicates: AtomicU64,
    errors: AtomicU64,
    verify_failures: AtomicU64,
    first_errors: Mutex<Vec<String>>,
    /// Milliseconds from `started` to the last success or request start that found no failure
    /// yet: the run gives up once failures have gone on for [`GIVE_UP_AFTER`].
    last_ok_ms: AtomicU64,
    bar: ProgressBar,
}

/// How long a run goes on while every request fails (an unreachable or dead server) before it
/// stops: longer than a leader election, shorter than anyone's patience.
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

impl Shared {
    fn new(mut plan: Plan, preloaded: u64, size_at_start: u64, bar: ProgressBar) -> Shared {
        plan.deadline = plan.deadline_after.map(|d| Instant::now() + d);
        if let Some(c) = plan.count {
            bar.set_length(c);
        } else if let Some(d) = plan.deadline_after {
            bar.set_length(d.as_secs().max(1));
        }
        Shared {
            plan,
            started: Instant::now(),
            next: AtomicU64::new(0),
            preloaded,
            size_at_start,
            requests: AtomicU64::new(0),
            events: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            verify_failures: AtomicU64::new(0),
            first_errors: Mutex::new(Vec::new()),
            last_ok_ms: AtomicU64::new(0),
            bar,
        }
    }

    /// When the request for index `first` is due under --rate (now when there is no pace).
    fn due(&self, first: u64) -> Option<Instant> {
        let rate = self.plan.rate?;
        Some(self.started + Duration::from_secs_f64(first as f64 / rate))
    }

    /// Claims the next slice of work: `(first index, how many)`, or `None` when the run is over.
    fn claim(&self) -> Option<(u64, u64)> {
        if self.plan.deadline.is_some_and(|d| Instant::now() >= d) || self.failing_too_long() {
            return None;
        }
        let want = self.plan.per_request;
        let first = self.next.fetch_add(want, Ordering::Relaxed);
        match self.plan.count {
            Some(c) if first >= c => None,
            Some(c) => Some((first, want.min(c - first))),
            None => Some((first, want)),
        }
    }

    fn millis(&self) -> u64 {
        self.started
            .elapsed()
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX)
    }

    /// Whether requests have failed and none has succeeded for [`GIVE_UP_AFTER`].
    fn failing_too_long(&self) -> bool {
        let failed = self.errors.load(Ordering::Relaxed) > 0;
        let quiet = self
            .millis()
            .saturating_sub(self.last_ok_ms.load(Ordering::Relaxed));
        if failed && quiet > GIVE_UP_AFTER.as_millis() as u64 {
            self.note_error(format!(
                "gave up: no request succeeded for {} s",
                GIVE_UP_AFTER.as_secs()
            ));
            return true;
        }
        false
    }

    fn note_error(&self, message: String) {
        if let Ok(mut first) = self.first_errors.lock()
            && first.len() < 5
            && !first.contains(&message)
        {
            first.push(message);
        }
    }

    fn record_error(&self, e: &ClientError) {
        let verify = e.is_verification_failure();
        let counter = if verify {
            &self.verify_failures
        } else {
            &self.errors
        };
        if self.errors.load(Ordering::Relaxed) == 0 && !verify {
            // The clock of GIVE_UP_AFTER starts at the first failure.
            self.last_ok_ms.store(self.millis(), Ordering::Relaxed);
        }
        counter.fetch_add(1, Ordering::Relaxed);
        self.note_error(e.to_string());
    }

    fn record_success(&self, events: u64, duplicates: u64) {
        self.last_ok_ms.store(self.millis(), Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(events, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        if self.plan.count.is_some() {
            self.bar.inc(events);
        }
    }

    fn report(
        &self,
        args: &Args,
        h: &Histogram<u64>,
        elapsed: Duration,
        before: Option<u64>,
        after: Option<u64>,
    ) -> Report {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let requests = self.requests.load(Ordering::Relaxed);
        let events = self.events.load(Ordering::Relaxed);
        let ms = |us: u64| us as f64 / 1000.0;
        let latency = if h.is_empty() {
            Latency::default()
        } else {
            Latency {
                p50: ms(h.value_at_quantile(0.50)),
                p90: ms(h.value_at_quantile(0.90)),
                p99: ms(h.value_at_quantile(0.99)),
                p999: ms(h.value_at_quantile(0.999)),
                max: ms(h.max()),
                mean: h.mean() / 1000.0,
            }
        };
        Report {
            kind: self.plan.kind,
            run_id: self.plan.run_id.clone(),
            endpoint: args.server.endpoint.clone(),
            concurrency: args.concurrency,
            threads: threads(args),
            bulk_size: self.plan.per_request as usize,
            requests,
            events,
            duplicates: self.duplicates.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            verify_failures: self.verify_failures.load(Ordering::Relaxed),
            rate: self.plan.rate,
            duration_secs: secs,
            requests_per_sec: requests as f64 / secs,
            events_per_sec: events as f64 / secs,
            latency_ms: latency,
            log_size_before: before,
            log_size_after: after,
            first_errors: self
                .first_errors
                .lock()
                .map(|v| v.clone())
                .unwrap_or_default(),
        }
    }
}

/// The one field of a receipt that a run without `--verifier-key` reads.
#[derive(Deserialize)]
struct DuplicateFlag {
    duplicate: bool,
}

/// Runs the `--concurrency` workers, dealt out over `--threads` threads: this one and threads
/// of their own, each on a one-thread runtime with a client of its own (a pooled connection
/// lives on the runtime that opened it). Answers the workers' latencies merged.
async fn run_workers(
    args: &Args,
    client: &Client,
    shared: &Arc<Shared>,
) -> Result<Histogram<u64>, WorkloadError> {
    let threads = threads(args);
    let seeds = |t: usize| (t..args.concurrency).step_by(threads).map(|i| i as u64);
    // Everything that can fail before any worker starts.
    let mut prepared = Vec::with_capacity(threads - 1);
    for t in 1..threads {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(WorkloadError::Thread)?;
        prepared.push((t, runtime, args.server.client(args.timeout)?));
    }
    let mut others = Vec::with_capacity(prepared.len());
    for (t, runtime, client) in prepared {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (shared, seeds): (_, Vec<u64>) = (shared.clone(), seeds(t).collect());
        std::thread::Builder::new()
            .name(format!("workload-{t}"))
            .spawn(move || {
                let _ = tx.send(runtime.block_on(workers(client, shared, seeds)));
            })
            .map_err(WorkloadError::Thread)?;
        others.push(rx);
    }
    let mut histogram = workers(client.clone(), shared.clone(), seeds(0)).await;
    for rx in others {
        // A thread that ended without answering loses only its latencies: its counts are in
        // `shared`.
        if let Ok(h) = rx.await {
            let _ = histogram.add(&h);
        }
    }
    Ok(histogram)
}

/// The threads a run sends from: `--threads`, or its kind's default, and at most one per
/// concurrent request.
fn threads(args: &Args) -> usize {
    args.threads
        .unwrap_or(args.kind.threads())
        .clamp(1, args.concurrency.max(1))
}

/// Runs one worker per seed on the current runtime until the run is over; answers their
/// latencies merged.
async fn workers(
    client: Client,
    shared: Arc<Shared>,
    seeds: impl IntoIterator<Item = u64>,
) -> Histogram<u64> {
    let tasks: Vec<_> = seeds
        .into_iter()
        .map(|i| tokio::spawn(worker(client.clone(), shared.clone(), i)))
        .collect();
    let mut histogram = new_histogram();
    for task in tasks {
        // A worker that panicked only loses its own figures; the others still count.
        if let Ok(h) = task.await {
            let _ = histogram.add(&h);
        }
    }
    histogram
}

/// One worker: claims work until the run is over, timing each request.
async fn worker(client: Client, shared: Arc<Shared>, seed: u64) -> Histogram<u64> {
    let mut h = new_histogram();
    // Small requests go over a connection of the worker's own (bulk bodies gain nothing).
    let mut connection = client.connection();
    let mut rng = SplitMix(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed);
    while let Some((first, n)) = shared.claim() {
        if let Some(due) = shared.due(first) {
            tokio::time::sleep_until(due.into()).await;
        }
        let started = Instant::now();
        match one_request(&client, &mut connection, &shared, first, n, &mut rng).await {
            Ok((events, duplicates)) => {
                record_latency(&mut h, started.elapsed());
                shared.record_success(events, duplicates);
            }
            Err(e) => shared.record_error(&e),
        }
    }
    h
}

/// Sends one request of the run's kind for indexes `first..first + n`; answers
/// `(events done, duplicates)`.
async fn one_request(
    client: &Client,
    connection: &mut Connection,
    shared: &Shared,
    first: u64,
    n: u64,
    rng: &mut SplitMix,
) -> Result<(u64, u64), ClientError> {
    let plan = &shared.plan;
    let key = plan.key.as_ref();
    match plan.kind {
        Kind::Add => {
            let event = plan.event("", first);
            let digest = plan.digest(&event);
            let (url, answer) = connection.add_json(plan.subject(&event, digest)).await?;
            // Without a key only the duplicate flag is read, as for membership below: decoding
            // the snapshot and inclusion proof it would not check cost the generator CPU that
            // the server it measures shares.
            let duplicate = match (key, digest) {
                (Some(key), Some(digest)) => {
                    let receipt = decode::<Receipt>(&url, &answer)?;
                    verify::receipt(&receipt, key, &digest)?;
                    receipt.duplicate
                }
                _ => decode::<DuplicateFlag>(&url, &answer)?.duplicate,
            };
            Ok((1, u64::from(duplicate)))
        }
        Kind::Bulk => {
            let events: Vec<Vec<u8>> = (first..first.saturating_add(n))
                .map(|i| plan.event("", i))
                .collect();
            let digests: Vec<Hash> = events.iter().filter_map(|e| plan.digest(e)).collect();
            let answer = if plan.digests {
                client.add_bulk_digests(&digests).await?
            } else {
                client.add_bulk(&events).await?
            };
            if let Some(key) = key {
                verify::bulk(&answer, key, &digests)?;
            }
            let duplicates = answer.entries.iter().filter(|e| e.duplicate).count() as u64;
            Ok((n, duplicates))
        }
        Kind::Membership => {
            let event = plan.event("pre-", rng.below(shared.preloaded));
            let digest = plan.digest(&event);
            let subject = plan.subject(&event, digest);
            // Without a key the answer is not parsed: the load generator shares the machine
            // with the server, and decoding the proofs it would not check was a sixth of its CPU.
            let (url, answer) = connection.membership_json(subject, None).await?;
            if let (Some(key), Some(digest)) = (key, digest) {
                let answer = decode::<MembershipAnswer>(&url, &answer)?;
                verify::membership(&answer, None, key, &digest)?;
            }
            Ok((1, 0))
        }
        Kind::Incremental => {
            let size = shared.size_at_start.max(1);
            let (a, b) = (rng.below(size), rng.below(size));
            drop(connection.incremental_json(a.min(b), a.max(b)).await?);
            Ok((1, 0))
        }
    }
}

/// For membership and incremental: adds `--preload` events in bulk (unmeasured) so the
/// questions have answers. Returns how many events were preloaded.
async fn preload(client: &Client, plan: &Plan, args: &Args) -> Result<u64, WorkloadError> {
    if !matches!(plan.kind, Kind::Membership | Kind::Incremental) {
        return Ok(0);
    }
    let total = args.preload;
    let chunk = args.bulk_size as u64;
    let bar = progress_bar(args);
    bar.set_length(total);
    bar.set_message("preloading");
    let mut first = 0;
    while first < total {
        let n = chunk.min(total - first);
        let events: Vec<Vec<u8>> = (first..first + n).map(|i| plan.event("pre-", i)).collect();
        client.add_bulk(&events).await?;
        first += n;
        bar.inc(n);
    }
    bar.finish_and_clear();
    Ok(total)
}

/// For duration runs: moves the bar with the clock.
async fn tick(shared: Arc<Shared>, started: Instant) {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        shared.bar.set_position(started.elapsed().as_secs());
        shared
            .bar
            .set_message(format!("{} done", shared.events.load(Ordering::Relaxed)));
    }
}

async fn log_size(client: &Client) -> Option<u64> {
    match client.snapshot().await {
        Ok(s) => Some(s.size),
        Err(ClientError::Http { status: 404, .. }) => Some(0),
        Err(_) => None,
    }
}

fn progress_bar(args: &Args) -> ProgressBar {
    if args.no_progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    let template =
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta}) {msg}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// The longest latency a histogram holds: an hour, in microseconds.
const MAX_LATENCY_US: u64 = 3_600_000_000;

fn new_histogram() -> Histogram<u64> {
    // Fixed bounds rather than auto-resizing: `saturating_record` clamps to the *current* upper
    // bound before it would resize, which left an auto-resizing histogram stuck at 2 µs. These
    // constants are valid (low >= 1, high >= 2 * low, 3 digits), so this cannot fail.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// Records one request's latency (microseconds; an hour or more counts as an hour).
fn record_latency(h: &mut Histogram<u64>, elapsed: Duration) {
    h.saturating_record(elapsed.as_micros().try_into().unwrap_or(u64::MAX));
}

/// Prints the report for people. A closed standard output (`qed workload ... | head -1`) ends
/// the printing quietly: the report is also in `--output`, and the run itself succeeded.
pub fn print_summary(r: &Report) {
    let _ = write_summary(&mut std::io::stdout().lock(), r);
}

fn write_summary(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "{:?}: {} requests ({} events, {} duplicates) in {:.2} s: {:.0} requests/s, {:.0} events/s; {} errors, {} verification failures",
        r.kind,
        r.requests,
        r.events,
        r.duplicates,
        r.duration_secs,
        r.requests_per_sec,
        r.events_per_sec,
        r.errors,
        r.verify_failures
    )?;
    let l = &r.latency_ms;
    writeln!(
        out,
        "latency per request (ms): p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  mean {:.2}",
        l.p50, l.p90, l.p99, l.p999, l.max, l.mean
    )?;
    if let (Some(b), Some(a)) = (r.log_size_before, r.log_size_after) {
        writeln!(out, "log size {b} -> {a}")?;
    }
    for e in &r.first_errors {
        writeln!(out, "error: {e}")?;
    }
    Ok(())
}

/// Parses `30s`, `2m`, `1h`, `500ms` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30s, 2m or 500ms"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{s:?}: {e}"))
}

/// A run id unique enough for a run: hashed clock and process id, 12 hex characters.
fn random_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!("{nanos}-{}", std::process::id());
    qed_core::hash::to_hex(&qed_core::hash::digest(seed.as_bytes()))[..12].to_string()
}

/// SplitMix64: a small, fast generator for picking random questions (not for secrets).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`0` when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        crate::test_cli::parse(argv)
    }

    #[test]
    fn the_command_line_is_well_formed() {
        crate::test_cli::assert_well_formed::<Args>();
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("3y").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn count_and_duration_exclude_each_other() {
        assert!(parse(&["--count", "5", "--duration", "1s"]).is_err());
        let a = parse(&["--kind", "bulk", "--bulk-size", "10", "-n", "25"]).unwrap();
        assert_eq!(a.kind, Kind::Bulk);
        let plan = Plan::new(&a).unwrap();
        let shared = Shared::new(plan, 0, 0, ProgressBar::hidden());
        // 25 events in requests of 10: 10, 10, 5, then done.
        assert_eq!(shared.claim(), Some((0, 10)));
        assert_eq!(shared.claim(), Some((10, 10)));
        assert_eq!(shared.claim(), Some((20, 5)));
        assert_eq!(shared.claim(), None);
    }

    #[test]
    fn plans_refuse_impossible_runs() {
        for argv in [
            &["-c", "0"][..],
            &["--threads", "0"],
            &["--bulk-size", "0"],
            &["--bulk-size", "10001"],
            &["--kind", "membership", "--preload", "0"],
            &["--rate", "0"],
            &["--rate", "NaN"],
        ] {
            assert!(
                matches!(
                    Plan::new(&parse(argv).unwrap()),
                    Err(WorkloadError::Args(_))
                ),
                "{argv:?}"
            );
        }
        let a = parse(&["--verify", "--verifier-key", "junk"]).unwrap();
        assert!(matches!(Plan::new(&a), Err(WorkloadError::Args(m)) if m.contains("verifier-key")));
    }

    #[test]
    fn a_rate_schedules_requests_from_the_start() {
        let a = parse(&["--rate", "200"]).unwrap();
        let shared = Shared::new(Plan::new(&a).unwrap(), 0, 0, ProgressBar::hidden());
        let due = shared.due(100).unwrap();
        assert_eq!(due - shared.started, Duration::from_millis(500));
        let unpaced = Shared::new(
            Plan::new(&parse(&[]).unwrap()).unwrap(),
            0,
            0,
            ProgressBar::hidden(),
        );
        assert_eq!(unpaced.due(100), None);
    }

    #[test]
    fn events_are_unique_per_run_and_padded() {
        let mut a = parse(&["--run-id", "r1", "--event-size", "16"]).unwrap();
        let p = Plan::new(&a).unwrap();
        assert_eq!(p.event("", 7), b"r1-7............".to_vec());
        assert_ne!(p.event("", 7), p.event("pre-", 7));
        a.run_id = None;
        let (x, y) = (Plan::new(&a).unwrap(), Plan::new(&a).unwrap());
        assert_eq!(x.run_id.len(), 12);
        assert_ne!(x.run_id, y.run_id);
    }

    #[test]
    fn the_report_has_percentiles() {
        let a = parse(&["-n", "3"]).unwrap();
        let shared = Shared::new(Plan::new(&a).unwrap(), 0, 0, ProgressBar::hidden());
        let mut h = new_histogram();
        for us in [1_000, 2_000, 100_000] {
            record_latency(&mut h, Duration::from_micros(us));
            shared.record_success(1, 0);
        }
        let r = shared.report(&a, &h, Duration::from_secs(1), Some(0), Some(3));
        assert_eq!((r.requests, r.events, r.errors), (3, 3, 0));
        assert!((r.latency_ms.p50 - 2.0).abs() < 0.01, "{:?}", r.latency_ms);
        assert!((r.latency_ms.max - 100.0).abs() < 0.1);
        assert!((r.requests_per_sec - 3.0).abs() < 1e-9);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"kind\":\"add\""));
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), r);
    }

    #[test]
    fn random_picks_stay_in_range() {
        let mut r = SplitMix(1);
        assert!((0..1000).all(|_| r.below(7) < 7));
        assert_eq!(r.below(0), 0);
    }
}
