#!/usr/bin/env bash
# Inbound e-mail throughput: messages per second through ingest_many, batched, with ingest_email one by one
# as the comparison row (benchmarks/mail/README.md).
#
#   bash benchmarks/mail/run.sh                        # SQLite and PostgreSQL 15, 5,000 messages each (~9 min)
#   bash benchmarks/mail/run.sh --quick                # smoke: 500 messages each (< 1 min)
#   MESSAGES=20000 bash benchmarks/mail/run.sh         # a longer stream
#   DBS=postgres bash benchmarks/mail/run.sh           # one database (DBS=sqlite: SQLite only)
#   INTAKE_BATCH=100                                   # messages per ingest_many call (0: one by one, ingest_email)
#   PIPELINE=1                                         # the stream through ingest_stream and its helper (0: plain calls)
#   PLAIN_MESSAGES=5000                                # then messages in plain ingest_many calls, no helper (0: none)
#   SINGLE_MESSAGES=1000                               # messages timed one by one after the stream (0: none)
#
# Everything goes under $WORK (default /tmp/radicado-mailbench, refused unless it is empty
# or was made by this script). For each database: a fresh database (in a throw-away
# PostgreSQL 15 cluster started as the postgres user, listening on 127.0.0.1 on a free
# port with its socket in $WORK; or a SQLite file) and a fresh data folder (raw messages,
# attachments, the job queue), `migrate`, then one bench.py process: setup, warm-up, the
# timed stream (in batches of INTAKE_BATCH), SINGLE_MESSAGES more timed one by one, the
# real-world corpus (../shared/corpora/email, if present), a cProfile pass, a pass timed
# stage by stage (one by one), the parallel passes (PARALLEL processes ingesting at
# once), and the LMTP passes (a forked client as the MTA, LMTP connections at once). Everything but the one-by-one and stage passes goes through ingest_many. Then
# report.py writes $WORK/results/results.md and prints it. PostgreSQL is stopped on exit,
# also on failure or Ctrl-C. RADICADO_SMTP_URL is unset: nothing is sent.
#
# It measures a snapshot of the work tree (tracked and untracked files, copied to
# $WORK/src; SNAPSHOT=0 runs in place), so that edits made while it runs cannot change
# what is measured half-way. SRC_TREE=/path measures another copy of the code instead
# (e.g. the tree before a change), with this checkout's virtual environment and this checkout's
# harness (bench.py, report.py, copied over a snapshot of that tree; HARNESS=tree: the tree's own,
# in place).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    *) echo "usage: [MESSAGES=...] [DBS=...] [INTAKE_BATCH=...] [SINGLE_MESSAGES=...] bash benchmarks/mail/run.sh [--quick]" >&2; exit 2 ;;
  esac
done
WORK=${WORK:-/tmp/radicado-mailbench}
DBS=${DBS:-"sqlite postgres"}
if [ "$QUICK" = 1 ]; then
  MESSAGES=${MESSAGES:-500}; PLAIN_MESSAGES=${PLAIN_MESSAGES:-500}; PROFILE=${PROFILE:-100}; STAGES=${STAGES:-100}; SINGLE_MESSAGES=${SINGLE_MESSAGES:-200}
fi
MESSAGES=${MESSAGES:-5000}      # timed messages per database
INTAKE_BATCH=${INTAKE_BATCH:-100}            # messages per ingest_many call (0: one by one with ingest_email)
PIPELINE=${PIPELINE:-1}                      # 1: the stream through ingest_stream (a helper process prepares batches)
PLAIN_MESSAGES=${PLAIN_MESSAGES:-$MESSAGES}  # then messages in plain ingest_many calls, without the helper (0: none)
SINGLE_MESSAGES=${SINGLE_MESSAGES:-1000}     # then messages timed one by one with ingest_email (0: none)
PROFILE=${PROFILE:-1000}        # messages profiled after the timed run (0: none)
STAGES=${STAGES:-1000}          # then messages timed stage by stage (0: none)
WARMUP=${WARMUP:-50}
PARALLEL=${PARALLEL-2,4}        # then the same stream from several processes at once (comma-separated counts; "" skips)
PARALLEL_MESSAGES=${PARALLEL_MESSAGES:-$(( MESSAGES / 2 ))}   # messages per parallel pass, shared by its processes
LMTP=${LMTP-1,20,20s}           # then LMTP passes: N connections at once, group commit (Ns: each message alone); "" skips
LMTP_MESSAGES=${LMTP_MESSAGES:-$(( MESSAGES / 5 ))}   # messages per LMTP pass
SEED=${SEED:-20261123}
CORPUS=${CORPUS:-$(cd "$ROOT/.." && pwd)/shared/corpora/email}   # skipped if absent
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_EXTRA=${PG_EXTRA:-}          # more server settings, e.g. "-c synchronous_commit=off" (default: none)
QUIET_LOAD=${QUIET_LOAD:-}      # e.g. 1.0: before each database, wait until the 1-minute load average
QUIET_WAIT=${QUIET_WAIT:-300}   # is below it (at most QUIET_WAIT seconds), on a shared machine

log() { printf '\n=== %s  %s\n' "$(date +%H:%M:%S)" "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PGPORT=${PGPORT:-$(free_port)}

# --- scratch folder --------------------------------------------------------------
mkdir -p "$WORK"
if [ -n "$(ls -A "$WORK" 2>/dev/null)" ] && [ ! -f "$WORK/.radicado-mailbench" ]; then
  echo "$WORK is not empty and was not made by this script; refusing to touch it" >&2
  exit 1
fi
touch "$WORK/.radicado-mailbench"
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
if [ -n "${SRC_TREE:-}" ] && [ "${HARNESS:-here}" = tree ]; then   # another copy of the code, with its own harness
  SRC=$(cd "$SRC_TREE" && pwd); COMMIT="$COMMIT (tree $SRC)"
elif [ -n "${SRC_TREE:-}" ]; then   # another copy of the code (e.g. before a change), measured by this harness
  TREE=$(cd "$SRC_TREE" && pwd)
  COMMIT="$COMMIT (tree $TREE at $(git -C "$TREE" rev-parse --short HEAD 2>/dev/null || echo '?'), harness of $COMMIT)"
  SRC=$WORK/src
  mkdir -p "$SRC"
  (cd "$TREE" && git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf - 2> /dev/null) | tar -xf - -C "$SRC"
  cp "$HERE/bench.py" "$HERE/report.py" "$SRC/benchmarks/mail/"
elif [ "${SNAPSHOT:-1}" = 1 ] && git rev-parse --git-dir > /dev/null 2>&1; then
  SRC=$WORK/src
  mkdir -p "$SRC"
  git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf - 2> /dev/null | tar -xf - -C "$SRC"
fi
cd "$SRC"
export PYTHONPATH=$SRC
export PYTHONDONTWRITEBYTECODE=1
export DJANGO_SETTINGS_MODULE=config.settings
export RADICADO_SECRET_KEY=benchmark-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz
export RADICADO_DEBUG=0
export RADICADO_LOG_LEVEL=WARNING
unset RADICADO_SMTP_URL RADICADO_SMTP_URL_FILE RADICADO_REDIS_URL RADICADO_JOBS_IMMEDIATE

# --- PostgreSQL ------------------------------------------------------------------
# shellcheck source=../postgres.sh
. "$HERE/../postgres.sh"
# shared_buffers as the web and sla benchmarks' clusters; everything else, fsync and
# synchronous_commit included, is PostgreSQL's default: every commit pays a WAL flush.
pg_up() { pg_start -c shared_buffers=256MB $PG_EXTRA; }
trap pg_stop EXIT
trap 'exit 130' INT TERM

# --- versions and machine ---------------------------------------------------------
"$PY" - > "$RES/env.json" <<PYEOF
import json, os, platform, sqlite3, subprocess
from importlib.metadata import version
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
pg = subprocess.run(["$PGBIN/postgres", "--version"], capture_output=True, text=True).stdout.strip()
mem = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), None)
print(json.dumps({"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "postgres": pg,
                  "cpu": cpu, "cores": os.cpu_count(), "mem_mb": mem, "commit": "$COMMIT",
                  "uncommitted_files": $DIRTY, "snapshot": "$SRC" != "$ROOT", "src": "$SRC", "messages": $MESSAGES,
                  "intake_batch": $INTAKE_BATCH, "pipeline": $PIPELINE, "plain_messages": $PLAIN_MESSAGES, "single_messages": $SINGLE_MESSAGES, "warmup": $WARMUP, "parallel": "$PARALLEL", "parallel_messages": $PARALLEL_MESSAGES, "lmtp": "$LMTP", "lmtp_messages": $LMTP_MESSAGES, "profile": $PROFILE, "stages": $STAGES, "seed": $SEED, "corpus": "$CORPUS", "pg_extra": "$PG_EXTRA",
                  "packages": {p: version(p) for p in ["Django", "psycopg", "huey", "nh3"]}}))
PYEOF
cat "$RES/env.json"

T0=$(date +%s)
for DB in $DBS; do
  case "$DB" in
    postgres)
      log "[postgres] cluster on 127.0.0.1:$PGPORT"; pg_up
      psql_pg -c "CREATE DATABASE mailbench"
      export RADICADO_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/mailbench" ;;
    sqlite)
      export RADICADO_DATABASE_URL="sqlite:///$WORK/data/sqlite/radicado.sqlite3" ;;
    *) echo "unknown database $DB (postgres or sqlite)" >&2; exit 2 ;;
  esac
  export RADICADO_DATA_DIR=$WORK/data/$DB      # raw messages, attachments, the job queue: fresh per database
  rm -rf "$RADICADO_DATA_DIR"; mkdir -p "$RADICADO_DATA_DIR"
  log "[$DB] migrate"
  "$PY" -m django migrate -v0
  wait_quiet
  log "[$DB] $MESSAGES messages in batches of $INTAKE_BATCH, pipeline $PIPELINE (+$WARMUP warm-up, $PLAIN_MESSAGES plain, $SINGLE_MESSAGES one by one, corpus, $PROFILE profiled, $STAGES by stage)"
  # Imported, not run as a script: the helper process of ingest_stream is spawned, and spawn imports the
  # parent's main script again in the child (here the whole harness and django.setup(), ~1.5 s at the start
  # of every stream, which a production entry point does not pay); a `-c` main has nothing to import.
  "$PY" -c 'from benchmarks.mail.bench import main; main()' --messages "$MESSAGES" --warmup "$WARMUP" --seed "$SEED" \
    --intake-batch "$INTAKE_BATCH" --pipeline "$PIPELINE" --plain-messages "$PLAIN_MESSAGES" \
    --single-messages "$SINGLE_MESSAGES" \
    --profile "$PROFILE" --stages "$STAGES" --corpus "$CORPUS" \
    --parallel "$PARALLEL" --parallel-messages "$PARALLEL_MESSAGES" --lmtp "$LMTP" --lmtp-messages "$LMTP_MESSAGES" --out "$RES/mail_$DB.json" 2> "$LOGS/bench_$DB.err" \
    | tee "$LOGS/bench_$DB.log"
  if [ "$DB" = postgres ]; then psql_pg -c "DROP DATABASE IF EXISTS mailbench"; pg_stop; fi
done

log "report ($(( $(date +%s) - T0 )) s)"
"$PY" benchmarks/mail/report.py "$RES" | tee "$RES/results.md"
echo
echo "results in $RES"
