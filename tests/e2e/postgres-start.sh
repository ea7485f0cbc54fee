#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the tests (a fresh
# temporary data folder, trust authentication for the `gazette` role,
# fsync on as in production) and prints the variables that name it:
#
#   eval "$(tests/e2e/postgres-start.sh)"
#   # GAZETTE_TEST_POSTGRES, GAZETTE_TEST_POSTGRES_CA, PGTEST_DIR
#
# TLS is on, with a certificate for `localhost` only, signed by a CA made
# for this server (GAZETTE_TEST_POSTGRES_CA, its PEM file). The role
# `gazette_tls` may only connect over TLS, so a test that logs in as it
# knows its session was encrypted.
#   tests/e2e/postgres-start.sh stop "$PGTEST_DIR"
#
# PGTEST_PORT (54329), PGTEST_LISTEN (127.0.0.1: the addresses to listen
# on) and PGTEST_HBA (an extra pg_hba.conf line, first) adapt it.
set -euo pipefail
port="${PGTEST_PORT:-54329}"
listen="${PGTEST_LISTEN:-127.0.0.1}"
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
tls="$dir/tls"
mkdir "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=gazette test CA" -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 2 -extfile "$tls/ext" -out "$tls/server.crt" 2>/dev/null
chmod 600 "$tls/server.key"
[[ $(id -u) == 0 ]] && chown -R postgres "$tls"
# First match wins: the TLS-only role before the trust-everyone lines.
hba="$dir/data/pg_hba.conf"
{
    [[ -n "${PGTEST_HBA:-}" ]] && echo "$PGTEST_HBA"
    echo "hostssl   all gazette_tls 127.0.0.1/32 trust"
    echo "hostnossl all gazette_tls 127.0.0.1/32 reject"
    cat "$hba"
} >"$hba.new"
mv "$hba.new" "$hba"
[[ $(id -u) == 0 ]] && chown postgres "$hba"
"${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=$listen -c port=$port -c unix_socket_directories=$dir -c max_connections=300 -c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
"${as_user[@]}" "$bin/psql" -q -h "$dir" -p "$port" -U gazette -d postgres \
    -c "CREATE ROLE gazette_tls LOGIN SUPERUSER" >/dev/null
echo "export GAZETTE_TEST_POSTGRES=postgres://gazette@127.0.0.1:$port/postgres"
echo "export GAZETTE_TEST_POSTGRES_CA=$tls/ca.crt"
echo "export PGTEST_DIR=$dir"
