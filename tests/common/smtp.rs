//! SMTP servers on loopback for delivery tests: a real SMTP server
//! implementation (mailin-embedded) that records what it accepts and can
//! refuse or defer chosen recipients, and a scripted relay for faults
//! mailin cannot produce (vanishing mid-run, never answering the final dot).
#![allow(dead_code)]

use mailin_embedded::{Handler, Response, Server};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};

/// One message as the relay received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Clone)]
struct Recorder {
    messages: Arc<Mutex<Vec<Received>>>,
    rcpt_replies: Arc<HashMap<String, (u16, String)>>,
    current: Option<Received>,
}

impl Handler for Recorder {
    fn rcpt(&mut self, to: &str) -> Response {
        let address = to.trim_matches(|c| c == '<' || c == '>').to_lowercase();
        match self.rcpt_replies.get(&address) {
            Some((code, text)) => Response::custom(*code, text.clone()),
            None => mailin_embedded::response::OK,
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: from.to_owned(),
            to: to.to_vec(),
            data: Vec::new(),
        });
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(message) = self.current.take() {
            self.messages.lock().unwrap().push(message);
        }
        mailin_embedded::response::OK
    }

    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        mailin_embedded::response::OK
    }
}

/// A mailin-embedded SMTP server running on 127.0.0.1 in a background thread.
pub struct MailServer {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<Received>>>,
}

impl MailServer {
    /// Starts a server; `rcpt_replies` maps an address to the reply its RCPT gets.
    pub fn start(rcpt_replies: &[(&str, u16, &str)]) -> MailServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let handler = Recorder {
            messages: Arc::clone(&messages),
            rcpt_replies: Arc::new(
                rcpt_replies
                    .iter()
                    .map(|(a, code, text)| (a.to_lowercase(), (*code, text.to_string())))
                    .collect(),
            ),
            current: None,
        };
        let mut server = Server::new(handler);
        server.with_name("test.relay").with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        MailServer { port, messages }
    }

    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }
}

/// How the scripted relay misbehaves.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Accept this many messages, then drop the connection at the next
    /// MAIL FROM and stop listening.
    VanishAfter(usize),
    /// Accept this many messages, then read the next one to its final dot
    /// and never answer (the sender is killed or times out).
    HangAfterDot(usize),
}

/// A minimal scripted SMTP relay on 127.0.0.1 for one connection at a
/// time; returns its port and the messages it accepted (250 after the dot).
pub fn start_faulty(fault: Fault) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let (port, accepted, _hung) = start_faulty_signalling(fault);
    (port, accepted)
}

/// [`start_faulty`], and a receiver that gets `()` when the relay has read
/// a final dot it will never answer ([`Fault::HangAfterDot`]), so a test
/// waits on that event instead of sleeping.
pub fn start_faulty_signalling(
    fault: Fault,
) -> (
    u16,
    Arc<Mutex<Vec<Received>>>,
    std::sync::mpsc::Receiver<()>,
) {
    let (hung_tx, hung) = std::sync::mpsc::channel();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut count = 0usize;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let _ = stream.write_all(b"220 scripted.relay ESMTP\r\n");
            let mut line = String::new();
            let mut to = Vec::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let upper = line.to_ascii_uppercase();
                if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                    let _ =
                        stream.write_all(b"250-scripted.relay\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
                } else if upper.starts_with("MAIL") {
                    if let Fault::VanishAfter(n) = fault
                        && count >= n
                    {
                        // The relay vanishes: this connection and every later one.
                        return;
                    }
                    to.clear();
                    let _ = stream.write_all(b"250 OK\r\n");
                } else if upper.starts_with("RCPT") {
                    to.push(line.trim().to_owned());
                    let _ = stream.write_all(b"250 OK\r\n");
                } else if upper.starts_with("DATA") {
                    let _ = stream.write_all(b"354 go ahead\r\n");
                    let mut data = Vec::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == ".\r\n" {
                            break;
                        }
                        data.extend_from_slice(line.as_bytes());
                    }
                    if let Fault::HangAfterDot(n) = fault
                        && count >= n
                    {
                        // Never answer; keep the socket open until the sender goes away.
                        let _ = hung_tx.send(());
                        let mut rest = String::new();
                        let _ = reader.read_line(&mut rest);
                        return;
                    }
                    count += 1;
                    record.lock().unwrap().push(Received {
                        from: String::new(),
                        to: to.clone(),
                        data,
                    });
                    let _ = stream.write_all(b"250 queued\r\n");
                } else if upper.starts_with("QUIT") {
                    let _ = stream.write_all(b"221 bye\r\n");
                    break;
                } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
                    let _ = stream.write_all(b"250 OK\r\n");
                } else {
                    let _ = stream.write_all(b"502 unknown command\r\n");
                }
            }
        }
    });
    (port, accepted, hung)
}

/// Where the stalling relay stops answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// Accept TCP and never greet (no 220).
    Greeting,
    /// Greet and answer EHLO, then never answer MAIL FROM.
    Mail,
    /// Accept this many messages on each connection, then never answer
    /// the next MAIL FROM.
    MailAfter(usize),
    /// Read each message to its final dot, report it, and answer 250 only
    /// when the test calls [`Stalling::release`].
    EachDot,
    /// [`Stall::EachDot`] from a relay that offers PIPELINING, so the
    /// client may send the next message's envelope behind each body.
    EachDotPipelining,
    /// Never stall: record each message, report it, answer 250.
    Never,
}

/// What the stalling relay saw, in order, so tests wait on real events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A connection was accepted.
    Connected,
    /// MAIL FROM arrived (and, with [`Stall::Mail`], will not be answered).
    Mail,
    /// A message's final dot arrived; the envelope recipient.
    Dot(String),
}

/// A scripted relay on 127.0.0.1, one thread per connection.
pub struct Stalling {
    pub port: u16,
    /// Messages answered with 250, in order.
    pub accepted: Arc<Mutex<Vec<Received>>>,
    pub seen: std::sync::mpsc::Receiver<Seen>,
    release: std::sync::mpsc::Sender<()>,
    /// Connections accepted so far.
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl Stalling {
    /// Lets one message held at its final dot ([`Stall::EachDot`]) be answered.
    pub fn release(&self) {
        let _ = self.release.send(());
    }

    /// The next thing the relay saw, waiting at most `seconds`.
    pub fn next(&self, seconds: u64) -> Option<Seen> {
        self.seen
            .recv_timeout(std::time::Duration::from_secs(seconds))
            .ok()
    }

    /// Waits (at most `seconds`) until the relay saw `what`, skipping the rest.
    pub fn wait_for(&self, seconds: u64, what: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.seen.recv_timeout(left) {
                Ok(seen) if what(&seen) => return seen,
                Ok(_) => {}
                Err(_) => panic!("the relay did not see what the test waits for in {seconds} s"),
            }
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.accepted.lock().unwrap().clone()
    }
}

/// Starts a relay that stalls as `stall` says.
pub fn start_stalling(stall: Stall) -> Stalling {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let (seen_tx, seen) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let record = Arc::clone(&accepted);
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (record, seen, release) = (
                Arc::clone(&record),
                seen_tx.clone(),
                Arc::clone(&release_rx),
            );
            std::thread::spawn(move || {
                let _ = serve_stalling(stream, stall, &record, &seen, &release);
            });
        }
    });
    Stalling {
        port,
        accepted,
        seen,
        release,
        connections,
    }
}

fn serve_stalling(
    stream: std::net::TcpStream,
    stall: Stall,
    record: &Mutex<Vec<Received>>,
    seen: &std::sync::mpsc::Sender<Seen>,
    release: &Mutex<std::sync::mpsc::Receiver<()>>,
) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let _ = seen.send(Seen::Connected);
    let mut line = String::new();
    // Silent until the client goes away.
    let drain = |reader: &mut BufReader<std::net::TcpStream>| {
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(reader, &mut rest);
    };
    if stall == Stall::Greeting {
        drain(&mut reader);
        return Ok(());
    }
    out.write_all(b"220 stalling.relay ESMTP\r\n")?;
    let mut to = Vec::new();
    let mut answered = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            out.write_all(b"250-stalling.relay\r\n")?;
            if stall == Stall::EachDotPipelining {
                out.write_all(b"250-PIPELINING\r\n")?;
            }
            out.write_all(b"250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if upper.starts_with("MAIL") {
            let _ = seen.send(Seen::Mail);
            if stall == Stall::Mail || stall == Stall::MailAfter(answered) {
                drain(&mut reader);
                return Ok(());
            }
            to.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT") {
            let address = line.trim()[8..].trim_matches(|c| c == '<' || c == '>' || c == ':');
            to.push(address.to_lowercase());
            out.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("DATA") {
            out.write_all(b"354 go ahead\r\n")?;
            let mut data = Vec::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    // Closed without the dot: nothing is delivered.
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.extend_from_slice(line.as_bytes());
            }
            if matches!(stall, Stall::EachDot | Stall::EachDotPipelining) {
                let _ = seen.send(Seen::Dot(to.join(",")));
                let go = release.lock().unwrap().recv();
                if go.is_err() {
                    return Ok(());
                }
                record.lock().unwrap().push(Received {
                    from: String::new(),
                    to: to.clone(),
                    data,
                });
            } else {
                record.lock().unwrap().push(Received {
                    from: String::new(),
                    to: to.clone(),
                    data,
                });
                let _ = seen.send(Seen::Dot(to.join(",")));
            }
            out.write_all(b"250 queued\r\n")?;
            answered += 1;
        } else if upper.starts_with("QUIT") {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
            out.write_all(b"250 OK\r\n")?;
        } else {
            out.write_all(b"502 unknown command\r\n")?;
        }
    }
}

/// One transaction as the [`Utf8Relay`] saw it: the `MAIL` and `RCPT`
/// command lines exactly as sent (parameters included) and the message
/// with the dot-stuffing undone.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub mail: String,
    pub rcpt: Vec<String>,
    pub data: Vec<u8>,
}

/// A scripted relay on 127.0.0.1 whose EHLO reply lists exactly the
/// keywords it is given (mailin-embedded cannot advertise SMTPUTF8), and
/// that records each accepted transaction's envelope lines. Like a real
/// SMTPUTF8 relay it refuses a UTF-8 address in a transaction that did not
/// ask for SMTPUTF8 (553 5.6.7, RFC 6531 §3.5). Replies go out one line at
/// a time, so a pipelined envelope is answered in order too.
pub struct Utf8Relay {
    pub port: u16,
    transactions: Arc<Mutex<Vec<Transaction>>>,
    connections: Arc<Mutex<usize>>,
}

impl Utf8Relay {
    /// Starts the relay offering `keywords` (e.g. `["8BITMIME", "SMTPUTF8"]`).
    pub fn start(keywords: &[&str]) -> Utf8Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let transactions = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let mut ehlo = String::from("250-utf8.relay");
        for keyword in keywords {
            ehlo.push_str("\r\n250-");
            ehlo.push_str(keyword);
        }
        ehlo.push_str("\r\n250 HELP\r\n");
        let (record, count) = (Arc::clone(&transactions), Arc::clone(&connections));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                *count.lock().unwrap() += 1;
                let (record, ehlo) = (Arc::clone(&record), ehlo.clone());
                std::thread::spawn(move || {
                    let _ = serve_utf8(stream, &ehlo, &record);
                });
            }
        });
        Utf8Relay {
            port,
            transactions,
            connections,
        }
    }

    /// The transactions accepted so far (250 after the final dot).
    pub fn transactions(&self) -> Vec<Transaction> {
        self.transactions.lock().unwrap().clone()
    }

    /// How many connections were opened to it.
    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

fn serve_utf8(
    mut stream: std::net::TcpStream,
    ehlo: &str,
    record: &Mutex<Vec<Transaction>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    stream.write_all(b"220 utf8.relay ESMTP\r\n")?;
    let mut current: Option<Transaction> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        // Commands are UTF-8 at most (RFC 6531); anything else is a bug to see.
        let command = String::from_utf8_lossy(&line).trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            ehlo.as_bytes()
        } else if upper.starts_with("MAIL FROM:") {
            let utf8_asked = upper.split_whitespace().any(|p| p == "SMTPUTF8");
            if !command.is_ascii() && !utf8_asked {
                b"553 5.6.7 non-ASCII sender without SMTPUTF8\r\n"
            } else {
                current = Some(Transaction {
                    mail: command,
                    rcpt: Vec::new(),
                    data: Vec::new(),
                });
                b"250 OK\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            match &mut current {
                None => b"503 5.5.1 MAIL first\r\n",
                Some(t)
                    if !command.is_ascii()
                        && !t.mail.to_ascii_uppercase().contains(" SMTPUTF8") =>
                {
                    b"553 5.6.7 non-ASCII recipient without SMTPUTF8\r\n"
                }
                Some(t) => {
                    t.rcpt.push(command);
                    b"250 OK\r\n"
                }
            }
        } else if upper == "DATA" {
            match current.take() {
                Some(mut t) if !t.rcpt.is_empty() => {
                    stream.write_all(b"354 go ahead\r\n")?;
                    loop {
                        line.clear();
                        if reader.read_until(b'\n', &mut line)? == 0 {
                            return Ok(());
                        }
                        if line == b".\r\n" {
                            break;
                        }
                        let unstuffed = if line.starts_with(b"..") {
                            &line[1..]
                        } else {
                            &line[..]
                        };
                        t.data.extend_from_slice(unstuffed);
                    }
                    record.lock().unwrap().push(t);
                    b"250 queued\r\n"
                }
                _ => b"503 5.5.1 no valid recipients\r\n",
            }
        } else if upper == "RSET" {
            current = None;
            b"250 OK\r\n"
        } else if upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            stream.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            b"502 5.5.2 unknown command\r\n"
        };
        stream.write_all(reply)?;
    }
}
