#!/usr/bin/env bash
# The server figures of docs/BENCHMARKS.md (issue 3): one release `qed` node on loopback, fsync
# on, driven by `qed workload` on the same machine. Not a test: it takes 5-15 minutes and
# its numbers depend on the machine's load. Reports go to $OUT (default: target/bench-server/).
#
#   scripts/bench-server.sh            bulk to 1M, single adds, membership, paced adds, then 10M
#                                      (bulk over the last million, membership, single adds)
#   QED_BENCH_MAX=1000000 scripts/...  stop after the 1M figures
#   QED_BIN=/path/to/qed scripts/...   that build (node and load generator) instead of this tree's
#   BULK_CLIENTS=8 scripts/...         bulk requests from 8 concurrent clients instead of 16
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-target/bench-server}"
MAX="${QED_BENCH_MAX:-10000000}"
BULK_CLIENTS="${BULK_CLIENTS:-16}"
KEY=bench-key
NODE=
# shellcheck source=scripts/lib-bench-node.sh
. scripts/lib-bench-node.sh

if [ -n "${QED_BIN:-}" ]; then
  QED=$(realpath "$QED_BIN")
else
  # shellcheck source=scripts/lib-sccache.sh
  . scripts/lib-sccache.sh
  cargo build -q --release -p qed-server --bin qed
  QED="$PWD/target/release/qed"
fi
rm -rf "$OUT" && mkdir -p "$OUT"
DATA="$(mktemp -d)"
"$QED" generate signerkeys --path "$DATA/keys" >/dev/null 2>&1
trap 'stop; rm -rf "$DATA"' EXIT
NODE_LOG="$OUT/node.log" start "$QED"

load() { # name, then workload arguments
  local name=$1; shift
  echo "--- $name: qed workload $*"
  "$QED" workload --endpoint "$URL" -k "$KEY" --no-progress -o "$OUT/$name.json" "$@" | sed -n 1,2p  # sed reads everything: no broken pipe
}
rss_mib() { echo $(( $(ps -o rss= -p $NODE) / 1024 )); }
rate_of() { python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["events_per_sec"]))' "$1"; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
load bulk-1M --kind bulk --bulk-size 1000 -c "$BULK_CLIENTS" -n 1000000
echo "RSS at 1M: $(rss_mib) MiB"
load add-64 --kind add -c 64 -n 100000
load membership-1M --kind membership -c 64 -n 100000 --preload 10000
HALF=$(( $(rate_of "$OUT/add-64.json") / 2 ))
load add-half-rate --kind add -c 64 --rate "$HALF" -d 30s
size=$(curl -fsS "$URL/info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
if [ "$size" -lt "$MAX" ]; then
  fill=$(( (MAX - 1000000 - size) / 1000 * 1000 ))
  [ "$fill" -gt 0 ] && load bulk-fill --kind bulk --bulk-size 1000 -c "$BULK_CLIENTS" -n "$fill"
  load bulk-last-1M --kind bulk --bulk-size 1000 -c "$BULK_CLIENTS" -n 1000000
  echo "RSS at $(curl -fsS "$URL/info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])') events: $(rss_mib) MiB"
  load membership-last --kind membership -c 64 -n 100000 --preload 10000
  load add-64-last --kind add -c 64 -n 100000
fi
echo "reports in $OUT/"
