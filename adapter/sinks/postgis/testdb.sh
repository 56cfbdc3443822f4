#!/usr/bin/env bash
# Runs a command (the postgis sink's tests) with HAZARDSYNC_POSTGIS_TEST_DSN
# pointing at a private PostgreSQL+PostGIS cluster: initdb in a temporary
# folder, a free port on 127.0.0.1, a random password, stopped and removed
# on exit whatever happens. PostgreSQL refuses to run as root: as root the
# server runs as the `postgres` user the Debian package creates.
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ $# -gt 0 ] || { echo "usage: $0 command..." >&2; exit 2; }
[ -x "$PG_BIN/initdb" ] || { echo "$PG_BIN/initdb missing: run make postgis-deps" >&2; exit 1; }

dir=$(mktemp -d /tmp/hazardsync-pg.XXXXXX)
as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$dir"
  as_pg() { runuser -u postgres -- "$@"; }
fi
cleanup() {
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$pw" >"$dir/pw"
[ "$(id -u)" = 0 ] && chown postgres: "$dir/pw"
as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$dir/pw" -E UTF8 >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
rm -f "$dir/pw"

# A random port, tried again if another process holds it.
started=
for _ in 1 2 3 4 5 6 7 8; do
  port=$((20000 + RANDOM % 40000))
  if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=30" start >/dev/null; then
    started=1; break
  fi
done
[ -n "$started" ] || { echo "PostgreSQL did not start:" >&2; tail -20 "$dir/pg.log" >&2; exit 1; }

echo "postgis tests: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
HAZARDSYNC_POSTGIS_TEST_DSN="postgres://postgres:$pw@127.0.0.1:$port/postgres?sslmode=disable" "$@"
