//! Office documents (`.docx`, `.odt`) as they are: one file is one
//! [`Document`], exactly as a `.txt` file is ([`super::text`]): its id the
//! file name, its metadata the import command's flags ([`TextMeta`]), with
//! the file's own title, author and year where the flags say nothing.
//!
//! Layers, each knowing only its own concern: [`zipped`] reads parts out of
//! the zip container under caps (zip bombs); [`xml`] walks one XML part into
//! lines of text by a format's rules; [`docx`] and [`odt`] hold those rules
//! and the metadata parts. Extraction runs under `catch_unwind`, so a bug in
//! it costs one file ([`FailureKind::ExtractorCrash`]), never the import.
//!
//! Every failure is a [`FileError`] whose reason starts with a stable kind
//! ([`FailureKind::as_str`]): `strategia.docx: corrupt: word/document.xml:
//! unexpected end of XML at byte 1234`. An office file with no text is a
//! failure (`no-text`), never a silently empty document.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use super::common::{body_too_big, check_year, cut_title, flagged_document, id_from_path};
use super::{FileError, Limits, TextMeta};
use tudashalo_core::model::Document;

mod docx;
mod odt;
mod xml;
pub mod zipped;

/// The office formats this importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeFormat {
    /// Office Open XML text (Word 2007 and later).
    Docx,
    /// OpenDocument text (LibreOffice, OpenOffice).
    Odt,
}

/// Why an office file could not be imported: the first word of the
/// message, stable so that scripts (and a later `--json` field) can rely on
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Not a zip, a main part missing, or a part that is not well-formed XML.
    Corrupt,
    /// Password-protected.
    Encrypted,
    /// Over one of the caps of [`zipped`] or `max_body_bytes`.
    TooLarge,
    /// The document holds no text (or only white space).
    NoText,
    /// A valid file this importer does not read (another kind of
    /// OpenDocument, an unsupported compression method).
    Unsupported,
    /// The extractor panicked: a bug, reported for this file alone.
    ExtractorCrash,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Corrupt => "corrupt",
            FailureKind::Encrypted => "encrypted",
            FailureKind::TooLarge => "too-large",
            FailureKind::NoText => "no-text",
            FailureKind::Unsupported => "unsupported",
            FailureKind::ExtractorCrash => "extractor-crash",
        }
    }
}

/// A failure before the file's name is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub kind: FailureKind,
    pub detail: String,
}

impl Failure {
    pub(crate) fn new(kind: FailureKind, detail: impl Into<String>) -> Self {
        Failure {
            kind,
            detail: detail.into(),
        }
    }

    fn at(self, file: &str) -> FileError {
        FileError::new(file, format!("{}: {}", self.kind.as_str(), self.detail))
    }
}

/// What an extractor found in a file: its text (body, then notes) and the
/// properties it states.
#[derive(Debug, Default)]
pub(crate) struct Extracted {
    pub text: String,
    pub title: Option<String>,
    pub author: Option<String>,
    pub year: Option<i32>,
}

/// The signature of an OLE compound file. Word saves a password-protected
/// `.docx` as one (the zip inside it encrypted), and so is an old `.doc`.
const OLE_SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Turns one office file into a document. `file` is the label used in
/// messages, `path` the file's path (its stem becomes the id).
pub fn parse_office(
    format: OfficeFormat,
    file: &str,
    path: &Path,
    bytes: &[u8],
    meta: &TextMeta,
    limits: &Limits,
) -> Result<Document, FileError> {
    let id = id_from_path(file, path)?;
    let found = guarded(|| extract(format, bytes, limits, zipped::Caps::default()))
        .map_err(|f| f.at(file))?;
    // cleanup: the Hungarian clean-up goes here
    let body = found.text;
    if body.trim().is_empty() {
        return Err(Failure::new(FailureKind::NoText, "the document holds no text").at(file));
    }
    if body.len() > limits.max_body_bytes {
        return Err(too_large_text(body.len(), limits).at(file));
    }
    let title = found
        .title
        .map(|t| cut_title(&t))
        .filter(|t| !t.is_empty())
        .or_else(|| body.lines().find(|l| !l.trim().is_empty()).map(cut_title))
        .unwrap_or_default();
    let mut extra = serde_json::Map::new();
    if let Some(author) = found.author {
        extra.insert("author".into(), author.into());
    }
    flagged_document(file, id, title, body, meta, found.year, extra)
}

/// `.docx` into a document; [`parse_office`] for DOCX.
pub fn parse_docx(
    file: &str,
    path: &Path,
    bytes: &[u8],
    meta: &TextMeta,
    limits: &Limits,
) -> Result<Document, FileError> {
    parse_office(OfficeFormat::Docx, file, path, bytes, meta, limits)
}

/// `.odt` into a document; [`parse_office`] for ODT.
pub fn parse_odt(
    file: &str,
    path: &Path,
    bytes: &[u8],
    meta: &TextMeta,
    limits: &Limits,
) -> Result<Document, FileError> {
    parse_office(OfficeFormat::Odt, file, path, bytes, meta, limits)
}

fn extract(
    format: OfficeFormat,
    bytes: &[u8],
    limits: &Limits,
    caps: zipped::Caps,
) -> Result<Extracted, Failure> {
    if bytes.starts_with(OLE_SIGNATURE) {
        return Err(Failure::new(
            FailureKind::Encrypted,
            "an OLE compound file, not a zip: a password-protected Office file \
             (or a legacy .doc); save it without a password",
        ));
    }
    let mut container = zipped::Container::open(bytes, caps)?;
    match format {
        OfficeFormat::Docx => docx::extract(&mut container, limits),
        OfficeFormat::Odt => odt::extract(&mut container, limits),
    }
}

/// Runs an extractor so that its panic becomes this file's failure.
fn guarded<T>(run: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string());
        Err(Failure::new(FailureKind::ExtractorCrash, what))
    })
}

/// `too-large` for extracted text over `max_body_bytes`.
pub(crate) fn too_large_text(size: usize, limits: &Limits) -> Failure {
    Failure::new(
        FailureKind::TooLarge,
        format!("text of {}", body_too_big(size, limits)),
    )
}

/// The part `name`, which a file of its format must have.
pub(crate) fn required_part(
    container: &mut zipped::Container<'_>,
    name: &str,
) -> Result<Vec<u8>, Failure> {
    container
        .part(name)?
        .ok_or_else(|| Failure::new(FailureKind::Corrupt, format!("{name} is missing")))
}

/// The year of an ISO 8601 date (`2021-03-04T10:00:00Z`), when it is one
/// the node accepts. Editors write odd dates (Word's 1601 among them); such a
/// year is dropped rather than failing a file whose text is sound.
pub(crate) fn year_of(date: &str) -> Option<i32> {
    let year: i64 = date.trim().get(..4)?.parse().ok()?;
    check_year(year).ok()
}
