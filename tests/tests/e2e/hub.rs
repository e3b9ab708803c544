//! The hub over real nodes: global ranking equal to one combined index,
//! partial answers when a member dies or stalls, hub of hubs, restarts.
//!
//! Faults are injected with a TCP proxy in front of a real node (it can stop
//! forwarding bytes) and by shutting real servers down; nothing of ours is
//! mocked.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tonic::transport::Channel;
use tudashalo_demo::config::parent;
use tudashalo_hub::config::HubConfig;
use tudashalo_pki::Role;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};
use tudashalo_proto::serve::ServerHandle;

use super::support::{
    Pki, TestHub, TestNode, client_as, guard, hub_config, hub_toml, jsonl, serve_loopback,
};

/// Hub `name` over `members` (name, url) with the default deadline
/// `deadline_ms`, served.
async fn start_hub(pki: &Pki, name: &str, members: &[(&str, &str)], deadline_ms: u64) -> TestHub {
    start_hub_with_parents(pki, name, members, &[], deadline_ms).await
}

/// Like [`start_hub`], trusting `parents` (`[[parent]]`) to relay through
/// it and to receive partials.
async fn start_hub_with_parents(
    pki: &Pki,
    name: &str,
    members: &[(&str, &str)],
    parents: &[&str],
    deadline_ms: u64,
) -> TestHub {
    let mut config = hub_config(pki, name, members);
    config.deadline_ms = deadline_ms;
    config.parents = parents.iter().map(|name| parent(name)).collect();
    TestHub::serve(&config).await
}

/// A TCP proxy in front of a real server that can stop forwarding bytes,
/// the way a stalled machine or a black-holed link behaves.
/// It stops accepting when dropped.
struct StallProxy {
    url: String,
    stall: watch::Sender<bool>,
    _server: ServerHandle<Infallible>,
}

impl StallProxy {
    async fn start(target: std::net::SocketAddr) -> StallProxy {
        let (stall, stalled) = watch::channel(false);
        let server = serve_loopback(|listener, shutdown| async move {
            let accept = async {
                while let Ok((inbound, _)) = listener.accept().await {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        continue;
                    };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    tokio::spawn(pump(ri, wo, stalled.clone()));
                    tokio::spawn(pump(ro, wi, stalled.clone()));
                }
            };
            tokio::select! {
                () = accept => {}
                () = shutdown => {}
            }
            Ok::<(), Infallible>(())
        })
        .await;
        StallProxy {
            url: server.url(),
            stall,
            _server: server,
        }
    }

    fn stall(&self) {
        let _ = self.stall.send(true);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut stalled: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // While stalled, bytes are held back (forever, in these tests).
        if stalled.wait_for(|s| !*s).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A deterministic Hungarian corpus: `n` documents with ids `prefix-i`.
fn corpus(prefix: &str, n: usize, seed: u64) -> Vec<serde_json::Value> {
    const WORDS: &[&str] = &[
        "fejlesztés",
        "fejlesztési",
        "fejlesztések",
        "önkormányzat",
        "önkormányzatok",
        "önkormányzati",
        "óvoda",
        "óvodai",
        "férőhely",
        "férőhelyek",
        "közösségi",
        "szolgáltató",
        "tér",
        "iskola",
        "iskolai",
        "egészségügyi",
        "szociális",
        "foglalkoztatás",
        "turizmus",
        "kerékpárút",
        "víziközmű",
        "ifjúsági",
        "sport",
        "kultúra",
        "stratégia",
        "pályázat",
        "beruházás",
        "munkahely",
        "képzés",
        "hátrányos",
        "helyzetű",
        "település",
        "kistérség",
        "együttműködés",
        "program",
        "programok",
        "projekt",
        "projektek",
    ];
    const KINDS: &[&str] = &[
        "strategy",
        "concept",
        "project_plan",
        "study",
        "evaluation",
        "best_practice",
        "report",
    ];
    const SETTLEMENTS: &[&str] = &[
        "Edelény",
        "Szendrő",
        "Kistelek",
        "Balástya",
        "Őrség",
        "Szécsény",
    ];
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |m: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % m
    };
    (0..n)
        .map(|i| {
            let title: Vec<&str> = (0..3 + next(4)).map(|_| WORDS[next(WORDS.len())]).collect();
            let body: Vec<&str> = (0..20 + next(60))
                .map(|_| WORDS[next(WORDS.len())])
                .collect();
            let visibility = if next(10) == 0 { "local" } else { "federated" };
            let sectors = ["oktatás", "szociális", "turizmus"][next(3)..].to_vec();
            json!({
                "id": format!("{prefix}-{i}"),
                "title": title.join(" "),
                "body": body.join(" "),
                "kind": KINDS[next(KINDS.len())],
                "sectors": sectors,
                "settlements": [SETTLEMENTS[next(SETTLEMENTS.len())]],
                "year": 2008 + next(13) as i64,
                "visibility": visibility,
            })
        })
        .collect()
}

fn request(query: &str) -> pb::SearchRequest {
    pb::SearchRequest {
        query: query.into(),
        limit: 10,
        ..Default::default()
    }
}

async fn search(
    client: &mut FederationClient<Channel>,
    request: pb::SearchRequest,
) -> pb::SearchResponse {
    guard("search", client.search(request))
        .await
        .expect("search")
        .into_inner()
}

fn ids(response: &pb::SearchResponse) -> Vec<String> {
    response.hits.iter().map(|h| h.id.clone()).collect()
}

fn state(response: &pb::SearchResponse, member: &str) -> MemberState {
    let status = response
        .members
        .iter()
        .find(|s| s.member == member)
        .unwrap_or_else(|| panic!("no status for {member}: {:?}", response.members));
    MemberState::try_from(status.state).expect("state")
}

/// Facets other than `member`, which only a hub has.
fn facets(response: &pb::SearchResponse) -> Vec<(String, Vec<(String, u64)>)> {
    let mut out: Vec<(String, Vec<(String, u64)>)> = response
        .facets
        .iter()
        .filter(|f| f.name != "member")
        .map(|f| {
            let mut values: Vec<(String, u64)> = f
                .values
                .iter()
                .map(|v| (v.value.clone(), v.count))
                .collect();
            values.sort();
            (f.name.clone(), values)
        })
        .collect();
    out.sort();
    out
}

/// How much later than its deadline an answer may come: scheduling on a
/// loaded two-core machine, not waiting on a member. A hang would take the
/// whole deadline of every member call again, or forever.
const MARGIN: Duration = Duration::from_millis(1_200);

const QUERIES: &[&str] = &[
    "fejlesztések",
    "önkormányzatok",
    "óvodai férőhelyek",
    "kozossegi szolgaltato",
    "\"közösségi szolgáltató\"",
    "iskola OR sport",
    "turizmus NOT kerékpárút",
    "projekt program",
    "egészségügyi szociális foglalkoztatás",
];

/// Queries whose order proximity decides (see [`add_proximity_documents`]).
const PROXIMITY_QUERIES: &[&str] = &["városi piac", "piac felújítás"];

/// Documents of equal length holding `városi`, `piac` and `felújítás`
/// (words the corpus lacks), some side by side, some far apart, spread over
/// the members (and all in the one node). The far ones hold the words more
/// often, so that only proximity can put the near ones first:
/// `városi piac` is near in prox-1 (alfa) and prox-4 (gamma), `piac
/// felújítás` in prox-2 (beta); prox-3 (gamma) is far for both.
fn add_proximity_documents(f: &Federation) {
    const F: &str = "az utca mentén a lakók régóta várnak a tavaszi munkákra és a nyári ünnepre";
    let doc = |id: &str, body: String| super::support::doc(id, "Beszámoló", &body);
    let docs = [
        (
            0,
            doc("prox-1", format!("{F} városi piac {F} felújítás {F} {F}")),
        ),
        (
            1,
            doc(
                "prox-2",
                format!("városi {F} piac {F} városi {F} piac felújítás {F}"),
            ),
        ),
        (
            2,
            doc(
                "prox-3",
                format!("piac {F} városi {F} felújítás {F} piac {F}"),
            ),
        ),
        (2, doc("prox-4", format!("{F} városi piac {F} {F} {F}"))),
    ];
    let files = super::support::Files::new();
    for (i, node) in f.nodes.iter().enumerate() {
        let mine = docs.iter().filter(|(n, _)| *n == i).map(|(_, d)| d.clone());
        let path = files.write(&format!("prox-{i}.jsonl"), jsonl(mine));
        super::support::import(&node.node, &path);
    }
    let path = files.write("prox-all.jsonl", jsonl(docs.into_iter().map(|(_, d)| d)));
    super::support::import(&f.combined.node, &path);
}

/// Three nodes behind a hub, and one node holding all their documents.
struct Federation {
    pki: Pki,
    nodes: Vec<TestNode>,
    combined: TestNode,
}

async fn federation() -> Federation {
    let pki = Pki::new();
    let parts = [("alfa", 40, 1), ("beta", 25, 2), ("gamma", 35, 3)];
    let mut all = Vec::new();
    let mut nodes = Vec::new();
    for (name, n, seed) in parts {
        let docs = corpus(name, n, seed);
        all.extend(docs.clone());
        nodes.push(TestNode::start(&pki, name, &jsonl(docs)).await);
    }
    let combined = TestNode::start(&pki, "combined", &jsonl(all)).await;
    Federation {
        pki,
        nodes,
        combined,
    }
}

fn member_list(nodes: &[TestNode]) -> Vec<(&str, &str)> {
    nodes
        .iter()
        .map(|n| (n.name.as_str(), n.url.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_top_k_equals_one_combined_node() {
    let f = federation().await;
    add_proximity_documents(&f);
    let hub = start_hub(&f.pki, "regio", &member_list(&f.nodes), 5_000).await;
    let mut via_hub = client_as(&hub.url, &f.pki, "analyst", Role::Operator).await;
    let mut one = client_as(&f.combined.url, &f.pki, "analyst", Role::Operator).await;

    let mut nonempty = 0;
    for query in QUERIES.iter().chain(PROXIMITY_QUERIES) {
        for (offset, filters) in [
            (0, None),
            (5, None),
            (
                0,
                Some(pb::Filters {
                    kinds: vec!["strategy".into(), "study".into(), "report".into()],
                    year_from: Some(2010),
                    year_to: Some(2018),
                    ..Default::default()
                }),
            ),
        ] {
            let r = pb::SearchRequest {
                offset,
                filters: filters.clone(),
                ..request(query)
            };
            let federated = search(&mut via_hub, r.clone()).await;
            let single = search(&mut one, r).await;
            assert!(!federated.partial, "{query}: {:?}", federated.members);
            assert_eq!(
                ids(&federated),
                ids(&single),
                "{query} offset {offset} filters {filters:?}: ranking differs"
            );
            assert_eq!(federated.total, single.total, "{query}: totals differ");
            assert_eq!(
                facets(&federated),
                facets(&single),
                "{query}: facets differ"
            );
            for (a, b) in federated.hits.iter().zip(&single.hits) {
                assert!(
                    (a.score - b.score).abs() <= 1e-4 * b.score.abs().max(1.0),
                    "{query}: {} vs {}",
                    a.score,
                    b.score
                );
                assert!(
                    f.nodes.iter().any(|n| n.name == a.member),
                    "hit names its member: {:?}",
                    a.member
                );
                // Fetched after ranking, from the member that holds the hit.
                assert!(a.snippet.is_some(), "{query}: {} has no snippet", a.id);
                assert_eq!(a.snippet, b.snippet, "{query}: snippet of {}", a.id);
            }
            if !federated.hits.is_empty() {
                nonempty += 1;
            }
        }
    }
    assert!(
        nonempty >= QUERIES.len() + PROXIMITY_QUERIES.len(),
        "the queries must actually hit documents"
    );

    // Proximity decides: the documents with the words side by side come
    // first, through one node and (asserted above) through the hub alike,
    // although the far ones hold the words more often.
    for (query, near) in [
        ("városi piac", &["prox-1", "prox-4"][..]),
        ("piac felújítás", &["prox-2"][..]),
    ] {
        let single = search(&mut one, request(query)).await;
        let mut first: Vec<String> = ids(&single)[..near.len()].to_vec();
        first.sort();
        assert_eq!(first, near, "{query}: {:?}", ids(&single));
    }
    // Without proximity (an OR query gets none), term frequency decides.
    let or = search(&mut one, request("városi OR piac")).await;
    assert_eq!(ids(&or)[0], "prox-2", "{:?}", ids(&or));

    // The member facet counts each member's matches.
    let r = search(&mut via_hub, request("fejlesztés")).await;
    let member_facet = r
        .facets
        .iter()
        .find(|f| f.name == "member")
        .expect("member facet");
    let sum: u64 = member_facet.values.iter().map(|v| v.count).sum();
    assert_eq!(sum, r.total);
}

/// The `TermStats` calls a node has served (its audit log).
fn term_stats_calls(node: &TestNode) -> usize {
    node.node
        .audit()
        .entries()
        .expect("audit entries")
        .iter()
        .filter(|e| e.method == "TermStats")
        .count()
}

/// Round one is skipped for statistics the hub has already summed, and a
/// member whose documents change since is noticed: the answer is still the
/// one-index answer, never one scored with stale statistics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remembered_statistics_are_reused_until_a_member_changes() {
    let f = federation().await;
    let hub = start_hub(&f.pki, "regio", &member_list(&f.nodes), 5_000).await;
    let mut via_hub = client_as(&hub.url, &f.pki, "analyst", Role::Operator).await;
    let mut one = client_as(&f.combined.url, &f.pki, "analyst", Role::Operator).await;
    let query = "fejlesztési program";

    let first = search(&mut via_hub, request(query)).await;
    assert_eq!(term_stats_calls(&f.nodes[0]), 1);
    let second = search(&mut via_hub, request(query)).await;
    assert_eq!(
        term_stats_calls(&f.nodes[0]),
        1,
        "the second search reuses the summed statistics"
    );
    assert_eq!(first.hits, second.hits);
    assert_eq!(first.total, second.total);
    assert_ne!(second.stats_version, 0);

    // alfa (and the one node) gain documents full of the query's words,
    // which changes every document frequency and the corpus size.
    let extra: Vec<serde_json::Value> = (0..12)
        .map(|i| {
            super::support::doc(
                &format!("uj-{i}"),
                "Fejlesztési program",
                "A fejlesztési program a települések programja, fejlesztési célokkal.",
            )
        })
        .collect();
    let files = super::support::Files::new();
    let path = files.write("extra.jsonl", jsonl(extra));
    super::support::import(&f.nodes[0].node, &path);
    super::support::import(&f.combined.node, &path);

    let third = search(&mut via_hub, request(query)).await;
    let single = search(&mut one, request(query)).await;
    assert_eq!(
        term_stats_calls(&f.nodes[0]),
        2,
        "a changed member makes the hub gather statistics again"
    );
    assert!(!third.partial);
    assert_ne!(third.stats_version, second.stats_version);
    assert_eq!(ids(&third), ids(&single));
    assert_eq!(third.total, single.total);
    for (a, b) in third.hits.iter().zip(&single.hits) {
        assert!(
            (a.score - b.score).abs() <= 1e-4 * b.score.abs().max(1.0),
            "{} vs {}: scored with stale statistics",
            a.score,
            b.score
        );
    }
    // And the fresh sums are remembered in turn.
    search(&mut via_hub, request(query)).await;
    assert_eq!(term_stats_calls(&f.nodes[0]), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_after_pages_through_the_federation() {
    let f = federation().await;
    let hub = start_hub(&f.pki, "regio", &member_list(&f.nodes), 5_000).await;
    let mut client = client_as(&hub.url, &f.pki, "analyst", Role::Operator).await;
    let all = search(
        &mut client,
        pb::SearchRequest {
            limit: 500,
            ..request("fejlesztés OR program")
        },
    )
    .await;
    assert!(
        all.hits.len() > 20,
        "enough hits to page: {}",
        all.hits.len()
    );
    let mut paged = Vec::new();
    let mut cursor: Option<pb::Cursor> = None;
    loop {
        let page = search(
            &mut client,
            pb::SearchRequest {
                limit: 7,
                search_after: cursor.clone(),
                ..request("fejlesztés OR program")
            },
        )
        .await;
        let Some(last) = page.hits.last() else { break };
        cursor = Some(pb::Cursor {
            score: last.score,
            tie: last.tie,
            member: last.member.clone(),
            id: last.id.clone(),
        });
        paged.extend(page.hits.iter().map(|h| (h.member.clone(), h.id.clone())));
    }
    let expected: Vec<(String, String)> = all
        .hits
        .iter()
        .map(|h| (h.member.clone(), h.id.clone()))
        .collect();
    assert_eq!(paged, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_member_yields_a_partial_answer_within_the_deadline() {
    let f = federation().await;
    let deadline = Duration::from_millis(2_000);
    let hub = start_hub(
        &f.pki,
        "regio",
        &member_list(&f.nodes),
        deadline.as_millis() as u64,
    )
    .await;
    let mut client = client_as(&hub.url, &f.pki, "analyst", Role::Operator).await;
    let before = search(&mut client, request("fejlesztés")).await;
    assert!(!before.partial);

    let mut nodes = f.nodes;
    let victim = nodes.remove(1);
    let victim_name = victim.name.clone();
    let _victim = victim.go_down().await;

    let started = Instant::now();
    let after = search(&mut client, request("fejlesztés")).await;
    let elapsed = started.elapsed();
    assert!(elapsed < deadline + MARGIN, "answered in {elapsed:?}");
    assert!(after.partial);
    assert_eq!(
        state(&after, &victim_name),
        MemberState::Unavailable,
        "{:?}",
        after.members
    );
    for n in &nodes {
        assert_eq!(state(&after, &n.name), MemberState::Ok);
    }
    assert!(after.hits.iter().all(|h| h.member != victim_name));
    assert!(!after.hits.is_empty(), "the other members' hits are there");
    let victim_total = before
        .members
        .iter()
        .find(|s| s.member == victim_name)
        .map_or(0, |s| s.total);
    assert_eq!(
        after.total,
        before.total - victim_total,
        "the total is that of the members that answered"
    );

    // Asked again, the dead member is known to be down: no waiting at all.
    let started = Instant::now();
    let again = search(&mut client, request("fejlesztés")).await;
    assert_eq!(state(&again, &victim_name), MemberState::Unavailable);
    assert!(started.elapsed() < deadline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_member_times_out_and_the_others_answer() {
    let f = federation().await;
    let proxy = StallProxy::start(f.nodes[0].addr).await;
    let stalled_name = f.nodes[0].name.clone();
    let mut members = member_list(&f.nodes);
    members[0].1 = &proxy.url;
    let deadline = Duration::from_millis(800);
    let hub = start_hub(&f.pki, "regio", &members, deadline.as_millis() as u64).await;
    let mut client = client_as(&hub.url, &f.pki, "analyst", Role::Operator).await;
    let healthy = search(&mut client, request("fejlesztés")).await;
    assert!(!healthy.partial, "{:?}", healthy.members);

    proxy.stall();
    let started = Instant::now();
    let answer = search(&mut client, request("fejlesztés")).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < deadline + MARGIN,
        "deadline plus a small margin: {elapsed:?}"
    );
    assert_eq!(
        state(&answer, &stalled_name),
        MemberState::TimedOut,
        "{:?}",
        answer.members
    );
    assert!(answer.partial);
    assert!(answer.hits.iter().all(|h| h.member != stalled_name));
    assert!(!answer.hits.is_empty());

    // The client's own, shorter gRPC timeout is honoured too.
    let mut short = tonic::Request::new(request("fejlesztés"));
    short.set_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let answer = guard("search", client.search(short))
        .await
        .expect("search")
        .into_inner();
    assert!(started.elapsed() < Duration::from_millis(300) + MARGIN);
    assert_eq!(state(&answer, &stalled_name), MemberState::TimedOut);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_of_hubs_composes_ranking_paths_and_statuses() {
    let f = federation().await;
    // The regional hubs trust the national hub as their parent: it relays
    // its clients' requests through them.
    let parents = ["orszagos"];
    let north = start_hub_with_parents(
        &f.pki,
        "north",
        &member_list(&f.nodes[..2]),
        &parents,
        5_000,
    )
    .await;
    let south = start_hub_with_parents(
        &f.pki,
        "south",
        &member_list(&f.nodes[2..]),
        &parents,
        5_000,
    )
    .await;
    let national = start_hub(
        &f.pki,
        "orszagos",
        &[("north", north.url.as_str()), ("south", south.url.as_str())],
        5_000,
    )
    .await;
    let mut client = client_as(&national.url, &f.pki, "ksh", Role::Operator).await;
    let mut one = client_as(&f.combined.url, &f.pki, "ksh", Role::Operator).await;
    for query in QUERIES {
        let federated = search(&mut client, request(query)).await;
        let single = search(&mut one, request(query)).await;
        assert_eq!(ids(&federated), ids(&single), "{query}");
        assert_eq!(federated.total, single.total, "{query}");
        assert_eq!(facets(&federated), facets(&single), "{query}");
        for hit in &federated.hits {
            let (region, node) = hit.member.split_once('/').expect("member path region/node");
            assert!(["north", "south"].contains(&region));
            assert!(f.nodes.iter().any(|n| n.name == node), "{}", hit.member);
        }
    }
    let r = search(&mut client, request("fejlesztés")).await;
    let paths: Vec<&str> = r.members.iter().map(|s| s.member.as_str()).collect();
    assert_eq!(
        paths,
        ["north", "north/alfa", "north/beta", "south", "south/gamma"]
    );

    // A narrowed search reaches one node below a regional hub.
    let narrowed = search(
        &mut client,
        pb::SearchRequest {
            members: vec!["north/beta".into()],
            ..request("fejlesztés")
        },
    )
    .await;
    assert!(!narrowed.hits.is_empty());
    assert!(narrowed.hits.iter().all(|h| h.member == "north/beta"));

    // Get a document through two hubs.
    let hit = &r.hits[0];
    let doc = guard(
        "get",
        client.get_document(pb::GetDocumentRequest {
            id: hit.id.clone(),
            member: hit.member.clone(),
        }),
    )
    .await
    .expect("get through hubs")
    .into_inner();
    assert_eq!(doc.member, hit.member);
    assert_eq!(doc.document.expect("document").id, hit.id);

    // A regional hub going down makes the national answer partial, with the
    // rest still there.
    let _south = south.go_down().await;
    let partial = search(&mut client, request("fejlesztés")).await;
    assert!(partial.partial);
    assert_eq!(state(&partial, "south"), MemberState::Unavailable);
    assert!(partial.hits.iter().all(|h| h.member.starts_with("north/")));
    drop(north);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_through_the_hub_respect_visibility() {
    let pki = Pki::new();
    let docs = jsonl([
        json!({"id": "nyilt", "title": "Fejlesztési terv", "body": "fejlesztés", "visibility": "federated", "extra_field": 7}),
        json!({"id": "belso", "title": "Belső fejlesztés", "body": "fejlesztés", "visibility": "local"}),
    ]);
    let node = TestNode::start(&pki, "edelenyi", &docs).await;
    let hub = start_hub(&pki, "regio", &[("edelenyi", node.url.as_str())], 5_000).await;
    let mut client = client_as(&hub.url, &pki, "analyst", Role::Operator).await;
    let found = guard(
        "get",
        client.get_document(pb::GetDocumentRequest {
            id: "nyilt".into(),
            member: "edelenyi".into(),
        }),
    )
    .await
    .expect("federated document")
    .into_inner();
    assert!(
        found
            .document
            .expect("doc")
            .extra_json
            .contains("extra_field")
    );
    let hidden = guard(
        "get",
        client.get_document(pb::GetDocumentRequest {
            id: "belso".into(),
            member: "edelenyi".into(),
        }),
    )
    .await
    .expect_err("local document stays at the node");
    assert_eq!(hidden.code(), tonic::Code::NotFound);
    let unnamed = guard(
        "get",
        client.get_document(pb::GetDocumentRequest {
            id: "nyilt".into(),
            member: String::new(),
        }),
    )
    .await
    .expect_err("a hub needs the member");
    assert_eq!(unnamed.code(), tonic::Code::InvalidArgument);
    let r = search(&mut client, request("fejlesztés")).await;
    assert_eq!(ids(&r), ["nyilt"]);
    assert_eq!(r.total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_hub_loses_nothing() {
    let f = federation().await;
    let hub = start_hub(&f.pki, "regio", &member_list(&f.nodes), 5_000).await;
    let mut client = client_as(&hub.url, &f.pki, "analyst", Role::Operator).await;
    let before = search(&mut client, request("önkormányzatok")).await;
    let config = hub.config.clone();
    hub.stop().await;
    let again = TestHub::serve(&config).await;
    let mut client = client_as(&again.url, &f.pki, "analyst", Role::Operator).await;
    let after = search(&mut client, request("önkormányzatok")).await;
    assert_eq!(ids(&before), ids(&after));
    assert_eq!(before.total, after.total);
    assert!(!after.partial);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_with_no_member_says_so() {
    let pki = Pki::new();
    let node = TestNode::start(&pki, "edelenyi", &jsonl(corpus("e", 5, 9))).await;
    let url = node.url.clone();
    node.stop().await.expect("stopped");
    let hub = start_hub(&pki, "regio", &[("edelenyi", url.as_str())], 1_000).await;
    let mut client = client_as(&hub.url, &pki, "analyst", Role::Operator).await;
    let r = search(&mut client, request("fejlesztés")).await;
    assert!(r.partial);
    assert_eq!(r.total, 0);
    assert!(r.hits.is_empty());
    assert_eq!(state(&r, "edelenyi"), MemberState::Unavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_config_errors_name_the_problem() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |text: String| {
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, text).expect("write");
        path
    };
    // Each file is what the writer makes of a configuration it does not
    // check, so that only the loader's checks stand between it and a hub.
    let with_members = |members: &[(&str, &str)]| hub_toml(&hub_config(&pki, "regio", members));
    let err = HubConfig::load(&write(format!("bogus = 1\n{}", with_members(&[]))))
        .expect_err("unknown key");
    assert!(err.to_string().contains("bogus"), "{err}");
    let err = HubConfig::load(&write(with_members(&[
        ("a", "https://h:1"),
        ("a", "https://h:2"),
    ])))
    .expect_err("duplicate");
    assert!(
        err.to_string().contains("duplicate member name \"a\""),
        "{err}"
    );
    let err = HubConfig::load(&write(with_members(&[("a", "127.0.0.1:7701")])))
        .expect_err("malformed endpoint");
    assert!(err.to_string().contains("https://"), "{err}");
    let mut missing = hub_config(&pki, "regio", &[]);
    missing.tls.cert = "missing.pem".into();
    let config = HubConfig::load(&write(hub_toml(&missing))).expect("syntactically fine");
    let err = config
        .tls_files()
        .load()
        .expect_err("unreadable certificate");
    assert!(err.to_string().contains("missing.pem"), "{err}");
}
