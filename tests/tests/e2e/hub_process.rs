//! The hub as a real process: it writes nothing to disk and logs no
//! document text, snippet or observation, even at debug level, in either
//! log format (text, and JSON lines that each parse).

use serde_json::json;
use tudashalo_pki::Role;
use tudashalo_proto::pb;

use super::support::{
    Files, NodeDir, Pki, ServerProcess, TestNode, client_as, guard, hub_config, import, jsonl,
    write_hub_toml,
};

/// Words and numbers that exist only in the nodes' raw data.
const SECRET_WORD: &str = "zsákfalutitok";
const SECRET_SETTLEMENT: &str = "Titkosfalva";
const SECRET_VALUE: &str = "98765.4321";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_writes_nothing_and_logs_no_raw_data() {
    let pki = Pki::new();
    let docs = jsonl([json!({
        "id": "titkos-1",
        "title": "Fejlesztési terv",
        "body": format!("A {SECRET_WORD} fejlesztés a {SECRET_SETTLEMENT} településen."),
        "settlements": [SECRET_SETTLEMENT],
    })]);
    let mut nodes = Vec::new();
    for name in ["alfa", "beta"] {
        let folder = NodeDir::init(name);
        let node = folder.open();
        let files = Files::new();
        import(&node, &files.write("d.jsonl", &docs));
        import(
            &node,
            &files.write("k.csv", "code,name,unit,aggregation\nertek,Érték,Ft,sum\n"),
        );
        import(
            &node,
            &files.write(
                "o.csv",
                format!("indicator,settlement,period,value,unit\nertek,{SECRET_SETTLEMENT},2020,{SECRET_VALUE},Ft\nertek,Másikfalu,2020,1,Ft\n"),
            ),
        );
        nodes.push(TestNode::serve(name, folder.dir, node, &pki.material(name, Role::Node)).await);
    }

    let members: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| (n.name.as_str(), n.url.as_str()))
        .collect();
    for format in ["text", "json"] {
        let log_text = one_hub_run(&pki, &members, format).await;
        assert!(
            log_text.contains("federated search"),
            "the {format} log is there at debug level: {log_text}"
        );
        for secret in [SECRET_WORD, SECRET_SETTLEMENT, SECRET_VALUE, "98765"] {
            assert!(
                !log_text.contains(secret),
                "the hub logged raw data ({secret}) in {format}:\n{log_text}"
            );
        }
        if format == "json" {
            for line in log_text.lines().filter(|l| !l.trim().is_empty()) {
                let event: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                for field in ["timestamp", "level", "target"] {
                    assert!(event.get(field).is_some(), "no {field}: {line}");
                }
            }
        }
    }
}

/// Runs a hub process over `members` with `--log-format format`, asks it a
/// search, a document and an aggregate, checks it wrote nothing, and
/// returns its log.
async fn one_hub_run(pki: &Pki, members: &[(&str, &str)], format: &str) -> String {
    let conf = tempfile::tempdir().expect("conf dir");
    let work = tempfile::tempdir().expect("work dir");
    let logs = tempfile::tempdir().expect("log dir");
    let config = conf.path().join("hub.toml");
    write_hub_toml(&config, &hub_config(pki, "regio", members));
    let log = logs.path().join("hub.log");
    let hub = ServerProcess::hub_logging(&config, Some(work.path()), &log, "debug", format);

    let mut client = client_as(&hub.url, pki, "analyst", Role::Operator).await;
    let found = guard(
        "search",
        client.search(pb::SearchRequest {
            query: SECRET_WORD.into(),
            ..Default::default()
        }),
    )
    .await
    .expect("search")
    .into_inner();
    assert_eq!(
        found.total, 2,
        "the search reached the nodes: {:?}",
        found.members
    );
    assert!(found.hits.iter().all(|h| {
        h.snippet
            .as_ref()
            .is_some_and(|s| s.text.contains(SECRET_WORD))
    }));
    let doc = guard(
        "get",
        client.get_document(pb::GetDocumentRequest {
            id: "titkos-1".into(),
            member: "alfa".into(),
        }),
    )
    .await
    .expect("get")
    .into_inner();
    assert!(doc.document.expect("doc").body.contains(SECRET_WORD));
    let mut stream = guard(
        "aggregate",
        client.aggregate(pb::AggregateRequest {
            indicators: vec!["ertek".into()],
            group_by: vec!["settlement".into(), "period".into()],
            ..Default::default()
        }),
    )
    .await
    .expect("aggregate")
    .into_inner();
    let mut cells = 0;
    while let Some(chunk) = guard("chunk", stream.message()).await.expect("chunk") {
        cells += chunk.cells.len();
    }
    assert!(cells > 0);
    drop(hub);

    let written: Vec<_> = std::fs::read_dir(work.path()).expect("work dir").collect();
    assert!(
        written.is_empty(),
        "the hub wrote into its working folder: {written:?}"
    );
    let configs: Vec<_> = std::fs::read_dir(conf.path()).expect("conf dir").collect();
    assert_eq!(
        configs.len(),
        1,
        "the hub wrote next to its configuration: {configs:?}"
    );
    std::fs::read_to_string(&log).expect("log")
}
