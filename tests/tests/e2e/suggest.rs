//! Spelling suggestions through hubs: a search that finds almost nothing,
//! over the whole federation, offers the federation's own words, with
//! document counts summed over the members, and never a word only `local`
//! documents hold; a national hub answers as a regional one does.

use serde_json::json;
use tonic::transport::Channel;
use tudashalo_demo::config::parent;
use tudashalo_pki::Role;
use tudashalo_proto::pb;
use tudashalo_proto::pb::federation_client::FederationClient;

use super::support::{Pki, TestHub, TestNode, client_as, guard, hub_config, jsonl};

fn suggestions(r: &pb::SearchResponse) -> Vec<(String, String, u64, u32)> {
    r.suggestions
        .iter()
        .map(|s| {
            (
                s.word.clone(),
                s.replacement.clone(),
                s.doc_freq,
                s.distance,
            )
        })
        .collect()
}

async fn search(client: &mut FederationClient<Channel>, query: &str) -> pb::SearchResponse {
    let request = pb::SearchRequest {
        query: query.into(),
        limit: 10,
        ..Default::default()
    };
    guard("search", client.search(request))
        .await
        .expect("search")
        .into_inner()
}

fn entry(
    word: &str,
    replacement: &str,
    doc_freq: u64,
    distance: u32,
) -> (String, String, u64, u32) {
    (word.into(), replacement.into(), doc_freq, distance)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubs_suggest_the_federations_words_with_summed_counts() {
    let pki = Pki::new();
    let alfa = TestNode::start(
        &pki,
        "alfa",
        &jsonl([
            json!({"id": "a1", "title": "Közösségi kert", "body": "A közösségi kert terve."}),
            json!({"id": "a2", "title": "Közösségi tér", "body": "A közösségi tér nyitva."}),
            json!({"id": "a3", "title": "Kerékpárút", "body": "A kerékpárút terve.", "visibility": "local"}),
        ]),
    )
    .await;
    // `fejlesztés` is known to beta alone.
    let beta = TestNode::start(
        &pki,
        "beta",
        &jsonl([
            json!({"id": "b1", "title": "Fejlesztés", "body": "Fejlesztés és közösségi munka."}),
        ]),
    )
    .await;
    let mut regional = hub_config(
        &pki,
        "regio",
        &[("alfa", alfa.url.as_str()), ("beta", beta.url.as_str())],
    );
    regional.parents = vec![parent("orszagos")];
    let regio = TestHub::serve(&regional).await;
    let orszagos = TestHub::serve(&hub_config(
        &pki,
        "orszagos",
        &[("regio", regio.url.as_str())],
    ))
    .await;
    let mut via_regio = client_as(&regio.url, &pki, "analyst", Role::Operator).await;
    let mut via_nation = client_as(&orszagos.url, &pki, "ksh", Role::Operator).await;

    for client in [&mut via_regio, &mut via_nation] {
        let r = search(client, "fejleztés kozosegi").await;
        assert_eq!(r.total, 0);
        assert!(!r.partial, "{:?}", r.members);
        let found = suggestions(&r);
        assert_eq!(
            found,
            [
                entry("fejleztés", "fejlesztés", 1, 1),
                // Two documents at alfa, one at beta.
                entry("kozosegi", "közösségi", 3, 1),
            ]
        );
        assert_eq!(r.suggested_query, "fejlesztés közösségi");

        // A word only a local document holds is offered to nobody outside.
        let r = search(client, "kerekparut").await;
        assert_eq!(r.total, 0);
        assert!(
            r.suggestions.iter().all(|s| s.replacement != "kerékpárút"),
            "{:?}",
            r.suggestions
        );
        assert_eq!(r.suggested_query, "");

        // Each member found fewer than three, the federation three: none.
        let r = search(client, "kozossegi").await;
        assert_eq!(r.total, 3);
        assert!(r.suggestions.is_empty(), "{:?}", r.suggestions);
        assert_eq!(r.suggested_query, "");
    }
}
