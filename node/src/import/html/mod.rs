//! Saved web pages (`.html`, `.htm`, `.xhtml`): the text a reader of the
//! page sees, without its chrome, and the title, author and date it states.
//!
//! Layers: [`sniff`] finds the encoding the way a browser does for a file
//! (a BOM, then a `<meta charset>` or `http-equiv` `Content-Type` in the
//! first 1024 bytes, an XML declaration for XHTML; else UTF-8 when the
//! bytes are valid UTF-8, else Windows-1250, what Hungarian pages without a
//! declaration are written in). The page is then decoded and tokenized by
//! `html5gum`, a WHATWG tokenizer (entities decoded, `<script>` and
//! `<style>` read as raw text); no tree is built. [`Page`] walks the tokens
//! with a stack of open elements and the tag-soup rules that matter for
//! text: an end tag closes up to its open element and is ignored when none
//! is open, a `<p>`, `<li>`, `<td>`, `<tr>`, … closes the one before it, the
//! head ends where body content starts. Inline elements that change nothing
//! for the text (`b`, `span`, `font`, `a`, unknown ones) are not kept open,
//! so that the unclosed `<font>`s of old pages do not pile up.
//!
//! What is text: everything in the body except what a reader does not see
//! (`script`, `style`, `noscript`, `template`, `svg`, `math`, form controls,
//! elements with a `hidden` attribute, `aria-hidden="true"` or an inline
//! `display:none`) and the page chrome (`nav`, `header`, `footer`, `aside`),
//! each skipped with all it contains. Block elements (paragraphs, headings,
//! list items, divs, rows, …) are lines; `<br>` breaks a line; the cells of
//! a row are one line separated by tabs; white space is collapsed within a
//! line, kept in `<pre>`. A page of nothing but chrome has no text
//! ([`super::extract`] reports `no-text`).
//!
//! Metadata: the title is `<title>`, else the first `<h1>`; the author
//! `<meta name="author">`; the year that of the first date found among
//! `<meta name="dcterms.created" | "DC.date.created" | "article:published_time"
//! | "date" | "DC.date" | "dcterms.date">` (in that order), else of the first
//! `<time datetime>`.
//!
//! Bounds: a hostile page cannot make the walk exhaust memory or time:
//! elements nested deeper than [`MAX_DEPTH`] or more than [`MAX_ELEMENTS`]
//! start tags are `too-large`, named in the message; the text is counted
//! before every append and stops at `max_body_bytes`.

use std::collections::HashMap;

use html5gum::{DefaultEmitter, HtmlString, StartTag, Token, Tokenizer};

mod charset;

use charset::decode;

use super::Limits;
use super::extract::{Extracted, Failure, FailureKind, too_large_text};
use super::office::year_of;

/// The deepest nesting of open elements accepted. Unclosed inline tags of
/// tag soup count too; real pages stay far below it.
pub const MAX_DEPTH: usize = 1024;
/// The most start tags a page may have.
pub const MAX_ELEMENTS: usize = 2_000_000;
/// The most bytes of a title or heading kept for the title.
const MAX_TITLE_BYTES: usize = 4096;
/// The most bytes of an element name kept to match end tags with.
const MAX_NAME_BYTES: usize = 32;

/// The bounds of the walk, [`MAX_DEPTH`] and [`MAX_ELEMENTS`] unless a test
/// sets smaller ones.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    depth: usize,
    elements: usize,
}

const BOUNDS: Bounds = Bounds {
    depth: MAX_DEPTH,
    elements: MAX_ELEMENTS,
};

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, Failure> {
    extract_with(bytes, limits, BOUNDS)
}

fn extract_with(bytes: &[u8], limits: &Limits, bounds: Bounds) -> Result<Extracted, Failure> {
    let html = decode(bytes);
    let mut emitter = DefaultEmitter::default();
    // Switch to raw text after `<script>`, `<style>`, … and to RCDATA after
    // `<title>`, as the tree builder would.
    emitter.naively_switch_states(true);
    let mut page = Page::new(limits, bounds);
    for token in Tokenizer::new_with_emitter(html.as_ref(), emitter) {
        let Ok(token) = token;
        match token {
            Token::StartTag(tag) => page.start(&tag)?,
            Token::EndTag(tag) => page.end(&tag.name)?,
            Token::String(text) => page.text(&text.value)?,
            Token::Comment(_) | Token::Doctype(_) | Token::Error(_) => {}
        }
    }
    Ok(page.finish())
}

/// What an element name means for the walk; [`class`] knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Class {
    /// No end tag (`br`, `img`, `meta`, …).
    void: bool,
    /// Read as raw text or RCDATA by the tokenizer: open until its end tag
    /// even when written `<script/>`.
    raw: bool,
    /// Not seen by a reader: skipped with all it contains.
    hidden: bool,
    /// Page chrome (menus, site headers and footers, sidebars): skipped.
    chrome: bool,
    /// A line of its own.
    block: bool,
    /// May stay in the head; any other element starts the body.
    head: bool,
}

/// An element that is none of these: inline (`b`, `span`, `a`, …) or unknown.
const INLINE: Class = Class {
    void: false,
    raw: false,
    hidden: false,
    chrome: false,
    block: false,
    head: false,
};
const VOID: Class = Class {
    void: true,
    ..INLINE
};
const RAW: Class = Class {
    raw: true,
    ..INLINE
};
const HIDDEN: Class = Class {
    hidden: true,
    ..INLINE
};
const CHROME: Class = Class {
    chrome: true,
    ..INLINE
};
const BLOCK: Class = Class {
    block: true,
    ..INLINE
};

/// The class of an element name (lower case, as the tokenizer gives it);
/// one `match`, so that a start tag costs one look-up.
fn class(name: &[u8]) -> Class {
    match name {
        b"area" | b"br" | b"col" | b"embed" | b"frame" | b"img" | b"input" | b"keygen"
        | b"param" | b"source" | b"track" | b"wbr" => VOID,
        b"hr" => Class {
            block: true,
            ..VOID
        },
        b"meta" | b"link" | b"base" | b"basefont" | b"bgsound" => Class { head: true, ..VOID },
        b"title" => Class { head: true, ..RAW },
        b"script" | b"style" | b"noscript" => Class {
            hidden: true,
            head: true,
            ..RAW
        },
        b"textarea" | b"iframe" | b"noembed" | b"noframes" => Class {
            hidden: true,
            ..RAW
        },
        b"noframe" => RAW,
        b"xmp" | b"plaintext" => Class { block: true, ..RAW },
        b"head" | b"template" => Class {
            head: true,
            ..HIDDEN
        },
        b"svg" | b"math" | b"object" | b"select" | b"datalist" | b"button" | b"canvas" => HIDDEN,
        b"nav" | b"header" | b"footer" | b"aside" => CHROME,
        b"address" | b"article" | b"blockquote" | b"body" | b"caption" | b"center" | b"dd"
        | b"details" | b"dialog" | b"dir" | b"div" | b"dl" | b"dt" | b"fieldset"
        | b"figcaption" | b"figure" | b"form" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6"
        | b"hgroup" | b"html" | b"legend" | b"li" | b"listing" | b"main" | b"menu" | b"ol"
        | b"p" | b"pre" | b"section" | b"summary" | b"table" | b"tbody" | b"tfoot" | b"thead"
        | b"tr" | b"ul" | b"option" => BLOCK,
        _ => INLINE,
    }
}

/// `<meta>` names stating the page's date, the preferred first.
const DATE_NAMES: [&str; 6] = [
    "dcterms.created",
    "dc.date.created",
    "article:published_time",
    "date",
    "dc.date",
    "dcterms.date",
];

/// Why an open element's content is not text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Not seen: scripts, styles, hidden elements, the head.
    Hidden,
    /// Page chrome (`nav`, `header`, `footer`, `aside`).
    Chrome,
}

/// An open element.
#[derive(Debug)]
struct Open {
    /// Its name, cut at [`MAX_NAME_BYTES`].
    name: Box<[u8]>,
    skip: Option<Skip>,
    block: bool,
    /// A table cell (`td`, `th`).
    cell: bool,
    /// A table: the cell count of the enclosing row, restored at its end.
    table: Option<usize>,
    pre: bool,
    title: bool,
    /// The `<h1>` whose text is taken for the title.
    heading: bool,
    /// `svg` or `math`: a `<title>` inside is not the page's.
    foreign: bool,
}

/// The walk over a page's tokens.
struct Page<'l> {
    out: Out<'l>,
    bounds: Bounds,
    open: Vec<Open>,
    /// How many elements of each (cut) name are open.
    open_names: HashMap<Box<[u8]>, usize>,
    elements: usize,
    hidden: usize,
    chrome: usize,
    cells: usize,
    pre: usize,
    foreign: usize,
    in_title: usize,
    /// The `<title>`'s text, and whether one was read.
    title: Option<String>,
    /// The first `<h1>`'s text while it is read, then kept.
    heading: Option<String>,
    heading_open: bool,
    author: Option<String>,
    dates: [Option<String>; DATE_NAMES.len()],
    time: Option<String>,
}

impl<'l> Page<'l> {
    fn new(limits: &'l Limits, bounds: Bounds) -> Self {
        Page {
            out: Out::new(limits),
            bounds,
            open: Vec::new(),
            open_names: HashMap::new(),
            elements: 0,
            hidden: 0,
            chrome: 0,
            cells: 0,
            pre: 0,
            foreign: 0,
            in_title: 0,
            title: None,
            heading: None,
            heading_open: false,
            author: None,
            dates: Default::default(),
            time: None,
        }
    }

    fn skipping(&self) -> bool {
        self.hidden > 0 || self.chrome > 0
    }

    fn start(&mut self, tag: &StartTag<()>) -> Result<(), Failure> {
        self.elements += 1;
        if self.elements > self.bounds.elements {
            return Err(Failure::new(
                FailureKind::TooLarge,
                format!(
                    "the page has over MAX_ELEMENTS ({}) elements",
                    self.bounds.elements
                ),
            ));
        }
        let name: &[u8] = &tag.name;
        let class = class(name);
        self.close_implied(name, class)?;
        match name {
            b"meta" => self.meta(tag),
            b"time" if self.time.is_none() => self.time = attr(tag, b"datetime"),
            _ => {}
        }
        if class.void {
            return self.void(name);
        }
        if tag.self_closing && !class.raw {
            // `<div/>`: XHTML's empty element, or foreign content's.
            if !self.skipping() && class.block {
                self.out.break_line(self.cells > 0)?;
            }
            return Ok(());
        }
        let skip = if class.hidden || hidden(tag) {
            Some(Skip::Hidden)
        } else if class.chrome {
            Some(Skip::Chrome)
        } else {
            None
        };
        let element = Open {
            name: cut_name(name),
            skip,
            block: class.block,
            cell: matches!(name, b"td" | b"th"),
            table: (name == b"table").then_some(self.out.row_cells),
            pre: matches!(name, b"pre" | b"listing" | b"plaintext" | b"xmp"),
            title: name == b"title",
            heading: name == b"h1" && self.heading.is_none() && self.hidden == 0,
            foreign: matches!(name, b"svg" | b"math"),
        };
        // An inline element that changes nothing (`b`, `span`, `font`, `a`,
        // …) is not kept open, so that tag soup's unclosed ones do not pile
        // up; unless one of its name is open, whose end tags it must match.
        let changes = element.skip.is_some()
            || element.block
            || element.cell
            || element.pre
            || element.title
            || element.heading
            || element.foreign
            || class.raw;
        if !changes && !self.is_open(&element.name) {
            return Ok(());
        }
        if self.open.len() >= self.bounds.depth {
            return Err(Failure::new(
                FailureKind::TooLarge,
                format!(
                    "elements nested deeper than MAX_DEPTH ({})",
                    self.bounds.depth
                ),
            ));
        }
        self.begin(&element)?;
        *self.open_names.entry(element.name.clone()).or_insert(0) += 1;
        self.open.push(element);
        Ok(())
    }

    /// The effect of an element's start on the text and the counts.
    fn begin(&mut self, element: &Open) -> Result<(), Failure> {
        let visible = !self.skipping() && element.skip.is_none();
        if visible {
            if element.cell {
                self.out.cell()?;
            } else if element.block {
                self.out.break_line(self.cells > 0)?;
            }
            if element.table.is_some() || &*element.name == b"tr" {
                self.out.row_cells = 0;
            }
        }
        match element.skip {
            Some(Skip::Hidden) => self.hidden += 1,
            Some(Skip::Chrome) => self.chrome += 1,
            None => {}
        }
        self.cells += usize::from(element.cell);
        self.pre += usize::from(element.pre);
        self.foreign += usize::from(element.foreign);
        self.in_title += usize::from(element.title);
        if element.heading {
            self.heading = Some(String::new());
            self.heading_open = true;
        }
        Ok(())
    }

    /// A void element: `<br>` breaks the line, `<hr>` is one.
    fn void(&mut self, name: &[u8]) -> Result<(), Failure> {
        if self.skipping() {
            return Ok(());
        }
        match name {
            b"br" => self.out.line_break(self.cells > 0),
            b"hr" => self.out.break_line(self.cells > 0),
            _ => Ok(()),
        }
    }

    /// Closes the elements that the start of `name` ends: the head when body
    /// content starts, a `<p>` before a block, an `<li>` before the next, ….
    fn close_implied(&mut self, name: &[u8], class: Class) -> Result<(), Failure> {
        if !class.head && self.is_open(b"head") {
            self.close(b"head")?;
        }
        while let Some(top) = self.open.last() {
            if !implied_end(name, &top.name) {
                break;
            }
            self.pop()?;
        }
        Ok(())
    }

    fn is_open(&self, name: &[u8]) -> bool {
        self.open_names.get(name).is_some_and(|n| *n > 0)
    }

    /// An end tag: closes up to its element when one is open; `</p>` and
    /// `</br>` without one still break the line, as browsers do.
    fn end(&mut self, name: &HtmlString) -> Result<(), Failure> {
        let name = cut_name(name);
        if self.is_open(&name) {
            return self.close(&name);
        }
        if !self.skipping() {
            if &*name == b"br" {
                self.out.line_break(self.cells > 0)?;
            } else if class(&name).block {
                self.out.break_line(self.cells > 0)?;
            }
        }
        Ok(())
    }

    /// Pops elements up to and including the innermost open `name`.
    fn close(&mut self, name: &[u8]) -> Result<(), Failure> {
        while let Some(popped) = self.pop()? {
            if &*popped == name {
                break;
            }
        }
        Ok(())
    }

    /// Pops the innermost open element, undoing [`Page::begin`]; its name.
    fn pop(&mut self) -> Result<Option<Box<[u8]>>, Failure> {
        let Some(element) = self.open.pop() else {
            return Ok(None);
        };
        if let Some(n) = self.open_names.get_mut(&element.name) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                // The map holds only open names: at most the depth.
                self.open_names.remove(&element.name);
            }
        }
        match element.skip {
            Some(Skip::Hidden) => self.hidden = self.hidden.saturating_sub(1),
            Some(Skip::Chrome) => self.chrome = self.chrome.saturating_sub(1),
            None => {}
        }
        self.cells = self.cells.saturating_sub(usize::from(element.cell));
        self.pre = self.pre.saturating_sub(usize::from(element.pre));
        self.foreign = self.foreign.saturating_sub(usize::from(element.foreign));
        self.in_title = self.in_title.saturating_sub(usize::from(element.title));
        if element.heading {
            self.heading_open = false;
        }
        let visible = !self.skipping() && element.skip.is_none();
        if visible {
            if element.block {
                self.out.break_line(self.cells > 0)?;
            }
            if let Some(cells) = element.table {
                self.out.row_cells = cells;
            } else if &*element.name == b"tr" {
                self.out.row_cells = 0;
            }
        }
        Ok(Some(element.name))
    }

    fn text(&mut self, text: &HtmlString) -> Result<(), Failure> {
        let text = String::from_utf8_lossy(text);
        if self.in_title > 0 {
            if self.foreign == 0 {
                push_bounded(self.title.get_or_insert_with(String::new), &text);
            }
            return Ok(());
        }
        if self.skipping() {
            return Ok(());
        }
        if self.heading_open
            && let Some(heading) = self.heading.as_mut()
        {
            push_bounded(heading, &text);
        }
        if self.pre > 0 {
            self.out.preformatted(&text)
        } else {
            self.out.words(&text)
        }
    }

    /// A `<meta>`: the author and the dates.
    fn meta(&mut self, tag: &StartTag<()>) {
        let Some(name) = attr(tag, b"name").or_else(|| attr(tag, b"property")) else {
            return;
        };
        let name = name.trim().to_ascii_lowercase();
        let Some(content) = attr(tag, b"content").filter(|c| !c.trim().is_empty()) else {
            return;
        };
        if name == "author" {
            if self.author.is_none() {
                self.author = Some(collapse(&content));
            }
        } else if let Some(i) = DATE_NAMES.iter().position(|d| *d == name)
            && let Some(slot) = self.dates.get_mut(i)
            && slot.is_none()
        {
            *slot = Some(content);
        }
    }

    fn finish(self) -> Extracted {
        let title = self
            .title
            .map(|t| collapse(&t))
            .filter(|t| !t.is_empty())
            .or_else(|| self.heading.map(|h| collapse(&h)).filter(|h| !h.is_empty()));
        let year = self
            .dates
            .iter()
            .flatten()
            .chain(self.time.as_ref())
            .find_map(|date| year_of(date));
        Extracted {
            text: self.out.finish(),
            title,
            author: self.author.filter(|a| !a.is_empty()),
            year,
            pages: None,
        }
    }
}

/// Whether the start of `new` ends the open element `top` (HTML's implied
/// end tags, for the elements that matter to text).
fn implied_end(new: &[u8], top: &[u8]) -> bool {
    match top {
        b"p" => class(new).block && new != b"option",
        b"li" => new == b"li",
        b"dt" | b"dd" => matches!(new, b"dt" | b"dd"),
        b"td" | b"th" => matches!(new, b"td" | b"th" | b"tr" | b"thead" | b"tbody" | b"tfoot"),
        b"tr" => matches!(new, b"tr" | b"thead" | b"tbody" | b"tfoot"),
        b"thead" | b"tbody" | b"tfoot" => matches!(new, b"thead" | b"tbody" | b"tfoot"),
        b"option" => matches!(new, b"option" | b"optgroup"),
        _ => false,
    }
}

/// Whether the element is hidden from readers by its attributes.
fn hidden(tag: &StartTag<()>) -> bool {
    if tag.attributes.contains_key(b"hidden".as_slice()) {
        return true;
    }
    if attr(tag, b"aria-hidden").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return true;
    }
    attr(tag, b"style").is_some_and(|style| {
        let style: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        style.contains("display:none") || style.contains("visibility:hidden")
    })
}

/// The value of the attribute `name`.
fn attr(tag: &StartTag<()>, name: &[u8]) -> Option<String> {
    tag.attributes
        .get(name)
        .map(|v| String::from_utf8_lossy(&v.value).into_owned())
}

fn cut_name(name: &[u8]) -> Box<[u8]> {
    name.get(..MAX_NAME_BYTES).unwrap_or(name).into()
}

/// Appends `text` to `to` while it is under [`MAX_TITLE_BYTES`].
fn push_bounded(to: &mut String, text: &str) {
    for c in text.chars() {
        if to.len() + c.len_utf8() > MAX_TITLE_BYTES {
            break;
        }
        to.push(c);
    }
}

/// `s` with its runs of white space made one space, trimmed.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// HTML's white space (`&nbsp;` is not: it stays in the text).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C')
}

/// Where the text being built stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// At the start of a line.
    LineStart,
    /// After a tab between cells.
    Separator,
    /// After a word.
    Word,
    /// After a word and white space, which becomes one space if a word
    /// follows on the same line.
    Space,
}

/// The text: lines of collapsed white space, counted before every append.
struct Out<'l> {
    text: String,
    at: At,
    /// The cells of the current table row so far.
    row_cells: usize,
    limits: &'l Limits,
}

impl<'l> Out<'l> {
    fn new(limits: &'l Limits) -> Self {
        Out {
            text: String::new(),
            at: At::LineStart,
            row_cells: 0,
            limits,
        }
    }

    fn push(&mut self, s: &str) -> Result<(), Failure> {
        let size = self.text.len() + s.len();
        if size > self.limits.max_body_bytes {
            return Err(too_large_text(size, self.limits));
        }
        self.text.push_str(s);
        Ok(())
    }

    /// Ends the current line unless it is empty; inside a table cell, whose
    /// row is one line, a space instead.
    fn break_line(&mut self, in_cell: bool) -> Result<(), Failure> {
        if in_cell {
            self.space();
            return Ok(());
        }
        if self.at != At::LineStart {
            self.push("\n")?;
            self.at = At::LineStart;
        }
        Ok(())
    }

    /// `<br>`: a line break even on an empty line (in a cell, a space).
    fn line_break(&mut self, in_cell: bool) -> Result<(), Failure> {
        if in_cell {
            self.space();
            return Ok(());
        }
        self.push("\n")?;
        self.at = At::LineStart;
        Ok(())
    }

    /// A cell starts: a tab after the row's previous cells.
    fn cell(&mut self) -> Result<(), Failure> {
        if self.row_cells > 0 {
            self.push("\t")?;
            self.at = At::Separator;
        } else if self.at != At::LineStart {
            self.push("\n")?;
            self.at = At::LineStart;
        }
        self.row_cells += 1;
        Ok(())
    }

    fn space(&mut self) {
        if self.at == At::Word {
            self.at = At::Space;
        }
    }

    /// Text whose white space is collapsed.
    fn words(&mut self, text: &str) -> Result<(), Failure> {
        let mut first = true;
        for word in text.split(is_space) {
            if !first {
                self.space();
            }
            first = false;
            if word.is_empty() {
                continue;
            }
            if self.at == At::Space {
                self.push(" ")?;
            }
            self.push(word)?;
            self.at = At::Word;
        }
        Ok(())
    }

    /// Text in `<pre>`: as written, its newlines line breaks.
    fn preformatted(&mut self, text: &str) -> Result<(), Failure> {
        let mut first = true;
        for line in text.split('\n') {
            if !first {
                self.push("\n")?;
                self.at = At::LineStart;
            }
            first = false;
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            if self.at == At::Space {
                self.push(" ")?;
            }
            self.push(line)?;
            self.at = At::Word;
        }
        Ok(())
    }

    fn finish(mut self) -> String {
        while self.text.ends_with('\n') {
            self.text.pop();
        }
        self.text
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use encoding_rs::{UTF_8, WINDOWS_1250};

    use super::charset::{PRESCAN_BYTES, declared, sniff};
    use super::*;
    use crate::import::FileError;
    use crate::import::TextMeta;
    use crate::import::extract::{DocFormat, DocumentFile, parse_document};
    use crate::import::isolate::Isolation;
    use crate::import::mutants::mutants;
    use tudashalo_core::model::Document;

    fn text(bytes: &[u8]) -> Extracted {
        extract(bytes, &Limits::default()).unwrap()
    }

    fn parse_with(bytes: &[u8], limits: &Limits) -> Result<Document, FileError> {
        let file = DocumentFile::named("lap.html", DocFormat::Html, bytes)?;
        parse_document(
            DocFormat::Html,
            file,
            &TextMeta::default(),
            limits,
            &Isolation::InProcess,
        )
    }

    fn reason(bytes: &[u8]) -> String {
        parse_with(bytes, &Limits::default()).unwrap_err().reason
    }

    /// A saved page in Windows-1250: chrome, scripts, a table, entities.
    const WINDOWS_1250_PAGE: &str = concat!(
        "<!DOCTYPE html>\n<html lang=\"hu\"><head>\n",
        "<meta charset=\"windows-1250\">\n",
        "<title>  Szendrő   fejlesztési terve </title>\n",
        "<meta name=\"author\" content=\"Kovács Ödön\">\n",
        "<meta name=\"DC.date\" content=\"2019-05-02\">\n",
        "<style>body { font-family: \"Tűz\"; }</style>\n",
        "<script>var s = '<p>szkript szöveg</p>'; if (a < b) {}</script>\n",
        "</head><body>\n",
        "<nav><ul><li>Főoldal</li><li>Menüpont</li></ul></nav>\n",
        "<header><p>Fejléc szöveg</p></header>\n",
        "<h1>Az erdő és a tűzifa</h1>\n",
        "<p>Első   bekezdés,\n  több sorban.<br>Új sor &ouml;r&#337;k &#x151;sz &amp; &lt;vég&gt;</p>\n",
        "<p>Nyitott bekezdés\n<p>Második nyitott<div>Blokk</div>\n",
        "<table><tr><th>Település</th><th>Lakos</th></tr>\n",
        "<tr><td>Szendrő</td><td> 4 <b>012</b> </td></tr><tr><td>Űrhajó</td><td>7</td></table>\n",
        "<ul><li>egy<li>kettő</ul>\n",
        "<div hidden>rejtett</div><span aria-hidden=\"true\">ikon</span>",
        "<p style=\"DISPLAY: none\">nem látszik</p>\n",
        "<noscript>Kapcsolja be</noscript><template><p>sablon</p></template>",
        "<svg><title>ábra</title><text>rajz</text></svg>\n",
        "<aside>Oldalsáv</aside>\n",
        "<pre>  kód   sor\n  második<br>harmadik</pre>\n",
        "<footer>Lábléc © 2024</footer>\n",
        "</body></html>\n",
    );

    fn windows_1250(s: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = WINDOWS_1250.encode(s);
        assert!(!unmappable);
        bytes.into_owned()
    }

    #[test]
    fn windows_1250_page_as_a_reader_sees_it() {
        let bytes = windows_1250(WINDOWS_1250_PAGE);
        assert!(std::str::from_utf8(&bytes).is_err());
        let found = text(&bytes);
        assert_eq!(
            found.text,
            "Az erdő és a tűzifa\n\
             Első bekezdés, több sorban.\n\
             Új sor örők ősz & <vég>\n\
             Nyitott bekezdés\n\
             Második nyitott\n\
             Blokk\n\
             Település\tLakos\n\
             Szendrő\t4 012\n\
             Űrhajó\t7\n\
             egy\n\
             kettő\n  \
             kód   sor\n  \
             második\n\
             harmadik"
        );
        for absent in [
            "szkript",
            "font",
            "Főoldal",
            "Menüpont",
            "Fejléc",
            "rejtett",
            "ikon",
            "látszik",
            "Kapcsolja",
            "sablon",
            "ábra",
            "rajz",
            "Oldalsáv",
            "Lábléc",
        ] {
            assert!(!found.text.contains(absent), "{absent} in {:?}", found.text);
        }
        assert_eq!(found.title.as_deref(), Some("Szendrő fejlesztési terve"));
        assert_eq!(found.author.as_deref(), Some("Kovács Ödön"));
        assert_eq!(found.year, Some(2019));
    }

    #[test]
    fn iso_8859_2_page_declared_by_http_equiv() {
        let page = concat!(
            "<html><head><META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=ISO-8859-2\">",
            "<meta property=\"article:published_time\" content=\"2021-03-04T10:00:00Z\">",
            "</head><body><p>Győr-Moson-Sopron megye fűtési terve</p></body></html>"
        );
        let (bytes, _, unmappable) = encoding_rs::ISO_8859_2.encode(page);
        assert!(!unmappable);
        let found = text(&bytes);
        assert_eq!(found.text, "Győr-Moson-Sopron megye fűtési terve");
        assert_eq!(found.title, None);
        assert_eq!(found.year, Some(2021));
        // The same bytes undeclared are taken for Windows-1250, which
        // agrees with ISO-8859-2 on ő and ű.
        let undeclared = page.replace("charset=ISO-8859-2", "");
        let (bytes, _, _) = encoding_rs::ISO_8859_2.encode(&undeclared);
        assert_eq!(text(&bytes).text, "Győr-Moson-Sopron megye fűtési terve");
    }

    #[test]
    fn utf8_page_without_declaration_and_a_bom() {
        let page =
            "<h1>Tőzsér   Árpád</h1><p>Űrlap és <time datetime=\"2017-01-01\">tavaly</time></p>";
        let found = text(page.as_bytes());
        assert_eq!(found.text, "Tőzsér Árpád\nŰrlap és tavaly");
        assert_eq!(found.title.as_deref(), Some("Tőzsér Árpád"));
        assert_eq!(found.year, Some(2017));
        // A BOM wins over a declaration.
        let mut bom = b"\xEF\xBB\xBF<meta charset=windows-1250>".to_vec();
        bom.extend_from_slice("<p>ő</p>".as_bytes());
        assert_eq!(text(&bom).text, "ő");
        // XHTML's XML declaration.
        let mut xhtml = b"<?xml version='1.0' encoding='iso-8859-2'?><html><body><p>".to_vec();
        xhtml.extend_from_slice(&[0xF5, 0xFB]);
        xhtml.extend_from_slice(b"</p></body></html>");
        assert_eq!(text(&xhtml).text, "őű");
    }

    #[test]
    fn declarations_read_as_browsers_do() {
        assert_eq!(declared(b"<meta charset=utf-16>"), Some(UTF_8));
        assert_eq!(
            declared(b"<meta charset='latin2'>"),
            Some(encoding_rs::ISO_8859_2)
        );
        assert_eq!(
            declared(b"<meta name=x><meta charset=nonsense><meta charset=\"WINDOWS-1250\">"),
            Some(WINDOWS_1250)
        );
        assert_eq!(declared(b"<p>charset=utf-8</p>"), None);
        // Past the first 1024 bytes a declaration is not looked for.
        let mut late = vec![b' '; PRESCAN_BYTES];
        late.extend_from_slice(b"<meta charset=iso-8859-2><p>\xF5</p>");
        assert_eq!(sniff(&late), (WINDOWS_1250, 0));
    }

    #[test]
    fn a_page_of_scripts_and_chrome_is_no_text() {
        let page = "<html><head><title>Üres</title><script>document.write('szöveg')</script></head>\
                    <body><nav>Menü</nav><footer>Lábléc</footer><script src=x.js></script></body></html>";
        assert_eq!(text(page.as_bytes()).text, "");
        assert_eq!(
            reason(page.as_bytes()),
            "no-text: the document holds no text"
        );
    }

    #[test]
    fn deep_nesting_is_too_large_naming_the_bound() {
        let page = format!("{}szöveg", "<div>".repeat(100_000));
        let failure = extract(page.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(failure.kind, FailureKind::TooLarge);
        assert_eq!(
            failure.detail,
            "elements nested deeper than MAX_DEPTH (1024)"
        );
        assert_eq!(
            reason(page.as_bytes()),
            "too-large: elements nested deeper than MAX_DEPTH (1024)"
        );
        // Unclosed paragraphs and list items close each other: not deep.
        let soup = format!("{}vég", "<p>bekezdés<li>elem".repeat(50_000));
        let found = text(soup.as_bytes());
        assert_eq!(found.text.lines().count(), 100_000);
        assert!(found.text.ends_with("\nelemvég"));
        // Nor do unclosed inline elements pile up, nor void `<wbr>`s.
        let fonts = "<font size=2><b>sor<wbr>vég<br>".repeat(5_000);
        let found = text(fonts.as_bytes());
        assert_eq!(found.text.lines().count(), 5_000);
        assert_eq!(found.text.lines().next(), Some("sorvég"));
        // An inline element inside a skipped one of its name is matched.
        let nested =
            "<span hidden><span>x</span>y</span>z<div aria-hidden=true><div>v</div>w</div>";
        assert_eq!(text(nested.as_bytes()).text, "z");
        // Nor are end tags without their start.
        let stray = "</div></b></td></p>".repeat(10_000) + "szöveg";
        assert_eq!(text(stray.as_bytes()).text.trim(), "szöveg");
    }

    #[test]
    fn too_many_elements_is_too_large() {
        let page = "<b>a</b>".repeat(11);
        let bounds = Bounds {
            depth: MAX_DEPTH,
            elements: 10,
        };
        let failure = extract_with(page.as_bytes(), &Limits::default(), bounds).unwrap_err();
        assert_eq!(failure.kind, FailureKind::TooLarge);
        assert_eq!(
            failure.detail,
            "the page has over MAX_ELEMENTS (10) elements"
        );
    }

    #[test]
    fn text_over_max_body_bytes_is_too_large() {
        let limits = Limits {
            max_body_bytes: 1000,
            ..Limits::default()
        };
        let page = format!("<p>{}</p>", "ő".repeat(600));
        let err = parse_with(page.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            err.reason,
            "too-large: text of 1200 bytes exceeds the limit of 1000 bytes (max_body_bytes in node.toml)"
        );
        // Counted as it grows: a line of many words stops at the first past
        // the limit.
        let page = format!("<p>{}</p>", "szó ".repeat(1_000_000));
        let failure = extract(page.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            failure.detail,
            "text of 1004 bytes exceeds the limit of 1000 bytes (max_body_bytes in node.toml)"
        );
    }

    #[test]
    fn page_goes_through_the_cleanup() {
        let page = "<title>Terv</title><p>fejlesz-<br>tési kõ</p>";
        let doc = parse_with(page.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(doc.body, "fejlesztési kő");
        assert_eq!(doc.title, "Terv");
    }

    /// Mangled pages end in text or a typed failure, never in a panic.
    #[test]
    fn mangled_pages_do_not_panic() {
        let limits = Limits {
            max_body_bytes: 4096,
            ..Limits::default()
        };
        let seed = windows_1250(WINDOWS_1250_PAGE);
        for bytes in mutants(&seed, b"<>/=\"'&;!-#x\xF5\xC3", 1500) {
            let _ = extract(&bytes, &limits);
        }
    }

    /// Seeds for the `extract_html` fuzz target, from this module's
    /// fixtures: `cargo test -p tudashalo-node --lib
    /// import::html::tests::write_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore]
    fn write_fuzz_seeds() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/extract_html");
        std::fs::create_dir_all(&dir).unwrap();
        let seeds: [(&str, Vec<u8>); 5] = [
            ("windows1250.html", windows_1250(WINDOWS_1250_PAGE)),
            (
                "iso88592.html",
                b"<meta http-equiv=Content-Type content='text/html; charset=iso-8859-2'><p>\xF5\xFB</p>".to_vec(),
            ),
            (
                "utf8_bom.html",
                "\u{feff}<h1>Tőzsér</h1><p>Űrlap <time datetime=2017>x</time>".as_bytes().to_vec(),
            ),
            ("soup.html", "<p>a<li>b<td>c</td></b></div><table><tr><td>x<td>y</table>".repeat(20).into_bytes()),
            ("deep.html", "<div><span>".repeat(600).into_bytes()),
        ];
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }

    /// Extraction speed, for the record: `cargo test -p tudashalo-node
    /// --release --lib import::html::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn throughput() {
        let rows: String = (0..40_000)
            .map(|i| {
                format!(
                    "<div class=\"post\"><p>{i}. A kistérség fejlesztési stratégiája az <b>erdő</b> és a tűzifa hasznosításáról szól, {}. pont &ndash; <a href=\"/x/{i}\">tovább</a>.</p><table><tr><td>Szendrő</td><td>{}</td></tr></table><script>var x = {i};</script></div>\n",
                    i * 7919 % 10007,
                    i * 31 % 997
                )
            })
            .collect();
        let page =
            format!("<html><head><title>T</title></head><body><nav>menü</nav>{rows}</body></html>");
        let bytes = windows_1250(&page);
        let limits = Limits {
            max_body_bytes: 64 * 1024 * 1024,
            ..Limits::default()
        };
        let started = std::time::Instant::now();
        let found = extract(&bytes, &limits).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let mb = bytes.len() as f64 / 1e6;
        // The tokenizer alone, for how much of that time is ours.
        let started = std::time::Instant::now();
        let decoded = decode(&bytes);
        let mut emitter = DefaultEmitter::default();
        emitter.naively_switch_states(true);
        let tokens = Tokenizer::new_with_emitter(decoded.as_ref(), emitter).count();
        let tokenizing = started.elapsed().as_secs_f64();
        println!(
            "{mb:.1} MB of HTML -> {:.1} MB of text in {seconds:.3} s: {:.1} MB/s \
             (decoding and tokenizing alone, {tokens} tokens: {tokenizing:.3} s)",
            found.text.len() as f64 / 1e6,
            mb / seconds
        );
    }
}
