#!/usr/bin/env bash
# Every test of the npm package qed-verifier (wasm-verifier/), from a clean checkout:
#   wasm-verifier/test.sh
# 1. JavaScript tools (js-tests/: playwright-core without a browser download, typescript,
#    terser), installed idempotently;
# 2. rustfmt, and clippy on the wasm32 target (the wasm-bindgen-test suites compile only there);
# 3. the package build (build.sh), which fails if the web build is over 60 KB gzipped;
# 4. the wasm-bindgen-test suites (public vectors, MemoryLog answers, garbage) in Node, then in
#    headless Chromium (Debian's chromium and chromedriver);
# 5. JavaScript: garbage in every argument from Node; the npm consumer test (npm pack, install
#    into a fresh project, verify in Node ESM and CommonJS, in Chromium via Playwright, and type-
#    check with TypeScript) on fixtures made by a MemoryLog, and on a real `qed` server when one
#    is built ($QED_BIN or <target>/debug/qed).
# QED_WASM_BENCH=1 also runs the benchmark (native release build, then 10,000 calls in Node).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
started=$SECONDS
step() { printf '\n=== wasm-verifier: %s (%d s so far) ===\n' "$*" $((SECONDS - started)); }

step "JavaScript tools (npm-deps.sh)"
"$here/npm-deps.sh"

# scripts/test.sh sets QED_WORKSPACE_CHECKED=1: it has already run rustfmt, native clippy and
# the native unit tests for the whole workspace (with its unified features; doing them again
# here, for this package alone, would rebuild its dependencies).
if [ "${QED_WORKSPACE_CHECKED:-}" != 1 ]; then
  step "rustfmt, native clippy (all targets, warnings are errors)"
  cargo fmt -p qed-verifier --check
  cargo clippy -q -p qed-verifier --all-targets --all-features -- -D warnings
  step "native unit tests (the JSON reader against qed-core's serde types)"
  cargo test -q -p qed-verifier --lib
fi

step "clippy on wasm32 (all targets, warnings are errors)"
cargo clippy -q -p qed-verifier --target wasm32-unknown-unknown --all-targets --all-features -- -D warnings

step "build the package (build.sh: wasm profile, wasm-bindgen, wasm-opt, size budget)"
"$here/build.sh"

step "wasm-bindgen-test suites in Node"
cargo test -p qed-verifier --target wasm32-unknown-unknown

step "wasm-bindgen-test suites in headless Chromium"
cargo test -p qed-verifier --target wasm32-unknown-unknown --features browser

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
step "fixtures: a MemoryLog's answers as the server writes them"
cargo run -q -p qed-verifier --example fixtures -- "$work"

step "garbage in every argument, from Node"
node "$here/js-tests/garbage.mjs" "$here/pkg" "$work/fixtures.json"

step "npm consumer: npm pack, fresh project, Node (ESM, CommonJS), Chromium, TypeScript"
node "$here/js-tests/consumer.mjs" "$here/pkg" "$work/fixtures.json" "$repo"

if [ "${QED_WASM_BENCH:-}" = 1 ]; then
  step "benchmark: receipt verification, native then Node"
  cargo run -q --release -p qed-verifier --example native_bench -- "$work"
  node "$here/js-tests/bench.mjs" "$here/pkg" "$work/bench.json"
fi
step "all passed"
