#!/usr/bin/env bash
# Runs one QED node on an embedded default: data under ./data, a signing key generated there on
# first start, API key "my-key", HTTP on 127.0.0.1:8800. Installs what is missing first.
# Override with QED_DATA, QED_API_KEY, QED_HTTP_ADDR, QED_LOG. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${QED_DATA:-./data}"
API_KEY="${QED_API_KEY:-my-key}"
HTTP_ADDR="${QED_HTTP_ADDR:-127.0.0.1:8800}"
LEVEL="${QED_LOG:-info}"

bash scripts/bootstrap.sh server
# shellcheck source=scripts/lib-sccache.sh
. scripts/lib-sccache.sh
echo "building qed (release; the first build on a machine compiles RocksDB and takes up to 20 minutes)..."
# Not quiet: cargo's progress line shows that the long C++ step is still going.
cargo build --release -p qed-server --bin qed
QED="$PWD/target/release/qed"

mkdir -p "$DATA"
if [ ! -f "$DATA/keys/qed_ed25519" ]; then
  "$QED" generate signerkeys --path "$DATA/keys" >/dev/null
fi

"$QED" start -k "$API_KEY" -p "$DATA/db" --raftpath "$DATA/raft" -y "$DATA/keys/qed_ed25519" \
  --http-addr "$HTTP_ADDR" --raft-addr 127.0.0.1:8500 --mgmt-addr 127.0.0.1:8700 \
  --metrics-addr 127.0.0.1:8600 -l "$LEVEL" >/dev/null &  # its stdout repeats the hints below
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null' INT TERM

URL="http://$HTTP_ADDR"
for _ in $(seq 1 100); do
  curl -fsS "$URL/healthcheck" >/dev/null 2>&1 && break
  kill -0 $PID 2>/dev/null || { echo "qed exited; see the log above" >&2; exit 1; }
  sleep 0.2
done
VK=$(curl -fsS "$URL/info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["verifier_key"])')

cat <<MSG

QED is running on $URL (data in $DATA, metrics on http://127.0.0.1:8600/metrics).
Verifier key (give it to anyone who checks this log):
  $VK

Add an event and verify its receipt:
  $QED client --endpoint $URL -k $API_KEY --verify --verifier-key '$VK' add --event 'hello world'
Prove it is in the log:
  $QED client --endpoint $URL -k $API_KEY --verify --verifier-key '$VK' membership --event 'hello world'

MSG
wait $PID
