# Shared by the benchmarks' run.sh scripts (source it): a throw-away PostgreSQL cluster under $WORK,
# run as the postgres user, listening on 127.0.0.1:$PGPORT with its socket in $WORK/pgsock, and a
# wait for a quiet machine. Expects WORK, LOGS, PGBIN, PGPORT, QUIET_LOAD and QUIET_WAIT to be set.

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PG_UP=0

# pg_start [server settings…]: initdb and start; e.g. pg_start -c shared_buffers=256MB
pg_start() {
  mkdir -p "$WORK/pg" "$WORK/pgsock"; touch "$LOGS/pg.log"
  if [ "$(id -u)" = 0 ]; then chown postgres "$WORK/pg" "$WORK/pgsock" "$LOGS/pg.log"; fi
  chmod 700 "$WORK/pg"
  as_pg "$PGBIN/initdb" -D "$WORK/pg" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 > "$LOGS/initdb.log" 2>&1
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$LOGS/pg.log" -w start \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $WORK/pgsock $*" > /dev/null
  PG_UP=1
}

pg_stop() {
  if [ "$PG_UP" = 1 ] && [ -f "$WORK/pg/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast -w stop > /dev/null || true
  fi
  PG_UP=0
}

psql_pg() { "$PGBIN/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres "$@"; }

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
