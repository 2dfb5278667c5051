#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: its own data dir, one loopback port, stopped by `stop`.
#   .ci/postgres.sh start PORT DATADIR   initdb on first use (database and user "switchboard", password
#                                        "pg-test-7f3k9q"), then listen on 127.0.0.1:PORT only
#   .ci/postgres.sh stop PORT DATADIR
# As root, the server runs as the non-root user $PG_USER (default postgres, created when missing):
# PostgreSQL refuses to run as root. Binaries from Debian's postgresql package (PG_BIN overrides).
set -euo pipefail
action=${1:?start|stop}; port=${2:?port}; datadir=${3:?datadir}
pg_user=${PG_USER:-postgres}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bin/initdb" ] || { echo "postgres.sh: no PostgreSQL binaries (install Debian's postgresql)" >&2; exit 1; }
log="$datadir.log"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi; }
case "$action" in
  start)
    if [ "$(id -u)" -eq 0 ]; then
      id "$pg_user" >/dev/null 2>&1 || useradd --system --create-home "$pg_user"
      mkdir -p "$(dirname "$datadir")" "$datadir"
      chmod a+x "$(dirname "$datadir")"
      chown "$pg_user" "$datadir"
      touch "$log" && chown "$pg_user" "$log"
    fi
    fresh=0
    if [ ! -s "$datadir/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$datadir" -U postgres -E UTF8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
      fresh=1
    fi
    as_pg "$bin/pg_ctl" -D "$datadir" -l "$log" -w -t 30 \
      -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    if [ "$fresh" = 1 ]; then
      as_pg "$bin/psql" -h /tmp -p "$port" -U postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE switchboard LOGIN PASSWORD 'pg-test-7f3k9q'" -c "CREATE DATABASE switchboard OWNER switchboard"
    fi
    echo "postgres on 127.0.0.1:$port (jdbc:postgresql://127.0.0.1:$port/switchboard)" ;;
  stop)
    if [ -s "$datadir/postmaster.pid" ]; then
      as_pg "$bin/pg_ctl" -D "$datadir" -m fast -w -t 30 stop >/dev/null || true
    fi ;;
  *) echo "usage: $0 start|stop PORT DATADIR" >&2; exit 2 ;;
esac
