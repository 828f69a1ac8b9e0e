#!/usr/bin/env bash
# Instructions per membership proof, counted by valgrind's callgrind, for builds of `qed`: the
# figure to compare builds by when the machine is too noisy for CPU times (docs/BENCHMARKS.md).
# Not a test.
#
#   scripts/bench-instructions.sh QED [QED...]
#
# For each build, on a node of its own:
#   - load generator: a release node holding 100,000 events answers
#     `qed workload --kind membership -c 16 -n 3000 --preload 1000`, run under callgrind;
#   - node: a node holding 20,000 events is restarted under callgrind with instrumentation off,
#     switched on (`callgrind_control -i on`) for the same workload only. The count includes the
#     apply of the 1,000 preloaded events and any compaction meanwhile.
# SHA-256 runs in software under valgrind. Needs valgrind (`apt-get install valgrind`).
# Uses the ports of scripts/bench-server.sh (127.0.0.1:18500, 18600, 18700, 18800): run one at a time.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 QED [QED...]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
DATA=
NODE=
# shellcheck source=scripts/lib-bench-node.sh
. "$(dirname "$0")/lib-bench-node.sh"
trap 'stop; [ -n "$DATA" ] && rm -rf "$DATA"' EXIT

fresh_node() { # binary, events
  [ -n "$DATA" ] && rm -rf "$DATA"
  DATA=$(mktemp -d)
  "$1" generate signerkeys --path "$DATA/keys" >/dev/null 2>&1
  start "$1"
  workload "$1" "$DATA/report.json" --kind bulk --bulk-size 1000 -c 8 -n "$2"
}
collected() { sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$1" | tail -1; }
PROOFS=(--kind membership -c 16 -n 3000 --preload 1000)

for bin in "$@"; do
  bin=$(realpath "$bin")
  fresh_node "$bin" 100000
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" workload --endpoint "$URL" \
    -k bench-key --no-progress -o "$DATA/report.json" "${PROOFS[@]}" >/dev/null 2>"$DATA/lg.log"
  generator=$(collected "$DATA/lg.log")
  stop
  fresh_node "$bin" 20000
  stop
  start valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null "$bin"
  callgrind_control -i on "$NODE" >/dev/null 2>&1
  workload "$bin" "$DATA/report.json" "${PROOFS[@]}"
  callgrind_control -i off "$NODE" >/dev/null 2>&1
  stop
  echo "$bin: load generator $generator instructions, node $(collected "$DATA/node.log") instructions (4,000 requests)"
done
