#!/usr/bin/env bash
# Compares two `qed` builds on one log, alternating them, for the figures a shared machine makes
# too noisy to compare across separate runs (docs/BENCHMARKS.md). Not a test.
#
#   scripts/bench-ab.sh OLD_QED NEW_QED [PAIRS]
#
# One node's data (EVENTS events added in bulk first, default 1,000,000) is reused: for each pair
# the node is restarted on it with OLD_QED, then NEW_QED, and each build, as node and as load
# generator, runs
#   - membership proofs: `qed workload --kind membership -c 64 -n 100000 --preload 10000`,
#     reporting the rate and the CPU time per proof of the node and of the load generator;
#   - paced single adds: `qed workload --kind add -c 64 --rate RATE -d 30s` (RATE default 1900),
#     reporting the latency percentiles.
# Uses the ports of scripts/bench-server.sh (127.0.0.1:18500, 18600, 18700, 18800): run one at a time.
set -euo pipefail
OLD=$(realpath "$1")
NEW=$(realpath "$2")
PAIRS=${3:-3}
EVENTS=${EVENTS:-1000000}
RATE=${RATE:-1900}
DATA=$(mktemp -d)
NODE=
# shellcheck source=scripts/lib-bench-node.sh
. "$(dirname "$0")/lib-bench-node.sh"
trap 'stop; rm -rf "$DATA"' EXIT

node_cpu_ticks() { awk '{print $14 + $15}' "/proc/$NODE/stat"; }

"$OLD" generate signerkeys --path "$DATA/keys" >/dev/null 2>&1
start "$OLD"
echo "adding $EVENTS events in bulk (machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
workload "$OLD" "$DATA/fill.json" --kind bulk --bulk-size 1000 -c 8 -n "$EVENTS"
stop
tick=$(getconf CLK_TCK)
for pair in $(seq 1 "$PAIRS"); do
  for bin in "$OLD" "$NEW"; do
    name=$([ "$bin" = "$OLD" ] && echo old || echo new)
    start "$bin"
    before=$(node_cpu_ticks)
    /usr/bin/time -f '%U %S' -o "$DATA/time" \
      "$bin" workload --endpoint "$URL" -k bench-key --no-progress -o "$DATA/m.json" \
      --kind membership -c 64 -n 100000 --preload 10000 >/dev/null
    after=$(node_cpu_ticks)
    workload "$bin" "$DATA/add.json" --kind add -c 64 --rate "$RATE" -d 30s
    python3 - "$DATA" "$pair" "$name" "$before" "$after" "$tick" <<'EOF'
import json, sys
data, pair, name, before, after, tick = sys.argv[1:]
m = json.load(open(f"{data}/m.json"))
add = json.load(open(f"{data}/add.json"))["latency_ms"]
user, system = map(float, open(f"{data}/time").read().split()[-2:])
n = m["events"]
node_us = (float(after) - float(before)) / float(tick) * 1e6 / n
# The load generator's CPU includes its 10,000-event preload.
loadgen_us = (user + system) * 1e6 / (n + 10000)
print(f"pair {pair} {name}: membership {m['events_per_sec']:.0f}/s, node {node_us:.1f} us "
      f"+ load generator {loadgen_us:.1f} us per proof; paced adds p50 {add['p50']:.1f} "
      f"p99 {add['p99']:.1f} p99.9 {add['p999']:.1f} ms")
EOF
    stop
  done
done
