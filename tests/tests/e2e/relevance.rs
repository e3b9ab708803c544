//! The project's relevance floor: the judged queries of
//! `tudashalo_demo::generate` (planted among ordinary generated documents
//! on three nodes) through a hub and from one node holding every
//! document, as a regional analyst (role operator) searches.
//!
//! What must hold: no `local` document ever appears (leaks are counted
//! per visibility trap); the hub ranks exactly as the one node does (the
//! federation is one index to its users); recall, MRR and nDCG at 10 stay
//! at or above floors just under what the analysers achieved when the
//! floors were set. A change that lowers them is a regression; one that
//! raises them should raise the floors too.

use tudashalo_demo::generate::{self, QueryKind, Spec};
use tudashalo_demo::relevance::{self, Evaluation};
use tudashalo_pki::Role;

use super::support::{Pki, TestHub, TestNode, client_as, jsonl};

/// On this corpus (3 nodes × 200 documents of ~150 words + the 91 judged
/// ones), identical through the hub and from the one node:
/// - 2026-12-01, the baseline analysers (Snowball Hungarian twice, no
///   proximity): recall@10 0.892, MRR@10 1.000, nDCG@10 0.930. It missed
///   inflections (`falu` for `falvak`, `sószobát` for `sószoba`,
///   `gyermeket` for `gyermekek`, `kert` for `kertek`).
/// - 2026-12-01, Magyar Ispell lemmas and proximity: recall@10 1.000,
///   MRR@10 1.000, nDCG@10 0.996. The floors sit just under, and above the
///   issue's targets (recall@10 and MRR@10 ≥ 0.98 through the hub).
const FLOOR_RECALL: f64 = 0.98;
const FLOOR_MRR: f64 = 0.98;
const FLOOR_NDCG: f64 = 0.97;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judged_queries_rank_above_the_floors_and_the_same_through_the_hub() {
    let spec = Spec {
        nodes: 3,
        docs_per_node: 200,
        mean_words: 150,
        ..Spec::default()
    };
    let pki = Pki::new();
    let mut nodes = Vec::new();
    let mut everything = String::new();
    for k in generate::kistersegek(&spec) {
        let text = jsonl(
            generate::documents(&k, &spec, k.index).chain(generate::judged_documents(&k, &spec)),
        );
        everything.push_str(&text);
        nodes.push(TestNode::start(&pki, &k.slug, &text).await);
    }
    let single = TestNode::start(&pki, "egyben", &everything).await;
    let members: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| (n.name.as_str(), n.url.as_str()))
        .collect();
    let hub = TestHub::start(&pki, "hub", &members).await;

    let through_hub = evaluate(&pki, &hub.url).await;
    let one_node = evaluate(&pki, &single.url).await;
    let report = through_hub.table();

    assert_eq!(
        through_hub.summary.leaks, 0,
        "local documents leaked\n{report}"
    );
    assert_eq!(
        one_node.summary.leaks, 0,
        "local documents leaked\n{report}"
    );
    assert_eq!(
        through_hub.differences(&one_node),
        Vec::<String>::new(),
        "the hub ranks unlike one index"
    );
    // An identifier names one project: the documents citing its
    // neighbours (another serial, another call) must not match.
    for q in &through_hub.queries {
        if q.kind == QueryKind::Identifier {
            assert_eq!(
                q.negatives,
                Vec::<String>::new(),
                "{}: {:?}",
                q.text,
                q.hits
            );
        }
    }
    let m = &through_hub.summary;
    assert!(
        m.recall >= FLOOR_RECALL,
        "recall@10 {:.3}\n{report}",
        m.recall
    );
    assert!(m.mrr >= FLOOR_MRR, "MRR@10 {:.3}\n{report}", m.mrr);
    assert!(m.ndcg >= FLOOR_NDCG, "nDCG@10 {:.3}\n{report}", m.ndcg);
    eprintln!("{report}");

    hub.stop().await;
    single.stop().await.unwrap();
    for node in nodes {
        node.stop().await.unwrap();
    }
}

/// Every judged query against the server at `url`, as the analyst.
async fn evaluate(pki: &Pki, url: &str) -> Evaluation {
    let mut client = client_as(url, pki, "analyst", Role::Operator).await;
    relevance::evaluate(&mut client, generate::judged_queries())
        .await
        .unwrap_or_else(|e| panic!("{url}: {e:#}"))
}
