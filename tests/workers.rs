//! Several senders, one digest: three `gazette send --worker` processes
//! share a PostgreSQL state (a real server on loopback), each through its
//! own relay (`--config` per host). One is SIGKILLed mid-run and started
//! again. Every reader must get the digest exactly once, except deliveries
//! the ledger reports `unknown` (at most once then), and the digest must be
//! created once.

mod common;

use common::postgres::{Database, server};
use common::smtp::{Seen, Stall, Stalling, start_stalling};
use common::{NOW, Site, stderr, stdout};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Output, Stdio};

const SECRET: &str = "workers-test-secret-0123456789abcdef012";
const READERS: usize = 3000;
/// `delivery.smtp.claim_ahead`, the default, written out: the bound on a
/// killed worker's `unknown` rows is this + 1 per connection.
const CLAIM_AHEAD: usize = 8;

fn worker(site: &Site, config: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--config", config, "--now", NOW, "send", "--worker"])
        .current_dir(site.dir.path())
        .env("GAZETTE_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("GAZETTE_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> Output {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(std::time::Duration::from_secs(300))
        .expect("a worker did not finish within 300 s")
        .unwrap()
}

#[test]
fn three_workers_one_killed_and_restarted_deliver_every_reader_once_but_reported_unknowns() {
    let Some(server) = server() else { return };
    let database = Database::create(&server, "workers");
    let site = Site::from_fixture("mail");
    let relays: Vec<Stalling> = (0..3).map(|_| start_stalling(Stall::Never)).collect();
    let base = site.read("config.toml");
    for (n, relay) in relays.iter().enumerate() {
        let config = base
            .replace("port = 0", &format!("port = {}", relay.port))
            .replace(
                "connections = 1",
                &format!("connections = 1\nclaim_ahead = {CLAIM_AHEAD}"),
            )
            + &format!("\n[state]\nurl = \"{}\"\n", database.url);
        site.write(&format!("config-{n}.toml"), config);
    }
    let mut csv = String::from("email,name,locale,topics\n");
    let mut all = Vec::new();
    for n in 0..READERS {
        let address = format!("reader{n:04}@example.org");
        let locale = if n % 3 == 0 { "zh" } else { "en" };
        csv.push_str(&format!("{address},Reader {n},{locale},\n"));
        all.push(address);
    }
    site.write("subscribers.csv", csv);

    let first = worker(&site, "config-0.toml");
    let doomed = worker(&site, "config-1.toml");
    let third = worker(&site, "config-2.toml");
    // Mid-run: the second worker has had 100 messages accepted.
    for _ in 0..100 {
        relays[1].wait_for(120, |s| matches!(s, Seen::Dot(_)));
    }
    let killed = Command::new("kill")
        .args(["-KILL", &doomed.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let killed = finish(doomed);
    assert_eq!(
        killed.status.code(),
        None,
        "the second worker was not killed"
    );
    let restarted = worker(&site, "config-1.toml");
    let outputs: Vec<Output> = [first, third, restarted].into_iter().map(finish).collect();
    for output in &outputs {
        assert!(
            matches!(output.status.code(), Some(0 | 5)),
            "{}\n{}",
            stdout(output),
            stderr(output)
        );
    }

    let mut ledger = database.client();
    let digests: i64 = ledger
        .query_one("SELECT count(*) FROM digests", &[])
        .unwrap()
        .get(0);
    assert_eq!(digests, 1, "the digest was created more than once");
    let rows: BTreeMap<String, String> = ledger
        .query("SELECT email, status FROM deliveries", &[])
        .unwrap()
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(rows.len(), READERS, "one ledger row per reader");
    let unknown: BTreeSet<&String> = rows
        .iter()
        .filter(|(_, status)| *status == "unknown")
        .map(|(email, _)| email)
        .collect();
    assert!(
        rows.values().all(|s| s == "sent" || s == "unknown"),
        "{:?}",
        rows.values().collect::<BTreeSet<_>>()
    );
    // A killed worker (one connection) can leave at most CLAIM_AHEAD + 1
    // rows `sending`: the message in flight and those claimed ahead of it.
    assert!(unknown.len() <= CLAIM_AHEAD + 1, "unknown: {unknown:?}");

    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_relay = Vec::new();
    for relay in &relays {
        let messages = relay.received();
        per_relay.push(messages.len());
        for message in messages {
            for to in message.to {
                *received.entry(to).or_insert(0) += 1;
            }
        }
    }
    for address in &all {
        let got = received.get(address).copied().unwrap_or(0);
        if unknown.contains(address) {
            assert!(got <= 1, "{address} is unknown and got {got} messages");
        } else {
            assert_eq!(got, 1, "{address} got {got} messages");
        }
    }
    assert!(
        per_relay.iter().all(|n| *n > 0),
        "every worker sent through its own relay: {per_relay:?}"
    );
    eprintln!(
        "3 workers, {READERS} readers: per relay {per_relay:?}, unknown {}",
        unknown.len()
    );
}

#[test]
fn a_worker_needs_a_postgresql_state() {
    let site = Site::from_fixture("mail");
    let output = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--now", NOW, "send", "--worker"])
        .current_dir(site.dir.path())
        .env("GAZETTE_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("GAZETTE_LOG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "`gazette send --worker` shares one ledger among several senders, which needs a PostgreSQL state"
        ),
        "{}",
        stderr(&output)
    );
}
