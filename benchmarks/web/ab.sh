#!/usr/bin/env bash
# A/B of two (or more) copies of the code on ONE loaded PostgreSQL database, alternating.
#
#   git -C /work/main worktree add --detach /work/wt-web-a81b1ff a81b1ff
#   git -C /work/main worktree add --detach /work/wt-web-cd1fd4d cd1fd4d
#   TREES="/work/wt-web-a81b1ff /work/wt-web-cd1fd4d" ROUNDS=3 bash benchmarks/web/ab.sh
#
# run.sh measures one tree per run, and a run spends ~2.5 minutes loading 100,000 tickets
# before it measures; on a shared machine the load of the machine changes more between two
# runs than the code does. This script loads the data once (with the LAST tree's load.py,
# into a throw-away PostgreSQL 15 cluster started as run.sh does) and then measures the
# trees in turn, ROUNDS times, in the order A B, B A, A B, ... (so that a drift of the
# machine's load falls on both), each with its own gunicorn (2 sync workers) and this
# checkout's bench.py: the measurements of A and B are minutes apart, not a whole run.
# Valid only when the trees have the same database schema (check their migrations).
# Each tree is snapshotted (tracked and untracked files) to $WORK/src-<i> when it starts,
# with this checkout's benchmarks/web copied over it.
#
# Knobs: TREES (required), ROUNDS (3), ONLY (api_create), TICKETS (100000), N (200),
# WARMUP (20), WORKERS (2), QUIET_LOAD / QUIET_WAIT (as run.sh), WORK
# (/tmp/radicado-webbench-ab), PGBIN, VENV. Results: $WORK/results/ab.md and bench_*.json,
# load_postgres.json, queries_<label>.json (statements per request of each tree, at the end);
# PROFILE=1 adds profile_create_<label>.md of the last tree (profile_create.py).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-/tmp/radicado-webbench-ab}
TREES=${TREES:?TREES="/path/a /path/b" is required}
ROUNDS=${ROUNDS:-3}
ONLY=${ONLY:-api_create}
TICKETS=${TICKETS:-100000}
N=${N:-200}
WARMUP=${WARMUP:-20}
WORKERS=${WORKERS:-2}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
QUIET_LOAD=${QUIET_LOAD:-}
QUIET_WAIT=${QUIET_WAIT:-300}

log() { printf '\n=== %s  %s\n' "$(date +%H:%M:%S)" "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PGPORT=${PGPORT:-$(free_port)}
HTTP_PORT=${HTTP_PORT:-$(free_port)}

mkdir -p "$WORK"
if [ -n "$(ls -A "$WORK" 2>/dev/null)" ] && [ ! -f "$WORK/.radicado-webbench" ]; then
  echo "$WORK is not empty and was not made by this script; refusing to touch it" >&2
  exit 1
fi
touch "$WORK/.radicado-webbench"
rm -rf "$WORK"/pg "$WORK"/pgsock "$WORK"/data "$WORK"/results "$WORK"/logs "$WORK"/src-*
RES=$WORK/results
LOGS=$WORK/logs
mkdir -p "$RES" "$LOGS" "$WORK/data"
chmod 755 "$WORK"

cd "$ROOT"
VENV=${VENV:-$(uv run --frozen python -c 'import sys; print(sys.prefix)')}
PY=$VENV/bin/python
HARNESS_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

# --- snapshots ---------------------------------------------------------------------
SRCS=()
LABELS=()
i=0
for t in $TREES; do
  T=$(cd "$t" && pwd)
  S=$WORK/src-$i
  mkdir -p "$S"
  (cd "$T" && git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf - 2> /dev/null) | tar -xf - -C "$S"
  rm -rf "$S/benchmarks/web"; mkdir -p "$S/benchmarks/web"
  cp "$HERE"/*.py "$HERE"/*.sh "$S/benchmarks/web/"
  SRCS+=("$S")
  LABELS+=("$(git -C "$T" rev-parse --short HEAD 2>/dev/null || echo "tree$i")")
  i=$((i + 1))
done
LAST=$((${#SRCS[@]} - 1))

export PYTHONDONTWRITEBYTECODE=1
export DJANGO_SETTINGS_MODULE=config.settings
export RADICADO_DATA_DIR=$WORK/data
export RADICADO_SECRET_KEY=benchmark-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz
export RADICADO_DEBUG=0
export RADICADO_LOG_LEVEL=WARNING
export RADICADO_DATABASE_URL="postgres://radicado@127.0.0.1:$PGPORT/radicado"

GUNICORN_PID=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() {
  mkdir -p "$WORK/pg" "$WORK/pgsock"; touch "$LOGS/pg.log"
  if [ "$(id -u)" = 0 ]; then chown postgres "$WORK/pg" "$WORK/pgsock" "$LOGS/pg.log"; fi
  chmod 700 "$WORK/pg"
  as_pg "$PGBIN/initdb" -D "$WORK/pg" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 \
    > "$LOGS/initdb.log" 2>&1
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
trap 'gunicorn_stop; pg_stop' EXIT
trap 'exit 130' INT TERM

"$PY" - > "$RES/env.json" <<PYEOF
import json, os, platform, subprocess
from importlib.metadata import version
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
pg = subprocess.run(["$PGBIN/postgres", "--version"], capture_output=True, text=True).stdout.strip()
print(json.dumps({"python": platform.python_version(), "postgres": pg, "cpu": cpu, "cores": os.cpu_count(),
                  "harness": "$HARNESS_COMMIT", "trees": "$TREES".split(), "labels": "${LABELS[*]}".split(),
                  "rounds": $ROUNDS, "only": "$ONLY", "tickets": $TICKETS, "n": $N, "warmup": $WARMUP,
                  "workers": $WORKERS,
                  "packages": {p: version(p) for p in ["Django", "django-ninja", "gunicorn", "psycopg", "httpx"]}}))
PYEOF
cat "$RES/env.json"

log "database, migrated and loaded with ${LABELS[$LAST]}'s code"
pg_start
(cd "${SRCS[$LAST]}" && PYTHONPATH=${SRCS[$LAST]} "$PY" -m django migrate -v0)
(cd "${SRCS[$LAST]}" && PYTHONPATH=${SRCS[$LAST]} "$PY" benchmarks/web/load.py --tickets "$TICKETS" \
  --out "$RES/load_postgres.json" | cut -c1-400)

measure() {   # $1 = tree index, $2 = round
  local k=$1 r=$2 S=${SRCS[$1]}
  log "round $r: ${LABELS[$k]}"
  (cd "$S" && PYTHONPATH=$S exec "$PY" -m gunicorn config.wsgi:application -w "$WORKERS" -k sync \
    -b "127.0.0.1:$HTTP_PORT" --access-logfile /dev/null --error-logfile "$LOGS/gunicorn_${LABELS[$k]}.log") &
  GUNICORN_PID=$!
  for _ in $(seq 1 150); do
    "$PY" -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:$HTTP_PORT/entrar/').status_code != 200)" \
      2>/dev/null && break
    kill -0 "$GUNICORN_PID" 2>/dev/null || { echo "gunicorn died; see $LOGS" >&2; exit 1; }
    sleep 0.2
  done
  wait_quiet
  "$PY" "$S/benchmarks/web/bench.py" --base "http://127.0.0.1:$HTTP_PORT" --load-json "$RES/load_postgres.json" \
    --out "$RES/bench_${LABELS[$k]}_r$r.json" --n "$N" --warmup "$WARMUP" --only "$ONLY"
  gunicorn_stop
}

for r in $(seq 1 "$ROUNDS"); do
  order=$(seq 0 "$LAST")
  if [ $((r % 2)) = 0 ]; then order=$(seq "$LAST" -1 0); fi
  for k in $order; do measure "$k" "$r"; done
done

log "SQL statements per request, each tree"
for k in $(seq 0 "$LAST"); do
  S=${SRCS[$k]}
  (cd "$S" && PYTHONPATH=$S "$PY" benchmarks/web/count_queries.py --load-json "$RES/load_postgres.json" \
    --out "$RES/queries_${LABELS[$k]}.json" > "$LOGS/queries_${LABELS[$k]}.log")
done
if [ -n "${PROFILE:-}" ]; then   # the last tree's API create, profiled in-process (profile_create.py)
  log "profile of API create, ${LABELS[$LAST]}"
  S=${SRCS[$LAST]}
  (cd "$S" && PYTHONPATH=$S "$PY" benchmarks/web/profile_create.py --load-json "$RES/load_postgres.json" \
    --out "$RES/profile_create_${LABELS[$LAST]}.md" --pstats "$RES/profile_create_${LABELS[$LAST]}.pstats")
fi
pg_stop

"$PY" - "$RES" > "$RES/ab.md" <<'PYEOF'
import json, sys
from pathlib import Path
res = Path(sys.argv[1])
env = json.loads((res / "env.json").read_text())
print(f"A/B on one database, {env['tickets']} tickets, PostgreSQL; harness {env['harness']}; n={env['n']}\n")
print("| round | code | scenario | c | p50 ms | p95 ms | p99 ms | req/s | errors | load |")
print("|---:|---|---|---:|---:|---:|---:|---:|---:|---|")
for f in sorted(res.glob("bench_*_r*.json"), key=lambda p: (p.stat().st_mtime)):
    label, rnd = f.stem[len("bench_"):].rsplit("_r", 1)
    for x in json.loads(f.read_text())["results"]:
        print(f"| {rnd} | {label} | {x['scenario']} | {x['concurrency']} | {x['p50_ms']} | {x['p95_ms']} | "
              f"{x['p99_ms']} | {x['rps']} | {x['errors']} | {x['loadavg_1m'][0]}-{x['loadavg_1m'][1]} |")
print()
for f in sorted(res.glob("queries_*.json")):
    pages = json.loads(f.read_text())["pages"]
    print(f"{f.stem[len('queries_'):]}: " + ", ".join(f"{k} {v['queries']}" for k, v in pages.items() if "create" in k))
PYEOF
cat "$RES/ab.md"
echo "results in $RES"
