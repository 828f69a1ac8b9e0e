#!/usr/bin/env bash
# The "QED cluster" walkthrough of the seed (advanced-usage.md) with the `qed` binary in place of
# `go run main.go`, flag for flag: a leader, two followers joining through the leader's
# management API, an event added on the leader with `qed client`, and its membership verified
# through a follower's HTTP port (8081) with `qed client --verify`.
#
#   scripts/seed-cluster.sh                 run it and stop everything it started
#   QED_BIN=target/release/qed scripts/...  the qed binary to use (default: `qed` on PATH)
#   QED_KEY=~/.ssh/qed_ed25519 scripts/...  the signing key (-y) shared by the three nodes
#                                           (default: a fresh `qed generate signerkeys` key)
#   QED_SEED_KEEP=1 scripts/...             keep the cluster running until Ctrl-C
#
# It needs the seed's fixed ports free (HTTP 8800 8081 8082, Raft 8500 9001 9002, management 8700
# 8091 8092, metrics 8900 8181 8182) and exits with a message naming the first busy one. Every
# process it starts is stopped when it exits, also on failure or Ctrl-C.
set -euo pipefail

. "$(dirname "$0")/lib-cluster.sh"
track_cleanup
QED=${QED_BIN:-qed}
FOLLOWERS=2
PORTS=(8800 8500 8700 8900)
for i in $(seq 1 $FOLLOWERS); do PORTS+=("808$i" "900$i" "809$i" "818$i"); done

command -v "$QED" >/dev/null 2>&1 || fail "no qed binary ($QED): set QED_BIN"
require_free_ports "${PORTS[@]}"

LOGS=$(tmp)
KEY=${QED_KEY:-}
if [ -z "$KEY" ]; then
  KEYDIR=$(tmp)
  "$QED" generate signerkeys --path "$KEYDIR" >/dev/null 2>&1
  KEY=$KEYDIR/qed_ed25519
fi

echo "starting the leader (HTTP :8800, Raft :8500, management :8700)"
"$QED" start \
    -k my-key \
    -p "$(tmp)" \
    --raftpath "$(tmp)" \
    -y "$KEY" \
    --http-addr :8800 \
    --raft-addr :8500 \
    --mgmt-addr :8700 \
    -l error >"$LOGS/leader.log" 2>&1 &
PIDS+=($!)
wait_for 8800 /info '"role":"leader"' 60

echo "starting $FOLLOWERS followers"
for i in $(seq 1 $FOLLOWERS); do
    "$QED" start \
        -k my-key \
        -p "$(tmp)" \
        --raftpath "$(tmp)" \
        -y "$KEY" \
        --http-addr :808$i \
        --join-addr :8700 \
        --raft-addr :900$i \
        --mgmt-addr :809$i \
        --node-id node$i \
        -l error >"$LOGS/node$i.log" 2>&1 &
    PIDS+=($!)
done
for i in $(seq 1 $FOLLOWERS); do wait_for "808$i" /info '"role":"follower"' 60; done
http_get 8800 /info/shards
echo

VERIFIER_KEY=$(sed -n 's/^verifier key: //p' "$LOGS/leader.log" | head -n 1)
[ -n "$VERIFIER_KEY" ] || fail "the leader printed no verifier key"
EVENT="seed walkthrough $(date +%s%N)"

echo "adding an event on the leader"
"$QED" client --endpoint http://localhost:8800 -k my-key add --event "$EVENT"

echo "verifying its membership through a follower (http://localhost:8081)"
# The follower applies the entry a heartbeat after the leader commits it: retry a few times.
verified=0
for _ in $(seq 1 50); do
  if "$QED" client --endpoint http://localhost:8081 --verify --verifier-key "$VERIFIER_KEY" \
      membership --event "$EVENT" >"$LOGS/membership.json" 2>"$LOGS/membership.err" \
     && grep -q '"member": true' "$LOGS/membership.json"; then
    verified=1
    break
  fi
  sleep 0.2
done
cat "$LOGS/membership.json"
cat "$LOGS/membership.err" >&2
[ "$verified" = 1 ] || fail "the membership of the event did not verify on http://localhost:8081"

if [ "${QED_SEED_KEEP:-}" = 1 ]; then
  echo "the cluster is running (verifier key: $VERIFIER_KEY); Ctrl-C stops it"
  wait
fi
echo "seed cluster walkthrough: OK"
