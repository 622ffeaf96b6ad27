#!/usr/bin/env bash
# Booking throughput on SQLite (one instance) and on PostgreSQL (two instances on one database),
# side by side in one run on the same machine, and their ratio (issue 18: PostgreSQL with two
# instances should reach at least 60 % of SQLite). Rerunnable; not a test.
#
#   benches/booking_burst.sh [ROUNDS]      # default 3 rounds, SQLite and PostgreSQL alternated
#
# Each round books on a fresh database what benches/booking.sh books (POST /api/v1/appointments,
# 20 mediators, each request a distinct slot, benches/booking.lua) with two wrk processes of
# CLIENTS/2 connections each: on SQLite both against the one instance, on PostgreSQL one against
# each instance. Bookings/s are the 2xx answers per second (a refusal is no booking); each
# round's ratio compares two runs a few seconds apart, the steadier figure on a shared machine.
#
# PostgreSQL is a throwaway cluster started here (Debian's postgresql: initdb, as the postgres
# user through runuser when run as root, as the tests do) on PG_PORT (default 5488), removed at
# the end. Its durability is set to SQLite's: SQLite runs in WAL mode with synchronous=NORMAL,
# which does not wait for the disk at each commit, so PostgreSQL runs with
# synchronous_commit=off (PG_SYNCHRONOUS_COMMIT=on measures it waiting for the disk instead).
#
# Figures (2 shared cores, load 6 to 9 from other builds; BIN built with the bench-fast profile,
# 30 Nov 2026): before issue 18's round-trip cuts (20 statements per booking on PostgreSQL,
# benches/booking_statements.sh) SQLite 1,006 and PostgreSQL 435 bookings/s, rounds' ratios
# 34, 44, 48 % (median 44 %); after (11 statements) SQLite 935 and PostgreSQL 667, ratios 60,
# 80, 56 % (median 60 %). The machine's noise moves a round's ratio by +-10 points: compare the
# medians of runs made one after the other.
# Then (30 Nov 2026, 22:30-23:10, load 4 to 18, bench-fast, 7 rounds of before and after
# alternated) 11 -> 6 statements per booking: PostgreSQL's app CPU per booking 0.69-1.00 ->
# 0.59-0.80 ms (about -20 %), its database CPU about the same, 1.27-2.05 -> 1.33-2.21 ms
# (SQLite's whole booking: 0.64-0.87 ms); rounds' ratios before 47.9, 47.8, 45.1, 43.5, 45.7,
# 52.8, 96.9 % (median 47.8), after 44.6, 42.5, 57.2, 43.0, 66.8, 72.5, 68.7 % (median 57.2).
# What is left is mostly the database's own work per booking (executor, seven foreign-key
# checks, the overlap scans), which fewer round trips do not remove.
# Then (1 Dec 2026, 02:20, load 1.6 to 11, bench-fast, 3 rounds of 15 s of before and after
# alternated) the booking's WITH statement prepared once per connection instead of parsed and
# planned at each booking (PG_STATEMENTS=1: 9,904 plans for 9,904 bookings -> 120): the
# database's CPU per booking 1.093, 1.070, 1.065 -> 0.819, 0.812, 0.715 ms; PostgreSQL
# 1,179, 1,201, 1,210 -> 1,454, 1,467, 1,597 bookings/s; rounds' ratios 63.9, 58.1, 61.6 ->
# 73.8, 77.8, 84.0 % (median 61.6 -> 77.8).
#
# Environment: DURATION (wrk's, default 20s), CLIENTS (default 32), BIN (a release binary to use
# instead of building this worktree's), PORT (first app port, default 8091; PostgreSQL's second
# instance uses PORT+1), PG_STATEMENTS=1 (after each PostgreSQL round, the statements that took
# the database's time, from pg_stat_statements: calls, mean and total milliseconds of execution, plans made and their total milliseconds).
# Needs wrk, curl, python3 and Debian's postgresql (and postgresql-contrib for PG_STATEMENTS).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
DURATION=${DURATION:-20s}
CLIENTS=${CLIENTS:-32}
PORT=${PORT:-8091}
PG_PORT=${PG_PORT:-5488}
PG_SYNCHRONOUS_COMMIT=${PG_SYNCHRONOUS_COMMIT:-off}
MEDIATORS=20
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL is needed (apt-get install postgresql)"; exit 1; }

if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN=$PWD/target/release/passerelle
fi
WORK=$(mktemp -d)
chmod 755 "$WORK"   # the postgres user goes through it to its cluster
SERVERS=()
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_servers() {
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SERVERS=()
}
cleanup() {
  stop_servers
  [ -d "$WORK/pg/data" ] && as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PRELOAD=
[ "${PG_STATEMENTS:-}" = 1 ] && PRELOAD="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on"
# The throwaway cluster.
mkdir -p "$WORK/pg"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$WORK/pg"
as_postgres "$PG_BIN/initdb" -A trust -U postgres -E UTF8 --no-sync -D "$WORK/pg/data" >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c synchronous_commit=$PG_SYNCHRONOUS_COMMIT $PRELOAD" \
  start >/dev/null
psql_admin() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

# CPU ticks (user + system) so far of the app instances, then of the database's processes
# (PostgreSQL's server processes; none for SQLite, which runs inside the app): "APP DB".
# A backend that exits in between takes its ticks with it; the pools keep theirs open.
cpu_ticks() {
  local app=0 db=0 pid postmaster
  for pid in "${SERVERS[@]}"; do
    app=$((app + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  postmaster=$(head -1 "$WORK/pg/data/postmaster.pid" 2>/dev/null || true)
  if [ -n "$postmaster" ] && [[ "$ROCKET_DATABASE_URL" == postgres* ]]; then
    for pid in $postmaster $(pgrep -P "$postmaster"); do
      db=$((db + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
  fi
  echo "$app $db"
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Starts the app on $1 (database URL) at ports PORT.. (one per instance, $2 of them), creates
# the bench's organisation, then runs the two wrk processes; prints the bookings per second.
round() {
  local url=$1 instances=$2 data="$WORK/data-$RANDOM"
  mkdir -p "$data"
  trap stop_servers EXIT
  export ROCKET_DATABASE_URL=$url ROCKET_DATA_DIR=$data ROCKET_LOG_LEVEL=off ROCKET_WORKER=false \
    ROCKET_LOG_SETUP_LINK=false
  PASSERELLE_PASSWORD=bench-password-123 "$BIN" user add --email bench@example.org --name Bench \
    --role admin --organisation Bench >/dev/null
  # The instances share the data folder (its secret key signs the tokens), not their port.
  for i in $(seq 0 $((instances - 1))); do
    ROCKET_PORT=$((PORT + i)) "$BIN" >"$data/server-$i.log" 2>&1 &
    SERVERS+=($!)
  done
  for i in $(seq 0 $((instances - 1))); do
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$((PORT + i))/health" >/dev/null && break; sleep 0.1; done
  done
  local api="http://127.0.0.1:$PORT/api/v1" token place service mediator_ids=() people base
  token=$(curl -sf -X POST "$api/tokens" -d '{"email":"bench@example.org","password":"bench-password-123"}' | json '["token"]')
  post() { curl -sf -X POST "$api/$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$2"; }
  place=$(post places '{"name":"Bench","address":"1 rue","postal_code":"59000","city":"Lille"}' | json '["id"]')
  service=$(post services '{"name":"Individuel","kind":"individual","duration_minutes":30,"horizon_days":730}' | json '["id"]')
  for i in $(seq 1 $MEDIATORS); do
    local id
    id=$(post users "{\"email\":\"m$i@example.org\",\"name\":\"M $i\",\"role\":\"mediator\",\"organisation_id\":1,\"password\":\"bench-password-123\"}" | json '["id"]')
    for day in 1 2 3 4 5 6 7; do
      post "users/$id/opening-hours" "{\"place_id\":$place,\"weekday\":$day,\"start\":\"00:00\",\"end\":\"24:00\"}" >/dev/null
    done
    mediator_ids+=("$id")
  done
  people=$(python3 - "$api" "$token" "${PEOPLE_COUNT:-2000}" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
api, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
def create(i):
    request = urllib.request.Request(f"{api}/people", method="POST",
        data=json.dumps({"given_name": f"P{i}"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))["id"]
with ThreadPoolExecutor(8) as pool:
    print(",".join(str(i) for i in pool.map(create, range(count))))
PY
)
  base=$(( ($(date +%s) / 86400 + 1) * 86400 ))
  local mediators
  mediators=$(IFS=,; echo "${mediator_ids[*]}")
  # Two wrk at once, CLIENTS/2 connections each; the second against the second instance if any.
  local loads=() before after
  before=$(cpu_ticks)
  for w in 0 1; do
    local target=$((PORT + (w % instances)))
    wrk -t2 -c$((CLIENTS / 2)) -d"$DURATION" -s benches/booking.lua "http://127.0.0.1:$target" -- \
      "$token" "$service" "$place" "$mediators" "$people" "$base" 2 "$w" 2 >"$data/wrk-$w.txt" &
    loads+=($!)
  done
  wait "${loads[@]}"
  after=$(cpu_ticks)
  stop_servers
  grep -h "^Bookings/sec" "$data"/wrk-*.txt | sed "s|^|  $(echo "$url" | cut -d: -f1), one wrk: |" >&2
  # CPU time of the app and the database per booking, steadier than bookings/s on a shared
  # machine (the other processes take cores, not this work's CPU time).
  awk -v before="$before" -v after="$after" -v tick="$(getconf CLK_TCK)" \
    -v url="$(echo "$url" | cut -d: -f1)" '/^Bookings\/sec:/ {gsub(/\(/, "", $3); n += $3} END {
      split(before, b, " "); split(after, a, " ");
      printf "  %s, CPU per booking: app %.3f ms, database %.3f ms (%d bookings)\n", url,
        1000 * (a[1] - b[1]) / tick / n, 1000 * (a[2] - b[2]) / tick / n, n }' \
    "$data"/wrk-*.txt >&2
  awk '/^Bookings\/sec:/ {sum += $2} END {printf "%.1f\n", sum}' "$data"/wrk-*.txt
}

SQLITE=() PG=() RATIOS=()
for r in $(seq 1 "$ROUNDS"); do
  s=$(round "sqlite://$WORK/sqlite-$r.db" 1)
  psql_admin -c "CREATE DATABASE bench_$r"
  if [ "${PG_STATEMENTS:-}" = 1 ]; then
    psql_admin -d "bench_$r" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
      -c "SELECT pg_stat_statements_reset()" >/dev/null
  fi
  p=$(round "postgres://postgres@127.0.0.1:$PG_PORT/bench_$r" 2)
  if [ "${PG_STATEMENTS:-}" = 1 ]; then
    psql_admin -d "bench_$r" -P pager=off -c "SELECT calls, round(mean_exec_time::numeric, 3) AS mean_ms,
      round(total_exec_time::numeric) AS total_ms, plans, round(total_plan_time::numeric) AS plan_total_ms,
      left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS statement
      FROM pg_stat_statements WHERE calls > 100 ORDER BY total_exec_time DESC LIMIT 15" >&2
  fi
  ratio=$(awk -v s="$s" -v p="$p" 'BEGIN {printf "%.1f", 100 * p / s}')
  echo "round $r: SQLite, one instance: $s bookings/s; PostgreSQL, two instances: $p bookings/s; ratio $ratio %"
  SQLITE+=("$s") PG+=("$p") RATIOS+=("$ratio")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
S=$(median "${SQLITE[@]}")
P=$(median "${PG[@]}")
echo "== bookings/s, median of $ROUNDS rounds of $DURATION, $CLIENTS clients (synchronous_commit=$PG_SYNCHRONOUS_COMMIT)"
echo "SQLite, one instance:        $S"
echo "PostgreSQL, two instances:   $P"
awk -v s="$S" -v p="$P" 'BEGIN {printf "ratio PostgreSQL two instances / SQLite: %.0f %% (of the medians)\n", 100 * p / s}'
echo "median of the rounds' ratios: $(median "${RATIOS[@]}") %"
