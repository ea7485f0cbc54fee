//! Shared helpers for integration tests: copy a fixture site to a temp
//! folder, run the real `gazette` binary in it, and read what it wrote.
#![allow(dead_code)]

pub mod cdp;
pub mod dkim;
pub mod html;
pub mod postgres;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The instant tests treat as "now" unless they say otherwise.
pub const NOW: &str = "2026-11-29T06:00:00+08:00";

/// A fixture site copied into a temporary folder.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    /// Copies `tests/fixtures/<name>` into a fresh temp folder.
    pub fn from_fixture(name: &str) -> Site {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&source, dir.path());
        Site { dir }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Runs gazette with `args` inside the site folder.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("GAZETTE_LOG")
            .output()
            .unwrap()
    }

    /// Runs `gazette --now <now> build` and asserts it succeeded.
    pub fn build_at(&self, now: &str) -> Output {
        let output = self.run(&["--now", now, "build"]);
        assert!(
            output.status.success(),
            "build failed:\n{}",
            stderr(&output)
        );
        output
    }

    /// The To: address of every message in the site's `outbox/`, sorted,
    /// as mail-parser reads them.
    pub fn outbox_recipients(&self) -> Vec<String> {
        let mut to: Vec<String> = std::fs::read_dir(self.path("outbox"))
            .unwrap()
            .map(|entry| to_address(&std::fs::read(entry.unwrap().path()).unwrap()))
            .collect();
        to.sort();
        to
    }

    pub fn build(&self) -> Output {
        self.build_at(NOW)
    }

    pub fn write(&self, relative: &str, bytes: impl AsRef<[u8]>) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    /// Parses `feeds/<locale>/<file>` with feed-rs, an independent reader.
    pub fn feed(&self, locale: &str, file: &str) -> feed_rs::model::Feed {
        let text = std::fs::read(self.path(&format!("feeds/{locale}/{file}"))).unwrap();
        feed_rs::parser::parse(&text[..]).unwrap()
    }

    /// Every file under `feeds/` with its bytes, sorted by path.
    pub fn snapshot_feeds(&self) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
        let mut files = Vec::new();
        collect(&self.path("feeds"), &mut files);
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap();
                let modified = std::fs::metadata(&p).unwrap().modified().unwrap();
                (p, bytes, modified)
            })
            .collect()
    }
}

/// With `GAZETTE_TEST_FEEDS` set (as `.ci/run` does), every RSS and Atom
/// file a test site published is kept under that folder when the site is
/// dropped, so CI can run the W3C validator over all of them.
impl Drop for Site {
    fn drop(&mut self) {
        let Some(keep) = std::env::var_os("GAZETTE_TEST_FEEDS") else {
            return;
        };
        let feeds = self.path("feeds");
        let mut files = Vec::new();
        if feeds.is_dir() {
            collect(&feeds, &mut files);
        }
        let name = self.dir.path().file_name().unwrap_or_default().to_owned();
        for file in files {
            if file.extension().is_none_or(|e| e != "xml") {
                continue;
            }
            let Ok(relative) = file.strip_prefix(&feeds) else {
                continue;
            };
            let target = Path::new(&keep).join(&name).join(relative);
            if let Some(parent) = target.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::copy(&file, &target);
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The first To: address of a message, as mail-parser reads it.
pub fn to_address(message: &[u8]) -> String {
    let parsed = mail_parser::MessageParser::default()
        .parse(message)
        .unwrap();
    parsed
        .to()
        .unwrap()
        .first()
        .unwrap()
        .address()
        .unwrap()
        .to_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
