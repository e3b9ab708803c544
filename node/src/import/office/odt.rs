//! ODT (OpenDocument text): the rules for `content.xml` and `meta.xml`.
//!
//! Paragraphs and headings (`text:p`, `text:h`) are lines; white space in
//! them collapses to one space, as OpenDocument defines, with `text:s
//! text:c="N"` standing for N spaces, `text:tab` a tab and `text:line-break`
//! a line break. The record of tracked changes (`text:tracked-changes`,
//! where deleted text lives), comments (`office:annotation`) and note
//! numbers (`text:note-citation`) are not text. Footnote and endnote bodies
//! (`text:note-body`) follow the main text, so that a note does not split
//! the sentence it hangs on.

use quick_xml::events::BytesStart;

use super::xml::{Characters, Tag, attribute, properties, walk};
use super::zipped::Container;
use super::{Extracted, Failure, FailureKind, required_part, year_of};
use crate::import::Limits;

/// The main part, which every ODT has.
pub const CONTENT_PART: &str = "content.xml";
/// The metadata part: title, author, dates.
const META_PART: &str = "meta.xml";
/// The manifest, which names the parts and their encryption.
const MANIFEST_PART: &str = "META-INF/manifest.xml";
/// The first entry of an OpenDocument zip, naming the kind of document.
const MIMETYPE_PART: &str = "mimetype";
/// The kinds of OpenDocument this importer reads (text and its template).
const TEXT_MIMETYPES: [&str; 2] = [
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.text-template",
];

pub(crate) fn extract(
    container: &mut Container<'_>,
    limits: &Limits,
) -> Result<Extracted, Failure> {
    if let Some(mimetype) = container.part(MIMETYPE_PART)? {
        let mimetype = String::from_utf8_lossy(&mimetype).trim().to_string();
        if !TEXT_MIMETYPES.contains(&mimetype.as_str()) {
            return Err(Failure::new(
                FailureKind::Unsupported,
                format!("an OpenDocument of type {mimetype:?}, not a text document"),
            ));
        }
    }
    // An encrypted ODT is still a zip; its manifest says so, and its
    // content.xml is ciphertext that would only read as broken XML.
    if let Some(manifest) = container.part(MANIFEST_PART)?
        && contains(&manifest, b"encryption-data")
    {
        return Err(Failure::new(
            FailureKind::Encrypted,
            "the manifest lists encrypted parts: a password-protected OpenDocument file",
        ));
    }
    let content = required_part(container, CONTENT_PART)?;
    let text = walk(
        CONTENT_PART,
        &content,
        Characters::InLinesCollapsed,
        limits,
        classify,
    )?;
    drop(content);
    let mut found = Extracted {
        text,
        ..Extracted::default()
    };
    if let Some(xml) = container.part(META_PART)? {
        let mut creator = None;
        for (name, value) in properties(
            META_PART,
            &xml,
            &[
                "title",
                "initial-creator",
                "creator",
                "creation-date",
                "date",
            ],
        )? {
            match name.as_str() {
                "title" => found.title = Some(value),
                "initial-creator" => found.author = Some(value),
                "creator" => creator = Some(value),
                "creation-date" => found.year = year_of(&value).or(found.year),
                // `dc:date` is the last save: a stand-in for the year only.
                _ => found.year = found.year.or_else(|| year_of(&value)),
            }
        }
        // The initial creator is the author; the last editor stands in.
        found.author = found.author.or(creator);
    }
    Ok(found)
}

/// What an OpenDocument element means for the text.
fn classify(e: &BytesStart<'_>) -> Result<Tag, String> {
    Ok(match e.local_name().as_ref() {
        b"p" | b"h" => Tag::Line,
        b"s" => {
            let count = match attribute(e, b"c")? {
                Some(c) => c
                    .trim()
                    .parse()
                    .map_err(|_| format!("text:s has a bad count text:c={c:?}"))?,
                None => 1,
            };
            Tag::Spaces(count)
        }
        b"tab" => Tag::Tab,
        b"line-break" => Tag::Break,
        b"note-body" => Tag::Note,
        b"tracked-changes" | b"annotation" | b"note-citation" => Tag::Skip,
        _ => Tag::Other,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
