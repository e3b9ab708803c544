//! A PDF's properties: the document information dictionary, and its
//! XMP packet when the dictionary is silent.

use super::*;

#[derive(Debug, Default)]
pub(super) struct Meta {
    pub(super) title: Option<String>,
    pub(super) author: Option<String>,
    pub(super) year: Option<i32>,
}

pub(super) fn metadata(doc: &Document) -> Meta {
    let info = doc
        .trailer
        .get(b"Info")
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_dict().ok());
    let field = |key: &[u8]| -> Option<String> {
        let object = info?.get(key).ok()?;
        let (_, object) = doc.dereference(object).ok()?;
        tidy_field(&text_string(object)?)
    };
    let xmp = xmp_packet(doc);
    let xmp_field = |tag: &str| xmp.as_deref().and_then(|x| xmp_value(x, tag));
    let title = field(b"Title")
        .and_then(|t| useful_title(&t))
        .or_else(|| xmp_field("dc:title").and_then(|t| useful_title(&t)));
    let author = field(b"Author").or_else(|| xmp_field("dc:creator"));
    let year = field(b"CreationDate")
        .and_then(|d| year_of_date(&d))
        .or_else(|| xmp_field("xmp:CreateDate").and_then(|d| year_of_date(&d)));
    Meta {
        title,
        author,
        year,
    }
}

/// A PDF text string: UTF-16BE after its byte order mark (a broken
/// surrogate replaced, not the whole value lost), else lopdf's reading
/// (UTF-8 after its mark, PDFDocEncoding).
pub(super) fn text_string(object: &Object) -> Option<String> {
    let bytes = object.as_str().ok()?;
    match bytes.strip_prefix(b"\xFE\xFF") {
        Some(utf16) => Some(utf16_text(utf16)),
        None => lopdf::decode_text_string(object).ok(),
    }
}

/// A property's text, control characters gone, or nothing if empty.
pub(super) fn tidy_field(text: &str) -> Option<String> {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// A title a person gave, not the file name a converter wrote
/// (`Microsoft Word - terv.docx`).
pub(super) fn useful_title(title: &str) -> Option<String> {
    let title = title
        .strip_prefix("Microsoft Word - ")
        .unwrap_or(title)
        .trim();
    let lower = title.to_lowercase();
    let file_name = [".doc", ".docx", ".odt", ".rtf", ".pdf", ".txt", ".indd"]
        .iter()
        .any(|ext| lower.ends_with(ext));
    (!title.is_empty() && !file_name && lower != "untitled" && lower != "cím nélküli")
        .then(|| title.to_string())
}

/// The year of a PDF date (`D:20190502083000+02'00'`) or an XMP one
/// (`2019-05-02T08:30:00`), when the node accepts it.
pub(super) fn year_of_date(date: &str) -> Option<i32> {
    let date = date.trim();
    let date = date.strip_prefix("D:").unwrap_or(date);
    let digits = date.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    check_year(digits.parse().ok()?).ok()
}

/// The catalog's XMP packet, if it has a small one.
pub(super) fn xmp_packet(doc: &Document) -> Option<String> {
    let catalog = doc.catalog().ok()?;
    let (_, object) = doc.dereference(catalog.get(b"Metadata").ok()?).ok()?;
    let stream = object.as_stream().ok()?;
    let bytes = stream.get_plain_content_with_limit(1024 * 1024).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The first value of an XMP property: `<dc:title><rdf:Alt><rdf:li
/// xml:lang="x-default">…</rdf:li>`, or a simple `<xmp:CreateDate>…<`, or
/// an attribute `xmp:CreateDate="…"`.
pub(super) fn xmp_value(xmp: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}");
    if let Some(start) = xmp.find(&open) {
        let rest = xmp.get(start + open.len()..)?;
        let close = format!("</{tag}>");
        let body = rest.get(rest.find('>')? + 1..rest.find(&close)?)?;
        let value = match body.find("<rdf:li") {
            Some(li) => {
                let li = body.get(li..)?;
                li.get(li.find('>')? + 1..li.find("</rdf:li>")?)?
            }
            None => body,
        };
        return tidy_field(&xml_unescape(value));
    }
    let attribute = format!("{tag}=\"");
    let start = xmp.find(&attribute)? + attribute.len();
    let rest = xmp.get(start..)?;
    tidy_field(&xml_unescape(rest.get(..rest.find('"')?)?))
}

pub(super) fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
