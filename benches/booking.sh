#!/usr/bin/env bash
# Booking benchmark (rerunnable; not a test): bookings per second and latency at 32 concurrent
# clients, then the free slots of a month for 20 mediators.
#
#   benches/booking.sh                                  # SQLite in a temporary folder
#   benches/booking.sh postgres://user@host:port/db     # an empty PostgreSQL database
#
# Needs wrk (Debian: apt-get install wrk), curl and python3. Builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
CLIENTS=${CLIENTS:-32}
MEDIATORS=20
PORT=${PORT:-8077}
DIR=$(mktemp -d)
DATABASE_URL=${1:-sqlite://$DIR/bench.db}

cargo build --release -q
BIN=target/release/passerelle
export ROCKET_DATABASE_URL=$DATABASE_URL ROCKET_DATA_DIR=$DIR ROCKET_PORT=$PORT ROCKET_LOG_LEVEL=off \
  ROCKET_WORKER=false ROCKET_LOG_SETUP_LINK=false
PASSERELLE_PASSWORD=bench-password-123 $BIN user add --email bench@example.org --name Bench \
  --role admin --organisation Bench >/dev/null
$BIN >"$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

API="http://127.0.0.1:$PORT/api/v1"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN=$(curl -sf -X POST "$API/tokens" -d '{"email":"bench@example.org","password":"bench-password-123"}' | json '["token"]')
post() { curl -sf -X POST "$API/$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$2"; }
PLACE=$(post places '{"name":"Bench","address":"1 rue","postal_code":"59000","city":"Lille"}' | json '["id"]')
SERVICE=$(post services '{"name":"Individuel","kind":"individual","duration_minutes":30,"horizon_days":730}' | json '["id"]')
MEDIATOR_IDS=()
for i in $(seq 1 $MEDIATORS); do
  id=$(post users "{\"email\":\"m$i@example.org\",\"name\":\"M $i\",\"role\":\"mediator\",\"organisation_id\":1,\"password\":\"bench-password-123\"}" | json '["id"]')
  for day in 1 2 3 4 5 6 7; do
    post "users/$id/opening-hours" "{\"place_id\":$PLACE,\"weekday\":$day,\"start\":\"00:00\",\"end\":\"24:00\"}" >/dev/null
  done
  MEDIATOR_IDS+=("$id")
done
# DOMAIN.md's scale has about ten appointments per person: 2,000 people for ~30,000 bookings.
PEOPLE=$(python3 - "$API" "$TOKEN" "${PEOPLE_COUNT:-2000}" <<'PY'
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
# Tomorrow 00:00 UTC, so every slot is in the future and within the horizon.
BASE=$(( ($(date +%s) / 86400 + 1) * 86400 ))
THREADS=4
echo "== bookings: $CLIENTS clients, $DURATION, $(echo "$DATABASE_URL" | cut -d: -f1)"
wrk -t$THREADS -c"$CLIENTS" -d"$DURATION" --latency -s benches/booking.lua "http://127.0.0.1:$PORT" -- \
  "$TOKEN" "$SERVICE" "$PLACE" "$(IFS=,; echo "${MEDIATOR_IDS[*]}")" "$PEOPLE" "$BASE" "$THREADS" \
  | grep -E "Latency|50%|90%|99%|Requests/sec|Bookings/sec|requests in|Non-2xx"

FROM=$(date -u -d "@$BASE" +%F)
TO=$(date -u -d "@$((BASE + 30 * 86400))" +%F)
echo "== free slots of a month for $MEDIATORS mediators (after the bookings), 10 runs"
for _ in $(seq 1 10); do
  curl -s -o "$DIR/slots.json" -w "%{time_total}\n" -H "Authorization: Bearer $TOKEN" \
    "$API/slots?service_id=$SERVICE&from=$FROM&to=$TO"
done | sort -n | awk '{a[NR]=$1} END {printf "median %.1f ms, max %.1f ms\n", a[int((NR+1)/2)]*1000, a[NR]*1000}'
python3 -c "import json; print(len(json.load(open('$DIR/slots.json'))), 'slots returned')"
