//! One XML part into text, by a format's rules: which elements are lines,
//! which are tabs, breaks or runs of spaces, which hold text, and which are
//! skipped with everything inside them (deletions, field codes, comments).
//!
//! The walk is a single streaming pass over the part (quick-xml, no tree is
//! built). A part that is not well-formed, or ends with elements still open,
//! is `corrupt`, named with the part and the byte where reading stopped. The
//! text never grows past `max_body_bytes`: it is checked before every append.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::{Failure, FailureKind, too_large_text};
use crate::import::Limits;

/// What an element means for the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    /// A paragraph or heading: a line, ended when the element ends.
    Line,
    /// An element whose character data is document text (`w:t`).
    Text,
    Tab,
    Break,
    /// Runs of spaces (`text:s text:c="3"`).
    Spaces(usize),
    /// A footnote or endnote body: its text goes after the main text.
    Note,
    /// A run of text (`w:r`), which its properties may hide.
    Run,
    /// Hides the run it is in (`w:vanish` in the run's properties).
    Hide,
    /// Skipped with all it contains.
    Skip,
    /// Neither: its children decide.
    Other,
}

/// How a format treats character data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Characters {
    /// Only inside [`Tag::Text`] elements, exactly as written (WordprocessingML).
    InTextElements,
    /// Anywhere inside a [`Tag::Line`], runs of white space collapsed to one
    /// space (OpenDocument, where extra spaces are `text:s`).
    InLinesCollapsed,
}

/// The most spaces one `text:s` may stand for; more is not a document.
const MAX_SPACES: usize = 1024;

/// The text of an XML part: its main text, then its notes.
pub(crate) fn walk(
    part: &str,
    xml: &[u8],
    characters: Characters,
    limits: &Limits,
    classify: impl Fn(&BytesStart<'_>) -> Result<Tag, String>,
) -> Result<String, Failure> {
    let mut reader = Reader::from_reader(xml);
    let mut out = Output::new(limits);
    // The tags of the open elements; a skipped subtree is counted instead.
    let mut open: Vec<Tag> = Vec::new();
    let mut skipping = 0usize;
    let corrupt = |reader: &Reader<&[u8]>, what: String| corrupt_at(part, reader, what);
    loop {
        let event = reader
            .read_event()
            .map_err(|e| corrupt(&reader, e.to_string()))?;
        match event {
            Event::Start(e) => {
                if skipping > 0 {
                    skipping += 1;
                    continue;
                }
                let tag = classify(&e).map_err(|what| corrupt(&reader, what))?;
                if tag == Tag::Skip {
                    skipping = 1;
                    continue;
                }
                out.begin(tag)?;
                open.push(tag);
            }
            Event::Empty(e) => {
                if skipping > 0 {
                    continue;
                }
                let tag = classify(&e).map_err(|what| corrupt(&reader, what))?;
                out.begin(tag)?;
                out.end(tag)?;
            }
            Event::End(_) => {
                if skipping > 0 {
                    skipping -= 1;
                    continue;
                }
                let tag = open
                    .pop()
                    .ok_or_else(|| corrupt(&reader, "an end tag without a start".into()))?;
                out.end(tag)?;
            }
            Event::Text(t) if skipping == 0 && out.takes_characters(characters) => {
                let text = t.unescape().map_err(|e| corrupt(&reader, e.to_string()))?;
                out.characters(&text, characters)?;
            }
            Event::CData(t) if skipping == 0 && out.takes_characters(characters) => {
                let raw = t.into_inner();
                let text = std::str::from_utf8(&raw)
                    .map_err(|e| corrupt(&reader, format!("CDATA is not UTF-8: {e}")))?;
                out.characters(text, characters)?;
            }
            Event::Eof => {
                if !open.is_empty() || skipping > 0 {
                    return Err(corrupt(&reader, "unexpected end of XML".into()));
                }
                break;
            }
            _ => {}
        }
    }
    Ok(out.finish())
}

/// The text being built: the main text and the notes, kept apart until the
/// end, and how deep the walk is in lines, text elements and notes.
struct Output<'l> {
    main: String,
    notes: String,
    lines: usize,
    texts: usize,
    in_notes: usize,
    /// Whether the last character was a collapsed space (OpenDocument).
    spaced: bool,
    /// The open runs, each whether it is hidden.
    runs: Vec<bool>,
    limits: &'l Limits,
}

impl<'l> Output<'l> {
    fn new(limits: &'l Limits) -> Self {
        Output {
            main: String::new(),
            notes: String::new(),
            lines: 0,
            texts: 0,
            in_notes: 0,
            spaced: false,
            runs: Vec::new(),
            limits,
        }
    }

    /// Whether the innermost run is hidden.
    fn hidden(&self) -> bool {
        self.runs.last().copied().unwrap_or(false)
    }

    fn takes_characters(&self, characters: Characters) -> bool {
        if self.hidden() {
            return false;
        }
        match characters {
            Characters::InTextElements => self.texts > 0,
            Characters::InLinesCollapsed => self.lines > 0,
        }
    }

    fn begin(&mut self, tag: Tag) -> Result<(), Failure> {
        match tag {
            Tag::Line => {
                self.lines += 1;
                // OpenDocument ignores white space at the start of a line.
                self.spaced = true;
            }
            Tag::Text => self.texts += 1,
            Tag::Note => self.in_notes += 1,
            Tag::Run => self.runs.push(false),
            Tag::Hide => {
                if let Some(hidden) = self.runs.last_mut() {
                    *hidden = true;
                }
            }
            Tag::Tab | Tag::Break if self.hidden() => {}
            Tag::Tab => self.push("\t")?,
            Tag::Break => self.push("\n")?,
            Tag::Spaces(n) => self.push(&" ".repeat(self.room(n.min(MAX_SPACES))?))?,
            Tag::Skip | Tag::Other => {}
        }
        Ok(())
    }

    fn end(&mut self, tag: Tag) -> Result<(), Failure> {
        match tag {
            Tag::Line => {
                self.lines = self.lines.saturating_sub(1);
                self.push("\n")?;
            }
            Tag::Text => self.texts = self.texts.saturating_sub(1),
            Tag::Run => {
                self.runs.pop();
            }
            Tag::Note => {
                self.in_notes = self.in_notes.saturating_sub(1);
                if !self.notes.ends_with('\n') && !self.notes.is_empty() {
                    self.push("\n")?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn characters(&mut self, text: &str, characters: Characters) -> Result<(), Failure> {
        match characters {
            Characters::InTextElements => self.push(text),
            Characters::InLinesCollapsed => {
                let mut collapsed = String::with_capacity(text.len());
                for c in text.chars() {
                    if matches!(c, ' ' | '\t' | '\n' | '\r') {
                        if !self.spaced {
                            collapsed.push(' ');
                        }
                        self.spaced = true;
                    } else {
                        collapsed.push(c);
                        self.spaced = false;
                    }
                }
                let spaced = self.spaced;
                self.push(&collapsed)?;
                self.spaced = spaced;
                Ok(())
            }
        }
    }

    /// `n`, when that many more bytes keep the text within `max_body_bytes`.
    fn room(&self, n: usize) -> Result<usize, Failure> {
        let size = self.main.len() + self.notes.len() + n;
        if size > self.limits.max_body_bytes {
            return Err(too_large_text(size, self.limits));
        }
        Ok(n)
    }

    fn push(&mut self, s: &str) -> Result<(), Failure> {
        self.room(s.len())?;
        self.spaced = false;
        if self.in_notes > 0 {
            self.notes.push_str(s);
        } else {
            self.main.push_str(s);
        }
        Ok(())
    }

    fn finish(mut self) -> String {
        if !self.notes.trim().is_empty() {
            if !self.main.ends_with('\n') {
                self.main.push('\n');
            }
            self.main.push('\n');
            self.main.push_str(&self.notes);
        }
        self.main
    }
}

/// `corrupt`: what is wrong with `part`, and the byte where reading stopped.
fn corrupt_at(part: &str, reader: &Reader<&[u8]>, what: String) -> Failure {
    Failure::new(
        FailureKind::Corrupt,
        format!("{part}: {what} at byte {}", reader.buffer_position()),
    )
}

/// The value of the attribute whose local name is `name`, if `e` has it.
pub(crate) fn attribute(e: &BytesStart<'_>, name: &[u8]) -> Result<Option<String>, String> {
    for attr in e.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        if attr.key.local_name().as_ref() == name {
            let value = attr.unescape_value().map_err(|e| e.to_string())?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// The text of the first element of each local name in `wanted` (a
/// properties part: `docProps/core.xml`, `meta.xml`), trimmed; empty values
/// are left out.
pub(crate) fn properties(
    part: &str,
    xml: &[u8],
    wanted: &[&str],
) -> Result<Vec<(String, String)>, Failure> {
    let mut reader = Reader::from_reader(xml);
    let mut found: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    let mut depth = 0usize;
    let corrupt = |reader: &Reader<&[u8]>, what: String| corrupt_at(part, reader, what);
    loop {
        match reader
            .read_event()
            .map_err(|e| corrupt(&reader, e.to_string()))?
        {
            Event::Start(e) => {
                depth += 1;
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if current.is_none()
                    && wanted.contains(&name.as_str())
                    && !found.iter().any(|(n, _)| *n == name)
                {
                    current = Some((name, String::new()));
                }
            }
            Event::Text(t) => {
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&t.unescape().map_err(|e| corrupt(&reader, e.to_string()))?);
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if let Some((name, value)) = current.take() {
                    let value = value.trim().to_string();
                    if !value.is_empty() {
                        found.push((name, value));
                    }
                }
            }
            Event::Eof => {
                if depth > 0 {
                    return Err(corrupt(&reader, "unexpected end of XML".into()));
                }
                return Ok(found);
            }
            _ => {}
        }
    }
}
