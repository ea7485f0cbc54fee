//! Crash trials of `gazette send` against a real loopback relay: seeded
//! SIGKILLs at varied moments (after N messages reached the relay), each
//! followed by a rerun and a `--retry-unknown`, must lose no reader and
//! duplicate only deliveries the tool itself reported `unknown`; seeded
//! SIGTERMs must leave nothing `unknown`, exit 5 with a summary, and a
//! rerun must complete the digest with no duplicate at all.
//!
//! The figures are printed (`cargo test --test crash -- --nocapture`).

mod common;

use common::smtp::{Seen, Stall, Stalling, start_stalling};
use common::{NOW, Site, stderr, stdout};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output, Stdio};

const SECRET: &str = "crash-test-secret-0123456789abcdef0123";
const LATER: &str = "2026-11-29T07:00:00+08:00";
const MUCH_LATER: &str = "2026-11-29T09:00:00+08:00";
const READERS: usize = 40;
const KILL_TRIALS: u64 = 10;
const TERM_TRIALS: u64 = 3;

/// A small deterministic generator (64-bit LCG), so every run kills at the
/// same points and a failure can be replayed.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn site_for(relay: &Stalling) -> (Site, Vec<String>) {
    let site = Site::from_fixture("mail");
    let config = site
        .read("config.toml")
        .replace("port = 0", &format!("port = {}", relay.port))
        .replace("connections = 1", "connections = 2");
    site.write("config.toml", config);
    let mut csv = String::from("email,name,locale,topics\n");
    let mut all = Vec::new();
    for n in 0..READERS {
        let address = format!("reader{n:02}@example.org");
        let locale = if n % 3 == 0 { "zh" } else { "en" };
        csv.push_str(&format!("{address},Reader {n},{locale},\n"));
        all.push(address);
    }
    site.write("subscribers.csv", csv);
    (site, all)
}

fn command(site: &Site, now: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gazette"));
    command
        .args(["--now", now, "send"])
        .args(extra)
        .current_dir(site.dir.path())
        .env("GAZETTE_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("GAZETTE_LOG");
    command
}

fn run(site: &Site, now: &str, extra: &[&str]) -> Output {
    command(site, now, extra).output().unwrap()
}

/// Starts a send, waits until the relay has accepted `after` messages, and
/// sends it `signal`; returns its output.
fn interrupt(site: &Site, relay: &Stalling, after: u64, signal: &str) -> Output {
    let child = command(site, NOW, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..after {
        relay.wait_for(60, |s| matches!(s, Seen::Dot(_)));
    }
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("send did not end within 60 s of the signal")
        .unwrap()
}

/// Messages per recipient, from what the relay accepted.
fn per_reader(relay: &Stalling) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for message in relay.received() {
        for to in message.to {
            *counts.entry(to).or_insert(0) += 1;
        }
    }
    counts
}

/// The addresses a run reported `unknown`.
fn reported_unknown(output: &Output) -> BTreeSet<String> {
    stdout(output)
        .lines()
        .filter_map(|line| line.strip_prefix("unknown: digest "))
        .filter_map(|rest| rest.split(" to ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn statuses(site: &Site) -> Vec<String> {
    let db = rusqlite::Connection::open(site.path(".gazette/state.db")).unwrap();
    let mut statement = db.prepare("SELECT status FROM deliveries").unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn seeded_kills_lose_nothing_and_duplicate_only_reported_unknowns_and_sigterm_leaves_no_unknown() {
    let started = std::time::Instant::now();
    let mut seeded = Seeded(0x6a7e_77e5_1900_0010);
    let (mut lost, mut duplicates, mut unknown) = (0usize, 0usize, 0usize);

    for trial in 0..KILL_TRIALS {
        let relay = start_stalling(Stall::Never);
        let (site, all) = site_for(&relay);
        let after = 1 + seeded.below(READERS as u64 - 1);
        let killed = interrupt(&site, &relay, after, "KILL");
        assert_eq!(killed.status.code(), None, "trial {trial}: not killed");

        let rerun = run(&site, LATER, &[]);
        assert!(
            matches!(rerun.status.code(), Some(0 | 5)),
            "trial {trial}: {}\n{}",
            stdout(&rerun),
            stderr(&rerun)
        );
        let reported = reported_unknown(&rerun);
        // On purpose: the reported unknowns are resent, accepting doubles.
        let retry = run(&site, MUCH_LATER, &["--retry-unknown"]);
        assert!(
            retry.status.success(),
            "trial {trial}: {}\n{}",
            stdout(&retry),
            stderr(&retry)
        );
        let counts = per_reader(&relay);
        for address in &all {
            match counts.get(address).copied().unwrap_or(0) {
                0 => lost += 1,
                1 => {}
                _ => {
                    duplicates += 1;
                    assert!(
                        reported.contains(address),
                        "trial {trial} (killed after {after}): {address} got two messages \
                         but was never reported unknown ({reported:?})"
                    );
                }
            }
        }
        unknown += reported.len();
        assert!(
            statuses(&site).iter().all(|s| s == "sent"),
            "trial {trial}: {:?}",
            statuses(&site)
        );
    }
    assert_eq!(lost, 0, "readers who never got the digest");

    let mut term_unknown = 0usize;
    for trial in 0..TERM_TRIALS {
        let relay = start_stalling(Stall::Never);
        let (site, all) = site_for(&relay);
        let after = 5 + seeded.below(25);
        let stopped = interrupt(&site, &relay, after, "TERM");
        assert_eq!(
            stopped.status.code(),
            Some(5),
            "SIGTERM trial {trial}: {}\n{}",
            stdout(&stopped),
            stderr(&stopped)
        );
        assert!(
            stdout(&stopped).contains("sent ") && stdout(&stopped).contains(", unknown 0,"),
            "SIGTERM trial {trial}: {}",
            stdout(&stopped)
        );
        assert!(
            stderr(&stopped).contains("stopped by SIGTERM"),
            "{}",
            stderr(&stopped)
        );
        let left = statuses(&site);
        term_unknown += left
            .iter()
            .filter(|s| *s == "unknown" || *s == "sending")
            .count();
        assert!(
            left.iter().all(|s| s == "sent" || s == "pending"),
            "SIGTERM trial {trial}: {left:?}"
        );
        let rerun = run(&site, LATER, &[]);
        assert!(
            rerun.status.success(),
            "SIGTERM trial {trial}: {}\n{}",
            stdout(&rerun),
            stderr(&rerun)
        );
        let counts = per_reader(&relay);
        for address in &all {
            assert_eq!(
                counts.get(address),
                Some(&1),
                "SIGTERM trial {trial}: {address}"
            );
        }
    }

    println!(
        "crash test: {KILL_TRIALS} SIGKILL trials x {READERS} readers: lost {lost}, \
         duplicates {duplicates}, unknown {unknown} (every duplicate among the unknown); \
         {TERM_TRIALS} SIGTERM trials: unknown {term_unknown}, exit 5 each; {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
