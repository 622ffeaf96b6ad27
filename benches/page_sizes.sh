#!/usr/bin/env bash
# What the main pages weigh on the wire, as they are and gzipped (issue 16: every page <= 60 KB),
# on the department-scale demo, signed in as the admin (the largest lists). Rerunnable; not a test.
#
#   BIN=target/release/passerelle benches/page_sizes.sh      # default: this checkout's debug build
#
# Environment: BIN, DB (default /tmp/passerelle-department.db, made by benches/pages.sh),
# PORT (default 18791), WEEK (a Monday, default 2026-12-07). Needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/target/debug/passerelle}
DB=${DB:-/tmp/passerelle-department.db}
PORT=${PORT:-18791}
WEEK=${WEEK:-2026-12-07}
[ -f "$DB" ] || { echo "$DB is missing: benches/pages.sh makes it"; exit 1; }
OUT=$(mktemp -d)
export ROCKET_DATA_DIR=$OUT/data ROCKET_LOG_LEVEL=off ROCKET_WORKER=false ROCKET_LOG_SETUP_LINK=false
mkdir -p "$ROCKET_DATA_DIR"
ROCKET_DATABASE_URL=sqlite://$DB ROCKET_PORT=$PORT "$BIN" >"$OUT/server.log" 2>&1 &
S=$!
trap 'kill $S 2>/dev/null || true; rm -rf "$OUT"' EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
B=http://127.0.0.1:$PORT
jar=$OUT/jar
csrf=$(curl -sf -c "$jar" "$B/login" | python3 -c "import re,sys; print(re.search(r'name=\"csrf_token\" value=\"([^\"]+)\"', sys.stdin.read()).group(1))")
curl -sf -b "$jar" -c "$jar" -o /dev/null -X POST "$B/login" --data-urlencode "email=admin@demo.passerelle.fr" \
  --data-urlencode "password=demo-passerelle" --data-urlencode "csrf_token=$csrf"
printf '%-45s %10s %10s\n' page plain gzip
for p in "/" "/agenda?date=$WEEK&view=week" "/agenda?date=$WEEK" "/reports" "/reports/skills-progress" \
  "/reports/activity" "/people?q=mar" "/to-call" "/messages" "/static/style.css"; do
  plain=$(curl -s -b "$jar" -o /dev/null -w '%{size_download}' "$B$p")
  gz=$(curl -s -b "$jar" -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$B$p")
  printf '%-45s %10s %10s\n' "$p" "$plain" "$gz"
done
