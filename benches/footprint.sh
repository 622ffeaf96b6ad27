#!/usr/bin/env bash
# Footprint (rerunnable; not a test): the release binary's size, and the resident memory of an
# idle server with every feature on (the reminder and webhook workers running, metrics served,
# JSON logs), after it has started and served /health and /metrics once.
#
#   benches/footprint.sh                                  # SQLite in a temporary folder
#   benches/footprint.sh postgres://user@host:port/db     # an empty PostgreSQL database
#
# Needs curl. Builds the release binary first (or measures BIN=path/to/passerelle). Targets: binary ≤ 30 MB, idle RSS ≤ 40 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8078}
IDLE=${IDLE:-10}
DIR=$(mktemp -d)
DATABASE_URL=${1:-sqlite://$DIR/footprint.db}

if [ -z "${BIN:-}" ]; then
  cargo build --release -q --bin passerelle
  BIN=target/release/passerelle
fi
export ROCKET_DATABASE_URL=$DATABASE_URL ROCKET_DATA_DIR=$DIR ROCKET_PORT=$PORT \
  ROCKET_LOG_FORMAT=json ROCKET_WORKER=true ROCKET_LOG_SETUP_LINK=false
PASSERELLE_PASSWORD=footprint-password-123 $BIN user add --email footprint@example.org \
  --name Footprint --role admin --organisation Footprint >/dev/null
$BIN >"$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null
sleep "$IDLE"
SIZE=$(stat -c %s "$BIN")
RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status")
echo "binary: $(awk "BEGIN {printf \"%.1f\", $SIZE / 1048576}") MiB ($SIZE bytes)"
echo "idle RSS after ${IDLE} s: $(awk "BEGIN {printf \"%.1f\", $RSS / 1024}") MiB (${RSS} kB)"
