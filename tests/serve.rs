//! `gazette serve` as a reader meets it: the real binary's server on a
//! loopback port answering the exact unsubscribe URL of a digest that a
//! real SMTP relay on loopback received; state read back from the SQLite
//! file (and, in one test, from a PostgreSQL server); the page opened in
//! headless Chromium.

mod common;

use common::smtp::{MailServer, Received};
use common::{NOW, Site, stderr};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const SECRET: &str = "test-secret-0123456789abcdef0123456789";
const PUBLIC_URL: &str = "https://news.example.org/list/";
/// The server's clock in the sign-up tests: after the first digest, before
/// the stories of the next.
const JOINED: &str = "2026-11-29T12:00:00+08:00";

/// The mail fixture sending to `relay`, its links answered by `serve`.
fn serve_site(relay: &MailServer) -> Site {
    let site = Site::from_fixture("mail");
    let config = site
        .read("config.toml")
        .replace(
            "unsubscribe_url = \"https://news.example.org/unsubscribe\"\n",
            "",
        )
        .replace("port = 0", &format!("port = {}", relay.port));
    site.write(
        "config.toml",
        format!("{config}\n[serve]\nlisten = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\n"),
    );
    site
}

fn gazette(site: &Site, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gazette"));
    command
        .args(args)
        .current_dir(site.dir.path())
        .env("GAZETTE_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("GAZETTE_LOG");
    command
}

fn send(site: &Site, now: &str) {
    let output = gazette(site, &["--now", now, "send"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}

/// Sends at `now`; the messages the relay received from that send.
fn send_next(site: &Site, relay: &MailServer, now: &str) -> Vec<Received> {
    let before = relay.received().len();
    send(site, now);
    relay.received().split_off(before)
}

/// Every envelope recipient of `messages`.
fn recipients(messages: &[Received]) -> Vec<String> {
    messages.iter().flat_map(|m| m.to.clone()).collect()
}

/// The HTML part of the message in `messages` whose envelope recipient
/// contains `to`.
fn html_to(messages: &[Received], to: &str) -> String {
    let message = messages
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains(to)))
        .unwrap_or_else(|| panic!("no message to {to}"));
    let parsed = mail_parser::MessageParser::default()
        .parse(&message.data)
        .unwrap();
    parsed.body_html(0).unwrap().into_owned()
}

/// A story tagged `automotive`, in English and Chinese.
const PLANT_EN: &str = "+++\ntitle = \"New plant\"\ndate = 2026-11-29T20:00:00+08:00\ntags = [\"automotive\"]\n+++\n\nA plant opens.\n";
const PLANT_ZH: &str = "+++\ntitle = \"新工厂\"\ndate = 2026-11-29T20:00:00+08:00\ntags = [\"automotive\"]\n+++\n\n新工厂开业。\n";

fn write_plant_story(site: &Site) {
    site.write("articles/plant.md", PLANT_EN);
    site.write("articles/plant.zh.md", PLANT_ZH);
}

/// A running `gazette serve`; stopped with SIGTERM by [`Server::stop`].
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    origin: String,
    /// Where its log goes: a file, since a pipe read only at the end would
    /// fill and stall the server.
    log: std::path::PathBuf,
}

impl Server {
    fn start(site: &Site) -> Server {
        Server::run(site, &["serve"])
    }

    /// With the server's clock fixed at `now`.
    fn start_at(site: &Site, now: &str) -> Server {
        Server::run(site, &["--now", now, "serve"])
    }

    fn run(site: &Site, args: &[&str]) -> Server {
        let log = site.path("serve.log");
        let mut child = gazette(site, args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Server {
            origin: format!("http://{address}"),
            child,
            log,
        }
    }

    /// The loopback URL the reverse proxy would forward `public` to.
    fn local(&self, public: &str) -> String {
        let url = url::Url::parse(public).unwrap();
        let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
        format!("{}{}{query}", self.origin, url.path())
    }

    /// SIGTERM, then the exit status and everything logged.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        (status, std::fs::read_to_string(&self.log).unwrap())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn reply(mut response: ureq::http::Response<ureq::Body>) -> Reply {
    Reply {
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: response.body_mut().read_to_string().unwrap(),
    }
}

fn get(url: &str, language: &str) -> Reply {
    reply(
        agent()
            .get(url)
            .header("Accept-Language", language)
            .call()
            .unwrap(),
    )
}

fn post_form(url: &str, body: &str) -> Reply {
    reply(
        agent()
            .post(url)
            .content_type("application/x-www-form-urlencoded")
            .send(body)
            .unwrap(),
    )
}

/// (reason) of the address's suppression, read from the state database.
fn suppression(site: &Site, email: &str) -> Option<String> {
    let db = rusqlite::Connection::open(site.path(".gazette/state.db")).unwrap();
    db.query_row(
        "SELECT reason FROM suppressions WHERE email = ?1",
        [email],
        |row| row.get(0),
    )
    .ok()
}

/// The https `List-Unsubscribe` URL of the message the relay got for `to`.
fn unsubscribe_url(relay: &MailServer, to: &str) -> String {
    let received = relay.received();
    let message = received
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains(to)))
        .unwrap_or_else(|| panic!("no message for {to}"));
    let parsed = mail_parser::MessageParser::default()
        .parse(&message.data)
        .unwrap();
    assert_eq!(
        parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    let header = parsed.header_raw("List-Unsubscribe").unwrap();
    let url = header
        .split(',')
        .map(|part| part.trim().trim_matches(|c| c == '<' || c == '>'))
        .find(|part| part.starts_with("https://"))
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with(&format!("{PUBLIC_URL}unsubscribe?")),
        "{url}"
    );
    url
}

/// The visible text of `html`, as Python's HTML parser reads it.
fn text_of(html: &str) -> String {
    common::html::parse(html)
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The DOM headless Chromium builds for `url`.
fn chromium_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            &format!("--user-data-dir={}", profile.path().display()),
            "--dump-dom",
            url,
        ])
        .output()
        .expect("chromium runs (.ci/run installs Debian's chromium)");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn one_click_from_a_real_digest_unsubscribes_and_the_next_send_skips_the_reader() {
    let relay = MailServer::start(&[]);
    let site = serve_site(&relay);
    send(&site, NOW);
    let zoe_url = unsubscribe_url(&relay, "zoe@example.org");
    let li_url = unsubscribe_url(&relay, "li.wei@example.org");
    let server = Server::start(&site);
    let zoe_local = server.local(&zoe_url);

    // A GET (a link scanner, or the reader's browser) only asks.
    let page = get(&zoe_local, "en");
    assert_eq!(page.status, 200, "{}", page.body);
    let text = text_of(&page.body);
    assert!(
        text.contains("Unsubscribe Zoë Martin <zoe@example.org> from Chengdu–Chongqing Brief?"),
        "{text}"
    );
    assert!(
        page.body
            .contains("<form method=\"post\" action=\"/list/unsubscribe\">")
    );
    assert_eq!(
        page.header("Content-Security-Policy"),
        Some(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
    );
    assert_eq!(page.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(page.header("Referrer-Policy"), Some("no-referrer"));
    assert_eq!(page.header("Cache-Control"), Some("no-store"));
    let dom = chromium_dom(&zoe_local);
    assert!(
        dom.contains("<button type=\"submit\">Unsubscribe</button>"),
        "{dom}"
    );
    assert_eq!(suppression(&site, "zoe@example.org"), None);

    // Li Wei's page is in his language, whatever the browser asks for.
    let page = get(&server.local(&li_url), "en-GB,en;q=0.9");
    assert!(
        text_of(&page.body).contains("要让李伟 <li.wei@example.org>退订成渝简报吗？"),
        "{}",
        page.body
    );
    assert_eq!(page.header("Content-Language"), Some("zh-CN"));

    // A token changed on the way: 400 and a page that says so; nothing changes.
    let tampered = zoe_local.replace("token=", "token=0");
    for reply in [
        post_form(&tampered, "List-Unsubscribe=One-Click"),
        get(&tampered, "en"),
    ] {
        assert_eq!(reply.status, 400);
        assert!(
            text_of(&reply.body).contains("This link does not work"),
            "{}",
            reply.body
        );
    }
    // Li Wei's token does not unsubscribe Zoë.
    let li_token = url::Url::parse(&li_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    let borrowed = post_form(
        &format!("{}/list/unsubscribe", server.origin),
        &format!("email=zoe%40example.org&token={li_token}"),
    );
    assert_eq!(borrowed.status, 400);
    assert_eq!(suppression(&site, "zoe@example.org"), None);

    // RFC 8058: the client POSTs to the header's URL; 200, no redirect, done.
    for _ in 0..2 {
        let done = post_form(&zoe_local, "List-Unsubscribe=One-Click");
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(done.header("Location"), None);
        assert!(
            text_of(&done.body)
                .contains("zoe@example.org will get no more mail from Chengdu–Chongqing Brief."),
            "{}",
            done.body
        );
    }
    assert_eq!(
        suppression(&site, "zoe@example.org").as_deref(),
        Some("unsubscribed by the reader (one-click, RFC 8058)")
    );

    // The page's button posts the form's fields.
    let form_token = li_token.clone();
    let done = post_form(
        &format!("{}/list/unsubscribe", server.origin),
        &format!("email=li.wei%40example.org&token={form_token}"),
    );
    assert_eq!(done.status, 200);
    assert!(text_of(&done.body).contains("li.wei@example.org将不再收到成渝简报的邮件。"));
    assert_eq!(
        suppression(&site, "li.wei@example.org").as_deref(),
        Some("unsubscribed by the reader (unsubscribe page)")
    );

    let missing = get(&format!("{}/list/nothing-here", server.origin), "zh");
    assert_eq!(missing.status, 404);
    assert!(text_of(&missing.body).contains("找不到页面"));

    // Graceful stop; one log line per request, never a token.
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("POST /list/unsubscribe 200"), "{log}");
    assert!(log.contains("GET /list/unsubscribe 400"), "{log}");
    assert!(!log.contains(&li_token), "{log}");
    assert!(!log.contains("token="), "{log}");

    // The next digest goes to everyone but the two who left.
    site.write(
        "articles/bridge.md",
        "+++\ntitle = \"Bridge opens\"\ndate = 2026-11-29T20:00:00+08:00\n+++\n\nThe bridge opened.\n",
    );
    let next = recipients(&send_next(&site, &relay, "2026-11-30T06:00:00+08:00"));
    assert!(!next.is_empty());
    assert!(
        !next
            .iter()
            .any(|to| to.contains("zoe@") || to.contains("li.wei@")),
        "{next:?}"
    );
}

#[test]
fn serve_without_its_config_or_with_two_unsubscribe_handlers_is_a_config_error() {
    let relay = MailServer::start(&[]);
    let site = serve_site(&relay);
    let config = site.read("config.toml");

    site.write("config.toml", &config[..config.find("[serve]").unwrap()]);
    let output = gazette(&site, &["serve"]).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("[digest] needs a working unsubscribe link: add [serve] with public_url"),
        "{}",
        stderr(&output)
    );

    site.write(
        "config.toml",
        config.replace(
            "[digest]\n",
            "[digest]\nunsubscribe_url = \"https://news.example.org/unsubscribe\"\n",
        ),
    );
    let output = gazette(&site, &["serve"]).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("remove digest.unsubscribe_url"),
        "{}",
        stderr(&output)
    );

    site.write(
        "config.toml",
        config.replace(PUBLIC_URL, "http://news.example.org/list/"),
    );
    let output = gazette(&site, &["serve"]).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains(
            "serve.public_url `http://news.example.org/list/` must be an absolute https URL"
        ),
        "{}",
        stderr(&output)
    );

    // Without [serve] but with its own handler, `serve` says what it needs.
    site.write(
        "config.toml",
        config[..config.find("[serve]").unwrap()].replace(
            "[digest]\n",
            "[digest]\nunsubscribe_url = \"https://news.example.org/unsubscribe\"\n",
        ),
    );
    let output = gazette(&site, &["serve"]).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("`gazette serve` needs [serve] with public_url"),
        "{}",
        stderr(&output)
    );
}

/// The value of `attribute` on the first tag of `html` that has `marker`
/// in it, with `&amp;` read back.
fn attribute_after(html: &str, marker: &str, attribute: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {html}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let key = format!("{attribute}=\"");
    let start = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {attribute} in {tag}"))
        + key.len();
    let end = start + tag[start..].find('"').unwrap();
    tag[start..end].replace("&amp;", "&").replace("&#x3D;", "=")
}

/// The `(email, token)` hidden fields of the form in `html`.
fn form_fields(html: &str) -> (String, String) {
    (
        attribute_after(html, "name=\"email\"", "value"),
        attribute_after(html, "name=\"token\"", "value"),
    )
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[test]
fn a_reader_changes_language_topics_and_name_and_the_next_digest_follows_over_the_file() {
    let relay = MailServer::start(&[]);
    let site = serve_site(&relay);
    send(&site, NOW);
    let zoe_url = unsubscribe_url(&relay, "zoe@example.org");
    let server = Server::start(&site);

    // From the unsubscribe page, the reader can change what they get instead.
    let page = get(&server.local(&zoe_url), "en");
    let preferences = attribute_after(&page.body, "/list/preferences?", "href");
    let preferences = format!("{}{preferences}", server.origin);
    let form = get(&preferences, "en");
    assert_eq!(form.status, 200, "{}", form.body);
    let dom = chromium_dom(&preferences);
    for expected in [
        "name=\"locale\" value=\"en\" checked=\"\"",
        "name=\"locale\" value=\"zh\"",
        "name=\"topic\" value=\"automotive\"",
        "name=\"topic\" value=\"manufacturing\"",
        "value=\"Zoë Martin\"",
    ] {
        assert!(dom.contains(expected), "{expected} not in {dom}");
    }
    assert!(text_of(&form.body).contains("中文"), "{}", form.body);

    // A preferences token does not unsubscribe, nor an unsubscribe token save.
    let (email, token) = form_fields(&form.body);
    let wrong = post_form(
        &format!("{}/list/unsubscribe", server.origin),
        &form_body(&[("email", &email), ("token", &token)]),
    );
    assert_eq!(wrong.status, 400);
    let unsubscribe_token = url::Url::parse(&zoe_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    let wrong = post_form(
        &format!("{}/list/preferences", server.origin),
        &form_body(&[
            ("email", &email),
            ("token", &unsubscribe_token),
            ("locale", "zh"),
        ]),
    );
    assert_eq!(wrong.status, 400);

    // Chinese, automotive only, a new name (a control character and an
    // unoffered topic are dropped).
    let saved = post_form(
        &format!("{}/list/preferences", server.origin),
        &form_body(&[
            ("email", &email),
            ("token", &token),
            ("name", "Zoë\u{7} M."),
            ("locale", "zh"),
            ("topic", "automotive"),
            ("topic", "<script>"),
        ]),
    );
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(
        text_of(&saved.body).contains("偏好已保存"),
        "{}",
        saved.body
    );
    let db = rusqlite::Connection::open(site.path(".gazette/state.db")).unwrap();
    let row: (String, String, String, i64, i64, i64) = db
        .query_row(
            "SELECT name, locale, topics, name_chosen, locale_chosen, topics_chosen
             FROM subscribers WHERE email = 'zoe@example.org'",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        row,
        (
            "Zoë M.".to_owned(),
            "zh".to_owned(),
            "[\"automotive\"]".to_owned(),
            1,
            1,
            1
        )
    );
    let (status, _) = server.stop();
    assert!(status.success());

    // The editor's file still says English, every topic; the reader's choice wins.
    write_plant_story(&site);
    site.write(
        "articles/bridge.md",
        "+++\ntitle = \"Bridge opens\"\ndate = 2026-11-29T21:00:00+08:00\n+++\n\nThe bridge opened.\n",
    );
    let next = send_next(&site, &relay, "2026-11-30T06:00:00+08:00");
    let html = html_to(&next, "zoe@");
    assert!(html.contains("<html lang=\"zh-CN\""), "{html}");
    assert!(html.contains("新工厂"), "{html}");
    assert!(!html.contains("Bridge opens"), "{html}");
    assert!(html.contains("Zoë M."), "{html}");
}

fn post_signup(server: &Server, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
    let mut request = agent()
        .post(format!("{}/list/subscribe", server.origin))
        .content_type("application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    reply(request.send(form_body(fields)).unwrap())
}

/// Waits for the relay to hold a message to `to` (the server sends the
/// confirmation after answering), up to ten seconds.
fn wait_for_mail(relay: &MailServer, to: &str) -> Vec<u8> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(message) = relay
            .received()
            .into_iter()
            .find(|m| m.to.iter().any(|t| t.contains(to)))
        {
            return message.data;
        }
        assert!(std::time::Instant::now() < deadline, "no mail to {to}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_reader_signs_up_confirms_from_the_mail_and_gets_the_next_digest_in_their_language() {
    let relay = MailServer::start(&[]);
    let site = serve_site(&relay);
    send(&site, NOW);
    // A story that goes out in the next digest but predates the sign-up.
    site.write(
        "articles/early.md",
        "+++\ntitle = \"Early plant news\"\ndate = 2026-11-29T10:00:00+08:00\ntags = [\"automotive\"]\n+++\n\nBefore the sign-up.\n",
    );
    let server = Server::start_at(&site, JOINED);
    let same_origin = [("Sec-Fetch-Site", "same-origin")];

    let form = get(&format!("{}/list/subscribe?lang=zh", server.origin), "en");
    assert_eq!(form.status, 200);
    assert!(
        text_of(&form.body).contains("订阅成渝简报"),
        "{}",
        form.body
    );
    let dom = chromium_dom(&format!("{}/list/subscribe?lang=zh", server.origin));
    assert!(dom.contains("type=\"email\""), "{dom}");
    assert!(
        dom.contains("name=\"locale\" value=\"zh\" checked=\"\""),
        "{dom}"
    );

    let fields = [
        ("email", "new.reader@example.org"),
        ("name", "新读者"),
        ("locale", "zh"),
        ("topic", "automotive"),
    ];
    // Not an address: the form again, saying so, with what was typed.
    let wrong = post_signup(
        &server,
        &[("email", "new.reader at example"), ("locale", "en")],
        &same_origin,
    );
    assert_eq!(wrong.status, 400);
    assert!(
        text_of(&wrong.body).contains("Please enter an email address such as name@example.org."),
        "{}",
        wrong.body
    );
    assert!(
        wrong.body.contains("value=\"new.reader at example\""),
        "{}",
        wrong.body
    );
    // A body past the cap is refused before it is read.
    let huge = post_signup(
        &server,
        &[("email", "a@example.org"), ("name", &"x".repeat(20_000))],
        &same_origin,
    );
    assert_eq!(huge.status, 413);
    let answer = post_signup(&server, &fields, &same_origin);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        text_of(&answer.body).contains("请查收邮件"),
        "{}",
        answer.body
    );

    // A known address gets the same answer, and no mail or row.
    let known = post_signup(
        &server,
        &[("email", "zoe@example.org"), ("locale", "zh")],
        &same_origin,
    );
    assert_eq!(known.status, answer.status);
    assert_eq!(
        known.body.replace("zoe@example.org", "X"),
        answer.body.replace("new.reader@example.org", "X")
    );

    let mail = wait_for_mail(&relay, "new.reader@example.org");
    let parsed = mail_parser::MessageParser::default().parse(&mail).unwrap();
    assert_eq!(parsed.subject(), Some("确认订阅成渝简报"));
    assert!(
        parsed.header_raw("List-Unsubscribe").is_none(),
        "not list mail"
    );
    let text = parsed.body_text(0).unwrap().into_owned();
    let confirm_url = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{PUBLIC_URL}confirm?")))
        .unwrap_or_else(|| panic!("no link in {text}"))
        .to_owned();
    let db = || rusqlite::Connection::open(site.path(".gazette/state.db")).unwrap();
    let confirmed = |email: &str| -> Option<bool> {
        db().query_row(
            "SELECT confirmed_at IS NOT NULL FROM subscribers WHERE email = ?1 AND origin = 'signup'",
            [email],
            |r| r.get(0),
        )
        .ok()
    };
    assert_eq!(confirmed("new.reader@example.org"), Some(false));
    assert_eq!(confirmed("zoe@example.org"), None);

    // The link asks first; a tampered expiry is refused.
    let page = get(&server.local(&confirm_url), "en");
    assert_eq!(page.status, 200);
    assert!(
        text_of(&page.body).contains("要把成渝简报发送到new.reader@example.org吗？"),
        "{}",
        page.body
    );
    assert_eq!(confirmed("new.reader@example.org"), Some(false));
    let tampered = server.local(&confirm_url).replace("expires=", "expires=9");
    assert_eq!(get(&tampered, "en").status, 400);
    let (email, token) = form_fields(&page.body);
    let expires = attribute_after(&page.body, "name=\"expires\"", "value");
    let done = post_form(
        &format!("{}/list/confirm", server.origin),
        &form_body(&[("email", &email), ("expires", &expires), ("token", &token)]),
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(text_of(&done.body).contains("订阅成功"), "{}", done.body);
    assert_eq!(confirmed("new.reader@example.org"), Some(true));

    // Posted from another site: refused, nothing recorded.
    let forged = post_signup(
        &server,
        &[("email", "victim@example.org"), ("locale", "en")],
        &[("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(confirmed("victim@example.org"), None);

    // A flood from one client (behind the proxy) is refused after the limit.
    let flood = [
        ("X-Forwarded-For", "203.0.113.9"),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    let statuses: Vec<u16> = (0..11)
        .map(|i| {
            post_signup(
                &server,
                &[
                    ("email", &format!("flood{i}@example.org")),
                    ("locale", "en"),
                ],
                &flood,
            )
            .status
        })
        .collect();
    assert_eq!(statuses[..10], [200; 10]);
    assert_eq!(statuses[10], 429);
    let (status, _) = server.stop();
    assert!(status.success());

    // Eight days on, the link has expired.
    let later = Server::start_at(&site, "2026-12-07T12:00:00+08:00");
    let expired = get(&later.local(&confirm_url), "en");
    assert_eq!(expired.status, 400);
    assert!(
        text_of(&expired.body).contains("Confirmation links work for 7 days"),
        "{}",
        expired.body
    );
    later.stop();

    // The next digest: in Chinese, automotive only, to the new reader, and
    // only what was published after they confirmed.
    site.write("articles/plant.zh.md", PLANT_ZH);
    let next = send_next(&site, &relay, "2026-11-30T06:00:00+08:00");
    let html = html_to(&next, "new.reader@");
    assert!(html.contains("<html lang=\"zh-CN\""), "{html}");
    assert!(html.contains("新工厂"), "{html}");
    assert!(html.contains("新读者"), "{html}");
    assert!(!html.contains("Early plant news"), "{html}");
    assert!(html_to(&next, "chen@").contains("Early plant news"));
}

#[test]
fn a_thousand_one_click_posts_during_a_send_to_a_thousand_readers_lose_nothing() {
    const READERS: usize = 1000;
    let relay = MailServer::start(&[]);
    let site = serve_site(&relay);
    // A send that lasts about four seconds, so the posts land while it runs.
    let config = site
        .read("config.toml")
        .replace("connections = 1", "connections = 2\nmax_per_second = 250");
    site.write("config.toml", config);
    let mut csv = String::from("email,name,locale\n");
    let addresses: Vec<String> = (0..READERS)
        .map(|i| format!("reader{i}@example.org"))
        .collect();
    for (i, address) in addresses.iter().enumerate() {
        csv.push_str(&format!(
            "{address},Reader {i},{}\n",
            if i % 2 == 0 { "en" } else { "zh" }
        ));
    }
    site.write("subscribers.csv", csv);
    let server = Server::start(&site);

    // Its log goes to a file: a pipe nobody reads until the end could fill
    // and stall the send while it holds the database.
    let log = std::fs::File::create(site.path("send.log")).unwrap();
    let sender = gazette(&site, &["--now", NOW, "send"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    // The exact URLs the digests carry, made by gazette's own signer.
    let base = url::Url::parse(&format!("{PUBLIC_URL}unsubscribe")).unwrap();
    let urls: Vec<String> = addresses
        .iter()
        .map(|a| server.local(gazette::unsubscribe::url(&base, SECRET.as_bytes(), a).as_str()))
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let workers: Vec<_> = urls
            .chunks(READERS / 8)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|url| post_form(url, "List-Unsubscribe=One-Click").status)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(statuses.len(), READERS);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let mut sender = sender;
    let send_status = sender.wait().unwrap();
    let send_log = site.read("send.log");
    let (status, _) = server.stop();
    assert!(status.success());

    let db = rusqlite::Connection::open(site.path(".gazette/state.db")).unwrap();
    let suppressed: i64 = db
        .query_row("SELECT count(*) FROM suppressions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        suppressed, READERS as i64,
        "every posted address is suppressed"
    );
    let rows: Vec<(String, String, Option<String>)> = db
        .prepare("SELECT email, status, last_error FROM deliveries")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // Readers suppressed before the digest was made get no row at all;
    // every other reader has one.
    let with_rows: std::collections::HashSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(with_rows.len(), rows.len());
    assert!(rows.len() <= READERS);
    let delivered: Vec<&str> = rows
        .iter()
        .filter(|r| r.1 == "sent")
        .map(|r| r.0.as_str())
        .collect();
    let stopped = rows
        .iter()
        .filter(|r| r.1 == "failed" && r.2.as_deref() == Some("suppressed"))
        .count();
    assert_eq!(
        delivered.len() + stopped,
        rows.len(),
        "every delivery is sent or suppressed ({send_status}): {send_log}"
    );
    assert!(
        stopped > 0 && !delivered.is_empty(),
        "the posts landed during the send ({stopped} suppressed)"
    );
    // Nothing twice, and exactly what the ledger says was sent.
    let mut received: Vec<String> = relay.received().iter().flat_map(|m| m.to.clone()).collect();
    received.sort();
    let before = received.len();
    received.dedup();
    assert_eq!(received.len(), before, "a reader got the digest twice");
    let mut delivered: Vec<String> = delivered.iter().map(|a| a.to_string()).collect();
    delivered.sort();
    let received: Vec<String> = received
        .iter()
        .map(|r| r.trim_matches(|c| c == '<' || c == '>').to_owned())
        .collect();
    assert_eq!(received, delivered);
}

#[test]
fn with_static_the_feeds_are_served_with_validators_and_gzip() {
    let relay = MailServer::start(&[]);
    let site = serve_site(&relay);
    let config = site.read("config.toml");
    site.write("config.toml", format!("{config}static = true\n"));
    site.build();
    let server = Server::start(&site);
    let url = format!("{}/list/feeds/en/rss.xml", server.origin);

    let mut response = agent().get(&url).call().unwrap();
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let modified = response.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.body_mut().read_to_vec().unwrap();
    assert_eq!(body, std::fs::read(site.path("feeds/en/rss.xml")).unwrap());
    let feed = feed_rs::parser::parse(&body[..]).unwrap();
    assert_eq!(feed.entries.len(), site.feed("en", "rss.xml").entries.len());

    for (name, value) in [
        ("If-None-Match", etag.as_str()),
        ("If-Modified-Since", modified.as_str()),
    ] {
        let again = agent().get(&url).header(name, value).call().unwrap();
        assert_eq!(again.status(), 304, "{name}");
    }
    // gzip when asked (ureq decodes nothing here: no compression features).
    let gzipped = agent()
        .get(&url)
        .header("Accept-Encoding", "gzip")
        .call()
        .unwrap();
    assert_eq!(
        gzipped
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    // The archive by its folder, and nothing outside the feeds folder.
    let archive = get(&format!("{}/list/feeds/en/digest/", server.origin), "en");
    assert_eq!(archive.status, 200);
    assert!(archive.body.contains("2026-11-29.html"), "{}", archive.body);
    let outside = get(
        &format!("{}/list/feeds/../config.toml", server.origin),
        "en",
    );
    assert_ne!(outside.status, 200);
    let outside = get(
        &format!("{}/list/feeds/%2e%2e/config.toml", server.origin),
        "en",
    );
    assert_ne!(outside.status, 200);
    let (status, _) = server.stop();
    assert!(status.success());
}

#[test]
fn subscribe_again_lifts_only_the_readers_own_unsubscribe() {
    let relay = MailServer::start(&[]);
    let site = serve_site(&relay);
    send(&site, NOW);
    let zoe_url = unsubscribe_url(&relay, "zoe@example.org");
    let sam_url = unsubscribe_url(&relay, "sam@example.org");
    let server = Server::start(&site);

    let done = post_form(&server.local(&zoe_url), "List-Unsubscribe=One-Click");
    assert_eq!(done.status, 200);
    assert_eq!(
        attribute_after(&done.body, "method=\"post\"", "action"),
        "/list/resubscribe"
    );
    let (email, token) = form_fields(&done.body);
    let again = post_form(
        &format!("{}/list/resubscribe", server.origin),
        &form_body(&[("email", &email), ("token", &token)]),
    );
    assert_eq!(again.status, 200);
    assert!(
        text_of(&again.body).contains("Welcome back"),
        "{}",
        again.body
    );
    assert_eq!(suppression(&site, "zoe@example.org"), None);

    // A bounce is not the reader's to lift.
    let db = rusqlite::Connection::open(site.path(".gazette/state.db")).unwrap();
    db.execute(
        "INSERT INTO suppressions (email, reason, created_at) VALUES ('sam@example.org', 'hard bounce: 550 5.1.1 no such user', '2026-11-29T00:00:00Z')",
        [],
    )
    .unwrap();
    let sam_token = url::Url::parse(&sam_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    let refused = post_form(
        &format!("{}/list/resubscribe", server.origin),
        &form_body(&[("email", "sam@example.org"), ("token", &sam_token)]),
    );
    assert_eq!(refused.status, 200);
    assert!(
        text_of(&refused.body).contains("We cannot subscribe this address again here"),
        "{}",
        refused.body
    );
    assert_eq!(
        suppression(&site, "sam@example.org").as_deref(),
        Some("hard bounce: 550 5.1.1 no such user")
    );
    let tampered = post_form(
        &format!("{}/list/resubscribe", server.origin),
        &form_body(&[("email", "sam@example.org"), ("token", &token)]),
    );
    assert_eq!(tampered.status, 400);
    server.stop();
}

/// Where the flow's screenshots go: under `target/`, out of git, for a
/// person to look at.
fn screenshot_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/serve")
}

#[test]
fn a_reader_in_chromium_signs_up_confirms_switches_to_chinese_unsubscribes_and_comes_back() {
    let relay = MailServer::start(&[]);
    let site = serve_site(&relay);
    send(&site, NOW);
    let server = Server::start_at(&site, JOINED);
    let shots = screenshot_dir();
    let mut browser = common::cdp::Browser::start();

    // The Chinese form, looked at; then sign-up in English.
    browser.goto(&format!("{}/list/subscribe?lang=zh", server.origin));
    assert_eq!(browser.lang(), "zh-CN");
    browser.screenshot(&shots.join("subscribe-zh.png"));
    browser.goto(&format!("{}/list/subscribe?lang=en", server.origin));
    assert_eq!(browser.lang(), "en-GB");
    browser.screenshot(&shots.join("subscribe-en.png"));
    browser.fill("email", "wei.reader@example.org");
    browser.fill("name", "Wei");
    browser.check("topic", "automotive");
    browser.press_submit();
    assert!(
        browser.text().contains("Check your inbox"),
        "{}",
        browser.text()
    );
    browser.screenshot(&shots.join("subscribe-sent-en.png"));

    // The confirmation mail, read from the relay; its link in the browser.
    let mail = wait_for_mail(&relay, "wei.reader@example.org");
    let parsed = mail_parser::MessageParser::default().parse(&mail).unwrap();
    let text = parsed.body_text(0).unwrap().into_owned();
    let confirm = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{PUBLIC_URL}confirm?")))
        .unwrap()
        .to_owned();
    browser.goto(&server.local(&confirm));
    assert!(
        browser
            .text()
            .contains("Send the digest of Chengdu–Chongqing Brief to wei.reader@example.org?"),
        "{}",
        browser.text()
    );
    browser.screenshot(&shots.join("confirm-en.png"));
    browser.press_submit();
    assert!(
        browser.text().contains("You are subscribed"),
        "{}",
        browser.text()
    );
    browser.screenshot(&shots.join("confirmed-en.png"));

    // Preferences: switch to 中文.
    browser.follow("Change language or topics");
    assert!(
        browser.text().contains("Your preferences"),
        "{}",
        browser.text()
    );
    browser.screenshot(&shots.join("preferences-en.png"));
    browser.check("locale", "zh");
    browser.press_submit();
    assert_eq!(browser.lang(), "zh-CN");
    assert!(browser.text().contains("偏好已保存"), "{}", browser.text());
    browser.screenshot(&shots.join("preferences-saved-zh.png"));

    // The next send: a Chinese digest for them.
    write_plant_story(&site);
    let next = send_next(&site, &relay, "2026-11-30T06:00:00+08:00");
    let html = html_to(&next, "wei.reader@");
    assert!(html.contains("<html lang=\"zh-CN\""), "{html}");
    assert!(html.contains("新工厂"), "{html}");

    // The footer's link: unsubscribe, then subscribe again, in Chinese.
    let footer = attribute_after(&html, "/list/unsubscribe?", "href");
    browser.goto(&server.local(&footer));
    assert!(
        browser
            .text()
            .contains("要让Wei <wei.reader@example.org>退订成渝简报吗？"),
        "{}",
        browser.text()
    );
    browser.screenshot(&shots.join("unsubscribe-zh.png"));
    browser.press_submit();
    assert!(browser.text().contains("您已退订"), "{}", browser.text());
    browser.screenshot(&shots.join("unsubscribed-zh.png"));
    assert!(suppression(&site, "wei.reader@example.org").is_some());
    browser.press_submit();
    assert!(browser.text().contains("欢迎回来"), "{}", browser.text());
    browser.screenshot(&shots.join("resubscribed-zh.png"));
    assert_eq!(suppression(&site, "wei.reader@example.org"), None);

    // And the English pages a reader of the file sees.
    let zoe = unsubscribe_url(&relay, "zoe@example.org");
    browser.goto(&server.local(&zoe));
    browser.screenshot(&shots.join("unsubscribe-en.png"));
    browser.follow("Change what you receive instead");
    browser.screenshot(&shots.join("preferences-en-file-reader.png"));
    assert!(
        browser.text().contains("Zoë Martin")
            || browser.eval("document.querySelector('[name=name]').value")
                == serde_json::json!("Zoë Martin")
    );
    drop(browser);
    server.stop();
}

/// `build`, `serve`, `mailbox`, `subscribers` and `send` against a PostgreSQL state
/// (a real server, `GAZETTE_TEST_POSTGRES`): a one-click unsubscribe and a
/// hard bounce land in the shared database, the list shows both, and the
/// next digest skips both readers.
#[test]
fn serve_mailbox_and_the_list_work_on_a_postgresql_state() {
    let Some(server_url) = common::postgres::server() else {
        return;
    };
    let database = common::postgres::Database::create(&server_url, "serve");
    let relay = MailServer::start(&[]);
    let site = serve_site(&relay);
    let config = site.read("config.toml");
    site.write(
        "config.toml",
        format!("{config}\n[state]\nurl = \"{}\"\n", database.url),
    );
    // Freshly copied inputs are too recent to record (racy), so the build
    // only reads the shared state here; it must not fail on it.
    site.build();
    send(&site, NOW);
    let zoe_url = unsubscribe_url(&relay, "zoe@example.org");
    let server = Server::start(&site);
    let done = post_form(&server.local(&zoe_url), "List-Unsubscribe=One-Click");
    assert_eq!(done.status, 200, "{}", done.body);
    server.stop();

    let dsn = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/inbound/postfix-hard.eml"),
    )
    .unwrap()
    .replace("gone@example.org", "sam@example.org");
    let mut mailbox = gazette(&site, &["--now", NOW, "mailbox"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut mailbox.stdin.take().unwrap(), dsn.as_bytes()).unwrap();
    let mailbox = mailbox.wait_with_output().unwrap();
    assert!(mailbox.status.success(), "{}", stderr(&mailbox));

    let mut client = database.client();
    let reasons: std::collections::BTreeMap<String, String> = client
        .query("SELECT email, reason FROM suppressions", &[])
        .unwrap()
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        reasons.keys().map(String::as_str).collect::<Vec<_>>(),
        ["sam@example.org", "zoe@example.org"],
        "{reasons:?}"
    );
    assert!(
        reasons["sam@example.org"].starts_with("hard bounce: 5.1.1"),
        "{reasons:?}"
    );

    let list = gazette(&site, &["subscribers", "list"]).output().unwrap();
    assert!(list.status.success(), "{}", stderr(&list));
    let list = String::from_utf8(list.stdout).unwrap();
    for reader in ["sam@example.org", "zoe@example.org"] {
        let line = list
            .lines()
            .find(|line| line.starts_with(reader))
            .unwrap_or_else(|| panic!("{reader} not listed:\n{list}"));
        assert!(line.contains("unsubscribed"), "{line}");
    }

    // The next digest: the two are skipped, nobody else is.
    site.write(
        "articles/next-story.md",
        "+++\ntitle = \"Next\"\ndate = 2026-11-29T10:00:00+08:00\n+++\nMore news.\n",
    );
    let next = recipients(&send_next(&site, &relay, "2026-11-29T12:00:00+08:00"));
    assert!(!next.is_empty());
    assert!(
        next.iter()
            .all(|to| !to.contains("zoe@") && !to.contains("sam@")),
        "{next:?}"
    );
}
