#!/usr/bin/env bash
# Timestamp comparisons on SQLite, before and after the migration that gives the timestamp and
# date columns TEXT affinity (issue 14, point 2). Not a test.
#
#   benches/timestamps.sh [RUNS]     # default 15 runs of each query on each database
#
# Copies DB (default /tmp/passerelle-department.db, built by `passerelle demo --scale
# department`, see benches/pages.sh) twice under WORK (default /tmp/passerelle-timestamps), applies
# migrations/sqlite/2026-11-30-000020_timestamps/up.sql to the second copy (skipped when the
# database has it already: then the "before" copy has it too, and the figures say nothing), then
# runs the agenda's and the reports' range queries with the sqlite3 command line (`.timer on`),
# alternating the two copies run by run, and prints each query's median CPU time (user + sys,
# less noisy than wall time on a shared machine) and the ratio after / before.
# Needs sqlite3 and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}
DB=${DB:-/tmp/passerelle-department.db}
WORK=${WORK:-/tmp/passerelle-timestamps}
MIGRATION=migrations/sqlite/2026-11-30-000020_timestamps/up.sql
for tool in sqlite3 python3; do command -v $tool >/dev/null || { echo "$tool is needed"; exit 1; }; done
[ -f "$DB" ] || { echo "$DB is missing: build it with passerelle demo --scale department"; exit 1; }
mkdir -p "$WORK"
BEFORE=$WORK/before.db
AFTER=$WORK/after.db
if [ ! -f "$BEFORE" ] || [ ! -f "$AFTER" ]; then
  sqlite3 "$DB" ".backup '$BEFORE'"
  cp "$BEFORE" "$AFTER"
  sqlite3 "$AFTER" < "$MIGRATION"
fi
echo "appointments: $(sqlite3 "$BEFORE" 'SELECT count(*) FROM appointments'), assessments: $(sqlite3 "$BEFORE" 'SELECT count(*) FROM assessments')"
echo "starts_at declared as: $(sqlite3 "$BEFORE" "SELECT type FROM pragma_table_info('appointments') WHERE name = 'starts_at'") before, $(sqlite3 "$AFTER" "SELECT type FROM pragma_table_info('appointments') WHERE name = 'starts_at'") after"

# The statements, as the application sends them (the bound values written out).
QUERIES=(
  # The week agenda of every mediator (booking::service::list: both ends of the range bounded).
  "SELECT count(*), sum(a.capacity) FROM users u JOIN appointments a ON a.mediator_id = u.id AND a.starts_at > '2026-12-06 00:00:00' AND a.starts_at < '2026-12-14 00:00:00' AND a.ends_at > '2026-12-07 00:00:00'"
  # A year of appointments by time (exports, reports' edge days).
  "SELECT count(*) FROM appointments WHERE starts_at > '2024-12-31 00:00:00' AND starts_at < '2026-01-01 00:00:00' AND ends_at > '2025-01-01 00:00:00'"
  # The activity report's year of day rows.
  "SELECT sum(appointments), sum(attended) FROM activity_days WHERE day >= '2025-01-01' AND day <= '2025-12-31'"
  # Assessments of a period (skills report sources).
  "SELECT count(*) FROM assessments WHERE assessed_at >= '2025-01-01 00:00:00' AND assessed_at < '2026-01-01 00:00:00'"
  # The skills report by skill over a year (a covering index, each entry filtered on last_at).
  "SELECT skill_id, count(*), sum(last_level > first_level) FROM skill_progress WHERE last_at >= '2025-01-01 00:00:00' AND last_at < '2026-01-01 00:00:00' GROUP BY skill_id"
  # The retention job's first filter.
  "SELECT count(*) FROM people WHERE updated_at < '2024-11-30 00:00:00' AND created_at < '2024-11-30 00:00:00'"
)
NAMES=("week agenda, every mediator" "a year of appointments" "activity days of a year" "assessments of a year" "skills report by skill" "people inactive 24 months")

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for i in "${!QUERIES[@]}"; do
  for run in $(seq 1 "$RUNS"); do
    for side in before after; do
      db=$BEFORE; [ $side = after ] && db=$AFTER
      # One warm-up, then the timed run.
      printf '%s;\n.timer on\n%s;\n' "${QUERIES[$i]}" "${QUERIES[$i]}" | sqlite3 "$db" \
        | grep '^Run Time' >> "$OUT/$i.$side"
    done
  done
done
python3 - "$OUT" "$RUNS" "${NAMES[@]}" <<'EOF'
import re, statistics, sys
out, runs, names = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"median CPU ms of {runs} runs (user+sys), alternated")
print(f"{'query':32} {'before':>8} {'after':>8} {'after/before':>13}")
for i, name in enumerate(names):
    t = {}
    for side in ("before", "after"):
        cpu = []
        for line in open(f"{out}/{i}.{side}"):
            m = re.search(r"user ([0-9.]+) sys ([0-9.]+)", line)
            cpu.append((float(m.group(1)) + float(m.group(2))) * 1000)
        t[side] = statistics.median(cpu)
    print(f"{name:32} {t['before']:8.1f} {t['after']:8.1f} {t['after'] / t['before']:13.2f}")
EOF
