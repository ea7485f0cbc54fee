//! A small Chrome DevTools Protocol client for tests: headless Chromium
//! (Debian's `chromium`, with the flags the project uses) driven over its
//! WebSocket, one page, to navigate, fill and submit forms as a reader
//! would, read what the page says, and take screenshots.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub struct Browser {
    child: Child,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    events: VecDeque<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium and opens one blank page.
    pub fn start() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--remote-debugging-port=0",
                "--window-size=900,1200",
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium runs (.ci/run installs Debian's chromium)");
        // Chromium writes the port and the browser's path once it listens.
        let file = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.to_owned(), path.to_owned());
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromium did not open its DevTools port"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let (socket, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}{path}")).unwrap();
        let mut browser = Browser {
            child,
            socket,
            session: String::new(),
            next_id: 0,
            events: VecDeque::new(),
            _profile: profile,
        };
        let target = browser.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let attached = browser.call_browser(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.call("Page.enable", json!({}));
        browser
    }

    fn send(&mut self, method: &str, params: Value, session: bool) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if session {
            message["sessionId"] = json!(self.session);
        }
        self.socket
            .send(Message::Text(message.to_string().into()))
            .unwrap();
        loop {
            let text = match self.socket.read().unwrap() {
                Message::Text(text) => text,
                _ => continue,
            };
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["id"] == json!(id) {
                if let Some(error) = value.get("error") {
                    panic!("{method}: {error}");
                }
                return value["result"].clone();
            }
            if value.get("method").is_some() {
                self.events.push_back(value);
            }
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, false)
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, true)
    }

    /// Waits for the page's `load` event.
    fn wait_loaded(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(at) = self
                .events
                .iter()
                .position(|e| e["method"] == "Page.loadEventFired")
            {
                self.events.drain(..=at);
                return;
            }
            assert!(Instant::now() < deadline, "the page did not load");
            let text = match self.socket.read().unwrap() {
                Message::Text(text) => text,
                _ => continue,
            };
            let value: Value = serde_json::from_str(&text).unwrap();
            if value.get("method").is_some() {
                self.events.push_back(value);
            }
        }
    }

    /// Opens `url` and waits until it has loaded.
    pub fn goto(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({"url": url}));
        self.wait_loaded();
    }

    /// Runs `script` in the page and returns its value.
    pub fn eval(&mut self, script: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": script, "returnByValue": true}),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{script}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Runs `script` (which submits a form or follows a link) and waits
    /// for the next page.
    pub fn navigate_by(&mut self, script: &str) {
        self.events.clear();
        self.eval(script);
        self.wait_loaded();
    }

    /// Types `value` into the field named `name`, as a reader does.
    pub fn fill(&mut self, name: &str, value: &str) {
        self.eval(&format!(
            "document.querySelector('[name={name}]').value = {};",
            serde_json::to_string(value).unwrap()
        ));
    }

    /// Ticks the radio button or checkbox `name` = `value`.
    pub fn check(&mut self, name: &str, value: &str) {
        self.eval(&format!(
            "document.querySelector('[name={name}][value=\"{value}\"]').click();"
        ));
    }

    /// Presses the page's submit button.
    pub fn press_submit(&mut self) {
        self.navigate_by("document.querySelector('button[type=submit]').click();");
    }

    /// Follows the link whose text is `text`.
    pub fn follow(&mut self, text: &str) {
        self.navigate_by(&format!(
            "[...document.querySelectorAll('a')].find(a => a.textContent.trim() === {}).click();",
            serde_json::to_string(text).unwrap()
        ));
    }

    /// What the page shows, as text.
    pub fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's `<html lang>`.
    pub fn lang(&mut self) -> String {
        self.eval("document.documentElement.lang")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves a PNG of the page.
    pub fn screenshot(&mut self, path: &std::path::Path) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
