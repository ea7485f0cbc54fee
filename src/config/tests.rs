use super::*;

pub(crate) const MINIMAL: &str = r#"
[site]
base_url = "https://news.example.org"
default_locale = "en"
author = { name = "Desk" }
[locales.en]
tag = "en"
[locales.zh]
tag = "zh-CN"
fallback = ["en"]
[[sources]]
kind = "markdown"
path = "articles"
"#;

fn parse_str(text: &str) -> Result<Config> {
    parse(text, Path::new("config.toml"), Path::new("/site"))
}

#[test]
fn fills_documented_defaults() {
    let config = parse_str(MINIMAL).unwrap();
    assert_eq!(config.site.base_url.as_str(), "https://news.example.org/");
    assert_eq!(config.locales[0].key, "en");
    assert_eq!(
        config.locales[0].home_url.as_str(),
        "https://news.example.org/"
    );
    assert_eq!(
        config.locales[1].home_url.as_str(),
        "https://news.example.org/zh/"
    );
    assert_eq!(config.feeds.url.as_str(), "https://news.example.org/feeds/");
    assert_eq!(config.feeds.max_items, 50);
    assert_eq!(config.feeds.formats.len(), 3);
    assert_eq!(
        config.state,
        crate::config::StateLocation::Sqlite(PathBuf::from("/site/.gazette/state.db"))
    );
    assert_eq!(config.site.tag_authority, "news.example.org,2026-01-01");
}

#[test]
fn rejects_unknown_key_with_line_and_column() {
    let text = MINIMAL.replace("[feeds]", "") + "[feeds]\nmax_itmes = 3\n";
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    assert!(err.contains("config.toml: invalid configuration"), "{err}");
    assert!(err.contains("max_itmes"), "{err}");
    assert!(err.contains("line 15, column 1"), "{err}");
}

#[test]
fn reports_every_cross_field_problem() {
    let text = MINIMAL
        .replace("default_locale = \"en\"", "default_locale = \"fr\"")
        .replace("fallback = [\"en\"]", "fallback = [\"de\"]")
        .replace("tag = \"zh-CN\"", "tag = \"not a tag!\"");
    let err = parse_str(&text).unwrap_err();
    let config_error = err.downcast_ref::<ConfigError>().unwrap();
    let all = config_error.problems.join("\n");
    assert!(all.contains("site.default_locale `fr`"), "{all}");
    assert!(all.contains("locales.zh.fallback names `de`"), "{all}");
    assert!(all.contains("locales.zh.tag `not a tag!`"), "{all}");
}

#[test]
fn rejects_relative_base_url() {
    let text = MINIMAL.replace("https://news.example.org", "/news/");
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    assert!(err.contains("site.base_url `/news/` is not a URL"), "{err}");
}

pub(crate) const DIGEST: &str = r#"
[digest]
subscribers = "subscribers.csv"
from = "Brief <brief@news.example.org>"
unsubscribe_url = "https://news.example.org/unsubscribe"
unsubscribe_mailto = "unsubscribe@news.example.org"
postal_address = "1 Example Road, Chengdu"
"#;

#[test]
fn digest_and_delivery_defaults() {
    let config = parse_str(&format!("{MINIMAL}{DIGEST}")).unwrap();
    let digest = config.digest.unwrap();
    assert_eq!(digest.max_items, 20);
    assert_eq!(digest.from_domain, "news.example.org");
    assert_eq!(digest.untranslated, UntranslatedMode::Label);
    assert_eq!(digest.unsubscribe_secret_env, "GAZETTE_UNSUBSCRIBE_SECRET");
    assert_eq!(digest.first_window, chrono::TimeDelta::days(7));
    let Delivery::File { outbox } = &config.delivery else {
        panic!(
            "the default transport is the file outbox: {:?}",
            config.delivery
        )
    };
    assert_eq!(outbox, &PathBuf::from("/site/outbox"));
}

#[test]
fn plain_smtp_is_refused_to_a_remote_host() {
    let text = format!(
        "{MINIMAL}{DIGEST}[delivery]\ntransport = \"smtp\"\n[delivery.smtp]\nhost = \"smtp.example.org\"\nsecurity = \"none\"\n"
    );
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    assert!(
        err.contains("only allowed to a loopback host, not `smtp.example.org`"),
        "{err}"
    );
    let local = text.replace("smtp.example.org", "127.0.0.1");
    let config = parse_str(&local).unwrap();
    let Delivery::Smtp(smtp) = &config.delivery else {
        panic!("transport = \"smtp\" selects SMTP: {:?}", config.delivery)
    };
    assert_eq!(smtp.timeout.as_secs(), 600);
}

#[test]
fn claim_ahead_defaults_to_eight_and_is_bounded_as_are_connections() {
    let text = format!(
        "{MINIMAL}{DIGEST}[delivery]\ntransport = \"smtp\"\n[delivery.smtp]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\n"
    );
    let config = parse_str(&text).unwrap();
    let Delivery::Smtp(smtp) = &config.delivery else {
        panic!("transport = \"smtp\" selects SMTP: {:?}", config.delivery)
    };
    assert_eq!(smtp.claim_ahead, 8);
    let config = parse_str(&format!("{text}claim_ahead = 0\n")).unwrap();
    let Delivery::Smtp(smtp) = &config.delivery else {
        panic!("transport = \"smtp\" selects SMTP: {:?}", config.delivery)
    };
    assert_eq!(smtp.claim_ahead, 0, "0 claims each message at its own turn");

    let err = format!(
        "{:#}",
        parse_str(&format!("{text}claim_ahead = 65\nconnections = 0\n")).unwrap_err()
    );
    assert!(
        err.contains("delivery.smtp.claim_ahead = 65 is more than 64")
            && err.contains("use 64 or less"),
        "{err}"
    );
    assert!(
        err.contains("delivery.smtp.connections must be at least 1"),
        "{err}"
    );
}

#[test]
fn bad_digest_addresses_are_listed() {
    let text = format!("{MINIMAL}{DIGEST}")
        .replace("Brief <brief@news.example.org>", "Brief")
        .replace("https://news.example.org/unsubscribe", "http://x/u");
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    assert!(
        err.contains("digest.from `Brief` is not an address"),
        "{err}"
    );
    assert!(
        err.contains("digest.unsubscribe_url `http://x/u` must be an absolute https URL"),
        "{err}"
    );
}

/// The mail fixture's folder, which holds test-only DKIM keys in `dkim/`.
pub(crate) fn mail_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail")
}

pub(crate) fn parse_with_dkim(dkim: &str) -> Result<Config> {
    let text = format!("{MINIMAL}{DIGEST}[digest.dkim]\n{dkim}");
    parse(&text, Path::new("config.toml"), &mail_fixture())
}

#[test]
fn dkim_defaults_to_the_from_domain_and_locates_the_key_relative_to_the_config() {
    let config = parse_with_dkim("selector = \"brief\"\nprivate_key = \"dkim/rsa.pem\"\n").unwrap();
    let dkim = config.digest.unwrap().dkim.unwrap();
    assert_eq!(dkim.domain, "news.example.org");
    assert_eq!(dkim.selector, "brief");
    assert_eq!(dkim.private_key, mail_fixture().join("dkim/rsa.pem"));

    let config = parse_with_dkim(
        "domain = \"Example.ORG\"\nselector = \"s1\"\nprivate_key = \"dkim/ed25519.pem\"\n",
    )
    .unwrap();
    assert_eq!(config.digest.unwrap().dkim.unwrap().domain, "example.org");
    assert!(
        parse_str(&format!("{MINIMAL}{DIGEST}"))
            .unwrap()
            .digest
            .unwrap()
            .dkim
            .is_none()
    );
}

#[test]
fn dkim_rejects_unknown_keys() {
    let err = format!(
        "{:#}",
        parse_with_dkim("selector = \"brief\"\nprivate_key = \"dkim/rsa.pem\"\nkey = \"x\"\n")
            .unwrap_err()
    );
    assert!(err.contains("unknown field `key`"), "{err}");
}

#[test]
fn dkim_selector_and_domain_must_be_dns_names() {
    let err = format!(
        "{:#}",
        parse_with_dkim(
            "domain = \"not a domain\"\nselector = \"my key\"\nprivate_key = \"dkim/rsa.pem\"\n"
        )
        .unwrap_err()
    );
    assert!(
        err.contains("digest.dkim.domain `not a domain` is not a domain name"),
        "{err}"
    );
    assert!(
        err.contains("digest.dkim.selector `my key` is not a DNS label"),
        "{err}"
    );
}

#[test]
fn text_sources_and_import_patterns() {
    let text = format!(
        "{MINIMAL}[[sources]]\nkind = \"text\"\npath = \"pages\"\n[[sources]]\nkind = \"text\"\npath = \"pages-zh\"\nlocale = \"zh\"\n[import]\nchrome = [\"^Sponsored by\"]\ncaptions = [\"\\\\(Pic: .*\\\\)$\"]\n"
    );
    let config = parse_str(&text).unwrap();
    assert_eq!(
        config.sources[1..],
        [
            Source::Text {
                path: PathBuf::from("/site/pages"),
                locale: "en".to_owned()
            },
            Source::Text {
                path: PathBuf::from("/site/pages-zh"),
                locale: "zh".to_owned()
            }
        ]
    );
    assert_eq!(config.import.chrome, ["^Sponsored by"]);
    assert_eq!(config.import.captions, [r"\(Pic: .*\)$"]);
    // Defaults: no extra patterns.
    assert_eq!(parse_str(MINIMAL).unwrap().import, ImportConfig::default());
}

#[test]
fn text_source_locale_and_import_patterns_are_checked() {
    let text = format!(
        "{MINIMAL}[[sources]]\nkind = \"text\"\npath = \"pages\"\nlocale = \"fr\"\n[import]\nchrome = [\"ok\", \"(unclosed\"]\ncaptions = [\"\"]\n"
    );
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    assert!(
        err.contains(
            "[[sources]] kind = \"text\" path = \"pages\": locale `fr` has no [locales.fr] section"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "import.chrome[1]: `(unclosed` is not a regular expression (error: unclosed group)"
        ),
        "{err}"
    );
    assert!(
        err.contains("import.captions[0]: `` is empty; it would match every line"),
        "{err}"
    );
    let typo = format!("{MINIMAL}[import]\nchrom = []\n");
    let err = format!("{:#}", parse_str(&typo).unwrap_err());
    assert!(err.contains("unknown field `chrom`"), "{err}");
}

#[test]
fn rejects_unknown_source_kind() {
    let text = MINIMAL.replace("kind = \"markdown\"", "kind = \"word\"");
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    assert!(err.contains("unknown variant `word`"), "{err}");
}

#[test]
fn feed_sources_and_fetch_defaults() {
    let text = format!(
        "{MINIMAL}[[sources]]\nkind = \"feed\"\nurl = \"https://partner.example.com/feed.xml\"\n\
         [[sources]]\nkind = \"feed\"\npath = \"feeds-in/wire.xml\"\nname = \"Wire\"\nlocale = \"zh\"\nmax_items = 5\n"
    );
    let config = parse_str(&text).unwrap();
    let Source::Feed(first) = &config.sources[1] else {
        panic!("{:?}", config.sources)
    };
    assert_eq!(first.name, "partner.example.com");
    assert_eq!(first.locale, "en");
    assert_eq!(first.max_items, None);
    assert_eq!(
        first.location.to_string(),
        "https://partner.example.com/feed.xml"
    );
    let Source::Feed(second) = &config.sources[2] else {
        panic!()
    };
    assert_eq!(
        second.location,
        FeedLocation::Path(PathBuf::from("/site/feeds-in/wire.xml"))
    );
    assert_eq!(
        (second.name.as_str(), second.locale.as_str()),
        ("Wire", "zh")
    );
    assert_eq!(second.max_items, Some(5));
    assert_eq!(config.fetch.timeout.as_secs(), 20);
    assert_eq!(config.fetch.max_bytes, 5 * 1024 * 1024);
    assert_eq!(config.fetch.host_delay.as_millis(), 1000);
    assert_eq!(
        config.fetch.user_agent,
        "gazette/0.1.0 (+https://github.com/gazette-news/gazette)"
    );
}

#[test]
fn feed_source_needs_exactly_one_of_url_and_path() {
    let text = format!(
        "{MINIMAL}[[sources]]\nkind = \"feed\"\nurl = \"https://a.example/f\"\npath = \"f.xml\"\n\
         [[sources]]\nkind = \"feed\"\nname = \"Nowhere\"\n"
    );
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    assert!(
        err.contains(
            "[[sources]] #2 (kind = \"feed\") sets both `url` and `path`; keep exactly one"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "[[sources]] #3 (kind = \"feed\") needs `url = \"https://…\"` or `path = \"file.xml\"`"
        ),
        "{err}"
    );
}

#[test]
fn bad_feed_source_values_are_listed() {
    let text = format!(
        "{MINIMAL}[[sources]]\nkind = \"feed\"\nurl = \"ftp://a.example/f\"\nlocale = \"fr\"\nmax_items = 0\nname = \" \"\n"
    );
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    for expected in [
        "[[sources]] #2 (kind = \"feed\"): url `ftp://a.example/f` must be an absolute http(s) URL",
        "[[sources]] #2 (kind = \"feed\"): locale `fr` has no [locales.fr] section; configured: en, zh",
        "[[sources]] #2 (kind = \"feed\"): max_items must be at least 1",
        "[[sources]] #2 (kind = \"feed\"): name is empty; leave it out to use the host",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
}

#[test]
fn bad_fetch_settings_are_listed_and_unknown_keys_refused() {
    let text = format!("{MINIMAL}[fetch]\ntimeout_seconds = 0\nmax_bytes = 0\nuser_agent = \"\"\n");
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    assert!(
        err.contains("fetch.timeout_seconds must be at least 1"),
        "{err}"
    );
    assert!(err.contains("fetch.max_bytes must be at least 1"), "{err}");
    assert!(
        err.contains("fetch.user_agent must be one non-empty line"),
        "{err}"
    );
    let text = format!("{MINIMAL}[fetch]\ntimeout = 3\n");
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    assert!(err.contains("unknown field `timeout`"), "{err}");
    let text = format!(
        "{MINIMAL}[[sources]]\nkind = \"feed\"\nurl = \"https://a.example/\"\nlink = \"x\"\n"
    );
    let err = format!("{:#}", parse_str(&text).unwrap_err());
    assert!(err.contains("unknown field `link`"), "{err}");
}

#[test]
fn first_window_is_whole_days_of_at_least_one() {
    let config = parse_str(&format!("{MINIMAL}{DIGEST}first_window = 3\n")).unwrap();
    assert_eq!(
        config.digest.unwrap().first_window,
        chrono::TimeDelta::days(3)
    );
    let err = format!(
        "{:#}",
        parse_str(&format!("{MINIMAL}{DIGEST}first_window = 0\n")).unwrap_err()
    );
    assert!(
        err.contains("digest.first_window = 0: write the number of days of stories a first digest may hold, at least 1"),
        "{err}"
    );
}

#[test]
fn serve_settings_are_validated_with_what_to_write() {
    let digest = DIGEST.replace(
        "unsubscribe_url = \"https://news.example.org/unsubscribe\"\n",
        "",
    );
    let good =
        format!("{MINIMAL}{digest}\n[serve]\npublic_url = \"https://news.example.org/list\"\n");
    let config = parse_str(&good).unwrap();
    let serve = config.serve.as_ref().unwrap();
    assert_eq!(serve.public_url.as_str(), "https://news.example.org/list/");
    assert_eq!(serve.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(serve.confirm_expiry.num_days(), 7);
    assert_eq!(
        config.digest.unwrap().unsubscribe_url.as_str(),
        "https://news.example.org/list/unsubscribe"
    );

    let bad = good.replace(
        "/list\"\n",
        "/list?x=1\"\nlisten = \"localhost\"\nconfirm_days = 0\n",
    );
    let err = format!("{:#}", parse_str(&bad).unwrap_err());
    for expected in [
        "serve.listen `localhost` is not an address and port, e.g. \"127.0.0.1:8080\"",
        "serve.public_url `https://news.example.org/list?x=1` has a query or fragment",
        "serve.confirm_days = 0: write how many days a confirmation link works, 1 to 365",
    ] {
        assert!(err.contains(expected), "{expected} not in {err}");
    }
}

/// The problems `[state]` text gets.
fn state_problems(state: &str) -> String {
    let err = parse_str(&format!("{MINIMAL}[state]\n{state}\n")).unwrap_err();
    err.downcast_ref::<ConfigError>()
        .unwrap()
        .problems
        .join("\n")
}

#[test]
fn a_postgres_state_url_is_kept_with_its_password_variable() {
    let text = format!(
        "{MINIMAL}[state]\nurl = \"postgres://gazette@db.internal:5432/news\"\npassword_env = \"GAZETTE_DB_PASSWORD\"\n"
    );
    assert_eq!(
        parse_str(&text).unwrap().state,
        StateLocation::Postgres(PostgresState {
            url: "postgres://gazette@db.internal:5432/news".to_owned(),
            password_env: Some("GAZETTE_DB_PASSWORD".to_owned()),
            tls: PostgresTls::Prefer,
        })
    );
}

fn postgres_state(query: &str) -> (String, PostgresTls) {
    let text = format!("{MINIMAL}[state]\nurl = \"postgres://gazette@db.internal/news?{query}\"\n");
    match parse_str(&text).unwrap().state {
        StateLocation::Postgres(postgres) => (postgres.url, postgres.tls),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sslmode_and_sslrootcert_are_read_as_libpq_reads_them_and_taken_out_of_the_url() {
    let ca = PathBuf::from("/etc/gazette/db-ca.pem");
    for (query, expected) in [
        ("sslmode=disable", PostgresTls::Disable),
        ("sslmode=prefer", PostgresTls::Prefer),
        (
            "sslmode=require",
            PostgresTls::Require(ServerCheck::Nothing),
        ),
        (
            "sslmode=require&sslrootcert=/etc/gazette/db-ca.pem",
            PostgresTls::Require(ServerCheck::Chain(TrustRoots::File(ca.clone()))),
        ),
        (
            "sslmode=verify-ca",
            PostgresTls::Require(ServerCheck::Chain(TrustRoots::System)),
        ),
        (
            "sslrootcert=system&sslmode=verify-full",
            PostgresTls::Require(ServerCheck::ChainAndName(TrustRoots::System)),
        ),
        (
            "sslmode=verify-full&sslrootcert=/etc/gazette/db-ca.pem",
            PostgresTls::Require(ServerCheck::ChainAndName(TrustRoots::File(ca.clone()))),
        ),
    ] {
        let (url, read) = postgres_state(query);
        assert_eq!(read, expected, "{query}");
        assert_eq!(url, "postgres://gazette@db.internal/news", "{query}");
    }
    // Everything else stays as written, encoded as it was, for the driver.
    let (url, _) =
        postgres_state("options=-csearch_path%3Dgazette&sslmode=verify-full&connect_timeout=5");
    assert_eq!(
        url,
        "postgres://gazette@db.internal/news?options=-csearch_path%3Dgazette&connect_timeout=5"
    );
    // A relative sslrootcert is the site's, like every other path.
    let (_, read) = postgres_state("sslmode=verify-full&sslrootcert=certs/ca.pem");
    let PostgresTls::Require(ServerCheck::ChainAndName(TrustRoots::File(path))) = read else {
        panic!("{read:?}")
    };
    assert!(
        path.is_absolute() && path.ends_with("certs/ca.pem"),
        "{path:?}"
    );
}

#[test]
fn rejects_state_settings_that_cannot_work() {
    assert_eq!(
        state_problems("path = \"s.db\"\nurl = \"postgres://gazette@db/news\""),
        "[state] sets both `path` (a SQLite file) and `url` (a PostgreSQL database); keep one"
    );
    assert_eq!(
        state_problems("password_env = \"PW\""),
        "state.password_env is only for a PostgreSQL `state.url`; remove it, or set `url`"
    );
    assert_eq!(
        state_problems("url = \"mysql://db/news\""),
        "state.url `mysql://db/news` is not a PostgreSQL URL; write it as \"postgres://user@host:5432/database\""
    );
    assert_eq!(
        state_problems("url = \"postgres://gazette:hunter2@db/news\""),
        "state.url `postgres://gazette:****@db/news` holds a password; remove it from the URL, export it in an environment variable and name that in state.password_env"
    );
    assert_eq!(
        state_problems("url = \"postgres://gazette@db/news?sslmode=allow\""),
        "state.url has sslmode=allow; use one of disable, prefer, require, verify-ca, verify-full (verify-full checks that the certificate is the server's)"
    );
    assert_eq!(
        state_problems("url = \"postgres://gazette@db/news?sslmode=disable&sslrootcert=ca.pem\""),
        "state.url names an sslrootcert, but sslmode=disable checks no certificate; use sslmode=verify-full (or verify-ca), or drop sslrootcert"
    );
}
