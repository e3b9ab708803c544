//! The JSON Lines document importer (`.jsonl` / `.ndjson`): one JSON object
//! per line, validated field by field into [`Document`]s.
//!
//! A bad line never spoils the file: it becomes a [`Rejection`] naming the
//! line, the field and what was found, and the other lines are still
//! imported. Only a file without any document at all is a [`FileError`].

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::common::{
    Fault, UTF8_BOM, body_too_big, check_document_id, check_year, clean_list, describe, non_empty,
    quote,
};
use super::{FileError, Incoming, Limits, Parsed, Rejection};
use tudashalo_core::model::{Document, Kind, Visibility};

/// Parses a JSON Lines file of documents held in memory.
///
/// A record without `visibility` (or with `null`) gets the default
/// (`federated`) here; [`DocumentReader::next_incoming`] tells the store
/// which ones did not state it, so that a stored document keeps its own.
///
/// Lines are split on `\n` (a trailing `\r` is dropped) and decoded as UTF-8
/// one by one, so that a single mangled line costs only that line. Blank
/// lines are skipped. Within the file an id may occur once: a later line with
/// the same id is rejected and the first one stays. [`DocumentReader`] does
/// the same over a reader, a batch at a time.
pub fn parse_documents(
    file: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Parsed<Document>, FileError> {
    let mut reader = DocumentReader::new(file, bytes, limits);
    let mut parsed = Parsed::default();
    loop {
        let batch = reader.next_batch(usize::MAX)?;
        if batch.is_empty() {
            break;
        }
        parsed.records.extend(batch);
    }
    parsed.rejected = reader.finish()?;
    Ok(parsed)
}

/// How much longer than `max_body_bytes` a line may be before it is rejected
/// unread: room for JSON escapes of the body and for the other fields.
const LINE_BYTES_PER_BODY_BYTE: usize = 8;
const LINE_BYTES_SLACK: usize = 1024 * 1024;

/// Reads a JSON Lines file of documents from `R` a batch at a time, so that
/// a file of any size is parsed in memory bounded by the batch (plus the ids
/// seen so far and the rejections, for the report).
///
/// The rules are those of [`parse_documents`]. A line longer than
/// `8 × max_body_bytes + 1 MiB` is rejected without being kept in memory.
pub struct DocumentReader<R> {
    file: String,
    reader: R,
    limits: Limits,
    max_line: usize,
    /// The number of the last line read (1-based).
    line: usize,
    /// The current line, reused from line to line.
    buf: Vec<u8>,
    /// Only accepted documents are remembered, so that a duplicate always
    /// points at the line whose document is actually imported.
    first_line_of: HashMap<String, usize>,
    non_blank: usize,
    rejected: Vec<Rejection>,
    done: bool,
}

/// One physical line as read: its bytes, or only its length when it was too
/// long to keep.
enum RawLine {
    Kept,
    TooLong { bytes: usize, blank: bool },
}

impl<R: std::io::BufRead> DocumentReader<R> {
    pub fn new(file: &str, reader: R, limits: &Limits) -> Self {
        DocumentReader {
            file: file.to_string(),
            reader,
            limits: *limits,
            max_line: limits
                .max_body_bytes
                .saturating_mul(LINE_BYTES_PER_BODY_BYTE)
                .saturating_add(LINE_BYTES_SLACK),
            line: 0,
            buf: Vec::new(),
            first_line_of: HashMap::new(),
            non_blank: 0,
            rejected: Vec::new(),
            done: false,
        }
    }

    /// The next accepted documents, at most `max` of them, with their line
    /// numbers; empty when the file is done. Rejected lines are kept for
    /// [`DocumentReader::finish`].
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<(usize, Document)>, FileError> {
        Ok(self
            .next_incoming(max)?
            .into_iter()
            .map(|(line, incoming)| (line, incoming.document))
            .collect())
    }

    /// Like [`DocumentReader::next_batch`], each document with whether its
    /// record stated a visibility.
    pub fn next_incoming(&mut self, max: usize) -> Result<Vec<(usize, Incoming)>, FileError> {
        let mut batch = Vec::new();
        while batch.len() < max.max(1) && !self.done {
            let Some(raw) = self.read_line()? else {
                self.done = true;
                break;
            };
            self.line += 1;
            let line = self.line;
            let fault = match raw {
                RawLine::TooLong { blank: true, .. } => continue,
                RawLine::TooLong { bytes, .. } => Fault::line(format!(
                    "line of {bytes} bytes exceeds the limit of {} bytes \
                     ({LINE_BYTES_PER_BODY_BYTE} × max_body_bytes in node.toml + 1 MiB)",
                    self.max_line
                )),
                RawLine::Kept => {
                    let mut raw = self.buf.as_slice();
                    if line == 1 {
                        raw = raw.strip_prefix(UTF8_BOM).unwrap_or(raw);
                    }
                    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                    if raw.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match parse_line(raw, &self.limits) {
                        Ok((doc, visibility_stated)) => match self.first_line_of.get(&doc.id) {
                            Some(&first) => Fault::line(format!(
                                "duplicate id {} (first at line {first})",
                                quote(&doc.id)
                            ))
                            .with_field("id"),
                            None => {
                                self.non_blank += 1;
                                self.first_line_of.insert(doc.id.clone(), line);
                                batch.push((
                                    line,
                                    Incoming {
                                        document: doc,
                                        visibility_stated,
                                    },
                                ));
                                continue;
                            }
                        },
                        Err(fault) => fault,
                    }
                }
            };
            self.non_blank += 1;
            self.rejected.push(fault.at(&self.file, line));
        }
        // A very long line should not keep its buffer for the rest of the file.
        self.buf.shrink_to(64 * 1024);
        Ok(batch)
    }

    /// Every rejected line, once the whole file has been read; a file without
    /// any non-blank line is a [`FileError`].
    pub fn finish(self) -> Result<Vec<Rejection>, FileError> {
        if self.non_blank == 0 {
            return Err(FileError::new(&self.file, "empty file: no documents"));
        }
        Ok(self.rejected)
    }

    /// Reads the next line (without its `\n`) into `buf`, or only measures
    /// it when it is longer than `max_line`. `None` at the end of the file.
    fn read_line(&mut self) -> Result<Option<RawLine>, FileError> {
        self.buf.clear();
        let mut bytes = 0usize;
        let mut blank = true;
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(FileError::new(&self.file, format!("cannot read: {e}")));
                }
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, used, end) = match available.iter().position(|&b| b == b'\n') {
                Some(at) => (&available[..at], at + 1, true),
                None => (available, available.len(), false),
            };
            bytes += chunk.len();
            if !too_long && self.buf.len() + chunk.len() > self.max_line {
                too_long = true;
                blank = self.buf.iter().all(u8::is_ascii_whitespace);
                self.buf.clear();
            }
            if too_long {
                blank = blank && chunk.iter().all(u8::is_ascii_whitespace);
            } else {
                self.buf.extend_from_slice(chunk);
            }
            self.reader.consume(used);
            if end {
                break;
            }
        }
        Ok(match (any, too_long) {
            (false, _) => None,
            (true, false) => Some(RawLine::Kept),
            (true, true) => Some(RawLine::TooLong { bytes, blank }),
        })
    }
}

/// Turns one non-blank line into a document and whether it stated its
/// visibility, or says why it cannot be one.
fn parse_line(raw: &[u8], limits: &Limits) -> Result<(Document, bool), Fault> {
    let text = std::str::from_utf8(raw).map_err(|e| {
        // Byte positions are 1-based, like line numbers, so that they match
        // what a hex editor's "offset + 1" or a column counter shows.
        Fault::line(format!(
            "invalid UTF-8 at byte {} of the line",
            e.valid_up_to() + 1
        ))
    })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Fault::line(format!("not valid JSON: {}", json_error(&e))))?;
    let Value::Object(object) = value else {
        return Err(Fault::line(format!(
            "expected a JSON object, found {}",
            describe(&value)
        )));
    };

    // The known fields are taken out in one pass; everything else goes to
    // `extra` in the order it was written, so that it comes back unchanged.
    let mut known = KnownFields::default();
    let mut extra = Map::new();
    for (key, value) in object {
        let slot = match key.as_str() {
            "id" => &mut known.id,
            "title" => &mut known.title,
            "body" => &mut known.body,
            "kind" => &mut known.kind,
            "sectors" => &mut known.sectors,
            "settlements" => &mut known.settlements,
            "tags" => &mut known.tags,
            "year" => &mut known.year,
            "org" => &mut known.org,
            "visibility" => &mut known.visibility,
            "url" => &mut known.url,
            _ => {
                extra.insert(key, value);
                continue;
            }
        };
        *slot = Some(value);
    }

    // Fields are checked in a fixed order, and the first fault is the one
    // reported, so the same line always gives the same message.
    let id = check_document_id(&required_string("id", known.id)?)
        .map_err(|reason| Fault::field("id", reason))?;
    let title = required_string("title", known.title)?.trim().to_string();
    if title.is_empty() {
        return Err(Fault::field("title", "empty"));
    }
    let body = required_string("body", known.body)?;
    if body.len() > limits.max_body_bytes {
        return Err(Fault::field("body", body_too_big(body.len(), limits)));
    }
    let kind = match optional_string("kind", known.kind)? {
        None => Kind::Other,
        Some(s) => s
            .trim()
            .parse()
            .map_err(|reason: String| Fault::field("kind", reason))?,
    };
    let sectors = string_list("sectors", known.sectors)?;
    let settlements = string_list("settlements", known.settlements)?;
    let tags = string_list("tags", known.tags)?;
    let year = year("year", known.year)?;
    let org = optional_string("org", known.org)?.and_then(non_empty);
    let stated = optional_string("visibility", known.visibility)?;
    let visibility_stated = stated.is_some();
    let visibility = match stated {
        None => Visibility::default(),
        Some(s) => s
            .trim()
            .parse()
            .map_err(|reason: String| Fault::field("visibility", reason))?,
    };
    let url = optional_string("url", known.url)?.and_then(non_empty);

    Ok((
        Document {
            id,
            title,
            body,
            kind,
            sectors,
            settlements,
            year,
            org,
            visibility,
            tags,
            url,
            source: None,
            extra,
        },
        visibility_stated,
    ))
}

/// The fields of a document line that the importer understands, as found.
#[derive(Default)]
struct KnownFields {
    id: Option<Value>,
    title: Option<Value>,
    body: Option<Value>,
    kind: Option<Value>,
    sectors: Option<Value>,
    settlements: Option<Value>,
    tags: Option<Value>,
    year: Option<Value>,
    org: Option<Value>,
    visibility: Option<Value>,
    url: Option<Value>,
}

/// A string field that must be present. An explicit `null` is a wrong type
/// rather than a missing field, because the key was written.
fn required_string(name: &str, value: Option<Value>) -> Result<String, Fault> {
    match value {
        None => Err(Fault::line(format!("missing required field \"{name}\"")).with_field(name)),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(Fault::field(
            name,
            format!("expected a string, found {}", describe(&other)),
        )),
    }
}

/// A string field that may be absent or `null`.
fn optional_string(name: &str, value: Option<Value>) -> Result<Option<String>, Fault> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Fault::field(
            name,
            format!("expected a string, found {}", describe(&other)),
        )),
    }
}

/// An array of strings that may be absent or `null`. A lone string is
/// refused rather than wrapped, since it usually means a comma-separated list
/// that would otherwise become one strange label.
fn string_list(name: &str, value: Option<Value>) -> Result<Vec<String>, Fault> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            let mut strings = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(s) => strings.push(s),
                    other => {
                        return Err(Fault::field(
                            name,
                            format!(
                                "expected an array of strings, but item {} is {}",
                                index + 1,
                                describe(&other)
                            ),
                        ));
                    }
                }
            }
            Ok(clean_list(strings))
        }
        Some(other) => Err(Fault::field(
            name,
            format!("expected an array of strings, found {}", describe(&other)),
        )),
    }
}

/// An integer year within [`YEARS`](super::common::YEARS), absent or `null` meaning unknown.
/// Floats (even `2014.0`) and numeric strings are refused, so that a
/// spreadsheet's formatting accident is noticed instead of guessed at.
fn year(name: &str, value: Option<Value>) -> Result<Option<i32>, Fault> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(y) => check_year(y)
                .map(Some)
                .map_err(|reason| Fault::field(name, reason)),
            None => Err(Fault::field(
                name,
                format!("expected an integer, found a number {n}"),
            )),
        },
        Some(other) => Err(Fault::field(
            name,
            format!("expected an integer, found {}", describe(&other)),
        )),
    }
}

/// serde_json's message without its "line 1", which is always 1 here and
/// would contradict the file line in front of it; the column stays.
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match full.strip_suffix(&suffix) {
        Some(message) => format!("{message} at column {}", e.column()),
        None => full,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::common::MAX_ID_BYTES;
    use super::*;

    fn parse(text: &str) -> Parsed<Document> {
        parse_documents("docs.jsonl", text.as_bytes(), &Limits::default()).unwrap()
    }

    fn only_rejection(text: &str) -> Rejection {
        let parsed = parse(text);
        assert!(
            parsed.records.is_empty(),
            "unexpected records: {:?}",
            parsed.records
        );
        assert_eq!(parsed.rejected.len(), 1, "{:?}", parsed.rejected);
        parsed.rejected.into_iter().next().unwrap()
    }

    const MINIMAL: &str = r#"{"id":"a","title":"Cím","body":"Szöveg"}"#;

    #[test]
    fn minimal_document_gets_defaults() {
        let parsed = parse(MINIMAL);
        assert!(parsed.rejected.is_empty());
        let (line, doc) = &parsed.records[0];
        assert_eq!(*line, 1);
        assert_eq!(doc.id, "a");
        assert_eq!(doc.title, "Cím");
        assert_eq!(doc.body, "Szöveg");
        assert_eq!(doc.kind, Kind::Other);
        assert_eq!(doc.visibility, Visibility::Federated);
        assert!(doc.sectors.is_empty() && doc.settlements.is_empty() && doc.tags.is_empty());
        assert_eq!(doc.year, None);
        assert_eq!(doc.org, None);
        assert_eq!(doc.url, None);
        assert!(doc.extra.is_empty());
    }

    #[test]
    fn full_document() {
        let line = r#"{"id":"  strat-2021 ","title":"Stratégia","body":"","kind":"project_plan","sectors":[" víz ","","víz","energia"],"settlements":["Edelény"],"tags":null,"year":2021,"org":"KSH","visibility":"public","url":"https://x.hu/a"}"#;
        let parsed = parse(line);
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let doc = &parsed.records[0].1;
        assert_eq!(doc.id, "strat-2021");
        assert_eq!(doc.body, "");
        assert_eq!(doc.kind, Kind::ProjectPlan);
        assert_eq!(doc.sectors, vec!["víz", "energia"]);
        assert_eq!(doc.settlements, vec!["Edelény"]);
        assert!(doc.tags.is_empty());
        assert_eq!(doc.year, Some(2021));
        assert_eq!(doc.org.as_deref(), Some("KSH"));
        assert_eq!(doc.visibility, Visibility::Public);
        assert_eq!(doc.url.as_deref(), Some("https://x.hu/a"));
    }

    #[test]
    fn blank_lines_crlf_and_bom_are_handled() {
        let text = "\u{feff}{\"id\":\"a\",\"title\":\"t\",\"body\":\"b\"}\r\n\r\n   \n{\"id\":\"b\",\"title\":\"t\",\"body\":\"b\"}\r\n";
        let parsed = parse(text);
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let lines: Vec<usize> = parsed.records.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![1, 4]);
    }

    #[test]
    fn malformed_json_line_is_rejected_with_column() {
        let text = format!("{MINIMAL}\n{{\"id\": \"b\", \"title\": }}\n");
        let parsed = parse(&text);
        assert_eq!(parsed.records.len(), 1);
        let r = &parsed.rejected[0];
        assert_eq!(r.line, 2);
        assert_eq!(r.field, None);
        assert!(r.reason.starts_with("not valid JSON: "), "{}", r.reason);
        assert!(r.reason.contains("column"), "{}", r.reason);
        assert!(!r.reason.contains("line 1"), "{}", r.reason);
        assert!(r.to_string().starts_with("docs.jsonl:2: not valid JSON: "));
    }

    #[test]
    fn trailing_garbage_is_not_json() {
        let r = only_rejection(&format!("{MINIMAL} x"));
        assert!(
            r.reason.starts_with("not valid JSON: trailing characters"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn non_object_line_is_rejected() {
        let r = only_rejection("[1, 2]");
        assert_eq!(
            r.to_string(),
            "docs.jsonl:1: expected a JSON object, found an array"
        );
        let r = only_rejection("\"hello\"");
        assert_eq!(r.reason, "expected a JSON object, found \"hello\"");
    }

    #[test]
    fn missing_required_fields() {
        let r = only_rejection(r#"{"id":"a","body":"b"}"#);
        assert_eq!(
            r.to_string(),
            "docs.jsonl:1: missing required field \"title\""
        );
        assert_eq!(r.field.as_deref(), Some("title"));
        let r = only_rejection(r#"{"title":"t","body":"b"}"#);
        assert_eq!(r.reason, "missing required field \"id\"");
        let r = only_rejection(r#"{"id":"a","title":"t"}"#);
        assert_eq!(r.reason, "missing required field \"body\"");
    }

    #[test]
    fn empty_id_and_title_are_rejected() {
        let r = only_rejection(r#"{"id":"   ","title":"t","body":"b"}"#);
        assert_eq!(r.reason, "field \"id\": empty");
        let r = only_rejection(r#"{"id":"a","title":" ","body":"b"}"#);
        assert_eq!(r.reason, "field \"title\": empty");
    }

    #[test]
    fn bad_ids_are_rejected() {
        let r = only_rejection(r#"{"id":"a\tb","title":"t","body":"b"}"#);
        assert_eq!(
            r.reason,
            "field \"id\": contains a control character (U+0009)"
        );
        let long = "x".repeat(MAX_ID_BYTES + 1);
        let r = only_rejection(&format!(r#"{{"id":"{long}","title":"t","body":"b"}}"#));
        assert_eq!(
            r.reason,
            "field \"id\": 257 bytes exceeds the limit of 256 bytes"
        );
        // Exactly at the limit is fine.
        let ok = "x".repeat(MAX_ID_BYTES);
        let parsed = parse(&format!(r#"{{"id":"{ok}","title":"t","body":"b"}}"#));
        assert_eq!(parsed.records.len(), 1);
    }

    #[test]
    fn year_of_wrong_type_is_rejected() {
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","year":"2014."}"#);
        assert_eq!(
            r.to_string(),
            "docs.jsonl:1: field \"year\": expected an integer, found \"2014.\""
        );
        assert_eq!(r.field.as_deref(), Some("year"));
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","year":2014.5}"#);
        assert_eq!(
            r.reason,
            "field \"year\": expected an integer, found a number 2014.5"
        );
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","year":2014.0}"#);
        assert_eq!(
            r.reason,
            "field \"year\": expected an integer, found a number 2014.0"
        );
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","year":"2014"}"#);
        assert_eq!(
            r.reason,
            "field \"year\": expected an integer, found \"2014\""
        );
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","year":1800}"#);
        assert_eq!(r.reason, "field \"year\": 1800 is outside 1900..=2100");
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","year":[2014]}"#);
        assert_eq!(
            r.reason,
            "field \"year\": expected an integer, found an array"
        );
    }

    #[test]
    fn other_wrong_types_are_rejected() {
        let r = only_rejection(r#"{"id":5,"title":"t","body":"b"}"#);
        assert_eq!(
            r.reason,
            "field \"id\": expected a string, found a number 5"
        );
        let r = only_rejection(r#"{"id":"a","title":null,"body":"b"}"#);
        assert_eq!(r.reason, "field \"title\": expected a string, found null");
        let r = only_rejection(r#"{"id":"a","title":"t","body":{"x":1}}"#);
        assert_eq!(
            r.reason,
            "field \"body\": expected a string, found an object"
        );
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","tags":"víz"}"#);
        assert_eq!(
            r.reason,
            "field \"tags\": expected an array of strings, found \"víz\""
        );
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","sectors":["a",true]}"#);
        assert_eq!(
            r.reason,
            "field \"sectors\": expected an array of strings, but item 2 is a boolean true"
        );
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","org":1}"#);
        assert_eq!(
            r.reason,
            "field \"org\": expected a string, found a number 1"
        );
    }

    #[test]
    fn long_strings_are_cut_in_messages() {
        let long = "é".repeat(100);
        let r = only_rejection(&format!(
            r#"{{"id":"a","title":"t","body":"b","year":"{long}"}}"#
        ));
        let expected = format!(
            "field \"year\": expected an integer, found \"{}…\"",
            "é".repeat(40)
        );
        assert_eq!(r.reason, expected);
    }

    #[test]
    fn unknown_kind_and_visibility_are_rejected() {
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","kind":"strategia"}"#);
        assert!(
            r.reason.starts_with(
                "field \"kind\": unknown kind \"strategia\" (expected one of strategy, "
            ),
            "{}",
            r.reason
        );
        assert_eq!(r.field.as_deref(), Some("kind"));
        let r = only_rejection(r#"{"id":"a","title":"t","body":"b","visibility":"secret"}"#);
        assert!(
            r.reason
                .starts_with("field \"visibility\": unknown visibility \"secret\"")
        );
    }

    #[test]
    fn null_kind_and_visibility_take_defaults() {
        let parsed =
            parse(r#"{"id":"a","title":"t","body":"b","kind":null,"visibility":null,"org":"  "}"#);
        let doc = &parsed.records[0].1;
        assert_eq!(doc.kind, Kind::Other);
        assert_eq!(doc.visibility, Visibility::Federated);
        assert_eq!(doc.org, None);
    }

    #[test]
    fn invalid_utf8_rejects_only_that_line() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MINIMAL.as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(b"{\"id\":\"b\",\"title\":\"\xff\",\"body\":\"b\"}\n");
        let parsed = parse_documents("docs.jsonl", &bytes, &Limits::default()).unwrap();
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(
            parsed.rejected[0].to_string(),
            "docs.jsonl:2: invalid UTF-8 at byte 20 of the line"
        );
    }

    #[test]
    fn unknown_fields_are_kept_in_order() {
        let parsed =
            parse(r#"{"zeta":1,"id":"a","alpha":{"x":[1,2]},"title":"t","body":"b","mid":null}"#);
        let doc = &parsed.records[0].1;
        let keys: Vec<&str> = doc.extra.keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["zeta", "alpha", "mid"]);
        assert_eq!(doc.extra["alpha"], serde_json::json!({"x": [1, 2]}));
        assert_eq!(doc.extra["mid"], Value::Null);
    }

    #[test]
    fn duplicate_ids_keep_the_first() {
        let text = "{\"id\":\"x\",\"title\":\"first\",\"body\":\"\"}\n\
                    {\"id\":\"y\",\"title\":\"t\",\"body\":\"\"}\n\
                    {\"id\":\" x \",\"title\":\"second\",\"body\":\"\"}\n";
        let parsed = parse(text);
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.records[0].1.title, "first");
        assert_eq!(parsed.rejected.len(), 1);
        let r = &parsed.rejected[0];
        assert_eq!(
            r.to_string(),
            "docs.jsonl:3: duplicate id \"x\" (first at line 1)"
        );
        assert_eq!(r.field.as_deref(), Some("id"));
    }

    #[test]
    fn rejected_line_does_not_claim_its_id() {
        let text = "{\"id\":\"x\",\"title\":\"\",\"body\":\"\"}\n{\"id\":\"x\",\"title\":\"t\",\"body\":\"\"}\n";
        let parsed = parse(text);
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.records[0].0, 2);
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].line, 1);
    }

    #[test]
    fn empty_file_is_an_error() {
        for text in ["", "\n\n", "  \r\n\t\n", "\u{feff}"] {
            let err =
                parse_documents("docs.jsonl", text.as_bytes(), &Limits::default()).unwrap_err();
            assert_eq!(err.to_string(), "docs.jsonl: empty file: no documents");
        }
    }

    #[test]
    fn all_lines_rejected_is_still_ok() {
        let parsed = parse("nope\n[]\n");
        assert!(parsed.records.is_empty());
        assert_eq!(parsed.rejected.len(), 2);
    }

    #[test]
    fn body_over_the_limit_is_rejected() {
        let body = "a".repeat(10 * 1024 * 1024);
        let line = format!(r#"{{"id":"big","title":"t","body":"{body}"}}"#);
        let r = only_rejection(&line);
        assert_eq!(
            r.reason,
            "field \"body\": 10485760 bytes exceeds the limit of 8388608 bytes (max_body_bytes in node.toml)"
        );
        assert_eq!(r.field.as_deref(), Some("body"));
        // A smaller configured limit applies as well.
        let limits = Limits {
            max_body_bytes: 3,
            ..Limits::default()
        };
        let parsed = parse_documents("docs.jsonl", MINIMAL.as_bytes(), &limits).unwrap();
        assert_eq!(parsed.rejected.len(), 1);
    }

    #[test]
    fn arbitrary_bytes_do_not_panic() {
        let samples: [&[u8]; 6] = [
            b"\xff\xfe\n\xc3\n\xe2\x82\n",
            b"{\"id\":\"\xe2\x82\"}",
            b"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
            b"\r\r\r\n\r",
            b"\xef\xbb\xbf\xef\xbb\xbf{}",
            b"{\"id\":\"a\",\"title\":\"t\",\"body\":\"b\",\"year\":1e400}",
        ];
        for bytes in samples {
            let _ = parse_documents("docs.jsonl", bytes, &Limits::default());
        }
        let deep = "[".repeat(10_000);
        let parsed = parse(&deep);
        assert_eq!(parsed.rejected.len(), 1);
    }

    #[test]
    fn the_reader_gives_the_same_result_a_batch_at_a_time() {
        let mut text = String::from("\u{feff}");
        for i in 0..25 {
            text.push_str(&format!(
                "{{\"id\":\"d{i}\",\"title\":\"t\",\"body\":\"{}\"}}\r\n",
                "é".repeat(i * 7)
            ));
            if i % 6 == 0 {
                text.push_str("nope\n  \n");
            }
        }
        text.push_str("{\"id\":\"d3\",\"title\":\"again\",\"body\":\"\"}");
        let whole = parse(&text);
        // A tiny buffer, so that lines and characters straddle its refills.
        let buffered = std::io::BufReader::with_capacity(7, text.as_bytes());
        let mut reader = DocumentReader::new("docs.jsonl", buffered, &Limits::default());
        let mut records = Vec::new();
        loop {
            let batch = reader.next_batch(4).unwrap();
            if batch.is_empty() {
                break;
            }
            assert!(batch.len() <= 4);
            records.extend(batch);
        }
        let rejected = reader.finish().unwrap();
        assert_eq!(records, whole.records);
        assert_eq!(rejected, whole.rejected);
        assert_eq!(records.len(), 25);
        assert_eq!(records[0].0, 1);
        assert_eq!(rejected.len(), 6);
        let last = rejected.last().unwrap();
        assert_eq!(
            last.to_string(),
            format!(
                "docs.jsonl:{}: duplicate id \"d3\" (first at line 6)",
                25 + 5 * 2 + 1
            )
        );
    }

    #[test]
    fn a_line_too_long_to_hold_is_rejected_unread() {
        let limits = Limits {
            max_body_bytes: 10,
            ..Limits::default()
        };
        let max_line = 10 * LINE_BYTES_PER_BODY_BYTE + LINE_BYTES_SLACK;
        let long = format!(
            "{{\"id\":\"hosszu\",\"title\":\"t\",\"body\":\"{}\"}}",
            "x".repeat(max_line)
        );
        let blank = " ".repeat(max_line + 5);
        let text =
            format!("{MINIMAL}\n{long}\n{blank}\n{{\"id\":\"b\",\"title\":\"t\",\"body\":\"b\"}}");
        let parsed = parse_documents("docs.jsonl", text.as_bytes(), &limits).unwrap();
        let ids: Vec<&str> = parsed.records.iter().map(|(_, d)| d.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b"]);
        assert_eq!(parsed.records[1].0, 4);
        assert_eq!(parsed.rejected.len(), 1, "{:?}", parsed.rejected);
        let r = &parsed.rejected[0];
        assert_eq!(r.line, 2);
        assert_eq!(r.field, None);
        assert_eq!(
            r.reason,
            format!(
                "line of {} bytes exceeds the limit of {max_line} bytes \
                 (8 × max_body_bytes in node.toml + 1 MiB)",
                long.len()
            )
        );
        // A line at the limit is read and judged on its fields.
        let at_limit = format!(
            "{{\"id\":\"c\",\"title\":\"t\",\"body\":\"b\",\"x\":\"{}\"}}",
            "y".repeat(max_line - 40)
        );
        assert_eq!(at_limit.len(), max_line);
        let parsed = parse_documents("docs.jsonl", at_limit.as_bytes(), &limits).unwrap();
        assert_eq!(parsed.records.len(), 1, "{:?}", parsed.rejected);
    }

    #[test]
    fn the_reader_tells_whether_a_line_stated_its_visibility() {
        let text = concat!(
            r#"{"id":"a","title":"t","body":"b"}"#,
            "\n",
            r#"{"id":"b","title":"t","body":"b","visibility":null}"#,
            "\n",
            r#"{"id":"c","title":"t","body":"b","visibility":"local"}"#,
            "\n",
        );
        let mut reader = DocumentReader::new("docs.jsonl", text.as_bytes(), &Limits::default());
        let stated: Vec<(String, bool, Visibility)> = reader
            .next_incoming(10)
            .unwrap()
            .into_iter()
            .map(|(_, i)| (i.document.id, i.visibility_stated, i.document.visibility))
            .collect();
        assert_eq!(
            stated,
            vec![
                ("a".into(), false, Visibility::Federated),
                ("b".into(), false, Visibility::Federated),
                ("c".into(), true, Visibility::Local),
            ]
        );
    }
}
