//! Register files as JSON Lines: each line the serde JSON of one core
//! record ([`Organisation`], [`Contact`], [`Development`],
//! [`ProjectIndicator`], [`WorkingGroup`]), whose `deny_unknown_fields`
//! catches a mistyped key. Serde's message becomes the rejection, with the
//! field serde names (the first part of the path to the fault).
//!
//! [`sniff_jsonl`] tells from a `.jsonl` file's first line whether it is a
//! register file at all; one that is not stays a file of documents.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::super::common::{Fault, UTF8_BOM};
use super::super::{FileError, jsonl::json_error};
use super::{Place, Record, RegisterKind, RegisterParsed};
use tudashalo_core::register::{
    Contact, Development, Organisation, ProjectIndicator, WorkingGroup,
};

/// The register kind a `.jsonl` file's first line says, by its keys
/// ([`RegisterKind::of_names`]); `None` for anything else (a document, not
/// JSON, not an object), which leaves the file to the documents importer.
pub fn sniff_jsonl(first_line: &str) -> Option<RegisterKind> {
    let line = first_line.trim_start_matches('\u{feff}').trim();
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(line) else {
        return None;
    };
    RegisterKind::of_names(object.keys().map(String::as_str))
}

/// Parses a register file of JSON Lines of `kind`. Blank lines are
/// skipped; a file without any record is refused.
pub fn parse_jsonl(
    file: &str,
    bytes: &[u8],
    kind: RegisterKind,
) -> Result<RegisterParsed, FileError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut parsed = RegisterParsed::new(kind, Place::file(file));
    let mut lines = 0;
    for (at, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        let record = std::str::from_utf8(raw)
            .map_err(|e| {
                Fault::line(format!(
                    "invalid UTF-8 at byte {} of the line",
                    e.valid_up_to() + 1
                ))
            })
            .and_then(|text| record(kind, text));
        parsed.push(at + 1, record);
    }
    if lines == 0 {
        return Err(FileError::new(file, "empty file: no records"));
    }
    Ok(parsed)
}

fn record(kind: RegisterKind, text: &str) -> Result<Record, Fault> {
    Ok(match kind {
        RegisterKind::Organisations => Record::Organisation(from_line::<Organisation>(text)?),
        RegisterKind::Contacts => Record::Contact(from_line::<Contact>(text)?),
        RegisterKind::Developments => Record::Development(from_line::<Development>(text)?),
        RegisterKind::Indicators => Record::Indicator(from_line::<ProjectIndicator>(text)?),
        RegisterKind::Groups => Record::Group(from_line::<WorkingGroup>(text)?),
    })
}

/// One line as `T`, its fault naming the field serde was in.
fn from_line<T: DeserializeOwned>(text: &str) -> Result<T, Fault> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        fault(&path, e.inner())
    })?;
    de.end()
        .map_err(|e| Fault::line(format!("not valid JSON: {}", json_error(&e))))?;
    Ok(value)
}

/// A serde fault as a rejection: `missing required field "name"`, or
/// `field "legal_form": unknown variant …` (with the path inside the field
/// when it is deeper: `at consortium[1].role: …`).
fn fault(path: &str, e: &serde_json::Error) -> Fault {
    let message = json_error(e);
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('`'))
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    if e.is_syntax() || e.is_eof() {
        return Fault::line(format!("not valid JSON: {message}"));
    }
    let top = path
        .split(['.', '['])
        .next()
        .filter(|s| !s.trim().is_empty() && path != ".")
        .map(str::to_string);
    if let Some(name) = quoted("missing field ") {
        return match top {
            Some(top) => Fault::field(&top, format!("at {path}: missing field \"{name}\"")),
            None => Fault::line(format!("missing required field \"{name}\"")).with_field(&name),
        };
    }
    match top {
        Some(top) if top == path => Fault::field(&top, message),
        Some(top) => Fault::field(&top, format!("at {path}: {message}")),
        None => match quoted("unknown field ").or_else(|| quoted("duplicate field ")) {
            // An empty key is no field to name: the line is at fault.
            Some(name) if name.trim().is_empty() => Fault::line(message),
            Some(name) => Fault::field(&name, message),
            None => Fault::line(message),
        },
    }
}
