#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the tests (a fresh
# temporary data folder, trust authentication for the `gazette` role,
# fsync on as in production) and prints the variables that name it:
#
#   eval "$(tests/e2e/postgres-start.sh)"    # GAZETTE_TEST_POSTGRES, PGTEST_DIR
#   tests/e2e/postgres-start.sh stop "$PGTEST_DIR"
set -euo pipefail
port="${PGTEST_PORT:-54329}"
bin=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -1 || true)
[[ -n "$bin" && -x "$bin/initdb" ]] || {
    echo "postgres-start.sh: no PostgreSQL server found; apt-get install postgresql" >&2
    exit 1
}
as_user=()
# initdb and the server refuse to run as root.
[[ $(id -u) == 0 ]] && as_user=(runuser -u postgres --)

if [[ "${1:-}" == stop ]]; then
    dir="$2"
    "${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    exit 0
fi

dir=$(mktemp -d /tmp/gazette-pg.XXXXXX)
chmod 755 "$dir"
[[ $(id -u) == 0 ]] && chown postgres "$dir"
"${as_user[@]}" "$bin/initdb" -D "$dir/data" -U gazette --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
"${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=300" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
echo "export GAZETTE_TEST_POSTGRES=postgres://gazette@127.0.0.1:$port/postgres"
echo "export PGTEST_DIR=$dir"
