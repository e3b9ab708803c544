//! Who may ask a node what: the deny-by-default `[policy]`, requests relayed
//! by hubs on behalf of others (`tudashalo-on-behalf-of`, `tudashalo-via`),
//! and the hash-chained audit log, over real mTLS.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::json;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tudashalo_node::Node;
use tudashalo_node::audit::Damage;
use tudashalo_node::policy::ON_BEHALF_OF_HEADER;
use tudashalo_pki::Role;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{GetDocumentRequest, InfoRequest, SearchRequest};

use super::support::{
    OWNED_POLICY, Pki, TestNode, assert_denied, client_as, guard, jsonl, node_cli, relayed,
};

/// One document of each visibility, all about "fejlesztés".
fn corpus() -> String {
    jsonl([
        json!({"id": "pub-1", "title": "Nyilvános fejlesztés", "body": "A kistérség fejlesztési terve.", "visibility": "public"}),
        json!({"id": "fed-1", "title": "Szövetségi fejlesztés", "body": "Fejlesztési adatok a régiónak.", "visibility": "federated"}),
        json!({"id": "loc-1", "title": "Helyi fejlesztés", "body": "Belső fejlesztési jegyzet.", "visibility": "local"}),
    ])
}

async fn start(pki: &Pki) -> TestNode {
    TestNode::start_with_policy(pki, "edelenyi", &corpus(), OWNED_POLICY).await
}

type Client = FederationClient<Channel>;

fn query(text: &str) -> SearchRequest {
    SearchRequest {
        query: text.to_string(),
        ..SearchRequest::default()
    }
}

async fn search_ids(
    client: &mut Client,
    request: tonic::Request<SearchRequest>,
) -> Result<BTreeSet<String>, Status> {
    let response = guard("search", client.search(request)).await?.into_inner();
    Ok(response.hits.into_iter().map(|h| h.id).collect())
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn get(client: &mut Client, id: &str) -> Result<String, Status> {
    let response = guard(
        "get_document",
        client.get_document(GetDocumentRequest {
            id: id.into(),
            member: String::new(),
        }),
    )
    .await?;
    Ok(response.into_inner().document.expect("document").id)
}

async fn info_documents(client: &mut Client) -> Result<u64, Status> {
    Ok(guard("info", client.info(InfoRequest {}))
        .await?
        .into_inner()
        .documents)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_hub_sees_public_and_federated_documents() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut hub = client_as(&node.url, &pki, "regio", Role::Hub).await;
    assert_eq!(info_documents(&mut hub).await.expect("info"), 2);
    let ids = search_ids(&mut hub, tonic::Request::new(query("fejlesztés")))
        .await
        .expect("search");
    assert_eq!(ids, set(&["fed-1", "pub-1"]));
    guard("term_stats", hub.term_stats(query("fejlesztés")))
        .await
        .expect("term_stats");
    assert_eq!(get(&mut hub, "fed-1").await.expect("get"), "fed-1");
    let status = get(&mut hub, "loc-1").await.expect_err("a local document");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_need_a_grant_and_only_owners_see_local_documents() {
    let pki = Pki::new();
    let node = start(&pki).await;

    // Without a grant: refused, naming the principal and the permission.
    let mut stranger = client_as(&node.url, &pki, "stranger", Role::Operator).await;
    assert_denied(
        search_ids(&mut stranger, tonic::Request::new(query("fejlesztés"))).await,
        &["operator:stranger may not search on node edelenyi (needs search)"],
    );
    assert_denied(info_documents(&mut stranger).await, &["needs search"]);
    assert_denied(
        get(&mut stranger, "pub-1").await,
        &["operator:stranger", "needs get"],
    );

    // With a grant: allowed, but local documents stay at home.
    let mut analyst = client_as(&node.url, &pki, "analyst", Role::Operator).await;
    let ids = search_ids(&mut analyst, tonic::Request::new(query("fejlesztés")))
        .await
        .expect("search");
    assert_eq!(ids, set(&["fed-1", "pub-1"]));
    assert_eq!(info_documents(&mut analyst).await.expect("info"), 2);
    assert_eq!(
        get(&mut analyst, "loc-1").await.expect_err("local").code(),
        Code::NotFound
    );

    // The node's own operator sees everything over gRPC too.
    let mut owner = client_as(&node.url, &pki, "gazda", Role::Operator).await;
    let ids = search_ids(&mut owner, tonic::Request::new(query("fejlesztés")))
        .await
        .expect("search");
    assert_eq!(ids, set(&["fed-1", "loc-1", "pub-1"]));
    assert_eq!(info_documents(&mut owner).await.expect("info"), 3);
    assert_eq!(get(&mut owner, "loc-1").await.expect("get"), "loc-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_role_may_not_search() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut ksh = client_as(&node.url, &pki, "ksh", Role::National).await;
    assert_denied(
        info_documents(&mut ksh).await,
        &["national:ksh may not search on node edelenyi (needs search)"],
    );
    assert_denied(
        search_ids(&mut ksh, tonic::Request::new(query("fejlesztés"))).await,
        &["national:ksh", "needs search"],
    );
    assert_denied(
        guard("term_stats", ksh.term_stats(query("fejlesztés"))).await,
        &["needs search"],
    );
    assert_denied(get(&mut ksh, "pub-1").await, &["needs get"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_roles_and_unlisted_hubs_are_refused() {
    let pki = Pki::new();
    let node = start(&pki).await;
    // Another node (role node) asking directly.
    let mut other_node = client_as(&node.url, &pki, "miskolci", Role::Node).await;
    assert_denied(
        info_documents(&mut other_node).await,
        &["node:miskolci may not search"],
    );
    // A hub, but not one of this node's.
    let mut rogue = client_as(&node.url, &pki, "rogue", Role::Hub).await;
    assert_denied(
        search_ids(&mut rogue, tonic::Request::new(query("fejlesztés"))).await,
        &["hub:rogue may not search", "not listed in [policy] hubs"],
    );
    assert_denied(get(&mut rogue, "pub-1").await, &["needs get"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_name_with_the_wrong_role_is_refused() {
    // In a PKI of its own, "regio" holds a node certificate, then (in
    // another PKI) an operator certificate: neither is the hub `regio`.
    for role in [Role::Node, Role::Operator] {
        let pki = Pki::new();
        let node = start(&pki).await;
        let mut imposter = client_as(&node.url, &pki, "regio", role).await;
        assert_denied(
            search_ids(&mut imposter, tonic::Request::new(query("fejlesztés"))).await,
            &[&format!("{role}:regio may not search on node edelenyi")],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubs_relay_on_behalf_of_others_within_their_rights() {
    let pki = Pki::new();
    let node = start(&pki).await;
    let mut hub = client_as(&node.url, &pki, "regio", Role::Hub).await;
    let ask = |behalf: Option<&str>, via: Option<&str>| relayed(query("fejlesztés"), behalf, via);

    // A national user through the hub is treated as national: no search.
    assert_denied(
        search_ids(&mut hub, ask(Some("national:ksh"), None)).await,
        &["national:ksh may not search on node edelenyi (needs search; relayed by hub:regio)"],
    );
    assert_denied(
        guard(
            "info",
            hub.info(relayed(
                InfoRequest {},
                Some("national:ksh"),
                Some("orszagos,regio"),
            )),
        )
        .await,
        &["national:ksh", "needs search"],
    );
    // An operator without a grant, through the hub: refused too.
    assert_denied(
        search_ids(&mut hub, ask(Some("operator:stranger"), None)).await,
        &["operator:stranger"],
    );
    // A granted operator through the hub: allowed, federation view.
    let ids = search_ids(
        &mut hub,
        ask(Some("operator:analyst"), Some("orszagos,regio")),
    )
    .await
    .expect("search");
    assert_eq!(ids, set(&["fed-1", "pub-1"]));
    // Even the node's owner sees no local document through a hub.
    let ids = search_ids(&mut hub, ask(Some("operator:gazda"), None))
        .await
        .expect("search");
    assert_eq!(ids, set(&["fed-1", "pub-1"]));
    // Only the chain, no requester: the hub acts for itself.
    let ids = search_ids(&mut hub, ask(None, Some("orszagos,regio")))
        .await
        .expect("search");
    assert_eq!(ids, set(&["fed-1", "pub-1"]));

    // An unlisted hub may not relay, not even for someone allowed.
    let mut rogue = client_as(&node.url, &pki, "rogue", Role::Hub).await;
    assert_denied(
        search_ids(&mut rogue, ask(Some("operator:analyst"), None)).await,
        &["hub:rogue is not a hub of node edelenyi"],
    );
    // A principal that is not a hub sending the header is refused (not
    // ignored), even when it could ask for itself.
    let mut analyst = client_as(&node.url, &pki, "analyst", Role::Operator).await;
    assert_denied(
        search_ids(&mut analyst, ask(Some("operator:gazda"), None)).await,
        &["operator:analyst is not a hub", ON_BEHALF_OF_HEADER],
    );
    assert!(search_ids(&mut analyst, ask(None, None)).await.is_ok());

    // Malformed headers are invalid requests.
    for (behalf, via) in [
        (Some("ksh"), None),
        (Some("king:ksh"), None),
        (None, Some("a,,b")),
    ] {
        let status = search_ids(&mut hub, ask(behalf, via))
            .await
            .expect_err("malformed");
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{behalf:?} {via:?}: {status:?}"
        );
    }
}

/// Runs `tudashalo-node audit --data DIR ARGS...`: (exit code, stdout).
fn audit_cli(data: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec![
        std::ffi::OsStr::new("audit"),
        "--data".as_ref(),
        data.as_os_str(),
    ];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    node_cli(&all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_records_every_request_and_reveals_tampering() {
    let pki = Pki::new();
    let node = start(&pki).await;
    {
        let mut hub = client_as(&node.url, &pki, "regio", Role::Hub).await;
        let hits = search_ids(&mut hub, tonic::Request::new(query("fejlesztés")))
            .await
            .expect("search");
        assert_eq!(hits.len(), 2);
        get(&mut hub, "pub-1").await.expect("get");
        assert_eq!(
            get(&mut hub, "loc-1").await.expect_err("local").code(),
            Code::NotFound
        );
        let relayed_search = relayed(query("titok"), Some("national:ksh"), Some("orszagos,regio"));
        assert!(search_ids(&mut hub, relayed_search).await.is_err());
        let mut stranger = client_as(&node.url, &pki, "stranger", Role::Operator).await;
        assert!(info_documents(&mut stranger).await.is_err());
    }

    let log = node.node.audit();
    let entries = log.entries().expect("entries");
    assert_eq!(entries.len(), 5, "{entries:#?}");
    let methods: Vec<&str> = entries.iter().map(|e| e.method.as_str()).collect();
    assert_eq!(
        methods,
        ["Search", "GetDocument", "GetDocument", "Search", "Info"]
    );
    let search = &entries[0];
    assert_eq!(search.principal, "hub:regio");
    assert_eq!(search.on_behalf_of, None);
    assert!(search.via.is_empty());
    assert_eq!(search.query.as_deref(), Some("fejlesztés"));
    assert_eq!(search.results, Some(2));
    assert_eq!(search.outcome, "ok");
    assert_eq!(entries[1].document.as_deref(), Some("pub-1"));
    assert_eq!(entries[1].results, Some(1));
    assert!(
        entries[2].outcome.starts_with("error: "),
        "{}",
        entries[2].outcome
    );
    let refused = &entries[3];
    assert_eq!(refused.principal, "hub:regio");
    assert_eq!(refused.on_behalf_of.as_deref(), Some("national:ksh"));
    assert_eq!(refused.via, ["orszagos", "regio"]);
    assert_eq!(refused.query.as_deref(), Some("titok"));
    assert!(
        refused
            .outcome
            .starts_with("denied: national:ksh may not search"),
        "{}",
        refused.outcome
    );
    assert_eq!(entries[4].principal, "operator:stranger");
    assert!(
        entries[4].outcome.contains("needs search"),
        "{}",
        entries[4].outcome
    );
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64);
        assert!(e.time.ends_with('Z') && e.time.contains('T'), "{}", e.time);
    }
    let verification = log.verify().expect("verify");
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.entries, 5);

    // The CLI, on the stopped node's folder.
    let data = node.stop_keeping_data().await;
    let (code, out) = audit_cli(data.path(), &["--verify"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("ok: 5 entries, chain intact"), "{out}");
    let (code, out) = audit_cli(data.path(), &["--json"]);
    assert_eq!(code, Some(0));
    let listed: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let listed = listed["entries"].as_array().expect("entries");
    assert_eq!(listed.len(), 5);
    assert_eq!(listed[3]["on_behalf_of"], "national:ksh");
    assert_eq!(listed[3]["via"], json!(["orszagos", "regio"]));
    let (_, out) = audit_cli(data.path(), &["--json", "--since", "2999-01-01T00:00:00Z"]);
    assert!(out.contains("\"entries\": []"), "{out}");
    let (code, out) = audit_cli(data.path(), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().count(), 5, "{out}");

    // Tampering, straight in the sled tree.
    let node = Node::open(data.path()).expect("Node::open");
    let tree = node.audit().tree();
    let key = 1u64.to_be_bytes();
    let original = tree.get(key).expect("get").expect("entry 1");
    let forged = String::from_utf8(original.to_vec())
        .expect("UTF-8")
        .replace("pub-1", "fed-1");
    tree.insert(key, forged.as_bytes()).expect("insert");
    let broken = node
        .audit()
        .verify()
        .expect("verify")
        .broken
        .expect("altered");
    assert_eq!(
        (broken.seq, broken.damage),
        (1, Damage::Altered),
        "{broken:?}"
    );
    tree.insert(key, original).expect("restore");
    assert!(node.audit().verify().expect("verify").is_intact());

    let removed = tree
        .remove(4u64.to_be_bytes())
        .expect("remove")
        .expect("entry 4");
    let broken = node
        .audit()
        .verify()
        .expect("verify")
        .broken
        .expect("truncated");
    assert_eq!(
        (broken.seq, broken.damage),
        (4, Damage::Truncated),
        "{broken:?}"
    );
    tree.insert(4u64.to_be_bytes(), removed).expect("restore");
    tree.remove(2u64.to_be_bytes()).expect("remove");
    let broken = node
        .audit()
        .verify()
        .expect("verify")
        .broken
        .expect("removed");
    assert_eq!(
        (broken.seq, broken.damage),
        (2, Damage::Removed),
        "{broken:?}"
    );
    drop(node);

    let (code, out) = audit_cli(data.path(), &["--verify"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("entry 2 is missing"), "{out}");
}
