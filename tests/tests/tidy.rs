//! Tidy: the rules of ARCHITECTURE.md that the build can check.
//!
//! - **The crate graph states the architecture.** The hub, the domain crate
//!   and the PKI tooling cannot store or index a record: neither `sled` nor
//!   `tantivy` is among their (transitive, normal) dependencies, and none of
//!   them depends on the node. The contract depends on no crate of ours.
//!   Read from `cargo metadata`, so an indirect edge counts as much as a
//!   direct one (`cargo tree -p tudashalo-hub -i tantivy` prints nothing).
//! - **Every module says what it is for**: each `.rs` file of the workspace
//!   starts with a `//!` header.
//! - **Files stay readable**: at most [`MAX_LINES`] lines of non-test code
//!   per file (integration-test suites are all test code), unless ARCHITECTURE.md's "Long files" section names the file
//!   and says why.
//!
//! Like rust-analyzer's tidy tests, these fail with a list of every
//! offence, so one run shows all there is to fix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Lines of non-test code (before a file's first `#[cfg(test)]`) a file may
/// have without a reason in ARCHITECTURE.md.
const MAX_LINES: usize = 800;

/// The crates that must never be able to hold a raw record, with what they
/// must not reach.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "tudashalo-proto",
        &[
            "tudashalo-core",
            "tudashalo-node",
            "tudashalo-hub",
            "tudashalo-pki",
            "sled",
            "tantivy",
        ],
    ),
    (
        "tudashalo-core",
        &["tudashalo-node", "tudashalo-hub", "sled", "tantivy"],
    ),
    ("tudashalo-hub", &["tudashalo-node", "sled", "tantivy"]),
    (
        "tudashalo-morph",
        &["tudashalo-node", "tudashalo-hub", "sled", "tantivy"],
    ),
    (
        "tudashalo-pki",
        &["tudashalo-node", "tudashalo-hub", "sled", "tantivy"],
    ),
    ("tudashalo-node", &["tudashalo-hub", "tudashalo-demo"]),
    // The portal renders what a backend answers: it can neither store nor
    // index a record, and it knows neither the hub nor the node.
    (
        "tudashalo-portal",
        &["tudashalo-node", "tudashalo-hub", "sled", "tantivy"],
    ),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// Package name → the names of its normal (not dev, not build)
/// dependencies, as cargo resolved them.
fn normal_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only this platform's dependencies: the others need not be downloaded,
    // and the rules hold per platform anyway.
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("running rustc -vV");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", &host])
        .current_dir(workspace())
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let name_of: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    let mut graph = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().expect("resolve") {
        let name = name_of[node["id"].as_str().expect("id")].to_string();
        let deps: BTreeSet<String> = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .expect("dep_kinds")
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| name_of[d["pkg"].as_str().expect("pkg")].to_string())
            .collect();
        graph.entry(name).or_insert_with(BTreeSet::new).extend(deps);
    }
    graph
}

/// Every package `from` reaches through normal dependencies, with the path
/// by which it first reaches it.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeMap<String, String> {
    let mut seen = BTreeMap::new();
    let mut stack = vec![(from.to_string(), from.to_string())];
    while let Some((name, path)) = stack.pop() {
        for dep in graph.get(&name).into_iter().flatten() {
            if !seen.contains_key(dep) {
                let via = format!("{path} → {dep}");
                seen.insert(dep.clone(), via.clone());
                stack.push((dep.clone(), via));
            }
        }
    }
    seen
}

#[test]
fn no_forbidden_dependency_edges() {
    let graph = normal_dependencies();
    // The graph is read right only if it shows the edges that must exist.
    let node = reachable(&graph, "tudashalo-node");
    for needed in ["tudashalo-core", "tudashalo-proto", "sled", "tantivy"] {
        assert!(
            node.contains_key(needed),
            "the node reaches {needed}: {node:?}"
        );
    }
    let mut offences = Vec::new();
    for (krate, forbidden) in FORBIDDEN {
        assert!(
            graph.contains_key(*krate),
            "{krate} is not in the workspace"
        );
        let reached = reachable(&graph, krate);
        for f in *forbidden {
            if let Some(path) = reached.get(*f) {
                offences.push(format!("{krate} must not depend on {f}: {path}"));
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

/// The workspace's Rust files, as git knows them (so `target/` and stray
/// files are not read).
fn rust_files() -> Vec<PathBuf> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "*.rs",
        ])
        .current_dir(workspace())
        .output()
        .expect("running git ls-files");
    assert!(output.status.success(), "git ls-files failed");
    let files: Vec<PathBuf> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(PathBuf::from)
        .filter(|p| workspace().join(p).exists())
        .collect();
    assert!(files.len() > 50, "found only {} Rust files", files.len());
    files
}

#[test]
fn every_module_has_a_header() {
    let mut missing = Vec::new();
    for file in rust_files() {
        let text = std::fs::read_to_string(workspace().join(&file)).expect("readable");
        if !text.trim_start().starts_with("//!") {
            missing.push(file.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "these files lack a `//!` header saying what they own:\n{}",
        missing.join("\n")
    );
}

/// The files ARCHITECTURE.md's "Long files" section excuses: the first
/// `code span` of each list item.
fn excused() -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(workspace().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let Some(section) = text.split("\n## Long files").nth(1) else {
        return BTreeSet::new();
    };
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn no_file_is_too_long() {
    let excused = excused();
    let mut long = Vec::new();
    // Integration-test suites (`*/tests/…`) are test code throughout.
    let suites = |f: &Path| f.components().any(|c| c.as_os_str() == "tests");
    for file in rust_files().into_iter().filter(|f| !suites(f)) {
        let text = std::fs::read_to_string(workspace().join(&file)).expect("readable");
        let code = text
            .lines()
            .take_while(|l| l.trim() != "#[cfg(test)]")
            .count();
        let name = file.display().to_string();
        if code > MAX_LINES && !excused.contains(&name) {
            long.push(format!("{name}: {code} lines of non-test code"));
        }
    }
    assert!(
        long.is_empty(),
        "split these by concern, or say in ARCHITECTURE.md's \"Long files\" why not (at most {MAX_LINES} lines):\n{}",
        long.join("\n")
    );
}
