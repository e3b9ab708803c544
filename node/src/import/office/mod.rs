//! Office documents (`.docx`, `.odt`): their text as a reader sees it and
//! the properties they state, for [`super::extract`] to make a document of.
//!
//! Layers, each knowing only its own concern: [`zipped`] reads parts out of
//! the zip container under caps (zip bombs); [`xml`] walks one XML part into
//! lines of text by a format's rules; [`docx`] and [`odt`] hold those rules
//! and the metadata parts. Failures are typed ([`FailureKind`]):
//! `strategia.docx: corrupt: word/document.xml: unexpected end of XML at
//! byte 1234`.

use super::Limits;
use super::common::check_year;
pub(crate) use super::extract::{Extracted, Failure, FailureKind, too_large_text};

mod docx;
mod odt;
mod xml;
pub mod zipped;

/// The office formats this importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeFormat {
    /// Office Open XML text (Word 2007 and later).
    Docx,
    /// OpenDocument text (LibreOffice, OpenOffice).
    Odt,
}

/// The signature of an OLE compound file. Word saves a password-protected
/// `.docx` as one (the zip inside it encrypted), and so is an old `.doc`.
const OLE_SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// The text and properties of one office file, under the zip caps of
/// [`zipped::Caps::default`].
pub(crate) fn extract(
    format: OfficeFormat,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Extracted, Failure> {
    extract_with_caps(format, bytes, limits, zipped::Caps::default())
}

fn extract_with_caps(
    format: OfficeFormat,
    bytes: &[u8],
    limits: &Limits,
    caps: zipped::Caps,
) -> Result<Extracted, Failure> {
    if bytes.starts_with(OLE_SIGNATURE) {
        return Err(Failure::new(
            FailureKind::Encrypted,
            "an OLE compound file, not a zip: a password-protected Office file \
             (or a legacy .doc); save it without a password",
        ));
    }
    let mut container = zipped::Container::open(bytes, caps)?;
    match format {
        OfficeFormat::Docx => docx::extract(&mut container, limits),
        OfficeFormat::Odt => odt::extract(&mut container, limits),
    }
}

/// The part `name`, which a file of its format must have.
pub(crate) fn required_part(
    container: &mut zipped::Container<'_>,
    name: &str,
) -> Result<Vec<u8>, Failure> {
    container
        .part(name)?
        .ok_or_else(|| Failure::new(FailureKind::Corrupt, format!("{name} is missing")))
}

/// The year of an ISO 8601 date (`2021-03-04T10:00:00Z`), when it is one
/// the node accepts. Editors write odd dates (Word's 1601 among them); such a
/// year is dropped rather than failing a file whose text is sound.
pub(crate) fn year_of(date: &str) -> Option<i32> {
    let year: i64 = date.trim().get(..4)?.parse().ok()?;
    check_year(year).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use std::io::Write;

    use std::path::Path;

    use super::*;
    use crate::import::extract::{DocFormat, DocumentFile, guarded, parse_document};
    use crate::import::isolate::Isolation;
    use crate::import::{FileError, TextMeta};
    use tudashalo_core::model::{Document, Kind, Visibility};

    /// One office file as the importer makes a document of it, its id the
    /// file's stem.
    fn parse_office(
        format: OfficeFormat,
        file: &str,
        path: &Path,
        bytes: &[u8],
        meta: &TextMeta,
        limits: &Limits,
    ) -> Result<Document, FileError> {
        let format = match format {
            OfficeFormat::Docx => DocFormat::Docx,
            OfficeFormat::Odt => DocFormat::Odt,
        };
        let id = path.file_stem().unwrap().to_str().unwrap().to_string();
        let file = DocumentFile {
            id,
            ..DocumentFile::named(file, format, bytes)?
        };
        parse_document(format, file, meta, limits, &Isolation::InProcess)
    }

    /// A zip of `parts` (name, content), deflated, as an office file is.
    pub(crate) fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in parts {
            writer.start_file(*name, options).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

    fn document_xml(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}<w:sectPr><w:pgSz w:w="11906"/></w:sectPr></w:body></w:document>"#
        )
    }

    /// A DOCX with accents, a tracked deletion and insertion, a field code,
    /// tabs and breaks, a tab stop, a footnote and core properties.
    fn sample_docx() -> Vec<u8> {
        let body = concat!(
            r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>"#,
            r#"<w:r><w:t>Fejlesztési stratégia</w:t></w:r></w:p>"#,
            r#"<w:p><w:r><w:t xml:space="preserve">Az erdő és a </w:t></w:r>"#,
            r#"<w:del w:id="1" w:author="X"><w:r><w:delText>törölt szöveg</w:delText></w:r></w:del>"#,
            r#"<w:ins w:id="2" w:author="X"><w:r><w:t>beszúrt tűzifa</w:t></w:r></w:ins>"#,
            r#"<w:r><w:footnoteReference w:id="1"/></w:r></w:p>"#,
            r#"<w:p><w:r><w:t>Oldal</w:t><w:tab/><w:fldChar w:fldCharType="begin"/></w:r>"#,
            r#"<w:r><w:instrText xml:space="preserve"> PAGE \* MERGEFORMAT </w:instrText></w:r>"#,
            r#"<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>3</w:t></w:r>"#,
            r#"<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#,
            r#"<w:p><w:r><w:t>első sor</w:t><w:br/><w:t>második sor &amp; vég</w:t></w:r></w:p>"#,
            r#"<w:p><w:r><w:rPr><w:vanish/></w:rPr><w:t>rejtett szöveg</w:t><w:tab/></w:r></w:p>"#,
            r#"<w:p><w:r><w:rPr><w:b/><w:vanish w:val="0"/></w:rPr><w:t>látható</w:t></w:r></w:p>"#,
        );
        let footnotes = format!(
            r#"<w:footnotes {W}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:t>ELVÁLASZTÓ</w:t></w:r></w:p></w:footnote><w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:t>FOLYTATÁS</w:t></w:r></w:p></w:footnote><w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t>Lábjegyzet a forrásról.</w:t></w:r></w:p></w:footnote></w:footnotes>"#
        );
        let core = r#"<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"><dc:title>Szendrő fejlesztési terve</dc:title><dc:creator>Kovács Ödön</dc:creator><dcterms:created>2019-05-02T08:00:00Z</dcterms:created><dcterms:modified>2021-01-01T00:00:00Z</dcterms:modified></cp:coreProperties>"#;
        zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", document_xml(body).as_bytes()),
            ("word/footnotes.xml", footnotes.as_bytes()),
            ("docProps/core.xml", core.as_bytes()),
        ])
    }

    fn parse(name: &str, bytes: &[u8]) -> Result<Document, FileError> {
        parse_with(name, bytes, &Limits::default())
    }

    /// `name` parsed by its extension's format, with no flags.
    fn parse_with(name: &str, bytes: &[u8], limits: &Limits) -> Result<Document, FileError> {
        let format = if name.ends_with(".odt") {
            OfficeFormat::Odt
        } else {
            OfficeFormat::Docx
        };
        parse_office(
            format,
            name,
            Path::new(name),
            bytes,
            &TextMeta::default(),
            limits,
        )
    }

    fn reason(name: &str, bytes: &[u8]) -> String {
        parse(name, bytes).unwrap_err().reason
    }

    #[test]
    fn docx_text_as_a_reader_sees_it() {
        let doc = parse("dir/strategia.docx", &sample_docx()).unwrap();
        assert_eq!(doc.id, "strategia");
        assert_eq!(
            doc.body,
            "Fejlesztési stratégia\n\
             Az erdő és a beszúrt tűzifa\n\
             Oldal\t3\n\
             első sor\nmásodik sor & vég\n\
             \n\
             látható\n\
             \n\
             Lábjegyzet a forrásról."
        );
        for absent in [
            "törölt",
            "PAGE",
            "MERGEFORMAT",
            "ELVÁLASZTÓ",
            "FOLYTATÁS",
            "rejtett",
        ] {
            assert!(!doc.body.contains(absent), "{absent} in {:?}", doc.body);
        }
        assert_eq!(doc.title, "Szendrő fejlesztési terve");
        assert_eq!(doc.year, Some(2019));
        assert_eq!(doc.extra["author"], "Kovács Ödön");
        assert_eq!(doc.kind, Kind::Other);
        assert_eq!(doc.visibility, Visibility::Federated);
    }

    #[test]
    fn flags_win_over_the_files_properties() {
        let meta = TextMeta {
            kind: Some(Kind::Strategy),
            year: Some(2014),
            org: Some("Társulás".into()),
            visibility: Some(Visibility::Local),
            tags: vec!["ÁROP".into()],
            ..TextMeta::default()
        };
        let path = Path::new("s.docx");
        let doc = parse_office(
            OfficeFormat::Docx,
            "s.docx",
            path,
            &sample_docx(),
            &meta,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(doc.year, Some(2014));
        assert_eq!(doc.kind, Kind::Strategy);
        assert_eq!(doc.org.as_deref(), Some("Társulás"));
        assert_eq!(doc.visibility, Visibility::Local);
        assert_eq!(doc.tags, vec!["ÁROP"]);
    }

    /// The extracted text goes through the Hungarian clean-up: a word broken
    /// at a line break is rejoined, the Latin-1 `õ` repaired, a ligature
    /// and a soft hyphen undone.
    #[test]
    fn docx_text_is_cleaned_up() {
        let body = concat!(
            r#"<w:p><w:r><w:t>A település fejlesz-</w:t><w:br/><w:t>tési</w:t></w:r></w:p>"#,
            "<w:p><w:r><w:t>koncepciója: kõ, \u{fb01}nanszírozás, asz-</w:t><w:br/>",
            "<w:t>szonyok, fej\u{ad}lesztés</w:t></w:r></w:p>",
        );
        let bytes = zip_of(&[("word/document.xml", document_xml(body).as_bytes())]);
        let doc = parse("tiszta.docx", &bytes).unwrap();
        assert_eq!(
            doc.body,
            "A település fejlesztési\nkoncepciója: kő, finanszírozás, asszonyok, fejlesztés"
        );
    }

    #[test]
    fn docx_without_properties_takes_the_first_paragraph_as_title() {
        let xml = document_xml(r#"<w:p/><w:p><w:r><w:t>  Ülés jegyzőkönyve </w:t></w:r></w:p>"#);
        let doc = parse("j.docx", &zip_of(&[("word/document.xml", xml.as_bytes())])).unwrap();
        assert_eq!(doc.title, "Ülés jegyzőkönyve");
        assert_eq!(doc.year, None);
        assert!(doc.extra.is_empty());
    }

    const ODT_NS: &str = r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0""#;

    fn sample_odt() -> Vec<u8> {
        let content = format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content {}><office:body><office:text>"#,
                r#"<text:tracked-changes><text:changed-region text:id="c1"><text:deletion><text:p>kitörölt mondat</text:p></text:deletion></text:changed-region></text:tracked-changes>"#,
                r#"<text:h text:outline-level="1">Gazdasági program</text:h>"#,
                "<text:p>Hat<text:s text:c=\"3\"/>szóköz,\n   összevonva<text:tab/>és tűz<text:change text:change-id=\"c1\"/>",
                r#"<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation><text:note-body><text:p>Őszi lábjegyzet.</text:p></text:note-body></text:note>"#,
                r#"<text:line-break/>új sor<office:annotation><text:p>megjegyzés</text:p></office:annotation></text:p>"#,
                r#"</office:text></office:body></office:document-content>"#
            ),
            ODT_NS
        );
        let meta = r#"<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta><meta:initial-creator>Nagy Ő.</meta:initial-creator><dc:creator>Más Valaki</dc:creator><dc:date>2022-02-02T00:00:00</dc:date><meta:creation-date>2018-03-01T09:00:00</meta:creation-date></office:meta></office:document-meta>"#;
        zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", content.as_bytes()),
            ("meta.xml", meta.as_bytes()),
        ])
    }

    #[test]
    fn odt_text_spaces_heading_and_notes() {
        let doc = parse("program.odt", &sample_odt()).unwrap();
        assert_eq!(
            doc.body,
            "Gazdasági program\n\
             Hat   szóköz, összevonva\tés tűz\núj sor\n\
             \n\
             Őszi lábjegyzet."
        );
        for absent in ["kitörölt", "megjegyzés"] {
            assert!(!doc.body.contains(absent), "{absent} in {:?}", doc.body);
        }
        assert_eq!(doc.title, "Gazdasági program");
        assert_eq!(doc.year, Some(2018));
        assert_eq!(doc.extra["author"], "Nagy Ő.");
    }

    #[test]
    fn not_a_zip_is_corrupt() {
        let mut truncated = sample_docx();
        truncated.truncate(truncated.len() / 2);
        let why = reason("csonka.docx", &truncated);
        assert!(why.starts_with("corrupt: not a zip container"), "{why}");
        let err = parse("ures.docx", b"").unwrap_err();
        assert!(err.to_string().starts_with("ures.docx: corrupt: "), "{err}");
    }

    #[test]
    fn ole_file_is_encrypted() {
        let mut ole = OLE_SIGNATURE.to_vec();
        ole.extend_from_slice(&[0; 512]);
        let err = parse("titkos.docx", &ole).unwrap_err();
        assert!(
            err.to_string().starts_with("titkos.docx: encrypted: "),
            "{err}"
        );
    }

    #[test]
    fn encrypted_odt_manifest_is_encrypted() {
        let manifest = b"<manifest:manifest><manifest:file-entry manifest:full-path=\"content.xml\"><manifest:encryption-data/></manifest:file-entry></manifest:manifest>";
        let bytes = zip_of(&[
            ("META-INF/manifest.xml", manifest),
            ("content.xml", b"\x00\x01binary"),
        ]);
        assert!(reason("t.odt", &bytes).starts_with("encrypted: "));
    }

    #[test]
    fn missing_main_part_is_corrupt() {
        let bytes = zip_of(&[("word/styles.xml", b"<w:styles/>")]);
        assert_eq!(
            reason("x.docx", &bytes),
            "corrupt: word/document.xml is missing"
        );
        let bytes = zip_of(&[("mimetype", b"application/vnd.oasis.opendocument.text")]);
        assert_eq!(reason("x.odt", &bytes), "corrupt: content.xml is missing");
    }

    #[test]
    fn broken_xml_is_corrupt_naming_the_part_and_byte() {
        let xml = document_xml("<w:p><w:r><w:t>félbe");
        let xml = &xml[..xml.find("<w:sectPr").unwrap()];
        let bytes = zip_of(&[("word/document.xml", xml.as_bytes())]);
        let why = reason("strategia.docx", &bytes);
        assert_eq!(
            why,
            format!(
                "corrupt: word/document.xml: unexpected end of XML at byte {}",
                xml.len()
            )
        );
        let bytes = zip_of(&[("word/document.xml", b"<w:document><w:body></w:p>")]);
        let why = reason("s.docx", &bytes);
        assert!(why.starts_with("corrupt: word/document.xml: "), "{why}");
    }

    #[test]
    fn another_opendocument_is_unsupported() {
        let bytes = zip_of(&[(
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        )]);
        assert!(reason("t.odt", &bytes).starts_with("unsupported: "));
    }

    #[test]
    fn empty_document_is_no_text() {
        for body in ["", "<w:p/>", "<w:p><w:r><w:t>   </w:t><w:tab/></w:r></w:p>"] {
            let xml = document_xml(body);
            let bytes = zip_of(&[("word/document.xml", xml.as_bytes())]);
            assert_eq!(
                reason("ures.docx", &bytes),
                "no-text: the document holds no text"
            );
        }
    }

    #[test]
    fn zip_bomb_is_too_large_naming_the_ratio_cap() {
        // 200 MB of zeros deflate to about 200 KB; reading stops at the
        // ratio cap, a little past RATIO_FLOOR, long before 200 MB.
        let zeros = vec![0u8; 200 * 1024 * 1024];
        let bytes = zip_of(&[("word/document.xml", &zeros)]);
        drop(zeros);
        let why = reason("bomba.docx", &bytes);
        assert!(
            why.starts_with("too-large: word/document.xml: ") && why.contains("MAX_RATIO (250:1)"),
            "{why}"
        );
    }

    #[test]
    fn too_many_entries_is_too_large() {
        let names: Vec<String> = (0..=zipped::MAX_ENTRIES)
            .map(|i| format!("x/{i}"))
            .collect();
        let parts: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        let why = reason("sok.docx", &zip_of(&parts));
        assert_eq!(
            why,
            format!(
                "too-large: the container lists {} entries, over MAX_ENTRIES (10000)",
                zipped::MAX_ENTRIES + 1
            )
        );
    }

    #[test]
    fn a_declared_directory_over_the_cap_is_refused_before_reading_it() {
        let mut bytes = sample_docx();
        // The end-of-central-directory record is the last 22 bytes (no
        // comment); its entry counts are at offsets 8 and 10.
        let eocd = bytes.len() - 22;
        assert_eq!(&bytes[eocd..eocd + 4], b"PK\x05\x06");
        for at in [eocd + 8, eocd + 10] {
            bytes[at..at + 2].copy_from_slice(&60_000u16.to_le_bytes());
        }
        assert_eq!(
            reason("hamis.docx", &bytes),
            "too-large: the container lists 60000 entries, over MAX_ENTRIES (10000)"
        );
    }

    #[test]
    fn part_and_total_caps_are_named() {
        let xml = document_xml(&"<w:p><w:r><w:t>szöveg</w:t></w:r></w:p>".repeat(100));
        let bytes = zip_of(&[
            ("word/document.xml", xml.as_bytes()),
            ("word/footnotes.xml", xml.as_bytes()),
        ]);
        let small = |part_bytes, total_bytes| {
            extract_with_caps(
                OfficeFormat::Docx,
                &bytes,
                &Limits::default(),
                zipped::Caps {
                    part_bytes,
                    total_bytes,
                },
            )
            .unwrap_err()
            .detail
        };
        let why = small(1000, u64::MAX);
        assert_eq!(
            why,
            "word/document.xml: decompresses to over MAX_PART_BYTES (1000 bytes)"
        );
        let one = xml.len() as u64;
        let why = small(one, one + 10);
        assert_eq!(
            why,
            format!(
                "word/footnotes.xml: the parts read decompress to over MAX_TOTAL_BYTES ({} bytes)",
                one + 10
            )
        );
    }

    #[test]
    fn text_over_max_body_bytes_is_too_large() {
        let xml = document_xml(&format!(
            "<w:p><w:r><w:t>{}</w:t></w:r></w:p>",
            "ő".repeat(600)
        ));
        let bytes = zip_of(&[("word/document.xml", xml.as_bytes())]);
        let limits = Limits {
            max_body_bytes: 1000,
            ..Limits::default()
        };
        let err = parse_with("n.docx", &bytes, &limits).unwrap_err();
        assert_eq!(
            err.reason,
            "too-large: text of 1200 bytes exceeds the limit of 1000 bytes (max_body_bytes in node.toml)"
        );
        // A run of spaces is counted before it is made.
        let content = format!(
            r#"<office:document-content {ODT_NS}><office:body><office:text><text:p>a<text:s text:c="4000000000"/></text:p></office:text></office:body></office:document-content>"#
        );
        let bytes = zip_of(&[("content.xml", content.as_bytes())]);
        let err = parse_with("s.odt", &bytes, &limits).unwrap_err();
        assert!(
            err.reason.starts_with("too-large: text of "),
            "{}",
            err.reason
        );
    }

    #[test]
    fn a_panic_is_an_extractor_crash() {
        let failure = guarded::<()>(|| panic!("hibás kivonó")).unwrap_err();
        assert_eq!(
            failure.at("a.docx").to_string(),
            "a.docx: extractor-crash: hibás kivonó"
        );
    }

    /// Extraction speed, for the record: `cargo test -p tudashalo-node
    /// --release --lib office::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn throughput() {
        let paragraphs: String = (0..40_000)
            .map(|i| format!("<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>{i}. A kistérség fejlesztési stratégiája az erdő és a tűzifa hasznosításáról szól, {}. pont.</w:t></w:r><w:r><w:tab/><w:t>Második futam {}.</w:t></w:r></w:p>", i * 7919 % 10007, i * 31 % 997))
            .collect();
        let xml = document_xml(&paragraphs);
        let bytes = zip_of(&[("word/document.xml", xml.as_bytes())]);
        let limits = Limits {
            max_body_bytes: 64 * 1024 * 1024,
            ..Limits::default()
        };
        let started = std::time::Instant::now();
        let doc = parse_office(
            OfficeFormat::Docx,
            "t.docx",
            Path::new("t.docx"),
            &bytes,
            &TextMeta::default(),
            &limits,
        )
        .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let mb = xml.len() as f64 / 1e6;
        println!(
            "{mb:.1} MB of document.xml ({:.1} MB zipped) -> {:.1} MB of text in {seconds:.3} s: {:.0} MB/s of XML",
            bytes.len() as f64 / 1e6,
            doc.body.len() as f64 / 1e6,
            mb / seconds
        );
    }
}
