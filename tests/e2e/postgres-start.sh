#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the tests and prints
# the URL to give them as GAZETTE_TEST_POSTGRES. Its data folder is a fresh
# temporary folder; `postgres-start.sh stop DIR` stops it and removes DIR.
#
#   eval "$(tests/e2e/postgres-start.sh)"   # sets GAZETTE_TEST_POSTGRES and PGTEST_DIR
set -euo pipefail
port="${PGTEST_PORT:-54329}"
if [[ "${1:-}" == stop ]]; then
    dir="$2"
    runuser -u postgres -- "${PGTEST_BIN:?}/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    exit 0
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$bin/initdb" ]] || { echo "postgres-start.sh: no PostgreSQL server found; apt-get install postgresql" >&2; exit 1; }
dir=$(mktemp -d /tmp/gazette-pg.XXXXXX)
chmod 755 "$dir"
as_user=()
if [[ $(id -u) == 0 ]]; then
    # initdb refuses to run as root.
    chown postgres "$dir"
    as_user=(runuser -u postgres --)
fi
"${as_user[@]}" "$bin/initdb" -D "$dir/data" -U gazette --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
# Durability as in production (fsync on); many test databases at once.
"${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=300" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
echo "export GAZETTE_TEST_POSTGRES=postgres://gazette@127.0.0.1:$port/postgres"
echo "export PGTEST_DIR=$dir"
echo "export PGTEST_BIN=$bin"
