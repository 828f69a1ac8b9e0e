# Shell helpers shared by seed-cluster.sh and bench-cluster.sh (sourced, not run): process
# tracking with clean-up on exit, HTTP GETs with bash alone (no curl needed), waiting for a node.
# The caller sets `set -euo pipefail` and calls `track_cleanup` once.

PIDS=()
# Every directory of a run lives under ROOT (made here, in the calling shell: `$(tmp)` runs in a
# subshell, which could not record what it made), removed on exit.
ROOT=$(mktemp -d /var/tmp/demo.XXX)

fail() { echo "$(basename "$0"): $*" >&2; exit 1; }

# A fresh temporary directory, like the seed's `mktemp -d /var/tmp/demo.XXX`, under ROOT.
tmp() { mktemp -d "$ROOT/demo.XXX"; }

# Stops every tracked process (SIGTERM, then SIGKILL after 10 s), prints the tails of the logs in
# $LOGS on failure, removes the temporary directories, and keeps the exit status.
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$status" != 0 ] && [ -n "${LOGS:-}" ]; then
    for f in "$LOGS"/*.log; do echo "----- $f" >&2; tail -n 20 "$f" >&2 || true; done
  fi
  rm -rf "$ROOT"
  exit "$status"
}

track_cleanup() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Fails unless every port given is free on 127.0.0.1 (nothing accepts a connection there).
require_free_ports() {
  local port
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      fail "port $port is already in use; this script needs these ports free: $*"
    fi
  done
}

# One HTTP GET on 127.0.0.1:PORT; prints the body.
http_get() {
  local port=$1 path=$2
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}

# Polls `http_get PORT PATH` until its body contains TEXT, for at most SECONDS.
wait_for() {
  local port=$1 path=$2 text=$3 seconds=$4
  for _ in $(seq 1 $((seconds * 10))); do
    http_get "$port" "$path" 2>/dev/null | grep -q "$text" && return 0
    sleep 0.1
  done
  fail "http://localhost:$port$path never showed $text within ${seconds}s"
}
