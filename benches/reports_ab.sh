#!/usr/bin/env bash
# Two builds' reports side by side, alternated round by round on the same database (not a
# test): the first call after a restart, then the median of 7 warm calls, for each report.
#
#   A=/tmp/passerelle-before B=target/release/passerelle benches/reports_ab.sh [ROUNDS] [REPORTS]
#
# ROUNDS: default 3. REPORTS: API report paths under /api/v1/reports/, default
# "skills-progress activity". The database is /tmp/passerelle-department.db (DB=…), built by
# benches/reports.sh (DB_A= and DB_B= give each build its own copy, for a change that migrates
# the database, so the old build reads the old schema); as the admin, the whole département, all time. Each build runs on a
# freshly started server (its statement cache and SQLite page cache empty; the disk cache
# warm). Prints every run (with the server's CPU time per warm call, read from /proc: less
# shaken by the neighbours than the wall clock), then per report and build the medians of the
# rounds and B / A.
set -euo pipefail
ROUNDS=${1:-3}
REPORTS=${2:-skills-progress activity}
DB=${DB:-/tmp/passerelle-department.db}
DB_A=${DB_A:-$DB}
DB_B=${DB_B:-$DB}
PORT=${PORT:-8079}
: "${A:?set A to the first binary}" "${B:?set B to the second binary}"
export ROCKET_DATA_DIR=${DATA_DIR:-/tmp/passerelle-bench-data} \
  ROCKET_PORT=$PORT ROCKET_LOG_LEVEL=off ROCKET_WORKER=false ROCKET_LOG_SETUP_LINK=false
mkdir -p "$ROCKET_DATA_DIR"
OUT=$(mktemp)
BASE="http://127.0.0.1:$PORT"
# The server's CPU time so far (user + system), in ms: less shaken by the neighbours than the
# wall clock.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
ms() { curl -sf -o /dev/null -w '%{time_total}' "$@" | python3 -c "import sys; print(f'{float(sys.stdin.read())*1000:.1f}')"; }
run() { # binary, label, report, database
  ROCKET_DATABASE_URL=sqlite://$4 "$1" >/dev/null 2>&1 &
  local server=$!
  for _ in $(seq 1 300); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.1; done
  local token first warm=() before after
  token=$(curl -sf -X POST "$BASE/api/v1/tokens" -d '{"email":"admin@demo.passerelle.fr","password":"demo-passerelle"}' \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['token'])")
  first=$(ms "$BASE/api/v1/reports/$3" -H "Authorization: Bearer $token")
  before=$(cpu $server)
  for _ in 1 2 3 4 5 6 7; do warm+=("$(ms "$BASE/api/v1/reports/$3" -H "Authorization: Bearer $token")"); done
  after=$(cpu $server)
  kill $server; wait $server 2>/dev/null || true
  printf '%s\n' "${warm[@]}" | python3 -c "
import statistics, sys
w = statistics.median(float(x) for x in sys.stdin)
print(f'$2 $3 $first {w:.1f} {($after - $before) / 7:.1f}')" | tee -a "$OUT"
}
echo "build report first_ms warm_median_ms warm_cpu_ms_per_call"
for round in $(seq 1 "$ROUNDS"); do
  for report in $REPORTS; do
    if [ $((round % 2)) -eq 1 ]; then run "$A" A "$report" "$DB_A"; run "$B" B "$report" "$DB_B"
    else run "$B" B "$report" "$DB_B"; run "$A" A "$report" "$DB_A"; fi
  done
done
python3 - "$OUT" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, report, first, warm, cpu = line.split()
    runs.setdefault(report, {}).setdefault(who, []).append((float(first), float(warm), float(cpu)))
for report, by in runs.items():
    med = lambda who, i: statistics.median(r[i] for r in by[who])
    print(f"{report}: first call A {med('A', 0):.0f} ms, B {med('B', 0):.0f} ms (B / A = {med('B', 0) / med('A', 0):.2f}); "
          f"warm A {med('A', 1):.0f} ms, B {med('B', 1):.0f} ms (B / A = {med('B', 1) / med('A', 1):.2f}); "
          f"server CPU per warm call A {med('A', 2):.0f} ms, B {med('B', 2):.0f} ms (B / A = {med('B', 2) / med('A', 2):.2f}); medians of {len(by['A'])}")
EOF
rm -f "$OUT"
