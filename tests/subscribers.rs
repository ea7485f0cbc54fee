//! `gazette subscribers`: the list in the state database, driven through
//! the real binary on the mail fixture (file outbox) and read back as CSV
//! with the `csv` crate and as rows of the SQLite file.

mod common;

use common::{NOW, Site, stderr, stdout};
use std::process::Command;

const SECRET: &str = "test-secret-0123456789abcdef0123456789";
const NEXT_DAY: &str = "2026-11-30T06:00:00+08:00";

fn site() -> Site {
    let site = Site::from_fixture("mail");
    let config = site.read("config.toml");
    site.write("config.toml", &config[..config.find("[delivery]").unwrap()]);
    site
}

fn gazette(site: &Site, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(site.dir.path())
        .env("GAZETTE_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("GAZETTE_LOG")
        .output()
        .unwrap()
}

fn ok(site: &Site, args: &[&str]) -> String {
    let output = gazette(site, args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}

/// (email, name, locale, topics, origin, state) of every exported row.
fn export(site: &Site) -> Vec<[String; 6]> {
    let csv = ok(site, &["subscribers", "export", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["email", "name", "locale", "topics", "origin", "state"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            std::array::from_fn(|i| r[i].to_owned())
        })
        .collect()
}

fn state_of<'a>(rows: &'a [[String; 6]], email: &str) -> &'a str {
    &rows
        .iter()
        .find(|r| r[0] == email)
        .unwrap_or_else(|| panic!("{email}: {rows:?}"))[5]
}

#[test]
fn the_list_is_shown_exported_imported_and_a_suppression_lifted() {
    let site = site();
    site.build();
    ok(&site, &["--now", NOW, "send"]);
    let rows = export(&site);
    assert_eq!(
        rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        [
            "li.wei@example.org",
            "zoe@example.org",
            "sam@example.org",
            "chen@example.org"
        ]
    );
    assert_eq!(
        rows[3],
        [
            "chen@example.org",
            "陈静",
            "zh",
            "automotive",
            "csv",
            "active"
        ]
        .map(str::to_owned)
    );

    ok(&site, &["unsubscribe", "zoe@example.org"]);
    let table = ok(&site, &["subscribers", "list"]);
    assert!(
        table.contains(
            "zoe@example.org\tZoë Martin\ten\t(all)\tcsv\tunsubscribed: unsubscribed by request ("
        ),
        "{table}"
    );
    assert!(table.ends_with("4 readers\n"), "{table}");

    // Another file adds a reader; the editor's file leaving them out does
    // not remove them. Li Wei leaves the editor's file.
    site.write(
        "extra.csv",
        "email,name,locale,topics\nnew@example.org,New Reader,en,\n",
    );
    let imported = ok(&site, &["subscribers", "import", "extra.csv"]);
    assert!(
        imported.contains("1 added, 0 updated, 0 skipped"),
        "{imported}"
    );
    let file = site.read("subscribers.csv");
    site.write(
        "subscribers.csv",
        file.lines()
            .filter(|l| !l.starts_with("li.wei@"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    site.write(
        "articles/bridge.md",
        "+++\ntitle = \"Bridge opens\"\ndate = 2026-11-29T20:00:00+08:00\n+++\n\nThe bridge opened.\n",
    );
    std::fs::remove_dir_all(site.path("outbox")).unwrap();
    ok(&site, &["--now", NEXT_DAY, "send"]);
    assert_eq!(
        site.outbox_recipients(),
        // Chen follows automotive only; the bridge is untagged.
        ["new@example.org", "sam@example.org"],
    );
    let rows = export(&site);
    assert_eq!(
        state_of(&rows, "li.wei@example.org"),
        "no longer in the file"
    );
    assert_eq!(state_of(&rows, "new@example.org"), "active");
    assert_eq!(
        rows.iter().find(|r| r[0] == "new@example.org").unwrap()[4],
        "import"
    );

    // The reader asked to come back.
    let lifted = ok(&site, &["subscribers", "resubscribe", "Zoe@example.org"]);
    assert!(
        lifted
            .contains("Zoe@example.org is no longer suppressed (it was: unsubscribed by request)"),
        "{lifted}"
    );
    assert_eq!(state_of(&export(&site), "zoe@example.org"), "active");
    let again = gazette(&site, &["subscribers", "resubscribe", "zoe@example.org"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("zoe@example.org is not suppressed; nothing to lift"));
    let bad = gazette(&site, &["subscribers", "resubscribe", "not-an-address"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("`not-an-address` is not an email address"));

    // The export reads back as a subscriber file.
    let fresh = self::site();
    let csv = ok(&site, &["subscribers", "export"]);
    fresh.write("exported.csv", &csv);
    let imported = ok(&fresh, &["subscribers", "import", "exported.csv"]);
    assert!(imported.contains("5 added"), "{imported}");
}
