#!/usr/bin/env bash
# The server figures of docs/BENCHMARKS.md (issue 3): one release `qed` node on loopback, fsync
# on, driven by `qed workload` on the same machine. Not a test: it takes about 15 minutes and
# its numbers depend on the machine's load. Reports go to $OUT (default: target/bench-server/).
#
#   scripts/bench-server.sh            bulk to 1M, single adds, membership, paced adds, then 10M
#   QED_BENCH_MAX=1000000 scripts/...  stop after the 1M figures
#   QED_BIN=/path/to/qed scripts/...   that build (node and load generator) instead of this tree's
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-target/bench-server}"
MAX="${QED_BENCH_MAX:-10000000}"
HTTP=127.0.0.1:18800
URL="http://$HTTP"
KEY=bench-key

if [ -n "${QED_BIN:-}" ]; then
  QED=$(realpath "$QED_BIN")
else
  cargo build -q --release -p qed-server --bin qed
  QED="$PWD/target/release/qed"
fi
rm -rf "$OUT" && mkdir -p "$OUT"
DATA="$(mktemp -d)"
"$QED" generate signerkeys --path "$DATA/keys" >/dev/null 2>&1
"$QED" start -k "$KEY" -p "$DATA/db" --raftpath "$DATA/raft" -y "$DATA/keys/qed_ed25519" \
  --http-addr "$HTTP" --raft-addr 127.0.0.1:18500 --mgmt-addr 127.0.0.1:18700 \
  --metrics-addr 127.0.0.1:18600 -l warn >"$OUT/node.log" 2>&1 &
NODE=$!
trap 'kill $NODE 2>/dev/null; wait $NODE 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -fsS "$URL/healthcheck" >/dev/null 2>&1 && break; sleep 0.1; done

load() { # name, then workload arguments
  local name=$1; shift
  echo "--- $name: qed workload $*"
  "$QED" workload --endpoint "$URL" -k "$KEY" --no-progress -o "$OUT/$name.json" "$@" | sed -n 1,2p  # sed reads everything: no broken pipe
}
rss_mib() { echo $(( $(ps -o rss= -p $NODE) / 1024 )); }
rate_of() { python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["events_per_sec"]))' "$1"; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
load bulk-1M --kind bulk --bulk-size 1000 -c 8 -n 1000000
echo "RSS at 1M: $(rss_mib) MiB"
load add-64 --kind add -c 64 -n 100000
load membership-1M --kind membership -c 64 -n 100000 --preload 10000
HALF=$(( $(rate_of "$OUT/add-64.json") / 2 ))
load add-half-rate --kind add -c 64 --rate "$HALF" -d 30s
size=$(curl -fsS "$URL/info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
if [ "$size" -lt "$MAX" ]; then
  fill=$(( (MAX - 1000000 - size) / 1000 * 1000 ))
  [ "$fill" -gt 0 ] && load bulk-fill --kind bulk --bulk-size 1000 -c 8 -n "$fill"
  load bulk-last-1M --kind bulk --bulk-size 1000 -c 8 -n 1000000
  echo "RSS at $(curl -fsS "$URL/info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])') events: $(rss_mib) MiB"
  load membership-last --kind membership -c 64 -n 100000 --preload 10000
fi
echo "reports in $OUT/"
