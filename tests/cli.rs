//! The command line: help on every command, and `init` creating a site
//! that builds.

mod common;

use common::{NOW, stderr, stdout};
use std::process::Command;

fn gazette(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (vec!["--help"], "Multilingual syndication feeds"),
        (vec!["build", "--help"], "written atomically"),
        (vec!["check", "--help"], "write nothing"),
        (vec!["init", "--help"], "Create a working site"),
    ] {
        let output = gazette(&args, dir.path());
        assert!(output.status.success());
        assert!(
            stdout(&output).contains(expected),
            "{args:?}: {}",
            stdout(&output)
        );
    }
}

#[test]
fn init_creates_a_site_that_builds_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let output = gazette(&["--now", NOW, "init", "newsite"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let site = dir.path().join("newsite");
    for file in [
        "config.toml",
        "articles/welcome.md",
        "locales/zh/feeds.ftl",
        ".gitignore",
    ] {
        assert!(site.join(file).is_file(), "{file}");
    }
    let output = gazette(
        &["--config", "newsite/config.toml", "--now", NOW, "build"],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let zh = std::fs::read(site.join("feeds/zh/atom.xml")).unwrap();
    let feed = feed_rs::parser::parse(&zh[..]).unwrap();
    assert_eq!(
        feed.entries[0].title.as_ref().unwrap().content,
        "欢迎使用 gazette"
    );
    // Titled by the publisher the config names, not by the program.
    assert_eq!(feed.title.unwrap().content, "Newsroom");

    let send = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--config", "newsite/config.toml", "--now", NOW, "send"])
        .current_dir(dir.path())
        .env(
            "GAZETTE_UNSUBSCRIBE_SECRET",
            "init-test-secret-0123456789abcdef0123",
        )
        .output()
        .unwrap();
    assert!(send.status.success(), "{}", stderr(&send));
    assert_eq!(std::fs::read_dir(site.join("outbox")).unwrap().count(), 2);

    let again = gazette(&["init", "newsite"], dir.path());
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again)
            .contains("config.toml already exists; `gazette init` only creates new sites")
    );
}
