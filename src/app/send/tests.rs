use super::compose::{DigestRequest, message_id};
use super::plan::new_story_ids;
use super::*;
use crate::unsubscribe;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn mail_site() -> (Config, DateTime<FixedOffset>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let config = crate::config::load(&root.join("config.toml")).unwrap();
    let now = DateTime::parse_from_rfc3339("2026-11-29T06:00:00+08:00").unwrap();
    (config, now)
}

#[test]
fn message_id_is_deterministic_and_on_the_sender_domain() {
    let a = message_id("2026-11-29", "Li.Wei@example.org", "news.example.org");
    assert_eq!(
        a,
        message_id("2026-11-29", "li.wei@example.org", "news.example.org")
    );
    assert!(
        a.starts_with("<digest.2026-11-29.") && a.ends_with("@news.example.org>"),
        "{a}"
    );
    assert_ne!(
        a,
        message_id("2026-11-30", "li.wei@example.org", "news.example.org")
    );
}

#[test]
fn list_id_and_envelope_come_from_the_from_header() {
    let (config, _) = mail_site();
    let digest = config.digest.as_ref().unwrap();
    assert_eq!(digest.from_address, "brief@news.example.org");
    assert_eq!(
        compose::list_id(digest),
        "Chengdu–Chongqing Brief <digest.news.example.org>"
    );
}

/// The messages `send` builds decode to what `digest::personalise`
/// writes, for named, anonymous and awkward subscribers of both locales.
#[test]
fn messages_decode_to_the_personalised_digest() {
    use mail_parser::MimeHeaders as _;
    let (config, now) = mail_site();
    let digest_config = config.digest.as_ref().unwrap();
    let mut corpus = source::load(&config, BTreeMap::new(), None)
        .unwrap()
        .into_published(now);
    let catalog = i18n::load(&config).unwrap();
    let templates = digest::load_templates(&digest_config.templates_dir).unwrap();
    let story_ids = new_story_ids(&corpus, &BTreeSet::new(), None);
    let digest_id = "2026-11-29";
    let renderer = || Renderer {
        config: &config,
        digest: digest_config,
        catalog: &catalog,
        templates: &templates,
        now,
    };
    let long = "Zoë Ö'Brien-李 ".repeat(14);
    let names = [
        "李伟",
        "Zoë",
        "A=B & <C>",
        "",
        "  ",
        long.as_str(),
        "Line\r\nbreak and\nfeed",
        ".dot",
    ];
    for locale in ["en", "zh"] {
        for name in names {
            let subscriber = Subscriber {
                email: "li.wei@example.org".into(),
                name: name.into(),
                locale: locale.into(),
                topics: Vec::new(),
                since: None,
            };
            let mut composer = Composer::new(renderer(), &mut corpus, b"secret".to_vec(), None);
            composer.know_digest(digest_id, story_ids.clone());
            let bytes = composer.message(None, digest_id, &subscriber).unwrap();
            let rendered = renderer()
                .render(
                    &mut corpus,
                    &DigestRequest {
                        digest_id,
                        story_ids: &story_ids,
                        locale_key: locale,
                        topics: &[],
                    },
                )
                .unwrap();
            let url =
                unsubscribe::url(&digest_config.unsubscribe_url, b"secret", &subscriber.email);
            let (subject, html, text) = digest::personalise(&rendered, name, url.as_str());

            let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            assert_eq!(parsed.subject(), Some(subject.as_str()));
            let content_type = parsed.root_part().content_type().unwrap();
            assert_eq!(content_type.subtype(), Some("alternative"));
            let (text_index, html_index) = (parsed.text_body[0], parsed.html_body[0]);
            assert!(text_index < html_index, "text part first");
            let decoded = |index: u32| {
                parsed.parts[index as usize]
                    .text_contents()
                    .unwrap()
                    .replace("\r\n", "\n")
            };
            assert_eq!(
                decoded(text_index),
                text.replace("\r\n", "\n"),
                "{locale} {name:?}"
            );
            assert_eq!(
                decoded(html_index),
                html.replace("\r\n", "\n"),
                "{locale} {name:?}"
            );
        }
    }
}

#[test]
fn tally_reads_as_the_summary_line() {
    let tally = Tally {
        sent: 3,
        unknown: 1,
        ..Tally::default()
    };
    assert_eq!(
        tally.to_string(),
        "sent 3, deferred 0, failed 0, unknown 1, skipped 0, suppressed 0"
    );
}

fn subscriber(email: &str, topics: &[&str]) -> Subscriber {
    Subscriber {
        email: email.into(),
        name: String::new(),
        locale: "en".into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        since: None,
    }
}

/// Topics match tags whatever their case, in the plan as in the digest.
#[test]
fn a_topic_that_differs_from_a_tag_only_in_case_still_matches() {
    let (config, now) = mail_site();
    let corpus = source::load(&config, BTreeMap::new(), None)
        .unwrap()
        .into_published(now);
    let subscribers = [
        subscriber("upper@example.org", &["AUTOMOTIVE"]),
        subscriber("mixed@example.org", &["Automotive"]),
        subscriber("none@example.org", &["no-such-topic"]),
        subscriber("all@example.org", &[]),
    ];
    let window = Window {
        first: chrono::TimeDelta::days(30),
        now,
    };
    let input = PlanInput::read(None, &subscribers, &corpus, window).unwrap();
    let plan = input.plan(&subscribers);
    let planned: Vec<&str> = plan.deliveries.iter().map(|d| d.email).collect();
    assert_eq!(
        planned,
        ["all@example.org", "mixed@example.org", "upper@example.org"]
    );
    assert!(
        plan.deliveries
            .iter()
            .all(|d| matches!(d.action, Action::Send(_)))
    );
}

#[test]
fn the_error_of_an_incomplete_run_says_what_happens_to_each_kind() {
    let none = tally::Left {
        unknown: &[],
        waiting: crate::state::Waiting {
            deferred: 0,
            next_try: None,
        },
    };
    let only_unknown = Tally {
        sent: 2,
        unknown: 1,
        ..Tally::default()
    };
    let error = tally::finish(&only_unknown, &none, Output::Quiet).unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("1 of unknown fate are never resent on their own"),
        "{text}"
    );
    assert!(text.contains("--retry-unknown"), "{text}");
    assert!(!text.contains("deferred ones are retried"), "{text}");
    assert!(!text.contains("deferred, next try"), "{text}");
    assert_eq!(
        crate::ExitCode::for_error(&error),
        crate::ExitCode::Delivery
    );
}
