# Sourced by scripts/test.sh, scripts/run.sh and scripts/bench-server.sh: builds through sccache
# when it is installed, for Rust and, through the cc crate, RocksDB's C++, so rebuilds on a reused
# machine fetch objects instead of compiling them; harmless when the cache is cold.
if command -v sccache >/dev/null 2>&1 && [ -z "${RUSTC_WRAPPER:-}" ]; then
  export RUSTC_WRAPPER=sccache SCCACHE_DIR="${SCCACHE_DIR:-$HOME/.cache/sccache}" SCCACHE_CACHE_SIZE=10G
fi
