#!/usr/bin/env bash
# End to end with a real MTA: Debian's Postfix on loopback takes a digest
# for an address that does not exist, generates its own DSN to the digest's
# VERP return path and delivers it to a Maildir; `gazette mailbox` reads it;
# the reader ends suppressed with Postfix's status code, and the next `send`
# skips them.
#
# Needs root on a throwaway machine: it installs Postfix (apt-get) and
# rewrites /etc/postfix/main.cf. Usage:
#   tests/e2e/postfix-bounce.sh [path/to/gazette]   (default target/debug/gazette)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
gazette=$(realpath "${1:-target/debug/gazette}")
[ -x "$gazette" ] || { echo "no gazette binary at $gazette; run cargo build first" >&2; exit 2; }

if ! command -v postfix >/dev/null; then
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  echo "postfix postfix/mailname string news.example.org" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
fi
# Installed as "No configuration" (bench/run does so for smtp-sink), Postfix
# has no main.cf: start from Debian's, which the settings below complete.
[ -f /etc/postfix/main.cf ] || cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
id bounces >/dev/null 2>&1 || useradd --create-home --shell /usr/sbin/nologin bounces

postconf -e \
  "myhostname = mx.news.example.org" \
  "mydomain = news.example.org" \
  "myorigin = news.example.org" \
  "mydestination = news.example.org, localhost" \
  "inet_interfaces = loopback-only" \
  "inet_protocols = ipv4" \
  "mynetworks = 127.0.0.0/8" \
  "recipient_delimiter = +" \
  "home_mailbox = Maildir/" \
  "local_recipient_maps =" \
  "smtpd_recipient_restrictions = permit_mynetworks, reject" \
  "maillog_file = /var/log/postfix.log"
newaliases
postfix stop >/dev/null 2>&1 || true
postfix start
trap 'postfix stop >/dev/null 2>&1 || true' EXIT

site=$(mktemp -d)
cp -r "$repo/tests/fixtures/mail/." "$site/"
cat > "$site/subscribers.csv" <<'CSV'
email,name,locale
nobody-here@news.example.org,Nobody,en
CSV
sed -i -e 's/^port = 0$/port = 25/' \
       -e 's/^\[digest\]$/[digest]\nreturn_path = "bounces@news.example.org"/' "$site/config.toml"
export GAZETTE_UNSUBSCRIBE_SECRET=e2e-secret-0123456789abcdef0123456789abcdef
maildir=/home/bounces/Maildir
rm -rf "$maildir"

echo "== send"
"$gazette" --config "$site/config.toml" --now 2026-11-29T06:00:00+08:00 send

echo "== waiting for Postfix's DSN in $maildir/new"
for _ in $(seq 1 120); do
  if [ -n "$(ls -A "$maildir/new" 2>/dev/null)" ]; then break; fi
  postqueue -f >/dev/null 2>&1 || true
  sleep 0.5
done
[ -n "$(ls -A "$maildir/new" 2>/dev/null)" ] || { echo "no DSN arrived"; tail -20 /var/log/postfix.log; exit 1; }
grep -h -E '^(To|Subject|Status|Final-Recipient|Action):' "$maildir"/new/* || true

echo "== mailbox"
summary=$("$gazette" --config "$site/config.toml" mailbox "$maildir")
echo "$summary"
[ "$summary" = "suppressed 1 (hard 1, complaint 0, mailto 0), soft 0, ignored 0, unattributed 0" ]

echo "== list"
list=$("$gazette" --config "$site/config.toml" subscribers list)
echo "$list"
echo "$list" | grep -q $'nobody-here@news.example.org\tNobody\ten\t(all)\tcsv\tunsubscribed: hard bounce: 5.1.1'

echo "== next send"
cat > "$site/articles/bridge.md" <<'MD'
+++
title = "Bridge opens"
date = 2026-11-29T20:00:00+08:00
+++

The bridge opened.
MD
next=$("$gazette" --config "$site/config.toml" --now 2026-11-30T06:00:00+08:00 send)
echo "$next"
echo "$next" | grep -q "sent 0, deferred 0, failed 0, unknown 0, skipped 0, suppressed 1"
echo "== ok: Postfix's bounce suppressed the reader and the next send skipped them"
