//! The register through `Node::import_file`: references against the store,
//! `--strict` refusing a file whole, idempotent re-imports, documents files
//! still documents, reserved document ids, and search finding developments.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use super::*;
use tudashalo_core::search::{Audience, SearchQuery};

struct Folder {
    dir: tempfile::TempDir,
    node: Node,
}

impl Folder {
    fn new() -> Folder {
        let dir = tempfile::tempdir().unwrap();
        Node::init(dir.path(), "proba", None).unwrap();
        let node = Node::open(dir.path()).unwrap();
        Folder { dir, node }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn import(&self, name: &str, text: &str, strict: bool) -> Result<FileReport> {
        let options = ImportOptions {
            strict,
            ..ImportOptions::default()
        };
        self.node
            .import_file(&self.write(name, text), &options, &|_| {})
    }
}

const ORGS: &str = "id;név;jogi forma;székhely\n\
                    o1;Tiszakécske Város Önkormányzata;települési önkormányzat;Tiszakécske\n\
                    o2;Kécskei Civil Egyesület;civil;Tiszakécske\n";

const DEVS: &str = r#"{"id":"EFOP-1.5.2-16-2017-00041","title":"Humán szolgáltatások fejlesztése Kecskeméten","programme":"EFOP","beneficiary":"o1","consortium":[{"organisation":"o1","role":"lead"},{"organisation":"o2","role":"member"}],"settlements":["Tiszakécske"],"status":"closed","support":100000000,"total_cost":120000000}
{"id":"TOP-9","title":"Ismeretlen kedvezményezett","programme":"TOP","beneficiary":"o-99","settlements":["Tiszakécske"],"status":"planned"}
"#;

#[test]
fn organisations_then_developments_are_stored_searched_and_idempotent() {
    let folder = Folder::new();
    let orgs = folder.import("szervezetek.csv", ORGS, false).unwrap();
    assert_eq!(
        (orgs.kind, orgs.added, orgs.rejected),
        ("organisations", 2, 0)
    );
    let devs = folder.import("fejlesztesek.jsonl", DEVS, false).unwrap();
    assert_eq!(
        (devs.kind, devs.added, devs.rejected),
        ("developments", 1, 1)
    );
    assert_eq!(
        devs.rejections[0].to_string(),
        format!(
            "{}:2: field \"beneficiary\": organisation \"o-99\" is not in the register (import the organisations first)",
            folder.dir.path().join("fejlesztesek.jsonl").display()
        )
    );
    assert_eq!(devs.rejections[0].field.as_deref(), Some("beneficiary"));

    let query = SearchQuery {
        text: "Humán szolgáltatások fejlesztése".to_string(),
        limit: 10,
        ..SearchQuery::default()
    };
    let found = folder
        .node
        .search(&query, Audience::Operator, None)
        .unwrap();
    assert!(
        found
            .hits
            .iter()
            .any(|h| h.id == "development:EFOP-1.5.2-16-2017-00041"),
        "{:?}",
        found.hits
    );

    // The same files again: nothing changes.
    let again = folder.import("szervezetek.csv", ORGS, false).unwrap();
    assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 2));
    let again = folder.import("fejlesztesek.jsonl", DEVS, false).unwrap();
    assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 1));
    assert_eq!(
        folder.node.store.register_counts().unwrap(),
        [2, 0, 1, 0, 0]
    );
}

#[test]
fn strict_refuses_a_file_with_an_unknown_reference_and_stores_nothing() {
    let folder = Folder::new();
    folder.import("szervezetek.csv", ORGS, false).unwrap();
    let err = folder.import("fejlesztesek.jsonl", DEVS, true).unwrap_err();
    assert!(matches!(err, Error::Strict { count: 1, .. }), "{err}");
    assert_eq!(
        folder.node.store.register_counts().unwrap(),
        [2, 0, 0, 0, 0]
    );

    let contacts = "szervezet,név,e-mail\no1,Kiss Anna,kiss@tiszakecske.hu\no9,Nagy Béla,\n";
    let err = folder
        .import("kapcsolatok.csv", contacts, true)
        .unwrap_err();
    assert!(matches!(err, Error::Strict { count: 1, .. }), "{err}");
    assert_eq!(
        folder.node.store.register_counts().unwrap(),
        [2, 0, 0, 0, 0]
    );
    let report = folder.import("kapcsolatok.csv", contacts, false).unwrap();
    assert_eq!(
        (report.kind, report.added, report.rejected),
        ("contacts", 1, 1)
    );
    assert_eq!(folder.node.store.contacts_of("o1").unwrap().len(), 1);
}

#[test]
fn indicators_and_groups_need_what_they_name() {
    let folder = Folder::new();
    folder.import("szervezetek.csv", ORGS, false).unwrap();
    folder.import("fejlesztesek.jsonl", DEVS, false).unwrap();
    let docs = folder
        .import(
            "jegyzokonyvek.jsonl",
            "{\"id\":\"jkv-1\",\"title\":\"Jegyzőkönyv\",\"body\":\"Az ülés\"}\n",
            false,
        )
        .unwrap();
    assert_eq!((docs.kind, docs.added), ("documents", 1));
    let indicators = "development,indicator,name,type,unit,target,period,achieved\n\
                      EFOP-1.5.2-16-2017-00041,PR1,Résztvevők,result,fő,100,2018,50\n\
                      EFOP-1.5.2-16-2017-00041,PR1,,,,,2019,120\n\
                      TOP-9,PR1,Résztvevők,result,fő,100,,\n";
    let report = folder.import("mutatok.csv", indicators, false).unwrap();
    assert_eq!(
        (report.kind, report.added, report.rejected),
        ("project_indicators", 1, 1)
    );
    let groups = "id;name;theme;members;meetings;status\n\
                  g1;Vízügyi munkacsoport;víz;o1;2021-03-04 Alakuló ülés [jkv-1];active\n\
                  g2;Másik;víz;o1;2021-03-04 Ülés [jkv-2];active\n";
    let report = folder.import("csoportok.csv", groups, false).unwrap();
    assert_eq!(
        (report.kind, report.added, report.rejected),
        ("groups", 1, 1)
    );
    assert_eq!(report.rejections[0].field.as_deref(), Some("meetings"));
    assert_eq!(
        folder.node.store.register_counts().unwrap(),
        [2, 0, 1, 1, 1]
    );
}

#[test]
fn documents_stay_documents_and_may_not_take_a_register_prefix() {
    let folder = Folder::new();
    let text = "{\"id\":\"d1\",\"title\":\"Terv\",\"body\":\"Szöveg\"}\n\
                {\"id\":\"development:x\",\"title\":\"Terv\",\"body\":\"Szöveg\"}\n";
    let report = folder.import("dokumentumok.jsonl", text, false).unwrap();
    assert_eq!(
        (report.kind, report.added, report.rejected),
        ("documents", 1, 1)
    );
    assert_eq!(
        report.rejections[0].reason,
        "field \"id\": \"development:x\" starts with \"development:\", which names register records"
    );
    let path = folder.write("x.jsonl", text);
    assert_eq!(
        folder
            .node
            .detect(&path, &ImportOptions::default())
            .unwrap(),
        FileFormat::Documents
    );
    let path = folder.write("y.jsonl", DEVS);
    assert_eq!(
        folder
            .node
            .detect(&path, &ImportOptions::default())
            .unwrap(),
        FileFormat::Register(import::RegisterKind::Developments)
    );
}
