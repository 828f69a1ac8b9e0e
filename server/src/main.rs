//! The `qed` binary: parses the command line and wires the pieces of `qed_server` together.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use qed_server::cli::{self, Cli, Command, Generate};
use qed_server::{keys, node};

fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Start(args) => start(*args).map(|()| ExitCode::SUCCESS),
        Command::Client(args) => agent(qed_agents::client_cli::run(*args)),
        Command::Workload(args) => agent(qed_agents::workload::run(*args)),
        Command::Generate { what: Generate::Signerkeys(args) } => {
            let seed = keys::generate(&args.path)?;
            let signer = keys::signer(&args.origin, &seed)?;
            eprintln!(
                "wrote {} and {}",
                args.path.join(keys::PRIVATE_KEY_FILE).display(),
                args.path.join(keys::PUBLIC_KEY_FILE).display()
            );
            println!("{}", signer.verifier_key());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs `qed client` or `qed workload` (qed-agents), which choose their own exit codes.
fn agent(run: impl std::future::Future<Output = ExitCode>) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    Ok(runtime.block_on(run))
}

fn start(args: cli::StartArgs) -> Result<()> {
    let filter = cli::log_filter(&args.log).map_err(anyhow::Error::msg)?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into()))
        .with_writer(std::io::stderr)
        .init();
    if args.apikey == cli::DEFAULT_API_KEY {
        tracing::warn!("using the default API key {:?}: pass a real secret with -k", cli::DEFAULT_API_KEY);
    }
    let config = args.to_config();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let node = node::Node::start(config).await?;
        tracing::info!(verifier_key = %node.api.verifier_key, "signing snapshots");
        node.run_until(node::shutdown_signal()).await;
        Ok::<(), anyhow::Error>(())
    })
}
