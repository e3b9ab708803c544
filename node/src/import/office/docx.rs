//! DOCX (WordprocessingML): the rules for `word/document.xml`, the notes
//! parts and `docProps/core.xml`.
//!
//! What a reader of the document sees is what is kept: paragraphs (`w:p`)
//! are lines, text is in `w:t`, `w:tab` a tab, `w:br` / `w:cr` a line break.
//! Tracked insertions (`w:ins`) are kept as the text they now are; tracked
//! deletions (`w:del`, `w:delText`, `w:moveFrom`) and field codes
//! (`w:instrText`, the `PAGE \* MERGEFORMAT` behind a page number) are not
//! text; nor is hidden text (`w:vanish` in a run's properties). Paragraph
//! properties are skipped whole, so a tab stop (`w:tabs/w:tab`) is not
//! taken for a tab; so is the VML fallback of a text
//! box (`mc:Fallback`), which repeats the text of its `mc:Choice`.
//! Footnotes and endnotes follow the body, without Word's separators.

use quick_xml::events::BytesStart;

use super::xml::{Characters, Tag, attribute, properties, walk};
use super::zipped::Container;
use super::{Extracted, Failure, required_part, year_of};
use crate::import::Limits;

/// The main part, which every DOCX has.
pub const DOCUMENT_PART: &str = "word/document.xml";
/// The notes parts, read when present, in this order after the body.
const NOTE_PARTS: [&str; 2] = ["word/footnotes.xml", "word/endnotes.xml"];
/// The core properties: title, author, dates.
const CORE_PART: &str = "docProps/core.xml";

pub(crate) fn extract(
    container: &mut Container<'_>,
    limits: &Limits,
) -> Result<Extracted, Failure> {
    let document = required_part(container, DOCUMENT_PART)?;
    let mut text = walk(
        DOCUMENT_PART,
        &document,
        Characters::InTextElements,
        limits,
        classify,
    )?;
    drop(document);
    for part in NOTE_PARTS {
        let Some(xml) = container.part(part)? else {
            continue;
        };
        let notes = walk(part, &xml, Characters::InTextElements, limits, classify)?;
        if !notes.trim().is_empty() {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push('\n');
            text.push_str(&notes);
        }
    }
    let mut found = Extracted {
        text,
        ..Extracted::default()
    };
    if let Some(xml) = container.part(CORE_PART)? {
        for (name, value) in properties(
            CORE_PART,
            &xml,
            &["title", "creator", "created", "modified"],
        )? {
            match name.as_str() {
                "title" => found.title = Some(value),
                "creator" => found.author = Some(value),
                // `created` comes first in Word's files; `modified` stands
                // in only when there is no usable creation year.
                _ => found.year = found.year.or_else(|| year_of(&value)),
            }
        }
    }
    Ok(found)
}

/// What a WordprocessingML element means for the text.
fn classify(e: &BytesStart<'_>) -> Result<Tag, String> {
    Ok(match e.local_name().as_ref() {
        b"p" => Tag::Line,
        b"r" => Tag::Run,
        b"t" => Tag::Text,
        // Hidden text (Format › Font › Hidden) is not what a reader sees,
        // unless the property is switched off (`w:val="0"`).
        b"vanish" => match attribute(e, b"val")?.as_deref() {
            Some("0" | "false" | "off") => Tag::Other,
            _ => Tag::Hide,
        },
        b"tab" => Tag::Tab,
        b"br" | b"cr" => Tag::Break,
        // Run properties are read only for `w:vanish`; paragraph properties
        // (a tab stop is no tab) are skipped whole.
        b"del" | b"delText" | b"moveFrom" | b"instrText" | b"pPr" | b"sectPr" | b"Fallback" => {
            Tag::Skip
        }
        b"footnote" | b"endnote" => match attribute(e, b"type")?.as_deref() {
            Some("separator" | "continuationSeparator" | "continuationNotice") => Tag::Skip,
            _ => Tag::Other,
        },
        _ => Tag::Other,
    })
}
