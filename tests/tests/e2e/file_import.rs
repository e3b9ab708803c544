//! Files as a kistérség keeps them: a folder of mixed documents imported
//! through the command line (its extractors in child processes), with a
//! typed report for every file that cannot be read, slug ids, content
//! hashes that make a re-import free, and the original files kept and
//! downloadable — by the operator, and through a hub under the node's policy.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use tudashalo_pki::Role;
use tudashalo_proto::pb;

use super::support::{
    Files, NodeDir, Pki, TestHub, TestNode, client_as, docx, guard, import, import_with, jsonl,
    node_cli,
};
use tudashalo_node::node::ImportOptions;

/// An OpenDocument text of one paragraph per entry.
fn odt(paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<text:p>{p}</text:p>"))
        .collect();
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>{body}</office:text></office:body></office:document-content>"#
    );
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    writer.start_file("mimetype", stored).expect("zip");
    writer
        .write_all(b"application/vnd.oasis.opendocument.text")
        .expect("zip");
    writer.start_file("content.xml", stored).expect("zip");
    writer.write_all(content.as_bytes()).expect("zip");
    writer.finish().expect("zip").into_inner()
}

/// A DOCX padded with an embedded "image" of `image_bytes` incompressible
/// bytes, so that the file spans several chunks of a download.
fn big_docx(paragraphs: &[&str], image_bytes: usize) -> Vec<u8> {
    let plain = docx(paragraphs, "");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(plain)).expect("zip");
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).expect("entry");
        writer.raw_copy_file(entry).expect("copy");
    }
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    writer
        .start_file("word/media/image1.png", stored)
        .expect("zip");
    // A linear congruential sequence: incompressible enough, and the same
    // in every run.
    let mut x: u32 = 12345;
    let image: Vec<u8> = (0..image_bytes)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect();
    writer.write_all(&image).expect("zip");
    writer.finish().expect("zip").into_inner()
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn import_json(data: &Path, extra: &[&str], folder: &Path) -> (Option<i32>, Value) {
    let mut args = vec![
        "import".to_string(),
        "--data".into(),
        data.display().to_string(),
        "--json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(folder.display().to_string());
    let (code, out) = node_cli(&args);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, report)
}

/// The report's files by their path relative to `root`, with the counts.
fn counts(report: &Value, root: &Path) -> Vec<(String, u64, u64, u64)> {
    let mut out: Vec<_> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            let file = f["file"].as_str().expect("file");
            let relative = Path::new(file)
                .strip_prefix(root)
                .unwrap_or(Path::new(file))
                .display()
                .to_string();
            (
                relative,
                f["added"].as_u64().expect("added"),
                f["updated"].as_u64().expect("updated"),
                f["unchanged"].as_u64().expect("unchanged"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_folder_of_mixed_files_imports_with_a_typed_report_for_each() {
    let folder = NodeDir::init("szendroi");
    let data = folder.path().to_path_buf();
    let files = Files::new();
    let root = files.path().join("Stratégiák");
    let terv = docx(
        &[
            "Fejlesztési terv 2021",
            "A tűzifa és a bükkös erdő hasznosítása Szendrőn.",
        ],
        "",
    );
    files.write("Stratégiák/2021/Fejlesztési terv.docx", &terv);
    files.write(
        "Stratégiák/Ülések/jegyzőkönyv.odt",
        odt(&[
            "Jegyzőkönyv a társulási tanács üléséről",
            "A tanács elfogadta az óvodai férőhelyek bővítését.",
        ]),
    );
    files.write(
        "Stratégiák/olvass.txt",
        "Olvass el\nA kistérségi tudásportál leírása.",
    );
    let study = [
        "Tanulmány az erdőgazdálkodásról",
        "A szendrői erdők bükkösei adják a térség tűzifájának nagyobb részét; a tanulmány a fenntartható kitermelés lehetőségeit vizsgálja a kistérség településein.",
        "Az őshonos fafajok aránya növekszik, a fiatal erdők gondozása közösségi munkával folyik, a kitermelt fa a helyi fűtőművekbe kerül.",
    ];
    files.write(
        "Stratégiák/Tanulmányok/Erdő és tűzifa.pdf",
        super::support::pdf(
            &super::support::pdf_pages(&study, 60, 3),
            "Szendrői Kistérség – Erdőgazdálkodási tanulmány",
            "Tanulmány az erdőgazdálkodásról",
            "Nagy Éva",
        ),
    );
    files.write(
        "Stratégiák/honlap.html",
        tudashalo_demo::generate::files::html(
            &[
                "Hírek a társulásról",
                "Megújult a kistérségi ügyfélszolgálat épülete Edelényben.",
            ],
            Some("Szerkesztőség"),
        ),
    );
    files.write(
        "Stratégiák/jelentés.rtf",
        tudashalo_demo::generate::files::rtf(
            &[
                "Éves jelentés",
                "A szociális alapszolgáltatások bővítése Szendrőn és Encsen.",
            ],
            Some("Kovács Ödön"),
        ),
    );
    // Pages with nothing but page numbers: a scan without a text layer.
    files.write(
        "Stratégiák/szkennelt.pdf",
        super::support::pdf(&[Vec::new(), Vec::new(), Vec::new()], "", "", ""),
    );
    let mut truncated = terv.clone();
    truncated.truncate(truncated.len() / 2);
    files.write("Stratégiák/csonka.docx", truncated);
    let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    ole.extend_from_slice(&[0; 512]);
    files.write("Stratégiák/titkos.docx", ole);
    files.write("Stratégiák/üres.docx", docx(&[" "], ""));
    files.write("Stratégiák/kép.png", b"\x89PNG\r\n\x1a\n");
    files.write("Stratégiák/.rejtett.docx", b"hidden");
    files.write("Stratégiák/~$lakat.docx", b"an Office lock file");

    let (code, report) = import_json(&data, &["--sector", "oktatás"], &root);
    assert_eq!(code, Some(1), "some files were not imported: {report}");
    assert_eq!(
        counts(&report, &root),
        [
            ("2021/Fejlesztési terv.docx".to_string(), 1, 0, 0),
            ("Tanulmányok/Erdő és tűzifa.pdf".to_string(), 1, 0, 0),
            ("honlap.html".to_string(), 1, 0, 0),
            ("jelentés.rtf".to_string(), 1, 0, 0),
            ("olvass.txt".to_string(), 1, 0, 0),
            ("Ülések/jegyzőkönyv.odt".to_string(), 1, 0, 0),
        ],
        "{report}"
    );
    let mut errors: Vec<(String, String)> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            let file = e["file"].as_str().expect("file");
            let name = Path::new(file).file_name().expect("name");
            (
                name.to_string_lossy().into_owned(),
                e["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        [
            ("csonka.docx".to_string(), "corrupt".to_string()),
            ("szkennelt.pdf".to_string(), "no-text-layer".to_string()),
            ("titkos.docx".to_string(), "encrypted".to_string()),
            ("üres.docx".to_string(), "no-text".to_string()),
        ],
        "{report}"
    );
    for e in report["errors"].as_array().expect("errors") {
        let message = e["message"].as_str().expect("message");
        let kind = e["kind"].as_str().expect("kind");
        assert!(
            message.starts_with(&format!("{}: {kind}: ", e["file"].as_str().expect("file"))),
            "{message}"
        );
    }
    let skipped = report["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 1, "{report}");
    assert!(skipped[0].as_str().expect("path").ends_with("kép.png"));
    assert_eq!(report["totals"]["files"], 10, "{report}");
    assert_eq!(report["totals"]["imported"], 6, "{report}");
    assert_eq!(report["totals"]["failed"], 4, "{report}");

    // The PDF: its properties, its pages, its text without the running
    // header and the page numbers, hyphenation and ő/ű as written.
    let (code, out) = node_cli(&[
        "get",
        "--data",
        data.to_str().expect("path"),
        "--json",
        "tanulmanyok/erdo-es-tuzifa",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let study: Value = serde_json::from_str(&out).expect("get --json");
    assert_eq!(study["title"], "Tanulmány az erdőgazdálkodásról", "{study}");
    assert_eq!(study["author"], "Nagy Éva", "{study}");
    assert_eq!(study["year"], 2021, "{study}");
    assert_eq!(study["source"]["format"], "pdf", "{study}");
    assert!(
        study["source"]["pages"].as_u64().expect("pages") >= 2,
        "{study}"
    );
    let body = study["body"].as_str().expect("body");
    assert!(body.contains("őshonos fafajok"), "{body}");
    assert!(body.contains("fűtőművekbe"), "{body}");
    assert!(
        !body.contains("Erdőgazdálkodási tanulmány"),
        "the running header: {body}"
    );

    // Ids are slugs of the path in the folder; the source is the file.
    let (code, out) = node_cli(&[
        "get",
        "--data",
        data.to_str().expect("path"),
        "--json",
        "2021/fejlesztesi-terv",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let got: Value = serde_json::from_str(&out).expect("get --json");
    assert_eq!(
        got["source"],
        json!({
            "file": "2021/Fejlesztési terv.docx",
            "format": "docx",
            "bytes": terv.len(),
            "sha256": sha256_hex(&terv),
        })
    );
    assert_eq!(got["sectors"], json!(["oktatás"]));
    assert!(got["body"].as_str().expect("body").contains("bükkös erdő"));

    // Unchanged files: nothing changes, and the flags given before stay.
    let (_, again) = import_json(&data, &[], &root);
    assert_eq!(
        counts(&again, &root)
            .iter()
            .map(|c| (c.1, c.2, c.3))
            .collect::<Vec<_>>(),
        [(0, 0, 1); 6],
        "{again}"
    );
    // One file changed: it alone is updated, and keeps its sector.
    files.write(
        "Stratégiák/2021/Fejlesztési terv.docx",
        docx(
            &["Fejlesztési terv 2021", "Módosítva: a kerékpárút is."],
            "",
        ),
    );
    let (_, changed) = import_json(&data, &[], &root);
    assert_eq!(
        counts(&changed, &root)
            .iter()
            .map(|c| (c.1, c.2, c.3))
            .collect::<Vec<_>>(),
        [
            (0, 1, 0),
            (0, 0, 1),
            (0, 0, 1),
            (0, 0, 1),
            (0, 0, 1),
            (0, 0, 1)
        ],
        "{changed}"
    );
    let (_, out) = node_cli(&[
        "get",
        "--data",
        data.to_str().expect("path"),
        "--json",
        "2021/fejlesztesi-terv",
    ]);
    let got: Value = serde_json::from_str(&out).expect("get --json");
    assert!(got["body"].as_str().expect("body").contains("kerékpárút"));
    assert_eq!(got["sectors"], json!(["oktatás"]));

    // The operator downloads the original as it was imported.
    let copy = files.path().join("letöltve.odt");
    let (code, out) = node_cli(&[
        "get",
        "--data",
        data.to_str().expect("path"),
        "ulesek/jegyzokonyv",
        "--original",
        copy.to_str().expect("path"),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        std::fs::read(&copy).expect("copy"),
        std::fs::read(root.join("Ülések/jegyzőkönyv.odt")).expect("original")
    );

    // Searchable, in Hungarian, with its source in the hit.
    let (code, out) = node_cli(&[
        "search",
        "--data",
        data.to_str().expect("path"),
        "--json",
        "óvodai férőhely",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let found: Value = serde_json::from_str(&out).expect("search --json");
    assert_eq!(found["hits"][0]["id"], "ulesek/jegyzokonyv", "{found}");
    assert_eq!(found["hits"][0]["source"]["format"], "odt", "{found}");
    for (query, id) in [
        ("őshonos fafaj", "tanulmanyok/erdo-es-tuzifa"),
        ("ugyfelszolgalat", "honlap"),
        ("szociális alapszolgáltatás", "jelentes"),
    ] {
        let (_, out) = node_cli(&[
            "search",
            "--data",
            data.to_str().expect("path"),
            "--json",
            query,
        ]);
        let found: Value = serde_json::from_str(&out).expect("search --json");
        assert_eq!(found["hits"][0]["id"], id, "{query}: {found}");
    }
}

#[test]
fn two_files_with_one_slug_are_told_apart_not_merged() {
    let folder = NodeDir::init("encsi");
    let files = Files::new();
    let root = files.path().join("iratok");
    files.write("iratok/Terv.docx", docx(&["Első terv", "Erdő."], ""));
    files.write("iratok/terv.odt", odt(&["Második terv", "Tűzifa."]));
    let (code, report) = import_json(folder.path(), &[], &root);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["totals"]["imported"], 1, "{report}");
    let message = report["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("its id \"terv\" is already the document of \"Terv.docx\""),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originals_download_through_a_hub_under_the_nodes_policy() {
    let pki = Pki::new();
    let folder = NodeDir::init("alfa");
    let node = folder.open();
    let files = Files::new();
    // Over 64 KiB: several chunks.
    let shared = big_docx(
        &["Közös fejlesztési terv", "A tűzifa programja."],
        300 * 1024,
    );
    let report = import(&node, &files.write("kozos.docx", &shared));
    assert_eq!(report.added, 1);
    let local = ImportOptions {
        text: tudashalo_node::import::TextMeta {
            visibility: Some(tudashalo_core::model::Visibility::Local),
            ..Default::default()
        },
        ..Default::default()
    };
    import_with(
        &node,
        &files.write("belso.docx", docx(&["Belső feljegyzés", "Titok."], "")),
        &local,
    )
    .expect("a local document");
    import(
        &node,
        &files.write(
            "rekord.jsonl",
            jsonl([json!({"id": "rekord", "title": "Rekord", "body": "Szöveg."})]),
        ),
    );
    let node = TestNode::serve("alfa", folder.dir, node, &pki.material("alfa", Role::Node)).await;
    let hub = TestHub::start(&pki, "regio", &[("alfa", &node.url)]).await;
    let mut client = client_as(&hub.url, &pki, "analyst", Role::Operator).await;

    let request = |id: &str| pb::GetDocumentRequest {
        id: id.into(),
        member: "alfa".into(),
    };
    let mut stream = guard("get_original", client.get_original(request("kozos")))
        .await
        .expect("the download starts")
        .into_inner();
    let mut chunks = Vec::new();
    while let Some(chunk) = guard("chunk", stream.message()).await.expect("chunk") {
        chunks.push(chunk);
    }
    assert!(chunks.len() >= 5, "{} chunks", chunks.len());
    let source = chunks[0].source.clone().expect("the first chunk says what");
    assert_eq!(chunks[0].member, "alfa");
    assert!(chunks[1..].iter().all(|c| c.source.is_none()));
    let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
    assert_eq!(bytes, shared);
    assert_eq!(source.file, "kozos.docx");
    assert_eq!(source.format, "docx");
    assert_eq!(source.bytes, shared.len() as u64);
    assert_eq!(source.sha256, sha256_hex(&shared));

    // A local document's original is as invisible as the document.
    let refused = guard("local", client.get_original(request("belso")))
        .await
        .expect_err("local");
    assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    // A record from a JSON Lines file has no original.
    let none = guard("record", client.get_original(request("rekord")))
        .await
        .expect_err("no file");
    assert_eq!(none.code(), tonic::Code::NotFound, "{none:?}");
    assert!(
        none.message().contains("imported from a record"),
        "{none:?}"
    );

    // Every request is in the node's audit log, the download with its size.
    let entries = node.node.audit().entries().expect("audit");
    let originals: Vec<_> = entries
        .iter()
        .filter(|e| e.method == "GetOriginal")
        .collect();
    assert_eq!(originals.len(), 3, "{entries:#?}");
    assert_eq!(originals[0].principal, "hub:regio");
    assert_eq!(
        originals[0].on_behalf_of.as_deref(),
        Some("operator:analyst")
    );
    assert_eq!(originals[0].document.as_deref(), Some("kozos"));
    assert_eq!(originals[0].results, Some(shared.len() as u64));
}

/// A statistics folder as the centre keeps it: the catalogue in an XLSX,
/// observations in an ODS with a title row above the header and a text cell
/// with a decimal comma, one bad row — imported in one command, catalogue
/// first, the bad row named by sheet and row, then aggregated.
#[test]
fn workbooks_import_catalogue_first_and_name_the_bad_row() {
    let folder = NodeDir::init("edelenyi");
    let data = folder.path().to_path_buf();
    let files = Files::new();
    let root = files.path().join("Statisztika");
    files.write(
        "Statisztika/b-mutatok.xlsx",
        super::support::xlsx(&[
            ("Leírás", 1, vec![vec!["A mutatók jegyzéke"]]),
            (
                "Mutatók",
                1,
                vec![
                    vec!["Kód", "Név", "Mértékegység", "Aggregálás"],
                    vec!["nepesseg", "Lakónépesség", "fő", "sum"],
                    vec!["ovoda", "Óvodai férőhelyek", "db", "sum"],
                ],
            ),
        ]),
    );
    files.write(
        "Statisztika/a-adatok.ods",
        super::support::ods(&[(
            "Adatok",
            vec![
                vec!["Települési adatok, 2021"],
                vec!["Mutató", "Település", "Időszak", "Érték", "Mértékegység"],
                vec!["nepesseg", "Edelény", "2021", "9871", "fő"],
                vec!["nepesseg", "Szendrő", "2021", "4 120", "fő"],
                vec!["ovoda", "Edelény", "2021", "sok", "db"],
                vec!["ovoda", "Szendrő", "2021", "12,0", "db"],
            ],
        )]),
    );
    let (code, report) = import_json(&data, &[], &root);
    assert_eq!(code, Some(2), "a row was rejected: {report}");
    let files_done = report["files"].as_array().expect("files");
    // The catalogue first, although its name sorts after the data.
    assert_eq!(files_done[0]["kind"], "catalogue", "{report}");
    assert_eq!(files_done[0]["added"], 2, "{report}");
    assert_eq!(files_done[1]["kind"], "observations", "{report}");
    assert_eq!(files_done[1]["added"], 3, "{report}");
    let rejection = &files_done[1]["rejections"][0];
    assert_eq!(rejection["sheet"], "Adatok", "{report}");
    assert_eq!(rejection["line"], 5, "{report}");
    assert!(
        rejection["reason"]
            .as_str()
            .expect("reason")
            .contains("\"sok\" is not a number"),
        "{report}"
    );
    // The text line names the sheet and row as a spreadsheet user reads them.
    let (code, _) = node_cli(&[
        "import",
        "--data",
        data.to_str().expect("path"),
        root.join("a-adatok.ods").to_str().expect("path"),
    ]);
    assert_eq!(code, Some(2));
    let (code, out) = node_cli(&[
        "aggregate",
        "--data",
        data.to_str().expect("path"),
        "--json",
        "--indicator",
        "nepesseg",
        "--by",
        "period",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("13991"), "9 871 + 4 120 = 13 991: {out}");
}
