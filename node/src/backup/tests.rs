//! Backups of a node in a temporary folder: taken while another thread
//! writes, restored, and refused when damaged or aimed at a used folder.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use tudashalo_core::model::Document;

use super::*;
use crate::node::{ImportOptions, Node};

fn node_in(dir: &Path) -> Node {
    Node::init(dir, "proba", Some("Próba kistérség")).unwrap();
    Node::open(dir).unwrap()
}

fn documents(batch: usize, n: usize) -> Vec<Document> {
    (0..n)
        .map(|i| {
            serde_json::from_value(json!({
                "id": format!("d{batch:04}-{i:02}"),
                "title": format!("Fejlesztési terv {batch}/{i}"),
                "body": "Őszi ütemezés, árvízvédelem és közösségi tér.",
                "kind": "project",
            }))
            .unwrap()
        })
        .collect()
}

fn backup_of(node: &Node, path: &Path) -> Summary {
    let file = std::fs::File::create(path).unwrap();
    node.backup(std::io::BufWriter::new(file))
        .unwrap()
        .into_inner()
        .unwrap()
        .sync_all()
        .unwrap();
    check(path, &|_| {}).unwrap()
}

#[test]
fn a_backup_taken_during_imports_holds_whole_imports() {
    const PER_IMPORT: usize = 25;
    let temp = tempfile::tempdir().unwrap();
    let node = Arc::new(node_in(&temp.path().join("node")));
    node.store()
        .upsert_documents(&documents(0, PER_IMPORT))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (node, stop) = (node.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut batch = 1;
            while !stop.load(Ordering::Relaxed) && batch < 400 {
                node.store()
                    .upsert_documents(&documents(batch, PER_IMPORT))
                    .unwrap();
                batch += 1;
            }
        })
    };
    // Several backups while the imports go on, each restored and opened.
    for round in 0..3 {
        let file = temp.path().join(format!("b{round}.thbak"));
        let summary = backup_of(&node, &file);
        let target = temp.path().join(format!("restored-{round}"));
        restore(&file, &target, &|_| {}).unwrap();
        let restored = Node::open(&target).unwrap();
        let count = restored.stats().unwrap().documents;
        assert_eq!(count % PER_IMPORT, 0, "round {round}: {count} documents");
        assert_eq!(
            restored.generation().unwrap() as usize,
            count / PER_IMPORT,
            "round {round}: the generation matches the imports in it"
        );
        assert_eq!(summary.manifest.node, "proba");
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

#[test]
fn a_restored_node_answers_as_the_original_and_has_a_new_identity() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("node");
    let node = node_in(&dir);
    let file = temp.path().join("docs.jsonl");
    let lines: Vec<String> = documents(1, 5)
        .iter()
        .map(|d| serde_json::to_string(d).unwrap())
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    node.import_file(&file, &ImportOptions::default(), &|_| {})
        .unwrap();
    let backup = temp.path().join("node.thbak");
    let summary = backup_of(&node, &backup);
    assert_eq!(summary.entries("docs"), 5);
    assert!(summary.contents.files >= 1, "node.toml is in it");

    let target = temp.path().join("back");
    restore(&backup, &target, &|_| {}).unwrap();
    let restored = Node::open(&target).unwrap();
    assert_eq!(
        std::fs::read(dir.join("node.toml")).unwrap(),
        std::fs::read(target.join("node.toml")).unwrap()
    );
    for id in ["d0001-00", "d0001-04"] {
        assert_eq!(
            node.store().document(id).unwrap(),
            restored.store().document(id).unwrap()
        );
    }
    assert_eq!(node.generation().unwrap(), restored.generation().unwrap());
    assert_ne!(
        node.store().identity().unwrap(),
        restored.store().identity().unwrap(),
        "a restored store is a new line of generations"
    );
}

#[test]
fn a_damaged_backup_leaves_nothing_and_a_used_folder_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let node = node_in(&temp.path().join("node"));
    node.store().upsert_documents(&documents(0, 40)).unwrap();
    let backup = temp.path().join("node.thbak");
    backup_of(&node, &backup);
    let bytes = std::fs::read(&backup).unwrap();

    let truncated = temp.path().join("truncated.thbak");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let target = temp.path().join("target");
    let e = restore(&truncated, &target, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("truncated.thbak") && e.contains("incomplete"),
        "{e}"
    );
    assert!(!target.exists(), "nothing was created");
    let leftovers: Vec<_> = std::fs::read_dir(temp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restoring"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let damaged = temp.path().join("damaged.thbak");
    std::fs::write(&damaged, &flipped).unwrap();
    assert!(restore(&damaged, &target, &|_| {}).is_err());
    assert!(!target.exists());

    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("keep.txt"), "ne írd felül").unwrap();
    let e = restore(&backup, &target, &|_| {}).unwrap_err().to_string();
    assert!(e.contains("not empty"), "{e}");
    assert_eq!(
        std::fs::read_to_string(target.join("keep.txt")).unwrap(),
        "ne írd felül"
    );
}

#[test]
fn paths_outside_the_data_folder_are_refused() {
    for bad in [
        "",
        "../x",
        "/etc/passwd",
        "a/../../b",
        "store/db",
        "index/x",
        "a\\b",
        "./x",
    ] {
        assert!(safe_path(bad).is_none(), "{bad:?} accepted");
    }
    for good in ["node.toml", "originals/ab/abcd", "tls/node.key"] {
        assert!(safe_path(good).is_some(), "{good:?} refused");
    }
}

/// Documents long enough for the store to keep them compressed.
fn long_documents(n: usize) -> Vec<Document> {
    documents(7, n)
        .into_iter()
        .map(|mut d| {
            d.body = format!("{} {}", d.id, "Közösségi tér és árvízvédelem. ".repeat(40));
            d
        })
        .collect()
}

#[test]
fn a_backup_of_a_schema_2_store_is_upgraded_when_restored() {
    let temp = tempfile::tempdir().unwrap();
    let node = node_in(&temp.path().join("node"));
    let docs = long_documents(30);
    // The documents as schema 2 kept them: raw JSON.
    let tree = node.store().tree("docs").unwrap();
    for doc in &docs {
        tree.insert(doc.id.as_bytes(), serde_json::to_vec(doc).unwrap())
            .unwrap();
    }
    node.store().set_schema_version(2).unwrap();
    let backup = temp.path().join("v2.thbak");
    let summary = backup_of(&node, &backup);
    assert_eq!(summary.manifest.schema_version, 2);

    let target = temp.path().join("back");
    restore(&backup, &target, &|_| {}).unwrap();
    let restored = Node::open(&target).unwrap();
    assert_eq!(restored.store().schema_version().unwrap(), SCHEMA_VERSION);
    let back: Vec<Document> = restored.store().documents().collect::<Result<_>>().unwrap();
    assert_eq!(back, docs);
    let raw = restored.store().tree("docs").unwrap();
    for entry in raw.iter() {
        let (_, value) = entry.unwrap();
        assert_ne!(value.first(), Some(&b'{'), "rewritten compressed");
    }
}

#[test]
fn a_backup_taken_while_publishing_carries_the_staged_documents() {
    let temp = tempfile::tempdir().unwrap();
    let node = node_in(&temp.path().join("node"));
    let docs = long_documents(40);
    let mut import = node.store().begin_documents().unwrap();
    import.stage(&docs).unwrap();
    // The generation is bumped, 15 of the 40 are in `docs`, the rest only
    // in the staged file: the backup must carry them.
    import.crash_during_publish(15).unwrap();
    let backup = temp.path().join("mid.thbak");
    backup_of(&node, &backup);
    let target = temp.path().join("back");
    restore(&backup, &target, &|_| {}).unwrap();
    let restored = Node::open(&target).unwrap();
    let back: Vec<Document> = restored.store().documents().collect::<Result<_>>().unwrap();
    assert_eq!(back, docs);
    assert_eq!(restored.generation().unwrap(), 1);
    // And the original finishes its publish at its next open.
    drop(node);
    let reopened = Node::open(&temp.path().join("node")).unwrap();
    assert_eq!(reopened.store().document_count(), 40);
}
