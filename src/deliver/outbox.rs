//! A transport that writes each message to a folder as an `.eml` file, for
//! previews, tests and hand-off to another mailer.
//!
//! Part of `deliver`: it owns the outbox's file names and how durably each
//! file is written ([`files::write_atomic`](crate::files::write_atomic) for
//! a real outbox). It must never read messages back, render, or delete
//! files it did not write.

use super::{Gate, Transport};
use crate::files::{self, Atomic, Existing, FolderSync, TempName};
use crate::model::DeliveryOutcome;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How a real outbox writes a message. The temporary name is hidden and
/// ends in `.eml`. A message counts as sent only once its rename is
/// durable, so a failed fsync of the folder is an error (where a folder can
/// be opened: not on Windows).
const DURABLE: Atomic = Atomic {
    temp: TempName {
        prefix: ".tmp-",
        suffix: ".eml",
    },
    existing: Existing::Replace,
    folder_sync: FolderSync::Required,
};

/// Writes one `<message-id>.eml` file per message into a folder.
///
/// Files are written atomically (a temp file in the same folder, fsync,
/// rename), so a reader never sees half a message and a crash leaves no
/// partial file. The name comes from the `Message-ID` header, sanitised to
/// `[A-Za-z0-9._-]`; Message-IDs are deterministic per digest and
/// subscriber, so sending the same digest again overwrites rather than
/// duplicates.
#[derive(Debug)]
pub struct FileOutbox {
    dir: PathBuf,
    mode: Mode,
    /// Held while a preview file is created.
    creating: Mutex<()>,
}

/// How a [`FileOutbox`] writes each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Atomically and fsynced, as [`DURABLE`] says: an outbox.
    Durable,
    /// In place, not fsynced: a preview.
    Preview,
}

impl FileOutbox {
    /// An outbox writing into `dir`, which is created if missing.
    pub fn new(dir: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create outbox folder {}", dir.display()))?;
        Ok(FileOutbox {
            dir,
            mode: Mode::Durable,
            creating: Mutex::new(()),
        })
    }

    /// Like [`FileOutbox::new`], for previews (`send --dry-run`): each file
    /// is written in place, neither through a temp file nor fsynced, since
    /// nothing reads a preview while it is written or depends on it
    /// surviving a crash, and a temp file and a rename per message would
    /// double the folder operations that dominate a preview's time.
    pub fn preview(dir: PathBuf) -> Result<Self> {
        Ok(FileOutbox {
            mode: Mode::Preview,
            ..FileOutbox::new(dir)?
        })
    }

    /// The folder messages are written into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn write(&self, name: &str, message: &[u8]) -> std::io::Result<()> {
        let path = self.dir.join(name);
        match self.mode {
            Mode::Durable => Ok(files::write_atomic(&path, message, DURABLE)?),
            Mode::Preview => {
                let mut file = {
                    // Creating a file locks the folder, and threads waiting
                    // for that lock spin in the kernel, burning CPU: they
                    // take turns here, asleep, instead, and write their
                    // bytes in parallel.
                    let _turn = self.creating.lock().unwrap_or_else(|e| e.into_inner());
                    std::fs::File::create(path)?
                };
                file.write_all(message)
            }
        }
    }

    /// Writes one message; what [`Transport::send`] does, callable from
    /// many threads at once.
    pub fn store(&self, _envelope_from: &str, to: &str, message: &[u8]) -> DeliveryOutcome {
        let Some(id) = message_id(message) else {
            return DeliveryOutcome::Failed {
                reason: format!("message to {to} has no Message-ID header to name its file"),
                suppress: false,
            };
        };
        let name = file_name(&id);
        match self.write(&name, message) {
            Ok(()) => DeliveryOutcome::Sent,
            // Disk full, permissions: worth another try once fixed.
            Err(e) => DeliveryOutcome::Deferred(format!(
                "cannot write {}: {e}",
                self.dir.join(&name).display()
            )),
        }
    }
}

impl Transport for FileOutbox {
    fn send_when(
        &mut self,
        envelope_from: &str,
        to: &str,
        message: &[u8],
        gate: &mut dyn Gate,
    ) -> Option<DeliveryOutcome> {
        // Nothing to overlap with: a file in the outbox is a delivered message.
        gate.ready();
        gate.go_ahead()
            .then(|| self.store(envelope_from, to, message))
    }
}

/// The unfolded value of the first `Message-ID` header in the header block.
fn message_id(message: &[u8]) -> Option<String> {
    // Only the header block is read (it ends where a line break is followed
    // by an empty line): the body is most of a message's bytes.
    let end = message
        .windows(2)
        .position(|w| w[0] == b'\n' && matches!(w[1], b'\n' | b'\r'))
        .unwrap_or(message.len());
    let header_block = String::from_utf8_lossy(&message[..end]);
    let mut value: Option<String> = None;
    for line in header_block.lines() {
        match &mut value {
            Some(v) if line.starts_with([' ', '\t']) => v.push_str(line.trim()),
            Some(_) => break,
            None => {
                if let Some((name, rest)) = line.split_once(':')
                    && name.trim().eq_ignore_ascii_case("message-id")
                {
                    value = Some(rest.trim().to_owned());
                }
            }
        }
    }
    value.filter(|v| !v.is_empty())
}

/// `<a.b@c.d>` → `a.b_c.d.eml`: only `[A-Za-z0-9._-]`, never hidden, bounded length.
fn file_name(message_id: &str) -> String {
    let id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let mut name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    if name.starts_with('.') || name.is_empty() {
        name.insert(0, '_');
    }
    name.push_str(".eml");
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_is_sanitised() {
        assert_eq!(
            file_name("<d1.abc@news.example.org>"),
            "d1.abc_news.example.org.eml"
        );
        assert_eq!(file_name("<../../etc/passwd>"), "_.._.._etc_passwd.eml");
        assert_eq!(file_name("<>"), "_.eml");
    }

    #[test]
    fn finds_folded_message_id() {
        let msg =
            b"From: a@b.c\r\nMessage-ID:\r\n <x@y>\r\nSubject: s\r\n\r\nMessage-ID: <body@z>\r\n";
        assert_eq!(message_id(msg).as_deref(), Some("<x@y>"));
        assert_eq!(message_id(b"From: a@b.c\r\n\r\nMessage-ID: <b@z>"), None);
        assert_eq!(
            message_id(b"From: a@b.c\nMessage-ID: <x@y>\n\nMessage-ID: <b@z>").as_deref(),
            Some("<x@y>")
        );
        assert_eq!(message_id(b"From: a@b.c\n\nMessage-ID: <b@z>"), None);
    }
}
