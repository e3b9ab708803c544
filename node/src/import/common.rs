//! What every importer shares: the per-record fault type ([`Fault`]),
//! quoting found values in messages ([`quote`], [`describe`]), cleaning
//! labels and lists ([`non_empty`], [`clean_list`]), checking document ids
//! ([`check_id`]), years ([`check_year`]) and names ([`control_character`]),
//! the body-size message ([`body_too_big`]), lenient text decoding
//! ([`decode_lenient`]: UTF-8, else Windows-1250), and what the one-file
//! document importers (text, office) share: the id from the file name
//! ([`id_from_path`]), a title cut to length ([`cut_title`]) and the document
//! built from the import command's flags ([`flagged_document`]).

use std::borrow::Cow;
use std::path::Path;

use serde_json::Value;
use tudashalo_core::model::{Document, Kind};

use super::{FileError, Limits, Rejection, TextMeta};

/// The longest title taken from a file's first line (or an office file's
/// title property), in characters.
pub const MAX_TITLE_CHARS: usize = 300;

/// The longest document id accepted, in bytes. Ids are sled keys and appear
/// in every hit, so they are kept short.
pub const MAX_ID_BYTES: usize = 256;

/// The earliest and latest `year` accepted on a document.
pub const YEARS: std::ops::RangeInclusive<i64> = 1900..=2100;

/// How many characters of a found value a message shows before cutting it.
const QUOTE_CHARS: usize = 40;

/// The UTF-8 byte order mark, which some Windows editors write at the start.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Checks a year against [`YEARS`]; the error is the reason alone
/// (`2200 is outside 1900..=2100`), for each importer to frame.
pub(crate) fn check_year(year: i64) -> Result<i32, String> {
    match i32::try_from(year) {
        Ok(y) if YEARS.contains(&year) => Ok(y),
        _ => Err(format!(
            "{year} is outside {}..={}",
            YEARS.start(),
            YEARS.end()
        )),
    }
}

/// Why a body of `size` bytes is refused: over `max_body_bytes`.
pub(crate) fn body_too_big(size: usize, limits: &Limits) -> String {
    format!(
        "{size} bytes exceeds the limit of {} bytes (max_body_bytes in node.toml)",
        limits.max_body_bytes
    )
}

/// The reason a name or key is refused for its first control character, if
/// it has one: `contains a control character (U+0009)`.
pub(crate) fn control_character(s: &str) -> Option<String> {
    s.chars()
        .find(|c| c.is_control())
        .map(|c| format!("contains a control character (U+{:04X})", u32::from(c)))
}

/// The text of `bytes`: UTF-8 when they are valid UTF-8, else
/// Windows-1250, the usual legacy encoding of Hungarian Windows machines.
/// Valid UTF-8 is practically never produced by accident from Windows-1250
/// Hungarian text, so the order of the two attempts is safe. A byte order
/// mark is the caller's to strip.
pub(crate) fn decode_lenient(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => windows_1250(bytes),
    }
}

/// `bytes` read as Windows-1250 (every byte is a character).
pub(crate) fn windows_1250(bytes: &[u8]) -> Cow<'_, str> {
    encoding_rs::WINDOWS_1250
        .decode_without_bom_handling(bytes)
        .0
}

/// Drops strings that are empty after trimming.
pub(crate) fn non_empty(s: String) -> Option<String> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        None
    } else {
        Some(trimmed.to_string())
    }
}

/// Describes a JSON value for a message: its type, and the value itself when
/// it is short enough to help.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("a boolean {b}"),
        Value::Number(n) => format!("a number {n}"),
        Value::String(s) => quote(s),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// Quotes a found value for a message, JSON-style (control characters
/// escaped), cut after [`QUOTE_CHARS`] characters.
pub(crate) fn quote(s: &str) -> String {
    quote_at_most(s, QUOTE_CHARS)
}

/// Like [`quote`], with a chosen length; cutting is by characters, so it
/// never splits a multi-byte character.
pub(crate) fn quote_at_most(s: &str, max_chars: usize) -> String {
    let shown: String = match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    };
    serde_json::to_string(&shown).unwrap_or_else(|_| format!("{shown:?}"))
}

/// Trims every entry, drops the empty ones and removes repeats, keeping the
/// first occurrence's position.
pub(crate) fn clean_list<I>(items: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let trimmed = item.as_ref().trim();
        if !trimmed.is_empty() && !out.iter().any(|seen| seen == trimmed) {
            out.push(trimmed.to_string());
        }
    }
    out
}

/// Checks a document id and returns it trimmed. Ids are sled keys and travel
/// to hubs, so they must be non-empty, free of control characters and at
/// most [`MAX_ID_BYTES`] long. The error is the reason alone, without a field
/// name, so that each importer can frame it.
pub(crate) fn check_id(raw: &str) -> Result<String, String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err("empty".to_string());
    }
    if let Some(reason) = control_character(id) {
        return Err(reason);
    }
    if id.len() > MAX_ID_BYTES {
        return Err(format!(
            "{} bytes exceeds the limit of {MAX_ID_BYTES} bytes",
            id.len()
        ));
    }
    Ok(id.to_string())
}

/// Checks a document id ([`check_id`]) and that it does not start with a
/// register prefix (`development:`, …), which names register records
/// ([`tudashalo_core::register::reserved_prefix`]).
pub(crate) fn check_document_id(raw: &str) -> Result<String, String> {
    let id = check_id(raw)?;
    match tudashalo_core::register::reserved_prefix(&id) {
        Some(prefix) => Err(format!(
            "{} starts with \"{prefix}:\", which names register records",
            quote(&id)
        )),
        None => Ok(id),
    }
}

/// The document id of a one-file document: the file name without its
/// extension.
pub(crate) fn id_from_path(file: &str, path: &Path) -> Result<String, FileError> {
    let stem = path.file_stem().ok_or_else(|| {
        FileError::new(file, "the path has no file name to use as the document id")
    })?;
    let stem = stem.to_str().ok_or_else(|| {
        FileError::new(
            file,
            "the file name is not valid UTF-8, so it cannot be the document id; rename the file",
        )
    })?;
    check_document_id(stem).map_err(|reason| {
        FileError::new(
            file,
            format!("the file name cannot be the document id: {reason}"),
        )
    })
}

/// The id of a one-file document: its path relative to the imported
/// folder, without the extension, as a slug: lower case, accents folded,
/// every run of other characters one `-`, folders kept as `/`
/// (`2021/Fejlesztési terv (végleges).pdf` → `2021/fejlesztesi-terv-vegleges`).
/// Stable: the same path always gives the same id.
pub fn slug_id(file: &str, relative: &str) -> Result<String, FileError> {
    let relative = relative.replace('\\', "/");
    let without_extension = match relative.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !stem.ends_with('/') && !ext.contains('/') => {
            stem.to_string()
        }
        _ => relative.clone(),
    };
    let mut parts = Vec::new();
    for part in without_extension.split('/') {
        let folded = tudashalo_core::fold::fold(part);
        let mut slug = String::with_capacity(folded.len());
        for c in folded.chars() {
            if c.is_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        if !slug.is_empty() {
            parts.push(slug.to_string());
        }
    }
    let id = parts.join("/");
    check_document_id(&id).map_err(|reason| {
        FileError::new(
            file,
            format!("the path {relative:?} gives no usable document id: {reason}"),
        )
    })
}

/// `title` cut to [`MAX_TITLE_CHARS`] characters, trimmed.
pub(crate) fn cut_title(title: &str) -> String {
    let cut: String = title.trim().chars().take(MAX_TITLE_CHARS).collect();
    cut.trim_end().to_string()
}

/// A one-file document with its metadata from the import command's flags.
/// `year` is the file's own year (an office file's properties), used when
/// `--year` is not given; `extra` what the file says beyond the model.
pub(crate) fn flagged_document(
    file: &str,
    id: String,
    title: String,
    body: String,
    meta: &TextMeta,
    year: Option<i32>,
    extra: serde_json::Map<String, Value>,
) -> Result<Document, FileError> {
    let flagged = meta
        .year
        .map(|y| check_year(i64::from(y)))
        .transpose()
        .map_err(|reason| FileError::new(file, format!("year {reason}")))?;
    Ok(Document {
        id,
        title,
        body,
        kind: meta.kind.unwrap_or(Kind::Other),
        sectors: clean_list(&meta.sectors),
        settlements: clean_list(&meta.settlements),
        year: flagged.or(year),
        org: meta.org.clone().and_then(non_empty),
        visibility: meta.visibility.unwrap_or_default(),
        tags: clean_list(&meta.tags),
        url: None,
        source: None,
        extra,
    })
}

/// Why one record was rejected, before the file and line are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub field: Option<String>,
    pub reason: String,
}

impl Fault {
    /// A fault of the record as a whole.
    pub fn line(reason: impl Into<String>) -> Self {
        Fault {
            field: None,
            reason: reason.into(),
        }
    }

    /// A fault in one field; the reason is prefixed with `field "name": `.
    pub fn field(name: &str, reason: impl std::fmt::Display) -> Self {
        Fault {
            field: Some(name.to_string()),
            reason: format!("field \"{name}\": {reason}"),
        }
    }

    /// Names the field without changing the reason, for messages that
    /// already say which field they are about.
    pub fn with_field(mut self, name: &str) -> Self {
        self.field = Some(name.to_string());
        self
    }

    /// Places the fault in a file.
    pub fn at(self, file: &str, line: usize) -> Rejection {
        Rejection {
            file: file.to_string(),
            sheet: None,
            line,
            field: self.field,
            reason: self.reason,
        }
    }

    /// Places the fault in a row of a workbook's sheet (`R17`).
    pub fn at_sheet(self, file: &str, sheet: &str, row: usize) -> Rejection {
        Rejection {
            sheet: Some(sheet.to_string()),
            ..self.at(file, row)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_stable_ascii_paths() {
        let slug = |p: &str| slug_id("f", p).unwrap();
        assert_eq!(
            slug("2021/Fejlesztési terv (végleges).pdf"),
            "2021/fejlesztesi-terv-vegleges"
        );
        assert_eq!(slug("Stratégiák\\ŐSZI ülés.docx"), "strategiak/oszi-ules");
        assert_eq!(slug("strategia.docx"), "strategia");
        assert_eq!(slug(".rejtett"), "rejtett");
        assert_eq!(slug("a..b.txt"), "a-b");
        assert!(slug_id("f", "(((.pdf").is_err());
    }

    #[test]
    fn document_ids_may_not_take_a_register_prefix() {
        assert_eq!(
            check_document_id("group:vizugy"),
            Err("\"group:vizugy\" starts with \"group:\", which names register records".into())
        );
        assert_eq!(check_document_id("groups:x"), Ok("groups:x".into()));
        let err =
            id_from_path("organisation:o1.txt", Path::new("organisation:o1.txt")).unwrap_err();
        assert!(
            err.reason.contains("names register records"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn quoting_lists_and_ids() {
        assert_eq!(clean_list([" a ", "", "b", "a", "  "]), vec!["a", "b"]);
        assert_eq!(quote("a\"b\n"), r#""a\"b\n""#);
        assert_eq!(check_id(" ok "), Ok("ok".to_string()));
    }

    #[test]
    fn years_control_characters_and_decoding() {
        assert_eq!(check_year(2014), Ok(2014));
        assert_eq!(check_year(2200), Err("2200 is outside 1900..=2100".into()));
        assert_eq!(check_year(i64::MAX).map_err(|_| ()), Err(()));
        assert_eq!(
            control_character("a\tb").as_deref(),
            Some("contains a control character (U+0009)")
        );
        assert_eq!(control_character("Edelény"), None);
        assert_eq!(decode_lenient("ő".as_bytes()), "ő");
        assert_eq!(decode_lenient(b"\xf5"), "ő");
    }
}
