//! Workbooks built by the tests: XLSX and ODS written part by part into a
//! zip (no binary fixtures from elsewhere), and an OLE compound file such as
//! a password-protected XLSX is. Also writes the fuzz corpus seeds.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;

use crate::import::office::tests::zip_of;

/// A cell of a generated sheet.
#[derive(Debug, Clone)]
pub(crate) enum C {
    /// An inline string.
    S(&'static str),
    /// A shared string (`xl/sharedStrings.xml`).
    Shared(&'static str),
    N(f64),
    /// An Excel serial date, styled as a date.
    Date(f64),
    /// An error value (`#DIV/0!`).
    Err(&'static str),
}

/// A generated sheet: its name, rows as (1-based row, cells from a given
/// column), merged ranges (`A3:A4`).
pub(crate) struct XSheet {
    pub name: &'static str,
    pub rows: Vec<(u32, u32, Vec<C>)>,
    pub merged: Vec<&'static str>,
}

impl XSheet {
    pub fn new(name: &'static str) -> Self {
        XSheet {
            name,
            rows: Vec::new(),
            merged: Vec::new(),
        }
    }

    /// Adds row `row` with cells from column A.
    pub fn row(mut self, row: u32, cells: Vec<C>) -> Self {
        self.rows.push((row, 0, cells));
        self
    }

    /// Adds row `row` with cells from the 0-based column `from`.
    pub fn row_from(mut self, row: u32, from: u32, cells: Vec<C>) -> Self {
        self.rows.push((row, from, cells));
        self
    }

    pub fn merge(mut self, range: &'static str) -> Self {
        self.merged.push(range);
        self
    }
}

/// The column letters of a 0-based column.
pub(crate) fn column_name(mut column: u32) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (column % 26) as u8);
        if column < 26 {
            break;
        }
        column = column / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const PKG_REL: &str = "http://schemas.openxmlformats.org/package/2006/relationships";

/// The parts of an XLSX with `sheets`, for tests that alter a part.
pub(crate) fn xlsx_parts(sheets: &[XSheet]) -> Vec<(String, Vec<u8>)> {
    let mut shared: Vec<&str> = Vec::new();
    let mut parts = Vec::new();
    let mut overrides = String::new();
    let mut workbook_sheets = String::new();
    let mut rels = String::new();
    for (n, sheet) in sheets.iter().enumerate() {
        let n = n + 1;
        let mut xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN}"><sheetData>"#
        );
        for (row, from, cells) in &sheet.rows {
            write!(xml, r#"<row r="{row}">"#).unwrap();
            for (at, cell) in cells.iter().enumerate() {
                let r = format!("{}{row}", column_name(from + at as u32));
                match cell {
                    C::S(s) => write!(
                        xml,
                        r#"<c r="{r}" t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>"#,
                        escape(s)
                    ),
                    C::Shared(s) => {
                        let index = shared.iter().position(|x| x == s).unwrap_or_else(|| {
                            shared.push(s);
                            shared.len() - 1
                        });
                        write!(xml, r#"<c r="{r}" t="s"><v>{index}</v></c>"#)
                    }
                    C::N(v) => write!(xml, r#"<c r="{r}"><v>{v}</v></c>"#),
                    C::Date(v) => write!(xml, r#"<c r="{r}" s="1"><v>{v}</v></c>"#),
                    C::Err(e) => write!(xml, r#"<c r="{r}" t="e"><v>{}</v></c>"#, escape(e)),
                }
                .unwrap();
            }
            xml.push_str("</row>");
        }
        xml.push_str("</sheetData>");
        if !sheet.merged.is_empty() {
            write!(xml, r#"<mergeCells count="{}">"#, sheet.merged.len()).unwrap();
            for range in &sheet.merged {
                write!(xml, r#"<mergeCell ref="{range}"/>"#).unwrap();
            }
            xml.push_str("</mergeCells>");
        }
        xml.push_str("</worksheet>");
        parts.push((format!("xl/worksheets/sheet{n}.xml"), xml.into_bytes()));
        write!(
            overrides,
            r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        )
        .unwrap();
        write!(
            workbook_sheets,
            r#"<sheet name="{}" sheetId="{n}" r:id="rId{n}"/>"#,
            escape(sheet.name)
        )
        .unwrap();
        write!(
            rels,
            r#"<Relationship Id="rId{n}" Type="{REL}/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        )
        .unwrap();
    }
    let count = sheets.len();
    write!(
        rels,
        r#"<Relationship Id="rId{}" Type="{REL}/styles" Target="styles.xml"/>"#,
        count + 1
    )
    .unwrap();
    if !shared.is_empty() {
        write!(
            rels,
            r#"<Relationship Id="rId{}" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>"#,
            count + 2
        )
        .unwrap();
        let mut sst = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{MAIN}" count="{0}" uniqueCount="{0}">"#,
            shared.len()
        );
        for s in &shared {
            write!(sst, "<si><t>{}</t></si>", escape(s)).unwrap();
        }
        sst.push_str("</sst>");
        parts.push(("xl/sharedStrings.xml".to_string(), sst.into_bytes()));
        overrides.push_str(r#"<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>"#);
    }
    let content_types = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{overrides}</Types>"#
    );
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{workbook_sheets}</sheets></workbook>"#
    );
    // Style 1 is the built-in date format 14, which calamine reads as a date.
    let styles = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{MAIN}"><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>"#
    );
    let root_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    );
    let workbook_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL}">{rels}</Relationships>"#
    );
    let mut all = vec![
        (
            "[Content_Types].xml".to_string(),
            content_types.into_bytes(),
        ),
        ("_rels/.rels".to_string(), root_rels.into_bytes()),
        ("xl/workbook.xml".to_string(), workbook.into_bytes()),
        (
            "xl/_rels/workbook.xml.rels".to_string(),
            workbook_rels.into_bytes(),
        ),
        ("xl/styles.xml".to_string(), styles.into_bytes()),
    ];
    all.extend(parts);
    all
}

/// Zips parts as an office file is.
pub(crate) fn zip_parts(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let borrowed: Vec<(&str, &[u8])> = parts
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    zip_of(&borrowed)
}

pub(crate) fn xlsx(sheets: &[XSheet]) -> Vec<u8> {
    zip_parts(&xlsx_parts(sheets))
}

/// A cell of a generated ODS sheet.
#[derive(Debug, Clone)]
pub(crate) enum O {
    S(&'static str),
    N(f64),
    /// An ISO date.
    Date(&'static str),
    /// `n` empty cells.
    Gap(u32),
    /// A string cell merged over (columns, rows).
    Span(&'static str, u32, u32),
    /// A cell covered by a merged one.
    Covered,
}

/// An ODS with `sheets`: (name, rows), a row `Err(n)` being `n` empty rows
/// (one element with `table:number-rows-repeated`).
/// An ODS sheet's rows: cells, or `Err(n)` for `n` empty rows.
pub(crate) type OdsRows = Vec<Result<Vec<O>, u32>>;

pub(crate) fn ods(sheets: &[(&str, OdsRows)]) -> Vec<u8> {
    let mut content = String::from(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content "#,
        r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" "#,
        r#"xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" "#,
        r#"xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">"#,
        r#"<office:body><office:spreadsheet>"#
    ));
    for (name, rows) in sheets {
        write!(content, r#"<table:table table:name="{}">"#, escape(name)).unwrap();
        for row in rows {
            match row {
                Err(n) => write!(
                    content,
                    r#"<table:table-row table:number-rows-repeated="{n}"><table:table-cell/></table:table-row>"#
                )
                .unwrap(),
                Ok(cells) => {
                    content.push_str("<table:table-row>");
                    for cell in cells {
                        match cell {
                            O::S(s) => write!(
                                content,
                                r#"<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>"#,
                                escape(s)
                            ),
                            O::N(v) => write!(
                                content,
                                r#"<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>"#
                            ),
                            O::Date(d) => write!(
                                content,
                                r#"<table:table-cell office:value-type="date" office:date-value="{d}"><text:p>{d}</text:p></table:table-cell>"#
                            ),
                            O::Span(s, columns, rows) => write!(
                                content,
                                r#"<table:table-cell office:value-type="string" table:number-columns-spanned="{columns}" table:number-rows-spanned="{rows}"><text:p>{}</text:p></table:table-cell>"#,
                                escape(s)
                            ),
                            O::Covered => write!(content, "<table:covered-table-cell/>"),
                            O::Gap(n) => write!(
                                content,
                                r#"<table:table-cell table:number-columns-repeated="{n}"/>"#
                            ),
                        }
                        .unwrap();
                    }
                    content.push_str("</table:table-row>");
                }
            }
        }
        content.push_str("</table:table>");
    }
    content.push_str("</office:spreadsheet></office:body></office:document-content>");
    let manifest = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">"#,
        r#"<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>"#,
        r#"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#
    );
    zip_of(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet".as_slice(),
        ),
        ("content.xml", content.as_bytes()),
        ("META-INF/manifest.xml", manifest.as_bytes()),
    ])
}

/// An OLE compound file (version 3, 512-byte sectors) holding empty streams
/// named `streams`: with `EncryptedPackage` and `EncryptionInfo` it is what
/// Excel writes for a password-protected XLSX, as far as telling it apart
/// goes.
pub(crate) fn ole(streams: &[&str]) -> Vec<u8> {
    let empty: Vec<(&str, Vec<u8>)> = streams.iter().map(|s| (*s, Vec::new())).collect();
    ole_with(&empty)
}

/// An OLE compound file with `streams` (name, content), at most three. A
/// stream is padded to 4 096 bytes at least, so that it lives in ordinary
/// sectors rather than the mini stream.
pub(crate) fn ole_with(streams: &[(&str, Vec<u8>)]) -> Vec<u8> {
    const END: u32 = 0xFFFF_FFFE;
    const FREE: u32 = 0xFFFF_FFFF;
    assert!(streams.len() <= 3);
    let mut out = Vec::new();
    out.extend_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    out.extend_from_slice(&[0; 16]);
    for v in [0x003Eu16, 0x0003, 0xFFFE, 0x0009, 0x0006] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&[0; 6]);
    // Directory sectors (0 in version 3), FAT sectors, first directory
    // sector, transaction, mini stream cut-off, mini FAT, DIFAT.
    for v in [0u32, 1, 1, 0, 4096, END, 0, END, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    while out.len() < 512 {
        out.extend_from_slice(&FREE.to_le_bytes());
    }
    // Sector 0: the FAT; 1: the directory; then each stream's sectors.
    let mut fat: Vec<u32> = vec![0xFFFF_FFFD, END];
    let mut data = Vec::new();
    let mut placed = Vec::new();
    for (_, content) in streams {
        if content.is_empty() {
            placed.push((END, 0u32));
            continue;
        }
        let mut content = content.clone();
        let size = content.len().max(4096).div_ceil(512) * 512;
        content.resize(size, 0);
        let first = fat.len() as u32;
        let sectors = (size / 512) as u32;
        for n in 0..sectors {
            fat.push(if n + 1 == sectors { END } else { first + n + 1 });
        }
        placed.push((first, content.len() as u32));
        data.extend(content);
    }
    assert!(fat.len() <= 128, "one FAT sector");
    let mut fat_bytes: Vec<u8> = fat.iter().flat_map(|v| v.to_le_bytes()).collect();
    while fat_bytes.len() < 512 {
        fat_bytes.extend_from_slice(&FREE.to_le_bytes());
    }
    out.extend_from_slice(&fat_bytes);
    let entry = |name: &str, kind: u8, child: u32, right: u32, start: u32, size: u32| {
        let mut e = vec![0u8; 128];
        let utf16: Vec<u8> = name
            .encode_utf16()
            .chain(std::iter::once(0))
            .flat_map(u16::to_le_bytes)
            .collect();
        e[..utf16.len()].copy_from_slice(&utf16);
        e[64..66].copy_from_slice(&(utf16.len() as u16).to_le_bytes());
        e[66] = kind;
        e[67] = 1;
        e[68..72].copy_from_slice(&FREE.to_le_bytes());
        e[72..76].copy_from_slice(&right.to_le_bytes());
        e[76..80].copy_from_slice(&child.to_le_bytes());
        e[116..120].copy_from_slice(&start.to_le_bytes());
        e[120..124].copy_from_slice(&size.to_le_bytes());
        e
    };
    let mut dir = entry("Root Entry", 5, 1, FREE, END, 0);
    for (n, ((name, _), (start, size))) in streams.iter().zip(&placed).enumerate() {
        let right = if n + 1 < streams.len() {
            n as u32 + 2
        } else {
            FREE
        };
        dir.extend(entry(name, 2, FREE, right, *start, *size));
    }
    dir.resize(512, 0);
    out.extend_from_slice(&dir);
    out.extend(data);
    out
}

/// A cell of a generated `.xls` sheet: (0-based row, column, value).
#[derive(Debug, Clone)]
pub(crate) enum X {
    S(&'static str),
    N(f64),
    /// An Excel serial date, styled as a date.
    Date(f64),
}

/// A generated `.xls` sheet: its name, cells and merged ranges as 0-based
/// (first row, last row, first column, last column).
pub(crate) type XlsSheet = (&'static str, Vec<(u16, u16, X)>, Vec<(u16, u16, u16, u16)>);

/// A BIFF8 workbook (Excel 97–2003) in its OLE container; `password` adds a
/// FILEPASS record, as Excel writes for a password to open.
pub(crate) fn xls(sheets: &[XlsSheet], password: bool) -> Vec<u8> {
    fn record(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        out.extend_from_slice(data);
    }
    fn bof(kind: u16) -> Vec<u8> {
        let mut d = Vec::new();
        for v in [0x0600u16, kind, 0x0DBB, 0x07CC] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&[0; 8]);
        d
    }
    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }
    let globals = |positions: &[u32]| {
        let mut g = Vec::new();
        record(&mut g, 0x0809, &bof(0x0005));
        if password {
            record(&mut g, 0x002F, &[1, 0, 1, 0, 1, 0]);
        }
        record(&mut g, 0x0042, &1200u16.to_le_bytes());
        // XF 0: general; XF 1: the built-in date format 14.
        for format in [0u16, 14] {
            let mut xf = vec![0u8; 20];
            xf[2..4].copy_from_slice(&format.to_le_bytes());
            record(&mut g, 0x00E0, &xf);
        }
        for ((name, _, _), position) in sheets.iter().zip(positions) {
            let mut d = position.to_le_bytes().to_vec();
            d.extend_from_slice(&[0, 0, name.encode_utf16().count() as u8, 1]);
            d.extend(utf16(name));
            record(&mut g, 0x0085, &d);
        }
        record(&mut g, 0x000A, &[]);
        g
    };
    let substreams: Vec<Vec<u8>> = sheets
        .iter()
        .map(|(_, cells, merged)| {
            let mut s = Vec::new();
            record(&mut s, 0x0809, &bof(0x0010));
            for (row, column, cell) in cells {
                let mut d = Vec::new();
                d.extend_from_slice(&row.to_le_bytes());
                d.extend_from_slice(&column.to_le_bytes());
                match cell {
                    X::S(text) => {
                        d.extend_from_slice(&0u16.to_le_bytes());
                        d.extend_from_slice(&(text.encode_utf16().count() as u16).to_le_bytes());
                        d.push(1);
                        d.extend(utf16(text));
                        record(&mut s, 0x0204, &d);
                    }
                    X::N(v) | X::Date(v) => {
                        let xf: u16 = if matches!(cell, X::Date(_)) { 1 } else { 0 };
                        d.extend_from_slice(&xf.to_le_bytes());
                        d.extend_from_slice(&v.to_le_bytes());
                        record(&mut s, 0x0203, &d);
                    }
                }
            }
            if !merged.is_empty() {
                let mut d = (merged.len() as u16).to_le_bytes().to_vec();
                for (r0, r1, c0, c1) in merged {
                    for v in [r0, r1, c0, c1] {
                        d.extend_from_slice(&v.to_le_bytes());
                    }
                }
                record(&mut s, 0x00E5, &d);
            }
            record(&mut s, 0x000A, &[]);
            s
        })
        .collect();
    let placeholder = vec![0u32; sheets.len()];
    let mut at = globals(&placeholder).len() as u32;
    let mut positions = Vec::new();
    for s in &substreams {
        positions.push(at);
        at += s.len() as u32;
    }
    let mut stream = globals(&positions);
    for s in substreams {
        stream.extend(s);
    }
    ole_with(&[("Workbook", stream)])
}
