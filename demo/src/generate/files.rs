//! Documents and tables as the files a kistérség keeps: DOCX, ODT, PDF,
//! HTML, RTF, XLSX and ODS written by hand from their specifications (no
//! binary fixture from elsewhere), for the demo's sample folder, the
//! end-to-end tests and the import benchmark — one writer per format.
//!
//! Each writer takes what a person would type: paragraphs (the first is
//! the title) or rows of cells. They are deliberately plain: what the
//! importers must handle beyond that (tracked changes, broken fonts, zip
//! bombs) is built by the importers' own unit tests.

use std::fmt::Write as _;
use std::io::Write;

/// A zip of `parts` (name, content), deflated, as office files are.
pub fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in parts {
        // Writing to memory cannot fail but for a bug in the zip crate.
        if writer.start_file(*name, options).is_ok() {
            let _ = writer.write_all(content);
        }
    }
    writer
        .finish()
        .map(|cursor| cursor.into_inner())
        .unwrap_or_default()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A DOCX of one paragraph per entry, with `title` and `author` as its
/// core properties when given.
pub fn docx(paragraphs: &[&str], title: Option<&str>, author: Option<&str>) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|p| {
            format!(
                "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                xml_escape(p)
            )
        })
        .collect();
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    let mut core = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">"#,
    );
    if let Some(title) = title {
        let _ = write!(core, "<dc:title>{}</dc:title>", xml_escape(title));
    }
    if let Some(author) = author {
        let _ = write!(core, "<dc:creator>{}</dc:creator>", xml_escape(author));
    }
    core.push_str("</cp:coreProperties>");
    zip_of(&[
        (
            "[Content_Types].xml",
            b"<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>",
        ),
        ("word/document.xml", document.as_bytes()),
        ("docProps/core.xml", core.as_bytes()),
    ])
}

/// An OpenDocument text of one paragraph per entry, the first a heading.
pub fn odt(paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .enumerate()
        .map(|(i, p)| match i {
            0 => format!(
                "<text:h text:outline-level=\"1\">{}</text:h>",
                xml_escape(p)
            ),
            _ => format!("<text:p>{}</text:p>", xml_escape(p)),
        })
        .collect();
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>{body}</office:text></office:body></office:document-content>"#
    );
    zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", content.as_bytes()),
    ])
}

/// A saved web page: the title in `<title>` and `<h1>`, the paragraphs,
/// and the chrome a real page has around them (navigation, a script, a
/// footer), in UTF-8.
pub fn html(paragraphs: &[&str], author: Option<&str>) -> Vec<u8> {
    let title = paragraphs.first().copied().unwrap_or_default();
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"hu\"><head><meta charset=\"utf-8\"><title>{}</title>",
        xml_escape(title)
    );
    if let Some(author) = author {
        let _ = write!(
            page,
            "<meta name=\"author\" content=\"{}\">",
            xml_escape(author)
        );
    }
    let _ = write!(
        page,
        "<script>window.menu = true;</script></head><body><nav><a href=\"/\">Főoldal</a> | <a href=\"/hirek\">Hírek</a></nav><h1>{}</h1>",
        xml_escape(title)
    );
    for p in paragraphs.iter().skip(1) {
        let _ = writeln!(page, "<p>{}</p>", xml_escape(p));
    }
    page.push_str("<footer>© Többcélú Kistérségi Társulás</footer></body></html>\n");
    page.into_bytes()
}

/// An RTF document as Word writes one for Hungarian: `\ansicpg1250`, a
/// font of charset 238, non-ASCII letters as `\'hh` in Windows-1250 (and
/// `\uN?` where 1250 has none), the title in `\info`.
pub fn rtf(paragraphs: &[&str], author: Option<&str>) -> Vec<u8> {
    fn escaped(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            match c {
                '\\' | '{' | '}' => {
                    out.push('\\');
                    out.push(c);
                }
                c if c.is_ascii() => out.push(c),
                c => {
                    let mut buffer = [0u8; 4];
                    let (bytes, _, unmappable) =
                        encoding_rs::WINDOWS_1250.encode(c.encode_utf8(&mut buffer));
                    match (unmappable, bytes.first()) {
                        (false, Some(b)) if bytes.len() == 1 => {
                            let _ = write!(out, "\\'{b:02x}");
                        }
                        _ => {
                            let _ = write!(out, "\\u{}?", c as u32 as i16);
                        }
                    }
                }
            }
        }
        out
    }
    let title = paragraphs.first().copied().unwrap_or_default();
    let mut out = String::from(
        "{\\rtf1\\ansi\\ansicpg1250\\deff0{\\fonttbl{\\f0\\fswiss\\fcharset238 Arial;}}\n",
    );
    let _ = write!(out, "{{\\info{{\\title {}}}", escaped(title));
    if let Some(author) = author {
        let _ = write!(out, "{{\\author {}}}", escaped(author));
    }
    out.push_str("}\n\\f0\\fs22 ");
    for p in paragraphs {
        out.push_str(&escaped(p));
        out.push_str("\\par\n");
    }
    out.push('}');
    out.into_bytes()
}

/// A PDF with a text layer: one page per entry of `pages` (lines of
/// text), each with the running header `header` at the top and its page
/// number at the bottom (page furniture the importer drops), in Helvetica
/// with a WinAnsi encoding whose `/Differences` add `ő ű Ő Ű` — as
/// Hungarian PDFs from office suites are. `title` and `author` go into the
/// document information.
pub fn pdf(pages: &[Vec<String>], header: &str, title: &str, author: &str) -> Vec<u8> {
    /// A string in the font's encoding, escaped for a PDF literal.
    fn literal(text: &str) -> Vec<u8> {
        let mut out = vec![b'('];
        for c in text.chars() {
            let byte = match c {
                'ő' => 128,
                'ű' => 129,
                'Ő' => 130,
                'Ű' => 131,
                '–' => 0x96,
                '„' => 0x84,
                '”' => 0x94,
                c => {
                    let mut buffer = [0u8; 4];
                    let (bytes, _, unmappable) =
                        encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buffer));
                    match bytes.first() {
                        Some(b) if !unmappable && bytes.len() == 1 => *b,
                        _ => b'?',
                    }
                }
            };
            if matches!(byte, b'(' | b')' | b'\\') {
                out.push(b'\\');
            }
            out.push(byte);
        }
        out.push(b')');
        out
    }
    /// A text string of the document information, UTF-16BE with a BOM.
    fn text_string(text: &str) -> String {
        let mut hex = String::from("<FEFF");
        for unit in text.encode_utf16() {
            let _ = write!(hex, "{unit:04X}");
        }
        hex.push('>');
        hex
    }

    let mut objects: Vec<Vec<u8>> = Vec::new();
    // 1 catalog, 2 pages, 3 font, 4 encoding, 5 info; then per page: page, content.
    let first_page = 6;
    let kids: String = (0..pages.len())
        .map(|i| format!("{} 0 R ", first_page + 2 * i))
        .collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(format!("<< /Type /Pages /Kids [{kids}] /Count {} >>", pages.len()).into_bytes());
    objects
        .push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding 4 0 R >>".to_vec());
    objects.push(
        b"<< /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [128 /odblacute /udblacute /Odblacute /Udblacute] >>"
            .to_vec(),
    );
    objects.push(
        format!(
            "<< /Title {} /Author {} /Producer (Tudashalo demo) /CreationDate (D:20210315093000+01'00') >>",
            text_string(title),
            text_string(author)
        )
        .into_bytes(),
    );
    for (i, lines) in pages.iter().enumerate() {
        let mut content: Vec<u8> = Vec::new();
        content.extend_from_slice(b"BT /F1 9 Tf 56 810 Td ");
        content.extend(literal(header));
        content.extend_from_slice(b" Tj ET\nBT /F1 11 Tf 14 TL 56 770 Td\n");
        for line in lines {
            content.extend(literal(line));
            content.extend_from_slice(b" Tj T*\n");
        }
        content.extend_from_slice(b"ET\nBT /F1 9 Tf 290 30 Td ");
        content.extend(literal(&(i + 1).to_string()));
        content.extend_from_slice(b" Tj ET\n");
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                first_page + 2 * i + 1
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend(content);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").into_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .into_bytes(),
    );
    out
}

/// Lines of at most `width` characters from `paragraphs`, broken at spaces,
/// for [`pdf`] pages of `per_page` lines.
pub fn pdf_pages(paragraphs: &[&str], width: usize, per_page: usize) -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    for p in paragraphs {
        let mut line = String::new();
        for word in p.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines.push(String::new());
    }
    lines.chunks(per_page.max(1)).map(|c| c.to_vec()).collect()
}

/// An XLSX workbook as Excel lays one out: one worksheet per entry, its
/// rows from row `first_row`; a cell that reads as a number (`2021`,
/// `10234.5`) is a numeric cell, any other an inline string (`12,5` stays
/// text, as a hand-typed cell in a Hungarian Excel is).
pub fn xlsx(sheets: &[(&str, u32, Vec<Vec<&str>>)]) -> Vec<u8> {
    let mut workbook = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    );
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, (name, first_row, rows)) in sheets.iter().enumerate() {
        let n = i + 1;
        let _ = write!(
            workbook,
            r#"<sheet name="{}" sheetId="{n}" r:id="rId{n}"/>"#,
            xml_escape(name)
        );
        let _ = write!(
            rels,
            r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        );
        let _ = write!(
            types,
            r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        );
        let mut sheet = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (r, cells) in rows.iter().enumerate() {
            let row = *first_row as usize + r;
            let _ = write!(sheet, r#"<row r="{row}">"#);
            for (c, value) in cells.iter().enumerate() {
                let column = char::from(b'A' + (c % 26) as u8);
                if value.parse::<f64>().is_ok() {
                    let _ = write!(sheet, r#"<c r="{column}{row}"><v>{value}</v></c>"#);
                } else {
                    let _ = write!(
                        sheet,
                        r#"<c r="{column}{row}" t="inlineStr"><is><t>{}</t></is></c>"#,
                        xml_escape(value)
                    );
                }
            }
            sheet.push_str("</row>");
        }
        sheet.push_str("</sheetData></worksheet>");
        parts.push((format!("xl/worksheets/sheet{n}.xml"), sheet.into_bytes()));
    }
    workbook.push_str("</sheets></workbook>");
    rels.push_str("</Relationships>");
    types.push_str("</Types>");
    let root_rels = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let mut all: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root_rels.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", rels.as_bytes()),
    ];
    all.extend(parts.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    zip_of(&all)
}

/// An ODS spreadsheet with one table per entry (cells as in [`xlsx`]).
pub fn ods(sheets: &[(&str, Vec<Vec<&str>>)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, rows) in sheets {
        let _ = write!(body, r#"<table:table table:name="{}">"#, xml_escape(name));
        for cells in rows {
            body.push_str("<table:table-row>");
            for value in cells {
                if value.parse::<f64>().is_ok() {
                    let _ = write!(
                        body,
                        r#"<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>"#
                    );
                } else {
                    let _ = write!(
                        body,
                        r#"<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>"#,
                        xml_escape(value)
                    );
                }
            }
            body.push_str("</table:table-row>");
        }
        body.push_str("</table:table>");
    }
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>{body}</office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    zip_of(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("content.xml", content.as_bytes()),
        ("META-INF/manifest.xml", manifest.as_bytes()),
    ])
}
