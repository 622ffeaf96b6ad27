#!/usr/bin/env bash
# Reports and exports benchmark on the département's data (rerunnable; not a test).
#
#   benches/reports.sh                                # SQLite: builds /tmp/passerelle-department.db once
#   benches/reports.sh postgres://user@host:port/db   # PostgreSQL: `passerelle demo` runs first if empty
#   BIN=target/bench-fast/passerelle benches/reports.sh   # a binary already built (default: release)
#
# The admin's skills report and dashboard on the first call after a restart (warm disk cache);
# then for each report endpoint and dashboard page the median and the slowest of 7 calls (as an
# admin, the whole département, and as one organisation's manager with a one-year period).
# Then each big CSV export (assessments: 3,000,000 rows; appointments; people; logs), the
# server restarted before each: rows per second and the server's peak resident memory.
# Needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8078}
DIR=$(mktemp -d)
DATABASE_URL=${1:-sqlite:///tmp/passerelle-department.db}
if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN=$PWD/target/release/passerelle
fi
export ROCKET_DATABASE_URL=$DATABASE_URL ROCKET_DATA_DIR=${DATA_DIR:-/tmp/passerelle-bench-data} \
  ROCKET_PORT=$PORT ROCKET_LOG_LEVEL=off ROCKET_WORKER=false ROCKET_LOG_SETUP_LINK=false
mkdir -p "$ROCKET_DATA_DIR"
$BIN migrate >/dev/null
# The demo refuses a database that already has people: then it is ready.
if $BIN demo --scale department >"$DIR/demo.log" 2>&1; then
  grep "prête" "$DIR/demo.log"
fi
$BIN >"$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

BASE="http://127.0.0.1:$PORT"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token() { curl -sf -X POST "$BASE/api/v1/tokens" -d "{\"email\":\"$1\",\"password\":\"demo-passerelle\"}" | json '["token"]'; }
ADMIN=$(token admin@demo.passerelle.fr)
MANAGER_EMAIL=$(curl -sf "$BASE/api/v1/users?limit=1000" -H "Authorization: Bearer $ADMIN" \
  | python3 -c "import json,sys; print(next(u['email'] for u in json.load(sys.stdin) if u['role']=='manager'))")
MANAGER=$(token "$MANAGER_EMAIL")
# A browser session for the pages.
JAR=$DIR/cookies
CSRF=$(curl -sf -c "$JAR" "$BASE/login" | python3 -c "import re,sys; print(re.search(r'name=\"csrf_token\" value=\"([^\"]+)\"', sys.stdin.read()).group(1))")
curl -sf -b "$JAR" -c "$JAR" -o /dev/null -X POST "$BASE/login" \
  --data-urlencode "email=admin@demo.passerelle.fr" --data-urlencode "password=demo-passerelle" --data-urlencode "csrf_token=$CSRF"

YEAR_AGO=$(date -d '1 year ago' +%F)
measure() { # label, curl arguments…
  local label=$1; shift
  local times=()
  for _ in 1 2 3 4 5 6 7; do
    times+=("$(curl -sf -o /dev/null -w '%{time_total}' "$@")")
  done
  printf '%s\n' "${times[@]}" | sort -n | python3 -c "
import sys; t=[float(x)*1000 for x in sys.stdin]; print(f'  {\"$label\":58} median {t[3]:7.1f} ms   slowest {t[-1]:7.1f} ms')"
}
restart() {
  kill $SERVER; wait $SERVER 2>/dev/null || true
  $BIN >"$DIR/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
}
once() { # label, curl arguments…
  local label=$1; shift
  curl -sf -o /dev/null -w '%{time_total}\n' "$@" | python3 -c "
import sys; print(f'  {\"$label\":58} {float(sys.stdin.read())*1000:7.1f} ms')"
}
echo "First call after a restart ($DATABASE_URL)"
restart
once "API skills-progress, admin, all" "$BASE/api/v1/reports/skills-progress" -H "Authorization: Bearer $ADMIN"
restart
once "page /reports/skills-progress, admin, all" -b "$JAR" "$BASE/reports/skills-progress"
restart
once "page /reports (dashboard), admin, all" -b "$JAR" "$BASE/reports"
echo "Reports ($DATABASE_URL)"
for r in skills-progress activity equipment; do
  measure "API $r, admin, all" "$BASE/api/v1/reports/$r" -H "Authorization: Bearer $ADMIN"
  measure "API $r, manager, one year" "$BASE/api/v1/reports/$r?from=$YEAR_AGO" -H "Authorization: Bearer $MANAGER"
done
for p in /reports /reports/skills-progress /reports/activity /reports/equipment; do
  measure "page $p, admin, all" -b "$JAR" "$BASE$p"
done
measure "API skills-progress, admin, programme 1, one year" "$BASE/api/v1/reports/skills-progress?programme_id=1&from=$YEAR_AGO" -H "Authorization: Bearer $ADMIN"

for file in assessments appointments people logs; do
  echo "Export of $file.csv (admin, everything; the server restarted first, so the figure is the export's)"
  restart
  PEAK=$DIR/peak
  echo 0 >"$PEAK"
  ( peak=0; while kill -0 $SERVER 2>/dev/null; do
      rss=$(ps -o rss= -p $SERVER | tr -d ' '); [ "${rss:-0}" -gt "$peak" ] && peak=$rss && echo $peak >"$PEAK"
      sleep 0.05; done ) &
  WATCH=$!
  START=$(date +%s.%N)
  ROWS=$(curl -sf "$BASE/exports/$file.csv" -H "Authorization: Bearer $ADMIN" | wc -l)
  END=$(date +%s.%N)
  kill $WATCH 2>/dev/null || true
  python3 -c "
rows=$ROWS-1; s=$END-$START
print(f'  {rows} rows in {s:.2f} s: {rows/s:,.0f} rows/s; server peak RSS {int(open(\"$PEAK\").read())/1024:.0f} MB')"
done
