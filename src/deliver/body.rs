//! The body of a digest message, encoded once per digest: a
//! [`BodyTemplate`]'s fixed text is turned into transfer-encoded MIME bytes
//! when the digest is ready, and each message only encodes its few personal
//! values into the slots and concatenates.
//!
//! Part of `deliver` (MIME bytes). It knows which value goes into which
//! slot, never what the text says.
//!
//! Why pieces can be encoded apart: a quoted-printable piece always starts a
//! line and ends with its line closed (a soft line break `=` CRLF, which
//! decodes to nothing), so no line of the concatenation is longer than its
//! pieces' lines. Base64 has no such break, so each fixed piece is encoded
//! three times, once for each way the bytes before it can leave a 3-byte
//! group unfinished; a message encodes only the few bytes around each value.

use crate::model::{BodyTemplate, Form, Parts, Personal, Slot, Template};
use base64::Engine as _;
use lettre::message::header::ContentType;
use sha2::{Digest as _, Sha256};

/// Longest encoded line before its CRLF (RFC 2045 §6.7, §6.8).
const MAX_LINE: usize = 76;
/// Input bytes of one full base64 line: 57 bytes make 76 characters.
const BASE64_LINE_INPUT: usize = 57;

/// A digest's multipart/alternative body (text/plain first, text/html
/// last, both UTF-8), encoded once for every subscriber of the digest.
#[derive(Debug, Clone)]
pub struct EncodedBody {
    content_type: ContentType,
    named: [EncodedPart; 2],
    anonymous: [EncodedPart; 2],
    /// The closing delimiter, `CRLF--boundary--CRLF`.
    end: Vec<u8>,
    /// The bytes every message has: the fixed text and the part headers.
    fixed_len: usize,
}

impl EncodedBody {
    /// Encodes `template`'s fixed text. Each part is quoted-printable, or
    /// base64 when more than a third of its bytes would need escaping (the
    /// rule lettre applies to a whole part), so Chinese text stays compact.
    ///
    /// The boundary is `=_` and a hash of the template, so the same digest
    /// gives the same bytes, and it can never occur in the encoded parts:
    /// quoted-printable always writes `=` as `=3D`, base64 has no `=_`.
    pub fn new(template: &BodyTemplate) -> EncodedBody {
        let boundary = boundary(template);
        let parts = |parts: &Parts| {
            [
                EncodedPart::new(&parts.text, PartKind::Text, &boundary, Position::First),
                EncodedPart::new(&parts.html, PartKind::Html, &boundary, Position::Later),
            ]
        };
        let named = parts(&template.named);
        let anonymous = parts(&template.anonymous);
        let end = format!("\r\n--{boundary}--\r\n").into_bytes();
        let len =
            |parts: &[EncodedPart; 2]| parts.iter().map(EncodedPart::fixed_len).sum::<usize>();
        let fixed_len = len(&named).max(len(&anonymous)) + end.len();
        // `=_` and hex digits: always a valid, quoted parameter value.
        let content_type =
            ContentType::parse(&format!("multipart/alternative; boundary=\"{boundary}\""))
                .expect("a boundary of `=_` and hex digits parses");
        EncodedBody {
            content_type,
            named,
            anonymous,
            end,
            fixed_len,
        }
    }

    /// The `Content-Type` header of a message with this body.
    pub(super) fn content_type(&self) -> &ContentType {
        &self.content_type
    }

    /// The body of one message: the fixed bytes with `personal`'s values
    /// encoded into the slots, in one allocation.
    pub(super) fn fill(&self, personal: &Personal) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.filled_len_bound(personal));
        self.fill_into(personal, &mut out);
        out
    }

    /// Appends the body of one message to `out` (after its headers, say),
    /// which [`EncodedBody::filled_len_bound`] more bytes never outgrow.
    pub(super) fn fill_into(&self, personal: &Personal, out: &mut Vec<u8>) {
        for part in self.parts_for(personal) {
            part.fill(personal, out);
        }
        out.extend_from_slice(&self.end);
    }

    /// At most how many bytes the body of one message with `personal`
    /// takes, to allocate it once.
    pub(super) fn filled_len_bound(&self, personal: &Personal) -> usize {
        let parts = self.parts_for(personal);
        let personal_len: usize = parts
            .iter()
            .flat_map(|part| {
                part.slots
                    .iter()
                    .map(|&slot| personal.value(slot, part.kind.form()).len())
            })
            .sum();
        let slots: usize = parts.iter().map(|part| part.slots.len()).sum();
        // Either encoding writes at most 4 bytes per input byte (with line
        // breaks), plus a line end and a few carried bytes per slot.
        self.fixed_len + 4 * personal_len + 16 * slots
    }

    /// The parts with the reader's name, or those for a reader without one.
    fn parts_for(&self, personal: &Personal) -> &[EncodedPart; 2] {
        if personal.anonymous() {
            &self.anonymous
        } else {
            &self.named
        }
    }
}

/// `=_` and 32 hex digits of a hash of the template.
fn boundary(template: &BodyTemplate) -> String {
    let mut hash = Sha256::new();
    for parts in [&template.named, &template.anonymous] {
        for part in [&parts.text, &parts.html] {
            for fixed in &part.fixed {
                hash.update((fixed.len() as u64).to_le_bytes());
                hash.update(fixed.as_bytes());
            }
        }
    }
    format!("=_{}", hex::encode(&hash.finalize()[..16]))
}

/// Which of the two alternatives a part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartKind {
    /// text/plain; slots take the values' plain form.
    Text,
    /// text/html; slots take the values' HTML-escaped form.
    Html,
}

impl PartKind {
    fn mime_type(self) -> &'static str {
        match self {
            PartKind::Text => "text/plain",
            PartKind::Html => "text/html",
        }
    }

    /// The form [`Personal::value`] gives this part's values in.
    fn form(self) -> Form {
        match self {
            PartKind::Text => Form::Text,
            PartKind::Html => Form::Html,
        }
    }
}

/// Where a part stands in the multipart body, which decides how its
/// delimiter starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// The first part: its delimiter starts the body (there is no preamble).
    First,
    /// Any later part: its delimiter starts with the CRLF that ends the
    /// part before (RFC 2046 §5.1.1).
    Later,
}

/// One part (text or HTML), its fixed pieces encoded.
#[derive(Debug, Clone)]
struct EncodedPart {
    /// The delimiter and the part's headers, up to the blank line.
    head: Vec<u8>,
    kind: PartKind,
    slots: Vec<Slot>,
    encoded: Encoded,
}

#[derive(Debug, Clone)]
enum Encoded {
    /// One encoded piece per fixed text, each ending with its line closed.
    QuotedPrintable(Vec<Vec<u8>>),
    Base64(Vec<Base64Piece>),
}

impl EncodedPart {
    fn new(template: &Template, kind: PartKind, boundary: &str, position: Position) -> EncodedPart {
        let base64 = !quoted_printable_is_compact(&template.fixed);
        let encoded = if base64 {
            Encoded::Base64(template.fixed.iter().map(|f| Base64Piece::new(f)).collect())
        } else {
            Encoded::QuotedPrintable(
                template
                    .fixed
                    .iter()
                    .map(|fixed| {
                        let mut out = Vec::with_capacity(fixed.len() * 11 / 10);
                        quoted_printable(fixed.as_bytes(), &mut out);
                        out
                    })
                    .collect(),
            )
        };
        // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
        let head = format!(
            "{}--{boundary}\r\nContent-Type: {}; charset=utf-8\r\n\
             Content-Transfer-Encoding: {}\r\n\r\n",
            match position {
                Position::First => "",
                Position::Later => "\r\n",
            },
            kind.mime_type(),
            if base64 { "base64" } else { "quoted-printable" },
        );
        EncodedPart {
            head: head.into_bytes(),
            kind,
            slots: template.slots.clone(),
            encoded,
        }
    }

    fn fixed_len(&self) -> usize {
        self.head.len()
            + match &self.encoded {
                Encoded::QuotedPrintable(pieces) => pieces.iter().map(Vec::len).sum::<usize>(),
                Encoded::Base64(pieces) => pieces.iter().map(|p| p.encoded[0].len()).sum::<usize>(),
            }
    }

    fn fill(&self, personal: &Personal, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.head);
        let values = self
            .slots
            .iter()
            .map(|&slot| personal.value(slot, self.kind.form()));
        match &self.encoded {
            Encoded::QuotedPrintable(pieces) => {
                // `pieces` has one more element than `slots`.
                out.extend_from_slice(&pieces[0]);
                for (value, piece) in values.zip(&pieces[1..]) {
                    quoted_printable(value.as_bytes(), out);
                    out.extend_from_slice(piece);
                }
            }
            Encoded::Base64(pieces) => {
                let mut lines = Base64Lines::new(out);
                pieces[0].append(&mut lines);
                for (value, piece) in values.zip(&pieces[1..]) {
                    lines.push_text(value.as_bytes());
                    piece.append(&mut lines);
                }
                lines.close_line();
            }
        }
    }
}

/// lettre's rule: quoted-printable unless more than a third of the bytes
/// need escaping (line breaks count, as lettre counts them).
fn quoted_printable_is_compact(fixed: &[String]) -> bool {
    let (escaped, total) = fixed.iter().fold((0, 0), |(escaped, total), text| {
        let bytes = text.as_bytes();
        let needing = bytes
            .iter()
            .filter(|&&b| !matches!(b, b'\t' | b' '..=b'~'))
            .count();
        (escaped + needing, total + bytes.len())
    });
    escaped <= total / 3
}

/// Appends `text` quoted-printable encoded (RFC 2045 §6.7) to `out` as if
/// it started a line, and closes its last line: with a soft line break
/// unless it ended with a hard one. Line breaks (LF or CRLF) become CRLF;
/// a lone CR is encoded. `=`, non-ASCII bytes, spaces and tabs before a
/// line break, and a `.` starting a line are encoded: the last keeps SMTP
/// dot-stuffing on its no-copy path. A UTF-8 character is never split
/// across lines; no line exceeds 76 characters.
fn quoted_printable(text: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut column = 0;
    let mut i = 0;
    while i < text.len() {
        let byte = text[i];
        let line_break = match byte {
            b'\n' => 1,
            b'\r' if text.get(i + 1) == Some(&b'\n') => 2,
            _ => 0,
        };
        if line_break > 0 {
            out.extend_from_slice(b"\r\n");
            column = 0;
            i += line_break;
            continue;
        }
        let len = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        }
        .min(text.len() - i);
        let literal = |column: usize| match byte {
            b'=' => false,
            b'.' => column > 0,
            // A space may end a line only before a soft line break.
            b' ' | b'\t' => !matches!(
                (text.get(i + 1), text.get(i + 2)),
                (Some(b'\n'), _) | (Some(b'\r'), Some(b'\n'))
            ),
            b'!'..=b'~' => true,
            _ => false,
        };
        let width = |column| if literal(column) { 1 } else { 3 * len };
        // Leave room for the `=` of a soft line break.
        if column + width(column) > MAX_LINE - 1 {
            out.extend_from_slice(b"=\r\n");
            column = 0;
        }
        if literal(column) {
            out.push(byte);
        } else {
            for &b in &text[i..i + len] {
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
        }
        column += width(column);
        i += len;
    }
    if column > 0 {
        out.extend_from_slice(b"=\r\n");
    }
}

/// A fixed piece of a base64 part. The bytes before it may leave 0, 1 or 2
/// bytes of a 3-byte group waiting; then its first `k` bytes (k = 0, 1, 2)
/// finish that group and the rest is pre-encoded from byte `k`.
#[derive(Debug, Clone)]
struct Base64Piece {
    /// The piece with CRLF line breaks.
    raw: Vec<u8>,
    /// For each `k`: base64 lines of the whole 3-byte groups from byte `k`
    /// (empty when the piece is shorter than `k`).
    encoded: [Vec<u8>; 3],
}

impl Base64Piece {
    fn new(fixed: &str) -> Base64Piece {
        let mut raw = Vec::with_capacity(fixed.len() + fixed.len() / 32);
        Base64Lines::crlf(fixed.as_bytes(), |bytes| raw.extend_from_slice(bytes));
        let encoded = [0, 1, 2].map(|k| {
            let mut out = Vec::new();
            if raw.len() >= k {
                let whole = k + (raw.len() - k) / 3 * 3;
                let mut lines = Base64Lines::new(&mut out);
                lines.push(&raw[k..whole]);
                lines.close_line();
            }
            out
        });
        Base64Piece { raw, encoded }
    }

    /// Appends this piece after whatever `lines` holds.
    fn append(&self, lines: &mut Base64Lines<'_>) {
        let k = (3 - lines.pending % 3) % 3;
        if self.raw.len() < k {
            lines.push(&self.raw);
            return;
        }
        lines.push(&self.raw[..k]);
        // A whole number of groups is waiting: no padding.
        lines.close_line();
        lines.out.extend_from_slice(&self.encoded[k]);
        let whole = k + (self.raw.len() - k) / 3 * 3;
        lines.push(&self.raw[whole..]);
    }
}

/// Writes bytes as base64 lines of at most 76 characters, each ending with
/// CRLF. Decoders ignore line breaks, so a line may end early.
struct Base64Lines<'a> {
    out: &'a mut Vec<u8>,
    buffer: [u8; BASE64_LINE_INPUT],
    pending: usize,
}

impl<'a> Base64Lines<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Base64Lines {
            out,
            buffer: [0; BASE64_LINE_INPUT],
            pending: 0,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let take = (BASE64_LINE_INPUT - self.pending).min(bytes.len());
            self.buffer[self.pending..self.pending + take].copy_from_slice(&bytes[..take]);
            self.pending += take;
            bytes = &bytes[take..];
            if self.pending == BASE64_LINE_INPUT {
                self.close_line();
            }
        }
    }

    /// Pushes text with its line breaks made CRLF, as the text part's
    /// canonical form requires.
    fn push_text(&mut self, text: &[u8]) {
        Base64Lines::crlf(text, |bytes| self.push(bytes));
    }

    /// Calls `sink` with `text` in pieces, a CR added before each LF that has none.
    fn crlf(text: &[u8], mut sink: impl FnMut(&[u8])) {
        let mut start = 0;
        for (i, &byte) in text.iter().enumerate() {
            if byte == b'\n' && (i == 0 || text[i - 1] != b'\r') {
                sink(&text[start..i]);
                sink(b"\r");
                start = i;
            }
        }
        sink(&text[start..]);
    }

    /// Encodes what is waiting as one line (padded if it is not a whole
    /// number of 3-byte groups).
    fn close_line(&mut self) {
        if self.pending == 0 {
            return;
        }
        let mut line = [0u8; MAX_LINE];
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(&self.buffer[..self.pending], &mut line)
            .expect("57 bytes encode to 76 characters");
        self.out.extend_from_slice(&line[..written]);
        self.out.extend_from_slice(b"\r\n");
        self.pending = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quoted-printable decoder for the tests (RFC 2045 §6.7).
    fn decode_qp(encoded: &[u8]) -> Vec<u8> {
        let text = std::str::from_utf8(encoded).unwrap().replace("=\r\n", "");
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    fn qp(text: &str) -> String {
        let mut out = Vec::new();
        quoted_printable(text.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quoted_printable_closes_every_piece_and_keeps_lines_short() {
        assert_eq!(qp("a=b"), "a=3Db=\r\n");
        assert_eq!(qp("line\n"), "line\r\n");
        assert_eq!(qp(""), "");
        // Spaces before a hard break are encoded; before a soft one they need not be.
        assert_eq!(qp("a \nb "), "a=20\r\nb =\r\n");
        // A dot never starts a line, so SMTP never has to stuff one.
        assert_eq!(qp(".\n.x. y"), "=2E\r\n=2Ex. y=\r\n");
        // A lone CR is data; LF and CRLF are line breaks.
        assert_eq!(qp("a\rb\r\nc\nd"), "a=0Db\r\nc\r\nd=\r\n");
        for text in [
            "x".repeat(300),
            "é".repeat(100),
            format!("{} .", "y".repeat(74)),
        ] {
            let encoded = qp(&text);
            for line in encoded.split("\r\n") {
                assert!(line.len() <= MAX_LINE, "{line:?}");
                assert!(!line.starts_with('.'), "{line:?}");
            }
            // A character is never split across lines.
            assert!(!encoded.contains("=C3=\r\n"), "{encoded}");
            assert_eq!(decode_qp(encoded.as_bytes()), text.as_bytes());
        }
    }

    /// Every way the bytes before a fixed piece can leave a base64 group
    /// unfinished, and fixed pieces shorter than the group's rest.
    #[test]
    fn base64_slots_decode_to_the_concatenation_whatever_the_alignment() {
        for fixed in [["head", "é", "tail"], ["", "", ""], ["ab", "cde\n", "f\n"]] {
            let template = Template {
                fixed: fixed.iter().map(|s| s.to_string()).collect(),
                slots: vec![Slot::Name, Slot::UnsubscribeUrl],
            };
            let encoded: Vec<Base64Piece> =
                template.fixed.iter().map(|f| Base64Piece::new(f)).collect();
            for name_len in 0..7 {
                for url_len in 0..4 {
                    let name = "n".repeat(name_len);
                    let url = "u\n".repeat(url_len);
                    let mut out = Vec::new();
                    let mut lines = Base64Lines::new(&mut out);
                    encoded[0].append(&mut lines);
                    lines.push_text(name.as_bytes());
                    encoded[1].append(&mut lines);
                    lines.push_text(url.as_bytes());
                    encoded[2].append(&mut lines);
                    lines.close_line();
                    let joined: Vec<u8> = out
                        .iter()
                        .copied()
                        .filter(|b| !b"\r\n".contains(b))
                        .collect();
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(&joined)
                        .unwrap();
                    let expected = format!("{}{name}{}{url}{}", fixed[0], fixed[1], fixed[2])
                        .replace("\r\n", "\n")
                        .replace('\n', "\r\n");
                    assert_eq!(
                        String::from_utf8(decoded).unwrap(),
                        expected,
                        "{fixed:?} {name_len} {url_len}"
                    );
                    for line in out.split(|&b| b == b'\n') {
                        assert!(line.len() <= MAX_LINE + 1);
                    }
                }
            }
        }
    }

    #[test]
    fn mostly_chinese_text_is_base64_and_mostly_ascii_is_quoted_printable() {
        let fixed = |s: &str| vec![s.to_owned()];
        assert!(quoted_printable_is_compact(&fixed("<p>Hello, Zoë</p>")));
        assert!(!quoted_printable_is_compact(&fixed(
            "成渝新铁路通车，新线路将行程缩短"
        )));
    }
}
