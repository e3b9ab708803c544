//! PDF documents: the text layer of every page, in page order, and the
//! properties the file states (Info dictionary, XMP as a fallback).
//!
//! Crate: [`lopdf`] 0.47 (MIT, pure Rust, `rust-version` 1.88, no native
//! library, no build script; default features off: no chrono, no rayon)
//! reads the file: the cross-reference table (rebuilt by scanning when it
//! is broken), object streams, filters under a decompression cap, and the
//! standard security handler (RC4 and AES, revisions 2 to 6). It writes
//! nothing to stdout (its diagnostics go to the `log` facade, which the
//! extract worker does not install), so the worker's JSON answer stays
//! clean. `pdf-extract` 0.12 (MIT, on lopdf 0.42) was the other candidate;
//! it was not taken because it panics on purpose on malformed input
//! (`panic!` for an unknown encoding, a missing width, an unexpected colour
//! space, an odd ToUnicode entry) and `unwrap`s freely, which would turn
//! damaged but readable files into `extractor-crash` with no useful reason,
//! and because it gives no hold on caps (pages, inflated bytes, nesting).
//! lopdf's own `extract_text` is too naive (no positions: no line breaks
//! from `Td`, no spaces between runs; `/Encoding` wins over `/ToUnicode`),
//! so this module interprets content streams itself:
//! - the text state (`Tm`, `Td`, `TL`, `Tc`, `Tw`, `Tz`, `Tf`) and the CTM
//!   (`cm`, `q`/`Q`) place every glyph on the page. A glyph that moves
//!   across the baseline by more than [`LINE_GAP`] of the font size starts
//!   a new line; a gap along it of more than [`SPACE_GAP`] em is a space
//!   (what pdftotext does): kerning in `TJ`, runs placed apart by `Td`, and
//!   character or word spacing inside one string (ghostscript writes the
//!   spaces of justified lines so). Where a font has no `/Widths` (the
//!   standard 14 fonts may omit them), glyphs are guessed half an em wide
//!   and a repositioned run needs a wider gap ([`GUESSED_SPACE_GAP`]).
//!   Text struck twice on top of itself (faked bold, shadows) is read once
//!   ([`OVERPRINT`]);
//! - a font's `/ToUnicode` CMap (parsed here, bounded) maps codes first;
//!   simple fonts fall back to their `/Encoding`: the base encodings and the
//!   glyph names of `/Differences` (`odblacute` → `ő`, `udblacute` → `ű`,
//!   `uniXXXX`) through lopdf's tables. WinAnsi has no `ő`/`ű`; the `õ`/`û`
//!   that old Latin-1 fonts show instead are mended by the clean-up;
//! - Form XObjects are followed (depth and count bounded, cycles refused),
//!   images counted; invisible text (`3 Tr`, the OCR layer of a scanned
//!   PDF) is read like any other.
//!
//! Lines keep the order they are drawn in (columns stay whole), except that
//! the line highest on a page goes first and the lowest last, so that
//! [`drop_page_furniture`] finds running headers, footers and page numbers
//! wherever the file drew them; pages are then joined by a line break, so
//! that a word hyphenated across a page end is rejoined by the clean-up
//! ([`super::extract`]'s, like every other check on the text).
//!
//! How failures are told apart:
//! - `encrypted`: an `/Encrypt` dictionary whose user password is not
//!   empty, or a security handler other than the standard one. A file
//!   protected by an owner password only (permissions) opens with the empty
//!   user password, as every reader does, and is imported;
//! - `no-text-layer`: pages that show no glyph at all (a scan: empty text,
//!   which [`super::extract`] reports with the page count), or fewer than
//!   [`MIN_LETTERS_PER_PAGE`] letters a page on average once headers and
//!   page numbers are gone, on pages that hold images or are more than one
//!   (a scan with a stamped number or caption; a one-page note of a few
//!   words without images is imported);
//! - `garbled`: glyphs are shown but most have no Unicode value (a font
//!   without a `/ToUnicode` map whose encoding names no glyphs), decided
//!   here; or they map to characters that are not words (a broken
//!   `/ToUnicode`), decided by [`super::extract`]'s dictionary check;
//! - `corrupt`: not a PDF, no `%%EOF` (a file cut short), a cross-reference
//!   table that neither reads nor can be rebuilt, no page tree, a missing
//!   content stream, a content stream that does not parse; each names the
//!   page, object or byte;
//! - `too-large`: more than [`MAX_PAGES`] pages, a stream inflating past
//!   [`STREAM_CAP`] bytes, text over twice `max_body_bytes` while reading
//!   (the exact check, after clean-up, is [`super::extract`]'s), or more
//!   than [`MAX_OPERATIONS`] content operations (forms drawing forms).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};

use super::Limits;
use super::cleanup::drop_page_furniture;
use super::common::check_year;
use super::extract::{Extracted, Failure, FailureKind, too_large_text};

mod cmap;
mod content;
mod fonts;
mod geometry;
mod layout;
mod meta;

use cmap::*;
use content::*;
use fonts::*;
use geometry::*;
use layout::*;
use meta::*;

/// Pages read at most; a longer file is `too-large`.
const MAX_PAGES: usize = 20_000;
/// The largest stream inflated (a page's content, a CMap, an object
/// stream): decompression bombs stop here.
const STREAM_CAP: usize = 256 * 1024 * 1024;
/// Content operations interpreted in one file, nested forms included: a
/// small file whose forms draw each other thousands of times stops here.
const MAX_OPERATIONS: usize = 50_000_000;
/// The largest `/ToUnicode` CMap read (real ones are kilobytes); a larger
/// one is ignored and the font's encoding used.
const CMAP_CAP: usize = 8 * 1024 * 1024;
/// Content bytes interpreted in one file, a form's counted each time it is
/// drawn: a form of megabytes drawn thousands of times stops here.
const MAX_CONTENT_BYTES: usize = 1 << 30;
/// Inflated forms kept for drawing again (a logo on every page).
const FORM_CACHE_BYTES: usize = 64 * 1024 * 1024;
/// How deep Form XObjects may nest.
const MAX_FORM_DEPTH: usize = 12;
/// How deep `q` may nest before further saves are ignored.
const MAX_STATE_DEPTH: usize = 256;
/// Entries read from one `/ToUnicode` CMap or `/W` array.
const MAX_MAP_ENTRIES: usize = 200_000;
/// A gap along the baseline wider than this share of the font size is a
/// space between words.
const SPACE_GAP: f64 = 0.15;
/// [`SPACE_GAP`] for a font whose widths are guessed.
const GUESSED_SPACE_GAP: f64 = 0.4;
/// A move across the baseline of more than this share of the font size
/// starts a new line.
const LINE_GAP: f64 = 0.5;
/// The same glyph drawn closer than this share of the font size to where it
/// already is, is drawn over itself (no two letters of a word are so close).
const OVERPRINT: f64 = 0.08;
/// Fewer letters a page than this, on average, is no text layer.
pub(crate) const MIN_LETTERS_PER_PAGE: usize = 16;
/// Where the `%PDF-` header may start (readers allow junk before it).
const HEADER_WINDOW: usize = 1024;

/// The text and properties of one PDF file.
pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, Failure> {
    let doc = load(bytes, false)?;
    match read(&doc, limits, MAX_OPERATIONS) {
        // A table that reads but points past its objects (bytes added or
        // lost in transfer): rebuilt by scanning, once.
        Err(failure)
            if failure.kind == FailureKind::Corrupt
                && doc.xref_recovery != Some(lopdf::xref::XrefRecovery::Reconstructed) =>
        {
            drop(doc);
            match load(bytes, true).and_then(|doc| read(&doc, limits, MAX_OPERATIONS)) {
                Ok(found) => Ok(found),
                Err(_) => Err(failure),
            }
        }
        other => other,
    }
}

/// The text and properties of a loaded document, interpreting at most
/// `max_operations` content operations.
fn read(doc: &Document, limits: &Limits, max_operations: usize) -> Result<Extracted, Failure> {
    let page_ids: Vec<ObjectId> = doc.get_pages().into_values().collect();
    if page_ids.is_empty() {
        return Err(Failure::new(
            FailureKind::Corrupt,
            "no pages: the catalog's page tree (/Root /Pages) is missing or empty",
        ));
    }
    if page_ids.len() > MAX_PAGES {
        return Err(Failure::new(
            FailureKind::TooLarge,
            format!(
                "{} pages, over the limit of {MAX_PAGES} pages",
                page_ids.len()
            ),
        ));
    }
    let page_count = u32::try_from(page_ids.len()).unwrap_or(u32::MAX);
    let mut reader = Reader::new(doc, *limits, page_count);
    reader.max_operations = max_operations;
    let mut pages = Vec::with_capacity(page_ids.len());
    for (index, page_id) in page_ids.iter().enumerate() {
        let text = reader.page(*page_id, index + 1)?;
        reader.text_before = reader.text_before.saturating_add(text.len());
        pages.push(text);
    }
    if let Some(failure) = reader.unmapped_failure() {
        return Err(failure);
    }
    let pages = drop_page_furniture(&pages);
    let text = pages.join("\n");
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    // A scan, not a short note: images on its pages, or several pages.
    let scan_like = reader.images > 0 || pages.len() > 1;
    if reader.glyphs > 0 && scan_like && letters < MIN_LETTERS_PER_PAGE.saturating_mul(pages.len())
    {
        return Err(Failure::new(
            FailureKind::NoTextLayer,
            format!(
                "only {letters} letters of text on {} (under {MIN_LETTERS_PER_PAGE} a page, page numbers \
                 and running headers aside){}: a scan or an image-only PDF; run OCR on it first",
                pages_phrase(page_count),
                images_phrase(reader.images)
            ),
        ));
    }
    let meta = metadata(doc);
    Ok(Extracted {
        // No glyph at all: empty text, which `extract` reports as
        // `no-text-layer` with the page count.
        text: if reader.glyphs == 0 {
            String::new()
        } else {
            text
        },
        title: meta.title,
        author: meta.author,
        year: meta.year,
        pages: Some(page_count),
    })
}

fn pages_phrase(n: u32) -> String {
    if n == 1 {
        "1 page".to_string()
    } else {
        format!("{n} pages")
    }
}

fn images_phrase(images: usize) -> String {
    match images {
        0 => String::new(),
        1 => ", 1 image".to_string(),
        n => format!(", {n} images"),
    }
}

/// The parsed file, decrypted when its user password is empty; with
/// `rebuild`, its cross-reference table rebuilt by scanning the file.
fn load(bytes: &[u8], rebuild: bool) -> Result<Document, Failure> {
    let window = bytes.get(..HEADER_WINDOW.min(bytes.len())).unwrap_or(bytes);
    if find(window, b"%PDF-").is_none() {
        return Err(Failure::new(
            FailureKind::Corrupt,
            format!(
                "not a PDF: no %PDF- header in its first {} bytes",
                window.len()
            ),
        ));
    }
    let tail_start = bytes.len().saturating_sub(4096);
    let has_eof = bytes
        .get(tail_start..)
        .is_some_and(|tail| find(tail, b"%%EOF").is_some())
        || find(bytes, b"%%EOF").is_some();
    if !has_eof {
        return Err(Failure::new(
            FailureKind::Corrupt,
            format!(
                "truncated: no %%EOF end marker in its {} bytes (the file was cut short in copying or downloading)",
                bytes.len()
            ),
        ));
    }
    let options = LoadOptions {
        max_decompressed_size: Some(STREAM_CAP),
        force_reconstruct: rebuild,
        ..LoadOptions::default()
    };
    let doc = match Document::load_mem_with_options(bytes, options) {
        Ok(doc) => doc,
        Err(err) => return Err(load_failure(bytes, &err)),
    };
    if doc.trailer.has(b"Encrypt") && !doc.was_encrypted() {
        return Err(encrypted_failure(&doc));
    }
    Ok(doc)
}

fn load_failure(bytes: &[u8], err: &lopdf::Error) -> Failure {
    use lopdf::Error;
    match err {
        Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { limit }) => Failure::new(
            FailureKind::TooLarge,
            format!("a stream inflates to more than {limit} bytes"),
        ),
        Error::Decryption(e) => Failure::new(
            FailureKind::Encrypted,
            format!("the PDF is encrypted and cannot be decrypted: {e}"),
        ),
        Error::InvalidPassword => Failure::new(
            FailureKind::Encrypted,
            "the PDF is password-protected: it needs a user password to open; \
             save it without a password (or print it to PDF) and import that",
        ),
        Error::Unimplemented(what) if find(bytes, b"/Encrypt").is_some() => Failure::new(
            FailureKind::Encrypted,
            format!("the PDF is encrypted in a way this importer cannot open: {what}"),
        ),
        Error::UnsupportedSecurityHandler(name) => Failure::new(
            FailureKind::Encrypted,
            format!(
                "the PDF is encrypted with the /{} security handler, which this importer cannot open; \
                 save it without encryption and import that",
                String::from_utf8_lossy(name)
            ),
        ),
        Error::Xref(e) => Failure::new(
            FailureKind::Corrupt,
            format!(
                "the cross-reference table cannot be read ({e}) and scanning the file for its objects \
                 found no usable trailer or catalog"
            ),
        ),
        Error::Parse(e) => Failure::new(
            FailureKind::Corrupt,
            format!("the file does not parse as PDF: {e}"),
        ),
        Error::IndirectObject { offset } => Failure::new(
            FailureKind::Corrupt,
            format!("the object at byte {offset} is broken"),
        ),
        other => Failure::new(
            FailureKind::Corrupt,
            format!("the PDF's structure cannot be read: {other}"),
        ),
    }
}

fn encrypted_failure(doc: &Document) -> Failure {
    let dict = doc.get_encrypted().ok();
    let name = |key: &[u8]| {
        dict.and_then(|d| d.get(key).ok())
            .and_then(|o| o.as_name().ok())
            .map(|n| String::from_utf8_lossy(n).into_owned())
    };
    let number = |key: &[u8]| {
        dict.and_then(|d| d.get(key).ok())
            .and_then(|o| o.as_i64().ok())
    };
    let Some(handler) = name(b"Filter") else {
        let reference = doc
            .trailer
            .get(b"Encrypt")
            .ok()
            .and_then(|o| o.as_reference().ok())
            .map(|(n, g)| format!(" (object {n} {g})"))
            .unwrap_or_default();
        return Failure::new(
            FailureKind::Encrypted,
            format!(
                "the trailer says the PDF is encrypted, but its /Encrypt dictionary{reference} is missing \
                 or names no security handler: a damaged file"
            ),
        );
    };
    let detail = if handler == "Standard" {
        let revision = number(b"R")
            .map(|r| format!(", revision {r}"))
            .unwrap_or_default();
        format!(
            "the PDF is password-protected (standard security handler{revision}): it needs a user \
             password to open, the empty one does not; save it without a password (or print it to PDF) \
             and import that"
        )
    } else {
        format!(
            "the PDF is encrypted with the /{handler} security handler (certificates or a plug-in), \
             which this importer cannot open; save it without encryption and import that"
        )
    };
    Failure::new(FailureKind::Encrypted, detail)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use std::path::Path;

    use lopdf::{Stream, dictionary};

    use super::*;
    use crate::import::extract::{DocFormat, DocumentFile, parse_document, quality};
    use crate::import::isolate::Isolation;
    use crate::import::{FileError, TextMeta};
    use tudashalo_core::model::Document as Doc;

    /// A PDF made page by page with lopdf: each page a content stream and
    /// its resources.
    pub(crate) struct Builder {
        doc: Document,
        pages_id: ObjectId,
        kids: Vec<Object>,
    }

    impl Builder {
        pub(crate) fn new() -> Builder {
            let mut doc = Document::with_version("1.5");
            let pages_id = doc.new_object_id();
            Builder {
                doc,
                pages_id,
                kids: Vec::new(),
            }
        }

        pub(crate) fn add(&mut self, object: impl Into<Object>) -> ObjectId {
            self.doc.add_object(object)
        }

        pub(crate) fn page(&mut self, content: Vec<u8>, resources: Dictionary) {
            let contents = self.add(Stream::new(dictionary! {}, content));
            let page = self.add(dictionary! {
                "Type" => "Page",
                "Parent" => self.pages_id,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Contents" => contents,
                "Resources" => resources,
            });
            self.kids.push(page.into());
        }

        pub(crate) fn finish(self, info: Option<Dictionary>) -> Vec<u8> {
            self.finish_with(info, |_| {})
        }

        /// The file, `change` applied to the document before it is saved.
        pub(crate) fn finish_with(
            mut self,
            info: Option<Dictionary>,
            change: impl FnOnce(&mut Document),
        ) -> Vec<u8> {
            let count = self.kids.len() as i64;
            let pages = dictionary! {
                "Type" => "Pages",
                "Kids" => self.kids,
                "Count" => count,
            };
            self.doc
                .objects
                .insert(self.pages_id, Object::Dictionary(pages));
            let catalog = self.doc.add_object(dictionary! {
                "Type" => "Catalog",
                "Pages" => self.pages_id,
            });
            self.doc.trailer.set("Root", catalog);
            if let Some(info) = info {
                let info = self.doc.add_object(info);
                self.doc.trailer.set("Info", info);
            }
            change(&mut self.doc);
            let mut out = Vec::new();
            self.doc.save_to(&mut out).unwrap();
            out
        }
    }

    /// Text in the Differences font of [`hungarian_font`]: WinAnsi, with
    /// `ő ű Ő Ű` at 128–131.
    pub(crate) fn encode(text: &str) -> Vec<u8> {
        text.chars()
            .map(|c| match c {
                'ő' => 128,
                'ű' => 129,
                'Ő' => 130,
                'Ű' => 131,
                '–' => 0x96,
                c if (c as u32) < 256 => c as u8,
                c => panic!("{c} is not in the test font"),
            })
            .collect()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Helvetica with a `/Differences` encoding over WinAnsi: the glyph names
    /// `odblacute`, `udblacute`, `Odblacute`, `Udblacute`, and `aacute`,
    /// `eacute` where WinAnsi has them already.
    pub(crate) fn hungarian_font() -> Dictionary {
        dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => "Helvetica",
            "Encoding" => dictionary! {
                "Type" => "Encoding",
                "BaseEncoding" => "WinAnsiEncoding",
                "Differences" => vec![
                    128.into(),
                    Object::Name(b"odblacute".to_vec()),
                    Object::Name(b"udblacute".to_vec()),
                    Object::Name(b"Odblacute".to_vec()),
                    Object::Name(b"Udblacute".to_vec()),
                    225.into(),
                    Object::Name(b"aacute".to_vec()),
                    233.into(),
                    Object::Name(b"eacute".to_vec()),
                ],
            },
        }
    }

    fn font_resources(font: ObjectId) -> Dictionary {
        dictionary! { "Font" => dictionary! { "F1" => font } }
    }

    /// A content stream of lines at 11 pt from the top, a header line at
    /// the top and a page number at the bottom when given.
    pub(crate) fn lines_content(
        header: Option<&str>,
        lines: &[&str],
        footer: Option<&str>,
    ) -> Vec<u8> {
        let mut content = String::from("BT /F1 11 Tf\n");
        if let Some(header) = header {
            content.push_str(&format!(
                "1 0 0 1 72 800 Tm <{}> Tj\n",
                hex(&encode(header))
            ));
        }
        content.push_str("14 TL 1 0 0 1 72 760 Tm\n");
        for line in lines {
            content.push_str(&format!("<{}> Tj T*\n", hex(&encode(line))));
        }
        if let Some(footer) = footer {
            content.push_str(&format!(
                "1 0 0 1 290 40 Tm <{}> Tj\n",
                hex(&encode(footer))
            ));
        }
        content.push_str("ET\n");
        content.into_bytes()
    }

    const HEADER: &str = "Szendrői Kistérség Fejlesztési Terve";

    /// Fixture 1: three pages of Hungarian text with a running header and
    /// page numbers, a word hyphenated at a line end, words spaced by `TJ`
    /// kerning and by positioned runs, Info properties.
    pub(crate) fn hungarian_pdf() -> Vec<u8> {
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        let pages: [Vec<&str>; 3] = [
            vec![
                "Fejlesztési stratégia – Szendrő kistérség",
                "Az erdő és a tűzifa hasznosítása",
                "A kistérség fejlesz-",
                "tési koncepciója a falvak megtartására épül.",
            ],
            vec![
                "ŐSZI ÜLÉS: a vízgazdálkodás és a fűtés kérdései.",
                "Az önkormányzatok közös munkája a települések javát szolgálja.",
            ],
            vec![
                "Űrlap a pályázathoz: a helyi termelők támogatása.",
                "A tervet a társulási tanács fogadta el.",
            ],
        ];
        for (i, lines) in pages.iter().enumerate() {
            let mut content = lines_content(Some(HEADER), lines, Some(&format!("- {} -", i + 1)));
            if i == 1 {
                // Words apart by kerning inside one TJ, and by two runs
                // placed with a gap.
                content.extend_from_slice(
                    format!(
                        "BT /F1 11 Tf 1 0 0 1 72 600 Tm [<{}> -300 <{}> -20 <{}>] TJ ET\n\
                         BT /F1 11 Tf 1 0 0 1 72 580 Tm <{}> Tj 1 0 0 1 140 580 Tm <{}> Tj ET\n",
                        hex(&encode("Erdő")),
                        hex(&encode("gazdál")),
                        hex(&encode("kodás")),
                        hex(&encode("Szendrő")),
                        hex(&encode("Abaújszántó")),
                    )
                    .as_bytes(),
                );
            }
            b.page(content, font_resources(font));
        }
        b.finish(Some(dictionary! {
            "Title" => Object::String(utf16("Szendrői kistérség fejlesztési terve"), lopdf::StringFormat::Hexadecimal),
            // PDFDocEncoding, which is Latin-1 for these letters.
            "Author" => Object::string_literal(encode("Kovács Ödön")),
            "CreationDate" => Object::string_literal("D:20190502083000+02'00'"),
            "Producer" => Object::string_literal("teszt"),
        }))
    }

    fn utf16(text: &str) -> Vec<u8> {
        let mut out = vec![0xFE, 0xFF];
        for unit in text.encode_utf16() {
            out.extend_from_slice(&unit.to_be_bytes());
        }
        out
    }

    fn parse_with(bytes: &[u8], limits: &Limits) -> Result<Doc, FileError> {
        let file = DocumentFile::named("terv.pdf", DocFormat::Pdf, bytes)?;
        parse_document(
            DocFormat::Pdf,
            file,
            &TextMeta::default(),
            limits,
            &Isolation::InProcess,
        )
    }

    fn parse(bytes: &[u8]) -> Result<Doc, FileError> {
        parse_with(bytes, &Limits::default())
    }

    fn reason(bytes: &[u8]) -> String {
        parse(bytes).unwrap_err().reason
    }

    #[test]
    fn hungarian_text_with_page_furniture_dropped() {
        let doc = parse(&hungarian_pdf()).unwrap();
        let body = &doc.body;
        for words in [
            "Fejlesztési stratégia – Szendrő kistérség",
            "Az erdő és a tűzifa hasznosítása",
            "A kistérség fejlesztési koncepciója",
            "ŐSZI ÜLÉS",
            "Űrlap a pályázathoz",
            "Erdő gazdálkodás",
            "Szendrő Abaújszántó",
        ] {
            assert!(body.contains(words), "{words:?} not in {body:?}");
        }
        assert!(!body.contains(HEADER), "{body:?}");
        for n in 1..=3 {
            assert!(!body.contains(&format!("- {n} -")), "{body:?}");
        }
        assert_eq!(doc.title, "Szendrői kistérség fejlesztési terve");
        assert_eq!(
            doc.extra.get("author").and_then(|a| a.as_str()),
            Some("Kovács Ödön")
        );
        assert_eq!(doc.year, Some(2019));
        assert_eq!(doc.source.as_ref().unwrap().pages, Some(3));
        // Pages in order.
        let first = body.find("Fejlesztési stratégia").unwrap();
        let second = body.find("ŐSZI").unwrap();
        let third = body.find("Űrlap").unwrap();
        assert!(first < second && second < third);
    }

    #[test]
    fn extracted_lines_and_properties() {
        let found = extract(&hungarian_pdf(), &Limits::default()).unwrap();
        assert_eq!(found.pages, Some(3));
        assert_eq!(
            found.title.as_deref(),
            Some("Szendrői kistérség fejlesztési terve")
        );
        assert_eq!(found.author.as_deref(), Some("Kovács Ödön"));
        assert_eq!(found.year, Some(2019));
        // Lines as they are on the page; the broken word is cleanup's.
        assert!(
            found.text.starts_with(
                "Fejlesztési stratégia – Szendrő kistérség\nAz erdő és a tűzifa hasznosítása\nA kistérség fejlesz-\ntési"
            ),
            "{:?}",
            found.text
        );
    }

    /// A header drawn after the body and a page number drawn before it
    /// are still found at the top and bottom; a soft hyphen at a line end
    /// rejoins its word.
    #[test]
    fn furniture_found_by_position_and_soft_hyphens_rejoin() {
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        for n in 1..=3 {
            let mut content = lines_content(None, &[], Some(&n.to_string()));
            content.extend(lines_content(
                None,
                &[
                    "A kistérség fejlesz\u{ad}",
                    "tési koncepciója az erdő és a tűzifa hasznosítása.",
                ],
                None,
            ));
            content.extend(lines_content(Some(HEADER), &[], None));
            b.page(content, font_resources(font));
        }
        let doc = parse(&b.finish(None)).unwrap();
        assert_eq!(
            doc.body,
            ["A kistérség fejlesztési koncepciója az erdő és a tűzifa hasznosítása."; 3].join("\n")
        );
    }

    /// [`hungarian_font`] with `/Widths`: every glyph half an em, the space
    /// a quarter.
    fn font_with_widths() -> Dictionary {
        let mut font = hungarian_font();
        font.set("FirstChar", 32);
        font.set("LastChar", 255);
        let mut widths: Vec<Object> = vec![Object::Integer(500); 224];
        widths[0] = Object::Integer(250);
        font.set("Widths", widths);
        font
    }

    /// Glyphs and words each placed by `Tm`, as some generators write
    /// them: with the font's `/Widths`, no space inside a word and one
    /// between words.
    #[test]
    fn positioned_glyphs_and_words() {
        let mut b = Builder::new();
        let font = b.add(font_with_widths());
        let mut content = String::from("BT /F1 10 Tf\n");
        let mut x = 72.0;
        for c in "erdőgazdálkodás".chars() {
            let mut one = [0u8; 4];
            content.push_str(&format!(
                "1 0 0 1 {x:.2} 700 Tm <{}> Tj\n",
                hex(&encode(c.encode_utf8(&mut one)))
            ));
            x += 5.0;
        }
        let mut x = 72.0;
        for (word, space) in [
            ("az", 2.5),
            ("erdő", 2.5),
            ("és", 9.0),
            ("a", 2.5),
            ("tűzifa", 0.0),
        ] {
            content.push_str(&format!(
                "1 0 0 1 {x:.2} 680 Tm <{}> Tj\n",
                hex(&encode(word))
            ));
            x += word.chars().count() as f64 * 5.0 + space;
        }
        content.push_str("ET\n");
        b.page(content.into_bytes(), font_resources(font));
        let found = extract(&b.finish(None), &Limits::default()).unwrap();
        assert_eq!(found.text, "erdőgazdálkodás\naz erdő és a tűzifa");
    }

    /// Text turned a quarter (a landscape table on a portrait page): lines
    /// and spaces are judged along its own baseline, and lines keep their
    /// order.
    /// A word struck twice, a fraction of a point apart, to fake bold; two
    /// equal letters side by side stay.
    #[test]
    fn overprinted_text_is_read_once() {
        let mut b = Builder::new();
        let word = hex(&encode("Hallgató"));
        let font = b.add(font_with_widths());
        // A line of two runs, struck again as one; then a run starting with
        // the same letter elsewhere on the next line.
        let content = format!(
            "BT /F1 10 Tf 1 0 0 1 72 700 Tm <{word}> Tj 1 0 0 1 114.5 700 Tm <{}> Tj \
             1 0 0 1 72.4 700.2 Tm <{}> Tj 1 0 0 1 72 686 Tm <{}> Tj ET\n",
            hex(&encode("és")),
            hex(&encode("Hallgató és")),
            hex(&encode("Hallgató a tűzifa"))
        );
        b.page(content.into_bytes(), font_resources(font));
        let found = extract(&b.finish(None), &Limits::default()).unwrap();
        assert_eq!(found.text, "Hallgató és\nHallgató a tűzifa");
    }

    #[test]
    fn turned_text_keeps_its_lines() {
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        let content = format!(
            "BT /F1 10 Tf 0 1 -1 0 300 100 Tm <{}> Tj [<{}> -400 <{}>] TJ 0 1 -1 0 314 100 Tm <{}> Tj \
             0 1 -1 0 328 100 Tm <{}> Tj ET\n",
            hex(&encode("Az erdő")),
            hex(&encode(" és")),
            hex(&encode("a tűzifa")),
            hex(&encode("második sor")),
            hex(&encode("harmadik sor")),
        );
        b.page(content.into_bytes(), font_resources(font));
        let found = extract(&b.finish(None), &Limits::default()).unwrap();
        assert_eq!(found.text, "Az erdő és a tűzifa\nmásodik sor\nharmadik sor");
    }

    /// Ghostscript writes the space of a justified line as character
    /// spacing inside one string (`4.139 Tc (Ak)'`); small spacing and
    /// kerning stay inside the word.
    #[test]
    fn character_spacing_opens_word_gaps() {
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        let content = format!(
            "BT /F1 10 Tf 1 0 0 1 72 700 Tm 4.139 Tc <{}> Tj 0.2 Tc 14.139 0 Td <{}> Tj 0 Tc [<{}> 12 <{}>] TJ ET\n",
            hex(&encode("Ak")),
            hex(&encode("istérség")),
            hex(&encode(" erdő")),
            hex(&encode("gazdálkodás")),
        );
        b.page(content.into_bytes(), font_resources(font));
        let found = extract(&b.finish(None), &Limits::default()).unwrap();
        assert_eq!(found.text, "A kistérség erdőgazdálkodás");
    }

    /// A Type0 font with two-byte codes (Identity-H) and a ToUnicode map,
    /// as Word and LibreOffice write them.
    fn type0_pdf(to_unicode: Option<&str>, text: &str, copies: usize) -> Vec<u8> {
        let mut b = Builder::new();
        let chars: Vec<char> = {
            let mut c: Vec<char> = text.chars().collect();
            c.sort();
            c.dedup();
            c
        };
        let code = |c: char| chars.iter().position(|x| *x == c).unwrap() as u16 + 1;
        let cmap = match to_unicode {
            Some(cmap) => cmap.to_string(),
            None => String::new(),
        };
        let cmap = if cmap == "auto" {
            let entries: String = chars
                .iter()
                .map(|c| format!("<{:04X}> <{:04X}>\n", code(*c), *c as u32))
                .collect();
            format!(
                "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
                 /CMapName /Adobe-Identity-UCS def /CMapType 2 def\n\
                 1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
                 {} beginbfchar\n{entries}endbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end\n",
                chars.len()
            )
        } else {
            cmap
        };
        let mut font = dictionary! {
            "Type" => "Font",
            "Subtype" => "Type0",
            "BaseFont" => "ABCDEF+Calibri",
            "Encoding" => "Identity-H",
            "DescendantFonts" => vec![Object::Dictionary(dictionary! {
                "Type" => "Font",
                "Subtype" => "CIDFontType2",
                "BaseFont" => "ABCDEF+Calibri",
                "CIDSystemInfo" => dictionary! {
                    "Registry" => Object::string_literal("Adobe"),
                    "Ordering" => Object::string_literal("Identity"),
                    "Supplement" => 0,
                },
                "FontDescriptor" => dictionary! {
                    "Type" => "FontDescriptor",
                    "FontName" => "ABCDEF+Calibri",
                    "Flags" => 32,
                    "FontBBox" => vec![0.into(), (-200).into(), 1000.into(), 900.into()],
                    "ItalicAngle" => 0,
                    "Ascent" => 750,
                    "Descent" => -250,
                    "CapHeight" => 700,
                    "StemV" => 80,
                },
                "DW" => 500,
            })],
        };
        if to_unicode.is_some() {
            let cmap = b.add(Stream::new(dictionary! {}, cmap.into_bytes()));
            font.set("ToUnicode", cmap);
        }
        let font = b.add(font);
        let encoded: String = text.chars().map(|c| format!("{:04X}", code(c))).collect();
        let mut content = String::from("BT /F1 10 Tf 12 TL 1 0 0 1 50 800 Tm\n");
        for _ in 0..copies {
            content.push_str(&format!("<{encoded}> Tj T*\n"));
        }
        content.push_str("ET\n");
        b.page(content.into_bytes(), font_resources(font));
        b.finish(None)
    }

    const LONG_TEXT: &str = "A kistérség fejlesztési stratégiája az erdő és a tűzifa hasznosítására épül, \
        a települések önkormányzatai közösen döntenek a pályázatokról és a helyi termelők támogatásáról.";

    #[test]
    fn type0_font_with_to_unicode() {
        let doc = parse(&type0_pdf(Some("auto"), LONG_TEXT, 3)).unwrap();
        assert!(doc.body.starts_with(LONG_TEXT), "{:?}", doc.body);
        assert_eq!(doc.title, cut_expected(LONG_TEXT));
        // A bullet from a symbol font, in the private use area, goes.
        let doc = parse(&type0_pdf(Some("auto"), "\u{f0b7} Az erdő és a tűzifa", 1)).unwrap();
        assert_eq!(doc.body, "Az erdő és a tűzifa");
    }

    fn cut_expected(text: &str) -> String {
        crate::import::common::cut_title(text)
    }

    #[test]
    fn broken_to_unicode_is_garbled() {
        // Code 1 is the space; every other code maps into Latin
        // Extended-A: letters, but no words.
        let cmap = "begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
                    1 beginbfchar <0001> <0020> endbfchar\n\
                    1 beginbfrange <0002> <00FF> <0100> endbfrange endcmap";
        let bytes = type0_pdf(Some(cmap), LONG_TEXT, 3);
        let reason = reason(&bytes);
        assert!(reason.starts_with("garbled: "), "{reason}");
        assert!(
            reason.contains("are Hungarian words, under min_known_words"),
            "{reason}"
        );
        let (seen, _) = quality::known_words(&extract(&bytes, &Limits::default()).unwrap().text);
        assert!(seen >= quality::MIN_WORDS);
    }

    #[test]
    fn font_without_unicode_map_is_garbled() {
        let reason = reason(&type0_pdf(None, LONG_TEXT, 2));
        assert!(
            reason.starts_with("garbled: 346 of 346 characters shown (100%) have no Unicode value"),
            "{reason}"
        );
        assert!(
            reason.contains("F1 (ABCDEF+Calibri) from page 1"),
            "{reason}"
        );
        assert!(reason.ends_with("run OCR on it"), "{reason}");
    }

    fn encrypted_pdf(user: &str, owner: &str) -> Vec<u8> {
        encrypted_pdf_with(user, owner, false)
    }

    /// RC4 128-bit (revision 3), or AES-256 (revision 6) as Acrobat writes
    /// today.
    fn encrypted_pdf_with(user: &str, owner: &str, aes: bool) -> Vec<u8> {
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        b.page(
            lines_content(
                None,
                &["Az erdő és a tűzifa hasznosítása", "titkos terv"],
                None,
            ),
            font_resources(font),
        );
        b.finish_with(None, |doc| {
            doc.trailer.set(
                "ID",
                vec![
                    Object::string_literal(b"0123456789abcdef".to_vec()),
                    Object::string_literal(b"0123456789abcdef".to_vec()),
                ],
            );
            let aes256: std::sync::Arc<dyn lopdf::encryption::crypt_filters::CryptFilter> =
                std::sync::Arc::new(lopdf::encryption::crypt_filters::Aes256CryptFilter);
            let version = if aes {
                lopdf::EncryptionVersion::V5 {
                    encrypt_metadata: true,
                    crypt_filters: BTreeMap::from([(b"StdCF".to_vec(), aes256)]),
                    file_encryption_key: &[7u8; 32],
                    stream_filter: b"StdCF".to_vec(),
                    string_filter: b"StdCF".to_vec(),
                    owner_password: owner,
                    user_password: user,
                    permissions: lopdf::Permissions::PRINTABLE,
                }
            } else {
                lopdf::EncryptionVersion::V2 {
                    document: doc,
                    owner_password: owner,
                    user_password: user,
                    key_length: 128,
                    permissions: lopdf::Permissions::PRINTABLE,
                }
            };
            let state = lopdf::EncryptionState::try_from(version).unwrap();
            doc.encrypt(&state).unwrap();
        })
    }

    #[test]
    fn user_password_is_encrypted() {
        let bytes = encrypted_pdf("titok", "tulaj");
        // The text is really encrypted.
        assert!(find(&bytes, b"tizifa").is_none() && find(&bytes, &encode("tűzifa")).is_none());
        assert_eq!(
            reason(&bytes),
            "encrypted: the PDF is password-protected (standard security handler, revision 3): it needs \
             a user password to open, the empty one does not; save it without a password (or print it \
             to PDF) and import that"
        );
    }

    #[test]
    fn aes_256_user_password_is_encrypted_and_owner_only_imported() {
        let reason = reason(&encrypted_pdf_with("titok", "tulaj", true));
        assert!(
            reason.starts_with(
                "encrypted: the PDF is password-protected (standard security handler, revision 6)"
            ),
            "{reason}"
        );
        let doc = parse(&encrypted_pdf_with("", "tulaj", true)).unwrap();
        assert_eq!(doc.body, "Az erdő és a tűzifa hasznosítása\ntitkos terv");
    }

    #[test]
    fn owner_password_only_is_imported() {
        let bytes = encrypted_pdf("", "tulaj");
        assert!(find(&bytes, b"/Encrypt").is_some());
        assert!(find(&bytes, &encode("tűzifa")).is_none());
        let doc = parse(&bytes).unwrap();
        assert_eq!(doc.body, "Az erdő és a tűzifa hasznosítása\ntitkos terv");
    }

    #[test]
    fn another_security_handler_is_encrypted() {
        let bytes = hungarian_pdf();
        let mut doc = Document::load_mem(&bytes).unwrap();
        let handler =
            doc.add_object(dictionary! { "Filter" => "Adobe.PubSec", "V" => 4, "R" => 4 });
        doc.trailer.set("Encrypt", handler);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        let reason = reason(&out);
        assert!(reason.starts_with("encrypted: "), "{reason}");
    }

    /// Pages that only draw an image: a scan.
    fn image_pdf(pages: usize) -> Vec<u8> {
        let mut b = Builder::new();
        let image = b.add(Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Image",
                "Width" => 2,
                "Height" => 2,
                "ColorSpace" => "DeviceGray",
                "BitsPerComponent" => 8,
            },
            vec![0, 255, 255, 0],
        ));
        for _ in 0..pages {
            b.page(
                b"q 500 0 0 700 50 70 cm /Im1 Do Q\n".to_vec(),
                dictionary! { "XObject" => dictionary! { "Im1" => image } },
            );
        }
        b.finish(None)
    }

    #[test]
    fn image_only_is_no_text_layer() {
        assert_eq!(
            reason(&image_pdf(2)),
            "no-text-layer: 2 pages without text: a scan or an image-only PDF; run OCR on it first"
        );
        let found = extract(&image_pdf(1), &Limits::default()).unwrap();
        assert_eq!(found.text, "");
        assert_eq!(found.pages, Some(1));
    }

    #[test]
    fn near_empty_text_is_no_text_layer() {
        // Page numbers only: they go, and nothing is left.
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        for n in 1..=10 {
            b.page(
                lines_content(None, &[], Some(&n.to_string())),
                font_resources(font),
            );
        }
        assert_eq!(
            reason(&b.finish(None)),
            "no-text-layer: only 0 letters of text on 10 pages (under 16 a page, page numbers and running \
             headers aside): a scan or an image-only PDF; run OCR on it first"
        );
        // A caption on each scanned page.
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        let image = b.add(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 1, "Height" => 1,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
            vec![0],
        ));
        for caption in ["Térkép", "Fotó", "Ábra"] {
            let mut content = b"q 500 0 0 700 50 70 cm /Im1 Do Q\n".to_vec();
            content.extend(lines_content(None, &[caption], None));
            b.page(
                content,
                dictionary! { "Font" => dictionary! { "F1" => font }, "XObject" => dictionary! { "Im1" => image } },
            );
        }
        assert_eq!(
            reason(&b.finish(None)),
            "no-text-layer: only 14 letters of text on 3 pages (under 16 a page, page numbers and running \
             headers aside), 3 images: a scan or an image-only PDF; run OCR on it first"
        );
    }

    #[test]
    fn truncated_and_random_bytes_are_corrupt() {
        let whole = hungarian_pdf();
        let half = &whole[..whole.len() / 2];
        assert_eq!(
            reason(half),
            format!(
                "corrupt: truncated: no %%EOF end marker in its {} bytes (the file was cut short in copying \
                 or downloading)",
                half.len()
            )
        );
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let random: Vec<u8> = (0..4096)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        assert_eq!(
            reason(&random),
            "corrupt: not a PDF: no %PDF- header in its first 1024 bytes"
        );
        let mut framed = b"%PDF-1.7\n".to_vec();
        framed.extend_from_slice(&random);
        framed.extend_from_slice(b"\n%%EOF\n");
        let reason = reason(&framed);
        assert!(reason.starts_with("corrupt: "), "{reason}");
        assert_eq!(
            reason_of_empty(),
            "corrupt: not a PDF: no %PDF- header in its first 0 bytes"
        );
    }

    fn reason_of_empty() -> String {
        extract(b"", &Limits::default())
            .map(|_| String::new())
            .unwrap_or_else(|f| format!("{}: {}", f.kind.as_str(), f.detail))
    }

    #[test]
    fn missing_content_stream_names_the_page_and_object() {
        let bytes = hungarian_pdf();
        let mut doc = Document::load_mem(&bytes).unwrap();
        let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
        let contents = doc.get_page_contents(pages[1]);
        doc.objects.remove(&contents[0]);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        assert_eq!(
            reason(&out),
            format!(
                "corrupt: page 2: its content stream (object {} 0) is missing: the file is damaged or cut short",
                contents[0].0
            )
        );
    }

    /// Offsets that no longer point at their objects (bytes added or lost
    /// in transfer, line ends converted): the table is rebuilt by scanning.
    #[test]
    fn shifted_offsets_are_recovered() {
        let whole = hungarian_pdf();
        let mut shifted = whole.clone();
        let at = find(&shifted, b"\n").unwrap() + 1;
        shifted.splice(at..at, b"% junk added in transfer\n".iter().copied());
        let doc = parse(&shifted).unwrap();
        assert!(
            doc.body.starts_with("Fejlesztési stratégia"),
            "{}",
            doc.body
        );
        // Every line end converted to CRLF, binary streams and all.
        let mut crlf = Vec::new();
        for b in &whole {
            if *b == b'\n' {
                crlf.push(b'\r');
            }
            crlf.push(*b);
        }
        let doc = parse(&crlf).unwrap();
        assert!(
            doc.body.contains("Az erdő és a tűzifa hasznosítása"),
            "{}",
            doc.body
        );
    }

    /// A table that reads, whose entry for a content stream points at the
    /// wrong bytes: the page's stream is found by rebuilding the table.
    #[test]
    fn a_wrong_xref_entry_is_rebuilt() {
        let mut bytes = hungarian_pdf();
        let doc = Document::load_mem(&bytes).unwrap();
        let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
        let content = doc.get_page_contents(pages[1])[0];
        // lopdf writes a cross-reference stream, uncompressed: `/W [1 4 2]`
        // from object 1, seven bytes an entry.
        let xref = find(&bytes, b"/Type/XRef").unwrap();
        assert!(find(&bytes[xref..], b"/W[1 4 2]/Index[1 ").is_some());
        let data = xref + find(&bytes[xref..], b"stream\n").unwrap() + 7;
        let entry = data + 7 * (content.0 as usize - 1);
        assert_eq!(bytes[entry], 1);
        bytes[entry + 1..entry + 5].copy_from_slice(&9u32.to_be_bytes());
        let as_written = read(
            &load(&bytes, false).unwrap(),
            &Limits::default(),
            MAX_OPERATIONS,
        )
        .unwrap_err();
        assert!(
            as_written.detail.starts_with("page 2: its content stream"),
            "{}",
            as_written.detail
        );
        let doc = parse(&bytes).unwrap();
        assert!(doc.body.contains("ŐSZI ÜLÉS"), "{}", doc.body);
    }

    /// Every byte-level damage of a small file ends as a document or a
    /// typed failure, never a panic or a hang.
    #[test]
    fn damaged_files_never_panic() {
        let whole = hungarian_pdf();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..300 {
            let mut bytes = whole.clone();
            for _ in 0..(1 + round % 8) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed as usize) % bytes.len();
                bytes[at] = (seed >> 32) as u8;
            }
            let outcome = crate::import::extract::guarded(|| extract(&bytes, &Limits::default()));
            if let Err(failure) = outcome {
                assert_ne!(
                    failure.kind,
                    FailureKind::ExtractorCrash,
                    "round {round}: {}",
                    failure.detail
                );
            }
        }
    }

    /// Many more damaged files than [`damaged_files_never_panic`], from every
    /// fixture: byte changes, cuts with the end marker put back, spliced
    /// halves. `cargo test -p tudashalo-node --lib pdf::tests::damage_stress
    /// -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn damage_stress() {
        let fixtures = [
            hungarian_pdf(),
            type0_pdf(Some("auto"), LONG_TEXT, 2),
            type0_pdf(None, LONG_TEXT, 1),
            encrypted_pdf("titok", "tulaj"),
            encrypted_pdf("", "tulaj"),
            image_pdf(2),
        ];
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        let mut slowest = 0.0f64;
        for round in 0..6000 {
            let base = &fixtures[round % fixtures.len()];
            let mut bytes = base.clone();
            match round % 3 {
                0 => {
                    for _ in 0..(1 + next() % 16) {
                        let at = (next() as usize) % bytes.len();
                        bytes[at] = next() as u8;
                    }
                }
                1 => {
                    bytes.truncate((next() as usize) % bytes.len());
                    bytes.extend_from_slice(b"\n%%EOF\n");
                }
                _ => {
                    let from = (next() as usize) % bytes.len();
                    let len = (next() as usize) % 64;
                    let chunk: Vec<u8> = bytes[from..(from + len).min(bytes.len())].to_vec();
                    let at = (next() as usize) % bytes.len();
                    bytes.splice(at..at, chunk);
                }
            }
            let started = std::time::Instant::now();
            let outcome = crate::import::extract::guarded(|| extract(&bytes, &Limits::default()));
            slowest = slowest.max(started.elapsed().as_secs_f64());
            let kind = match &outcome {
                Ok(_) => "ok",
                Err(f) => f.kind.as_str(),
            };
            *kinds.entry(kind).or_default() += 1;
            // `SHOW_DAMAGE=1` prints every failure, to read the messages.
            if let Err(f) = &outcome
                && std::env::var_os("SHOW_DAMAGE").is_some()
            {
                println!("{}: {}", f.kind.as_str(), f.detail);
            }
            if let Err(f) = &outcome {
                assert_ne!(
                    f.kind,
                    FailureKind::ExtractorCrash,
                    "round {round}: {}",
                    f.detail
                );
            }
        }
        println!("{kinds:?}, slowest {slowest:.3} s");
    }

    #[test]
    fn too_long_text_is_too_large() {
        let limits = Limits {
            max_body_bytes: 1000,
            ..Limits::default()
        };
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        let line = "Az erdő és a tűzifa hasznosítása a kistérség fejlesztési terve szerint.";
        let lines: Vec<&str> = std::iter::repeat_n(line, 20).collect();
        b.page(lines_content(None, &lines, None), font_resources(font));
        let err = parse_with(&b.finish(None), &limits).unwrap_err();
        assert_eq!(
            err.reason,
            "too-large: text of 1599 bytes exceeds the limit of 1000 bytes (max_body_bytes in node.toml)"
        );
        // Far over the limit: reading stops early, naming the page.
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        let lines: Vec<&str> = std::iter::repeat_n(line, 60).collect();
        for _ in 0..40 {
            b.page(lines_content(None, &lines, None), font_resources(font));
        }
        let err = parse_with(&b.finish(None), &limits).unwrap_err();
        assert!(
            err.reason.starts_with("too-large: text of ")
                && err.reason.ends_with("bytes exceeds the limit of 1000 bytes (max_body_bytes in node.toml); reading stopped at page 14 of 40"),
            "{}",
            err.reason
        );
    }

    /// Text in a Form XObject is read where the form is drawn; a form that
    /// draws itself stops.
    #[test]
    fn forms_are_followed_and_cycles_stop() {
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        let form_id = b.doc.new_object_id();
        let form = Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Resources" => dictionary! {
                    "Font" => dictionary! { "F1" => font },
                    "XObject" => dictionary! { "Fm1" => form_id },
                },
            },
            format!(
                "BT /F1 11 Tf 1 0 0 1 72 700 Tm <{}> Tj ET /Fm1 Do\n",
                hex(&encode("Az erdő és a tűzifa a keretben"))
            )
            .into_bytes(),
        );
        b.doc.objects.insert(form_id, Object::Stream(form));
        b.page(
            b"/Fm1 Do\n".to_vec(),
            dictionary! { "XObject" => dictionary! { "Fm1" => form_id } },
        );
        let found = extract(&b.finish(None), &Limits::default()).unwrap();
        assert_eq!(found.text, "Az erdő és a tűzifa a keretben");
    }

    /// Info says nothing useful (a converter's file name); XMP does.
    #[test]
    fn xmp_properties_when_info_is_silent() {
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        b.page(
            lines_content(None, &["Az erdő és a tűzifa hasznosítása"], None),
            font_resources(font),
        );
        let xmp = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreateDate="2017-03-04T10:00:00+01:00"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Az erdő &amp; a tűzifa</rdf:li></rdf:Alt></dc:title><dc:creator><rdf:Seq><rdf:li>Szabó Ilona</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;
        let bytes = b.finish_with(
            Some(dictionary! { "Title" => Object::string_literal("Microsoft Word - terv.docx") }),
            |doc| {
                let metadata = doc.add_object(Stream::new(
                    dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
                    xmp.as_bytes().to_vec(),
                ));
                let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
                doc.get_dictionary_mut(root)
                    .unwrap()
                    .set("Metadata", metadata);
            },
        );
        let found = extract(&bytes, &Limits::default()).unwrap();
        assert_eq!(found.title.as_deref(), Some("Az erdő & a tűzifa"));
        assert_eq!(found.author.as_deref(), Some("Szabó Ilona"));
        assert_eq!(found.year, Some(2017));
    }

    /// Forms that each draw the next fifty times: 50⁵ draws from a file of
    /// a few kilobytes stop at the operation cap.
    #[test]
    fn nested_form_fan_out_stops() {
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        let ids: Vec<ObjectId> = (0..5).map(|_| b.doc.new_object_id()).collect();
        for (level, id) in ids.iter().enumerate() {
            let (content, resources) = match ids.get(level + 1) {
                Some(next) => (
                    "/Fx Do\n".repeat(50),
                    dictionary! { "XObject" => dictionary! { "Fx" => *next } },
                ),
                None => (
                    format!(
                        "BT /F1 11 Tf 1 0 0 1 72 700 Tm <{}> Tj ET\n",
                        hex(&encode("erdő"))
                    ),
                    font_resources(font),
                ),
            };
            let form = Stream::new(
                dictionary! { "Type" => "XObject", "Subtype" => "Form", "Resources" => resources },
                content.into_bytes(),
            );
            b.doc.objects.insert(*id, Object::Stream(form));
        }
        b.page(
            b"/Fx Do\n".to_vec(),
            dictionary! { "XObject" => dictionary! { "Fx" => ids[0] } },
        );
        let bytes = b.finish(None);
        assert!(bytes.len() < 5_000);
        let failure = read(&load(&bytes, false).unwrap(), &Limits::default(), 200_000).unwrap_err();
        assert_eq!(failure.kind, FailureKind::TooLarge);
        assert_eq!(
            failure.detail,
            "more than 200000 content operations by page 1 (forms drawn within forms?)"
        );
    }

    #[test]
    fn cmap_ranges_and_arrays() {
        let cmap = b"%!PS comment\n/CIDInit /ProcSet findresource begin\n(a string) pop\n\
            2 beginbfchar <01> <0151> <02> <00660069> endbfchar\n\
            2 beginbfrange <10> <12> <0041> <20> <21> [<0171> <00E9>] endbfrange";
        let map = parse_cmap(cmap, false);
        assert_eq!(map.get(&1).map(String::as_str), Some("ő"));
        assert_eq!(map.get(&2).map(String::as_str), Some("fi"));
        assert_eq!(map.get(&0x12).map(String::as_str), Some("C"));
        assert_eq!(map.get(&0x21).map(String::as_str), Some("é"));
        // A huge range is cut at the entry cap.
        let big = parse_cmap(
            b"beginbfrange <00000000> <FFFFFFFF> <0041> endbfrange",
            true,
        );
        assert_eq!(big.len(), MAX_MAP_ENTRIES);
    }

    #[test]
    fn glyph_names_and_dates() {
        assert_eq!(unicode_glyph_name(b"uni0151").as_deref(), Some("ő"));
        assert_eq!(unicode_glyph_name(b"u0171").as_deref(), Some("ű"));
        assert_eq!(unicode_glyph_name(b"uni00660069").as_deref(), Some("fi"));
        assert_eq!(unicode_glyph_name(b"g123"), None);
        let doc = Document::with_version("1.5");
        let mut names = Glyphs::new();
        assert_eq!(names.name(&doc, b"odblacute"), "ő");
        assert_eq!(names.name(&doc, b"Udblacute"), "Ű");
        assert_eq!(names.name(&doc, b"uni0150"), "Ő");
        assert_eq!(names.name(&doc, b"nincs-ilyen"), "");
        assert_eq!(names.name(&doc, b"odblacute.sc"), "ő");
        assert_eq!(names.name(&doc, b"f_f_i"), "\u{fb03}");
        assert_eq!(names.name(&doc, b"T_odblacute"), "Tő");
        assert_eq!(names.name(&doc, b"g123"), "");
        assert_eq!(year_of_date("D:20190502083000+02'00'"), Some(2019));
        let broken = Object::String(
            vec![0xFE, 0xFF, 0x00, 0x41, 0xD8, 0x00, 0x01, 0x51],
            lopdf::StringFormat::Hexadecimal,
        );
        assert_eq!(text_string(&broken).as_deref(), Some("A\u{fffd}ő"));
        assert_eq!(year_of_date("2021-03-04T10:00:00Z"), Some(2021));
        assert_eq!(year_of_date("D:1601"), None);
        assert_eq!(year_of_date("D:19"), None);
        assert_eq!(useful_title("Microsoft Word - terv.docx"), None);
        assert_eq!(
            useful_title("Microsoft Word - A terv").as_deref(),
            Some("A terv")
        );
        let xmp = r#"<x:xmpmeta><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Erdő &amp; tűz</rdf:li></rdf:Alt></dc:title><xmp:CreateDate>2018-01-02</xmp:CreateDate></x:xmpmeta>"#;
        assert_eq!(xmp_value(xmp, "dc:title").as_deref(), Some("Erdő & tűz"));
        assert_eq!(
            xmp_value(xmp, "xmp:CreateDate").as_deref(),
            Some("2018-01-02")
        );
        assert_eq!(
            xmp_value(
                r#"<rdf:Description xmp:CreateDate="2017-05-06"/>"#,
                "xmp:CreateDate"
            )
            .as_deref(),
            Some("2017-05-06")
        );
    }

    /// A 200-page document, for the record: `cargo test -p tudashalo-node
    /// --release --lib pdf::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn throughput() {
        let mut b = Builder::new();
        let font = b.add(hungarian_font());
        let lines: Vec<String> = (0..45)
            .map(|i| format!("{i}. A kistérség fejlesztési stratégiája az erdő és a tűzifa hasznosításáról szól, {} pont.", i * 7919 % 10007))
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        for n in 1..=200 {
            b.page(
                lines_content(Some(HEADER), &lines, Some(&n.to_string())),
                font_resources(font),
            );
        }
        let bytes = b.finish_with(None, |doc| doc.compress());
        let limits = Limits {
            max_body_bytes: 64 * 1024 * 1024,
            ..Limits::default()
        };
        let started = std::time::Instant::now();
        let found = extract(&bytes, &limits).unwrap();
        let extracting = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let doc = parse_with(&bytes, &limits).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let mb = bytes.len() as f64 / 1e6;
        println!(
            "200 pages, {mb:.2} MB of PDF ({:.2} MB of content streams inflated) -> {:.2} MB of text; \
             extraction {extracting:.3} s: {:.0} pages/s, {:.1} MB/s of content; with clean-up and checks \
             {seconds:.3} s: {:.0} pages/s",
            content_bytes(&bytes) as f64 / 1e6,
            found.text.len() as f64 / 1e6,
            200.0 / extracting,
            content_bytes(&bytes) as f64 / 1e6 / extracting,
            200.0 / seconds
        );
        assert_eq!(doc.source.unwrap().pages, Some(200));
    }

    fn content_bytes(pdf: &[u8]) -> usize {
        let doc = Document::load_mem(pdf).unwrap();
        doc.get_pages()
            .values()
            .map(|id| doc.get_page_content(*id).len())
            .sum()
    }

    /// Any PDF files on this machine, for checking the extractor by eye:
    /// `PDF_FILES=a.pdf:b.pdf cargo test -p tudashalo-node --lib
    /// pdf::tests::extract_files -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn extract_files() {
        let files = std::env::var("PDF_FILES").unwrap_or_default();
        for file in files.split(':').filter(|f| !f.is_empty()) {
            let bytes = std::fs::read(file).unwrap();
            match parse(&bytes) {
                Ok(doc) => println!(
                    "== {file}: {:?} pages, title {:?}, year {:?}\n{}\n",
                    doc.source.as_ref().and_then(|s| s.pages),
                    doc.title,
                    doc.year,
                    doc.body
                ),
                Err(err) => println!("== {file}: {}\n", err.reason),
            }
        }
    }

    /// Seeds for the `extract_pdf` fuzz target, made by the fixtures above:
    /// `cargo test -p tudashalo-node --lib pdf::tests::write_fuzz_seeds --
    /// --ignored`.
    #[test]
    #[ignore]
    fn write_fuzz_seeds() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/extract_pdf");
        std::fs::create_dir_all(&dir).unwrap();
        let seeds = [
            ("hungarian-differences.pdf", hungarian_pdf()),
            ("type0-tounicode.pdf", type0_pdf(Some("auto"), LONG_TEXT, 2)),
            ("type0-no-tounicode.pdf", type0_pdf(None, LONG_TEXT, 1)),
            (
                "encrypted-user-password.pdf",
                encrypted_pdf("titok", "tulaj"),
            ),
            ("encrypted-owner-only.pdf", encrypted_pdf("", "tulaj")),
            ("image-only.pdf", image_pdf(2)),
        ];
        for (name, bytes) in seeds {
            assert!(bytes.len() < 20_000, "{name}: {} bytes", bytes.len());
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}
