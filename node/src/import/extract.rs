//! Documents from files made for people to read: `.docx`, `.odt`, `.pdf`,
//! `.html`, `.rtf`. One file is one [`Document`], as a `.txt` file is
//! ([`super::text`]): its metadata the import command's flags
//! ([`TextMeta`]), with the file's own title, author and year where the
//! flags say nothing, and [`Source`] telling where it came from.
//!
//! An extractor turns bytes into [`Extracted`] text; this module then does
//! what every format needs: the Hungarian clean-up ([`super::cleanup`]), the
//! checks that the text is worth a document (not empty, not over
//! `max_body_bytes`, not [`FailureKind::Garbled`]) and the metadata.
//! Extractors are third-party parsers or ours over hostile bytes, so they
//! run isolated ([`super::isolate`]): in a child process with a time and
//! memory limit when the import runs from the command line.
//!
//! Every failure is a [`FileError`] whose reason starts with a stable kind
//! ([`FailureKind::as_str`]): `strategia.pdf: encrypted: …`, so that an
//! operator (and `import --json`'s `kind`) can tell why without guessing.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::{Deserialize, Serialize};

use super::common::{body_too_big, cut_title, flagged_document};
use super::isolate::{self, Isolation, Job, Output};
use super::{FileError, Limits, TextMeta};
use tudashalo_core::model::{Document, Source};

/// The formats read by an extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocFormat {
    /// Office Open XML text (Word 2007 and later).
    Docx,
    /// OpenDocument text (LibreOffice, OpenOffice).
    Odt,
    /// PDF with a text layer.
    Pdf,
    /// A saved web page.
    Html,
    /// Rich Text Format.
    Rtf,
}

impl DocFormat {
    /// The format's name in [`Source::format`] and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            DocFormat::Docx => "docx",
            DocFormat::Odt => "odt",
            DocFormat::Pdf => "pdf",
            DocFormat::Html => "html",
            DocFormat::Rtf => "rtf",
        }
    }

    /// The format of a file extension (lower case, no dot).
    pub fn from_extension(ext: &str) -> Option<DocFormat> {
        Some(match ext {
            "docx" => DocFormat::Docx,
            "odt" => DocFormat::Odt,
            "pdf" => DocFormat::Pdf,
            "html" | "htm" | "xhtml" => DocFormat::Html,
            "rtf" => DocFormat::Rtf,
            _ => return None,
        })
    }
}

/// Why a file could not be imported: the first word of the message, stable
/// so that scripts can rely on it (`import --json` gives it as `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// Not a file of its format, a main part missing, broken structure.
    Corrupt,
    /// Password-protected.
    Encrypted,
    /// Over a size cap: the file, a zip's parts, the extracted text.
    TooLarge,
    /// The document holds no text (or only white space).
    NoText,
    /// A PDF whose pages have no text layer (a scan), or almost none.
    NoTextLayer,
    /// Text was extracted, but too few of its words are words: a font
    /// without a usable Unicode map, a wrong encoding.
    Garbled,
    /// A valid file this importer does not read.
    Unsupported,
    /// The extractor did not finish within its time limit.
    Timeout,
    /// The extractor panicked or its process died: a bug, or a file built
    /// to break it; reported for this file alone.
    ExtractorCrash,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Corrupt => "corrupt",
            FailureKind::Encrypted => "encrypted",
            FailureKind::TooLarge => "too-large",
            FailureKind::NoText => "no-text",
            FailureKind::NoTextLayer => "no-text-layer",
            FailureKind::Garbled => "garbled",
            FailureKind::Unsupported => "unsupported",
            FailureKind::Timeout => "timeout",
            FailureKind::ExtractorCrash => "extractor-crash",
        }
    }

    /// Every kind, for documentation and tests.
    pub const ALL: [FailureKind; 9] = [
        FailureKind::Corrupt,
        FailureKind::Encrypted,
        FailureKind::TooLarge,
        FailureKind::NoText,
        FailureKind::NoTextLayer,
        FailureKind::Garbled,
        FailureKind::Unsupported,
        FailureKind::Timeout,
        FailureKind::ExtractorCrash,
    ];

    /// The kind a [`FileError`]'s reason starts with, if it starts with one.
    pub fn of_reason(reason: &str) -> Option<FailureKind> {
        let word = reason.split(':').next()?;
        FailureKind::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

/// A failure before the file's name is attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub detail: String,
}

impl Failure {
    pub fn new(kind: FailureKind, detail: impl Into<String>) -> Self {
        Failure {
            kind,
            detail: detail.into(),
        }
    }

    pub(crate) fn at(self, file: &str) -> FileError {
        FileError::new(file, format!("{}: {}", self.kind.as_str(), self.detail))
    }
}

/// What an extractor found in a file: its text and the properties it
/// states. Lines are separated by `\n`; the extractor need not clean up
/// (hyphenation, ligatures, page furniture are [`super::cleanup`]'s).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    pub text: String,
    pub title: Option<String>,
    pub author: Option<String>,
    /// The year the document was made (its creation date), when stated.
    pub year: Option<i32>,
    /// Pages, for formats that have them.
    pub pages: Option<u32>,
}

/// Runs the extractor of `format` on `bytes` in this process. [`isolate`]
/// calls it under `catch_unwind`, here or in a worker.
pub(crate) fn extract_unguarded(
    format: DocFormat,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Extracted, Failure> {
    match format {
        DocFormat::Docx => super::office::extract(super::OfficeFormat::Docx, bytes, limits),
        DocFormat::Odt => super::office::extract(super::OfficeFormat::Odt, bytes, limits),
        DocFormat::Pdf => super::pdf::extract(bytes, limits),
        DocFormat::Html => super::html::extract(bytes, limits),
        DocFormat::Rtf => super::rtf::extract(bytes, limits),
    }
}

/// One file to make a document of.
#[derive(Debug, Clone)]
pub struct DocumentFile<'a> {
    /// The label used in messages (the path as given).
    pub label: &'a str,
    /// The document's id.
    pub id: String,
    pub bytes: &'a [u8],
    /// Where it came from; its `pages` are filled from the file.
    pub source: Source,
}

impl<'a> DocumentFile<'a> {
    /// A file called `name` (its id the name's slug), for tests and tools.
    pub fn named(name: &'a str, format: DocFormat, bytes: &'a [u8]) -> Result<Self, FileError> {
        Ok(DocumentFile {
            label: name,
            id: super::common::slug_id(name, name)?,
            bytes,
            source: Source {
                file: name.to_string(),
                format: format.as_str().to_string(),
                pages: None,
                bytes: bytes.len() as u64,
                sha256: String::new(),
            },
        })
    }
}

/// Turns one file into a document.
pub fn parse_document(
    format: DocFormat,
    input: DocumentFile<'_>,
    meta: &TextMeta,
    limits: &Limits,
    isolation: &Isolation,
) -> Result<Document, FileError> {
    let DocumentFile {
        label: file,
        id,
        bytes,
        mut source,
    } = input;
    check_file_size(bytes.len() as u64, limits).map_err(|f| f.at(file))?;
    let found = match isolate::run(&Job::Document(format), bytes, limits, isolation) {
        Ok(Output::Document(found)) => found,
        Ok(Output::Workbook(_)) => {
            return Err(Failure::new(
                FailureKind::ExtractorCrash,
                "the extractor answered with a workbook",
            )
            .at(file));
        }
        Err(failure) => return Err(failure.at(file)),
    };
    let document = document_of(format, found, limits).map_err(|f| f.at(file))?;
    source.pages = document.pages;
    let mut doc = flagged_document(
        file,
        id,
        document.title,
        document.body,
        meta,
        document.year,
        document.extra,
    )?;
    doc.source = Some(source);
    Ok(doc)
}

/// An extracted file's text, checked and cleaned, with its metadata.
struct Checked {
    title: String,
    body: String,
    year: Option<i32>,
    pages: Option<u32>,
    extra: serde_json::Map<String, serde_json::Value>,
}

fn document_of(format: DocFormat, found: Extracted, limits: &Limits) -> Result<Checked, Failure> {
    // Ligatures, `õ`/`û` font damage, soft hyphens, words hyphenated at line
    // ends: what editors and converters leave in running text.
    let body = super::cleanup::clean(&found.text);
    if body.trim().is_empty() {
        return Err(match format {
            DocFormat::Pdf => Failure::new(
                FailureKind::NoTextLayer,
                format!(
                    "{} without text: a scan or an image-only PDF; run OCR on it first",
                    pages(found.pages)
                ),
            ),
            _ => Failure::new(FailureKind::NoText, "the document holds no text"),
        });
    }
    if body.len() > limits.max_body_bytes {
        return Err(too_large_text(body.len(), limits));
    }
    if let Some(failure) = quality::garbled(&body, limits) {
        return Err(failure);
    }
    let title = found
        .title
        .map(|t| cut_title(&t))
        .filter(|t| !t.is_empty())
        .or_else(|| body.lines().find(|l| !l.trim().is_empty()).map(cut_title))
        .unwrap_or_default();
    let mut extra = serde_json::Map::new();
    if let Some(author) = found.author.filter(|a| !a.trim().is_empty()) {
        extra.insert("author".into(), author.trim().into());
    }
    Ok(Checked {
        title,
        body,
        year: found.year,
        pages: found.pages,
        extra,
    })
}

fn pages(n: Option<u32>) -> String {
    match n {
        Some(1) => "1 page".to_string(),
        Some(n) => format!("{n} pages"),
        None => "the pages".to_string(),
    }
}

/// `too-large` for a file over `max_file_bytes`, checked before any
/// extractor sees it.
pub(crate) fn check_file_size(size: u64, limits: &Limits) -> Result<(), Failure> {
    if size > limits.max_file_bytes {
        return Err(Failure::new(
            FailureKind::TooLarge,
            format!(
                "the file is {size} bytes, over the limit of {} bytes (max_file_bytes in node.toml)",
                limits.max_file_bytes
            ),
        ));
    }
    Ok(())
}

/// Runs an extractor so that its panic becomes this file's failure.
pub(crate) fn guarded<T>(run: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
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

/// Whether extracted text reads as words, as tika-eval measures it: the
/// share of its word tokens that the Hungarian dictionary knows. An
/// English text passes on its function words; other languages need
/// `min_known_words = 0`.
pub(crate) mod quality {
    use super::{Failure, FailureKind, Limits};

    /// At most this many words are looked up: enough to judge, cheap on a
    /// book.
    const SAMPLE_WORDS: usize = 5_000;
    /// Fewer words than this are not judged: a short note full of names is
    /// not garbled.
    pub const MIN_WORDS: usize = 30;

    /// English function words: a document in English is not garbled
    /// because the Hungarian dictionary does not know its words.
    const ENGLISH: [&str; 48] = [
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
        "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an",
        "had", "they", "you", "were", "their", "one", "all", "we", "can", "has", "there", "been",
        "if", "more", "when", "will", "would", "who", "so", "no", "its",
    ];

    /// The words of `text` looked at, and how many of them the dictionary
    /// knows (or are English function words).
    pub fn known_words(text: &str) -> (usize, usize) {
        let morphology = tudashalo_morph::Morphology::get();
        let mut seen = 0;
        let mut known = 0;
        for token in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| t.chars().count() >= 2)
            .take(SAMPLE_WORDS)
        {
            seen += 1;
            let word = token.to_lowercase();
            let is_word = tudashalo_morph::is_stop_word(&word)
                || ENGLISH.contains(&word.as_str())
                || morphology.dictionary_lemma(&word).is_some();
            if is_word {
                known += 1;
            }
        }
        (seen, known)
    }

    /// `garbled` when fewer than `min_known_words` (a share, 0 turns the
    /// check off) of the sampled words are known.
    pub fn garbled(text: &str, limits: &Limits) -> Option<Failure> {
        if limits.min_known_words <= 0.0 {
            return None;
        }
        let (seen, known) = known_words(text);
        if seen < MIN_WORDS {
            return None;
        }
        let share = known as f64 / seen as f64;
        (share < limits.min_known_words).then(|| {
            Failure::new(
                FailureKind::Garbled,
                format!(
                    "{known} of {seen} words ({:.0}%) are Hungarian words, under min_known_words ({:.0}%): \
                     a font without a Unicode map or a wrong encoding; the text is not imported",
                    share * 100.0,
                    limits.min_known_words * 100.0
                ),
            )
        })
    }
}
