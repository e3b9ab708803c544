//! A node over real mTLS gRPC: Info, Search, TermStats, GetDocument, the
//! health service, refusal of unauthenticated peers, and shutdown.

use std::collections::{BTreeMap, HashSet};

use serde_json::json;
use tonic::Code;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tudashalo_pki::Role;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{
    self, Cursor, Filters, GetDocumentRequest, InfoRequest, SearchRequest, SearchResponse,
};

use super::support::{Pki, TestNode, client, guard, jsonl};

/// Documents visible to the federation that contain "kistérség".
const KISTERSEG_DOCS: usize = 7;
/// Generated documents about "pályázat", for paging.
const PALYAZAT_DOCS: usize = 30;
/// Everything a federation member may see.
const VISIBLE_DOCS: usize = KISTERSEG_DOCS + PALYAZAT_DOCS;

/// The fixture corpus: seven federated or public documents about the
/// kistérség, one local document that uses every query word of the tests,
/// and thirty generated documents for paging.
fn corpus() -> String {
    let mut docs = vec![
        json!({
            "id": "strat-2021",
            "title": "Edelényi kistérség stratégiája",
            "body": "A kistérség fejlesztési irányai a következő évekre: munkahelyteremtés és turizmus.",
            "kind": "strategy",
            "sectors": ["gazdaság"],
            "settlements": ["Edelény"],
            "year": 2021,
            "visibility": "federated",
            "forras": "KSH",
            "megjegyzes": {"oldal": 12, "cimkek": ["a", "b"]}
        }),
        json!({
            "id": "ovoda-2019",
            "title": "Óvodabővítés Szendrőn",
            "body": "A kistérség óvodai férőhely kínálata bővül: húsz új óvodai férőhely Szendrőn.",
            "kind": "project",
            "sectors": ["oktatás"],
            "settlements": ["Szendrő"],
            "year": 2019,
            "visibility": "public"
        }),
        json!({
            "id": "onk-2022",
            "title": "Éves beszámoló",
            "body": "Az önkormányzat éves beszámolója a kistérség számára.",
            "kind": "report",
            "sectors": ["közigazgatás"],
            "settlements": ["Edelény", "Borsodszirák"],
            "year": 2022
        }),
        json!({
            "id": "kszt-2018",
            "title": "Közösségi szolgáltató tér Abodon",
            "body": "A kistérség közösségi szolgáltató tér hálózata: könyvtár, internet, klubfoglalkozások.",
            "kind": "best_practice",
            "sectors": ["kultúra"],
            "settlements": ["Abod"],
            "year": 2018
        }),
        json!({
            "id": "ter-2020",
            "title": "Piacfelújítás",
            "body": "A kistérség központjában a tér mellett új szolgáltató központ nyílt.",
            "kind": "project",
            "sectors": ["gazdaság"],
            "settlements": ["Szendrő"],
            "year": 2020
        }),
        json!({
            "id": "viz-2017",
            "title": "Ivóvízhálózat",
            "body": "A kistérség víz és csatorna beruházása.",
            "kind": "project",
            "sectors": ["környezet"],
            "settlements": ["Edelény"],
            "year": 2017
        }),
        json!({
            "id": "vizmin-2016",
            "title": "Vízminőség",
            "body": "A kistérség víz minőségének javítása.",
            "kind": "study",
            "sectors": ["környezet"],
            "settlements": ["Borsodszirák"],
            "year": 2016
        }),
        json!({
            "id": "local-1",
            "title": "Belső feljegyzés",
            "body": "A kistérség fejlesztési ötletei: óvodai férőhely, önkormányzat, közösségi szolgáltató tér, víz, pályázat.",
            "kind": "minutes",
            "sectors": ["titkos"],
            "settlements": ["Titkosfalu"],
            "year": 2030,
            "visibility": "local"
        }),
    ];
    for i in 0..PALYAZAT_DOCS {
        // Five shapes of body, six documents each: equal scores within a
        // shape, so that the tie-breaker matters for paging.
        let repeats = i % 5 + 1;
        let body = format!(
            "{} Részletek a honlapon.",
            vec!["Nyertes pályázat."; repeats].join(" ")
        );
        docs.push(json!({
            "id": format!("pal-{i:02}"),
            "title": format!("Felhívás {i:02}"),
            "body": body,
            "kind": "other",
            "year": 2000 + (i % 5) as i32,
        }));
    }
    jsonl(docs)
}

async fn start(pki: &Pki) -> TestNode {
    TestNode::start(pki, "edelenyi", &corpus()).await
}

fn query(text: &str) -> SearchRequest {
    SearchRequest {
        query: text.to_string(),
        ..SearchRequest::default()
    }
}

fn ids(response: &SearchResponse) -> Vec<String> {
    response.hits.iter().map(|h| h.id.clone()).collect()
}

fn sorted_ids(response: &SearchResponse) -> Vec<String> {
    let mut ids = ids(response);
    ids.sort();
    ids
}

fn strings(items: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    out.sort();
    out
}

async fn search(
    client: &mut FederationClient<tonic::transport::Channel>,
    request: SearchRequest,
) -> SearchResponse {
    let text = request.query.clone();
    guard("search", client.search(request))
        .await
        .unwrap_or_else(|e| panic!("search {text:?}: {e}"))
        .into_inner()
}

/// Facets as name → (value → count).
fn facets(response: &SearchResponse) -> BTreeMap<String, BTreeMap<String, u64>> {
    response
        .facets
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                f.values
                    .iter()
                    .map(|v| (v.value.clone(), v.count))
                    .collect(),
            )
        })
        .collect()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(v, c)| (v.to_string(), *c)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_counts_only_what_leaves_the_node() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;
    let info = guard("info", client.info(InfoRequest {}))
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.name, "edelenyi");
    assert_eq!(info.display_name, "edelenyi kistérség");
    assert_eq!(info.role, "node");
    assert_eq!(info.schema_version, tudashalo_proto::SCHEMA_VERSION);
    // The local document is in the store, but not in the count.
    assert_eq!(
        node.node.stats().expect("stats").documents,
        VISIBLE_DOCS + 1
    );
    assert_eq!(info.documents, VISIBLE_DOCS as u64);
    assert_eq!(info.generation, 1);
    assert_eq!(info.observations, 0);
    assert!(info.indicators.is_empty());
    assert!(!info.version.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hungarian_queries_meet_their_forms() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    // Plural or other suffix in the query, another form in the text; the
    // local document uses every one of these words and must never show.
    let cases: [(&str, &[&str]); 5] = [
        ("fejlesztések", &["strat-2021"]),
        ("óvodai férőhelyek", &["ovoda-2019"]),
        ("önkormányzatok", &["onk-2022"]),
        // Without accents, against accented text.
        ("kozossegi szolgaltato ter", &["kszt-2018"]),
        ("KÖZÖSSÉGI Szolgáltató TÉR", &["kszt-2018"]),
    ];
    for (text, expected) in cases {
        let response = search(&mut client, query(text)).await;
        assert_eq!(sorted_ids(&response), strings(expected), "query {text:?}");
        assert_eq!(response.total, expected.len() as u64, "query {text:?}");
        assert!(
            response.ignored.is_empty(),
            "query {text:?}: {:?}",
            response.ignored
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phrases_and_boolean_operators() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    // Both words, anywhere: two documents.
    let loose = search(&mut client, query("szolgáltató tér")).await;
    assert_eq!(sorted_ids(&loose), strings(&["kszt-2018", "ter-2020"]));
    // As a phrase: only where they stand together, in this order.
    let phrase = search(&mut client, query("\"szolgáltató tér\"")).await;
    assert_eq!(ids(&phrase), vec!["kszt-2018"]);
    assert_eq!(phrase.total, 1);

    let water = search(&mut client, query("víz")).await;
    assert_eq!(sorted_ids(&water), strings(&["viz-2017", "vizmin-2016"]));
    let not = search(&mut client, query("víz NOT csatorna")).await;
    assert_eq!(ids(&not), vec!["vizmin-2016"]);
    assert_eq!(not.total, 1);
    let minus = search(&mut client, query("víz -csatorna")).await;
    assert_eq!(ids(&minus), vec!["vizmin-2016"]);
    let or = search(&mut client, query("csatorna OR önkormányzat")).await;
    assert_eq!(sorted_ids(&or), strings(&["onk-2022", "viz-2017"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_narrow_the_hits() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    let with = |filters: Filters| SearchRequest {
        query: "kistérség".into(),
        filters: Some(filters),
        limit: 50,
        ..SearchRequest::default()
    };
    let cases: Vec<(&str, Filters, &[&str])> = vec![
        (
            "kind",
            Filters {
                kinds: vec!["project".into()],
                ..Filters::default()
            },
            &["ovoda-2019", "ter-2020", "viz-2017"],
        ),
        (
            "two kinds",
            Filters {
                kinds: vec!["study".into(), "report".into()],
                ..Filters::default()
            },
            &["onk-2022", "vizmin-2016"],
        ),
        (
            "sector",
            Filters {
                sectors: vec!["környezet".into()],
                ..Filters::default()
            },
            &["viz-2017", "vizmin-2016"],
        ),
        (
            "sector without accents",
            Filters {
                sectors: vec!["kornyezet".into()],
                ..Filters::default()
            },
            &["viz-2017", "vizmin-2016"],
        ),
        (
            "settlement without accents",
            Filters {
                settlements: vec!["edeleny".into()],
                ..Filters::default()
            },
            &["onk-2022", "strat-2021", "viz-2017"],
        ),
        (
            "settlement in capitals",
            Filters {
                settlements: vec!["SZENDRŐ".into()],
                ..Filters::default()
            },
            &["ovoda-2019", "ter-2020"],
        ),
        (
            "year range",
            Filters {
                year_from: Some(2018),
                year_to: Some(2020),
                ..Filters::default()
            },
            &["kszt-2018", "ovoda-2019", "ter-2020"],
        ),
        (
            "open year range",
            Filters {
                year_from: Some(2021),
                ..Filters::default()
            },
            &["onk-2022", "strat-2021"],
        ),
        (
            "combined",
            Filters {
                kinds: vec!["project".into()],
                settlements: vec!["szendro".into()],
                year_to: Some(2019),
                ..Filters::default()
            },
            &["ovoda-2019"],
        ),
        (
            // The local document's settlement: nothing leaves.
            "local settlement",
            Filters {
                settlements: vec!["Titkosfalu".into()],
                ..Filters::default()
            },
            &[],
        ),
    ];
    for (what, filters, expected) in cases {
        let response = search(&mut client, with(filters)).await;
        assert_eq!(sorted_ids(&response), strings(expected), "{what}");
        assert_eq!(response.total, expected.len() as u64, "{what}");
    }

    let status = guard(
        "search",
        client.search(with(Filters {
            year_from: Some(2022),
            year_to: Some(2020),
            ..Filters::default()
        })),
    )
    .await
    .expect_err("year_from after year_to");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facets_count_the_matching_visible_documents() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    let response = search(&mut client, query("kistérség")).await;
    assert_eq!(response.total, KISTERSEG_DOCS as u64);
    let facets = facets(&response);
    let names: HashSet<&str> = facets.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        HashSet::from(["kind", "sector", "settlement", "entity", "year"])
    );
    assert_eq!(
        facets["kind"],
        counts(&[
            ("project", 3),
            ("strategy", 1),
            ("report", 1),
            ("best_practice", 1),
            ("study", 1)
        ])
    );
    assert_eq!(
        facets["sector"],
        counts(&[
            ("gazdaság", 2),
            ("környezet", 2),
            ("oktatás", 1),
            ("közigazgatás", 1),
            ("kultúra", 1)
        ])
    );
    assert_eq!(
        facets["settlement"],
        counts(&[
            ("Edelény", 3),
            ("Szendrő", 2),
            ("Borsodszirák", 2),
            ("Abod", 1)
        ])
    );
    assert_eq!(
        facets["year"],
        counts(&[
            ("2016", 1),
            ("2017", 1),
            ("2018", 1),
            ("2019", 1),
            ("2020", 1),
            ("2021", 1),
            ("2022", 1)
        ])
    );
    // Values come most frequent first.
    for facet in &response.facets {
        let counts: Vec<u64> = facet.values.iter().map(|v| v.count).collect();
        let mut sorted = counts.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(counts, sorted, "facet {}", facet.name);
    }

    // Facets follow the filters.
    let filtered = search(
        &mut client,
        SearchRequest {
            query: "kistérség".into(),
            filters: Some(Filters {
                settlements: vec!["edeleny".into()],
                ..Filters::default()
            }),
            ..SearchRequest::default()
        },
    )
    .await;
    assert_eq!(
        facets_of(&filtered, "kind"),
        counts(&[("strategy", 1), ("report", 1), ("project", 1)])
    );

    // Asked not to, the server leaves facets out.
    let without = search(
        &mut client,
        SearchRequest {
            query: "kistérség".into(),
            no_facets: true,
            ..SearchRequest::default()
        },
    )
    .await;
    assert!(without.facets.iter().all(|f| f.values.is_empty()));
    assert_eq!(without.total, KISTERSEG_DOCS as u64);
}

fn facets_of(response: &SearchResponse, name: &str) -> BTreeMap<String, u64> {
    facets(response).remove(name).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snippets_highlight_valid_byte_ranges() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    for text in [
        "kistérség",
        "óvodai férőhelyek",
        "kozossegi szolgaltato ter",
    ] {
        let response = search(&mut client, query(text)).await;
        assert!(!response.hits.is_empty(), "query {text:?}");
        for hit in &response.hits {
            let snippet = hit
                .snippet
                .as_ref()
                .unwrap_or_else(|| panic!("{}: no snippet", hit.id));
            assert!(!snippet.text.is_empty(), "{}: empty snippet", hit.id);
            assert!(
                !snippet.highlights.is_empty(),
                "query {text:?}, {}: no highlight in {:?}",
                hit.id,
                snippet.text
            );
            let mut previous_end = 0;
            for h in &snippet.highlights {
                let (start, end) = (h.start as usize, h.end as usize);
                assert!(
                    start < end && end <= snippet.text.len(),
                    "{}: highlight {start}..{end} outside {:?}",
                    hit.id,
                    snippet.text
                );
                assert!(
                    snippet.text.is_char_boundary(start) && snippet.text.is_char_boundary(end),
                    "{}: highlight {start}..{end} splits a character of {:?}",
                    hit.id,
                    snippet.text
                );
                assert!(start >= previous_end, "{}: overlapping highlights", hit.id);
                previous_end = end;
            }
        }
    }

    // The highlighted words are the query's words as written in the text.
    let response = search(&mut client, query("kistérség")).await;
    for hit in &response.hits {
        let snippet = hit.snippet.as_ref().expect("snippet");
        for h in &snippet.highlights {
            let word = &snippet.text[h.start as usize..h.end as usize];
            assert_eq!(word.to_lowercase(), "kistérség", "{}", hit.id);
        }
    }

    // Without accents, the accented words are highlighted.
    let response = search(&mut client, query("kozossegi szolgaltato ter")).await;
    let snippet = response.hits[0].snippet.as_ref().expect("snippet");
    let words: HashSet<String> = snippet
        .highlights
        .iter()
        .map(|h| snippet.text[h.start as usize..h.end as usize].to_lowercase())
        .collect();
    assert!(words.contains("közösségi"), "{words:?}");

    // Asked not to, the server leaves snippets out.
    let response = search(
        &mut client,
        SearchRequest {
            query: "kistérség".into(),
            no_snippets: true,
            ..SearchRequest::default()
        },
    )
    .await;
    assert!(response.hits.iter().all(|h| h.snippet.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_documents_never_leave_the_node() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    // Words only the local document has.
    for text in ["feljegyzés", "belső", "ötletei", "Belső feljegyzés"] {
        let response = search(&mut client, query(text)).await;
        assert_eq!(response.total, 0, "query {text:?}");
        assert!(response.hits.is_empty(), "query {text:?}");
        for facet in &response.facets {
            assert!(facet.values.is_empty(), "query {text:?}: {facet:?}");
        }
    }
    // The operator sees it through the Node API, so it is really there.
    let operator = node
        .node
        .search(
            &tudashalo_core::search::SearchQuery {
                text: "feljegyzés".into(),
                limit: 10,
                ..Default::default()
            },
            tudashalo_core::search::Audience::Operator,
            None,
        )
        .expect("operator search");
    assert_eq!(operator.total, 1);

    // Everything (an empty query matches all): no local id, value or count.
    let all = search(
        &mut client,
        SearchRequest {
            query: String::new(),
            limit: 200,
            ..SearchRequest::default()
        },
    )
    .await;
    assert_eq!(all.total, VISIBLE_DOCS as u64);
    assert_eq!(all.hits.len(), VISIBLE_DOCS);
    assert!(!ids(&all).contains(&"local-1".to_string()));
    let facets = facets(&all);
    assert!(!facets["kind"].contains_key("minutes"), "{facets:?}");
    assert!(!facets["sector"].contains_key("titkos"), "{facets:?}");
    assert!(
        !facets["settlement"].contains_key("Titkosfalu"),
        "{facets:?}"
    );
    assert!(!facets["year"].contains_key("2030"), "{facets:?}");
    assert_eq!(facets["kind"]["other"], PALYAZAT_DOCS as u64);

    // Query words the local document shares with others: it never shows.
    for text in ["kistérség", "pályázat", "fejlesztési", "víz"] {
        let response = search(
            &mut client,
            SearchRequest {
                query: text.into(),
                limit: 200,
                ..SearchRequest::default()
            },
        )
        .await;
        assert!(
            !ids(&response).contains(&"local-1".to_string()),
            "query {text:?}"
        );
        assert_eq!(response.total, response.hits.len() as u64, "query {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_are_answered_leniently() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    for text in [
        "title:(",
        "\"unclosed",
        "kistérség AND (",
        "nincsilyenmezo:víz",
    ] {
        let result = guard("search", client.search(query(text))).await;
        let response = match result {
            Ok(response) => response.into_inner(),
            Err(status) => panic!("query {text:?} failed instead of being lenient: {status:?}"),
        };
        assert!(
            !response.ignored.is_empty(),
            "query {text:?}: nothing reported as ignored (total {}, hits {:?})",
            response.total,
            ids(&response)
        );
        assert!(!ids(&response).contains(&"local-1".to_string()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_paging_and_its_depth_limit() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    let page = |offset: u32, limit: u32| SearchRequest {
        query: "pályázat".into(),
        offset,
        limit,
        no_facets: true,
        ..SearchRequest::default()
    };
    let all = search(&mut client, page(0, 200)).await;
    assert_eq!(all.total, PALYAZAT_DOCS as u64);
    assert_eq!(all.hits.len(), PALYAZAT_DOCS);
    assert_sorted(&all);

    // The default limit is 10.
    let first = search(&mut client, page(0, 0)).await;
    assert_eq!(first.hits.len(), 10);
    assert_eq!(ids(&first), ids(&all)[..10].to_vec());

    let mut paged = Vec::new();
    for offset in (0..PALYAZAT_DOCS as u32 + 7).step_by(7) {
        let response = search(&mut client, page(offset, 7)).await;
        assert_eq!(response.total, PALYAZAT_DOCS as u64);
        paged.extend(ids(&response));
    }
    assert_eq!(paged, ids(&all));

    // Past the end: no hits, the same total.
    let beyond = search(&mut client, page(100, 10)).await;
    assert!(beyond.hits.is_empty());
    assert_eq!(beyond.total, PALYAZAT_DOCS as u64);

    // Exactly at the depth limit is allowed; one past it is not.
    let deepest = search(&mut client, page(990, 10)).await;
    assert!(deepest.hits.is_empty());
    for (offset, limit) in [(991, 10), (1000, 1), (900, 200)] {
        let status = guard("search", client.search(page(offset, limit)))
            .await
            .expect_err("offset + limit > 1000 must be refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("search_after"), "{status:?}");
    }
}

fn assert_sorted(response: &SearchResponse) {
    for pair in response.hits.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.score > b.score || (a.score == b.score && a.tie < b.tie),
            "hits out of order: {} ({}, {}) before {} ({}, {})",
            a.id,
            a.score,
            a.tie,
            b.id,
            b.score,
            b.tie
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_after_cursor_visits_every_hit_once() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    let all = search(
        &mut client,
        SearchRequest {
            query: "pályázat".into(),
            limit: 200,
            no_facets: true,
            ..SearchRequest::default()
        },
    )
    .await;
    assert_eq!(all.hits.len(), PALYAZAT_DOCS);
    // The fixture has equal scores, so the tie-breaker is exercised.
    let distinct_scores: HashSet<u32> = all.hits.iter().map(|h| h.score.to_bits()).collect();
    assert!(distinct_scores.len() < all.hits.len(), "no equal scores");
    for hit in &all.hits {
        assert_eq!(
            hit.tie,
            tudashalo_core::search::tie_of(&hit.id),
            "{}",
            hit.id
        );
    }

    for limit in [1u32, 4, 7, 30] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<Cursor> = None;
        for round in 0.. {
            assert!(
                round <= PALYAZAT_DOCS,
                "limit {limit}: the cursor does not advance"
            );
            let response = search(
                &mut client,
                SearchRequest {
                    query: "pályázat".into(),
                    limit,
                    search_after: cursor.clone(),
                    no_facets: true,
                    ..SearchRequest::default()
                },
            )
            .await;
            assert_eq!(response.total, PALYAZAT_DOCS as u64);
            let Some(last) = response.hits.last() else {
                break;
            };
            assert!(response.hits.len() <= limit as usize);
            cursor = Some(Cursor {
                score: last.score,
                tie: last.tie,
                member: String::new(),
                id: last.id.clone(),
            });
            seen.extend(ids(&response));
        }
        assert_eq!(seen, ids(&all), "limit {limit}");
    }

    // A cursor that is not a number is refused.
    let status = guard(
        "search",
        client.search(SearchRequest {
            query: "pályázat".into(),
            search_after: Some(Cursor {
                score: f32::NAN,
                ..Cursor::default()
            }),
            ..SearchRequest::default()
        }),
    )
    .await
    .expect_err("NaN cursor");
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn term_stats_drive_the_scores() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    let text = "kistérség fejlesztési víz";
    let stats = guard("term_stats", client.term_stats(query(text)))
        .await
        .expect("term_stats")
        .into_inner();
    assert!(stats.ignored.is_empty());
    assert!(stats.members.is_empty());
    let stats = stats.stats.expect("stats");
    assert_eq!(stats.total_docs, VISIBLE_DOCS as u64);
    let fields: HashSet<&str> = stats.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        HashSet::from(tudashalo_node::index::TEXT_FIELDS),
        "{stats:?}"
    );
    assert!(stats.fields.iter().all(|f| f.total_tokens > 0), "{stats:?}");
    assert!(!stats.terms.is_empty());
    for term in &stats.terms {
        assert!(term.doc_freq <= stats.total_docs, "{term:?}");
    }
    // "kistérség" is in the bodies of seven visible documents (and the local
    // one, which does not count).
    let body_df: Vec<u64> = stats
        .terms
        .iter()
        .filter(|t| t.field == "body_hu")
        .map(|t| t.doc_freq)
        .collect();
    assert!(body_df.contains(&(KISTERSEG_DOCS as u64)), "{stats:?}");

    // A word only the local document has: known to the node, unknown to the
    // federation.
    let local = guard("term_stats", client.term_stats(query("feljegyzés")))
        .await
        .expect("term_stats")
        .into_inner()
        .stats
        .expect("stats");
    assert!(!local.terms.is_empty());
    assert!(local.terms.iter().all(|t| t.doc_freq == 0), "{local:?}");

    // Scoring with the node's own statistics changes nothing.
    let request = |stats: Option<pb::CorpusStats>| SearchRequest {
        query: "kistérség fejlesztési".into(),
        stats,
        limit: 50,
        ..SearchRequest::default()
    };
    let own = guard("term_stats", client.term_stats(request(None)))
        .await
        .expect("term_stats")
        .into_inner()
        .stats
        .expect("stats");
    let plain = search(&mut client, request(None)).await;
    let supplied = search(&mut client, request(Some(own.clone()))).await;
    assert!(!plain.hits.is_empty());
    assert_eq!(ids(&plain), ids(&supplied));
    let scores = |r: &SearchResponse| r.hits.iter().map(|h| h.score).collect::<Vec<f32>>();
    assert_eq!(scores(&plain), scores(&supplied));
    assert_eq!(plain.total, supplied.total);

    // Statistics of a much larger federation change the scores.
    let mut inflated = own.clone();
    inflated.total_docs *= 10;
    let federated = search(&mut client, request(Some(inflated))).await;
    assert_eq!(sorted_ids(&federated), sorted_ids(&plain));
    assert_ne!(scores(&federated), scores(&plain));

    let mut rarer = own;
    for term in &mut rarer.terms {
        term.doc_freq = 1;
    }
    let rare = search(&mut client, request(Some(rarer))).await;
    let plain_top = plain.hits[0].score;
    let rare_top = rare
        .hits
        .iter()
        .find(|h| h.id == plain.hits[0].id)
        .expect("same hit")
        .score;
    assert!(
        rare_top > plain_top,
        "rarer terms must weigh more: {rare_top} vs {plain_top}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_document_returns_what_may_leave() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;

    let get = |id: &str| GetDocumentRequest {
        id: id.to_string(),
        member: String::new(),
    };
    let response = guard("get_document", client.get_document(get("strat-2021")))
        .await
        .expect("get_document")
        .into_inner();
    assert_eq!(response.member, "");
    let doc = response.document.expect("document");
    assert_eq!(doc.id, "strat-2021");
    assert_eq!(doc.title, "Edelényi kistérség stratégiája");
    assert!(doc.body.starts_with("A kistérség fejlesztési irányai"));
    assert_eq!(doc.kind, "strategy");
    assert_eq!(doc.visibility, "federated");
    assert_eq!(doc.year, Some(2021));
    assert_eq!(doc.sectors, vec!["gazdaság"]);
    assert_eq!(doc.settlements, vec!["Edelény"]);
    let extra: serde_json::Value =
        serde_json::from_str(&doc.extra_json).expect("extra_json is JSON");
    assert_eq!(
        extra,
        json!({"forras": "KSH", "megjegyzes": {"oldal": 12, "cimkek": ["a", "b"]}})
    );

    // Without unknown fields, extra_json is empty.
    let plain = guard("get_document", client.get_document(get("ovoda-2019")))
        .await
        .expect("get_document")
        .into_inner()
        .document
        .expect("document");
    assert_eq!(plain.visibility, "public");
    assert!(plain.extra_json.is_empty() || plain.extra_json == "{}");

    for id in ["local-1", "nincs-ilyen"] {
        let status = guard("get_document", client.get_document(get(id)))
            .await
            .expect_err("must not be found");
        assert_eq!(status.code(), Code::NotFound, "{id}: {status:?}");
    }
    // A local document and a missing one are indistinguishable.
    let local = client
        .get_document(get("local-1"))
        .await
        .expect_err("local");
    let missing = client
        .get_document(get("local-2"))
        .await
        .expect_err("missing");
    assert_eq!(
        local.message().replace("local-1", "X"),
        missing.message().replace("local-2", "X")
    );

    // A node has no members.
    let status = guard(
        "get_document",
        client.get_document(GetDocumentRequest {
            id: "strat-2021".into(),
            member: "valami".into(),
        }),
    )
    .await
    .expect_err("member at a node");
    assert_eq!(status.code(), Code::NotFound);
}

/// Whether connecting to `endpoint` and making one Info call fails. With TLS
/// 1.3 the server may refuse the client's certificate only after the client
/// believes the handshake is done, so the refusal can surface at either step.
async fn refused(endpoint: Endpoint) -> Result<(), String> {
    let channel = match guard("connect", endpoint.connect()).await {
        Err(e) => {
            eprintln!("refused at connect: {e:?}");
            return Ok(());
        }
        Ok(channel) => channel,
    };
    match guard("info", FederationClient::new(channel).info(InfoRequest {})).await {
        Err(e) => {
            eprintln!("refused at the first call: {e:?}");
            Ok(())
        }
        Ok(info) => Err(format!("the server answered: {:?}", info.into_inner().name)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_refuses_unauthenticated_clients() {
    let pki = Pki::new();
    let node = start(&pki).await;

    // The well-behaved client works, so a refusal below is about the client.
    let mut good = client(&node.url, &pki, "hub").await;
    guard("info", good.info(InfoRequest {}))
        .await
        .expect("info");

    // No client certificate at all.
    let endpoint = Endpoint::from_shared(node.url.clone())
        .expect("endpoint")
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pki.ca_pem())))
        .expect("tls config");
    refused(endpoint)
        .await
        .expect("a client without a certificate must be refused");

    // A certificate of another CA (that trusts our server's CA).
    let other = Pki::named("Idegen CA");
    let intruder = other.material("hub", Role::Hub);
    let endpoint = Endpoint::from_shared(node.url.clone())
        .expect("endpoint")
        .tls_config(
            ClientTlsConfig::new()
                .identity(Identity::from_pem(&intruder.cert_pem, &intruder.key_pem))
                .ca_certificate(Certificate::from_pem(pki.ca_pem())),
        )
        .expect("tls config");
    refused(endpoint)
        .await
        .expect("a client certificate of another CA must be refused");

    // The other CA's client that trusts only its own CA refuses our server.
    let endpoint = other
        .material("hub", Role::Hub)
        .endpoint(&node.url)
        .expect("endpoint");
    refused(endpoint)
        .await
        .expect("a server certificate of another CA must be refused");

    // Plain HTTP/2 without TLS.
    let plain_url = format!("http://{}", node.addr);
    let endpoint = Endpoint::from_shared(plain_url.clone()).expect("endpoint");
    refused(endpoint)
        .await
        .expect("a plaintext client must be refused");
    // The helper refuses to even build a plaintext endpoint.
    assert!(pki.material("hub", Role::Hub).endpoint(&plain_url).is_err());

    // The server survived all of it.
    guard("info", good.info(InfoRequest {}))
        .await
        .expect("info after refusals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_serving() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let channel = guard(
        "connect",
        pki.material("monitor", Role::Operator)
            .endpoint(&node.url)
            .expect("endpoint")
            .connect(),
    )
    .await
    .expect("connect");
    let mut health = HealthClient::new(channel);
    for service in ["", "tudashalo.v1.Federation"] {
        let response = guard(
            "health check",
            health.check(HealthCheckRequest {
                service: service.to_string(),
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("health check {service:?}: {e}"))
        .into_inner();
        assert_eq!(
            response.status,
            ServingStatus::Serving as i32,
            "service {service:?}"
        );
    }
    let status = guard(
        "health check",
        health.check(HealthCheckRequest {
            service: "nincs.ilyen.Service".into(),
        }),
    )
    .await
    .expect_err("unknown service");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_while_serving_is_visible_at_once() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut client = client(&node.url, &pki, "hub").await;
    let before = guard("info", client.info(InfoRequest {}))
        .await
        .expect("info")
        .into_inner();
    assert!(
        search(&mut client, query("tanyagondnok"))
            .await
            .hits
            .is_empty()
    );

    let files = super::support::Files::new();
    let path = files.write(
        "uj.jsonl",
        jsonl([
            json!({"id": "tanya-1", "title": "Tanyagondnoki szolgálat", "body": "A tanyagondnok hetente jár.", "kind": "project"}),
            json!({"id": "tanya-2", "title": "Helyi tanyagondnok", "body": "Tanyagondnok, csak helyben.", "visibility": "local"}),
        ]),
    );
    let served = node.node.clone();
    let report = tokio::task::spawn_blocking(move || super::support::import(&served, &path))
        .await
        .expect("import task");
    assert_eq!(report.added, 2);

    let after = guard("info", client.info(InfoRequest {}))
        .await
        .expect("info")
        .into_inner();
    assert_eq!(after.documents, before.documents + 1);
    assert_eq!(after.generation, before.generation + 1);
    let response = search(&mut client, query("tanyagondnok")).await;
    assert_eq!(ids(&response), vec!["tanya-1"]);
    assert_eq!(response.total, 1);

    // A local document alone changes the generation, and nothing the
    // federation can see: not the count, not the BM25 statistics.
    let stats_before = guard("term_stats", client.term_stats(query("tanyagondnok")))
        .await
        .expect("term_stats")
        .into_inner()
        .stats
        .expect("stats");
    let path = files.write(
        "helyi.jsonl",
        jsonl([json!({
            "id": "tanya-3",
            "title": "Tanyagondnok jegyzetei",
            "body": "Tanyagondnok tanyagondnok tanyagondnok: hosszú helyi jegyzet, sok szóval, amelyek semmilyen statisztikában nem számíthatnak.",
            "visibility": "local"
        })]),
    );
    let served = node.node.clone();
    let report = tokio::task::spawn_blocking(move || super::support::import(&served, &path))
        .await
        .expect("import task");
    assert_eq!(report.added, 1);
    let last = guard("info", client.info(InfoRequest {}))
        .await
        .expect("info")
        .into_inner();
    assert_eq!(last.documents, after.documents);
    assert_eq!(last.generation, after.generation + 1);
    let stats_after = guard("term_stats", client.term_stats(query("tanyagondnok")))
        .await
        .expect("term_stats")
        .into_inner()
        .stats
        .expect("stats");
    assert_eq!(stats_after, stats_before);
    let response = search(&mut client, query("tanyagondnok")).await;
    assert_eq!(ids(&response), vec!["tanya-1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_server() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let url = node.url.clone();
    // A connected client stays open across the shutdown.
    let mut client = client(&url, &pki, "hub").await;
    guard("info", client.info(InfoRequest {}))
        .await
        .expect("info");

    node.stop().await.expect("serve returns Ok after shutdown");

    // Nothing listens any more.
    let fresh = pki.material("hub", Role::Hub);
    assert!(
        guard("connect after shutdown", fresh.connect(&url))
            .await
            .is_err(),
        "connected to a stopped server"
    );
    assert!(
        guard("info after shutdown", client.info(InfoRequest {}))
            .await
            .is_err(),
        "a stopped server answered"
    );
}

/// What a hub relies on: a page as deep as the depth limit (a hub asks
/// each member for `offset + limit` hits at once), hits with ids and scores
/// only for ranking, and the same hits fetched whole by id with unchanged
/// scores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_pages_ids_only_hits_and_fetching_by_id() {
    let pki = Pki::new();
    let docs = (0..260).map(|i| {
        super::support::doc(
            &format!("kerekpar-{i:03}"),
            &format!("Kerékpárút {i}"),
            &"kerékpárút fejlesztés ".repeat(1 + i % 7),
        )
    });
    let node = TestNode::start(&pki, "melyseg", &jsonl(docs)).await;
    let mut client = client(&node.url, &pki, "hub").await;
    let request = |limit: u32| SearchRequest {
        query: "kerékpárút".into(),
        limit,
        no_facets: true,
        ..SearchRequest::default()
    };

    // Deeper than the 200 a page was once clamped to.
    let deep = search(&mut client, request(250)).await;
    assert_eq!(deep.total, 260);
    assert_eq!(deep.hits.len(), 250);
    assert_sorted(&deep);

    let bare = search(
        &mut client,
        SearchRequest {
            ids_only: true,
            ..request(250)
        },
    )
    .await;
    assert_eq!(ids(&bare), ids(&deep));
    for (b, d) in bare.hits.iter().zip(&deep.hits) {
        assert_eq!((b.score, b.tie), (d.score, d.tie));
        assert!(b.title.is_empty() && b.snippet.is_none(), "{b:?}");
    }

    // Three hits from deep in the ranking, fetched by id: whole, same scores.
    let wanted: Vec<String> = [3usize, 120, 249]
        .iter()
        .map(|i| deep.hits[*i].id.clone())
        .collect();
    let fetched = search(
        &mut client,
        SearchRequest {
            filters: Some(Filters {
                ids: wanted.clone(),
                ..Filters::default()
            }),
            ..request(10)
        },
    )
    .await;
    assert_eq!(ids(&fetched), wanted);
    for hit in &fetched.hits {
        let same = deep.hits.iter().find(|h| h.id == hit.id).expect("in deep");
        assert_eq!(hit.score, same.score);
        assert!(hit.title.starts_with("Kerékpárút"), "{hit:?}");
        assert!(hit.snippet.is_some(), "{hit:?}");
    }
}
