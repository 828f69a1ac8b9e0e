#!/usr/bin/env bash
# Bulk adds against a log kept in a directory, for how the cost per event grows with the log
# (docs/BENCHMARKS.md). Not a test. Uses the ports of scripts/bench-server.sh: run one at a time.
#
#   scripts/bench-grow.sh DIR EVENTS QED
#       with EVENTS a multiple of 1,000,000: adds them in bulk to the log in DIR (created if
#       missing) with the build QED, and prints per million: the rate, the node's CPU time
#       split by thread (RocksDB's compaction threads against the request and apply threads),
#       its resident memory and the size of DIR;
#   scripts/bench-grow.sh DIR N QED...
#       with N below 1,000,000: runs N bulk events on a fresh copy of DIR with each build in
#       turn (give builds twice, alternated, to see the noise), so every build starts from the
#       same log.
set -euo pipefail
DIR=$(realpath -m "$1")
COUNT=$2
shift 2
NODE=
DATA=
# shellcheck source=scripts/lib-bench-node.sh
. "$(dirname "$0")/lib-bench-node.sh"
trap 'stop; [ -n "${COPY:-}" ] && rm -rf "$COPY"' EXIT

# CPU ticks of the node by thread name, as "name ticks" lines (a thread may exit meanwhile).
threads() {
  for stat in /proc/"$NODE"/task/*/stat; do
    sed -E 's/^[0-9]+ \((.*)\) [A-Za-z] (([^ ]+ ){10})([0-9]+) ([0-9]+).*/\1 \4 \5/' "$stat" 2>/dev/null || true
  done | awk '{t[$1] += $2 + $3} END {for (n in t) print n, t[n]}' | sort
}

# run BUILD N: N bulk events against the node on $DATA, one line of figures.
run() {
  local before after
  before=$(threads)
  workload "$1" "$DATA/bulk.json" --kind bulk --bulk-size 1000 -c 8 -n "$2"
  after=$(threads)
  local rate size
  rate=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["events_per_sec"]))' "$DATA/bulk.json")
  size=$(curl -fsS "$URL/info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
  printf '%s size %s: %s events/s, rss %s MiB, dir %s MiB, load %s; node CPU s by thread:' \
    "$(date +%T)" "$size" "$rate" $(( $(ps -o rss= -p "$NODE") / 1024 )) \
    "$(du -sm "$DATA" | cut -f1)" "$(cut -d' ' -f1 /proc/loadavg)"
  join -a 2 <(echo "$before") <(echo "$after") |
    awk '{d = ($3 == "" ? $2 : $3 - $2); if (d > 0) printf " %s %.1f", $1, d / 100} END {print ""}'
}

if [ "$COUNT" -ge 1000000 ]; then
  QED=$(realpath "$1")
  DATA=$DIR
  mkdir -p "$DATA"
  [ -f "$DATA/keys/qed_ed25519" ] || "$QED" generate signerkeys --path "$DATA/keys" >/dev/null 2>&1
  start "$QED"
  for _ in $(seq 1 $(( COUNT / 1000000 ))); do run "$QED" 1000000; done
else
  COPY=$(mktemp -d)
  for build in "$@"; do
    QED=$(realpath "$build")
    rm -rf "$COPY" && cp -a "$DIR" "$COPY"
    DATA=$COPY
    start "$QED"
    echo "$QED:"
    run "$QED" "$COUNT"
    stop
  done
fi
