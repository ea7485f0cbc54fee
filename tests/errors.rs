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

/// An unsubscribe secret `send` accepts (at least 32 bytes).
const SECRET: &str = "errors-test-secret-0123456789abcdef0123";

/// Runs gazette in `site` with the unsubscribe secret set to `secret`.
fn run_with_secret(site: &Site, args: &[&str], secret: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(site.dir.path())
        .env_remove("GAZETTE_LOG")
        .env("GAZETTE_UNSUBSCRIBE_SECRET", secret)
        .output()
        .unwrap()
}

#[test]
fn an_invalid_from_or_reply_to_is_a_config_error_in_check_and_send() {
    let site = Site::from_fixture("mail");
    let config = site
        .read("config.toml")
        .replace(
            "from = \"Chengdu–Chongqing Brief <brief@news.example.org>\"",
            "from = \"Brief <brief@@x>\"",
        )
        .replace(
            "reply_to = \"desk@news.example.org\"",
            "reply_to = \"not an address\"",
        );
    site.write("config.toml", config);
    for command in ["check", "send"] {
        let output = run_with_secret(&site, &["--now", NOW, command], SECRET);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{command}: {err}");
        assert!(err.contains("config.toml: invalid configuration"), "{err}");
        assert!(
            err.contains(
                "digest.from `Brief <brief@@x>` is not an address; write \"Name <brief@news.example.org>\""
            ),
            "{command}: {err}"
        );
        assert!(
            err.contains("digest.reply_to `not an address` is not an address"),
            "{command}: {err}"
        );
    }
    assert!(!site.path(".gazette/state.db").exists());
}

#[test]
fn addresses_the_config_accepts_are_ones_send_can_put_in_a_message() {
    // Config reads the addresses trimmed of any Unicode white space; lettre
    // rejects a bare address followed by a no-break or ideographic space
    // (easily pasted from a web page), so the message must be built from
    // the trimmed text, or an address that passed `check` fails at send time.
    let site = Site::from_fixture("mail");
    let config = site
        .read("config.toml")
        .replace(
            "from = \"Chengdu–Chongqing Brief <brief@news.example.org>\"",
            "from = \"brief@news.example.org\\u3000\"",
        )
        .replace(
            "reply_to = \"desk@news.example.org\"",
            "reply_to = \"desk@news.example.org\\u00A0\"",
        );
    site.write("config.toml", config);
    let check = run_with_secret(&site, &["--now", NOW, "check"], SECRET);
    assert!(check.status.success(), "{}", stderr(&check));
    let output = run_with_secret(
        &site,
        &["--now", NOW, "send", "--dry-run", "preview"],
        SECRET,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let file = std::fs::read_dir(site.path("preview"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let message = std::fs::read_to_string(file).unwrap();
    assert!(
        message.contains("From: brief@news.example.org\r\n"),
        "{message}"
    );
    assert!(
        message.contains("Reply-To: desk@news.example.org\r\n"),
        "{message}"
    );
}

#[test]
fn a_template_naming_a_missing_value_is_a_content_error_naming_file_line_and_name() {
    let site = Site::from_fixture("mail");
    let default = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/digest.html.hbs"),
    )
    .unwrap();
    let line = 1 + default
        .lines()
        .position(|l| l.contains("{{site_title}}"))
        .unwrap();
    let column = 1 + default
        .lines()
        .nth(line - 1)
        .unwrap()
        .find("{{site_title}}")
        .unwrap();
    site.write(
        "templates/digest.html.hbs",
        default.replace("{{site_title}}", "{{site_titel}}"),
    );
    for command in ["check", "build"] {
        let output = site.run(&["--now", NOW, command]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(4), "{command}: {err}");
        assert!(
            err.contains("a digest template could not be rendered; fix the template or delete the file to use the default"),
            "{err}"
        );
        assert!(
            err.contains(&format!("templates/digest.html.hbs:{line}:{column}: ")),
            "{err}"
        );
        assert!(
            err.contains("`site_titel` is not a value digest templates are given; check the spelling (the digest has "),
            "{err}"
        );
        assert!(err.contains("site_title"), "{err}");
        assert!(!err.contains("Some(\"site_titel\")"), "{err}");
    }
    assert!(!site.path("feeds").exists());
}

#[test]
fn a_short_unsubscribe_secret_is_refused_saying_how_to_make_one() {
    let site = Site::from_fixture("mail");
    let output = run_with_secret(&site, &["--now", NOW, "send"], "x");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("the environment variable GAZETTE_UNSUBSCRIBE_SECRET holds 1 bytes; the secret that signs unsubscribe links must be at least 32 bytes long"),
        "{err}"
    );
    assert!(err.contains("`openssl rand -hex 32`"), "{err}");
    assert!(!site.path(".gazette/state.db").exists());
    assert!(!site.path("outbox").exists());

    // 32 bytes is enough (the file outbox: no relay needed).
    let config = site
        .read("config.toml")
        .replace("transport = \"smtp\"", "transport = \"file\"");
    site.write("config.toml", config);
    let output = run_with_secret(&site, &["--now", NOW, "send"], &"k".repeat(32));
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_bad_row_of_a_crlf_subscriber_list_is_reported_on_its_own_line() {
    let site = Site::from_fixture("mail");
    let csv = site.read("subscribers.csv");
    let line = 1 + csv
        .lines()
        .position(|l| l.starts_with("not-an-address"))
        .unwrap();
    site.write("subscribers.csv", csv.replace('\n', "\r\n"));
    let output = run_with_secret(
        &site,
        &["--now", NOW, "send", "--dry-run", "preview"],
        SECRET,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "subscribers.csv:{line}: `not-an-address` is not a valid email address; row skipped"
        )),
        "{err}"
    );
}

#[test]
fn control_characters_in_articles_are_removed_with_one_warning_per_file() {
    let site = Site::from_fixture("site");
    site.write(
        "articles/controls.md",
        "+++\ntitle = \"Controls\"\ndate = 2026-11-20T08:00:00Z\n+++\n\nFirst paragraph.\n\nA NUL\u{0} here,\n\u{0}two\u{0} more.\n",
    );
    site.write(
        "articles/escape.zh.md",
        "+++\ntitle = \"控制\"\ndate = 2026-11-20T08:00:00Z\n+++\n正文\u{1b}。\n",
    );
    let output = site.build();
    let err = stderr(&output);
    let warning = "articles/controls.md:8: 3 control characters (U+0000) removed; they cannot appear in feeds or mail, so delete them from the file";
    assert_eq!(err.matches(warning).count(), 1, "{err}");
    assert_eq!(err.matches("articles/controls.md").count(), 1, "{err}");
    assert!(
        err.contains("articles/escape.zh.md:5: 1 control character (U+001B) removed"),
        "{err}"
    );
    assert!(!err.contains("tricky-title"), "only files with them: {err}");
    let feed = site.read("feeds/en/atom.xml");
    assert!(feed.contains("A NUL here,"), "{feed}");
}

#[test]
fn an_article_over_the_size_limit_is_refused_naming_file_size_and_limit() {
    let site = Site::from_fixture("site");
    // Sparse files: the size comes from the metadata, so these are never read.
    for (name, size) in [
        ("huge.md", 50 * 1024 * 1024),
        ("just-over.zh.md", 8 * 1024 * 1024 + 1),
    ] {
        let path = site.path(&format!("articles/{name}"));
        std::fs::File::create(path).unwrap().set_len(size).unwrap();
    }
    // Exactly at the limit is allowed.
    let mut at_limit = String::from("+++\ntitle = \"Long\"\ndate = 2026-11-20T08:00:00Z\n+++\n");
    at_limit.push_str(&"word ".repeat((8 * 1024 * 1024 - at_limit.len()) / 5));
    while at_limit.len() < 8 * 1024 * 1024 {
        at_limit.push('\n');
    }
    site.write("articles/long.md", at_limit);
    site.write(
        "articles/no-date.md",
        "+++\ntitle = \"No date\"\n+++\nbody\n",
    );

    let output = site.run(&["--now", NOW, "build"]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("error: 3 problems in the articles; nothing was published"),
        "{err}"
    );
    for expected in [
        "articles/huge.md: the file is 52428800 bytes (50.0 MiB), over the limit of 8388608 bytes (8 MiB) for one article; split it into several articles, or link large content instead of including it",
        "articles/just-over.zh.md: the file is 8388609 bytes (8.0 MiB), over the limit of 8388608 bytes (8 MiB)",
        "articles/no-date.md: missing `date`",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(!err.contains("long.md"), "{err}");
    assert!(!site.path("feeds").exists());
}
