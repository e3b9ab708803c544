//! RTF documents (`.rtf`): the text a reader sees, then the footnotes, and
//! the title, author, creation year and page count of the `\info` group.
//!
//! A small reader of our own, one pass over the bytes. No crate: the one
//! maintained RTF parser on crates.io (`rtf-parser` 0.4) reads a `&str`, not
//! bytes, and knows neither `\ansicpg` nor `\fcharset`, the code pages
//! Hungarian files depend on. It reads groups `{…}` with an explicit stack of their states
//! (never recursion), at most [`MAX_GROUP_DEPTH`] deep, else `corrupt`;
//! control words with their parameters, and control symbols.
//!
//! Characters: `\'hh` bytes (and 8-bit bytes written raw) are decoded in the
//! code page in force: that of the current font's `\fcharsetN` (238,
//! Eastern European, is Windows-1250) or `\cpgN` when the font table gives
//! one, else the document's `\ansicpgN` (default Windows-1252; `\mac` is
//! Mac Roman; a font of `\fcharset0` is Windows-1252). `\uN` is a Unicode
//! character (signed 16-bit, 65536 added to a negative value; surrogate
//! pairs joined), followed by `\ucN` fallback characters
//! that are skipped (default 1). `\par`, `\line`, `\sect`, `\page`, `\row`
//! end lines; `\tab` is a tab, cells (`\cell`) are separated by tabs;
//! `\~` a no-break space, `\_` a hyphen, `\-` (an optional hyphen) dropped;
//! `\emdash`, `\bullet`, the quotes, … their characters. Hidden (`\v`) and
//! tracked-deleted (`\deleted`) text is not text.
//!
//! Destinations skipped with all they contain: any unknown `{\*\…}`, the
//! font table (its charsets read), colour table, style sheet, list tables,
//! `\info` (its `\title`, `\author` and `\creatim\yrN` read), pictures
//! (`\pict`, whose hex data is not text; `\bin` data skipped by its length),
//! objects, headers and footers, field instructions (`\fldinst`; a field's
//! `\fldrslt` is kept: the text the field shows), list numbering text, the
//! ANSI half of `\upr` (its `\ud` Unicode half is kept). Footnotes and
//! endnotes (`\footnote`) follow the body after a blank line, as for DOCX.
//!
//! A file that does not start with `{\rtf` is `corrupt`. A file that ends
//! with groups still open (truncated, or written by a careless program) is
//! read as far as it goes, as Word and LibreOffice open it: its text so far
//! is the document. When nothing of the text was reached (the file stops in
//! its font table or style sheet), it is `corrupt: … truncated`. What
//! follows the outermost group's `}` is ignored. The text never grows past
//! `max_body_bytes`: it is counted before every append.

use std::collections::HashMap;

use encoding_rs::{Encoding, WINDOWS_1252};

use super::Limits;
use super::common::check_year;
use super::extract::{Extracted, Failure, FailureKind, too_large_text};

/// The deepest nesting of groups accepted; Word's files stay below 20.
pub const MAX_GROUP_DEPTH: usize = 256;
/// The most fonts with a code page of their own remembered.
const MAX_FONTS: usize = 16_384;
/// The most bytes of a title or author kept.
const MAX_META_BYTES: usize = 4096;
/// The longest control word (the specification's 32 letters).
const MAX_WORD_LETTERS: usize = 32;
/// The most fallback characters a `\ucN` may announce.
const MAX_UC: usize = 16;
/// Undecoded bytes are decoded at the latest after this many.
const PENDING_BYTES: usize = 8192;

/// Destinations skipped with all they contain.
const SKIPPED: [&[u8]; 46] = [
    b"colortbl",
    b"stylesheet",
    b"listtable",
    b"listoverridetable",
    b"revtbl",
    b"rsidtbl",
    b"filetbl",
    b"xmlnstbl",
    b"generator",
    b"pict",
    b"object",
    b"objdata",
    b"nonshppict",
    b"shprslt",
    b"header",
    b"headerl",
    b"headerr",
    b"headerf",
    b"footer",
    b"footerl",
    b"footerr",
    b"footerf",
    b"fldinst",
    b"listtext",
    b"pntext",
    b"pntxta",
    b"pntxtb",
    b"bkmkstart",
    b"bkmkend",
    b"ftnsep",
    b"ftnsepc",
    b"ftncn",
    b"aftnsep",
    b"aftnsepc",
    b"aftncn",
    b"annotation",
    b"atnid",
    b"atnauthor",
    b"xe",
    b"tc",
    b"txe",
    b"rxe",
    b"themedata",
    b"colorschememapping",
    b"latentstyles",
    b"datastore",
];

/// Where the characters of a group go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest {
    Body,
    Note,
    Skip,
    FontTable,
    Info,
    Title,
    Author,
    Created,
}

/// The state a group starts with its enclosing group's copy of, and that
/// its `}` restores.
#[derive(Debug, Clone, Copy)]
struct State {
    dest: Dest,
    font: Option<i32>,
    /// Fallback characters after `\uN`.
    uc: usize,
    /// `\v` (hidden text) or `\deleted` (a tracked deletion).
    hidden: bool,
    deleted: bool,
    /// Inside `\upr`: the destination its `\ud` half goes to.
    upr: Option<Dest>,
}

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, Failure> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let rest = bytes.get(start..).unwrap_or_default();
    if !rest.starts_with(b"{\\rtf") {
        return Err(Failure::new(
            FailureKind::Corrupt,
            "not an RTF file: it does not start with {\\rtf",
        ));
    }
    Reader::new(rest, limits).read()
}

/// One pass over an RTF file.
struct Reader<'a, 'l> {
    bytes: &'a [u8],
    at: usize,
    /// The states of the enclosing groups.
    stack: Vec<State>,
    state: State,
    /// After `\*`: the next control word's group is skipped unless known.
    ignorable: bool,
    /// Fallback characters still to skip after `\uN`.
    fallback: usize,
    /// The code page of the document (`\ansicpgN`).
    document: &'static Encoding,
    default_font: Option<i32>,
    /// The code pages of fonts that state one.
    fonts: HashMap<i32, &'static Encoding>,
    /// The font the font table is defining.
    defining: Option<i32>,
    /// Bytes to decode in the code page in force.
    pending: Vec<u8>,
    /// A `\uN` high surrogate waiting for its low half.
    high: Option<u32>,
    out: Out<'l>,
    title: String,
    author: String,
    year: Option<i32>,
    /// The page count Word stores in `\info` (`\nofpagesN`).
    pages: Option<u32>,
}

impl<'a, 'l> Reader<'a, 'l> {
    fn new(bytes: &'a [u8], limits: &'l Limits) -> Self {
        Reader {
            bytes,
            at: 0,
            stack: Vec::new(),
            state: State {
                dest: Dest::Body,
                font: None,
                uc: 1,
                hidden: false,
                deleted: false,
                upr: None,
            },
            ignorable: false,
            fallback: 0,
            document: WINDOWS_1252,
            default_font: None,
            fonts: HashMap::new(),
            defining: None,
            pending: Vec::new(),
            high: None,
            out: Out::new(limits),
            title: String::new(),
            author: String::new(),
            year: None,
            pages: None,
        }
    }

    fn read(mut self) -> Result<Extracted, Failure> {
        while let Some(&byte) = self.bytes.get(self.at) {
            self.at += 1;
            match byte {
                b'{' => self.open()?,
                b'}' => {
                    self.close()?;
                    if self.stack.is_empty() {
                        // The outermost group is closed: the document ends.
                        break;
                    }
                }
                b'\\' => self.control()?,
                b'\r' | b'\n' | 0 => {}
                b'\t' => self.special("\t")?,
                _ => self.byte(byte)?,
            }
        }
        self.flush()?;
        if !self.stack.is_empty() && self.out.is_empty() {
            return Err(Failure::new(
                FailureKind::Corrupt,
                format!(
                    "the file ends with {} groups still open and no text read: truncated",
                    self.stack.len()
                ),
            ));
        }
        let meta = |s: &str| Some(s.split_whitespace().collect::<Vec<_>>().join(" "));
        Ok(Extracted {
            title: meta(&self.title).filter(|t| !t.is_empty()),
            author: meta(&self.author).filter(|a| !a.is_empty()),
            year: self.year,
            pages: self.pages,
            text: self.out.finish(),
        })
    }

    fn open(&mut self) -> Result<(), Failure> {
        self.flush()?;
        if self.stack.len() >= MAX_GROUP_DEPTH {
            return Err(Failure::new(
                FailureKind::Corrupt,
                format!(
                    "groups nested deeper than MAX_GROUP_DEPTH ({MAX_GROUP_DEPTH}) at byte {}",
                    self.at - 1
                ),
            ));
        }
        self.stack.push(self.state);
        self.ignorable = false;
        self.fallback = 0;
        Ok(())
    }

    fn close(&mut self) -> Result<(), Failure> {
        self.flush()?;
        let Some(outer) = self.stack.pop() else {
            return Ok(());
        };
        if self.state.dest == Dest::Note && outer.dest != Dest::Note {
            self.out.end_note()?;
        }
        if self.state.dest == Dest::FontTable {
            self.defining = None;
        }
        self.state = outer;
        self.ignorable = false;
        self.fallback = 0;
        Ok(())
    }

    /// A byte of text, decoded later in the code page in force.
    fn byte(&mut self, byte: u8) -> Result<(), Failure> {
        if self.fallback > 0 {
            self.fallback -= 1;
            return Ok(());
        }
        if self.takes_text() {
            self.pending.push(byte);
            if self.pending.len() >= PENDING_BYTES {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Whether characters go anywhere in the current group.
    fn takes_text(&self) -> bool {
        match self.state.dest {
            Dest::Body | Dest::Note => !self.state.hidden && !self.state.deleted,
            Dest::Title | Dest::Author => true,
            _ => false,
        }
    }

    /// The code page in force: the current font's, else the document's.
    fn encoding(&self) -> &'static Encoding {
        self.state
            .font
            .and_then(|f| self.fonts.get(&f).copied())
            .unwrap_or(self.document)
    }

    /// Decodes the pending bytes into the current destination.
    fn flush(&mut self) -> Result<(), Failure> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::take(&mut self.pending);
        let (text, _) = self.encoding().decode_without_bom_handling(&bytes);
        let result = self.emit(&text);
        let mut bytes = bytes;
        bytes.clear();
        self.pending = bytes;
        result
    }

    /// Text into the current destination (the caller has flushed).
    fn emit(&mut self, text: &str) -> Result<(), Failure> {
        if !self.takes_text() {
            return Ok(());
        }
        match self.state.dest {
            Dest::Body => self.out.push(false, text),
            Dest::Note => self.out.push(true, text),
            Dest::Title => {
                push_bounded(&mut self.title, text);
                Ok(())
            }
            Dest::Author => {
                push_bounded(&mut self.author, text);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A character a control word stands for.
    fn special(&mut self, text: &str) -> Result<(), Failure> {
        if self.fallback > 0 {
            self.fallback -= 1;
            return Ok(());
        }
        self.flush()?;
        self.emit(text)
    }

    /// A line end (`\par`, `\line`, …) in the current destination.
    fn line(&mut self) -> Result<(), Failure> {
        self.flush()?;
        if !self.takes_text() {
            return Ok(());
        }
        match self.state.dest {
            Dest::Body => self.out.newline(false),
            Dest::Note => self.out.newline(true),
            _ => Ok(()),
        }
    }

    /// After a `\`: a control word with its parameter, or a control symbol.
    fn control(&mut self) -> Result<(), Failure> {
        let Some(&first) = self.bytes.get(self.at) else {
            return Ok(());
        };
        if !first.is_ascii_alphabetic() {
            self.at += 1;
            return self.symbol(first);
        }
        let start = self.at;
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphabetic())
        {
            self.at += 1;
        }
        let word = self.bytes.get(start..self.at).unwrap_or_default();
        let param = self.parameter();
        if self.bytes.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
        if word.len() > MAX_WORD_LETTERS {
            return Ok(());
        }
        if self.fallback > 0 {
            // A control word in the fallback of `\uN` counts as one of its
            // characters.
            self.fallback -= 1;
            if word == b"bin" {
                self.skip_binary(param);
            }
            return Ok(());
        }
        self.flush()?;
        self.word(word, param)
    }

    /// A control word's numeric parameter, if it has one.
    fn parameter(&mut self) -> Option<i32> {
        let negative = self.bytes.get(self.at) == Some(&b'-')
            && self
                .bytes
                .get(self.at + 1)
                .is_some_and(|b| b.is_ascii_digit());
        if negative {
            self.at += 1;
        }
        let mut value: i64 = 0;
        let mut digits = 0;
        while let Some(&b) = self.bytes.get(self.at) {
            if !b.is_ascii_digit() {
                break;
            }
            self.at += 1;
            digits += 1;
            // Past ten digits a number is no parameter: it saturates.
            value = (value * 10 + i64::from(b - b'0')).min(i64::from(i32::MAX) + 1);
        }
        if digits == 0 {
            return None;
        }
        let value = if negative { -value } else { value };
        Some(value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
    }

    fn skip_binary(&mut self, length: Option<i32>) {
        let length = usize::try_from(length.unwrap_or(0)).unwrap_or(0);
        self.at = self.at.saturating_add(length).min(self.bytes.len());
    }

    fn symbol(&mut self, symbol: u8) -> Result<(), Failure> {
        match symbol {
            b'\'' => {
                let hex = self.bytes.get(self.at..self.at + 2);
                let value = hex
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match value {
                    Some(byte) => {
                        self.at += 2;
                        self.byte(byte)
                    }
                    // Not two hex digits: the escape is dropped.
                    None => Ok(()),
                }
            }
            b'\\' | b'{' | b'}' => self.byte(symbol),
            b'~' => self.special("\u{a0}"),
            b'_' => self.special("-"),
            b'-' => self.special(""),
            b'*' => {
                self.ignorable = true;
                Ok(())
            }
            // `\` before a line end is `\par`.
            b'\r' | b'\n' => {
                if self.fallback > 0 {
                    self.fallback -= 1;
                    return Ok(());
                }
                self.line()
            }
            _ => {
                if self.fallback > 0 {
                    self.fallback -= 1;
                }
                Ok(())
            }
        }
    }

    fn word(&mut self, word: &[u8], param: Option<i32>) -> Result<(), Failure> {
        if std::mem::take(&mut self.ignorable) && !matches!(word, b"footnote" | b"ud") {
            // `{\*\…}`: a destination this reader does not know.
            self.state.dest = Dest::Skip;
            return Ok(());
        }
        let on = param != Some(0);
        match word {
            b"par" | b"line" | b"sect" | b"page" | b"column" => self.line()?,
            b"row" | b"nestrow" => {
                self.line()?;
                self.out.cells = 0;
            }
            b"cell" | b"nestcell" if self.takes_text() => {
                self.out.cells = self.out.cells.saturating_add(1);
            }
            b"tab" => self.special("\t")?,
            b"emdash" => self.special("\u{2014}")?,
            b"endash" => self.special("\u{2013}")?,
            b"bullet" => self.special("\u{2022}")?,
            b"lquote" => self.special("\u{2018}")?,
            b"rquote" => self.special("\u{2019}")?,
            b"ldblquote" => self.special("\u{201c}")?,
            b"rdblquote" => self.special("\u{201d}")?,
            b"emspace" | b"enspace" | b"qmspace" => self.special(" ")?,
            b"u" => self.unicode(param)?,
            b"uc" => {
                self.state.uc = usize::try_from(param.unwrap_or(1)).unwrap_or(0).min(MAX_UC);
            }
            b"bin" => self.skip_binary(param),
            b"ansi" => self.document = WINDOWS_1252,
            b"mac" => self.document = encoding_rs::MACINTOSH,
            b"ansicpg" => {
                if let Some(encoding) = param.and_then(code_page) {
                    self.document = encoding;
                }
            }
            b"deff" => {
                self.default_font = param;
                self.state.font = self.state.font.or(param);
            }
            b"f" => {
                if self.state.dest == Dest::FontTable {
                    self.defining = param;
                } else {
                    self.state.font = param;
                }
            }
            b"fcharset" | b"cpg" if self.state.dest == Dest::FontTable => {
                let encoding = if word == b"cpg" {
                    param.and_then(code_page)
                } else {
                    param.and_then(charset)
                };
                if let (Some(font), Some(encoding)) = (self.defining, encoding)
                    && (self.fonts.len() < MAX_FONTS || self.fonts.contains_key(&font))
                {
                    self.fonts.insert(font, encoding);
                }
            }
            b"plain" => {
                self.state.font = self.default_font;
                self.state.hidden = false;
                self.state.deleted = false;
            }
            b"v" => self.state.hidden = on,
            b"deleted" => self.state.deleted = on,
            b"fonttbl" => self.state.dest = Dest::FontTable,
            b"info" => self.state.dest = Dest::Info,
            b"title" if self.state.dest == Dest::Info => self.state.dest = Dest::Title,
            b"author" if self.state.dest == Dest::Info => self.state.dest = Dest::Author,
            b"creatim" if self.state.dest == Dest::Info => self.state.dest = Dest::Created,
            b"nofpages" if self.state.dest == Dest::Info => {
                self.pages = param.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0);
            }
            b"yr" if self.state.dest == Dest::Created && self.year.is_none() => {
                self.year = param.and_then(|y| check_year(i64::from(y)).ok());
            }
            b"footnote" => {
                if matches!(self.state.dest, Dest::Body | Dest::Note) {
                    self.state.dest = Dest::Note;
                    self.out.note_fresh = true;
                } else {
                    self.state.dest = Dest::Skip;
                }
            }
            b"upr" => {
                self.state.upr = Some(self.state.dest);
                self.state.dest = Dest::Skip;
            }
            b"ud" => {
                if let Some(dest) = self.state.upr {
                    self.state.dest = dest;
                } else {
                    self.state.dest = Dest::Skip;
                }
            }
            _ if SKIPPED.contains(&word) => self.state.dest = Dest::Skip,
            b"title" | b"author" | b"subject" | b"keywords" | b"comment" | b"doccomm"
            | b"operator" | b"company" | b"manager" | b"category" | b"hlinkbase" => {
                self.state.dest = Dest::Skip;
            }
            _ => {}
        }
        Ok(())
    }

    /// `\uN`: a UTF-16 code unit, signed; a surrogate pair is joined.
    fn unicode(&mut self, param: Option<i32>) -> Result<(), Failure> {
        self.fallback = self.state.uc;
        let Some(n) = param else {
            return Ok(());
        };
        let unit = if n < 0 { n + 65536 } else { n };
        let Ok(unit) = u32::try_from(unit) else {
            return Ok(());
        };
        let c = match unit {
            0xD800..=0xDBFF => {
                self.high = Some(unit);
                return Ok(());
            }
            0xDC00..=0xDFFF => match self.high.take() {
                Some(high) => char::from_u32(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)),
                None => None,
            },
            _ => char::from_u32(unit),
        };
        self.high = None;
        let c = c.unwrap_or('\u{fffd}');
        let mut buf = [0u8; 4];
        self.emit(c.encode_utf8(&mut buf))
    }
}

/// The encoding of a Windows code page number, when `encoding_rs` has it.
fn code_page(cp: i32) -> Option<&'static Encoding> {
    let label = match cp {
        874 | 1250..=1258 => format!("windows-{cp}"),
        932 => "shift_jis".into(),
        936 => "gbk".into(),
        949 => "euc-kr".into(),
        950 => "big5".into(),
        10000 => "macintosh".into(),
        20866 => "koi8-r".into(),
        28591 => "iso-8859-1".into(),
        28592 => "iso-8859-2".into(),
        65001 => "utf-8".into(),
        _ => return None,
    };
    Encoding::for_label(label.as_bytes())
}

/// The code page of a font's `\fcharsetN`: 0 (ANSI) is Windows-1252, as
/// Word and LibreOffice read it (a Latin-1 `õ` for `ő` is repaired by the
/// clean-up); `None` for default and symbol fonts, which follow the
/// document's.
fn charset(n: i32) -> Option<&'static Encoding> {
    code_page(match n {
        0 => 1252,
        77 => 10000,
        128 => 932,
        129 => 949,
        134 => 936,
        136 => 950,
        161 => 1253,
        162 => 1254,
        163 => 1258,
        177 => 1255,
        178 => 1256,
        186 => 1257,
        204 => 1251,
        222 => 874,
        238 => 1250,
        _ => return None,
    })
}

/// Appends `text` to `to` while it is under [`MAX_META_BYTES`].
fn push_bounded(to: &mut String, text: &str) {
    for c in text.chars() {
        if to.len() + c.len_utf8() > MAX_META_BYTES {
            break;
        }
        to.push(c);
    }
}

/// The text: the body and the notes, counted together before every append.
struct Out<'l> {
    main: String,
    notes: String,
    /// Cells ended (`\cell`) whose tab is written before the next text.
    cells: usize,
    /// A footnote has begun and none of its text is written yet: the space
    /// after its reference mark is dropped.
    note_fresh: bool,
    limits: &'l Limits,
}

impl<'l> Out<'l> {
    fn new(limits: &'l Limits) -> Self {
        Out {
            main: String::new(),
            notes: String::new(),
            cells: 0,
            note_fresh: false,
            limits,
        }
    }

    fn is_empty(&self) -> bool {
        self.main.trim().is_empty() && self.notes.trim().is_empty()
    }

    fn room(&self, n: usize) -> Result<(), Failure> {
        let size = self.main.len() + self.notes.len() + n;
        if size > self.limits.max_body_bytes {
            return Err(too_large_text(size, self.limits));
        }
        Ok(())
    }

    fn push(&mut self, note: bool, text: &str) -> Result<(), Failure> {
        let text = if note && self.note_fresh {
            text.trim_start()
        } else {
            text
        };
        if text.is_empty() {
            return Ok(());
        }
        if self.cells > 0 {
            self.room(self.cells)?;
            let tabs = "\t".repeat(self.cells);
            self.cells = 0;
            self.push(note, &tabs)?;
        }
        self.room(text.len())?;
        if note {
            self.note_fresh = false;
            self.notes.push_str(text);
        } else {
            self.main.push_str(text);
        }
        Ok(())
    }

    fn newline(&mut self, note: bool) -> Result<(), Failure> {
        self.room(1)?;
        if note {
            self.notes.push('\n');
        } else {
            self.main.push('\n');
        }
        Ok(())
    }

    /// A footnote's group ends: the next note starts on a line of its own.
    fn end_note(&mut self) -> Result<(), Failure> {
        if !self.notes.is_empty() && !self.notes.ends_with('\n') {
            self.newline(true)?;
        }
        self.cells = 0;
        Ok(())
    }

    fn finish(self) -> String {
        let mut text = self.main.trim_end_matches('\n').to_string();
        let notes = self.notes.trim_matches('\n');
        if !notes.trim().is_empty() {
            text.push_str("\n\n");
            text.push_str(notes);
        }
        text
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::import::extract::{DocFormat, DocumentFile, parse_document};
    use crate::import::isolate::Isolation;
    use crate::import::mutants::mutants;
    use crate::import::{FileError, TextMeta};
    use tudashalo_core::model::Document;

    fn parse_with(bytes: &[u8], limits: &Limits) -> Result<Document, FileError> {
        let file = DocumentFile::named("level.rtf", DocFormat::Rtf, bytes)?;
        parse_document(
            DocFormat::Rtf,
            file,
            &TextMeta::default(),
            limits,
            &Isolation::InProcess,
        )
    }

    fn reason(bytes: &[u8]) -> String {
        parse_with(bytes, &Limits::default()).unwrap_err().reason
    }

    fn text(bytes: &[u8]) -> Extracted {
        extract(bytes, &Limits::default()).unwrap()
    }

    /// An RTF as Word writes it: Windows-1250, a Central European font, the
    /// info group, a field, a picture, a footnote, a table, Unicode.
    const WORD_RTF: &str = concat!(
        r"{\rtf1\adeflang1025\ansi\ansicpg1250\uc1\adeff0\deff0\stshfdbch0",
        r"{\fonttbl{\f0\froman\fcharset238\fprq2{\*\panose 02020603050405020304}Times New Roman CE;}",
        r"{\f1\fswiss\fcharset0\fprq2 Arial;}{\f2\fnil\fcharset204 Courier Cyr;}}",
        r"{\colortbl;\red0\green0\blue0;\red255\green0\blue0;}",
        r"{\stylesheet{\ql \li0\ri0\widctlpar\f0\fs24 \snext0 Normal;}{\*\cs10 \additive Default Paragraph Font;}}",
        r"{\*\generator Microsoft Word 16.0;}",
        r"{\info{\title Szendr\'f5 fejleszt\'e9si terve}{\author Kov\'e1cs \'d6d\'f6n}",
        r"{\operator Valaki M\'e1s}{\creatim\yr2019\mo5\dy2\hr8\min0}{\revtim\yr2021\mo1\dy1}{\nofpages3}}",
        "\r\n",
        r"{\*\rsidtbl \rsid123}\paperw11906\paperh16838",
        r"{\header \pard\plain \f0 Fejl\'e9c minden oldalon\par}",
        r"{\footer \pard\plain \f0 L\'e1bl\'e9c\par}",
        r"\pard\plain \ltrpar\f0\fs24 Az erd\'f5 \'e9s a t\'fbzifa\par",
        "\r\n",
        r"\pard Unicode: \u337\'f5 \u369\'fb, \u337?\u369?, \uc2\u336\'3f\'3f vagy {\uc0\u368  }\uc1 v\'e9ge\par",
        r"\pard Oldal{\field{\*\fldinst { PAGE \\* MERGEFORMAT }}{\fldrslt {3}}}\tab",
        r"{\*\bkmkstart konyvjelzo}ide{\*\bkmkend konyvjelzo}\~\'96\_\-v\'e9g\emdash x\par",
        r"\pard {\pict\wmetafile8\picw100\pich100 0100090000035a00000000001200000000000500000009020000000004000000fb02}",
        r"K\'e9p ut\'e1n{\super\chftn}{\footnote \pard\plain \f0{\super\chftn} L\'e1bjegyzet a forr\'e1sr\'f3l.}",
        r" folytat\'e1s\par",
        r"\trowd\cellx1000\cellx2000 \pard\intbl Telep\'fcl\'e9s\cell Lakos\cell\row",
        r"\trowd\cellx1000\cellx2000 \pard\intbl Szendr\'f5\cell 4012\cell\row",
        r"\pard {\v rejtett sz\'f6veg}{\deleted t\'f6r\'f6lt}l\'e1that\'f3 ",
        r"{\f1 Latin-1 \'f5} {\f2 \'c6\'e0\'f0} {\*\unknown ismeretlen}\{z\'e1r\'f3jel\}\par",
        r"}",
    );

    #[test]
    fn word_rtf_as_a_reader_sees_it() {
        let found = text(WORD_RTF.as_bytes());
        assert_eq!(
            found.text,
            "Az erdő és a tűzifa\n\
             Unicode: ő ű, őű, Ő vagy Ű vége\n\
             Oldal3\tide\u{a0}–-vég—x\n\
             Kép után folytatás\n\
             Település\tLakos\n\
             Szendrő\t4012\n\
             látható Latin-1 õ Жар {zárójel}\n\
             \n\
             Lábjegyzet a forrásról."
        );
        for absent in [
            "Times",
            "Arial",
            "Normal",
            "Microsoft",
            "Fejléc",
            "Lábléc",
            "PAGE",
            "MERGEFORMAT",
            "konyvjelzo",
            "0100",
            "rejtett",
            "törölt",
            "ismeretlen",
            "Valaki",
            "panose",
            "02020603",
        ] {
            assert!(!found.text.contains(absent), "{absent} in {:?}", found.text);
        }
        assert_eq!(found.title.as_deref(), Some("Szendrő fejlesztési terve"));
        assert_eq!(found.author.as_deref(), Some("Kovács Ödön"));
        assert_eq!(found.year, Some(2019));
        assert_eq!(found.pages, Some(3));
    }

    #[test]
    fn word_rtf_through_the_import() {
        let doc = parse_with(WORD_RTF.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(doc.title, "Szendrő fejlesztési terve");
        assert_eq!(doc.year, Some(2019));
        assert_eq!(doc.extra["author"], "Kovács Ödön");
        // The clean-up repairs the Latin-1 õ and makes the no-break space
        // a space.
        assert!(doc.body.contains("Latin-1 ő Жар"), "{}", doc.body);
        assert!(doc.body.contains("ide –-vég"), "{}", doc.body);
    }

    #[test]
    fn code_pages_fonts_and_defaults() {
        // No \ansicpg: Windows-1252, where 0xF5 is õ.
        assert_eq!(text(br"{\rtf1\ansi \'f5\'e9}").text, "õé");
        // A font of charset 238 decodes in Windows-1250, a \plain returns to
        // the default font.
        let rtf = br"{\rtf1\ansi\deff0{\fonttbl{\f0 Arial;}{\f1\fcharset238 Arial CE;}}\f1 \'f5\'fb\plain \'f5}";
        assert_eq!(text(rtf).text, "őűõ");
        // A font table without groups; \cpg.
        let rtf = br"{\rtf1{\fonttbl\f0\fcharset0 Arial;\f3\cpg1250 Arial CE;}\f3\'f5}";
        assert_eq!(text(rtf).text, "ő");
        // A surrogate pair, \upr's Unicode half, \ucN across groups.
        let rtf = br"{\rtf1\uc1\u-10179?\u-8704? {\upr{k\'e9p}{\*\ud{k\u233?p}}} {\uc3\u337 abc}d}";
        assert_eq!(text(rtf).text, "\u{1f600} kép őd");
        // \bin data is skipped by its length, braces and all.
        let rtf = b"{\\rtf1 a{\\pict\\bin5 }{\\}x}b}";
        assert_eq!(text(rtf).text, "ab");
    }

    #[test]
    fn not_rtf_is_corrupt() {
        for bytes in [&b"Sima sz\xf6veg"[..], b"", b"{\\rtx1 }", b"{\\\\rtf1}"] {
            assert_eq!(
                reason(bytes),
                "corrupt: not an RTF file: it does not start with {\\rtf"
            );
        }
        // Leading white space is allowed.
        assert_eq!(text(b"\r\n {\\rtf1 sz\\'f6veg}").text, "szöveg");
    }

    #[test]
    fn deep_nesting_is_corrupt_naming_the_limit() {
        let rtf = format!("{{\\rtf1 {}x", "{".repeat(100_000));
        let failure = extract(rtf.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Corrupt);
        assert_eq!(
            failure.detail,
            "groups nested deeper than MAX_GROUP_DEPTH (256) at byte 262"
        );
        // 255 groups inside the document's are fine.
        let rtf = format!(
            "{{\\rtf1 {}m\\'e9ly{}}}",
            "{".repeat(MAX_GROUP_DEPTH - 1),
            "}".repeat(MAX_GROUP_DEPTH - 1)
        );
        assert_eq!(text(rtf.as_bytes()).text, "mély");
    }

    /// A file cut in its body keeps the text read so far (Word and
    /// LibreOffice open it so); cut before any text, it is corrupt.
    #[test]
    fn truncated_file() {
        let bytes = WORD_RTF.as_bytes();
        let cut = WORD_RTF.find("Unicode").unwrap();
        let found = text(&bytes[..cut + 4]);
        assert_eq!(found.text, "Az erdő és a tűzifa\nUnic");
        assert_eq!(found.title.as_deref(), Some("Szendrő fejlesztési terve"));
        // In the middle of an escape, a control word, a footnote.
        for (at, keep) in [("t\\'fbzifa", 3), ("\\emdash", 4), ("L\\'e1bjegyzet a", 15)] {
            let cut = WORD_RTF.find(at).unwrap() + keep;
            let found = text(&bytes[..cut]);
            assert!(found.text.starts_with("Az erdő"), "{:?}", found.text);
        }
        let cut = WORD_RTF.find("Arial;").unwrap();
        assert_eq!(
            reason(&bytes[..cut]),
            "corrupt: the file ends with 3 groups still open and no text read: truncated"
        );
        // Balanced and empty is no text; what follows the last } is ignored.
        assert_eq!(
            reason(br"{\rtf1\ansi }"),
            "no-text: the document holds no text"
        );
        assert_eq!(text(br"{\rtf1 a}}}b{c").text, "a");
    }

    #[test]
    fn text_over_max_body_bytes_is_too_large() {
        let limits = Limits {
            max_body_bytes: 1000,
            ..Limits::default()
        };
        let rtf = format!("{{\\rtf1\\ansicpg1250 {}}}", "\\'f5".repeat(600));
        let err = parse_with(rtf.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            err.reason,
            "too-large: text of 1200 bytes exceeds the limit of 1000 bytes (max_body_bytes in node.toml)"
        );
        // Counted as it grows, lines and tabs too.
        let rtf = format!("{{\\rtf1 {}}}", "a\\cell\\par ".repeat(1_000_000));
        let failure = extract(rtf.as_bytes(), &limits).unwrap_err();
        assert!(
            failure.detail.starts_with("text of 100"),
            "{}",
            failure.detail
        );
    }

    /// Mangled files end in text or a typed failure, never in a panic.
    #[test]
    fn mangled_files_do_not_panic() {
        let limits = Limits {
            max_body_bytes: 4096,
            ..Limits::default()
        };
        for bytes in mutants(WORD_RTF.as_bytes(), b"{}\\'*-0123456789abfu \xF5", 3000) {
            let _ = extract(&bytes, &limits);
        }
    }

    /// Seeds for the `extract_rtf` fuzz target, from this module's
    /// fixtures: `cargo test -p tudashalo-node --lib
    /// import::rtf::tests::write_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore]
    fn write_fuzz_seeds() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/extract_rtf");
        std::fs::create_dir_all(&dir).unwrap();
        let seeds: [(&str, Vec<u8>); 5] = [
            ("word.rtf", WORD_RTF.as_bytes().to_vec()),
            (
                "fonts.rtf",
                br"{\rtf1\ansi\deff0{\fonttbl{\f0 Arial;}{\f1\fcharset238 Arial CE;}}\f1 \'f5\'fb\plain \'f5}"
                    .to_vec(),
            ),
            (
                "unicode.rtf",
                br"{\rtf1\uc1\u-10179?\u-8704? {\upr{k\'e9p}{\*\ud{k\u233?p}}} {\uc3\u337 abc}d}"
                    .to_vec(),
            ),
            ("bin.rtf", b"{\\rtf1 a{\\pict\\bin5 }{\\}x}b}".to_vec()),
            (
                "truncated.rtf",
                WORD_RTF.as_bytes()[..WORD_RTF.find("Unicode").unwrap()].to_vec(),
            ),
        ];
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }

    /// Extraction speed, for the record: `cargo test -p tudashalo-node
    /// --release --lib import::rtf::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn throughput() {
        let paragraphs: String = (0..40_000)
            .map(|i| {
                format!(
                    "\\pard\\plain\\f0\\fs24 {i}. A kist\\'e9rs\\'e9g fejleszt\\'e9si strat\\'e9gi\\'e1ja az {{\\b erd\\'f5}} \\'e9s a t\\'fbzifa hasznos\\'edt\\'e1s\\'e1r\\'f3l sz\\'f3l, {}. pont\\u337\\'f5.\\tab M\\'e1sodik {}.\\par\r\n",
                    i * 7919 % 10007,
                    i * 31 % 997
                )
            })
            .collect();
        let rtf = format!(
            "{{\\rtf1\\ansi\\ansicpg1250\\deff0{{\\fonttbl{{\\f0\\fcharset238 Times New Roman CE;}}}}{paragraphs}}}"
        );
        let limits = Limits {
            max_body_bytes: 64 * 1024 * 1024,
            ..Limits::default()
        };
        let started = std::time::Instant::now();
        let found = extract(rtf.as_bytes(), &limits).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let mb = rtf.len() as f64 / 1e6;
        println!(
            "{mb:.1} MB of RTF -> {:.1} MB of text in {seconds:.3} s: {:.1} MB/s",
            found.text.len() as f64 / 1e6,
            mb / seconds
        );
    }
}
