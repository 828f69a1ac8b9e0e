#!/usr/bin/env bash
# The cluster benchmark of docs/BENCHMARKS.md ("Cluster"), in one session so that the ratios
# compare like with like:
#   1. one node: bulk adds with `qed workload --kind bulk` (the baseline);
#   2. three nodes on loopback (fsync on, as always): the same load against the leader;
#   3. failover: single adds against the cluster, `kill -9` of the leader after 3 s: the load
#      must finish without errors (retried adds whose answer was lost come back as duplicates).
#      The write unavailability itself is measured by the end-to-end test
#      `cluster::failover_under_load_loses_no_acknowledged_event` (docs/BENCHMARKS.md).
#
#   QED_BIN=target/release/qed scripts/bench-cluster.sh
#   EVENTS=200000 BULK=10000 CONCURRENCY=4 BASE_PORT=19000 ...   (the defaults)
#
# Uses 127.0.0.1 ports BASE_PORT..BASE_PORT+33 and stops everything it started.
set -euo pipefail
. "$(dirname "$0")/lib-cluster.sh"
track_cleanup

QED=${QED_BIN:-target/release/qed}
EVENTS=${EVENTS:-200000}
BULK=${BULK:-10000}
CONCURRENCY=${CONCURRENCY:-4}
BASE=${BASE_PORT:-19000}
SECRET=bench-secret
command -v "$QED" >/dev/null 2>&1 || fail "no qed binary ($QED): set QED_BIN"
ports=()
for i in 0 1 2 3; do ports+=($((BASE + 10 * i)) $((BASE + 10 * i + 1)) $((BASE + 10 * i + 2)) $((BASE + 10 * i + 3))); done
require_free_ports "${ports[@]}"

LOGS=$(tmp)
KEYDIR=$(tmp)
"$QED" generate signerkeys --path "$KEYDIR" >/dev/null 2>&1

# start_node INDEX NAME [JOIN_INDEX]: HTTP BASE+10i, Raft +1, management +2, metrics +3.
start_node() {
  local i=$1 name=$2 p=$((BASE + 10 * $1)) join=()
  [ $# -ge 3 ] && join=(--join-addr "127.0.0.1:$((BASE + 10 * $3 + 2))")
  "$QED" start -k "$SECRET" -p "$(tmp)" --raftpath "$(tmp)" -y "$KEYDIR/qed_ed25519" \
    --http-addr "127.0.0.1:$p" --raft-addr "127.0.0.1:$((p + 1))" \
    --mgmt-addr "127.0.0.1:$((p + 2))" --metrics-addr "127.0.0.1:$((p + 3))" \
    --node-id "$name" "${join[@]}" -l warn >"$LOGS/$name.log" 2>&1 &
  PIDS+=($!)
  NODE_PID=$!
}

# workload NAME PORT ARGS...: runs `qed workload` against 127.0.0.1:PORT, report in $LOGS/NAME.json.
workload() {
  local name=$1 port=$2
  shift 2
  "$QED" workload --endpoint "http://127.0.0.1:$port" -k "$SECRET" --no-progress \
    -o "$LOGS/$name.json" "$@" 2>&1 | tee "$LOGS/$name.out"
}

field() { sed -n "s/.*\"$2\": *\([0-9.e+-]*\).*/\1/p" "$LOGS/$1.json" | head -n 1; }

echo "== 1. one node: $EVENTS events, bulk $BULK, concurrency $CONCURRENCY"
start_node 3 single
SINGLE_PID=$NODE_PID
wait_for $((BASE + 30)) /info '"role":"leader"' 60
workload single $((BASE + 30)) --kind bulk --bulk-size "$BULK" -c "$CONCURRENCY" -n "$EVENTS"
kill -TERM "$SINGLE_PID"

echo "== 2. three nodes: the same load against the leader"
start_node 0 c0
LEADER_PID=$NODE_PID
wait_for "$BASE" /info '"role":"leader"' 60
start_node 1 c1 0
start_node 2 c2 0
wait_for $((BASE + 10)) /info '"role":"follower"' 60
wait_for $((BASE + 20)) /info '"role":"follower"' 60
workload cluster "$BASE" --kind bulk --bulk-size "$BULK" -c "$CONCURRENCY" -n "$EVENTS"

echo "== 3. failover: single adds for 10 s, kill -9 of the leader after 3 s"
workload failover "$BASE" --kind add -c 4 --duration 10s --timeout 30 &
LOAD=$!
sleep 3
kill -KILL "$LEADER_PID"
wait "$LOAD" || true
for i in 1 2; do http_get $((BASE + 10 * i)) /info; echo; done

s=$(field single events_per_sec)
c=$(field cluster events_per_sec)
echo
echo "one node:    $s events/s"
echo "three nodes: $c events/s (ratio $(awk "BEGIN { printf \"%.2f\", $c / $s }"))"
echo "failover:    $(field failover events) adds, errors $(field failover errors), duplicates $(field failover duplicates)"
