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
    (port, accepted)
}
