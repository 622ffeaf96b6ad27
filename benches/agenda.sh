#!/usr/bin/env bash
# The week agenda API against the bare Rocket + Diesel baseline, side by side (not a test).
#
#   benches/agenda.sh [ROUNDS]        # default 3 rounds of 10 s per program
#
# Builds Passerelle and the baseline (../shared/bench/baseline, or BASELINE_DIR) in release
# with this worktree's target directory, builds /tmp/passerelle-department.db once
# (`passerelle demo --scale department`, as benches/reports.sh), starts both on that file, and
# runs the baseline's bench.sh (wrk, the two programs alternated round by round). Prints each
# run, then the ratio of Passerelle's requests per second to the baseline's (median of the
# rounds), and the week agenda HTML page's requests per second and p50.
# Environment: BIN (a release binary of Passerelle to use instead of building this worktree's),
# DB (the SQLite file), MEDIATOR (mediator_id, default: the admin's first
# mediator with appointments that week), WEEK (the Monday, default 2026-12-07).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
DB=${DB:-/tmp/passerelle-department.db}
WEEK=${WEEK:-2026-12-07}
if [ -z "${BASELINE_DIR:-}" ]; then
  for d in ../shared/bench/baseline ../../shared/bench/baseline; do
    [ -f "$d/Cargo.toml" ] && BASELINE_DIR=$(cd "$d" && pwd) && break
  done
fi
[ -n "${BASELINE_DIR:-}" ] || { echo "the baseline was not found: set BASELINE_DIR"; exit 1; }
P_PORT=${P_PORT:-18731}
B_PORT=${B_PORT:-18732}
OUT=$(mktemp -d)
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }

if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN=$PWD/target/release/passerelle
fi
CARGO_TARGET_DIR=$PWD/target cargo build --release -q --locked --manifest-path "$BASELINE_DIR/Cargo.toml"
export ROCKET_DATABASE_URL=sqlite://$DB ROCKET_DATA_DIR=${DATA_DIR:-/tmp/passerelle-bench-data} \
  ROCKET_LOG_LEVEL=off ROCKET_WORKER=false ROCKET_LOG_SETUP_LINK=false
mkdir -p "$ROCKET_DATA_DIR"
$BIN migrate >/dev/null
# The demo refuses a database that already has people: then it is ready.
$BIN demo --scale department >"$OUT/demo.log" 2>&1 && grep "prête" "$OUT/demo.log" || true

ROCKET_PORT=$P_PORT $BIN >"$OUT/passerelle.log" 2>&1 &
P_PID=$!
ROCKET_PORT=$B_PORT "$PWD/target/release/passerelle-baseline" >"$OUT/baseline.log" 2>&1 &
B_PID=$!
trap 'kill $P_PID $B_PID 2>/dev/null || true' EXIT
for port in $P_PORT $B_PORT; do
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done

BASE="http://127.0.0.1:$P_PORT"
TOKEN=$(curl -sf -X POST "$BASE/api/v1/tokens" -d '{"email":"admin@demo.passerelle.fr","password":"demo-passerelle"}' \
  | python3 -c "import json,sys; print(json.load(sys.stdin)['token'])")
NEXT=$(date -d "$WEEK + 7 days" +%F)
if [ -z "${MEDIATOR:-}" ]; then
  MEDIATOR=$(curl -sf "$BASE/api/v1/appointments?from=$WEEK&to=$NEXT&limit=1" -H "Authorization: Bearer $TOKEN" \
    | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['mediator_id'])")
fi
QUERY="from=$WEEK&to=$NEXT&mediator_id=$MEDIATOR"
# The same answer, byte for byte.
if ! cmp -s <(curl -sf "$BASE/api/v1/appointments?$QUERY" -H "Authorization: Bearer $TOKEN") \
            <(curl -sf "http://127.0.0.1:$B_PORT/api/v1/appointments?$QUERY" -H "Authorization: Bearer $TOKEN"); then
  echo "warning: the two answers differ"
fi
echo "Week agenda API, mediator $MEDIATOR, $WEEK ($DB)"
bash "$BASELINE_DIR/bench.sh" $P_PORT $B_PORT "$TOKEN" "$QUERY" "$ROUNDS" "$OUT/wrk"
python3 - "$OUT/wrk/summary.txt" <<'EOF'
import re, statistics, sys
rps = {"P": [], "B": []}
for line in open(sys.argv[1]):
    m = re.match(r"r\d+_agenda_([PB]) .* rps=([\d.]+)", line)
    if m:
        rps[m.group(1)].append(float(m.group(2)))
p, b = statistics.median(rps["P"]), statistics.median(rps["B"])
print(f"agenda API: Passerelle {p:,.0f} req/s, baseline {b:,.0f} req/s: ratio {p / b:.2f}")
EOF

# The week agenda page, as the admin, on the same mediator.
JAR=$OUT/cookies
CSRF=$(curl -sf -c "$JAR" "$BASE/login" | python3 -c "import re,sys; print(re.search(r'name=\"csrf_token\" value=\"([^\"]+)\"', sys.stdin.read()).group(1))")
curl -sf -b "$JAR" -c "$JAR" -o /dev/null -X POST "$BASE/login" \
  --data-urlencode "email=admin@demo.passerelle.fr" --data-urlencode "password=demo-passerelle" --data-urlencode "csrf_token=$CSRF"
COOKIE=$(awk '$6=="passerelle_session"{print $7}' "$JAR")
PAGE="$BASE/agenda?date=$WEEK&view=week&mediator_id=$MEDIATOR"
curl -sf -o /dev/null -b "passerelle_session=$COOKIE" "$PAGE" || echo "warning: the agenda page failed"
wrk -t2 -c32 -d10s --latency -H "Cookie: passerelle_session=$COOKIE" "$PAGE" >"$OUT/page.txt" 2>&1
printf 'agenda page (week): %s req/s, p50 %s, p99 %s\n' \
  "$(awk '/Requests\/sec/{print $2}' "$OUT/page.txt")" "$(awk '$1=="50%"{print $2}' "$OUT/page.txt")" \
  "$(awk '$1=="99%"{print $2}' "$OUT/page.txt")"
