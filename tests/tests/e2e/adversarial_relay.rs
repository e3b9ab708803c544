//! Hostile callers against relaying and partials (issue #11), over real mTLS
//! with real nodes and hubs. Every attacker uses a stock gRPC client and an
//! ordinary certificate from the federation's own CA.
//!
//! The federation: nodes `edelenyi` and `szerencsi` list hub `regio`;
//! `regio` trusts the national hub `orszagos` as its parent (`[[parent]]`);
//! `del-alfold` is another region's hub, which no node lists and `regio`
//! does not trust. Hubs are configured from `hub.toml` files, as operators
//! write them.
//!
//! What must hold:
//! - a hub that is not a parent cannot make `regio` speak for anyone else
//!   (the nodes' owner, a national user, a parent's chain): it gets at most
//!   what it would get as itself, and here that is nothing;
//! - a parent's relays are honoured (national hub → regional hub → nodes),
//!   and even a node's own operator through them sees no `local` document;
//! - nodes refuse via chains that cannot be true (a hub twice, too long, not
//!   ending with the hub that sent it), and so do hubs from their parents;
//! - partials (which reveal single settlements) go only to a node's listed
//!   hubs and a hub's parents; anyone else asking is refused, naming the
//!   rule;
//! - `pki sign` issues only what the CA operator states (`--role`, `--name`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::json;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tudashalo_pki::Role;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};

use super::support::{
    Files, NodeDir, OWNED_POLICY, Pki, TestHub, TestNode, assert_denied, client_as, guard, import,
    jsonl, relayed,
};

const ON_BEHALF_OF: &str = "tudashalo-on-behalf-of";
const VIA: &str = "tudashalo-via";

type Client = FederationClient<Channel>;

const CATALOGUE: &str = "code,name,unit,aggregation
nepesseg,Lakónépesség,fő,sum
";

/// Observations per node: (settlement, value) for `nepesseg` in 2020.
fn observations(node: &str) -> &'static [(&'static str, f64)] {
    match node {
        // No settlement dominates: kistérség totals are publishable.
        "edelenyi" => &[
            ("Edelény", 3_000.0),
            ("Szendrő", 2_500.0),
            ("Abod", 2_000.0),
            ("Galvács", 1_500.0),
        ],
        _ => &[("Szerencs", 3_000.0), ("Tokaj", 2_500.0), ("Mád", 2_000.0)],
    }
}

/// One document of each visibility.
fn documents(node: &str) -> String {
    jsonl([
        json!({"id": format!("{node}-pub"), "title": "Nyilvános fejlesztés", "body": "A kistérség fejlesztési terve.", "visibility": "public"}),
        json!({"id": format!("{node}-fed"), "title": "Szövetségi fejlesztés", "body": "Fejlesztési adatok a régiónak.", "visibility": "federated"}),
        json!({"id": format!("{node}-loc"), "title": "Helyi fejlesztés", "body": "Belső fejlesztési jegyzet.", "visibility": "local"}),
    ])
}

/// A node with its documents and observations, served.
async fn node(pki: &Pki, name: &str, policy: &str) -> TestNode {
    let folder = NodeDir::init_with_policy(name, policy);
    let node = folder.open();
    let files = Files::new();
    let mut csv = String::from("Mutató;Település;Időszak;Érték;Mértékegység\n");
    for (settlement, value) in observations(name) {
        csv.push_str(&format!("nepesseg;{settlement};2020;{value};fő\n"));
    }
    for (file, text) in [
        ("katalogus.csv", CATALOGUE.to_string()),
        ("adatok.csv", csv),
        ("documents.jsonl", documents(name)),
    ] {
        let report = import(&node, &files.write(file, text));
        assert_eq!(report.rejected, 0, "{file}: {:?}", report.rejections);
    }
    let tls = pki.material(name, Role::Node);
    TestNode::serve(name, folder.dir, node, &tls).await
}

struct Federation {
    pki: Pki,
    nodes: Vec<TestNode>,
    regio: TestHub,
    orszagos: TestHub,
}

/// Two nodes under `regio`, which trusts `orszagos` as its parent.
async fn federation() -> Federation {
    let pki = Pki::new();
    let mut nodes = Vec::new();
    for name in ["edelenyi", "szerencsi"] {
        nodes.push(node(&pki, name, OWNED_POLICY).await);
    }
    let members: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| (n.name.as_str(), n.url.as_str()))
        .collect();
    let regio = TestHub::with_parents(&pki, "regio", &members, &["orszagos"]).await;
    let orszagos = TestHub::start(&pki, "orszagos", &[("regio", regio.url.as_str())]).await;
    Federation {
        pki,
        nodes,
        regio,
        orszagos,
    }
}

fn search_request() -> pb::SearchRequest {
    pb::SearchRequest {
        query: "fejlesztés".into(),
        ..Default::default()
    }
}

async fn search(
    client: &mut Client,
    request: tonic::Request<pb::SearchRequest>,
) -> Result<pb::SearchResponse, Status> {
    guard("search", client.search(request))
        .await
        .map(|r| r.into_inner())
}

/// The hit ids of a search, none if it was refused.
async fn hit_ids(
    client: &mut Client,
    request: tonic::Request<pb::SearchRequest>,
) -> BTreeSet<String> {
    match search(client, request).await {
        Ok(response) => response.hits.into_iter().map(|h| h.id).collect(),
        Err(status) => {
            assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
            BTreeSet::new()
        }
    }
}

fn aggregate_request(by: &[&str], partials: bool) -> pb::AggregateRequest {
    pb::AggregateRequest {
        indicators: vec!["nepesseg".into()],
        group_by: by.iter().map(|s| s.to_string()).collect(),
        partials,
        ..Default::default()
    }
}

/// The cells and member statuses of an aggregate, or its refusal.
async fn aggregate(
    client: &mut Client,
    request: tonic::Request<pb::AggregateRequest>,
) -> Result<(Vec<pb::Cell>, Vec<pb::MemberStatus>), Status> {
    let mut stream = guard("aggregate", client.aggregate(request))
        .await?
        .into_inner();
    let (mut cells, mut members) = (Vec::new(), Vec::new());
    while let Some(chunk) = guard("chunk", stream.message()).await? {
        cells.extend(chunk.cells);
        members.extend(chunk.members);
    }
    Ok((cells, members))
}

/// How many cells an aggregate returned (published, confidential or
/// partial: each says something about the node's data); none if refused.
async fn revealing_cells(
    client: &mut Client,
    request: tonic::Request<pb::AggregateRequest>,
) -> usize {
    match aggregate(client, request).await {
        Ok((cells, _)) => cells.len(),
        Err(status) => {
            assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
            0
        }
    }
}

/// The audit entries of `node` that claim `on_behalf_of`.
fn audited_on_behalf_of(node: &TestNode, on_behalf_of: &str) -> usize {
    node.node
        .audit()
        .entries()
        .expect("audit entries")
        .iter()
        .filter(|e| e.on_behalf_of.as_deref() == Some(on_behalf_of))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_hub_cannot_claim_a_node_operator_through_the_hub() {
    let f = federation().await;
    let mut rogue = client_as(&f.regio.url, &f.pki, "del-alfold", Role::Hub).await;

    // As itself, another region's hub gets nothing: no node lists it.
    let own = hit_ids(&mut rogue, tonic::Request::new(search_request())).await;
    assert!(own.is_empty(), "{own:?}");
    // Claiming to relay for a node's operator gets no more.
    for via in [None, Some("del-alfold")] {
        let claimed = hit_ids(
            &mut rogue,
            relayed(search_request(), Some("operator:gazda"), via),
        )
        .await;
        assert_eq!(claimed, own, "via {via:?}");
    }
    // And the hub says why instead of relaying the claim.
    assert_denied(
        search(
            &mut rogue,
            relayed(search_request(), Some("operator:gazda"), None),
        )
        .await,
        &["hub:del-alfold is not a parent of hub regio", ON_BEHALF_OF],
    );
    // No node was ever told that its operator asked.
    for node in &f.nodes {
        assert_eq!(audited_on_behalf_of(node, "operator:gazda"), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_hub_cannot_claim_an_operator_for_settlement_level_aggregates() {
    let f = federation().await;
    let mut rogue = client_as(&f.regio.url, &f.pki, "del-alfold", Role::Hub).await;
    let by_settlement = || aggregate_request(&["settlement", "period"], false);

    let own = revealing_cells(&mut rogue, tonic::Request::new(by_settlement())).await;
    assert_eq!(own, 0);
    let claimed = revealing_cells(
        &mut rogue,
        relayed(by_settlement(), Some("operator:gazda"), None),
    )
    .await;
    assert_eq!(claimed, own, "the claim must not unlock settlement level");
    // Claiming a national user does not widen anything either (and is
    // refused too: only parents relay).
    assert_denied(
        aggregate(
            &mut rogue,
            relayed(
                aggregate_request(&["kisterseg", "period"], false),
                Some("national:ksh"),
                None,
            ),
        )
        .await,
        &["hub:del-alfold is not a parent of hub regio"],
    );
    for node in &f.nodes {
        assert_eq!(audited_on_behalf_of(node, "operator:gazda"), 0);
        assert_eq!(audited_on_behalf_of(node, "national:ksh"), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_parent_relays_its_users_requests() {
    let f = federation().await;

    // A national statistician asks the national hub, which asks regio, which
    // asks the nodes: each node decides on national:ksh.
    let mut ksh = client_as(&f.orszagos.url, &f.pki, "ksh", Role::National).await;
    let (cells, statuses) = aggregate(
        &mut ksh,
        tonic::Request::new(aggregate_request(&["kisterseg", "period"], false)),
    )
    .await
    .expect("kistérség level through two hubs");
    assert!(
        statuses.iter().all(|s| s.state == MemberState::Ok as i32),
        "{statuses:?}"
    );
    let edelenyi = cells
        .iter()
        .find(|c| c.kisterseg == "edelenyi" && c.period == "2020")
        .unwrap_or_else(|| panic!("no edelenyi cell in {cells:#?}"));
    assert_eq!(edelenyi.value, Some(9_000.0));
    assert!(cells.iter().all(|c| c.partial.is_none()));
    for node in &f.nodes {
        let entries = node.node.audit().entries().expect("audit");
        let relayed = entries
            .iter()
            .find(|e| e.method == "Aggregate")
            .expect("the aggregate is audited");
        assert_eq!(relayed.principal, "hub:regio");
        assert_eq!(relayed.on_behalf_of.as_deref(), Some("national:ksh"));
        assert_eq!(relayed.via, ["orszagos", "regio"]);
        assert_eq!(relayed.outcome, "ok");
    }
    // ... and settlement level stays refused to the national role.
    let (cells, statuses) = aggregate(
        &mut ksh,
        tonic::Request::new(aggregate_request(&["settlement", "period"], false)),
    )
    .await
    .expect("the hub answers with statuses");
    assert!(cells.iter().all(|c| c.value.is_none()), "{cells:?}");
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .filter(|s| s.member.starts_with("regio/"))
            .all(|s| s.state == MemberState::Refused as i32),
        "{statuses:?}"
    );

    // A granted analyst through both hubs: the federation view.
    let mut analyst = client_as(&f.orszagos.url, &f.pki, "analyst", Role::Operator).await;
    let ids = hit_ids(&mut analyst, tonic::Request::new(search_request())).await;
    let federation_view: BTreeSet<String> = ["edelenyi", "szerencsi"]
        .iter()
        .flat_map(|n| [format!("{n}-pub"), format!("{n}-fed")])
        .collect();
    assert_eq!(ids, federation_view);
    // The nodes' own operator through hubs: no local document, no more
    // than a listed hub sees.
    let mut owner = client_as(&f.orszagos.url, &f.pki, "gazda", Role::Operator).await;
    let ids = hit_ids(&mut owner, tonic::Request::new(search_request())).await;
    assert_eq!(ids, federation_view);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_callers_via_chain_is_not_believed() {
    let f = federation().await;
    // Another region's hub pretends to pass on the national hub's request.
    let mut rogue = client_as(&f.regio.url, &f.pki, "del-alfold", Role::Hub).await;
    assert_denied(
        aggregate(
            &mut rogue,
            relayed(
                aggregate_request(&["kisterseg", "period"], false),
                Some("national:ksh"),
                Some("orszagos,del-alfold"),
            ),
        )
        .await,
        &["hub:del-alfold is not a parent of hub regio", VIA],
    );
    // An operator sending only a chain is refused too, not silently served.
    let mut analyst = client_as(&f.regio.url, &f.pki, "analyst", Role::Operator).await;
    assert_denied(
        search(
            &mut analyst,
            relayed(search_request(), None, Some("orszagos")),
        )
        .await,
        &["operator:analyst is not a parent of hub regio", VIA],
    );
    // Without the headers the same analyst is served, as itself.
    let ids = hit_ids(&mut analyst, tonic::Request::new(search_request())).await;
    assert_eq!(ids.len(), 4, "{ids:?}");
    for node in &f.nodes {
        let entries = node.node.audit().entries().expect("audit");
        assert!(
            entries
                .iter()
                .all(|e| !e.via.iter().any(|h| h == "orszagos")),
            "{entries:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_and_hubs_refuse_implausible_via_chains() {
    let f = federation().await;
    let node = &f.nodes[0];
    // The listed hub itself, asking a node directly with forged chains.
    let mut regio = client_as(&node.url, &f.pki, "regio", Role::Hub).await;
    let too_long = format!(
        "{},regio",
        (0..8)
            .map(|i| format!("h{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (via, rule) in [
        ("orszagos,regio,orszagos,regio", "appears twice"),
        ("regio,regio", "appears twice"),
        ("orszagos", "the last hub is \"orszagos\""),
        ("regio,orszagos", "the last hub is \"orszagos\""),
        (too_long.as_str(), "at most 8 may relay"),
    ] {
        let result = search(
            &mut regio,
            relayed(search_request(), Some("national:ksh"), Some(via)),
        )
        .await;
        assert_denied(result, &["node edelenyi does not believe", rule]);
    }
    // Malformed names stay invalid requests.
    let status = search(
        &mut regio,
        relayed(
            search_request(),
            Some("national:ksh"),
            Some("Orszagos,regio"),
        ),
    )
    .await
    .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    // A plausible chain is believed (and the national role may not search).
    assert_denied(
        search(
            &mut regio,
            relayed(
                search_request(),
                Some("national:ksh"),
                Some("orszagos,regio"),
            ),
        )
        .await,
        &["national:ksh may not search on node edelenyi"],
    );
    // Every refusal is in the node's audit log, with the chain as sent.
    let entries = node.node.audit().entries().expect("audit");
    assert!(
        entries
            .iter()
            .any(|e| e.via == ["orszagos", "regio", "orszagos", "regio"]
                && e.outcome.starts_with("denied: ")),
        "{entries:#?}"
    );

    // A parent's chain is checked at the hub too: it must end with the parent.
    let mut parent = client_as(&f.regio.url, &f.pki, "orszagos", Role::Hub).await;
    assert_denied(
        search(
            &mut parent,
            relayed(search_request(), Some("operator:analyst"), Some("budapest")),
        )
        .await,
        &["hub regio does not believe", "the last hub is \"budapest\""],
    );
    let ids = hit_ids(
        &mut parent,
        relayed(search_request(), Some("operator:analyst"), Some("orszagos")),
    )
    .await;
    assert_eq!(ids.len(), 4, "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partials_go_only_to_a_hubs_parents() {
    let f = federation().await;
    let one_settlement = || pb::AggregateRequest {
        settlements: vec!["Galvács".into()],
        ..aggregate_request(&["kisterseg", "period"], true)
    };
    // A national user asking the regional hub for partials is refused.
    let mut ksh = client_as(&f.regio.url, &f.pki, "ksh", Role::National).await;
    assert_denied(
        aggregate(&mut ksh, tonic::Request::new(one_settlement())).await,
        &[
            "partials go only to the parents of hub regio",
            "national:ksh is not one",
        ],
    );
    // So is another region's hub, and the national user at the top hub.
    let mut rogue = client_as(&f.regio.url, &f.pki, "del-alfold", Role::Hub).await;
    assert_denied(
        aggregate(&mut rogue, tonic::Request::new(one_settlement())).await,
        &[
            "partials go only to the parents of hub regio",
            "hub:del-alfold is not one",
        ],
    );
    let mut ksh_top = client_as(&f.orszagos.url, &f.pki, "ksh", Role::National).await;
    assert_denied(
        aggregate(&mut ksh_top, tonic::Request::new(one_settlement())).await,
        &["partials go only to the parents of hub orszagos"],
    );
    // Published cells of the same question: no partials, and whole
    // kistérségek (a settlement filter never narrows a kistérség's cell;
    // see adversarial_disclosure.rs), never Galvács alone.
    let (cells, _) = aggregate(
        &mut ksh,
        tonic::Request::new(pb::AggregateRequest {
            partials: false,
            ..one_settlement()
        }),
    )
    .await
    .expect("published cells");
    assert!(
        !cells.is_empty() && cells.iter().all(|c| c.partial.is_none() && c.n > 1),
        "{cells:?}"
    );

    // The parent hub gets partials from its member hub, as it asks for them
    // on behalf of its own client.
    let mut parent = client_as(&f.regio.url, &f.pki, "orszagos", Role::Hub).await;
    let (cells, _) = aggregate(
        &mut parent,
        relayed(
            aggregate_request(&["kisterseg", "period"], true),
            Some("national:ksh"),
            Some("orszagos"),
        ),
    )
    .await
    .expect("partials for the parent");
    let edelenyi = cells
        .iter()
        .find(|c| c.kisterseg == "edelenyi")
        .unwrap_or_else(|| panic!("no edelenyi cell in {cells:#?}"));
    let partial = edelenyi.partial.as_ref().expect("a partial");
    assert_eq!(partial.sum, 9_000.0);
    assert_eq!(partial.n, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partials_go_only_to_a_nodes_listed_hubs() {
    let pki = Pki::new();
    // Even a grant to every hub does not extend to partials.
    let policy = format!(
        "{OWNED_POLICY}\n[[policy.grant]]\nprincipal = \"hub:*\"\nallow = [\"aggregate_settlement\"]\n\n[[policy.grant]]\nprincipal = \"national:ksh\"\nallow = [\"aggregate_settlement\"]\n"
    );
    let node = node(&pki, "edelenyi", &policy).await;
    let request = || aggregate_request(&["settlement", "period"], true);
    for (name, role) in [
        ("ksh", Role::National),
        ("del-alfold", Role::Hub),
        ("gazda", Role::Operator),
    ] {
        let mut client = client_as(&node.url, &pki, name, role).await;
        assert_denied(
            aggregate(&mut client, tonic::Request::new(request())).await,
            &[
                "partials go only to this node's hubs (policy.hubs",
                &format!("{role}:{name} is not one"),
            ],
        );
        // Asked without partials, they get published cells.
        let (cells, _) = aggregate(
            &mut client,
            tonic::Request::new(pb::AggregateRequest {
                partials: false,
                ..request()
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("{role}:{name}: {e:?}"));
        assert!(cells.iter().all(|c| c.partial.is_none()), "{cells:?}");
    }
    // The refusals are audited.
    let entries = node.node.audit().entries().expect("audit");
    assert!(
        entries
            .iter()
            .any(|e| e.principal == "national:ksh" && e.outcome.contains("partials go only")),
        "{entries:#?}"
    );
    // The listed hub gets them, also when it relays for someone else.
    let mut regio = client_as(&node.url, &pki, "regio", Role::Hub).await;
    for request in [
        tonic::Request::new(request()),
        relayed(request(), Some("national:ksh"), Some("regio")),
    ] {
        let (cells, _) = aggregate(&mut regio, request).await.expect("partials");
        assert!(!cells.is_empty());
        assert!(cells.iter().all(|c| c.partial.is_some()), "{cells:?}");
    }
}

fn hub_binary() -> std::path::PathBuf {
    super::support::workspace_binary("tudashalo-hub")
}

fn pki_cmd(args: &[&str]) -> (bool, String) {
    let out = Command::new(hub_binary())
        .arg("pki")
        .args(args)
        .env("TUDASHALO_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("running tudashalo-hub pki {args:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

#[test]
fn pki_sign_issues_only_what_the_ca_operator_states() {
    let ca = tempfile::tempdir().expect("tempdir");
    let node_dir = tempfile::tempdir().expect("tempdir");
    let (ok, out) = pki_cmd(&["init", "--dir", path(ca.path())]);
    assert!(ok, "{out}");
    // The requester asks for a hub certificate under a node's name.
    let (ok, out) = pki_cmd(&[
        "csr",
        "--dir",
        path(node_dir.path()),
        "--name",
        "edelenyi",
        "--role",
        "hub",
    ]);
    assert!(ok, "{out}");
    let csr = node_dir.path().join("edelenyi.csr");
    let cert = ca.path().join("edelenyi.pem");
    let sign = |extra: &[&str]| {
        let mut args = vec!["sign", "--dir", path(ca.path()), "--csr", path(&csr)];
        args.extend_from_slice(extra);
        pki_cmd(&args)
    };

    // Without --role and --name the CA does not sign.
    let (ok, out) = sign(&[]);
    assert!(!ok, "{out}");
    assert!(out.contains("--role") && out.contains("--name"), "{out}");
    let (ok, out) = sign(&["--role", "node"]);
    assert!(!ok, "{out}");
    assert!(!cert.exists(), "nothing may be written: {out}");

    // The CA operator meant a node: the request disagrees, refused.
    let (ok, out) = sign(&["--role", "node", "--name", "edelenyi"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("the request asks for urn:tudashalo:hub:edelenyi")
            && out.contains("--role node --name edelenyi"),
        "{out}"
    );
    let (ok, out) = sign(&["--role", "hub", "--name", "miskolci"]);
    assert!(!ok, "{out}");
    assert!(out.contains("--name miskolci"), "{out}");
    assert!(!cert.exists(), "nothing may be written: {out}");

    // Stated and requested agree: signed.
    let (ok, out) = sign(&["--role", "hub", "--name", "edelenyi"]);
    assert!(ok, "{out}");
    assert!(out.contains("urn:tudashalo:hub:edelenyi"), "{out}");
    let principal = tudashalo_proto::identity::principal_of_pem(
        &std::fs::read(&cert).expect("certificate written"),
    )
    .expect("principal");
    assert_eq!(principal.to_string(), "hub:edelenyi");

    // --trust-csr takes them from the request, deliberately.
    let (ok, out) = sign(&["--trust-csr", "--force"]);
    assert!(ok, "{out}");
}
