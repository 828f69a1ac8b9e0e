#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this). Installs what is missing first.
#   scripts/test.sh            everything
#   QED_SKIP_BOOTSTRAP=1 ...   skip the (idempotent, ~1 s when warm) toolchain check
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s ===\n' "$*"; }

[ "${QED_SKIP_BOOTSTRAP:-}" = 1 ] || { step "toolchain (scripts/bootstrap.sh)"; bash scripts/bootstrap.sh; }

# shellcheck source=scripts/lib-sccache.sh
. scripts/lib-sccache.sh
export CARGO_TERM_COLOR=never

step "format"
cargo fmt --all --check

step "clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "qed-core is no_std: wasm32-unknown-unknown and thumbv7em-none-eabihf, no default features"
cargo build -p qed-core --no-default-features --target wasm32-unknown-unknown
cargo build -p qed-core --no-default-features --target thumbv7em-none-eabihf

# The end-to-end tests (tests/, wasm-verifier/) start the `qed` binary that this very build
# makes (cargo builds a package's binaries for its integration tests), with the workspace's
# unified features; without QED_BIN they would build it again with qed-server's own features.
export QED_BIN="$PWD/target/debug/qed"
step "unit, property, integration and end-to-end tests (nextest)"
cargo nextest run --workspace --all-features --no-fail-fast

step "the WASM verifier: wasm-bindgen-test in Node and Chromium, the npm package (wasm-verifier/test.sh)"
QED_WORKSPACE_CHECKED=1 wasm-verifier/test.sh

step "doc tests"
cargo test --workspace --all-features --doc
