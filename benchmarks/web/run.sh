#!/usr/bin/env bash
# Web benchmark of Radicado at 100,000 tickets, on PostgreSQL 15 and SQLite.
#
#   bash benchmarks/web/run.sh                         # both databases, 100k tickets (~10 min)
#   DBS=postgres bash benchmarks/web/run.sh            # one database only
#   TICKETS=2000 N=10 WARMUP=2 bash benchmarks/web/run.sh   # smoke run (about a minute)
#
# Everything goes under $WORK (default /tmp/radicado-webbench, refused unless it is
# empty or was made by this script). For each database it: creates the database
# (a throw-away PostgreSQL cluster started as the postgres user, listening on
# 127.0.0.1 with its socket in $WORK), migrates, loads the data (load.py), starts
# gunicorn (2 sync workers on 127.0.0.1), runs bench.py, stops gunicorn, counts SQL
# queries per request in-process (count_queries.py), and stops PostgreSQL. Then
# report.py writes $WORK/results/results.md. gunicorn and PostgreSQL are stopped
# on exit, also on failure or Ctrl-C.
#
# It measures a snapshot of the work tree (tracked and untracked files, copied to
# $WORK/src when it starts; SNAPSHOT=0 runs in place), so that edits made while it
# runs cannot change what is measured half-way. The commit and whether the tree had
# uncommitted changes go into results/env.json. SRC_TREE=/path measures another copy of
# the code instead (e.g. a detached worktree of an older commit), with this checkout's
# harness (benchmarks/web copied over a snapshot of that tree) and virtual environment.
# ONLY=api_create,queue_rows runs only the named scenarios (all concurrencies of each).
# PROFILE=1 also profiles API create in-process against the loaded database
# (profile_create.py: SQL vs Python time per create, cProfile) before stopping it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-/tmp/radicado-webbench}
DBS=${DBS:-"postgres sqlite"}
TICKETS=${TICKETS:-100000}
N=${N:-200}                       # measured requests per scenario
WARMUP=${WARMUP:-20}              # warm-up requests per scenario (not recorded)
BUDGET=${BUDGET:-150}             # max seconds of measuring per scenario
WARMUP_BUDGET=${WARMUP_BUDGET:-60}
WORKERS=${WORKERS:-2}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PEER=${PEER:-$ROOT/../shared/peers/django-helpdesk/results}   # checked-in anchor, for the report
SETUP=${SETUP:-full}              # load.py --setup: full (ticket setup + ANS + notification rules) or tickets
ONLY=${ONLY:-}                    # e.g. api_create,queue_rows: only these scenarios (bench.py --only; all by default)
QUIET_LOAD=${QUIET_LOAD:-}        # e.g. 1.0: before measuring, wait until the 1-minute load average
QUIET_WAIT=${QUIET_WAIT:-300}     # is below it (for at most QUIET_WAIT seconds), on a shared machine

log() { printf '\n=== %s  %s\n' "$(date +%H:%M:%S)" "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PGPORT=${PGPORT:-$(free_port)}
HTTP_PORT=${HTTP_PORT:-$(free_port)}

# --- scratch folder --------------------------------------------------------------
mkdir -p "$WORK"
if [ -n "$(ls -A "$WORK" 2>/dev/null)" ] && [ ! -f "$WORK/.radicado-webbench" ]; then
  echo "$WORK is not empty and was not made by this script; refusing to touch it" >&2
  exit 1
fi
touch "$WORK/.radicado-webbench"
rm -rf "$WORK/pg" "$WORK/pgsock" "$WORK/data" "$WORK/results" "$WORK/logs" "$WORK/src"
RES=$WORK/results
LOGS=$WORK/logs
mkdir -p "$RES" "$LOGS" "$WORK/data"
chmod 755 "$WORK"

# --- the project's environment (uv, frozen lock) and the code to measure ----------
cd "$ROOT"
VENV=${VENV:-$(uv run --frozen python -c 'import sys; print(sys.prefix)')}   # or an existing venv
PY=$VENV/bin/python   # the same interpreter, called directly so that PIDs are gunicorn's own
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$( (git status --porcelain --untracked-files=no 2> /dev/null || true) | wc -l)
SRC=$ROOT
if [ -n "${SRC_TREE:-}" ]; then   # another copy of the code (e.g. an older commit's worktree), measured by this harness
  TREE=$(cd "$SRC_TREE" && pwd)
  COMMIT="$(git -C "$TREE" rev-parse --short HEAD 2>/dev/null || echo '?') (tree $TREE, harness of $COMMIT)"
  DIRTY=$( (git -C "$TREE" status --porcelain --untracked-files=no 2> /dev/null || true) | wc -l)
  SRC=$WORK/src
  mkdir -p "$SRC"
  (cd "$TREE" && git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf - 2> /dev/null) | tar -xf - -C "$SRC"
  rm -rf "$SRC/benchmarks/web"; mkdir -p "$SRC/benchmarks/web"
  cp "$HERE"/*.py "$HERE/run.sh" "$SRC/benchmarks/web/"
elif [ "${SNAPSHOT:-1}" = 1 ] && git rev-parse --git-dir > /dev/null 2>&1; then
  SRC=$WORK/src
  mkdir -p "$SRC"
  git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf - 2> /dev/null | tar -xf - -C "$SRC"
fi
cd "$SRC"
HERE=$SRC/benchmarks/web
export PYTHONPATH=$SRC
export PYTHONDONTWRITEBYTECODE=1
export DJANGO_SETTINGS_MODULE=config.settings
export RADICADO_DATA_DIR=$WORK/data
export RADICADO_SECRET_KEY=benchmark-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz
export RADICADO_DEBUG=0
export RADICADO_LOG_LEVEL=WARNING

# --- process control -------------------------------------------------------------
GUNICORN_PID=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() {
  mkdir -p "$WORK/pg" "$WORK/pgsock"; touch "$LOGS/pg.log"
  if [ "$(id -u)" = 0 ]; then chown postgres "$WORK/pg" "$WORK/pgsock" "$LOGS/pg.log"; fi
  chmod 700 "$WORK/pg"
  as_pg "$PGBIN/initdb" -D "$WORK/pg" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 \
    > "$LOGS/initdb.log" 2>&1
  # shared_buffers as the anchor's cluster; everything else is PostgreSQL's default.
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$LOGS/pg.log" -w start \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $WORK/pgsock -c shared_buffers=256MB" > /dev/null
  "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U postgres \
    -c "CREATE ROLE radicado LOGIN SUPERUSER" -c "CREATE DATABASE radicado OWNER radicado"
}
pg_stop() {
  if [ -f "$WORK/pg/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast -w stop > /dev/null || true
  fi
}
gunicorn_stop() {
  if [ -n "$GUNICORN_PID" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID"
    for _ in $(seq 1 50); do kill -0 "$GUNICORN_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$GUNICORN_PID" 2>/dev/null && kill -KILL "$GUNICORN_PID" || true
  fi
  GUNICORN_PID=""
}
cleanup() { gunicorn_stop; pg_stop; }
wait_quiet() {
  [ -n "$QUIET_LOAD" ] || return 0
  local deadline=$(( $(date +%s) + QUIET_WAIT )) l
  while :; do
    l=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$l" -v q="$QUIET_LOAD" 'BEGIN { exit !(l < q) }'; then echo "load average $l"; return 0; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "load average $l is still above $QUIET_LOAD; measuring anyway"; return 0; fi
    sleep 5
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- versions and machine ---------------------------------------------------------
"$PY" - > "$RES/env.json" <<PYEOF
import json, os, platform, sqlite3, subprocess
from importlib.metadata import version
pkgs = ["Django", "django-ninja", "gunicorn", "psycopg", "httpx"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
pg = subprocess.run(["$PGBIN/postgres", "--version"], capture_output=True, text=True).stdout.strip()
print(json.dumps({"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "postgres": pg,
                  "cpu": cpu, "cores": os.cpu_count(), "commit": "$COMMIT",
                  "uncommitted_files": $DIRTY, "snapshot": "$SRC" != "$ROOT", "tickets": $TICKETS, "setup": "$SETUP", "only": "$ONLY",
                  "n": $N, "warmup": $WARMUP, "workers": $WORKERS,
                  "packages": {p: version(p) for p in pkgs}}))
PYEOF
cat "$RES/env.json"

for DB in $DBS; do
  log "[$DB] database"
  case "$DB" in
    postgres) pg_start; export RADICADO_DATABASE_URL="postgres://radicado@127.0.0.1:$PGPORT/radicado" ;;
    sqlite) export RADICADO_DATABASE_URL="sqlite:///$WORK/data/radicado.sqlite3" ;;
    *) echo "unknown database $DB (postgres or sqlite)" >&2; exit 2 ;;
  esac
  "$PY" -m django migrate -v0

  log "[$DB] loading $TICKETS tickets"
  "$PY" "$HERE/load.py" --tickets "$TICKETS" --setup "$SETUP" --out "$RES/load_$DB.json" | cut -c1-600

  log "[$DB] gunicorn, $WORKERS sync workers on 127.0.0.1:$HTTP_PORT"
  "$PY" -m gunicorn config.wsgi:application -w "$WORKERS" -k sync -b "127.0.0.1:$HTTP_PORT" \
    --access-logfile "$LOGS/access_$DB.log" --error-logfile "$LOGS/gunicorn_$DB.log" &
  GUNICORN_PID=$!
  for _ in $(seq 1 150); do
    "$PY" -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:$HTTP_PORT/entrar/').status_code != 200)" \
      2>/dev/null && break
    kill -0 "$GUNICORN_PID" 2>/dev/null || { echo "gunicorn died; see $LOGS/gunicorn_$DB.log" >&2; exit 1; }
    sleep 0.2
  done

  log "[$DB] benchmark"
  wait_quiet
  "$PY" "$HERE/bench.py" --base "http://127.0.0.1:$HTTP_PORT" --load-json "$RES/load_$DB.json" \
    --out "$RES/bench_$DB.json" --n "$N" --warmup "$WARMUP" --budget "$BUDGET" \
    --warmup-budget "$WARMUP_BUDGET" --only "$ONLY"
  gunicorn_stop

  log "[$DB] SQL queries per request"
  "$PY" "$HERE/count_queries.py" --load-json "$RES/load_$DB.json" --out "$RES/queries_$DB.json" \
    --explain "$RES/explain_$DB.txt" > "$LOGS/queries_$DB.log"

  if [ -n "${PROFILE:-}" ]; then
    log "[$DB] profile of API create (in-process)"
    "$PY" "$HERE/profile_create.py" --load-json "$RES/load_$DB.json" --out "$RES/profile_create_$DB.md" \
      --pstats "$RES/profile_create_$DB.pstats" | tee "$LOGS/profile_$DB.log"
  fi

  if [ "$DB" = postgres ]; then pg_stop; fi
done

log "report"
"$PY" "$HERE/report.py" "$RES" --peer "$PEER" | tee "$RES/results.md"
echo
echo "results in $RES"
