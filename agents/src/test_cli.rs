//! Test support: parse an argument struct the way the `qed` binary embeds it.

use clap::{Args, CommandFactory, Parser};

/// Like the `qed` binary: the arguments flattened under a program with a version flag that is
/// propagated to every subcommand (so a subcommand's own `--version` must not clash with it).
#[derive(Parser)]
#[command(version, propagate_version = true)]
struct Cli<A: Args> {
    #[command(flatten)]
    args: A,
}

/// Parses `argv` (without the program name) as `A`.
pub fn parse<A: Args>(argv: &[&str]) -> Result<A, clap::Error> {
    Cli::<A>::try_parse_from(std::iter::once("qed").chain(argv.iter().copied())).map(|c| c.args)
}

/// Clap's own consistency checks of `A`'s command line (panics when it is ill-formed).
pub fn assert_well_formed<A: Args>() {
    Cli::<A>::command().debug_assert();
}
