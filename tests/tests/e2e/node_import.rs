//! Importing at the Node API: every bad input gives a precise
//! `file:line: reason`, and nothing stored before is lost; store and index
//! stay consistent across crashes, reopening and reindexing.

use std::path::Path;

use serde_json::json;
use tudashalo_core::model::Observation;
use tudashalo_core::search::{Audience, SearchQuery};
use tudashalo_node::import::Encoding;
use tudashalo_node::node::{FileReport, ImportOptions};
use tudashalo_node::store::Store;
use tudashalo_node::{Error, Node};

use super::support::{Files, NodeDir, doc, docx, import, import_with, jsonl, line, node_cli};

/// The documents imported first in every test: three of them, each with the
/// word "alapdokumentum".
fn base_documents() -> String {
    jsonl([
        json!({"id": "alap-1", "title": "Alapdokumentum egy", "body": "Az első alapdokumentum a kistérségről.", "kind": "report", "year": 2020}),
        json!({"id": "alap-2", "title": "Alapdokumentum kettő", "body": "A második alapdokumentum.", "kind": "study", "visibility": "public"}),
        json!({"id": "alap-3", "title": "Alapdokumentum három", "body": "A harmadik, helyi alapdokumentum.", "visibility": "local"}),
    ])
}

const CATALOGUE: &str = "code,name,unit,aggregation\n\
nepesseg,Lakónépesség,fő,sum\n\
munkanelk,Munkanélküliségi ráta,%,weighted_mean:nepesseg\n";

/// Observations imported first in the observation tests.
const BASE_OBSERVATIONS: &str = "indicator,settlement,period,value,unit\n\
nepesseg,Edelény,2020,9800,fő\n\
nepesseg,Abod,2020,210,fő\n";

/// A node with the base documents, the catalogue and the base observations.
struct Fixture {
    folder: NodeDir,
    files: Files,
    node: Node,
}

impl Fixture {
    fn new() -> Fixture {
        let folder = NodeDir::init("importteszt");
        let node = folder.open();
        let files = Files::new();
        let fixture = Fixture {
            folder,
            files,
            node,
        };
        let report = fixture.import("alap.jsonl", base_documents());
        assert_eq!((report.added, report.rejected), (3, 0), "{report:?}");
        let report = fixture.import("katalogus.csv", CATALOGUE);
        assert_eq!(
            (report.kind, report.added, report.rejected),
            ("catalogue", 2, 0),
            "{report:?}"
        );
        let report = fixture.import("alap-adatok.csv", BASE_OBSERVATIONS);
        assert_eq!(
            (report.kind, report.added, report.rejected),
            ("observations", 2, 0),
            "{report:?}"
        );
        fixture.assert_base_intact();
        fixture
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> std::path::PathBuf {
        self.files.write(name, bytes)
    }

    fn import(&self, name: &str, bytes: impl AsRef<[u8]>) -> FileReport {
        let path = self.write(name, bytes);
        import(&self.node, &path)
    }

    fn try_import(
        &self,
        name: &str,
        bytes: impl AsRef<[u8]>,
        options: &ImportOptions,
    ) -> (std::path::PathBuf, tudashalo_node::Result<FileReport>) {
        let path = self.write(name, bytes);
        let result = import_with(&self.node, &path, options);
        (path, result)
    }

    /// Ids of the documents matching `text`, as the operator sees them.
    fn search(&self, text: &str) -> Vec<String> {
        search(&self.node, text)
    }

    /// The documents and observations imported by [`Fixture::new`] are all
    /// still there and searchable.
    fn assert_base_intact(&self) {
        for id in ["alap-1", "alap-2", "alap-3"] {
            let doc = self
                .node
                .get(id, Audience::Operator)
                .unwrap_or_else(|e| panic!("{id} lost: {e}"));
            assert!(doc.title.starts_with("Alapdokumentum"), "{id}: {doc:?}");
        }
        assert_eq!(
            self.search("alapdokumentum"),
            vec!["alap-1", "alap-2", "alap-3"]
        );
        assert!(self.node.observation_count() >= 2);
        assert!(self.node.catalogue().expect("catalogue").len() >= 2);
    }
}

/// Ids of the documents matching `text` for the operator, sorted.
fn search(node: &Node, text: &str) -> Vec<String> {
    let results = node
        .search(
            &SearchQuery {
                text: text.to_string(),
                limit: 200,
                ..SearchQuery::default()
            },
            Audience::Operator,
            None,
        )
        .unwrap_or_else(|e| panic!("search {text:?}: {e}"));
    assert_eq!(results.total as usize, results.hits.len());
    let mut ids: Vec<String> = results.hits.into_iter().map(|h| h.id).collect();
    ids.sort();
    ids
}

/// The one rejection of `report`, checked to be at `path:line`.
fn only_rejection(report: &FileReport, path: &Path, line: usize) -> String {
    assert_eq!(report.rejected, 1, "{report:?}");
    assert_eq!(report.rejections.len(), 1, "{report:?}");
    let rejection = &report.rejections[0];
    assert_eq!(rejection.file, path.display().to_string());
    assert_eq!(rejection.line, line, "{rejection}");
    let text = rejection.to_string();
    let prefix = format!("{}:{line}: ", path.display());
    assert!(
        text.starts_with(&prefix),
        "{text:?} does not start with {prefix:?}"
    );
    text
}

/// Every observation in the store of a node that is not open.
fn observations(folder: &NodeDir) -> Vec<Observation> {
    let store =
        Store::open(&folder.path().join("store"), folder.path()).expect("opening the store");
    store
        .observations()
        .collect::<Result<Vec<_>, _>>()
        .expect("reading observations")
}

fn value_of(observations: &[Observation], indicator: &str, settlement: &str, period: &str) -> f64 {
    observations
        .iter()
        .find(|o| o.indicator == indicator && o.settlement == settlement && o.period == period)
        .unwrap_or_else(|| panic!("no {indicator}/{settlement}/{period} in {observations:?}"))
        .value
}

#[test]
fn malformed_json_line_is_rejected_alone() {
    let f = Fixture::new();
    let text = format!(
        "{}\n{{\"id\": \"rossz\", \"title\": }}\n{}\n",
        doc("uj-1", "Új dokumentum", "Friss tartalom egy."),
        doc("uj-2", "Új dokumentum", "Friss tartalom kettő.")
    );
    let path = f.write("rossz-json.jsonl", text);
    let report = import(&f.node, &path);
    assert_eq!((report.added, report.updated, report.unchanged), (2, 0, 0));
    let message = only_rejection(&report, &path, 2);
    assert!(message.contains("not valid JSON"), "{message}");
    assert!(message.contains("column"), "{message}");
    assert_eq!(report.rejections[0].field, None);
    assert_eq!(f.search("friss"), vec!["uj-1", "uj-2"]);
    f.assert_base_intact();
}

#[test]
fn missing_required_field_names_the_field() {
    let f = Fixture::new();
    let text = jsonl([
        doc("uj-1", "Új dokumentum", "Friss tartalom."),
        json!({"id": "cim-nelkul", "body": "Nincs címe."}),
    ]);
    let path = f.write("hianyzo.jsonl", text);
    let report = import(&f.node, &path);
    let message = only_rejection(&report, &path, 2);
    assert!(
        message.ends_with("missing required field \"title\""),
        "{message}"
    );
    assert_eq!(report.rejections[0].field.as_deref(), Some("title"));
    assert_eq!(report.added, 1);
    assert!(matches!(
        f.node.get("cim-nelkul", Audience::Operator),
        Err(Error::NotFound(_))
    ));
    f.assert_base_intact();
}

#[test]
fn wrong_type_names_field_and_value() {
    let f = Fixture::new();
    let text = jsonl([
        json!({"id": "ev-1", "title": "Évszám", "body": "Szöveg.", "year": "2014."}),
        json!({"id": "ev-2", "title": "Évszám", "body": "Szöveg.", "year": 2014}),
    ]);
    let path = f.write("evszam.jsonl", text);
    let report = import(&f.node, &path);
    let message = only_rejection(&report, &path, 1);
    assert!(message.contains("field \"year\""), "{message}");
    assert!(message.contains("2014."), "{message}");
    assert_eq!(report.rejections[0].field.as_deref(), Some("year"));
    assert_eq!(
        f.node.get("ev-2", Audience::Operator).expect("ev-2").year,
        Some(2014)
    );
    f.assert_base_intact();
}

#[test]
fn invalid_utf8_costs_only_its_line() {
    let f = Fixture::new();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(doc("utf-1", "Jó sor", "Rendben.").to_string().as_bytes());
    bytes.push(b'\n');
    // Latin-2 "ő" (0xF5) where UTF-8 was expected.
    bytes.extend_from_slice(b"{\"id\":\"utf-2\",\"title\":\"Szendr\xf5\",\"body\":\"x\"}\n");
    bytes.extend_from_slice(doc("utf-3", "Jó sor", "Rendben.").to_string().as_bytes());
    bytes.push(b'\n');
    let path = f.write("utf.jsonl", &bytes);
    let report = import(&f.node, &path);
    let message = only_rejection(&report, &path, 2);
    assert!(message.contains("invalid UTF-8"), "{message}");
    assert!(message.contains("byte 30"), "{message}");
    assert_eq!(report.added, 2);
    assert_eq!(f.search("rendben"), vec!["utf-1", "utf-3"]);
    f.assert_base_intact();
}

#[test]
fn windows_1250_csv_keeps_hungarian_names() {
    let f = Fixture::new();
    let text = "mutató;település;időszak;érték;egység\r\n\
nepesseg;Szendrő;2021;4 123;fő\r\n\
nepesseg;Nyomár;2021;312;fő\r\n\
munkanelk;Szendrő;2021;12,5;%\r\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1250.encode(text);
    assert!(!unmappable);
    assert!(bytes.contains(&0xF5), "ő must be 0xF5 in Windows-1250");
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file must not be UTF-8"
    );
    let report = f.import("ksh-1250.csv", &bytes);
    assert_eq!(report.kind, "observations");
    assert_eq!(
        (report.added, report.rejected),
        (3, 0),
        "{:?}",
        report.rejections
    );
    assert_eq!(f.node.observation_count(), 5);
    f.assert_base_intact();

    // The same file, named explicitly as Windows-1250, changes nothing.
    let (path, result) = f.try_import(
        "ksh-1250-explicit.csv",
        &bytes,
        &ImportOptions {
            encoding: Encoding::Windows1250,
            ..ImportOptions::default()
        },
    );
    let report = result.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!((report.added, report.updated, report.unchanged), (0, 0, 3));

    let Fixture { folder, node, .. } = f;
    drop(node);
    let observations = observations(&folder);
    assert_eq!(observations.len(), 5);
    let settlements: std::collections::BTreeSet<&str> =
        observations.iter().map(|o| o.settlement.as_str()).collect();
    assert_eq!(
        settlements,
        ["Abod", "Edelény", "Nyomár", "Szendrő"]
            .into_iter()
            .collect()
    );
    assert_eq!(
        value_of(&observations, "nepesseg", "Szendrő", "2021"),
        4123.0
    );
    assert_eq!(value_of(&observations, "nepesseg", "Nyomár", "2021"), 312.0);
    assert_eq!(
        value_of(&observations, "munkanelk", "Szendrő", "2021"),
        12.5
    );
    let unit = observations
        .iter()
        .find(|o| o.indicator == "nepesseg")
        .map(|o| o.unit.clone());
    assert_eq!(unit.as_deref(), Some("fő"));
}

#[test]
fn semicolon_csv_with_decimal_comma_and_nbsp_thousands() {
    let f = Fixture::new();
    let text = "indicator;settlement;period;value;unit\n\
nepesseg;Edelény;2021;10\u{a0}234;fő\n\
nepesseg;Abod;2021;1\u{a0}234\u{a0}567,25;fő\n\
nepesseg;Szendrő;2021;4.123;fő\n\
nepesseg;Nyomár;2021;1\u{202f}002;fő\n\
munkanelk;Edelény;2021;12,5;%\n\
munkanelk;Abod;2021-Q3;-0,75;\n";
    let report = f.import("pontosvesszo.csv", text);
    assert_eq!(report.kind, "observations");
    assert_eq!(report.rejected, 0, "{:?}", report.rejections);
    assert_eq!(report.added, 6);
    assert_eq!(f.node.observation_count(), 8);
    assert_eq!(f.node.stats().expect("stats").observations, 8);
    f.assert_base_intact();

    let Fixture { folder, node, .. } = f;
    drop(node);
    let observations = observations(&folder);
    assert_eq!(
        value_of(&observations, "nepesseg", "Edelény", "2021"),
        10_234.0
    );
    assert_eq!(
        value_of(&observations, "nepesseg", "Abod", "2021"),
        1_234_567.25
    );
    assert_eq!(
        value_of(&observations, "nepesseg", "Szendrő", "2021"),
        4_123.0
    );
    assert_eq!(
        value_of(&observations, "nepesseg", "Nyomár", "2021"),
        1_002.0
    );
    assert_eq!(
        value_of(&observations, "munkanelk", "Edelény", "2021"),
        12.5
    );
    assert_eq!(
        value_of(&observations, "munkanelk", "Abod", "2021-Q3"),
        -0.75
    );
    // The earlier observations are untouched.
    assert_eq!(
        value_of(&observations, "nepesseg", "Edelény", "2020"),
        9_800.0
    );
    assert_eq!(value_of(&observations, "nepesseg", "Abod", "2020"), 210.0);
}

#[test]
fn unknown_indicator_is_rejected_with_the_catalogue_named() {
    let f = Fixture::new();
    let text = "indicator,settlement,period,value,unit\n\
nepesseg,Szendrő,2021,4123,fő\n\
ismeretlen,Szendrő,2021,7,db\n\
nepesseg,Nyomár,2021,312,fő\n";
    let path = f.write("ismeretlen.csv", text);
    let report = import(&f.node, &path);
    let message = only_rejection(&report, &path, 3);
    assert!(message.contains("\"ismeretlen\""), "{message}");
    assert!(message.contains("not in the catalogue"), "{message}");
    assert_eq!(report.rejections[0].field.as_deref(), Some("indicator"));
    assert_eq!(report.added, 2);
    assert_eq!(f.node.observation_count(), 4);
    f.assert_base_intact();
}

#[test]
fn duplicate_id_names_the_first_line() {
    let f = Fixture::new();
    let text = jsonl([
        doc("dup", "Első változat", "Ez marad."),
        doc("mas", "Másik", "Közben."),
        doc("dup", "Második változat", "Ez elveszik."),
    ]);
    let path = f.write("dupla.jsonl", text);
    let report = import(&f.node, &path);
    let message = only_rejection(&report, &path, 3);
    assert!(message.contains("duplicate id \"dup\""), "{message}");
    assert!(message.contains("first at line 1"), "{message}");
    assert_eq!(report.rejections[0].field.as_deref(), Some("id"));
    assert_eq!(report.added, 2);
    let kept = f.node.get("dup", Audience::Operator).expect("dup");
    assert_eq!(kept.title, "Első változat");
    assert_eq!(f.search("változat"), vec!["dup"]);
    assert!(f.search("elveszik").is_empty());
    f.assert_base_intact();
}

#[test]
fn empty_file_is_an_error_and_changes_nothing() {
    let f = Fixture::new();
    let before = f.node.stats().expect("stats");
    for (name, bytes) in [("ures.jsonl", ""), ("uresek.jsonl", "\n  \n\r\n")] {
        let (path, result) = f.try_import(name, bytes, &ImportOptions::default());
        let error = result.expect_err("an empty file must be an error");
        assert!(matches!(error, Error::File(_)), "{error:?}");
        let message = error.to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        assert!(message.contains("empty"), "{message}");
        assert_eq!(error.code(), tonic::Code::InvalidArgument);
    }
    let (path, result) = f.try_import("ures.csv", "", &ImportOptions::default());
    let error = result.expect_err("an empty CSV must be an error");
    assert!(
        error.to_string().starts_with(&path.display().to_string()),
        "{error}"
    );
    let after = f.node.stats().expect("stats");
    assert_eq!(after.documents, before.documents);
    assert_eq!(after.observations, before.observations);
    assert_eq!(after.generation, before.generation);
    f.assert_base_intact();
}

#[test]
fn oversized_body_is_rejected_and_the_rest_lands() {
    let f = Fixture::new();
    let big = "a".repeat(10 * 1024 * 1024);
    let text = jsonl([
        doc("kicsi-1", "Kicsi", "Rövid szöveg."),
        doc("nagy", "Nagy", &big),
        doc("kicsi-2", "Kicsi", "Rövid szöveg."),
    ]);
    let path = f.write("nagy.jsonl", text);
    let report = import(&f.node, &path);
    let message = only_rejection(&report, &path, 2);
    assert!(message.contains("field \"body\""), "{message}");
    assert!(message.contains("10485760"), "{message}");
    assert!(
        message.contains("8388608"),
        "the limit must be named: {message}"
    );
    assert!(message.contains("max_body_bytes"), "{message}");
    assert_eq!(report.rejections[0].field.as_deref(), Some("body"));
    assert_eq!(report.added, 2);
    assert!(matches!(
        f.node.get("nagy", Audience::Operator),
        Err(Error::NotFound(_))
    ));
    assert_eq!(f.search("rövid"), vec!["kicsi-1", "kicsi-2"]);
    f.assert_base_intact();
}

#[test]
fn strict_import_stores_nothing_of_a_bad_file() {
    let f = Fixture::new();
    let before = f.node.stats().expect("stats");
    let strict = ImportOptions {
        strict: true,
        ..ImportOptions::default()
    };

    let text = format!(
        "{}\n{{\"id\":\"szigoru-2\",\"title\":\"t\",\"body\":\"b\",\"year\":\"2014.\"}}\n",
        doc("szigoru-1", "Szigorú", "Ennek sem szabad bekerülnie.")
    );
    let (path, result) = f.try_import("szigoru.jsonl", text, &strict);
    let error = result.expect_err("--strict must refuse the file");
    match &error {
        Error::Strict { file, count } => {
            assert_eq!(file, &path.display().to_string());
            assert_eq!(*count, 1);
        }
        other => panic!("expected Error::Strict, got {other:?}"),
    }
    assert!(error.to_string().contains("--strict"), "{error}");
    assert!(matches!(
        f.node.get("szigoru-1", Audience::Operator),
        Err(Error::NotFound(_))
    ));
    assert!(f.search("bekerülnie").is_empty());

    let csv = "indicator,settlement,period,value,unit\n\
nepesseg,Szendrő,2021,4123,fő\n\
nepesseg,Nyomár,2021,sok,fő\n";
    let (_, result) = f.try_import("szigoru.csv", csv, &strict);
    assert!(
        matches!(result, Err(Error::Strict { count: 1, .. })),
        "{result:?}"
    );

    let after = f.node.stats().expect("stats");
    assert_eq!(after.documents, before.documents);
    assert_eq!(after.observations, before.observations);
    assert_eq!(after.generation, before.generation);
    f.assert_base_intact();

    // A clean file passes --strict.
    let (_, result) = f.try_import(
        "tiszta.jsonl",
        jsonl([doc("tiszta", "Tiszta", "Hibátlan.")]),
        &strict,
    );
    assert_eq!(result.expect("clean file").added, 1);
}

#[test]
fn reimport_is_unchanged_and_update_is_counted() {
    let f = Fixture::new();
    let generation = f.node.generation().expect("generation");
    let path = f.write("alap.jsonl", base_documents());
    let report = import(&f.node, &path);
    assert_eq!(
        (
            report.added,
            report.updated,
            report.unchanged,
            report.rejected
        ),
        (0, 0, 3, 0)
    );
    assert_eq!(f.node.generation().expect("generation"), generation);

    // The same observations again: unchanged too.
    let report = f.import("alap-adatok.csv", BASE_OBSERVATIONS);
    assert_eq!((report.added, report.updated, report.unchanged), (0, 0, 2));

    // One document changed.
    let changed =
        base_documents().replace("Az első alapdokumentum", "Az átírt első alapdokumentum");
    let report = f.import("alap.jsonl", changed);
    assert_eq!(
        (
            report.added,
            report.updated,
            report.unchanged,
            report.rejected
        ),
        (0, 1, 2, 0)
    );
    assert_eq!(f.node.generation().expect("generation"), generation + 1);
    assert_eq!(f.search("átírt"), vec!["alap-1"]);
    // Replaced in the index, not duplicated.
    f.assert_base_intact();

    // One observation changed.
    let report = f.import("alap-adatok.csv", BASE_OBSERVATIONS.replace("9800", "9801"));
    assert_eq!((report.added, report.updated, report.unchanged), (0, 1, 1));
}

/// Copies the files of a (flat) tantivy index folder.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating the copy");
    for entry in std::fs::read_dir(from).expect("reading the index folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copying");
        }
    }
}

#[test]
fn index_behind_the_store_is_repaired_at_open() {
    let folder = NodeDir::init("osszeomlas");
    let files = Files::new();
    let index = folder.path().join("index");
    let saved = files.path().join("index-mentes");

    let node = folder.open();
    import(&node, &files.write("alap.jsonl", base_documents()));
    drop(node);
    // The index as it was before the second import.
    copy_dir(&index, &saved);

    let node = folder.open();
    let report = import(
        &node,
        &files.write(
            "uj.jsonl",
            jsonl([
                doc("uj-1", "Új tartalom", "Összeomlás utáni dokumentum."),
                doc("uj-2", "Új tartalom", "Összeomlás utáni dokumentum."),
            ]),
        ),
    );
    assert_eq!(report.added, 2);
    let generation = node.generation().expect("generation");
    drop(node);

    // A crash after the store committed the second import, before the index
    // did: the index on disk is the older one.
    std::fs::remove_dir_all(&index).expect("removing the index");
    copy_dir(&saved, &index);
    let node = folder.open();
    assert_eq!(node.generation().expect("generation"), generation);
    assert_eq!(search(&node, "összeomlás"), vec!["uj-1", "uj-2"]);
    assert_eq!(
        search(&node, "alapdokumentum"),
        vec!["alap-1", "alap-2", "alap-3"]
    );
    assert_eq!(
        node.visible_documents(Audience::Operator).expect("count"),
        5
    );
    drop(node);

    // The index lost altogether.
    std::fs::remove_dir_all(&index).expect("removing the index");
    let node = folder.open();
    assert_eq!(search(&node, "összeomlás"), vec!["uj-1", "uj-2"]);
    assert_eq!(
        node.visible_documents(Audience::Operator).expect("count"),
        5
    );
    drop(node);

    // An index folder with garbage in it.
    std::fs::remove_dir_all(&index).expect("removing the index");
    std::fs::create_dir_all(&index).expect("index folder");
    std::fs::write(index.join("meta.json"), "{ nem json").expect("garbage");
    let node = folder.open();
    assert_eq!(search(&node, "összeomlás"), vec!["uj-1", "uj-2"]);
    assert_eq!(
        search(&node, "alapdokumentum"),
        vec!["alap-1", "alap-2", "alap-3"]
    );
}

#[test]
fn reindex_returns_the_document_count() {
    let f = Fixture::new();
    assert_eq!(f.node.reindex().expect("reindex"), 3);
    f.import(
        "tobb.jsonl",
        jsonl((0..5).map(|i| doc(&format!("t-{i}"), "Pótlás", "Pótlólagos anyag."))),
    );
    assert_eq!(f.node.reindex().expect("reindex"), 8);
    assert_eq!(
        f.search("pótlólagos"),
        vec!["t-0", "t-1", "t-2", "t-3", "t-4"]
    );
    f.assert_base_intact();
}

#[test]
fn a_second_open_of_a_live_node_is_refused() {
    let f = Fixture::new();
    let error = Node::open(f.folder.path()).expect_err("the data folder is in use");
    assert!(matches!(error, Error::Locked { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("in use"), "{message}");
    assert!(
        message.contains(&f.folder.path().display().to_string()),
        "{message}"
    );
    assert_eq!(error.code(), tonic::Code::Unavailable);
    // The first one is unharmed.
    f.assert_base_intact();
    let Fixture { folder, node, .. } = f;
    drop(node);
    // Once it is closed, the folder opens again.
    let node = folder.open();
    assert_eq!(search(&node, "alapdokumentum").len(), 3);
}

#[test]
fn turning_a_document_local_withdraws_it_from_the_federation() {
    let f = Fixture::new();
    let federation = |text: &str| {
        f.node
            .search(
                &SearchQuery {
                    text: text.to_string(),
                    limit: 50,
                    ..SearchQuery::default()
                },
                Audience::Federation,
                None,
            )
            .expect("search")
    };
    let visible = f
        .node
        .visible_documents(Audience::Federation)
        .expect("count");
    assert_eq!(visible, 2);
    assert_eq!(federation("alapdokumentum").total, 2);

    let changed = base_documents().replace(
        r#""id":"alap-1","title":"Alapdokumentum egy","body":"Az első alapdokumentum a kistérségről.","kind":"report","year":2020"#,
        r#""id":"alap-1","title":"Alapdokumentum egy","body":"Az első alapdokumentum a kistérségről.","kind":"report","year":2020,"visibility":"local""#,
    );
    assert_ne!(changed, base_documents(), "the fixture text changed");
    let report = f.import("alap.jsonl", changed);
    assert_eq!((report.updated, report.unchanged), (1, 2));
    assert_eq!(
        f.node
            .visible_documents(Audience::Federation)
            .expect("count"),
        1
    );
    let results = federation("alapdokumentum");
    assert_eq!(results.total, 1);
    assert_eq!(results.hits[0].id, "alap-2");
    assert!(matches!(
        f.node.get("alap-1", Audience::Federation),
        Err(Error::NotFound(_))
    ));
    // The operator still has it.
    f.assert_base_intact();
}

/// How many documents match `text` for the operator.
fn total(node: &Node, text: &str) -> u64 {
    let query = SearchQuery {
        text: text.to_string(),
        limit: 1,
        ..SearchQuery::default()
    };
    node.search(&query, Audience::Operator, None)
        .unwrap_or_else(|e| panic!("search {text:?}: {e}"))
        .total
}

/// A file of `count` documents `sok-00000`…, several import batches long.
fn many_documents(count: usize, word: &str) -> String {
    jsonl((0..count).map(|i| {
        doc(
            &format!("sok-{i:05}"),
            &format!("Sok dokumentum {i}"),
            &format!("{word} tartalom, {i}. darab."),
        )
    }))
}

#[test]
fn strict_refuses_a_long_file_with_a_bad_line_near_its_end() {
    let f = Fixture::new();
    let before = f.node.stats().expect("stats");
    let mut text = many_documents(3_500, "szigorú");
    // Line 3,401, long after the first batches were read and staged.
    let at = text
        .match_indices('\n')
        .nth(3_399)
        .map(|(i, _)| i + 1)
        .expect("line 3,400");
    text.insert_str(
        at,
        "{\"id\":\"rossz\",\"title\":\"t\",\"body\":\"b\",\"year\":\"2014.\"}\n",
    );
    let strict = ImportOptions {
        strict: true,
        ..ImportOptions::default()
    };
    let (path, result) = f.try_import("hosszu-szigoru.jsonl", &text, &strict);
    match result {
        Err(Error::Strict { file, count }) => {
            assert_eq!(file, path.display().to_string());
            assert_eq!(count, 1);
        }
        other => panic!("expected Error::Strict, got {other:?}"),
    }
    let after = f.node.stats().expect("stats");
    assert_eq!(after.documents, before.documents);
    assert_eq!(after.generation, before.generation);
    assert_eq!(total(&f.node, "szigorú"), 0);
    assert!(matches!(
        f.node.get("sok-00000", Audience::Operator),
        Err(Error::NotFound(_))
    ));
    f.assert_base_intact();

    // Without --strict the same file lands, all but the bad line.
    let report = import(&f.node, &path);
    assert_eq!((report.added, report.rejected), (3_500, 1), "{report:?}");
    assert_eq!(report.rejections[0].line, 3_401);
    assert_eq!(
        f.node.generation().expect("generation"),
        before.generation + 1
    );
}

#[test]
fn a_file_of_many_batches_lands_whole_and_reimports_unchanged() {
    let f = Fixture::new();
    let generation = f.node.generation().expect("generation");
    let mut text = many_documents(3_500, "tömeges");
    // A duplicate in a later batch points at the first line of its id.
    text.push_str(&line(doc("sok-00007", "Másodszor", "Elveszik.")));
    text.push('\n');
    let path = f.write("sok.jsonl", &text);
    let report = import(&f.node, &path);
    assert_eq!(
        (report.added, report.updated, report.unchanged),
        (3_500, 0, 0)
    );
    let message = only_rejection(&report, &path, 3_501);
    assert!(message.contains("first at line 8"), "{message}");
    assert_eq!(f.node.generation().expect("generation"), generation + 1);
    assert_eq!(
        f.node.visible_documents(Audience::Operator).expect("count"),
        3_503
    );
    assert_eq!(total(&f.node, "tömeges"), 3_500);
    assert_eq!(
        f.node
            .get("sok-00007", Audience::Operator)
            .expect("sok-00007")
            .title,
        "Sok dokumentum 7"
    );

    // The same file again: everything unchanged, no new generation.
    let report = import(&f.node, &path);
    assert_eq!(
        (
            report.added,
            report.updated,
            report.unchanged,
            report.rejected
        ),
        (0, 0, 3_500, 1)
    );
    assert_eq!(f.node.generation().expect("generation"), generation + 1);

    // Two documents changed, far apart: updated in store and index.
    let changed = text
        .replace("tömeges tartalom, 5. darab", "átírt tartalom, 5. darab")
        .replace(
            "tömeges tartalom, 3499. darab",
            "átírt tartalom, 3499. darab",
        );
    let report = f.import("sok.jsonl", changed);
    assert_eq!(
        (report.added, report.updated, report.unchanged),
        (0, 2, 3_498)
    );
    assert_eq!(f.node.generation().expect("generation"), generation + 2);
    assert_eq!(f.search("átírt"), vec!["sok-00005", "sok-03499"]);
    assert_eq!(
        f.node.visible_documents(Audience::Operator).expect("count"),
        3_503
    );
    f.assert_base_intact();
}

#[test]
fn docx_lands_searchable_next_to_a_bad_one_through_the_cli() {
    let Fixture {
        folder,
        files,
        node,
    } = Fixture::new();
    drop(node);
    let good = files.write(
        "erdogazdalkodas.docx",
        docx(
            &[
                "Erdőgazdálkodási terv",
                "A tűzifa és a bükkös erdő hasznosítása Szendrőn.",
            ],
            "visszavont mondat",
        ),
    );
    let mut truncated = docx(&["Csonka dokumentum"], "");
    truncated.truncate(truncated.len() / 2);
    let bad = files.write("csonka.docx", truncated);
    let data = folder.path().to_str().expect("path");
    let (code, out) = node_cli(&[
        "import",
        "--data",
        data,
        "--json",
        "--kind",
        "strategy",
        "--year",
        "2021",
        good.to_str().expect("path"),
        bad.to_str().expect("path"),
    ]);
    assert_eq!(code, Some(1), "a file that could not be imported: {out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("import --json");
    assert_eq!(
        report["files"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(report["files"][0]["added"], 1, "{report}");
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!(errors[0]["file"], bad.display().to_string(), "{report}");
    assert_eq!(errors[0]["kind"], "corrupt", "{report}");
    let error = errors[0]["message"].as_str().expect("message");
    assert!(
        error.starts_with(&format!("{}: corrupt: ", bad.display())),
        "{error}"
    );

    let f = Fixture {
        node: folder.open(),
        folder,
        files,
    };
    f.assert_base_intact();
    assert_eq!(f.search("tűzifa"), vec!["erdogazdalkodas"]);
    assert_eq!(f.search("bükkös erdő"), vec!["erdogazdalkodas"]);
    assert!(f.search("visszavont").is_empty());
    let doc = f
        .node
        .get("erdogazdalkodas", Audience::Operator)
        .expect("the DOCX document");
    assert_eq!(doc.title, "Erdőgazdálkodási terv");
    assert_eq!(doc.year, Some(2021));
    assert_eq!(doc.kind, tudashalo_core::model::Kind::Strategy);
}
