//! Replays the extractors' fuzz corpora (`fuzz/corpus/extract_*`, seeds
//! and past findings alike) on stable, without cargo-fuzz.
//!
//! Our own extractors (DOCX, ODT, HTML, RTF) run without `catch_unwind`:
//! a panic in them is a bug and fails this test, naming the input. The
//! third-party parsers (PDF, workbooks) run as an import runs them, under
//! `catch_unwind` and a time limit: their panics are expected and must come
//! back as a typed `extractor-crash`, never escape. `write_office_seeds`
//! (ignored) regenerates the DOCX and ODT seeds.

use std::io::Write;
use std::path::{Path, PathBuf};

use tudashalo_node::import::isolate::{self, Isolation, Job};
use tudashalo_node::import::{DocFormat, Limits, WorkbookFormat};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(name)
}

fn inputs(name: &str) -> Vec<PathBuf> {
    let dir = corpus(name);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut inputs: Vec<PathBuf> = entries
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    inputs.retain(|p| p.is_file());
    inputs.sort();
    inputs
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn our_extractors_never_panic_on_their_corpora() {
    let mut seen = 0;
    for format in ["docx", "odt", "html", "rtf"] {
        for path in inputs(&format!("extract_{format}")) {
            let data = read(&path);
            let outcome = std::panic::catch_unwind(|| {
                tudashalo_node::fuzzing::extract(format, &data);
            });
            assert!(outcome.is_ok(), "{} panicked", path.display());
            seen += 1;
        }
    }
    assert!(
        seen >= 8,
        "only {seen} corpus inputs: the seeds are missing"
    );
}

#[test]
fn third_party_parsers_fail_typed_on_their_corpora() {
    let limits = Limits {
        max_body_bytes: 1024 * 1024,
        extract_timeout: std::time::Duration::from_secs(60),
        ..Limits::default()
    };
    let jobs = [
        ("extract_pdf", Job::Document(DocFormat::Pdf)),
        ("extract_xlsx", Job::Workbook(WorkbookFormat::Xlsx)),
        ("extract_ods", Job::Workbook(WorkbookFormat::Ods)),
    ];
    for (name, job) in jobs {
        for path in inputs(name) {
            let data = read(&path);
            // Ok, or a typed failure: either way nothing escaped.
            let _ = isolate::run(&job, &data, &limits, &Isolation::InProcess);
        }
    }
}

fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in parts {
        writer.start_file(*name, options).expect("zip");
        writer.write_all(content).expect("zip");
    }
    writer.finish().expect("zip").into_inner()
}

/// Writes the DOCX and ODT seeds: `cargo test -p tudashalo-node --test
/// extract_corpus write_office_seeds -- --ignored`.
#[test]
#[ignore]
fn write_office_seeds() {
    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;
    let document = |body: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>{body}</w:body></w:document>"#
        )
    };
    let docx = [
        ("plain", zip_of(&[("word/document.xml", document("<w:p><w:r><w:t>Szendrő fejlesztési terve</w:t></w:r></w:p>").as_bytes())])),
        ("tracked", zip_of(&[("word/document.xml", document(r#"<w:p><w:r><w:t xml:space="preserve">Az erdő </w:t></w:r><w:del w:id="1"><w:r><w:delText>törölt</w:delText></w:r></w:del><w:ins w:id="2"><w:r><w:t>tűzifa</w:t></w:r></w:ins><w:r><w:fldChar w:fldCharType="begin"/><w:instrText> PAGE </w:instrText><w:fldChar w:fldCharType="end"/></w:r></w:p>"#).as_bytes())])),
        ("notes", zip_of(&[
            ("word/document.xml", document(r#"<w:p><w:r><w:t>fejlesz-</w:t><w:br/><w:t>tési</w:t><w:tab/><w:footnoteReference w:id="1"/></w:r></w:p>"#).as_bytes()),
            ("word/footnotes.xml", format!(r#"<w:footnotes {W}><w:footnote w:id="1"><w:p><w:r><w:t>Lábjegyzet.</w:t></w:r></w:p></w:footnote></w:footnotes>"#).as_bytes()),
            ("docProps/core.xml", r#"<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Terv</dc:title><dc:creator>Kovács Ödön</dc:creator></cp:coreProperties>"#.as_bytes()),
        ])),
        ("deep", zip_of(&[("word/document.xml", document(&"<w:p>".repeat(2000)).as_bytes())])),
    ];
    let odt_ns = r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0""#;
    let content = |body: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content {odt_ns}><office:body><office:text>{body}</office:text></office:body></office:document-content>"#
        )
    };
    let odt = [
        ("plain", zip_of(&[("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", content("<text:h>Gazdasági program</text:h><text:p>Hat<text:s text:c=\"3\"/>szóköz<text:tab/>és tűz</text:p>").as_bytes())])),
        ("notes", zip_of(&[("content.xml", content(r#"<text:p>Szöveg<text:note><text:note-citation>1</text:note-citation><text:note-body><text:p>Őszi jegyzet.</text:p></text:note-body></text:note></text:p>"#).as_bytes())])),
        ("spaces", zip_of(&[("content.xml", content(r#"<text:p>a<text:s text:c="99999999"/>b</text:p>"#).as_bytes())])),
    ];
    for (dir, seeds) in [("extract_docx", &docx[..]), ("extract_odt", &odt[..])] {
        let dir = corpus(dir);
        std::fs::create_dir_all(&dir).expect("corpus folder");
        for (name, bytes) in seeds {
            std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed");
        }
    }
}
