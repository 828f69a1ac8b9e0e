#!/usr/bin/env bash
# Idempotent toolchain bootstrap for a fresh Debian 12 x86_64 machine (rustup stable 1.95, Node 20, root).
# Every step skips what is already present, so a second run takes about a second.
# Recipes and the reasons for each pin: ../shared/TOOLCHAIN.md and docs/DEVELOPMENT.md.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pin in Cargo.toml / Cargo.lock
WASM_PACK_VERSION=0.15.1
BINARYEN_NPM_VERSION=132.0.0   # Debian's binaryen 108 corrupts wasm-bindgen output: never use it
CARGO_FUZZ_VERSION=0.13.2

log() { printf '[bootstrap] %s\n' "$*"; }
# "server": only what building and running the qed binary needs (scripts/run.sh).
# "fuzz": nightly and cargo-fuzz, for the fuzz targets of core/fuzz (not part of the suite).
# "all" (default): everything the test suite needs (scripts/test.sh).
MODE="${1:-all}"

if [ "$MODE" = fuzz ]; then
  rustup toolchain list | grep -q '^nightly' || { log "installing nightly"; rustup toolchain install nightly --profile minimal; }
  cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION" ||
    { log "cargo install cargo-fuzz"; cargo install -q --locked cargo-fuzz --version "=$CARGO_FUZZ_VERSION"; }
  exit 0
fi

# Debian packages the qed binary needs: make and gcc for jemalloc, g++ for RocksDB (built from
# the sources librocksdb-sys bundles), clang for bindgen, and a compiler cache (scripts/lib-sccache.sh).
SERVER_PACKAGES=(make gcc g++ clang libclang-dev sccache)

# apt_install PACKAGE...: installs those of the packages that are missing, if any.
apt_install() {
  local need=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  [ ${#need[@]} -gt 0 ] || return 0
  log "apt-get install ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

if [ "$MODE" = server ]; then
  apt_install "${SERVER_PACKAGES[@]}"
  exit 0
fi

# 1. Rust targets and toolchains.
for t in wasm32-unknown-unknown thumbv7em-none-eabihf; do
  rustup target list --installed | grep -qx "$t" || { log "adding target $t"; rustup target add "$t"; }
done

# 2. Debian packages: the server's and a browser for the wasm tests.
apt_install "${SERVER_PACKAGES[@]}" chromium chromium-driver

# 3. wasm-opt from npm (binaryen 132) in its own prefix; /usr/local/bin precedes /usr/bin on PATH.
if ! wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_NPM_VERSION%%.*}"; then
  log "installing binaryen ${BINARYEN_NPM_VERSION} from npm"
  npm install --prefix /opt/binaryen --no-audit --no-fund --silent "binaryen@${BINARYEN_NPM_VERSION}"
  ln -sf /opt/binaryen/node_modules/.bin/wasm-opt /usr/local/bin/wasm-opt
fi

# 4. Cargo-installed tools, one after another (two builds at once on 2 cores double each one's time).
has() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -qF "$2"; }
# Not --locked: its lockfile pins a webpki-roots release this registry does not serve.
has wasm-bindgen "$WASM_BINDGEN_VERSION" || { log "cargo install wasm-bindgen-cli"; cargo install -q wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"; }
has wasm-pack "$WASM_PACK_VERSION"       || { log "cargo install wasm-pack"; cargo install -q --locked wasm-pack --version "=$WASM_PACK_VERSION"; }
command -v cargo-nextest >/dev/null      || { log "cargo install cargo-nextest"; cargo install -q --locked cargo-nextest; }

log "toolchain ok: $(wasm-bindgen --version) | $(wasm-pack --version 2>/dev/null) | $(wasm-opt --version)"
