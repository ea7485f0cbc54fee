//! The DATA payload: the message dot-stuffed (RFC 5321 §4.5.2) with its
//! terminating `CRLF.CRLF`, and, for bytes lettre must write itself, a way
//! to know that every body byte reached the socket.
//!
//! Pure formatting and bookkeeping: it must never touch the connection or
//! read a reply.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

/// Wraps the body iterator and records when it is exhausted: lettre's
/// `message_iter` asks for the next chunk only after writing the previous
/// one, so `done` means every body byte was handed to the socket and only
/// the final dot and its reply remain.
pub(super) struct Exhausted<'a, I> {
    pub(super) inner: I,
    pub(super) done: &'a Cell<bool>,
}

impl<I: Iterator> Iterator for Exhausted<'_, I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next();
        if item.is_none() {
            self.done.set(true);
        }
        item
    }
}

/// The DATA payload: the message with dot-stuffing (RFC 5321 §4.5.2) and
/// the terminating `CRLF.CRLF`, written by lettre's `command` in one piece.
pub(super) struct DataBody<'a>(pub(super) &'a str);

impl fmt::Display for DataBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&dot_stuff(self.0))?;
        if self.0.ends_with("\r\n") {
            f.write_str(".\r\n")
        } else {
            f.write_str("\r\n.\r\n")
        }
    }
}

/// The DATA payload and, behind it, the next message's envelope: one
/// write, so that the reply to the final dot and those to the envelope
/// come back together (RFC 2920 §3.1 lets message content open a group).
pub(super) struct DataBodyThen<'a> {
    pub(super) body: DataBody<'a>,
    pub(super) then: &'a str,
}

impl fmt::Display for DataBodyThen<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.body.fmt(f)?;
        f.write_str(self.then)
    }
}

/// Doubles a `.` at the start of every line, so no line of the message can
/// end the DATA phase early. Borrows when there is no such line, the usual
/// case: `body`'s encoders never start a line with `.`.
pub(super) fn dot_stuff(text: &str) -> Cow<'_, str> {
    if !text.starts_with('.') && memchr::memmem::find(text.as_bytes(), b"\n.").is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    Cow::Owned(out)
}
