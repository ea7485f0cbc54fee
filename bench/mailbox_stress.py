#!/usr/bin/env python3
"""`gazette mailbox` on 10,000 mixed messages in one Maildir, while a `send`
to 10,000 readers runs against the same state database; both must succeed
(no lock conflict breaks either) and every message must be accounted for.

    bench/mailbox_stress.py [--messages 10000] [--gazette target/release/gazette]

Messages are the fixtures of tests/fixtures/inbound with their recipients
and Message-IDs varied: 40% hard bounces, 20% soft, 10% complaints, 10%
mailto unsubscribes, 10% out-of-office, 10% unattributed reports. The
anchor, timed in the same run on the same Maildir, is Python's standard
library reading every message (`mailbox.Maildir` + `email` parsing, and
finding the report part): what just parsing the mail costs.
Prints the machine, the commands and the timings.
"""
import argparse
import email
import email.policy
import mailbox
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests/fixtures/inbound"
SECRET = "bench-unsubscribe-secret-0123456789abcdef"


def message(kind, i):
    reader = f"reader{i}@example.org"
    text = (FIXTURES / kind).read_text()
    for placeholder in ["gone@example.org", "full.box@gmail.com", "Complainer@yahoo.com",
                        "complainer@yahoo.com", "Sam@example.org"]:
        text = text.replace(placeholder, reader)
    # A unique Message-ID per message, so none is a repeat.
    lines = text.split("\n")
    for n, line in enumerate(lines):
        if line.lower().startswith("message-id:"):
            lines[n] = f"Message-ID: <stress.{i}@bench.example>"
            break
    return "\n".join(lines)


MIX = (["postfix-hard.eml"] * 4 + ["gmail-soft.eml"] * 2 + ["yahoo-arf.eml", "mailto-unsubscribe.eml",
       "out-of-office.eml", "dsn-no-recipient.eml"])


def anchor(maildir):
    reports = 0
    for msg in mailbox.Maildir(maildir, factory=None, create=False):
        parsed = email.message_from_bytes(bytes(msg), policy=email.policy.default)
        if parsed.get_content_type() == "multipart/report":
            for part in parsed.walk():
                if part.get_content_type().startswith("message/"):
                    reports += 1
                    break
    return reports


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--messages", type=int, default=10_000)
    args.add_argument("--gazette", default=str(REPO / "target/release/gazette"))
    opts = args.parse_args()
    gazette = os.path.abspath(opts.gazette)
    work = Path(tempfile.mkdtemp(prefix="mailbox-stress-"))
    site = work / "site"
    shutil.copytree(REPO / "tests/fixtures/mail", site)
    config = (site / "config.toml").read_text()
    (site / "config.toml").write_text(config[: config.index("[delivery]")])
    with open(site / "subscribers.csv", "w") as f:
        f.write("email,name,locale\n")
        for i in range(opts.messages):
            f.write(f"reader{i}@example.org,Reader {i},{'en' if i % 2 else 'zh'}\n")
    maildir = work / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for i in range(opts.messages):
        (maildir / "new" / f"{1764367200 + i}.M{i}P1.bench").write_text(message(MIX[i % len(MIX)], i))
    env = dict(os.environ, GAZETTE_UNSUBSCRIBE_SECRET=SECRET)
    cfg = ["--config", str(site / "config.toml")]

    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"gazette: {gazette}")
    start = time.perf_counter()
    reports = anchor(maildir)
    anchor_s = time.perf_counter() - start
    print(f"anchor (python3 mailbox+email, {reports} reports found): {anchor_s:.2f} s "
          f"= {opts.messages / anchor_s:,.0f} msgs/s")

    send_cmd = [gazette, *cfg, "--now", "2026-11-29T06:00:00+08:00", "-q", "send"]
    box_cmd = ["/usr/bin/time", "-f", "%e s, %M KB peak", gazette, *cfg, "mailbox", str(maildir)]
    print("command:", " ".join(send_cmd), "&")
    print("command:", " ".join(box_cmd))
    sender = subprocess.Popen(send_cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    start = time.perf_counter()
    box = subprocess.run(box_cmd, env=env, capture_output=True, text=True)
    box_s = time.perf_counter() - start
    send_out, send_err = sender.communicate()
    print("mailbox:", box.stdout.strip(), "|", box.stderr.strip().splitlines()[-1])
    print(f"mailbox: {box_s:.2f} s = {opts.messages / box_s:,.0f} msgs/s "
          f"({box_s / anchor_s:.2f}x the anchor's time)")
    print("send (concurrently):", send_out.decode().strip().splitlines()[-1] if send_out else "",
          "exit", sender.returncode)
    if box.returncode != 0 or sender.returncode not in (0,):
        print(box.stderr, send_err.decode(), file=sys.stderr)
        sys.exit(1)
    n = opts.messages
    expected = (f"suppressed {n * 4 // 10 + n // 10 + n // 10} (hard {n * 4 // 10}, complaint {n // 10}, "
                f"mailto {n // 10}), soft {n * 2 // 10}, ignored {n // 10}, unattributed {n // 10}")
    assert box.stdout.strip() == expected, (box.stdout, expected)
    left = len(os.listdir(maildir / "new"))
    assert left == 0, f"{left} messages left in new/"
    print("ok: every message accounted for; both commands succeeded")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
