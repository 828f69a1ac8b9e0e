# Shared by the benchmark scripts that run one `qed` node at a time on 127.0.0.1:18500-18800
# (bench-server.sh, bench-ab.sh, bench-instructions.sh). The caller sets DATA (the node's
# directory, holding keys/qed_ed25519) and clears NODE before the first `start`; the node logs
# to NODE_LOG (default $DATA/node.log).
URL=http://127.0.0.1:18800

# start COMMAND...: starts `COMMAND start ...` on $DATA (COMMAND is a qed binary, or a wrapper
# such as valgrind followed by one), with the extra flags in $NODE_ARGS if set, and waits, at
# most two minutes, until it answers.
start() {
  "$@" start ${NODE_ARGS:-} -k bench-key -p "$DATA/db" --raftpath "$DATA/raft" -y "$DATA/keys/qed_ed25519" \
    --http-addr 127.0.0.1:18800 --raft-addr 127.0.0.1:18500 --mgmt-addr 127.0.0.1:18700 \
    --metrics-addr 127.0.0.1:18600 -l warn >>"${NODE_LOG:-$DATA/node.log}" 2>&1 &
  NODE=$!
  for _ in $(seq 1 600); do curl -fsS "$URL/healthcheck" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "the node did not start; see ${NODE_LOG:-$DATA/node.log}" >&2
  exit 1
}

# stop: stops the node `start` started, if any, and waits for it to exit.
stop() {
  if [ -n "$NODE" ]; then
    kill "$NODE" 2>/dev/null || true
    wait "$NODE" 2>/dev/null || true
  fi
  NODE=
}

# workload BINARY REPORT ARGS...: `BINARY workload ARGS...` against the node, quietly, writing
# its JSON report to REPORT.
workload() {
  local bin=$1 out=$2
  shift 2
  "$bin" workload --endpoint "$URL" -k bench-key --no-progress -o "$out" "$@" >/dev/null
}
