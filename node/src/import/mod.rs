//! Importers: turn the operator's files into validated domain records.
//!
//! Parsing is pure: bytes (or, for documents, a reader read a batch at a
//! time: [`DocumentReader`]) in, records and rejections out. Nothing here
//! touches sled or tantivy; the store applies a parsed file as one unit. Every
//! rejection names the file, the line and, where there is one, the field, so
//! that an operator can fix the input without guessing.
//!
//! Formats:
//! - `.jsonl`: documents, one JSON object per line ([`jsonl`]);
//! - `.txt` / `.md`: one document per file, metadata from flags ([`text`]);
//! - `.pdf`, `.docx`, `.odt`, `.html`, `.rtf`: one document per file, its
//!   text as a reader sees it (no tracked deletions, no field codes, no
//!   page furniture), metadata from flags and the file's properties, each
//!   extractor isolated ([`extract`], [`isolate`]; [`pdf`], [`office`],
//!   [`html`], [`rtf`]);
//! - `.csv`: observations (`indicator,settlement,period,value,unit`) or the
//!   indicator catalogue (`code,name,unit,aggregation`), told apart by the
//!   header; `,` `;` or tab; UTF-8 (with or without BOM) or Windows-1250
//!   ([`table`]); `.xlsx`, `.xls`, `.ods`: the same tables in a workbook's
//!   sheet ([`table::workbook`]);
//! - the register ([`register`]): organisations, contacts, developments,
//!   project indicators or working groups, one entity per file, as `.jsonl`
//!   (told from documents by the first record's keys), `.csv`/`.tsv` or a
//!   workbook's sheet (told by the header).

use std::fmt;
use std::path::Path;

use tudashalo_core::model::{Document, Indicator, Kind, Observation, Visibility};

pub mod cleanup;
pub mod common;
pub mod extract;
mod html;
pub mod isolate;
pub mod jsonl;
#[cfg(test)]
mod mutants;
pub mod office;
mod pdf;
pub mod register;
mod rtf;
pub mod table;
pub mod text;

pub use extract::{DocFormat, Failure, FailureKind};
pub use register::RegisterKind;
pub use table::workbook::WorkbookFormat;

/// One rejected record: `file:line: reason`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    pub file: String,
    /// The sheet, for a row of a workbook (`.xlsx`, `.ods`); `line` is then
    /// the spreadsheet's 1-based row number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// 1-based line number in the file (for CSV: the physical line where the
    /// record starts).
    pub line: usize,
    /// The field at fault, if the fault is in one field.
    pub field: Option<String>,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sheet {
            Some(sheet) => write!(f, "{}:{}!R{}: {}", self.file, sheet, self.line, self.reason),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.reason),
        }
    }
}

/// The outcome of parsing one file: the valid records (with their line
/// numbers) and every rejected line.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    pub records: Vec<(usize, T)>,
    pub rejected: Vec<Rejection>,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed {
            records: Vec::new(),
            rejected: Vec::new(),
        }
    }
}

/// A document as an importer produced it, with whether its record (or the
/// import command's `--visibility`) stated its visibility. A document that
/// did not keep the visibility it has in the store when it is imported
/// again: visibility never widens because a field was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub document: Document,
    pub visibility_stated: bool,
}

/// A document whose visibility an import changed. Its JSON form is part of
/// `import --json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VisibilityChange {
    pub id: String,
    pub from: Visibility,
    pub to: Visibility,
}

/// A fault that makes a whole file unusable (nothing of it is imported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct FileError {
    pub file: String,
    pub reason: String,
}

impl FileError {
    pub fn new(file: &str, reason: impl Into<String>) -> Self {
        FileError {
            file: file.to_string(),
            reason: reason.into(),
        }
    }
}

/// Text encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 if the bytes are valid UTF-8 (a BOM is skipped), else Windows-1250.
    #[default]
    Auto,
    Utf8,
    Windows1250,
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "auto" => Ok(Encoding::Auto),
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "windows-1250" | "cp1250" | "win1250" => Ok(Encoding::Windows1250),
            _ => Err(format!(
                "unknown encoding {s:?} (expected auto, utf-8 or windows-1250)"
            )),
        }
    }
}

/// What a file holds, decided by its extension and (for CSV) its header.
/// A workbook's header is read when the workbook is: [`table::parse_workbook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// JSON Lines of documents.
    Documents,
    /// `.txt` / `.md`: one document.
    Text,
    /// One document, by an extractor.
    Extracted(DocFormat),
    /// CSV observations.
    Observations,
    /// CSV catalogue.
    Catalogue,
    /// A spreadsheet of observations, of the catalogue or of a register
    /// table.
    Workbook(WorkbookFormat),
    /// A register file (JSON Lines or CSV) of one entity type.
    Register(RegisterKind),
}

impl FileFormat {
    /// A one-file document's format name ([`Source::format`](tudashalo_core::model::Source)).
    pub fn document_format(self, path: &Path) -> Option<&'static str> {
        match self {
            FileFormat::Extracted(f) => Some(f.as_str()),
            FileFormat::Text if extension(path) == "txt" => Some("txt"),
            FileFormat::Text => Some("md"),
            _ => None,
        }
    }
}

/// Limits that protect the node from inputs it cannot serve (`[limits]` of
/// `node.toml`, each named in the error it causes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// The largest document body accepted, in bytes (for extracted text:
    /// after clean-up).
    pub max_body_bytes: usize,
    /// The largest file an extractor is given (`.pdf`, `.docx`, `.xlsx`, …).
    pub max_file_bytes: u64,
    /// How long one file's extraction may take.
    pub extract_timeout: std::time::Duration,
    /// The address space an extractor process may use; 0: unlimited.
    pub extract_memory_bytes: u64,
    /// The share of words of extracted text that must be words the
    /// dictionary knows, else the file is `garbled`; 0 turns the check off.
    pub min_known_words: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 * 1024 * 1024,
            max_file_bytes: 256 * 1024 * 1024,
            extract_timeout: std::time::Duration::from_secs(120),
            extract_memory_bytes: 2048 * 1024 * 1024,
            min_known_words: 0.3,
        }
    }
}

/// Metadata for one-file documents (`.txt`, `.md`, `.docx`, `.pdf`, …), from the import command's flags.
#[derive(Debug, Clone, Default)]
pub struct TextMeta {
    pub kind: Option<Kind>,
    pub sectors: Vec<String>,
    pub settlements: Vec<String>,
    pub year: Option<i32>,
    pub org: Option<String>,
    pub visibility: Option<Visibility>,
    pub tags: Vec<String>,
}

/// The file types `import` reads, for messages.
pub const SUPPORTED: &str = ".jsonl (documents or register records), .txt, .md, .pdf, .docx, .odt, \
     .html, .rtf (one document each), .csv, .tsv, .xlsx, .xls or .ods (observations, catalogue or \
     a register table)";

/// Whether `import` reads files named like `path` (for walking a folder).
pub fn is_supported(path: &Path) -> bool {
    let ext = extension(path);
    matches!(
        ext.as_str(),
        "jsonl" | "ndjson" | "txt" | "md" | "markdown" | "csv" | "tsv"
    ) || DocFormat::from_extension(&ext).is_some()
        || WorkbookFormat::from_extension(&ext).is_some()
}

/// Decides what `path` holds. `.jsonl` / `.ndjson` are documents, `.txt` /
/// `.md` text documents, `.docx` and `.odt` office documents, `.csv` / `.tsv`
/// observations or catalogue by header.
pub fn detect(path: &Path, bytes: &[u8], encoding: Encoding) -> Result<FileFormat, FileError> {
    let label = path.display().to_string();
    let ext = extension(path);
    match ext.as_str() {
        "jsonl" | "ndjson" => Ok(FileFormat::Documents),
        "txt" | "md" | "markdown" => Ok(FileFormat::Text),
        "csv" | "tsv" => table::sniff(&label, bytes, encoding),
        other => {
            if let Some(format) = DocFormat::from_extension(other) {
                return Ok(FileFormat::Extracted(format));
            }
            if let Some(format) = WorkbookFormat::from_extension(other) {
                return Ok(FileFormat::Workbook(format));
            }
            Err(FileError::new(
                &label,
                format!(
                    "unsupported: file type {:?}: expected {SUPPORTED}",
                    if other.is_empty() { "(none)" } else { other }
                ),
            ))
        }
    }
}

/// Whether [`detect`] needs the content of `path` (a CSV's header, read in
/// its encoding). For every other kind the name decides, so that a large file
/// of documents need not be read to be recognised: `detect` may be given no
/// bytes at all.
pub fn detect_needs_content(path: &Path) -> bool {
    matches!(extension(path).as_str(), "csv" | "tsv")
}

/// Whether [`detect_jsonl`] decides what `path` holds (`.jsonl`, `.ndjson`).
pub fn is_jsonl(path: &Path) -> bool {
    matches!(extension(path).as_str(), "jsonl" | "ndjson")
}

/// How much of a `.jsonl` file's first line is read to tell register
/// records from documents; a longer first line is a document's.
pub const FIRST_LINE_BYTES: usize = 1024 * 1024;

/// What a `.jsonl` file holds, from its first non-blank line only (at most
/// [`FIRST_LINE_BYTES`] of it): register records when its keys say so
/// ([`register::sniff_jsonl`]), else documents, which are then streamed.
pub fn detect_jsonl(reader: impl std::io::BufRead) -> std::io::Result<FileFormat> {
    use std::io::BufRead as _;
    let mut limited = std::io::BufReader::new(reader.take(FIRST_LINE_BYTES as u64 + 1));
    let mut line = Vec::new();
    let mut read = 0;
    loop {
        line.clear();
        let n = limited.read_until(b'\n', &mut line)?;
        read += n;
        if n == 0 || read > FIRST_LINE_BYTES {
            return Ok(FileFormat::Documents);
        }
        let text = line.strip_prefix(common::UTF8_BOM).unwrap_or(&line);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if !line.ends_with(b"\n") && read > FIRST_LINE_BYTES {
            return Ok(FileFormat::Documents);
        }
        return Ok(std::str::from_utf8(text)
            .ok()
            .and_then(register::sniff_jsonl)
            .map_or(FileFormat::Documents, FileFormat::Register));
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default()
}

pub use extract::parse_document;
pub use jsonl::{DocumentReader, parse_documents};
pub use office::OfficeFormat;
pub use table::{parse_catalogue, parse_observations};
pub use text::parse_text;

// The contract spells out full function types on purpose, so clippy's
// type-complexity lint does not apply here.
#[allow(dead_code, clippy::type_complexity)]
fn _signatures() {
    // The importers' contract, checked by the compiler.
    let _: fn(&str, &[u8], &Limits) -> Result<Parsed<Document>, FileError> = parse_documents;
    let _: fn(&str, &Path, &[u8], &TextMeta, &Limits) -> Result<Document, FileError> = parse_text;
    let _: fn(
        &str,
        &[u8],
        Encoding,
        &tudashalo_core::model::Catalogue,
    ) -> Result<Parsed<Observation>, FileError> = parse_observations;
    let _: fn(
        &str,
        &[u8],
        Encoding,
        &tudashalo_core::model::Catalogue,
    ) -> Result<Parsed<Indicator>, FileError> = parse_catalogue;
}
