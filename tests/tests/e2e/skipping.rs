//! A hub leaves out of round two the members where nothing matches, keeps
//! their statuses truthful, trusts what it remembers of them only while
//! their live version watch says they are unchanged, and still answers
//! exactly what one node holding every document answers.

use std::time::Duration;

use tonic::transport::Channel;
use tudashalo_hub::federation::Hub;
use tudashalo_pki::Role;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};

use super::support::{Files, Pki, TestHub, TestNode, client_as, doc, guard, import, jsonl};

/// Common words everywhere, and "kondipark" in alfa's documents only.
fn documents(name: &str, rare: usize) -> Vec<serde_json::Value> {
    let mut docs: Vec<serde_json::Value> = (0..12)
        .map(|i| {
            doc(
                &format!("{name}-{i}"),
                &format!("Fejlesztési terv {i}"),
                "A települések önkormányzatai közösen fejlesztik a közszolgáltatásokat.",
            )
        })
        .collect();
    docs.extend((0..rare).map(|i| {
        doc(
            &format!("{name}-park-{i}"),
            &format!("Kondipark a faluban {i}"),
            &"A kondipark a sportolni vágyók közösségi tere, a játszótér mellett. ".repeat(i + 1),
        )
    }));
    docs
}

fn request(query: &str) -> pb::SearchRequest {
    pb::SearchRequest {
        query: query.into(),
        limit: 10,
        ..Default::default()
    }
}

async fn search(client: &mut FederationClient<Channel>, query: &str) -> pb::SearchResponse {
    guard("search", client.search(request(query)))
        .await
        .unwrap()
        .into_inner()
}

/// How many requests of `method` the node has audited.
fn calls(node: &TestNode, method: &str) -> usize {
    node.node
        .audit()
        .entries()
        .unwrap()
        .iter()
        .filter(|e| e.method == method)
        .count()
}

fn status<'a>(answer: &'a pb::SearchResponse, member: &str) -> &'a pb::MemberStatus {
    answer
        .members
        .iter()
        .find(|s| s.member == member)
        .unwrap_or_else(|| panic!("no status for {member}: {:?}", answer.members))
}

/// Waits (on the hub's signal, never a sleep) until `ready` holds of its
/// members' watched versions.
async fn until(hub: &Hub, what: &str, ready: impl Fn(&Hub) -> bool) {
    let mut changes = hub.version_changes();
    let wait = async {
        while !ready(hub) {
            changes.changed().await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("the hub's member watches never showed {what}"));
}

fn version_of(hub: &Hub, member: &str) -> Option<u64> {
    hub.members()
        .iter()
        .find(|m| m.name == member)
        .and_then(|m| m.data_version())
}

/// The hits as one node ranks them: ids, titles and snippets; scores
/// within float rounding.
fn assert_same_hits(via_hub: &pb::SearchResponse, one: &pb::SearchResponse) {
    let ids = |r: &pb::SearchResponse| r.hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(via_hub), ids(one));
    assert_eq!(via_hub.total, one.total);
    for (a, b) in via_hub.hits.iter().zip(&one.hits) {
        assert_eq!(a.title, b.title, "{}", a.id);
        assert_eq!(a.snippet, b.snippet, "{}: the snippet differs", a.id);
        assert!(
            (a.score - b.score).abs() <= 1e-4 * b.score.abs().max(1.0),
            "{}: {} vs {}",
            a.id,
            a.score,
            b.score
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_without_a_match_are_not_asked_and_a_change_is_seen() {
    let pki = Pki::new();
    let parts = [("alfa", 4), ("beta", 0), ("gamma", 0)];
    let mut nodes = Vec::new();
    let mut all = Vec::new();
    for (name, rare) in parts {
        let docs = documents(name, rare);
        all.extend(docs.clone());
        nodes.push(TestNode::start(&pki, name, &jsonl(docs)).await);
    }
    let combined = TestNode::start(&pki, "combined", &jsonl(all)).await;
    let members: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| (n.name.as_str(), n.url.as_str()))
        .collect();
    let hub = TestHub::start(&pki, "regio", &members).await;
    until(&hub.hub, "every member's version", |h| {
        h.members().iter().all(|m| m.data_version().is_some())
    })
    .await;
    let mut via_hub = client_as(&hub.url, &pki, "analyst", Role::Operator).await;
    let mut one = client_as(&combined.url, &pki, "analyst", Role::Operator).await;
    let (alfa, beta, gamma) = (&nodes[0], &nodes[1], &nodes[2]);

    // Fresh round one: beta and gamma hold no match and are not asked.
    let first = search(&mut via_hub, "kondipark").await;
    assert_same_hits(&first, &search(&mut one, "kondipark").await);
    assert!(!first.partial);
    assert_eq!(first.total, 4);
    for skipped in ["beta", "gamma"] {
        let s = status(&first, skipped);
        assert_eq!(s.state, MemberState::Ok as i32, "{s:?}");
        assert!(s.skipped, "{s:?}");
        assert_eq!(s.total, 0);
        assert!(s.message.contains("round one"), "{s:?}");
    }
    let s = status(&first, "alfa");
    assert!(!s.skipped && s.total == 4, "{s:?}");
    assert_eq!(
        calls(beta, "TermStats"),
        1,
        "statistics still come from every member"
    );
    assert_eq!(calls(beta, "Search"), 0);
    assert_eq!(calls(gamma, "Search"), 0);
    // Four matches in one member: whole hits in round two, no round three.
    assert_eq!(calls(alfa, "Search"), 1);
    let facet = first.facets.iter().find(|f| f.name == "member").unwrap();
    assert!(
        facet
            .values
            .iter()
            .any(|v| v.value == "beta" && v.count == 0),
        "{facet:?}"
    );

    // Remembered: no round one, and still nobody asked in vain.
    let second = search(&mut via_hub, "kondipark").await;
    assert_eq!(second.hits, first.hits);
    assert_eq!(second.stats_version, first.stats_version);
    assert_eq!(calls(alfa, "TermStats"), 1);
    assert_eq!(calls(beta, "Search"), 0);
    assert!(status(&second, "beta").message.contains("unchanged"));

    // beta (and the one node) gain a match; the hub hears of it from
    // beta's watch and asks beta again.
    let before = version_of(&hub.hub, "beta");
    let files = Files::new();
    let extra = jsonl(vec![doc(
        "beta-park",
        "Új kondipark",
        "Felavatták a kondipark új eszközeit.",
    )]);
    let path = files.write("extra.jsonl", &extra);
    import(&beta.node, &path);
    import(&combined.node, &path);
    until(&hub.hub, "beta's new version", |h| {
        version_of(h, "beta").is_some() && version_of(h, "beta") != before
    })
    .await;
    let third = search(&mut via_hub, "kondipark").await;
    assert_same_hits(&third, &search(&mut one, "kondipark").await);
    assert_eq!(third.total, 5);
    assert!(!status(&third, "beta").skipped);
    assert!(status(&third, "gamma").skipped);
    assert!(third.hits.iter().any(|h| h.id == "beta-park"));

    // A query nothing matches asks everyone, for their spellings.
    let typo = search(&mut via_hub, "kondiprak").await;
    let single = search(&mut one, "kondiprak").await;
    assert_eq!(typo.total, 0);
    assert!(
        typo.members.iter().all(|s| !s.skipped),
        "{:?}",
        typo.members
    );
    assert_eq!(typo.suggested_query, single.suggested_query);
    assert!(!typo.suggested_query.is_empty(), "a suggestion is expected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_streams_its_version_and_bounds_the_watches_per_caller() {
    let pki = Pki::new();
    let node = TestNode::start(&pki, "alfa", &jsonl(documents("alfa", 1))).await;
    let mut hub = client_as(&node.url, &pki, "regio", Role::Hub).await;
    let mut streams = Vec::new();
    for _ in 0..tudashalo_proto::watch::MAX_WATCHES_PER_PRINCIPAL {
        let stream = guard("watch", hub.watch_version(pb::WatchVersionRequest {}))
            .await
            .unwrap()
            .into_inner();
        streams.push(stream);
    }
    let first = guard("first version", streams[0].message())
        .await
        .unwrap()
        .unwrap()
        .version;
    assert_ne!(first, 0);
    let refused = guard("one watch too many", async {
        let mut s = hub
            .watch_version(pb::WatchVersionRequest {})
            .await?
            .into_inner();
        s.message().await
    })
    .await
    .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    assert!(refused.message().contains("per caller"), "{refused:?}");

    // An import that changes a document is a new version, at once.
    let files = Files::new();
    let path = files.write(
        "more.jsonl",
        jsonl(vec![doc("alfa-uj", "Új terv", "Egy új fejlesztési terv.")]),
    );
    import(&node.node, &path);
    let next = guard("next version", streams[0].message())
        .await
        .unwrap()
        .unwrap()
        .version;
    assert_ne!(next, first);
    assert_eq!(next, node.node.data_version().unwrap());
    assert_eq!(
        node.node
            .audit()
            .entries()
            .unwrap()
            .iter()
            .filter(|e| e.method == "WatchVersion")
            .count(),
        tudashalo_proto::watch::MAX_WATCHES_PER_PRINCIPAL + 1,
        "every watch asked for is audited"
    );
}
