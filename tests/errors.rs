//! Bad input: every problem reported in one run, with file, line and what
//! to do; a documented exit code; nothing published or half written.

mod common;

use common::{NOW, Site, stderr};

#[test]
fn every_bad_article_is_reported_in_one_run_and_nothing_is_published() {
    let site = Site::from_fixture("site");
    site.write(
        "articles/bad-toml.md",
        "+++\ntitle = \"ok\"\ndate = 2026-11-01T00:00:00Z\ntags = [\"a\",\n+++\nbody\n",
    );
    site.write(
        "articles/no-title.md",
        "+++\ndate = 2026-11-01T00:00:00Z\n+++\nbody\n",
    );
    site.write(
        "articles/no-date.md",
        "+++\ntitle = \"No date\"\n+++\nbody\n",
    );
    site.write(
        "articles/local-date.md",
        "+++\ntitle = \"Local\"\ndate = 2026-11-01T08:00:00\n+++\nbody\n",
    );
    site.write(
        "articles/typo-key.md",
        "+++\ntitle = \"Typo\"\ndate = 2026-11-01T00:00:00Z\ntagz = [\"a\"]\n+++\nbody\n",
    );
    site.write(
        "articles/latin1.md",
        b"+++\ntitle = \"Caf\xe9\"\ndate = 2026-11-01T00:00:00Z\n+++\n",
    );
    site.write(
        "articles/story.fr.md",
        "+++\ntitle = \"Bonjour\"\ndate = 2026-11-01T00:00:00Z\n+++\n",
    );
    site.write("articles/unterminated.md", "+++\ntitle = \"Open\"\n");
    site.write(
        "articles/sub/tricky-title.md",
        "+++\ntitle = \"Same slug\"\ndate = 2026-11-01T00:00:00Z\n+++\n",
    );

    let output = site.run(&["--now", NOW, "build"]);
    assert_eq!(output.status.code(), Some(4));
    let err = stderr(&output);
    for expected in [
        "error: 10 problems in the articles; nothing was published",
        "articles/bad-toml.md:4: invalid front matter: unclosed array",
        "articles/no-title.md: missing `title`: add title = \"…\" to the front matter",
        "articles/no-date.md: missing `date`: add date = 2026-11-20T09:30:00+08:00",
        "articles/local-date.md:3: invalid `date`: `2026-11-01T08:00:00` is not an RFC 3339 date-time with a UTC offset",
        "articles/typo-key.md:4: invalid front matter: unknown field `tagz`",
        "articles/latin1.md:2: invalid UTF-8; save the file as UTF-8",
        "articles/story.fr.md: unknown locale suffix `.fr`: configured locales are en, zh; add [locales.fr]",
        "articles/unterminated.md:1: unterminated front matter: the `+++` on line 1 has no closing `+++` line",
        "articles/sub/tricky-title.md: duplicate slug `tricky-title` in locale `en`: also in articles/tricky-title.md;",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(!site.path("feeds").exists(), "nothing may be published");
}

#[test]
fn a_failed_build_leaves_the_previous_feeds_untouched() {
    let site = Site::from_fixture("site");
    site.build();
    let before = site.snapshot_feeds();
    site.write(
        "articles/tricky-title.md",
        "+++\ntitle = \"Changed\"\n+++\n",
    );
    site.write(
        "articles/english-only.md",
        "+++\ntitle = \"Also changed\"\ndate = 2026-11-18T08:00:00Z\n+++\n",
    );
    let output = site.run(&["--now", NOW, "build"]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert_eq!(before, site.snapshot_feeds());
}

#[test]
fn unknown_config_key_is_reported_with_line_and_column() {
    let site = Site::from_fixture("site");
    let config = site
        .read("config.toml")
        .replace("max_items = 50", "max_items = 50\nmax_itmes = 3");
    site.write("config.toml", config);
    let output = site.run(&["build"]);
    assert_eq!(output.status.code(), Some(3));
    let err = stderr(&output);
    assert!(err.contains("config.toml: invalid configuration"), "{err}");
    assert!(err.contains("line 20, column 1"), "{err}");
    assert!(
        err.contains("unknown field `max_itmes`, expected one of"),
        "{err}"
    );
}

#[test]
fn missing_config_says_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gazette"))
        .arg("build")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let err = stderr(&output);
    assert!(err.contains("config.toml: invalid configuration"), "{err}");
    assert!(
        err.contains("pass --config PATH, or run `gazette init DIR`"),
        "{err}"
    );
}

#[test]
fn invalid_config_values_are_all_listed() {
    let site = Site::from_fixture("site");
    let config = site
        .read("config.toml")
        .replace("default_locale = \"en\"", "default_locale = \"de\"")
        .replace("max_items = 50", "max_items = 0");
    site.write("config.toml", config);
    let output = site.run(&["build"]);
    assert_eq!(output.status.code(), Some(3));
    let err = stderr(&output);
    assert!(
        err.contains("site.default_locale `de` has no [locales.de] section"),
        "{err}"
    );
    assert!(err.contains("feeds.max_items must be at least 1"), "{err}");
}

#[test]
fn fluent_syntax_error_names_file_and_line() {
    let site = Site::from_fixture("site");
    site.write(
        "locales/zh/site.ftl",
        "site-title = 标题\nsite-description = {\n",
    );
    let output = site.run(&["--now", NOW, "build"]);
    assert_eq!(output.status.code(), Some(4));
    let err = stderr(&output);
    assert!(err.contains("problem in the Fluent files"), "{err}");
    assert!(err.contains("locales/zh/site.ftl:2:"), "{err}");
    assert!(!site.path("feeds").exists());
}

#[test]
fn a_missing_message_is_an_error_naming_id_and_locale() {
    let site = Site::from_fixture("site");
    site.write("locales/en/feeds.ftl", "feed-description = Only this\n");
    let output = site.run(&["--now", NOW, "build"]);
    assert_eq!(output.status.code(), Some(4));
    let err = stderr(&output);
    assert!(
        err.contains("message `feed-title` is missing in locale `en` (looked in en); add it to locales/en/*.ftl"),
        "{err}"
    );
    assert!(!site.path("feeds").exists());
}

#[test]
fn bad_now_is_a_usage_error() {
    let site = Site::from_fixture("site");
    let output = site.run(&["--now", "yesterday", "build"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("write an RFC 3339 instant with offset"));
}

#[test]
fn a_broken_digest_template_names_file_and_line_and_is_a_content_error() {
    let site = Site::from_fixture("mail");
    site.write(
        "templates/story.txt.hbs",
        "{{title}}\n{{#if summary}}\n{{summary}}\n",
    );
    let output = site.run(&["--now", NOW, "build"]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("1 template could not be parsed"), "{err}");
    assert!(err.contains("templates/story.txt.hbs:"), "{err}");
    assert!(err.contains("delete the file to use the default"), "{err}");
    assert!(!site.path("feeds").exists());
}
