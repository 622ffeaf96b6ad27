#!/usr/bin/env bash
# Server time of what a mediator and a manager open, on the department demo (not a test), and
# the week agenda with one year of history against five.
#
#   benches/pages.sh [CALLS]      # default 15 calls per page, after one first call
#
# Uses /tmp/passerelle-department.db (built once with `passerelle demo --scale department`, as
# benches/agenda.sh and benches/reports.sh do) and makes /tmp/passerelle-department-1y.db from
# it: the same database without the appointments that started more than a year ago (and their
# participants), vacuumed. For each page: the first call, then the median and 90th percentile
# of CALLS calls (curl's time to first byte on loopback: the server's time). Then the week
# agenda API and page on both databases, alternated round by round with wrk (requests/s, p50).
# Environment: BIN (a release binary; default: build this worktree's), DB, WEEK (the Monday,
# default 2026-12-07), ROUNDS (3). Needs curl, wrk, sqlite3 and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-15}
ROUNDS=${ROUNDS:-3}
DB=${DB:-/tmp/passerelle-department.db}
DB1=${DB%.db}-1y.db
WEEK=${WEEK:-2026-12-07}
NEXT=$(date -d "$WEEK + 7 days" +%F)
PORT=${PORT:-18741}
PORT1=${PORT1:-18742}
OUT=$(mktemp -d)
for tool in curl wrk sqlite3 python3; do command -v $tool >/dev/null || { echo "$tool is needed"; exit 1; }; done
if [ -z "${BIN:-}" ]; then
  cargo build --release -q --bin passerelle
  BIN=$PWD/target/release/passerelle
fi
export ROCKET_DATA_DIR=${DATA_DIR:-/tmp/passerelle-bench-data} ROCKET_LOG_LEVEL=off ROCKET_WORKER=false \
  ROCKET_LOG_SETUP_LINK=false
mkdir -p "$ROCKET_DATA_DIR"
ROCKET_DATABASE_URL=sqlite://$DB $BIN migrate >/dev/null
# The demo refuses a database that already has people: then it is ready.
if ROCKET_DATABASE_URL=sqlite://$DB $BIN demo --scale department >"$OUT/demo.log" 2>&1; then
  grep "prête" "$OUT/demo.log" || true
fi
if [ ! -f "$DB1" ]; then
  # A year of history: what a one-year-old deployment holds (same people, places, accounts).
  CUT=$(date -u -d "$WEEK - 365 days" '+%Y-%m-%d 00:00:00')
  sqlite3 "$DB" ".backup '$DB1'"
  sqlite3 "$DB1" "PRAGMA foreign_keys = OFF;
    DELETE FROM participants WHERE appointment_id IN (SELECT id FROM appointments WHERE starts_at < '$CUT');
    DELETE FROM appointments WHERE starts_at < '$CUT';
    VACUUM;"
fi
echo "appointments: $(sqlite3 "$DB" 'SELECT count(*) FROM appointments') (5 years), $(sqlite3 "$DB1" 'SELECT count(*) FROM appointments') (1 year)"

ROCKET_DATABASE_URL=sqlite://$DB ROCKET_PORT=$PORT $BIN >"$OUT/server5.log" 2>&1 &
S5=$!
ROCKET_DATABASE_URL=sqlite://$DB1 ROCKET_PORT=$PORT1 $BIN >"$OUT/server1.log" 2>&1 &
S1=$!
trap 'kill $S5 $S1 2>/dev/null || true; rm -rf "$OUT"' EXIT
for port in $PORT $PORT1; do
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done

BASE="http://127.0.0.1:$PORT"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
token() { curl -sf -X POST "$1/api/v1/tokens" -d "{\"email\":\"$2\",\"password\":\"demo-passerelle\"}" | json 'd["token"]'; }
# A browser session: prints the session cookie's value.
session() {
  local jar=$OUT/jar.$RANDOM
  local csrf
  csrf=$(curl -sf -c "$jar" "$1/login" | python3 -c "import re,sys; print(re.search(r'name=\"csrf_token\" value=\"([^\"]+)\"', sys.stdin.read()).group(1))")
  curl -sf -b "$jar" -c "$jar" -o /dev/null -X POST "$1/login" \
    --data-urlencode "email=$2" --data-urlencode "password=demo-passerelle" --data-urlencode "csrf_token=$csrf"
  awk '$6=="passerelle_session"{print $7}' "$jar"
}
ADMIN=$(token "$BASE" admin@demo.passerelle.fr)
# The mediator with the most appointments that week, their organisation's manager, one of
# their people with a history.
read -r MEDIATOR ORG PERSON < <(curl -sf "$BASE/api/v1/appointments?from=$WEEK&to=$NEXT&limit=1000" -H "Authorization: Bearer $ADMIN" \
  | python3 -c "
import collections, json, sys
rows = json.load(sys.stdin)
busiest = collections.Counter(a['mediator_id'] for a in rows).most_common(1)[0][0]
mine = [a for a in rows if a['mediator_id'] == busiest]
person = next(p['person_id'] for a in mine for p in a['participants'])
print(busiest, '-', person)")
USERS=$(curl -sf "$BASE/api/v1/users?limit=1000" -H "Authorization: Bearer $ADMIN")
MEDIATOR_EMAIL=$(echo "$USERS" | json "next(u['email'] for u in d if u['id'] == $MEDIATOR)")
ORG=$(echo "$USERS" | json "next(u['organisation_id'] for u in d if u['id'] == $MEDIATOR)")
MANAGER_EMAIL=$(echo "$USERS" | json "next(u['email'] for u in d if u['role'] == 'manager' and u['organisation_id'] == $ORG)")
MANAGER=$(token "$BASE" "$MANAGER_EMAIL")
MEDIATOR_SESSION=$(session "$BASE" "$MEDIATOR_EMAIL")
MANAGER_SESSION=$(session "$BASE" "$MANAGER_EMAIL")
ADMIN_SESSION=$(session "$BASE" admin@demo.passerelle.fr)

measure() { # label, curl arguments…
  local label=$1; shift
  local first
  first=$(curl -sf -o /dev/null -w '%{time_starttransfer}' "$@") || { printf '  %-58s FAILED\n' "$label"; return; }
  for _ in $(seq 1 "$CALLS"); do curl -sf -o /dev/null -w '%{time_starttransfer}\n' "$@"; done | python3 -c "
import statistics, sys
t = sorted(float(x) * 1000 for x in sys.stdin)
p90 = t[min(len(t) - 1, int(len(t) * 0.9))]
print(f'  {\"$label\":58} first {float(\"$first\") * 1000:7.1f} ms   median {statistics.median(t):7.1f} ms   p90 {p90:7.1f} ms')"
}
echo "Server time, department demo ($DB), $CALLS calls each; mediator $MEDIATOR of organisation $ORG, person $PERSON"
echo "Mediator"
measure "home /" -b "passerelle_session=$MEDIATOR_SESSION" "$BASE/"
measure "agenda, week /agenda?view=week" -b "passerelle_session=$MEDIATOR_SESSION" "$BASE/agenda?date=$WEEK&view=week"
measure "agenda, day /agenda" -b "passerelle_session=$MEDIATOR_SESSION" "$BASE/agenda?date=$WEEK"
measure "person /people/$PERSON" -b "passerelle_session=$MEDIATOR_SESSION" "$BASE/people/$PERSON"
measure "people list /people" -b "passerelle_session=$MEDIATOR_SESSION" "$BASE/people"
measure "sessions to log /logs-to-fill" -b "passerelle_session=$MEDIATOR_SESSION" "$BASE/logs-to-fill"
echo "Manager of organisation $ORG"
measure "dashboard /reports" -b "passerelle_session=$MANAGER_SESSION" "$BASE/reports"
measure "skills report /reports/skills-progress" -b "passerelle_session=$MANAGER_SESSION" "$BASE/reports/skills-progress"
measure "agenda, week, their mediator" -b "passerelle_session=$MANAGER_SESSION" "$BASE/agenda?date=$WEEK&view=week&mediator_id=$MEDIATOR"
measure "agenda, week, the whole structure" -b "passerelle_session=$MANAGER_SESSION" "$BASE/agenda?date=$WEEK&view=week"
measure "people to call /to-call" -b "passerelle_session=$MANAGER_SESSION" "$BASE/to-call"
echo "Admin (the whole département)"
measure "dashboard /reports" -b "passerelle_session=$ADMIN_SESSION" "$BASE/reports"
measure "skills report /reports/skills-progress" -b "passerelle_session=$ADMIN_SESSION" "$BASE/reports/skills-progress"
measure "agenda, week (their structure)" -b "passerelle_session=$ADMIN_SESSION" "$BASE/agenda?date=$WEEK&view=week"
measure "home /" -b "passerelle_session=$ADMIN_SESSION" "$BASE/"
echo "Reports API"
for r in skills-progress activity equipment; do
  measure "API $r, admin" "$BASE/api/v1/reports/$r" -H "Authorization: Bearer $ADMIN"
  measure "API $r, manager" "$BASE/api/v1/reports/$r" -H "Authorization: Bearer $MANAGER"
done

# The week agenda with 1 and 5 years of history: same mediator, same week, alternated.
echo "Week agenda of mediator $MEDIATOR, 1 year against 5 years of history (wrk, $ROUNDS rounds of 5 s each)"
QUERY="from=$WEEK&to=$NEXT&mediator_id=$MEDIATOR"
declare -A TOK SES
TOK[5]=$ADMIN; SES[5]=$ADMIN_SESSION
TOK[1]=$(token "http://127.0.0.1:$PORT1" admin@demo.passerelle.fr)
SES[1]=$(session "http://127.0.0.1:$PORT1" admin@demo.passerelle.fr)
if ! cmp -s <(curl -sf "$BASE/api/v1/appointments?$QUERY" -H "Authorization: Bearer ${TOK[5]}") \
            <(curl -sf "http://127.0.0.1:$PORT1/api/v1/appointments?$QUERY" -H "Authorization: Bearer ${TOK[1]}"); then
  echo "warning: the two agendas differ"
fi
for round in $(seq 1 "$ROUNDS"); do
  for years in 1 5; do
    port=$([ "$years" = 5 ] && echo "$PORT" || echo "$PORT1")
    wrk -t2 -c16 -d5s --latency -H "Authorization: Bearer ${TOK[$years]}" \
      "http://127.0.0.1:$port/api/v1/appointments?$QUERY" >"$OUT/api.$years.$round" 2>&1
    wrk -t2 -c16 -d5s --latency -H "Cookie: passerelle_session=${SES[$years]}" \
      "http://127.0.0.1:$port/agenda?date=$WEEK&view=week&mediator_id=$MEDIATOR" >"$OUT/page.$years.$round" 2>&1
  done
done
python3 - "$OUT" "$ROUNDS" <<'EOF'
import re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def read(name):
    text = open(f"{out}/{name}").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", text)
    ms = float(p50.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p50.group(2)]
    return rps, ms
for what in ("api", "page"):
    runs = {y: [read(f"{what}.{y}.{r}") for r in range(1, rounds + 1)] for y in (1, 5)}
    med = {y: (statistics.median(r[0] for r in runs[y]), statistics.median(r[1] for r in runs[y])) for y in runs}
    label = "agenda API " if what == "api" else "agenda page"
    print(f"  {label}: 1 year {med[1][0]:8,.0f} req/s p50 {med[1][1]:6.1f} ms | 5 years {med[5][0]:8,.0f} req/s p50 {med[5][1]:6.1f} ms | 5y/1y time ×{med[1][0] / med[5][0]:.2f}")
EOF
