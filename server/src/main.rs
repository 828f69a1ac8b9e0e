//! The `qed` binary: parses the command line and wires the pieces of `qed_server` together.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use qed_server::cli::{self, Cli, Command, Generate};
use qed_server::{keys, node};

/// Rust's allocations go to jemalloc, with the options of `.cargo/config.toml`: the writer's
/// page versions are allocated and freed by the million, and glibc's malloc spent a fifth of
/// the node's CPU time on them; bulk adds ran 1.25-1.30x faster with 22-28 % less CPU
/// (docs/BENCHMARKS.md). RocksDB, a C++ library, still allocates through glibc.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Start(args) => start(*args),
        Command::Generate {
            what: Generate::Signerkeys(args),
        } => signerkeys(&args),
        Command::Client(args) => return block_on(qed_agents::client_cli::run(*args)),
        Command::Workload(args) => return block_on(qed_agents::workload::run(*args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qed: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by ": ", skipping a cause whose text the message before it
/// already ends with (several library errors quote their source, which anyhow's `{:#}` would
/// then print twice).
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Caps glibc's malloc, which RocksDB allocates through, at two arenas. By default it opens up
/// to 8 per core, one per thread that contends, and each keeps its freed 64 MiB heaps resident:
/// under load (Tokio workers, blocking readers, RocksDB threads) the node's memory grew with
/// the log, 578 MiB at 2 million events against 394 MiB with two arenas, at about the same
/// throughput; with jemalloc for Rust and no cap, 637 MiB at 10 million (docs/BENCHMARKS.md).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc tunable; it runs first thing in main, before any other
    // thread exists, and an unsupported value is refused with a return code, not undefined
    // behaviour. The return value is ignored: the default is merely less frugal.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Runs an agents' command on a fresh runtime; exit code 2 if the runtime cannot start.
///
/// One thread: the client and the load generator wait on the network, not on CPU, and the load
/// generator shares the machine with the node it measures. On a two-thread runtime its 64
/// workers woke each other across threads, at 10-25 % more CPU per add (docs/BENCHMARKS.md);
/// it deals its workers over one-thread runtimes of its own instead (`--threads`).
fn block_on(f: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("qed: starting the async runtime: {e}");
            ExitCode::from(2)
        }
    }
}

fn signerkeys(args: &cli::SignerKeysArgs) -> Result<()> {
    let seed = keys::generate(&args.path)?;
    let signer = keys::signer(&args.origin, &seed)?;
    eprintln!(
        "wrote {} and {}",
        args.path.join(keys::PRIVATE_KEY_FILE).display(),
        args.path.join(keys::PUBLIC_KEY_FILE).display()
    );
    println!("{}", signer.verifier_key());
    Ok(())
}

fn start(args: cli::StartArgs) -> Result<()> {
    let filter = cli::log_filter(&args.log).map_err(anyhow::Error::msg)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if args.apikey == cli::DEFAULT_API_KEY {
        tracing::warn!(
            "using the default API key {:?}: pass a real secret with -k",
            cli::DEFAULT_API_KEY
        );
    }
    let config = args.to_config();
    let api_key = args.apikey.clone();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let node = node::Node::start(config).await?;
        tracing::info!(verifier_key = %node.api.verifier_key, "signing snapshots");
        print_quick_start(&node, &api_key);
        node.run_until(node::shutdown_signal()).await;
        Ok::<(), anyhow::Error>(())
    })
}

/// Prints the verifier key and two commands that add an event and verify it.
fn print_quick_start(node: &node::Node, api_key: &str) {
    let url = &node.info.http_url;
    let key = &node.api.verifier_key;
    println!("verifier key: {key}");
    println!(
        "add an event:    qed client --endpoint {url} -k '{api_key}' add --event 'hello world'"
    );
    println!(
        "verify it:       qed client --endpoint {url} --verify --verifier-key '{key}' membership --event 'hello world'"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_cause_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(keys::KeyError::Io {
            path: "k".into(),
            source: io,
        })
        .context("loading the signing key");
        assert_eq!(describe(&e), "loading the signing key: k: no such file");
    }
}
