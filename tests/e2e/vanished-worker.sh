#!/usr/bin/env bash
# A sending host that vanishes (its network gone, no reset, the process
# still there) must not hold its rows for the kernel's two hours: gazette
# asks the PostgreSQL server to probe its sessions, so the server ends the
# vanished worker's session within about half a minute, its advisory lock
# goes with it, and the next worker sends the rows it had reserved.
#
# The vanished host is a network namespace joined to this one by a veth
# pair; its worker reserves a batch of rows and waits on a relay that never
# greets; then its side of the link goes down. Needs root (ip netns) on a
# throwaway machine; .ci/run runs it under CI. Usage:
#   tests/e2e/vanished-worker.sh [path/to/gazette]   (default target/debug/gazette)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
gazette=$(realpath "${1:-target/debug/gazette}")
[ -x "$gazette" ] || { echo "no gazette binary at $gazette; run cargo build first" >&2; exit 2; }

ns="gz-vanish-$$"
host_ip=10.231.0.1
gone_ip=10.231.0.2
port=54339
readers=300
now=2026-11-29T06:00:00+08:00
export GAZETTE_UNSUBSCRIBE_SECRET=vanished-worker-secret-0123456789abcdef

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
    { wait "$pid"; } 2>/dev/null || true
  done
  [ -n "${PGTEST_DIR:-}" ] && tests/e2e/postgres-start.sh stop "$PGTEST_DIR"
  ip link del gzv-host 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip link add gzv-host type veth peer name gzv-gone
ip link set gzv-gone netns "$ns"
ip addr add "$host_ip/24" dev gzv-host
ip link set gzv-host up
ip netns exec "$ns" ip addr add "$gone_ip/24" dev gzv-gone
ip netns exec "$ns" ip link set gzv-gone up
ip netns exec "$ns" ip link set lo up

eval "$(PGTEST_PORT=$port PGTEST_LISTEN="127.0.0.1,$host_ip" \
  PGTEST_HBA="host all gazette $gone_ip/32 trust" tests/e2e/postgres-start.sh)"
psql() { command psql -X -q -t -A -h 127.0.0.1 -p "$port" -U gazette -d postgres "$@"; }

site="$work/site"
cp -r tests/fixtures/mail "$site"
{
  echo "email,name,locale,topics"
  for n in $(seq -w 1 "$readers"); do echo "reader$n@example.org,Reader $n,en,"; done
} >"$site/subscribers.csv"
base=$(grep -v '^timeout_seconds' "$site/config.toml")
# The vanished host's relay: accepts and never greets (its sessions wait
# for the greeting for 10 minutes), so its worker holds its reserved rows.
printf '%s\ntimeout_seconds = 600\n\n[state]\nurl = "postgres://gazette@%s:%s/postgres?sslmode=disable"\n' \
  "${base/port = 0/port = 2599}" "$host_ip" "$port" >"$site/config-gone.toml"
# This host's relay: smtp-sink, which accepts everything.
printf '%s\ntimeout_seconds = 30\n\n[state]\nurl = "postgres://gazette@127.0.0.1:%s/postgres"\n' \
  "${base/port = 0/port = 2598}" "$port" >"$site/config-here.toml"

# It says so once it listens, and the worker starts only then: a worker
# whose first connection is refused defers that row past this run's clock.
mkfifo "$work/relay-ready"
ip netns exec "$ns" python3 -c '
import socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 2599))
server.listen(16)
print("listening", flush=True)
held = []
while True:
    held.append(server.accept()[0])
' >"$work/relay-ready" &
pids+=($!)
read -r _ <"$work/relay-ready"
/usr/sbin/smtp-sink -u nobody 127.0.0.1:2598 64 &
pids+=($!)
until { : </dev/tcp/127.0.0.1/2598; } 2>/dev/null; do sleep 0.1; done

(cd "$site" && exec ip netns exec "$ns" "$gazette" --config config-gone.toml --now "$now" -q send --worker) \
  >"$work/gone.out" 2>&1 &
gone=$!
pids+=("$gone")

deadline=$((SECONDS + 60))
until [ "$(psql -c "SELECT count(*) FROM deliveries WHERE claimed_by IS NOT NULL" 2>/dev/null || echo 0)" -gt 0 ]; do
  kill -0 "$gone" 2>/dev/null || { cat "$work/gone.out" >&2; echo "FAIL: the vanishing worker ended early" >&2; exit 1; }
  [ $SECONDS -lt $deadline ] || { echo "FAIL: the vanishing worker reserved nothing in 60 s" >&2; exit 1; }
  sleep 0.2
done
reserved=$(psql -c "SELECT count(*) FROM deliveries WHERE claimed_by IS NOT NULL")
echo "== the worker on $gone_ip reserved $reserved of $readers rows; its link goes down"
ip netns exec "$ns" ip link set gzv-gone down
cut=$SECONDS

# The server notices the silence and ends the session: no session from
# the vanished host is left. Polled; the bound is what is asserted.
until [ "$(psql -c "SELECT count(*) FROM pg_stat_activity WHERE client_addr = '$gone_ip'")" = 0 ]; do
  [ $((SECONDS - cut)) -lt 120 ] || { echo "FAIL: the vanished worker's sessions outlived 120 s" >&2; exit 1; }
  sleep 0.5
done
took=$((SECONDS - cut))
echo "== the server ended the vanished worker's sessions after ${took} s"
[ "$took" -le 60 ] || { echo "FAIL: the keepalives should end them within 60 s" >&2; exit 1; }

out=$(cd "$site" && "$gazette" --config config-here.toml --now "$now" send --worker)
echo "$out"
grep -q "^sent $readers, deferred 0, failed 0, unknown 0" <<<"$out" \
  || { echo "FAIL: the worker here did not send every row" >&2; exit 1; }
sent=$(psql -c "SELECT count(*) FROM deliveries WHERE status = 'sent'")
[ "$sent" = "$readers" ] || { echo "FAIL: $sent of $readers rows are sent in the ledger" >&2; exit 1; }
echo "== ok: the vanished worker's $reserved reserved rows were sent by the next worker"
