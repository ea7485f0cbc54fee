//! `gazette mailbox` through the real binary: messages written from the
//! formats' specifications (tests/fixtures/inbound) arrive on standard
//! input, in a Maildir and in an mbox; the state database is read back.

mod common;

use common::{NOW, Site, stderr, stdout};
use std::io::Write as _;
use std::process::{Command, Stdio};

const SECRET: &str = "test-secret-0123456789abcdef0123456789";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/inbound")
            .join(name),
    )
    .unwrap()
}

fn site() -> Site {
    let site = Site::from_fixture("mail");
    let config = site.read("config.toml");
    site.write("config.toml", &config[..config.find("[delivery]").unwrap()]);
    site
}

fn gazette(site: &Site, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(site.dir.path())
        .env("GAZETTE_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("GAZETTE_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn mailbox(site: &Site, args: &[&str], stdin: Option<&str>) -> String {
    let mut all = vec!["--now", NOW, "mailbox"];
    all.extend_from_slice(args);
    let output = gazette(site, &all, stdin);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    stdout(&output)
}

fn reason(site: &Site, email: &str) -> Option<String> {
    rusqlite::Connection::open(site.path(".gazette/state.db"))
        .unwrap()
        .query_row(
            "SELECT reason FROM suppressions WHERE email = ?1",
            [email],
            |r| r.get(0),
        )
        .ok()
}

/// (status, last_error) of the ledger row of `digest_id` to `email`.
fn ledger_row(site: &Site, digest_id: &str, email: &str) -> (String, Option<String>) {
    rusqlite::Connection::open(site.path(".gazette/state.db"))
        .unwrap()
        .query_row(
            "SELECT status, last_error FROM deliveries WHERE digest_id = ?1 AND email = ?2",
            [digest_id, email],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn bounces_complaints_and_mailto_unsubscribes_suppress_once_and_the_next_send_skips_them() {
    let site = site();
    site.build();
    let send = gazette(&site, &["--now", NOW, "send"], None);
    assert!(send.status.success(), "{}", stderr(&send));

    // A Postfix pipe: one DSN on standard input, twice.
    let dsn = fixture("postfix-hard.eml").replace("gone@example.org", "zoe@example.org");
    let first = mailbox(&site, &[], Some(&dsn));
    assert_eq!(
        first.trim(),
        "suppressed 1 (hard 1, complaint 0, mailto 0), soft 0, ignored 0, unattributed 0"
    );
    let zoe = reason(&site, "zoe@example.org").unwrap();
    assert!(
        zoe.starts_with(
            "hard bounce: 5.1.1 550 5.1.1 <zoe@example.org>: Recipient address rejected"
        ),
        "{zoe}"
    );
    assert!(
        zoe.ends_with("(message 20261128220005.4A1B2C3D4E@mx.news.example.org)"),
        "{zoe}"
    );
    let (status, error) = ledger_row(&site, "2026-11-29", "zoe@example.org");
    assert_eq!(status, "sent", "the relay took it");
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.starts_with("bounced: 5.1.1 550 5.1.1")),
        "{error:?}"
    );
    let again = mailbox(&site, &[], Some(&dsn));
    assert!(
        again.contains("suppressed 0 (hard 0, complaint 0, mailto 0)"),
        "{again}"
    );
    assert!(again.contains("1 already processed"), "{again}");
    assert_eq!(reason(&site, "zoe@example.org").unwrap(), zoe);

    // A Maildir with a complaint, a mailto unsubscribe, an out-of-office,
    // an unattributed report and a soft bounce.
    let maildir = site.path("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let messages = [
        fixture("yahoo-arf.eml")
            .replace("Complainer@yahoo.com", "chen@example.org")
            .replace("complainer@yahoo.com", "chen@example.org"),
        fixture("mailto-unsubscribe.eml"),
        fixture("out-of-office.eml"),
        fixture("dsn-no-recipient.eml"),
        fixture("gmail-soft.eml").replace("full.box@gmail.com", "li.wei@example.org"),
    ];
    for (i, message) in messages.iter().enumerate() {
        std::fs::write(
            maildir.join("new").join(format!("176436720{i}.M1P1.mx")),
            message,
        )
        .unwrap();
    }
    let summary = mailbox(&site, &["Maildir"], None);
    assert_eq!(
        summary.trim(),
        "suppressed 2 (hard 0, complaint 1, mailto 1), soft 1, ignored 1, unattributed 1"
    );
    assert!(
        reason(&site, "chen@example.org")
            .unwrap()
            .starts_with("complaint: abuse report")
    );
    assert!(
        reason(&site, "sam@example.org")
            .unwrap()
            .starts_with("unsubscribed by mail to unsubscribe@news.example.org")
    );
    assert_eq!(
        reason(&site, "li.wei@example.org"),
        None,
        "one soft bounce of five"
    );
    let list = stdout(&gazette(&site, &["subscribers", "list"], None));
    assert!(
        list.contains(
            "li.wei@example.org\t李伟\tzh\t(all)\tcsv\tactive (1 soft bounce, last 4.2.2)"
        ),
        "{list}"
    );
    assert_eq!(std::fs::read_dir(maildir.join("new")).unwrap().count(), 0);
    let seen: Vec<String> = std::fs::read_dir(maildir.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|name| name.ends_with(":2,S")), "{seen:?}");
    // With --move-to, processed messages leave for another folder.
    std::fs::write(
        maildir.join("new").join("1764367300.M9P1.mx"),
        fixture("ses-hard.eml").replace("closed@example.com", "someone.else@example.org"),
    )
    .unwrap();
    let moved = mailbox(&site, &["Maildir", "--move-to", "Processed"], None);
    assert!(moved.contains("hard 1"), "{moved}");
    let processed: Vec<String> = std::fs::read_dir(site.path("Processed/cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(processed, ["1764367300.M9P1.mx:2,S"]);
    let rerun = mailbox(&site, &["Maildir"], None);
    assert_eq!(
        rerun.trim(),
        "suppressed 0 (hard 0, complaint 0, mailto 0), soft 0, ignored 0, unattributed 0"
    );

    // Soft bounces past the limit suppress: four more in an mbox.
    let mut mbox = String::new();
    for i in 0..4 {
        mbox.push_str("From MAILER-DAEMON Sat Nov 28 22:03:00 2026\n");
        mbox.push_str(
            &fixture("gmail-soft.eml")
                .replace("full.box@gmail.com", "li.wei@example.org")
                .replace(
                    "<5f2a.0c1d.delay@mx.google.com>",
                    &format!("<delay.{i}@mx.google.com>"),
                ),
        );
        mbox.push('\n');
    }
    site.write("bounces.mbox", &mbox);
    let summary = mailbox(&site, &["bounces.mbox"], None);
    assert_eq!(
        summary.trim(),
        "suppressed 1 (hard 0, complaint 0, mailto 0), soft 4, ignored 0, unattributed 0"
    );
    assert!(
        reason(&site, "li.wei@example.org")
            .unwrap()
            .starts_with("soft bounces: 5 within 30 days (last: 4.2.2"),
        "{:?}",
        reason(&site, "li.wei@example.org")
    );

    // `subscribers list` shows why; the next digest goes to nobody of them.
    let list = gazette(&site, &["subscribers", "list"], None);
    assert!(
        stdout(&list).contains(
            "zoe@example.org\tZoë Martin\ten\t(all)\tcsv\tunsubscribed: hard bounce: 5.1.1"
        ),
        "{}",
        stdout(&list)
    );
    site.write(
        "articles/bridge.md",
        "+++\ntitle = \"Bridge opens\"\ndate = 2026-11-29T20:00:00+08:00\n+++\n\nThe bridge opened.\n",
    );
    std::fs::remove_dir_all(site.path("outbox")).unwrap();
    let next = gazette(&site, &["--now", "2026-11-30T06:00:00+08:00", "send"], None);
    assert!(next.status.success(), "{}", stderr(&next));
    // All four readers are suppressed now: nothing is mailed.
    let mailed = if site.path("outbox").exists() {
        site.outbox_recipients()
    } else {
        Vec::new()
    };
    assert!(mailed.is_empty(), "{mailed:?}");
    // Chen follows automotive only, which the bridge is not.
    assert!(
        stdout(&next).contains(
            "sent 0, deferred 0, failed 0, unknown 0, skipped 1, suppressed 3, nothing for them 1"
        ),
        "{}",
        stdout(&next)
    );
}

#[test]
fn mailbox_errors_name_what_to_give() {
    let site = site();
    let output = gazette(&site, &["mailbox", "missing.eml"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .contains("cannot read missing.eml; give message files, an mbox or a Maildir"),
        "{}",
        stderr(&output)
    );
    let config = site.read("config.toml");
    site.write("config.toml", &config[..config.find("[digest]").unwrap()]);
    let output = gazette(&site, &["mailbox"], Some(""));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("has no [digest] section, so the list has no mailbox"));
}

#[test]
fn with_a_return_path_each_digest_leaves_with_its_own_and_an_unreadable_bounce_is_attributed() {
    let relay = common::smtp::MailServer::start(&[]);
    let site = Site::from_fixture("mail");
    let config = site
        .read("config.toml")
        .replace("port = 0", &format!("port = {}", relay.port))
        .replace(
            "[digest]\n",
            "[digest]\nreturn_path = \"bounces@news.example.org\"\n",
        );
    site.write("config.toml", config);
    let send = gazette(&site, &["--now", NOW, "send"], None);
    assert!(send.status.success(), "{}", stderr(&send));
    let received = relay.received();
    let sam = received
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains("sam@example.org")))
        .unwrap();
    let return_path = sam.from.trim_matches(|c| c == '<' || c == '>').to_owned();
    assert!(
        return_path.starts_with("bounces+2026-11-29.")
            && return_path.ends_with("@news.example.org"),
        "{return_path}"
    );
    let others: std::collections::BTreeSet<&str> =
        received.iter().map(|m| m.from.as_str()).collect();
    assert_eq!(others.len(), received.len(), "one return path per delivery");

    // A bounce whose report names no one, sent to Sam's return path.
    let bounce = fixture("dsn-no-recipient.eml").replace(
        "To: bounces@news.example.org",
        &format!("To: {return_path}"),
    );
    let summary = mailbox(&site, &[], Some(&bounce));
    assert_eq!(
        summary.trim(),
        "suppressed 1 (hard 1, complaint 0, mailto 0), soft 0, ignored 0, unattributed 0"
    );
    assert!(
        reason(&site, "sam@example.org")
            .unwrap()
            .starts_with("hard bounce: 5.0.0")
    );
    assert_eq!(
        ledger_row(&site, "2026-11-29", "sam@example.org")
            .1
            .as_deref(),
        Some("bounced: 5.0.0")
    );
    // A complaint naming no one, whose enclosed copy keeps our Message-ID.
    let li = received
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains("li.wei@example.org")))
        .unwrap();
    let li_id = mail_parser::MessageParser::default()
        .parse(&li.data)
        .unwrap()
        .message_id()
        .unwrap()
        .to_owned();
    let complaint = fixture("arf-no-rcpt.eml").replace(
        "To: redacted@hotmail.com\n",
        &format!("To: redacted@hotmail.com\nMessage-ID: <{li_id}>\n"),
    );
    let summary = mailbox(&site, &[], Some(&complaint));
    assert!(summary.contains("complaint 1"), "{summary}");
    assert!(
        reason(&site, "li.wei@example.org")
            .unwrap()
            .starts_with("complaint: abuse report"),
        "{:?}",
        reason(&site, "li.wei@example.org")
    );
    assert_eq!(reason(&site, "redacted@hotmail.com"), None);
    // A forged tag (right shape, wrong signature) attributes nothing.
    let forged = fixture("dsn-no-recipient.eml")
        .replace(
            "To: bounces@news.example.org",
            "To: bounces+2026-11-29.0123456789ab@news.example.org",
        )
        .replace("<broken.1@broken.example>", "<broken.2@broken.example>");
    let summary = mailbox(&site, &[], Some(&forged));
    assert!(summary.contains("unattributed 1"), "{summary}");
}
