//! The `tudashalo-node` command line, run as a real process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::{Value, json};

use super::support::{Files, doc, jsonl};

/// The `tudashalo-node` binary next to this test executable
/// (`target/<profile>/`), built first so that it matches the sources.
///
/// `CARGO_BIN_EXE_*` only exists for binaries of the test's own package, so
/// the binary is found from the test executable
/// (`target/<profile>/deps/e2e-…`) instead.
fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| super::support::workspace_binary("tudashalo-node"))
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(binary())
        .args(args)
        .env("TUDASHALO_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("running tudashalo-node {args:?}: {e}"));
    Run {
        code: status.code(),
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

fn ok(args: &[&str]) -> Run {
    let out = run(args);
    assert_eq!(
        out.code,
        Some(0),
        "tudashalo-node {args:?}\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    out
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

#[test]
fn init_import_search_get_stats() {
    let files = Files::new();
    let data = files.path().join("adat");
    let data_arg = data.to_str().expect("UTF-8 path");

    let out = ok(&[
        "init",
        "--data",
        data_arg,
        "--name",
        "cliteszt",
        "--display-name",
        "CLI Teszt",
    ]);
    assert!(out.stdout.contains("node.toml"), "{}", out.stdout);
    // A second init refuses to overwrite.
    let again = run(&["init", "--data", data_arg, "--name", "cliteszt"]);
    assert_eq!(again.code, Some(1), "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);

    let documents = files.write(
        "dokumentumok.jsonl",
        jsonl([
            json!({
                "id": "strat",
                "title": "Fejlesztési stratégia",
                "body": "A kistérség fejlesztési irányai.",
                "kind": "strategy",
                "settlements": ["Edelény"],
                "year": 2021,
                "forras": "KSH",
                "oldal": 12
            }),
            json!({
                "id": "helyi",
                "title": "Helyi jegyzet",
                "body": "Fejlesztések, csak itt.",
                "visibility": "local"
            }),
            json!({"id": "rossz", "title": "t", "body": "b", "year": "2014."}),
        ]),
    );
    let documents_arg = documents.to_str().expect("UTF-8 path");

    // A rejected line: exit code 2, the line on stderr as file:line: reason.
    let out = run(&["import", "--data", data_arg, documents_arg]);
    assert_eq!(
        out.code,
        Some(2),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    let expected =
        format!("{documents_arg}:3: field \"year\": expected an integer, found \"2014.\"");
    assert!(
        out.stderr.lines().any(|l| l == expected),
        "no line {expected:?} in stderr:\n{}",
        out.stderr
    );
    assert!(out.stdout.contains("2 added"), "{}", out.stdout);

    // The same with --json: a report per file.
    let out = run(&["import", "--data", data_arg, "--json", documents_arg]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let report = json_of(&out);
    assert_eq!(report["totals"]["unchanged"], 2);
    assert_eq!(report["totals"]["rejected"], 1);
    assert_eq!(report["files"][0]["rejections"][0]["line"], 3);
    assert_eq!(report["files"][0]["rejections"][0]["field"], "year");

    // A clean import exits 0; an empty file is a failed file, exit 1.
    let clean = files.write(
        "tiszta.jsonl",
        jsonl([doc("tiszta", "Tiszta", "Hibátlan sor.")]),
    );
    ok(&[
        "import",
        "--data",
        data_arg,
        clean.to_str().expect("UTF-8 path"),
    ]);
    let empty = files.write("ures.jsonl", "");
    let out = run(&[
        "import",
        "--data",
        data_arg,
        empty.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("empty"), "{}", out.stderr);

    // The operator's search sees local documents too.
    let out = ok(&["search", "--data", data_arg, "--json", "fejlesztések"]);
    let results = json_of(&out);
    assert_eq!(results["total"], 2, "{results}");
    let mut ids: Vec<&str> = results["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_str().expect("id"))
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["helyi", "strat"]);
    let facets = results["facets"].as_array().expect("facets");
    let names: Vec<&str> = facets
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        vec!["kind", "sector", "settlement", "entity", "year"]
    );
    let out = ok(&[
        "search",
        "--data",
        data_arg,
        "--json",
        "--settlement",
        "edeleny",
        "fejlesztési",
    ]);
    assert_eq!(json_of(&out)["hits"][0]["id"], "strat");

    // Almost nothing found: other spellings from the documents' own words,
    // accents restored, typos mended, in text and in --json.
    let out = ok(&["search", "--data", data_arg, "kisterseg iranyai"]);
    assert!(
        out.stdout.contains("did you mean: kistérség irányai"),
        "{}",
        out.stdout
    );
    let out = ok(&["search", "--data", data_arg, "--json", "kistersg"]);
    let results = json_of(&out);
    assert_eq!(results["total"], 0, "{results}");
    assert_eq!(results["suggestions"][0]["word"], "kistersg", "{results}");
    assert_eq!(results["suggestions"][0]["replacement"], "kistérség");
    assert_eq!(results["suggestions"][0]["distance"], 1);
    assert_eq!(results["suggested_query"], "kistérség");

    // get --json: the document as imported, unknown fields at the top level.
    let out = ok(&["get", "--data", data_arg, "--json", "strat"]);
    let document = json_of(&out);
    assert_eq!(document["id"], "strat");
    assert_eq!(document["kind"], "strategy");
    assert_eq!(document["year"], 2021);
    assert_eq!(document["forras"], "KSH");
    assert_eq!(document["oldal"], 12);
    assert!(document.get("extra").is_none(), "{document}");
    let out = run(&["get", "--data", data_arg, "--json", "nincs"]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("not found"), "{}", out.stderr);

    let out = ok(&["stats", "--data", data_arg, "--json"]);
    let stats = json_of(&out);
    assert_eq!(stats["name"], "cliteszt");
    assert_eq!(stats["display_name"], "CLI Teszt");
    assert_eq!(stats["documents"], 3);
    assert_eq!(stats["documents_by_visibility"]["local"], 1);
    assert_eq!(stats["documents_by_visibility"]["federated"], 2);
    assert_eq!(stats["observations"], 0);
    assert_eq!(stats["generation"], 2);

    let out = ok(&["reindex", "--data", data_arg]);
    assert!(
        out.stdout.contains("reindexed 3 documents"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_node_in_use_is_reported_plainly() {
    let files = Files::new();
    let data = files.path().join("adat");
    let data_arg = data.to_str().expect("UTF-8 path");
    ok(&["init", "--data", data_arg, "--name", "foglalt"]);
    let node = tudashalo_node::Node::open(&data).expect("open");
    let out = run(&["stats", "--data", data_arg]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(out.stderr.contains("in use"), "{}", out.stderr);
    drop(node);
    ok(&["stats", "--data", data_arg]);
}
