//! `tudashalo-node backup` of a node serving as a real process, with
//! searches going on, and `restore` into a new folder: the restored node,
//! served as a process again, gives the same answers (searches, a local
//! document to its operator, aggregates), and its audit chain, carried
//! across, verifies. A truncated or damaged backup is refused by name and
//! leaves nothing; a used folder is refused and kept as it was.

use std::path::Path;
use std::process::{Child, Command};

use serde_json::{Value, json};
use tudashalo_pki::Role;
use tudashalo_proto::pb;

use super::aggregate::{CATALOGUE, aggregate, csv_bytes, raw, request};
use super::support::{
    FIXTURE_POLICY, Files, NodeDir, Pki, client_as, doc, guard, import, jsonl, spawn_server,
    workspace_binary,
};

const NAME: &str = "alfa";
/// The centre's operator: sees everything, `local` documents included.
const OPERATOR: &str = "kozpont";

fn run(args: &[&str]) -> std::process::Output {
    Command::new(workspace_binary("tudashalo-node"))
        .args(args)
        .env("TUDASHALO_LOG", "warn")
        .output()
        .expect("run tudashalo-node")
}

/// Serves `data` as a process; returns it and its address.
fn serve(data: &Path, pki: &Pki) -> (Child, String) {
    let files = pki.files(NAME, Role::Node);
    let mut command = Command::new(workspace_binary("tudashalo-node"));
    command
        .args(["serve", "--data"])
        .arg(data)
        .args(["--listen", "127.0.0.1:0", "--cert"])
        .arg(&files.cert)
        .arg("--key")
        .arg(&files.key)
        .arg("--ca")
        .arg(&files.ca);
    let (child, found) = spawn_server(command, &["listening on "]);
    (child, found["listening on "].clone())
}

/// Everything the test compares between the original and the restored node.
async fn answers(url: &str, pki: &Pki) -> Value {
    let mut operator = client_as(url, pki, OPERATOR, Role::Operator).await;
    let mut out = Vec::new();
    for q in [
        "fejlesztés",
        "árvízvédelmi terv",
        "közösségi tér Edelényben",
        "",
    ] {
        let r = guard(
            "search",
            operator.search(pb::SearchRequest {
                query: q.into(),
                limit: 20,
                ..Default::default()
            }),
        )
        .await
        .expect("search")
        .into_inner();
        let hits: Vec<Value> = r
            .hits
            .iter()
            .map(|h| json!([h.id, h.title, format!("{:.6}", h.score)]))
            .collect();
        out.push(json!({"q": q, "total": r.total, "hits": hits}));
    }
    let local = guard(
        "get",
        operator.get_document(pb::GetDocumentRequest {
            id: "jkv-helyi".into(),
            member: String::new(),
        }),
    )
    .await
    .expect("the operator gets a local document")
    .into_inner();
    out.push(json!({"local_title": local.document.map(|d| d.title)}));
    let (cells, _) = aggregate(
        url,
        pki,
        request(&["nepesseg", "rata"], &["settlement", "period"]),
    )
    .await;
    let mut cells: Vec<String> = cells
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {:?} {}",
                c.indicator, c.settlement, c.period, c.value, c.status
            )
        })
        .collect();
    cells.sort();
    out.push(json!({"cells": cells}));
    json!(out)
}

fn node_with_data() -> NodeDir {
    let policy = FIXTURE_POLICY.replacen("[policy]", "[policy]\noperators = [\"kozpont\"]", 1);
    let dir = NodeDir::init_with_policy(NAME, &policy);
    let node = dir.open();
    let files = Files::new();
    let mut docs = vec![
        doc(
            "terv-1",
            "Településfejlesztési koncepció",
            "Közösségi tér Edelényben, kerékpárút és fejlesztés.",
        ),
        doc(
            "terv-2",
            "Árvízvédelmi terv",
            "A Bódva árvízvédelmi fejlesztése, őszi ütemezés.",
        ),
    ];
    let mut local = doc(
        "jkv-helyi",
        "Belső jegyzőkönyv",
        "Csak a központé: a fejlesztés ütemezése.",
    );
    local["visibility"] = json!("local");
    docs.push(local);
    for i in 0..60 {
        docs.push(doc(
            &format!("projekt-{i:02}"),
            &format!("Projekt {i}: fejlesztés"),
            &format!("Óvodafejlesztés és közösségi tér, {i}. ütem, árvízvédelmi munkák."),
        ));
    }
    import(&node, &files.write("docs.jsonl", jsonl(docs)));
    import(&node, &files.write("katalogus.csv", CATALOGUE));
    import(
        &node,
        &files.write("adatok.csv", csv_bytes(&raw()[NAME], false)),
    );
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_to_a_node_that_answers_the_same() {
    let pki = Pki::new();
    let original = node_with_data();
    let (mut serving, url) = serve(original.path(), &pki);
    let before = answers(&url, &pki).await;

    // Searches go on while the backup is taken; every one must succeed.
    let traffic = {
        let mut c = client_as(&url, &pki, OPERATOR, Role::Operator).await;
        tokio::spawn(async move {
            let mut n = 0;
            for i in 0..40 {
                let q = if i % 2 == 0 { "fejlesztés" } else { "árvíz" };
                c.search(pb::SearchRequest {
                    query: q.into(),
                    ..Default::default()
                })
                .await
                .expect("a search during the backup");
                n += 1;
            }
            n
        })
    };
    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join("alfa.thbak");
    let file_s = file.display().to_string();
    let data_s = original.path().display().to_string();
    let out = tokio::task::spawn_blocking({
        let (data_s, file_s) = (data_s.clone(), file_s.clone());
        move || run(&["backup", "--data", &data_s, "--out", &file_s, "--json"])
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("backup --json");
    assert_eq!(report["via"], "the serving node", "{report}");
    assert_eq!(report["backup"]["trees"]["docs"], 63, "{report}");
    assert_eq!(traffic.await.unwrap(), 40);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup holds keys and personal data");
    }

    // Without --force an existing file is kept.
    let again = run(&["backup", "--data", &data_s, "--out", &file_s]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));

    // Restored into a new folder while the original still serves.
    let restored = work.path().join("restored");
    let restored_s = restored.display().to_string();
    let out = run(&["restore", "--data", &restored_s, &file_s, "--json"]);
    assert!(
        out.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("restore --json");
    assert_eq!(report["audit"]["intact"], true, "{report}");
    let audit_entries = report["audit"]["entries"].as_u64().unwrap();
    assert!(
        audit_entries >= 7,
        "the requests before the backup are audited: {report}"
    );
    assert_eq!(report["documents_indexed"], 63, "{report}");

    let (mut second, second_url) = serve(&restored, &pki);
    let after = answers(&second_url, &pki).await;
    assert_eq!(before, after);
    let _ = second.kill();
    let _ = second.wait();
    // The chain goes on across the restore: the new requests verify too.
    let verify = run(&["audit", "--verify", "--json", "--data", &restored_s]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let _ = serving.kill();
    let _ = serving.wait();
}

#[test]
fn a_damaged_backup_or_a_used_folder_is_refused_and_nothing_changes() {
    let original = node_with_data();
    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join("alfa.thbak");
    let out = run(&[
        "backup",
        "--data",
        &original.path().display().to_string(),
        "--out",
        &file.display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("the data folder"));
    let bytes = std::fs::read(&file).unwrap();

    let truncated = work.path().join("truncated.thbak");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let target = work.path().join("target");
    let target_s = target.display().to_string();
    let out = run(&[
        "restore",
        "--data",
        &target_s,
        &truncated.display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("truncated.thbak") && stderr.contains("incomplete"),
        "{stderr}"
    );
    assert!(!target.exists());
    let check = run(&["restore", "--check", &truncated.display().to_string()]);
    assert!(!check.status.success());

    let mut flipped = bytes.clone();
    let at = flipped.len() / 3;
    flipped[at] ^= 0x40;
    let damaged = work.path().join("damaged.thbak");
    std::fs::write(&damaged, &flipped).unwrap();
    let out = run(&[
        "restore",
        "--data",
        &target_s,
        &damaged.display().to_string(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged.thbak"));
    assert!(!target.exists());

    let check = run(&["restore", "--check", "--json", &file.display().to_string()]);
    assert!(check.status.success());
    let summary: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(summary["backup"]["manifest"]["node"], NAME);

    // A used folder: refused before anything is read, and kept.
    let used = work.path().join("used");
    std::fs::create_dir_all(&used).unwrap();
    std::fs::write(used.join("node.toml"), "name = \"mas\"\n").unwrap();
    let out = run(&[
        "restore",
        "--data",
        &used.display().to_string(),
        &file.display().to_string(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(used.join("node.toml")).unwrap(),
        "name = \"mas\"\n"
    );
}
