#!/usr/bin/env bash
# The statements (round trips) of one booking on PostgreSQL, counted from the server's log:
# a throwaway cluster with log_statement=all, the bench's organisation on a small scale, a few
# bookings to warm the pool, then N more logged (POST /api/v1/appointments, as
# benches/booking_burst.sh books). Rerunnable; not a test. Issue 18, point 7.
#
#   benches/booking_statements.sh [N]      # default 10 bookings logged
#
# Environment: BIN (a binary to use instead of building this worktree's debug one), PORT
# (default 8191), PG_PORT (default 5499). Needs curl, python3 and Debian's postgresql.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}
PORT=${PORT:-8191}
PG_PORT=${PG_PORT:-5499}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL is needed (apt-get install postgresql)"; exit 1; }
if [ -z "${BIN:-}" ]; then
  cargo build -q --bin passerelle
  BIN=$PWD/target/debug/passerelle
fi
WORK=$(mktemp -d)
chmod 755 "$WORK"
mkdir -p "$WORK/pg" "$WORK/data"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$WORK/pg"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
as_postgres "$PG_BIN/initdb" -A trust -U postgres -E UTF8 --no-sync -D "$WORK/pg/data" >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c log_line_prefix='%p|'" start >/dev/null
psql_admin() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
psql_admin -c "CREATE DATABASE bench"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
export ROCKET_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/bench ROCKET_DATA_DIR=$WORK/data \
  ROCKET_LOG_LEVEL=off ROCKET_WORKER=false ROCKET_LOG_SETUP_LINK=false ROCKET_PORT=$PORT
PASSERELLE_PASSWORD=bench-password-123 "$BIN" user add --email bench@example.org --name Bench \
  --role admin --organisation Bench >/dev/null
"$BIN" >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
api="http://127.0.0.1:$PORT/api/v1"
token=$(curl -sf -X POST "$api/tokens" -d '{"email":"bench@example.org","password":"bench-password-123"}' | json '["token"]')
post() { curl -sf -X POST "$api/$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$2"; }
place=$(post places '{"name":"Bench","address":"1 rue","postal_code":"59000","city":"Lille"}' | json '["id"]')
service=$(post services '{"name":"Individuel","kind":"individual","duration_minutes":30,"horizon_days":730}' | json '["id"]')
mediator=$(post users '{"email":"m1@example.org","name":"M 1","role":"mediator","organisation_id":1,"password":"bench-password-123"}' | json '["id"]')
for day in 1 2 3 4 5 6 7; do
  post "users/$mediator/opening-hours" "{\"place_id\":$place,\"weekday\":$day,\"start\":\"00:00\",\"end\":\"24:00\"}" >/dev/null
done
people=()
for i in $(seq 1 $((2 * N))); do people+=("$(post people "{\"given_name\":\"P$i\"}" | json '["id"]')"); done
base=$(( ($(date +%s) / 86400 + 2) * 86400 ))
book() {
  curl -s -o /dev/null -w '%{http_code}\n' -X POST "$api/appointments" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' \
    -d "{\"service_id\":$service,\"mediator_id\":$mediator,\"place_id\":$place,\"starts_at\":\"$(date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ)\",\"person_ids\":[$2]}"
}
# Warm-up: the pool's connections prepare their statements.
for i in $(seq 0 $((N - 1))); do book $((base + i * 1800)) "${people[$i]}" >/dev/null; done
psql_admin -d bench -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
from=$(wc -l <"$WORK/pg/log")
answers=$(for i in $(seq "$N" $((2 * N - 1))); do book $((base + i * 1800)) "${people[$i]}"; done | sort | uniq -c)
sleep 1
tail -n +$((from + 1)) "$WORK/pg/log" | python3 -c '
import re, sys, collections
n = int(sys.argv[1])
statements = [m.group(1) for m in (re.search(r"LOG:  (?:statement|execute [^:]*): (.*)", l) for l in sys.stdin) if m]
kinds = collections.Counter(" ".join(s.split()[:6])[:110] for s in statements)
print(f"{len(statements)} statements (round trips) for {n} bookings: {len(statements) / n:.1f} per booking")
for kind, count in kinds.most_common():
    print(f"  {count / n:4.1f}  {kind}")
' "$N"
echo "answers: $answers"
