//! Delivery over real TCP on loopback: a mailin-embedded SMTP server for
//! MIME and reply classification, and tiny scripted servers for connections
//! that vanish at chosen moments. No transport is mocked.

use chrono::DateTime;
use gazette::deliver::{
    EncodedBody, Envelope, FileOutbox, Gate, Security, SmtpSettings, SmtpTransport, Transport,
    build_message,
};
use gazette::model::{BodyTemplate, DeliveryOutcome, Email, Personal};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use mailin_embedded::{Handler, Response, Server};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SUBJECT: &str = "成渝简报：第 12 期 — 本周要闻";
const SENDER: &str = "bounces@news.example.org";
const UNKNOWN_USER: &str = "nobody@example.com";
const BUSY_USER: &str = "busy@example.com";
const CLOSING_USER: &str = "closing@example.com";

fn email(to_name: &str, to_email: &str, id: &str) -> Email {
    Email {
        from: "Chengdu–Chongqing Brief <brief@news.example.org>".into(),
        reply_to: Some("editors@news.example.org".into()),
        to_name: to_name.into(),
        to_email: to_email.into(),
        subject: SUBJECT.into(),
        personal: Personal::default(),
        message_id: format!("<{id}@news.example.org>"),
        list_id: "Chengdu–Chongqing Brief <brief.news.example.org>".into(),
        unsubscribe_url: format!("https://news.example.org/unsubscribe?t={id}"),
        unsubscribe_mailto: format!("mailto:unsubscribe@news.example.org?subject={id}"),
        date: DateTime::parse_from_rfc3339("2025-03-01T08:00:00+08:00").expect("valid date"),
    }
}

/// The same body for every message of these tests.
fn body() -> EncodedBody {
    EncodedBody::new(&BodyTemplate::fixed(
        "本周要闻\n\n1. 成都地铁新线开通\n\n退订：https://news.example.org/u/tok\n",
        "<html><body><h1>本周要闻</h1><p>成都地铁新线开通</p></body></html>",
    ))
}

fn settings(port: u16, timeout: Duration) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        username: String::new(),
        password: None,
        timeout,
        hello_name: Some("gazette.test".into()),
    }
}

// ---------------------------------------------------------------- mailin

#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    data: Vec<u8>,
}

#[derive(Default)]
struct Log {
    connections: usize,
    messages: Vec<Received>,
}

/// Records every message; refuses one address permanently and defers another.
#[derive(Clone)]
struct Recorder {
    log: Arc<Mutex<Log>>,
    greeted: bool,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        // Each connection gets its own clone of the handler; gazette sends
        // EHLO twice on one (the second to read PIPELINING), so count the
        // first only.
        if !self.greeted {
            self.greeted = true;
            self.log.lock().unwrap().connections += 1;
        }
        mailin_embedded::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        match to {
            UNKNOWN_USER => Response::custom(550, "5.1.1 user unknown".into()),
            BUSY_USER => Response::custom(451, "4.3.0 mailbox busy, try later".into()),
            // mailin closes the connection after a 421.
            CLOSING_USER => Response::custom(421, "4.7.0 too busy, closing".into()),
            _ => mailin_embedded::response::OK,
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.log.lock().unwrap().messages.push(Received {
            to: std::mem::take(&mut self.to),
            data: std::mem::take(&mut self.data),
        });
        mailin_embedded::response::OK
    }
}

/// Starts mailin-embedded on a free loopback port in a background thread.
fn start_mailin() -> (u16, Arc<Mutex<Log>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Log::default()));
    let handler = Recorder {
        log: Arc::clone(&log),
        greeted: false,
        to: Vec::new(),
        data: Vec::new(),
    };
    let mut server = Server::new(handler);
    server.with_name("mailin.test").with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (port, log)
}

fn send_email(transport: &mut SmtpTransport, email: &Email) -> DeliveryOutcome {
    let bytes = build_message(email, &body(), None).unwrap();
    transport.send(SENDER, &email.to_email, &bytes)
}

fn unfold(value: &str) -> String {
    value
        .replace("\r\n", "")
        .replace('\n', "")
        .trim()
        .to_owned()
}

#[test]
fn delivers_multipart_digest_with_list_headers() {
    let (port, log) = start_mailin();
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(10))).unwrap();
    let outcome = send_email(
        &mut transport,
        &email("李伟", "li.wei@example.org", "d1.liwei"),
    );
    assert_eq!(outcome, DeliveryOutcome::Sent);

    let received = log.lock().unwrap().messages.clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, vec!["li.wei@example.org".to_owned()]);
    let message = MessageParser::default()
        .parse(&received[0].data)
        .expect("parseable");

    assert_eq!(message.subject(), Some(SUBJECT));
    let to = message.to().and_then(|a| a.first()).expect("To");
    assert_eq!(to.name(), Some("李伟"));
    assert_eq!(to.address(), Some("li.wei@example.org"));
    let from = message.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.name(), Some("Chengdu–Chongqing Brief"));
    assert_eq!(from.address(), Some("brief@news.example.org"));
    assert_eq!(message.message_id(), Some("d1.liwei@news.example.org"));

    // multipart/alternative: text/plain first, text/html last, both UTF-8.
    let root = message.root_part();
    let ct = root.content_type().expect("Content-Type");
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("multipart", Some("alternative"))
    );
    let PartType::Multipart(children) = &root.body else {
        panic!("root is not multipart: {:?}", root.body);
    };
    assert_eq!(children.len(), 2);
    let kinds: Vec<(String, String, String)> = children
        .iter()
        .map(|&i| {
            let ct = message.parts[i as usize]
                .content_type()
                .expect("part Content-Type");
            (
                ct.ctype().to_owned(),
                ct.subtype().unwrap_or_default().to_owned(),
                ct.attribute("charset")
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("text".into(), "plain".into(), "utf-8".into()),
            ("text".into(), "html".into(), "utf-8".into()),
        ]
    );
    assert!(message.body_text(0).unwrap().contains("成都地铁新线开通"));
    assert!(message.body_html(0).unwrap().contains("<h1>本周要闻</h1>"));

    let list_id = message
        .list_id()
        .as_address()
        .and_then(|a| a.first())
        .expect("List-Id");
    assert_eq!(list_id.name(), Some("Chengdu–Chongqing Brief"));
    assert_eq!(list_id.address(), Some("brief.news.example.org"));
    assert_eq!(
        unfold(
            message
                .header_raw("List-Unsubscribe")
                .expect("List-Unsubscribe")
        ),
        "<https://news.example.org/unsubscribe?t=d1.liwei>, \
         <mailto:unsubscribe@news.example.org?subject=d1.liwei>"
    );
    assert_eq!(
        unfold(
            message
                .header_raw("List-Unsubscribe-Post")
                .expect("List-Unsubscribe-Post")
        ),
        "List-Unsubscribe=One-Click"
    );
}

#[test]
fn classifies_refusals_and_keeps_one_connection() {
    let (port, log) = start_mailin();
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(10))).unwrap();

    let first = send_email(&mut transport, &email("Zoë", "zoe@example.com", "d1.zoe"));
    let unknown = send_email(&mut transport, &email("", UNKNOWN_USER, "d1.nobody"));
    // The 550 left a transaction open: the transport must RSET before this one.
    let after_refusal = send_email(&mut transport, &email("", "ann@example.com", "d1.ann"));
    let busy = send_email(&mut transport, &email("", BUSY_USER, "d1.busy"));
    let after_deferral = send_email(
        &mut transport,
        &email("李伟", "li.wei@example.org", "d1.li"),
    );

    assert_eq!(first, DeliveryOutcome::Sent);
    match &unknown {
        DeliveryOutcome::Failed { reason, suppress } => {
            assert!(*suppress, "{reason}");
            assert!(reason.contains("550"), "{reason}");
            assert!(reason.contains("5.1.1 user unknown"), "{reason}");
            assert!(reason.contains(UNKNOWN_USER), "{reason}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(after_refusal, DeliveryOutcome::Sent);
    match &busy {
        DeliveryOutcome::Deferred(reason) => {
            assert!(reason.contains("451 4.3.0 mailbox busy"), "{reason}");
        }
        other => panic!("expected Deferred, got {other:?}"),
    }
    assert_eq!(after_deferral, DeliveryOutcome::Sent);

    drop(transport); // QUIT
    let log = log.lock().unwrap();
    assert_eq!(log.connections, 1, "all messages over one connection");
    let recipients: Vec<&str> = log.messages.iter().map(|m| m.to[0].as_str()).collect();
    assert_eq!(
        recipients,
        ["zoe@example.com", "ann@example.com", "li.wei@example.org"]
    );
    let zoe = MessageParser::default()
        .parse(&log.messages[0].data)
        .unwrap();
    let to = zoe.to().and_then(|a| a.first()).unwrap();
    assert_eq!(to.name(), Some("Zoë"));
}

#[test]
fn reply_421_is_deferred_and_the_next_message_reconnects() {
    let (port, log) = start_mailin();
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(10))).unwrap();
    match send_email(&mut transport, &email("", CLOSING_USER, "d1.closing")) {
        DeliveryOutcome::Deferred(reason) => {
            assert!(reason.contains("421 4.7.0 too busy"), "{reason}")
        }
        other => panic!("expected Deferred, got {other:?}"),
    }
    assert_eq!(
        send_email(&mut transport, &email("", "ann@example.com", "d1.ann")),
        DeliveryOutcome::Sent
    );
    let log = log.lock().unwrap();
    assert_eq!(log.connections, 2);
    assert_eq!(log.messages.len(), 1);
}

#[test]
fn connection_refused_is_deferred() {
    // Bind then drop: the port is free and nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(5))).unwrap();
    match send_email(&mut transport, &email("", "a@example.com", "d1.a")) {
        DeliveryOutcome::Deferred(reason) => {
            assert!(reason.contains(&format!("127.0.0.1:{port}")), "{reason}");
        }
        other => panic!("expected Deferred, got {other:?}"),
    }
}

#[test]
fn invalid_recipient_is_failed_without_connecting() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(5))).unwrap();
    match transport.send(SENDER, "not an address", b"Subject: x\r\n\r\nx\r\n") {
        DeliveryOutcome::Failed { reason, suppress } => {
            assert!(suppress);
            assert!(reason.contains("\"not an address\""), "{reason}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

// ------------------------------------------------------- scripted server

/// What the scripted server does with the connection after `DATA`.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// Reads the body, answers 250 to the final dot.
    Accept,
    /// Closes right after `354`, before reading any body.
    CloseAfter354,
    /// Reads up to the final dot, then closes without replying.
    CloseAfterDot,
    /// Reads up to the final dot, then never answers (but keeps the socket).
    HangAfterDot,
}

/// A minimal SMTP server that runs `scripts[n]` for its n-th connection.
fn start_scripted(scripts: Vec<Script>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&connections);
    std::thread::spawn(move || {
        for (stream, script) in listener.incoming().zip(scripts) {
            count.fetch_add(1, Ordering::SeqCst);
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = serve_scripted(stream, script);
            });
        }
    });
    (port, connections)
}

fn serve_scripted(stream: TcpStream, script: Script) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 scripted.test ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => out.write_all(b"250-scripted.test\r\n250 8BITMIME\r\n")?,
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            "DATA" => {
                out.write_all(b"354 go ahead\r\n")?;
                if let Script::CloseAfter354 = script {
                    out.shutdown(std::net::Shutdown::Both)?;
                    return Ok(());
                }
                let mut body = Vec::new();
                while !body.ends_with(b"\r\n.\r\n") {
                    let mut chunk = Vec::new();
                    if input.read_until(b'\n', &mut chunk)? == 0 {
                        return Ok(());
                    }
                    body.extend_from_slice(&chunk);
                }
                match script {
                    Script::Accept => out.write_all(b"250 2.0.0 queued\r\n")?,
                    Script::CloseAfterDot => {
                        out.shutdown(std::net::Shutdown::Both)?;
                        return Ok(());
                    }
                    Script::HangAfterDot => {
                        std::thread::sleep(Duration::from_secs(5));
                        return Ok(());
                    }
                    Script::CloseAfter354 => unreachable!(),
                }
            }
            // MAIL, RCPT, RSET, NOOP
            _ => out.write_all(b"250 2.0.0 ok\r\n")?,
        }
    }
}

#[test]
fn connection_lost_after_final_dot_is_unknown_then_reconnects() {
    let (port, connections) = start_scripted(vec![Script::CloseAfterDot, Script::Accept]);
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(10))).unwrap();
    match send_email(&mut transport, &email("", "a@example.com", "d1.a")) {
        DeliveryOutcome::Unknown(reason) => {
            assert!(reason.contains("end of DATA"), "{reason}")
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
    // The broken connection is replaced lazily by the next send.
    assert_eq!(
        send_email(&mut transport, &email("", "b@example.com", "d1.b")),
        DeliveryOutcome::Sent
    );
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

#[test]
fn no_reply_to_final_dot_within_timeout_is_unknown() {
    let (port, _) = start_scripted(vec![Script::HangAfterDot]);
    let mut transport = SmtpTransport::new(settings(port, Duration::from_millis(500))).unwrap();
    match send_email(&mut transport, &email("", "a@example.com", "d1.a")) {
        DeliveryOutcome::Unknown(reason) => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("expected Unknown, got {other:?}"),
    }
}

/// A message whose body is far larger than loopback socket buffers.
fn huge_message() -> Vec<u8> {
    let mut message = b"From: brief@news.example.org\r\nTo: a@example.com\r\n\
        Message-ID: <huge@news.example.org>\r\nSubject: huge\r\n\r\n"
        .to_vec();
    let line = [b'x'; 76];
    while message.len() < 64 * 1024 * 1024 {
        message.extend_from_slice(&line);
        message.extend_from_slice(b"\r\n");
    }
    message
}

#[test]
fn connection_lost_before_body_is_written_is_deferred() {
    // The server closes right after 354. Whether the client notices while
    // writing the body depends on socket buffers: a small body fits in the
    // kernel's send buffer, write() succeeds, and the loss only shows while
    // waiting for the reply, which is (correctly, conservatively) Unknown.
    // What is guaranteed: a body larger than any buffer cannot be handed
    // over, the write fails, and the outcome is Deferred.
    let (port, _) = start_scripted(vec![Script::CloseAfter354, Script::CloseAfter354]);
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(10))).unwrap();
    match transport.send(SENDER, "a@example.com", &huge_message()) {
        DeliveryOutcome::Deferred(reason) => assert!(reason.contains("end of DATA"), "{reason}"),
        other => panic!("expected Deferred, got {other:?}"),
    }
    // Small body: never Sent, never Failed; Deferred or Unknown by timing.
    let outcome = send_email(&mut transport, &email("", "a@example.com", "d1.a"));
    assert!(
        matches!(
            outcome,
            DeliveryOutcome::Deferred(_) | DeliveryOutcome::Unknown(_)
        ),
        "{outcome:?}"
    );
}

// ------------------------------------------------------------ file outbox

#[test]
fn file_outbox_writes_parseable_eml_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("outbox");
    let mut outbox = FileOutbox::new(outbox_dir.clone()).unwrap();
    let message = email("李伟", "li.wei@example.org", "d1.liwei");
    let bytes = build_message(&message, &body(), None).unwrap();
    assert_eq!(
        outbox.send(SENDER, &message.to_email, &bytes),
        DeliveryOutcome::Sent
    );
    // Same Message-ID again: overwritten, not duplicated.
    assert_eq!(
        outbox.send(SENDER, &message.to_email, &bytes),
        DeliveryOutcome::Sent
    );

    let names: Vec<String> = std::fs::read_dir(&outbox_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["d1.liwei_news.example.org.eml"],
        "no temp files left"
    );
    let written = std::fs::read(outbox_dir.join(&names[0])).unwrap();
    assert_eq!(written, bytes);
    let parsed = MessageParser::default().parse(&written).expect("parseable");
    assert_eq!(parsed.subject(), Some(SUBJECT));
    assert_eq!(parsed.message_id(), Some("d1.liwei@news.example.org"));
}

#[test]
fn go_ahead_is_asked_after_data_and_a_no_delivers_nothing() {
    let (port, log) = start_mailin();
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(10))).unwrap();
    let held = email("李伟", "li.wei@example.com", "d1.held");
    let bytes = build_message(&held, &body(), None).unwrap();

    // The claim failed: nothing may reach the relay's mailbox.
    let mut asked = 0;
    let outcome = transport.send_when(SENDER, &held.to_email, &bytes, &mut || {
        asked += 1;
        false
    });
    assert_eq!(outcome, None);
    assert_eq!(asked, 1);
    assert!(log.lock().unwrap().messages.is_empty());

    // A refusal at RCPT ends the attempt before the point of no return.
    let refused = email("", UNKNOWN_USER, "d1.refused");
    let bytes = build_message(&refused, &body(), None).unwrap();
    let mut asked = 0;
    let outcome = transport.send_when(SENDER, UNKNOWN_USER, &bytes, &mut || {
        asked += 1;
        true
    });
    assert!(
        matches!(outcome, Some(DeliveryOutcome::Failed { .. })),
        "{outcome:?}"
    );
    assert_eq!(asked, 0, "asked after the relay refused the recipient");

    // The abandoned session was closed; the next message opens a new one.
    let next = email("Zoë", "zoe@example.com", "d1.next");
    assert_eq!(send_email(&mut transport, &next), DeliveryOutcome::Sent);
    let log = log.lock().unwrap();
    assert_eq!(log.messages.len(), 1);
    assert_eq!(log.messages[0].to, vec!["zoe@example.com".to_owned()]);
    assert_eq!(log.connections, 2);
}

// ------------------------------------------------------- pipelining relay

/// A relay that offers PIPELINING (RFC 2920) and answers MAIL, RCPT and
/// DATA only once all three have arrived: a client that waited for each
/// reply before sending the next command would hang until its timeout.
/// Refuses `UNKNOWN_USER` at RCPT; records the recipient of every body it
/// accepts, and how many connections it saw.
fn start_pipelining_relay() -> (u16, Arc<Mutex<Vec<String>>>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let (bodies, count) = (Arc::clone(&accepted), Arc::clone(&connections));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let bodies = Arc::clone(&bodies);
            std::thread::spawn(move || {
                let _ = serve_pipelining(stream, &bodies);
            });
        }
    });
    (port, accepted, connections)
}

fn serve_pipelining(stream: TcpStream, bodies: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 pipe.test ESMTP\r\n")?;
    let read_line = |input: &mut BufReader<TcpStream>| -> std::io::Result<String> {
        let mut line = String::new();
        input.read_line(&mut line)?;
        Ok(line)
    };
    loop {
        let line = read_line(&mut input)?;
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "" => return Ok(()),
            "EHLO" => out.write_all(b"250-pipe.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")?,
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            "MAIL" => {
                // No reply until RCPT and DATA are here too.
                let rcpt = read_line(&mut input)?;
                let data = read_line(&mut input)?;
                assert!(rcpt.starts_with("RCPT TO:<"), "{rcpt:?}");
                assert_eq!(data, "DATA\r\n");
                let to = rcpt["RCPT TO:<".len()..]
                    .split('>')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                if to == UNKNOWN_USER {
                    out.write_all(b"250 2.1.0 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n")?;
                    continue;
                }
                out.write_all(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n")?;
                let mut body = Vec::new();
                while !body.ends_with(b"\r\n.\r\n") {
                    if input.read_until(b'\n', &mut body)? == 0 {
                        return Ok(());
                    }
                }
                bodies.lock().unwrap().push(to);
                out.write_all(b"250 2.0.0 queued\r\n")?;
            }
            // RSET, NOOP
            _ => out.write_all(b"250 2.0.0 ok\r\n")?,
        }
    }
}

#[test]
fn a_pipelining_relay_gets_the_envelope_in_one_go_and_refusals_keep_their_meaning() {
    let (port, accepted, connections) = start_pipelining_relay();
    // A client that did not pipeline would wait here for the whole timeout.
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(3))).unwrap();
    assert_eq!(
        send_email(&mut transport, &email("Ann", "ann@example.com", "d1.ann")),
        DeliveryOutcome::Sent
    );
    match send_email(&mut transport, &email("", UNKNOWN_USER, "d1.nobody")) {
        DeliveryOutcome::Failed { reason, suppress } => {
            assert!(suppress, "an unknown user is suppressed");
            assert!(reason.contains("550"), "{reason}");
            assert!(reason.contains("RCPT TO"), "{reason}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(
        send_email(&mut transport, &email("Bob", "bob@example.com", "d1.bob")),
        DeliveryOutcome::Sent
    );
    drop(transport);
    assert_eq!(
        *accepted.lock().unwrap(),
        ["ann@example.com", "bob@example.com"]
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "one connection for all three"
    );
}

/// A gate that goes ahead and names the message its caller sends next.
struct Naming<'a>(Option<Envelope<'a>>);

impl Gate for Naming<'_> {
    fn ready(&mut self) {}

    fn go_ahead(&mut self) -> bool {
        true
    }

    fn next(&self) -> Option<Envelope<'_>> {
        self.0
    }
}

/// Sends `message` to `to`, naming `next` (its recipient and bytes) as
/// the message that follows.
fn send_naming(
    transport: &mut SmtpTransport,
    to: &str,
    message: &[u8],
    next: Option<(&str, &[u8])>,
) -> Option<DeliveryOutcome> {
    let mut gate = Naming(next.map(|(to, message)| Envelope {
        from: SENDER,
        to,
        message,
    }));
    transport.send_when(SENDER, to, message, &mut gate)
}

/// The bytes of a digest to `to`.
fn message_to(to: &str) -> Vec<u8> {
    build_message(&email("", to, to), &body(), None).unwrap()
}

/// A pipelining relay that answers the final dot of the first `ahead`
/// messages only once the next message's MAIL, RCPT and DATA are here too:
/// a client that waited for the dot's reply before sending them would hang
/// until its timeout. Records the recipient of every body it accepts.
fn start_relay_wanting_envelopes_ahead(ahead: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let bodies = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let Some(Ok(stream)) = listener.incoming().next() else {
            return;
        };
        let _ = serve_envelopes_ahead(stream, ahead, &bodies);
    });
    (port, accepted)
}

fn serve_envelopes_ahead(
    stream: TcpStream,
    mut ahead: usize,
    bodies: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    fn line(input: &mut BufReader<TcpStream>) -> std::io::Result<String> {
        let mut line = String::new();
        input.read_line(&mut line)?;
        Ok(line)
    }
    /// RCPT and DATA after a MAIL line; the recipient.
    fn rest_of_envelope(input: &mut BufReader<TcpStream>) -> std::io::Result<String> {
        let (rcpt, data) = (line(input)?, line(input)?);
        assert!(rcpt.starts_with("RCPT TO:<"), "{rcpt:?}");
        assert_eq!(data, "DATA\r\n");
        Ok(rcpt["RCPT TO:<".len()..]
            .split('>')
            .next()
            .unwrap_or_default()
            .to_owned())
    }
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 ahead.test ESMTP\r\n")?;
    let mut to = loop {
        let first = line(&mut input)?;
        if first.starts_with("EHLO") {
            out.write_all(b"250-ahead.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")?;
        } else if first.starts_with("MAIL") {
            let to = rest_of_envelope(&mut input)?;
            out.write_all(b"250 ok\r\n250 ok\r\n354 go ahead\r\n")?;
            break to;
        } else {
            return Ok(());
        }
    };
    loop {
        loop {
            let text = line(&mut input)?;
            if text.is_empty() {
                return Ok(());
            }
            if text == ".\r\n" {
                break;
            }
        }
        bodies.lock().unwrap().push(to.clone());
        if ahead == 0 {
            out.write_all(b"250 queued\r\n")?;
            return Ok(());
        }
        ahead -= 1;
        // Not answered before the next envelope is here.
        let mail = line(&mut input)?;
        assert!(mail.starts_with("MAIL FROM:<"), "{mail:?}");
        to = rest_of_envelope(&mut input)?;
        out.write_all(b"250 queued\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n")?;
    }
}

#[test]
fn the_next_message_s_envelope_goes_out_behind_the_body_and_waits_on_the_same_round_trip() {
    let (port, accepted) = start_relay_wanting_envelopes_ahead(2);
    // A client that waited for each dot's reply would wait the whole timeout.
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(3))).unwrap();
    let [ann, bob, cy] = ["ann@example.com", "bob@example.com", "cy@example.com"].map(message_to);
    let sent = Some(DeliveryOutcome::Sent);
    let next_bob = Some(("bob@example.com", bob.as_slice()));
    let next_cy = Some(("cy@example.com", cy.as_slice()));
    assert_eq!(
        send_naming(&mut transport, "ann@example.com", &ann, next_bob),
        sent
    );
    assert_eq!(
        send_naming(&mut transport, "bob@example.com", &bob, next_cy),
        sent
    );
    assert_eq!(
        send_naming(&mut transport, "cy@example.com", &cy, None),
        sent
    );
    drop(transport);
    assert_eq!(
        *accepted.lock().unwrap(),
        ["ann@example.com", "bob@example.com", "cy@example.com"]
    );
}

#[test]
fn sending_another_message_than_the_one_named_costs_the_connection_and_delivers_nothing_for_it() {
    let (port, accepted, connections) = start_pipelining_relay();
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(3))).unwrap();
    let [ann, bob, cy] = ["ann@example.com", "bob@example.com", "cy@example.com"].map(message_to);
    let sent = Some(DeliveryOutcome::Sent);
    let next_bob = Some(("bob@example.com", bob.as_slice()));
    assert_eq!(
        send_naming(&mut transport, "ann@example.com", &ann, next_bob),
        sent
    );
    // Bob's turn never comes (say, he unsubscribed meanwhile): the relay,
    // given his envelope, waits for his body; the connection goes instead.
    assert_eq!(
        send_naming(&mut transport, "cy@example.com", &cy, None),
        sent
    );
    // Named again, and dropped with its envelope out: nothing goes to Bob.
    assert_eq!(
        send_naming(&mut transport, "ann@example.com", &ann, next_bob),
        sent
    );
    drop(transport);
    assert_eq!(
        *accepted.lock().unwrap(),
        ["ann@example.com", "cy@example.com", "ann@example.com"]
    );
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

// ------------------------------------------------ SMTPUTF8 (RFC 6531)

mod common;

use common::smtp::Utf8Relay;

const UTF8_USER: &str = "读者@example.org";

/// The address in the parsed `To:` header of `data`.
fn to_address(data: &[u8]) -> String {
    let parsed = MessageParser::default().parse(data).expect("parseable");
    let to = parsed.to().expect("a To header").first().expect("one");
    to.address().expect("an address").to_owned()
}

#[test]
fn a_utf8_recipient_goes_out_with_smtputf8_and_ascii_ones_without_it() {
    for pipelining in [false, true] {
        let mut keywords = vec!["8BITMIME", "SMTPUTF8"];
        if pipelining {
            keywords.push("PIPELINING");
        }
        let relay = Utf8Relay::start(&keywords);
        let mut transport =
            SmtpTransport::new(settings(relay.port, Duration::from_secs(10))).unwrap();
        for (name, to, id) in [
            ("示例读者", UTF8_USER, "d1.reader"),
            ("Sam", "sam@example.org", "d1.sam"),
        ] {
            assert_eq!(
                send_email(&mut transport, &email(name, to, id)),
                DeliveryOutcome::Sent,
                "{to} pipelining={pipelining}"
            );
        }
        drop(transport);
        let sent = relay.transactions();
        assert_eq!(sent.len(), 2, "{sent:?}");
        // The UTF-8 header makes the message 8-bit: both parameters.
        assert_eq!(
            sent[0].mail,
            format!("MAIL FROM:<{SENDER}> BODY=8BITMIME SMTPUTF8")
        );
        assert_eq!(sent[0].rcpt, [format!("RCPT TO:<{UTF8_USER}>")]);
        assert_eq!(to_address(&sent[0].data), UTF8_USER);
        // An ASCII reader's envelope never asks for SMTPUTF8 (RFC 6531 §3.4).
        assert_eq!(sent[1].mail, format!("MAIL FROM:<{SENDER}>"));
        assert_eq!(sent[1].rcpt, ["RCPT TO:<sam@example.org>"]);
        assert_eq!(to_address(&sent[1].data), "sam@example.org");
        assert_eq!(relay.connections(), 1, "pipelining={pipelining}");
    }
}

#[test]
fn a_utf8_recipient_fails_unsuppressed_when_the_relay_lacks_smtputf8() {
    // mailin-embedded offers 8BITMIME but not SMTPUTF8.
    let (port, log) = start_mailin();
    let mut transport = SmtpTransport::new(settings(port, Duration::from_secs(10))).unwrap();
    match send_email(&mut transport, &email("示例读者", UTF8_USER, "d1.reader")) {
        DeliveryOutcome::Failed { reason, suppress } => {
            assert!(!suppress, "the relay's limitation, not a dead mailbox");
            assert!(reason.contains(UTF8_USER), "{reason}");
            assert!(reason.contains("relay does not offer SMTPUTF8"), "{reason}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(
        send_email(&mut transport, &email("Sam", "sam@example.org", "d1.sam")),
        DeliveryOutcome::Sent
    );
    drop(transport);
    let log = log.lock().unwrap();
    let delivered: Vec<&[String]> = log.messages.iter().map(|m| &m.to[..]).collect();
    assert_eq!(delivered, [["sam@example.org".to_owned()]]);
    assert_eq!(log.connections, 1, "the refusal kept the connection");
}
