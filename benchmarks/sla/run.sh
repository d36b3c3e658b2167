#!/usr/bin/env bash
# The ANS sweep at 10,000 and at 1,000,000 open tickets, 1,000 clocks due (benchmarks/sla/README.md).
#
#   bash benchmarks/sla/run.sh                        # PostgreSQL 15, OPEN="10000 1000000" (~7 min)
#   bash benchmarks/sla/run.sh --quick                # smoke: 2,000 open tickets, 1 sweep (< 1 min)
#   OPEN=2000 bash benchmarks/sla/run.sh              # one size (one round: < 1 min at 2,000)
#   DBS="postgres sqlite" bash benchmarks/sla/run.sh  # also SQLite (DBS=sqlite: SQLite only)
#
# Everything goes under $WORK (default /tmp/radicado-slabench, refused unless it is empty
# or was made by this script). For each database it makes one fresh database per size (in
# a throw-away PostgreSQL 15 cluster started as the postgres user, listening on 127.0.0.1
# on a free port with its socket in $WORK; or SQLite files), migrates and loads each
# (bench.py load), then times sweep_clocks in ROUNDS rounds that alternate between the
# sizes (bench.py sweep). Then report.py writes $WORK/results/results.md. PostgreSQL is
# stopped on exit, also on failure or Ctrl-C.
#
# It measures a snapshot of the work tree (tracked and untracked files, copied to
# $WORK/src; SNAPSHOT=0 runs in place), so that edits made while it runs cannot change
# what is measured half-way.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    *) echo "usage: [OPEN=...] [DBS=...] bash benchmarks/sla/run.sh [--quick]" >&2; exit 2 ;;
  esac
done
WORK=${WORK:-/tmp/radicado-slabench}
DBS=${DBS:-postgres}
if [ "$QUICK" = 1 ]; then
  OPEN=${OPEN:-2000}; ROUNDS=${ROUNDS:-1}; REPEAT=${REPEAT:-1}; EMPTY=${EMPTY:-10}
fi
OPEN=${OPEN:-"10000 1000000"}   # open tickets: one database per size
DUE=${DUE:-1000}                # clocks due at NOW (and the sweep's limit)
set -- $OPEN
if [ $# -gt 1 ]; then DEFAULT_ROUNDS=4; else DEFAULT_ROUNDS=1; fi   # one size: nothing to alternate
ROUNDS=${ROUNDS:-$DEFAULT_ROUNDS} # rounds; each round sweeps every size, in ABBA order
REPEAT=${REPEAT:-2}             # timed sweeps of the due clocks per size and round
EMPTY=${EMPTY:-20}              # timed sweeps with nothing due per size and round
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
QUIET_LOAD=${QUIET_LOAD:-}      # e.g. 1.0: before each size, wait until the 1-minute load average
QUIET_WAIT=${QUIET_WAIT:-300}   # is below it (at most QUIET_WAIT seconds), on a shared machine

log() { printf '\n=== %s  %s\n' "$(date +%H:%M:%S)" "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PGPORT=${PGPORT:-$(free_port)}

# --- scratch folder --------------------------------------------------------------
mkdir -p "$WORK"
if [ -n "$(ls -A "$WORK" 2>/dev/null)" ] && [ ! -f "$WORK/.radicado-slabench" ]; then
  echo "$WORK is not empty and was not made by this script; refusing to touch it" >&2
  exit 1
fi
touch "$WORK/.radicado-slabench"
rm -rf "$WORK/pg" "$WORK/pgsock" "$WORK/data" "$WORK/results" "$WORK/logs" "$WORK/src"
RES=$WORK/results
LOGS=$WORK/logs
mkdir -p "$RES" "$LOGS" "$WORK/data"
chmod 755 "$WORK"

# --- the project's environment (uv, frozen lock) and the code to measure ----------
cd "$ROOT"
VENV=$(uv run --frozen python -c 'import sys; print(sys.prefix)')
PY=$VENV/bin/python
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain --untracked-files=no 2>/dev/null | wc -l)
SRC=$ROOT
if [ "${SNAPSHOT:-1}" = 1 ] && git rev-parse --git-dir > /dev/null 2>&1; then
  SRC=$WORK/src
  mkdir -p "$SRC"
  git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf - 2> /dev/null | tar -xf - -C "$SRC"
fi
cd "$SRC"
export PYTHONPATH=$SRC
export PYTHONDONTWRITEBYTECODE=1
export DJANGO_SETTINGS_MODULE=config.settings
export RADICADO_DATA_DIR=$WORK/data
export RADICADO_SECRET_KEY=benchmark-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz
export RADICADO_DEBUG=0
export RADICADO_LOG_LEVEL=WARNING

# --- PostgreSQL ------------------------------------------------------------------
# shellcheck source=../postgres.sh
. "$HERE/../postgres.sh"
# shared_buffers as the web benchmark's cluster; a larger max_wal_size so that the bulk load
# does not checkpoint every few seconds (bench.py checkpoints before each timed sweep).
# Everything else, fsync and synchronous_commit included, is PostgreSQL's default.
pg_up() { pg_start -c shared_buffers=256MB -c max_wal_size=4GB; }
trap pg_stop EXIT
trap 'exit 130' INT TERM

# --- versions and machine ---------------------------------------------------------
"$PY" - > "$RES/env.json" <<PYEOF
import json, os, platform, sqlite3, subprocess
from importlib.metadata import version
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
pg = subprocess.run(["$PGBIN/postgres", "--version"], capture_output=True, text=True).stdout.strip()
print(json.dumps({"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "postgres": pg,
                  "cpu": cpu, "cores": os.cpu_count(), "commit": "$COMMIT", "uncommitted_files": $DIRTY,
                  "snapshot": "$SRC" != "$ROOT", "open": "$OPEN".split(), "due": $DUE, "rounds": $ROUNDS, "repeat": $REPEAT,
                  "empty_repeat": $EMPTY, "packages": {p: version(p) for p in ["Django", "psycopg", "numpy"]}}))
PYEOF
cat "$RES/env.json"

db_url() {
  case "$1" in
    postgres) echo "postgres://postgres@127.0.0.1:$PGPORT/sla_$2" ;;
    sqlite) echo "sqlite:///$WORK/data/sla_$2.sqlite3" ;;
  esac
}
T0=$(date +%s)
for DB in $DBS; do
  case "$DB" in
    postgres) log "[postgres] cluster on 127.0.0.1:$PGPORT"; pg_up ;;
    sqlite) ;;
    *) echo "unknown database $DB (postgres or sqlite)" >&2; exit 2 ;;
  esac
  # One database per size, loaded once.
  for N in $OPEN; do
    case "$DB" in
      postgres) psql_pg -c "CREATE DATABASE sla_$N" ;;
      sqlite) rm -f "$WORK/data/sla_$N.sqlite3"* ;;
    esac
    export RADICADO_DATABASE_URL; RADICADO_DATABASE_URL=$(db_url "$DB" "$N")
    log "[$DB] migrate, load $N open tickets ($DUE due)"
    "$PY" -m django migrate -v0
    "$PY" benchmarks/sla/bench.py load --open "$N" --due "$DUE" --out "$RES/load_${DB}_${N}.json" \
      > "$LOGS/load_${DB}_${N}.log"
  done
  # Then the sweeps, alternating between the sizes (ABBA...), so that a machine that gets
  # busier or quieter during the run weighs on every size alike.
  SIZES=($OPEN)
  for R in $(seq 1 "$ROUNDS"); do
    ORDER=("${SIZES[@]}")
    if [ $((R % 2)) = 0 ]; then ORDER=(); for ((i=${#SIZES[@]}-1; i>=0; i--)); do ORDER+=("${SIZES[$i]}"); done; fi
    for N in "${ORDER[@]}"; do
      log "[$DB] round $R/$ROUNDS: $N open tickets"
      wait_quiet
      RADICADO_DATABASE_URL=$(db_url "$DB" "$N") "$PY" benchmarks/sla/bench.py sweep --limit "$DUE" \
        --repeat "$REPEAT" --empty-repeat "$EMPTY" --out "$RES/sweep_${DB}_${N}_r${R}.json" \
        > "$LOGS/sweep_${DB}_${N}_r${R}.log"
    done
  done
  for N in $OPEN; do
    case "$DB" in
      postgres) psql_pg -c "DROP DATABASE IF EXISTS sla_$N" ;;
      sqlite) rm -f "$WORK/data/sla_$N.sqlite3"* ;;
    esac
  done
  if [ "$DB" = postgres ]; then pg_stop; fi
done

log "report ($(( $(date +%s) - T0 )) s)"
"$PY" benchmarks/sla/report.py "$RES" | tee "$RES/results.md"
echo
echo "results in $RES"
