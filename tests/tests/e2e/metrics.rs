//! `/metrics` of a real node and a real hub: a search and a refused
//! document request through the hub, then both scraped over HTTP. The
//! go-grpc-prometheus names carry the right labels and codes, nothing a
//! caller sent (query words, document ids) appears anywhere in a scrape,
//! every label value is from the allowed sets, and every metric the
//! Grafana dashboard and the alert rules in `deploy/` name is exported (or
//! is node_exporter's, listed below).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::json;
use tudashalo_pki::{self as pki, Role};
use tudashalo_proto::pb;
use tudashalo_proto::tls::ReloadingTls;

use super::support::{MetricsServer, Pki, TestHub, TestNode, client, doc, guard, jsonl};

/// A word only the fixture's documents and the query hold, and an id.
const SECRET_WORD: &str = "zuzmótelep";
const SECRET_ID: &str = "titkos-azonosito-4711";

/// Metrics the deploy files use that come from Prometheus's node_exporter,
/// not from our servers.
const NODE_EXPORTER: &[&str] = &["node_filesystem_avail_bytes", "node_filesystem_size_bytes"];

/// Every label value a scrape may carry, by label name (`le` is a bucket
/// bound, `member` a configured member name).
fn allowed(label: &str, value: &str) -> bool {
    let methods = [
        "Info",
        "TermStats",
        "Search",
        "GetDocument",
        "GetOriginal",
        "Aggregate",
        "Network",
        "WatchVersion",
    ];
    match label {
        "grpc_type" => ["unary", "server_stream"].contains(&value),
        "grpc_service" => value == "tudashalo.v1.Federation",
        "grpc_method" | "rpc" => methods.contains(&value),
        "grpc_code" => tudashalo_proto::metrics::code_names().contains(&value),
        "visibility" => ["public", "federated", "local"].contains(&value),
        "entity" => [
            "organisations",
            "contacts",
            "developments",
            "project_indicators",
            "groups",
        ]
        .contains(&value),
        "kind" => ["documents", "observations", "catalogue", "register"].contains(&value),
        "reason" => ["invalid", "reference", "duplicate", "strict"].contains(&value),
        "result" => ["hit", "miss"].contains(&value),
        "member" => value == "edelenyi",
        "le" => value == "+Inf" || value.parse::<f64>().is_ok(),
        _ => false,
    }
}

/// The sample names of a scrape, and the names its `# TYPE` lines declare
/// with the suffixes their samples take (a family with no sample yet, such
/// as a counter nothing has counted, still exists).
fn names(scrape: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in scrape.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let mut parts = declared.split_whitespace();
            let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
                continue;
            };
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            for suffix in suffixes {
                names.insert(format!("{name}{suffix}"));
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_string());
        }
    }
    names
}

/// Every `label="value"` pair of a scrape's samples.
fn labels(scrape: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for line in scrape.lines().filter(|l| !l.starts_with('#')) {
        let Some(start) = line.find('{') else {
            continue;
        };
        let Some(end) = line.rfind('}') else {
            continue;
        };
        for pair in line[start + 1..end].split("\",") {
            let (name, value) = pair.split_once('=').expect("label=value");
            pairs.push((name.to_string(), value.trim_matches('"').to_string()));
        }
    }
    pairs
}

/// The metric names a PromQL expression uses: the identifiers with the
/// prefixes of ours and node_exporter's (label names such as
/// `grpc_method` have none of these prefixes).
fn promql_names(expr: &str, into: &mut BTreeSet<String>) {
    let prefixes = [
        "grpc_server_",
        "grpc_client_",
        "tudashalo_",
        "process_",
        "node_",
    ];
    for token in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
        if prefixes.iter().any(|p| token.starts_with(p)) {
            into.insert(token.to_string());
        }
    }
}

/// Every metric name `deploy/grafana/tudashalo.json` and
/// `deploy/prometheus/alerts.yml` refer to.
fn deployed_names() -> BTreeSet<String> {
    let deploy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let mut names = BTreeSet::new();
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy.join("grafana/tudashalo.json")).expect("the dashboard"),
    )
    .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 8, "the dashboard has its panels");
    for panel in panels {
        for target in panel["targets"].as_array().expect("targets") {
            promql_names(target["expr"].as_str().expect("an expr"), &mut names);
        }
    }
    let alerts: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(deploy.join("prometheus/alerts.yml")).expect("the alerts"),
    )
    .expect("the alerts are YAML");
    let mut rules = 0;
    for group in alerts["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            promql_names(rule["expr"].as_str().expect("an expr"), &mut names);
            rules += 1;
        }
    }
    assert!(rules >= 5, "member down, partial answers, audit, CRL, disk");
    names
}

#[tokio::test]
async fn node_and_hub_export_grpc_metrics_without_request_data() {
    let pki = Pki::new();
    // A CRL next to the CA: the servers use it, the metrics report it.
    pki::write_crl(pki.dir()).expect("write_crl");
    let documents = jsonl([
        doc(
            SECRET_ID,
            "Zuzmótelep a patak mentén",
            &format!("A {SECRET_WORD} gondozása a kistérség feladata."),
        ),
        json!({"id": "nyilvanos-1", "title": "Árvízvédelem", "body": "Gátak és töltések.", "visibility": "public"}),
    ]);
    let node = TestNode::start(&pki, "edelenyi", &documents).await;
    tudashalo_node::metrics::register_collector(&node.node);
    let node_metrics = MetricsServer::start(node.node.metrics().registry().clone()).await;
    let hub = TestHub::start(&pki, "hub", &[("edelenyi", &node.url)]).await;
    let crl = ReloadingTls::manual(pki.files("hub", Role::Hub)).expect("the hub's TLS files");
    hub.hub.metrics().registry().watch_crl(crl);
    let hub_metrics = MetricsServer::start(hub.hub.metrics().registry().clone()).await;

    let mut analyst = client(&hub.url, &pki, "analyst").await;
    let found = guard(
        "searching through the hub",
        analyst.search(pb::SearchRequest {
            query: SECRET_WORD.into(),
            limit: 10,
            ..Default::default()
        }),
    )
    .await
    .expect("the search")
    .into_inner();
    assert_eq!(found.hits.len(), 1, "{found:?}");
    assert_eq!(found.hits[0].id, SECRET_ID);
    let missing = guard(
        "a document the node does not have",
        analyst.get_document(pb::GetDocumentRequest {
            id: format!("{SECRET_ID}-nincs"),
            member: "edelenyi".into(),
        }),
    )
    .await
    .expect_err("not found");
    assert_eq!(missing.code(), tonic::Code::NotFound);

    let (status, content_type, hub_scrape) = hub_metrics.get("/metrics").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(content_type, tudashalo_proto::metrics::CONTENT_TYPE);
    let (_, _, node_scrape) = node_metrics.get("/metrics").await;
    let (health, _, ok) = hub_metrics.get("/healthz").await;
    assert!(health.contains("200") && ok == "ok\n", "{health} {ok}");
    let (other, _, _) = node_metrics.get("/secret").await;
    assert!(other.contains("404"), "{other}");

    let method = |kind: &str, name: &str| {
        format!(
            "grpc_type=\"{kind}\",grpc_service=\"tudashalo.v1.Federation\",grpc_method=\"{name}\""
        )
    };
    let search = method("unary", "Search");
    for (scrape, what) in [(&hub_scrape, "hub"), (&node_scrape, "node")] {
        assert!(
            scrape.contains(&format!("grpc_server_started_total{{{search}}}")),
            "{what}: {scrape}"
        );
        assert!(
            scrape.contains(&format!(
                "grpc_server_handled_total{{{search},grpc_code=\"OK\"}}"
            )),
            "{what}: {scrape}"
        );
        assert!(
            scrape.contains(&format!(
                "grpc_server_handling_seconds_bucket{{le=\"+Inf\",{search}}}"
            )),
            "{what}: {scrape}"
        );
        assert!(scrape.contains("process_resident_memory_bytes "), "{what}");
        assert!(scrape.contains("tudashalo_crl_next_update_seconds ") || what == "node");
        assert!(
            !scrape.contains(SECRET_WORD),
            "{what}: the query word leaked: {scrape}"
        );
        assert!(!scrape.contains("zuzm"), "{what}: a query stem leaked");
        assert!(
            !scrape.contains(SECRET_ID),
            "{what}: a document id leaked: {scrape}"
        );
        assert!(!scrape.contains("analyst"), "{what}: a principal leaked");
        for (label, value) in labels(scrape) {
            assert!(
                allowed(&label, &value),
                "{what}: {label}={value:?} is not an allowed label value"
            );
        }
    }
    // The refusal with its code, at the hub and at the node it asked.
    let get = method("unary", "GetDocument");
    assert!(
        hub_scrape.contains(&format!(
            "grpc_server_handled_total{{{get},grpc_code=\"NotFound\"}} 1"
        )),
        "{hub_scrape}"
    );
    assert!(
        node_scrape.contains(&format!(
            "grpc_server_handled_total{{{get},grpc_code=\"NotFound\"}} 1"
        )),
        "{node_scrape}"
    );
    // The hub's own calls to its member, and the member's health.
    assert!(
        hub_scrape.contains(&format!(
            "grpc_client_handled_total{{{search},grpc_code=\"OK\"}}"
        )),
        "{hub_scrape}"
    );
    assert!(hub_scrape.contains(&format!(
        "grpc_client_started_total{{{}}}",
        method("unary", "TermStats")
    )));
    assert!(
        hub_scrape.contains("tudashalo_member_up{member=\"edelenyi\"} 1"),
        "{hub_scrape}"
    );
    assert!(
        hub_scrape
            .contains("tudashalo_member_call_seconds_count{member=\"edelenyi\",rpc=\"Search\"}")
    );
    assert!(
        hub_scrape.contains("tudashalo_stats_cache_total{result=\"miss\"} 1"),
        "{hub_scrape}"
    );
    // The node's own counts.
    assert!(
        node_scrape.contains("tudashalo_documents{visibility=\"public\"} 1"),
        "{node_scrape}"
    );
    assert!(
        node_scrape.contains("tudashalo_audit_chain_intact 1"),
        "{node_scrape}"
    );
    assert!(
        // One match: the hub takes whole hits in round two, no round three.
        node_scrape.contains("tudashalo_search_seconds_count 1"),
        "{node_scrape}"
    );

    let exported: BTreeSet<String> = names(&hub_scrape)
        .union(&names(&node_scrape))
        .cloned()
        .collect();
    let missing: Vec<String> = deployed_names()
        .into_iter()
        .filter(|n| !exported.contains(n) && !NODE_EXPORTER.contains(&n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "deploy/ uses metrics no server exports: {missing:?}"
    );

    drop(analyst);
    hub.stop().await;
    node.stop().await.expect("the node stops cleanly");
}
