//! HTML as Python's standard HTML parser reads it, for tests that check
//! what a page says and links to, not how its bytes look.
#![allow(dead_code)]

use std::io::Write as _;
use std::process::{Command, Stdio};

/// What Python's HTML parser reads in a page.
#[derive(serde::Deserialize, Debug)]
pub struct Page {
    /// The visible text: everything but `<style>` and `<title>`.
    pub text: String,
    /// Every text node, `<style>` and `<title>` included.
    pub all_text: String,
    /// Every tag opened, in order.
    pub tags: Vec<String>,
    /// Every `href` and `src`, with the tag it is on.
    pub links: Vec<(String, String)>,
    /// `<link>` elements as (rel, hreflang, type, href).
    pub heads: Vec<(String, String, String, String)>,
}

const SCRIPT: &str = "import html.parser, json, sys\n\
class P(html.parser.HTMLParser):\n\
\x20   def __init__(self):\n\
\x20       super().__init__(convert_charrefs=True)\n\
\x20       self.text = ''; self.all_text = ''; self.tags = []; self.links = []; self.heads = []; self.skip = 0\n\
\x20   def handle_starttag(self, tag, attrs):\n\
\x20       a = dict(attrs); self.tags.append(tag)\n\
\x20       if tag in ('style', 'title'): self.skip += 1\n\
\x20       for k in ('href', 'src'):\n\
\x20           if k in a: self.links.append((tag, a[k]))\n\
\x20       if tag == 'link': self.heads.append((a.get('rel', ''), a.get('hreflang', ''), a.get('type', ''), a.get('href', '')))\n\
\x20   def handle_endtag(self, tag):\n\
\x20       if tag in ('style', 'title'): self.skip -= 1\n\
\x20   def handle_data(self, data):\n\
\x20       self.all_text += data\n\
\x20       if not self.skip: self.text += data\n\
p = P(); p.feed(sys.stdin.read()); p.close()\n\
print(json.dumps({'text': p.text, 'all_text': p.all_text, 'tags': p.tags, 'links': p.links, 'heads': p.heads}))\n";

/// Parses `html` with Python's `html.parser`.
pub fn parse(html: &str) -> Page {
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(html.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).unwrap()
}
