//! `qed client`: one request to a QED node from the command line, its answer printed as JSON,
//! and with `--verify` the verdict of qed-core's verifiers against `--verifier-key`.
//!
//! Output: the answer goes to standard output as pretty JSON (so it can be piped to `jq`); the
//! verdict (`verified: ...` or `NOT verified: <reason>`) and any error go to standard error.
//!
//! Exit codes: 0 when the request succeeded (and, with `--verify`, the answer verified); 1 when
//! the answer did not verify; 2 for every other failure (bad arguments, unreachable node, HTTP
//! errors, undecodable answers).
//!
//! Membership as of an older version (`--version N` below the latest) is verified against the
//! signed snapshot of size `N + 1`, which this command fetches from the same node
//! (`GET /snapshot/{size}`). That shows the node agrees with itself; a careful auditor takes that
//! snapshot from the snapshot store (or its own records) instead, which is what
//! [`crate::client::Client::membership_verified_with`] is for.

use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};
use qed_core::snapshot::VerifierKey;
use serde::Serialize;

use crate::client::{Client, ClientError, Subject};
use crate::server_args::ServerArgs;

/// Arguments of `qed client`.
#[derive(Debug, Clone, ClapArgs)]
pub struct Args {
    /// The cluster and its secret.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Check the answer with the proof verifiers against --verifier-key and print the verdict.
    #[arg(long, requires = "verifier_key")]
    pub verify: bool,
    /// The trusted verifier key string (`<name>+<hex key id>+<base64 key>`).
    #[arg(long = "verifier-key", env = "QED_VERIFIER_KEY")]
    pub verifier_key: Option<String>,
    /// Seconds to wait for one answer.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// What to ask.
    #[command(subcommand)]
    pub command: Command,
}

/// The requests `qed client` can make.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Add an event (its UTF-8 bytes) and print the receipt.
    Add {
        /// The event.
        #[arg(long)]
        event: String,
    },
    /// Ask whether an event (or digest) is in the log, as of a version (default: the latest).
    // `--version` is this command's own argument, not the program's version flag (which the
    // `qed` binary propagates to every subcommand).
    #[command(disable_version_flag = true)]
    Membership {
        /// The event (its UTF-8 bytes).
        #[arg(long, conflicts_with = "digest", required_unless_present = "digest")]
        event: Option<String>,
        /// The event's SHA-256 digest, 64 hex characters.
        #[arg(long)]
        digest: Option<String>,
        /// The version to ask about.
        #[arg(long)]
        version: Option<u64>,
    },
    /// Ask for the consistency proof between two versions.
    Incremental {
        /// The older version.
        #[arg(long)]
        start: u64,
        /// The newer version.
        #[arg(long)]
        end: u64,
    },
    /// Print the latest signed snapshot.
    Snapshot,
}

/// How a run ended, before it becomes an exit code.
#[derive(Debug)]
enum Failure {
    /// The answer arrived and did not verify (exit 1).
    Unverified(String),
    /// Anything else (exit 2).
    Error(String),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        match e {
            ClientError::Verify(v) => Failure::Unverified(v.to_string()),
            other => Failure::Error(other.to_string()),
        }
    }
}

/// Runs `qed client`: 0 on success (verified, with `--verify`), 1 when verification fails, 2 for
/// every other error.
pub async fn run(args: Args) -> ExitCode {
    match execute(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Unverified(why)) => {
            eprintln!("NOT verified: {why}");
            ExitCode::from(1)
        }
        Err(Failure::Error(why)) => {
            eprintln!("error: {why}");
            ExitCode::from(2)
        }
    }
}

async fn execute(args: &Args) -> Result<(), Failure> {
    let key = trusted_key(args)?;
    let client = args.server.client(args.timeout)?;
    match &args.command {
        Command::Add { event } => add(&client, event.as_bytes(), key.as_ref()).await,
        Command::Membership {
            event,
            digest,
            version,
        } => {
            let subject = subject(event.as_deref(), digest.as_deref())?;
            membership(&client, subject, *version, key.as_ref()).await
        }
        Command::Incremental { start, end } => {
            incremental(&client, *start, *end, key.as_ref()).await
        }
        Command::Snapshot => snapshot(&client, key.as_ref()).await,
    }
}

/// The verifier key when `--verify` is asked (clap already requires `--verifier-key` then).
fn trusted_key(args: &Args) -> Result<Option<VerifierKey>, Failure> {
    if !args.verify {
        return Ok(None);
    }
    let text = args
        .verifier_key
        .as_deref()
        .ok_or_else(|| Failure::Error("--verify needs --verifier-key".into()))?;
    let key = text
        .trim()
        .parse::<VerifierKey>()
        .map_err(|e| Failure::Error(format!("--verifier-key: {e}")))?;
    Ok(Some(key))
}

fn subject<'a>(event: Option<&'a str>, digest: Option<&str>) -> Result<Subject<'a>, Failure> {
    match (event, digest) {
        (Some(e), None) => Ok(Subject::Event(e.as_bytes())),
        (None, Some(d)) => qed_core::hash::from_hex(d.trim())
            .map(Subject::Digest)
            .ok_or_else(|| Failure::Error("--digest: expected 64 hex characters".into())),
        _ => Err(Failure::Error(
            "give exactly one of --event and --digest".into(),
        )),
    }
}

async fn add(client: &Client, event: &[u8], key: Option<&VerifierKey>) -> Result<(), Failure> {
    let receipt = client.add(event).await?;
    print_json(&receipt)?;
    if let Some(key) = key {
        let verdict = crate::client::verify::receipt(&receipt, key, &qed_core::hash::digest(event))
            .map_err(ClientError::from)?;
        eprintln!(
            "verified: the event is in the log at version {} (signed snapshot of size {})",
            verdict.version, verdict.checkpoint.size
        );
    }
    Ok(())
}

async fn membership(
    client: &Client,
    subject: Subject<'_>,
    version: Option<u64>,
    key: Option<&VerifierKey>,
) -> Result<(), Failure> {
    let Some(key) = key else {
        return print_json(&client.membership(subject, version).await?);
    };
    let (answer, verdict) = client
        .membership_verified(subject, version, key)
        .await
        .map_err(|e| {
            // The answer arrived but its held snapshot could not be fetched: that is not a failed
            // verification, only an incomplete one.
            if let ClientError::Http { status: 404, .. } = e {
                Failure::Error(format!(
                    "{e} (no signed snapshot to check this version against)"
                ))
            } else {
                Failure::from(e)
            }
        })?;
    print_json(&answer)?;
    match verdict.version {
        Some(v) if verdict.member => {
            eprintln!(
                "verified: member at version {v}, as of version {}",
                verdict.query_version
            )
        }
        _ => eprintln!(
            "verified: not a member as of version {}",
            verdict.query_version
        ),
    }
    Ok(())
}

async fn incremental(
    client: &Client,
    start: u64,
    end: u64,
    key: Option<&VerifierKey>,
) -> Result<(), Failure> {
    let Some(key) = key else {
        return print_json(&client.incremental(start, end).await?);
    };
    let (answer, (old, new)) = client.incremental_verified(start, end, key).await?;
    print_json(&answer)?;
    eprintln!(
        "verified: the log of size {} is a prefix of the log of size {}",
        old.size, new.size
    );
    Ok(())
}

async fn snapshot(client: &Client, key: Option<&VerifierKey>) -> Result<(), Failure> {
    let Some(key) = key else {
        return print_json(&client.snapshot().await?);
    };
    let (snapshot, checkpoint) = client.snapshot_verified(key).await?;
    print_json(&snapshot)?;
    eprintln!(
        "verified: snapshot of size {} signed by {}",
        checkpoint.size,
        key.name()
    );
    Ok(())
}

fn print_json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Error(format!("cannot print the answer: {e}")))?;
    println!("{text}");
    Ok(())
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
    fn arguments_parse() {
        let a = parse(&[
            "--endpoint",
            "http://a:1,http://b:2",
            "-k",
            "s",
            "add",
            "--event",
            "x",
        ])
        .unwrap();
        assert_eq!(a.server.endpoint, vec!["http://a:1", "http://b:2"]);
        assert_eq!(a.server.api_key.as_deref(), Some("s"));
        assert!(matches!(a.command, Command::Add { ref event } if event == "x"));
        let a = parse(&["membership", "--digest", "00", "--version", "3"]).unwrap();
        assert!(matches!(
            a.command,
            Command::Membership {
                version: Some(3),
                ..
            }
        ));
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(
            parse(&["--verify", "snapshot"]).is_err(),
            "--verify needs --verifier-key"
        );
        assert!(parse(&["membership"]).is_err(), "needs --event or --digest");
        assert!(parse(&["membership", "--event", "a", "--digest", "b"]).is_err());
        assert!(parse(&["incremental", "--start", "1"]).is_err());
        assert!(matches!(subject(None, Some("zz")), Err(Failure::Error(_))));
        assert!(matches!(subject(Some("e"), None), Ok(Subject::Event(b"e"))));
    }

    #[tokio::test]
    async fn a_bad_verifier_key_is_an_error_not_a_verdict() {
        let a = parse(&["--verify", "--verifier-key", "nonsense", "snapshot"]).unwrap();
        assert!(
            matches!(execute(&a).await, Err(Failure::Error(m)) if m.contains("--verifier-key"))
        );
    }

    #[tokio::test]
    async fn an_unreachable_node_is_an_error() {
        // Port 9 (discard) on loopback is closed on any sane test machine.
        let a = parse(&[
            "--endpoint",
            "http://127.0.0.1:9",
            "--timeout",
            "1",
            "snapshot",
        ])
        .unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(execute(&a).await, Err(Failure::Error(_))));
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
