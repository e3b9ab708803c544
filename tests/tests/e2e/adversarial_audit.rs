//! Issue #11, audit and visibility: a hostile caller's every request —
//! allowed, refused, malformed — ends in exactly one audit entry holding
//! every parameter that shaped the answer (bounded, truncation visible);
//! the log is kept to a bounded size behind a signed checkpoint that keeps
//! its chain verifiable; and re-importing a document never widens its
//! visibility silently.
//!
//! Entries are read as raw JSON from the node's sled tree (or from the CLI),
//! not through the `Entry` type, so that these tests also compile, and fail,
//! against the code before the fix.

use serde_json::{Value, json};
use tonic::Code;
use tonic::metadata::MetadataValue;
use tudashalo_core::model::Visibility;
use tudashalo_demo::config;
use tudashalo_node::Node;
use tudashalo_node::config::AuditConfig;
use tudashalo_node::import::TextMeta;
use tudashalo_node::node::ImportOptions;
use tudashalo_node::policy::{ON_BEHALF_OF_HEADER, VIA_HEADER};
use tudashalo_pki::Role;
use tudashalo_proto::pb;

use super::support::{
    Files, NodeDir, Pki, TestNode, client_as, doc, guard, import, import_with, jsonl, node_cli,
};

/// Every audit entry present, as stored (raw JSON), in sequence order.
fn raw_entries(node: &Node) -> Vec<Value> {
    node.audit()
        .tree()
        .iter()
        .map(|item| {
            let (_, value) = item.expect("audit tree");
            serde_json::from_slice(&value).expect("entry JSON")
        })
        .collect()
}

/// The last entry of `method`.
fn last_of(node: &Node, method: &str) -> Value {
    raw_entries(node)
        .into_iter()
        .rev()
        .find(|e| e["method"] == method)
        .unwrap_or_else(|| panic!("no {method} entry"))
}

fn corpus() -> String {
    jsonl([
        json!({"id": "a-1", "title": "Edelényi fejlesztés", "body": "Fejlesztési terv.", "settlements": ["Edelény"], "year": 2015}),
        json!({"id": "a-2", "title": "Szendrői fejlesztés", "body": "Fejlesztési jegyzet.", "settlements": ["Szendrő"], "year": 2019}),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_records_its_filters_range_paging_members_and_flags() {
    let pki = Pki::new();
    let node = TestNode::start(&pki, "edelenyi", &corpus()).await;
    let mut hub = client_as(&node.url, &pki, "regio", Role::Hub).await;
    let request = pb::SearchRequest {
        query: "fejlesztés".into(),
        filters: Some(pb::Filters {
            kinds: vec!["study".into()],
            sectors: vec!["víz".into()],
            settlements: vec!["Edelény".into(), "Szendrő".into()],
            year_from: Some(2010),
            year_to: Some(2020),
            ids: vec!["a-1".into()],
            ..pb::Filters::default()
        }),
        offset: 3,
        limit: 7,
        members: vec!["borsod/edelenyi".into()],
        no_snippets: true,
        no_facets: true,
        ids_only: true,
        stats: Some(pb::CorpusStats::default()),
        ..Default::default()
    };
    guard("search", hub.search(request.clone()))
        .await
        .expect("search");
    guard("term_stats", hub.term_stats(request))
        .await
        .expect("term_stats");

    for method in ["Search", "TermStats"] {
        let e = last_of(&node.node, method);
        assert_eq!(e["principal"], "hub:regio", "{e}");
        assert_eq!(e["query"], "fejlesztés");
        assert_eq!(e["outcome"], "ok", "{e}");
        let p = &e["params"];
        assert_eq!(p["settlements"], json!(["Edelény", "Szendrő"]), "{e}");
        assert_eq!(p["kinds"], json!(["study"]));
        assert_eq!(p["sectors"], json!(["víz"]));
        assert_eq!(p["ids"], json!(["a-1"]));
        assert_eq!(
            (&p["year_from"], &p["year_to"]),
            (&json!(2010), &json!(2020))
        );
        assert_eq!((&p["offset"], &p["limit"]), (&json!(3), &json!(7)));
        assert_eq!(p["members"], json!(["borsod/edelenyi"]));
        assert_eq!(p["ids_only"], true);
        assert_eq!(p["no_snippets"], true);
        assert_eq!(p["no_facets"], true);
        assert_eq!(p["stats"], true);
    }
    assert!(node.node.audit().verify().expect("verify").is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregate_records_settlements_period_range_totals_members_and_partials() {
    let pki = Pki::new();
    let node = TestNode::start(&pki, "edelenyi", "").await;
    let mut hub = client_as(&node.url, &pki, "regio", Role::Hub).await;
    let request = pb::AggregateRequest {
        indicators: vec!["nepesseg".into()],
        group_by: vec!["kisterseg".into(), "period".into()],
        period_from: "2010".into(),
        period_to: "2020".into(),
        settlements: vec!["Edelény".into(), "Szendrő".into()],
        totals: true,
        members: vec!["borsod/edelenyi".into()],
        partials: true,
    };
    // Whatever the answer (no observations here), the request is recorded.
    let _ = guard("aggregate", hub.aggregate(request)).await;
    let e = last_of(&node.node, "Aggregate");
    assert_eq!(e["principal"], "hub:regio", "{e}");
    assert_eq!(e["indicators"], json!(["nepesseg"]));
    assert_eq!(e["group_by"], json!(["kisterseg", "period"]));
    let p = &e["params"];
    assert_eq!(p["settlements"], json!(["Edelény", "Szendrő"]), "{e}");
    assert_eq!(
        (&p["period_from"], &p["period_to"]),
        (&json!("2010"), &json!("2020"))
    );
    assert_eq!(p["totals"], true);
    assert_eq!(p["partials"], true);
    assert_eq!(p["members"], json!(["borsod/edelenyi"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_as_malformed_are_recorded_with_their_principal() {
    let pki = Pki::new();
    let node = TestNode::start(&pki, "edelenyi", &corpus()).await;
    let mut hub = client_as(&node.url, &pki, "regio", Role::Hub).await;

    // An unknown grouping key: refused before the policy is asked.
    let status = guard(
        "aggregate",
        hub.aggregate(pb::AggregateRequest {
            indicators: vec!["nepesseg".into()],
            group_by: vec!["varos".into()],
            settlements: vec!["Edelény".into()],
            ..Default::default()
        }),
    )
    .await
    .expect_err("unknown group_by");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let entries = raw_entries(&node.node);
    assert_eq!(entries.len(), 1, "exactly one entry: {entries:#?}");
    let e = &entries[0];
    assert_eq!(e["method"], "Aggregate");
    assert_eq!(e["principal"], "hub:regio", "{e}");
    assert_eq!(e["group_by"], json!(["varos"]));
    assert_eq!(e["params"]["settlements"], json!(["Edelény"]));
    let outcome = e["outcome"].as_str().expect("outcome");
    assert!(outcome.starts_with("invalid: "), "{outcome}");
    assert!(outcome.contains("varos"), "{outcome}");

    // A relay header sent twice: malformed, recorded with what was sent.
    let mut request = tonic::Request::new(pb::SearchRequest {
        query: "titok".into(),
        ..Default::default()
    });
    for value in ["national:ksh", "operator:edelenyi"] {
        request
            .metadata_mut()
            .append(ON_BEHALF_OF_HEADER, MetadataValue::from_static(value));
    }
    request
        .metadata_mut()
        .insert(VIA_HEADER, MetadataValue::from_static("orszagos"));
    let status = guard("search", hub.search(request))
        .await
        .expect_err("a repeated relay header");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let entries = raw_entries(&node.node);
    assert_eq!(entries.len(), 2, "exactly one more entry: {entries:#?}");
    let e = &entries[1];
    assert_eq!(e["method"], "Search");
    assert_eq!(e["principal"], "hub:regio");
    assert_eq!(e["query"], "titok");
    let outcome = e["outcome"].as_str().expect("outcome");
    assert!(
        outcome.starts_with("invalid: ") && outcome.contains(ON_BEHALF_OF_HEADER),
        "{outcome}"
    );
    assert_eq!(
        e["params"][ON_BEHALF_OF_HEADER],
        json!(["national:ksh", "operator:edelenyi"]),
        "{e}"
    );

    // A malformed search (an inverted year range): invalid, one entry.
    let status = guard(
        "search",
        hub.search(pb::SearchRequest {
            query: "fejlesztés".into(),
            filters: Some(pb::Filters {
                year_from: Some(2020),
                year_to: Some(2010),
                ..Default::default()
            }),
            ..Default::default()
        }),
    )
    .await
    .expect_err("year_from after year_to");
    assert_eq!(status.code(), Code::InvalidArgument);
    let entries = raw_entries(&node.node);
    assert_eq!(entries.len(), 3, "{entries:#?}");
    let outcome = entries[2]["outcome"].as_str().expect("outcome");
    assert!(outcome.starts_with("invalid: "), "{outcome}");
    assert_eq!(entries[2]["params"]["year_from"], 2020);
    assert!(node.node.audit().verify().expect("verify").is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_long_parameters_are_recorded_truncated_with_a_visible_marker() {
    let pki = Pki::new();
    let node = TestNode::start(&pki, "edelenyi", &corpus()).await;
    let mut hub = client_as(&node.url, &pki, "regio", Role::Hub).await;
    let long_query = "fejlesztés ".repeat(500); // 5,500 characters
    let settlements: Vec<String> = (0..100).map(|i| format!("Település {i}")).collect();
    let long_member = "x".repeat(2_000);
    // Answered or refused by a query limit: recorded either way.
    let _ = guard(
        "search",
        hub.search(pb::SearchRequest {
            query: long_query.clone(),
            filters: Some(pb::Filters {
                settlements: settlements.clone(),
                ..Default::default()
            }),
            members: vec![long_member],
            ..Default::default()
        }),
    )
    .await;
    let e = last_of(&node.node, "Search");
    let query = e["query"].as_str().expect("query");
    assert!(
        query.chars().count() < 600,
        "{} chars kept",
        query.chars().count()
    );
    assert!(query.ends_with("… [truncated: 5500 chars]"), "{query}");
    assert!(long_query.starts_with(query.split('…').next().expect("kept part")));
    let listed = e["params"]["settlements"].as_array().expect("settlements");
    assert_eq!(listed.len(), 33, "{listed:?}");
    assert_eq!(listed[0], "Település 0");
    assert_eq!(listed[32], "… and 68 more");
    let member = e["params"]["members"][0].as_str().expect("member");
    assert!(member.ends_with("… [truncated: 2000 chars]"), "{member}");
    let stored = serde_json::to_vec(&e).expect("JSON").len();
    assert!(stored < 8_000, "an entry of {stored} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_pruned_behind_a_signed_checkpoint_that_verify_checks() {
    let pki = Pki::new();
    let folder = NodeDir::init("edelenyi");
    let files = pki.files("edelenyi", Role::Node);
    let audit = AuditConfig {
        max_entries: 10,
        max_age_days: 0,
        archive: Some("audit-archive".into()),
    };
    config::append_to_node_toml(folder.path(), "audit", &audit).expect("[audit]");
    config::append_to_node_toml(folder.path(), "tls", &config::node_tls(&files)).expect("[tls]");
    let node = folder.open();
    let tls = pki.material("edelenyi", Role::Node);
    let served = TestNode::serve("edelenyi", folder.dir, node, &tls).await;
    {
        let mut hub = client_as(&served.url, &pki, "regio", Role::Hub).await;
        for _ in 0..40 {
            guard("info", hub.info(pb::InfoRequest {}))
                .await
                .expect("info");
        }
    }
    let entries = raw_entries(&served.node);
    assert!(entries.len() <= 11, "{} entries kept", entries.len());
    let first = entries[0]["seq"].as_u64().expect("seq");
    assert!(first > 0, "nothing was pruned");
    let checkpoint = entries
        .iter()
        .rev()
        .find(|e| e["method"] == "Checkpoint")
        .expect("a checkpoint entry")
        .clone();
    let through = checkpoint["checkpoint"]["pruned_through"]
        .as_u64()
        .expect("pruned_through");
    assert_eq!(through + 1, first, "{checkpoint}");
    assert!(checkpoint["signature"]["value"].is_string(), "{checkpoint}");
    // The entries cut last were exported first.
    let archive = checkpoint["checkpoint"]["archive"]
        .as_str()
        .expect("archive file");
    let archived = std::fs::read_to_string(archive).expect("reading the archive");
    let last_archived: Value =
        serde_json::from_str(archived.lines().last().expect("a line")).expect("JSON");
    assert_eq!(last_archived["seq"], through);
    assert_eq!(
        last_archived["hash"],
        checkpoint["checkpoint"]["last_pruned_hash"]
    );
    let verification = served.node.audit().verify().expect("verify");
    assert!(verification.is_intact(), "{verification:?}");

    let data = served.stop_keeping_data().await;
    let dir = data.path().to_str().expect("UTF-8 path");
    let (code, out) = node_cli(&["audit", "--data", dir, "--verify"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("entries 0–{through} pruned on ")),
        "{out}"
    );
    assert!(out.contains("chain verified from checkpoint"), "{out}");
    assert!(out.contains("signature verified"), "{out}");
    assert!(out.contains("chain intact"), "{out}");

    // Tampering after the checkpoint is detected.
    let node = Node::open(data.path()).expect("Node::open");
    let tree = node.audit().tree();
    let last_key = tree.last().expect("last").expect("an entry").0;
    let original = tree.get(&last_key).expect("get").expect("entry");
    let forged = String::from_utf8(original.to_vec())
        .expect("UTF-8")
        .replace("\"outcome\":\"ok\"", "\"outcome\":\"denied: nem\"");
    assert_ne!(forged.as_bytes(), original.as_ref());
    tree.insert(&last_key, forged.as_bytes()).expect("insert");
    assert!(!node.audit().verify().expect("verify").is_intact());
    tree.insert(&last_key, original).expect("restore");
    assert!(node.audit().verify().expect("verify").is_intact());

    // Tampering with the checkpoint (claiming a later cut) is detected.
    let seq = checkpoint["seq"].as_u64().expect("seq");
    let key = seq.to_be_bytes();
    let original = tree.get(key).expect("get").expect("checkpoint");
    let forged = String::from_utf8(original.to_vec())
        .expect("UTF-8")
        .replace(
            &format!("\"pruned_through\":{through}"),
            &format!("\"pruned_through\":{}", through + 2),
        );
    assert_ne!(forged.as_bytes(), original.as_ref());
    tree.insert(key, forged.as_bytes()).expect("insert");
    let broken = node
        .audit()
        .verify()
        .expect("verify")
        .broken
        .expect("broken");
    assert!(broken.detail.contains("checkpoint"), "{broken:?}");
    drop(node);
    let (code, out) = node_cli(&["audit", "--data", dir, "--verify"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("broken"), "{out}");
}

#[test]
fn reimporting_without_visibility_keeps_it_and_the_report_lists_changes() {
    let folder = NodeDir::init("edelenyi");
    let node = folder.open();
    let files = Files::new();
    let mut local = doc("d-1", "Belső jegyzet", "Csak helyben.");
    local["visibility"] = json!("local");
    import(
        &node,
        &files.write("first.jsonl", jsonl([local, doc("d-2", "Más", "Szöveg.")])),
    );

    // The same record without a visibility field: still local, no change.
    let report = import(
        &node,
        &files.write(
            "again.jsonl",
            jsonl([doc("d-1", "Belső jegyzet", "Csak helyben, javítva.")]),
        ),
    );
    assert_eq!(
        node.get("d-1", tudashalo_core::search::Audience::Operator)
            .expect("d-1")
            .visibility,
        Visibility::Local
    );
    let report = serde_json::to_value(&report).expect("report JSON");
    assert_eq!(report["visibility_changes"], json!([]), "{report}");

    // An explicit visibility changes it, and the report says so.
    let mut public = doc("d-1", "Belső jegyzet", "Csak helyben, javítva.");
    public["visibility"] = json!("public");
    let report = import(&node, &files.write("public.jsonl", jsonl([public])));
    let report = serde_json::to_value(&report).expect("report JSON");
    assert_eq!(
        report["visibility_changes"],
        json!([{"id": "d-1", "from": "local", "to": "public"}]),
        "{report}"
    );

    // A text file: local by --visibility, then imported again without it.
    let md = files.write("jegyzet.md", "# Jegyzet\n\nBelső.\n");
    let local_text = ImportOptions {
        text: TextMeta {
            visibility: Some(Visibility::Local),
            ..TextMeta::default()
        },
        ..ImportOptions::default()
    };
    import_with(&node, &md, &local_text).expect("import");
    std::fs::write(&md, "# Jegyzet\n\nBelső, bővebben.\n").expect("rewrite");
    import(&node, &md);
    assert_eq!(
        node.get("jegyzet", tudashalo_core::search::Audience::Operator)
            .expect("jegyzet")
            .visibility,
        Visibility::Local
    );
    drop(node);

    // The CLI reports a change in words and in --json.
    let dir = folder.path().to_str().expect("UTF-8 path");
    let mut federated = doc("d-1", "Belső jegyzet", "Csak helyben, javítva.");
    federated["visibility"] = json!("federated");
    let path = files.write("federated.jsonl", jsonl([federated]));
    let (code, out) = node_cli(&["import", "--data", dir, path.to_str().expect("path")]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("d-1: public -> federated"), "{out}");
    let (code, out) = node_cli(&[
        "import",
        "--data",
        dir,
        "--json",
        "--visibility",
        "local",
        files
            .write("flag.jsonl", jsonl([doc("d-2", "Más", "Szöveg.")]))
            .to_str()
            .expect("path"),
    ]);
    assert_eq!(code, Some(0), "{out}");
    let out: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(
        out["files"][0]["visibility_changes"],
        json!([{"id": "d-2", "from": "federated", "to": "local"}]),
        "{out}"
    );
}
