#!/usr/bin/env bash
# Two builds' CSV exports side by side, alternated round by round on the same database (not a
# test): the figure to compare a change with, on a shared, noisy machine.
#
#   A=/tmp/passerelle-before B=target/release/passerelle benches/exports_ab.sh [ROUNDS] [EXPORTS]
#
# ROUNDS: default 3. EXPORTS: default "people logs appointments" (appointments, untouched by
# most changes, tells the noise). The database is /tmp/passerelle-department.db (DB=…), built
# by benches/reports.sh or benches/agenda.sh. Each export runs on a freshly started server.
# Prints each run's rows per second, then the median of each build and the ratio B / A.
set -euo pipefail
ROUNDS=${1:-3}
EXPORTS=${2:-people logs appointments}
DB=${DB:-/tmp/passerelle-department.db}
PORT=${PORT:-8079}
: "${A:?set A to the first binary}" "${B:?set B to the second binary}"
export ROCKET_DATABASE_URL=sqlite://$DB ROCKET_DATA_DIR=${DATA_DIR:-/tmp/passerelle-bench-data} \
  ROCKET_PORT=$PORT ROCKET_LOG_LEVEL=off ROCKET_WORKER=false ROCKET_LOG_SETUP_LINK=false
mkdir -p "$ROCKET_DATA_DIR"
OUT=$(mktemp)
BASE="http://127.0.0.1:$PORT"
run() { # binary, label, export
  "$1" >/dev/null 2>&1 &
  local server=$!
  for _ in $(seq 1 300); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.1; done
  local token
  token=$(curl -sf -X POST "$BASE/api/v1/tokens" -d '{"email":"admin@demo.passerelle.fr","password":"demo-passerelle"}' \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['token'])")
  local start end rows
  start=$(date +%s.%N)
  rows=$(curl -sf "$BASE/exports/$3.csv" -H "Authorization: Bearer $token" | wc -l)
  end=$(date +%s.%N)
  kill $server; wait $server 2>/dev/null || true
  python3 -c "print(f'$2 $3 {($rows - 1) / ($end - $start):.0f}')" | tee -a "$OUT"
}
for round in $(seq 1 "$ROUNDS"); do
  for file in $EXPORTS; do
    if [ $((round % 2)) -eq 1 ]; then run "$A" A "$file"; run "$B" B "$file"
    else run "$B" B "$file"; run "$A" A "$file"; fi
  done
done
python3 - "$OUT" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, file, rate = line.split()
    runs.setdefault(file, {}).setdefault(who, []).append(float(rate))
for file, by in runs.items():
    a, b = statistics.median(by["A"]), statistics.median(by["B"])
    print(f"{file}.csv: A {a:,.0f} rows/s, B {b:,.0f} rows/s (medians of {len(by['A'])}): B / A = {b / a:.2f}")
EOF
rm -f "$OUT"
