//! Hostile input is bounded (issue #11): a request beyond the request limits
//! is refused with `InvalidArgument` naming the limit, at a node and at a
//! hub (before anything is fanned out); no query text, timeout header or
//! member answer brings a process down; what a hostile member answers is
//! cleaned or refused, and its status says so.
//!
//! The parenthesis flood and the timeout headers go to real `tudashalo-node`
//! and `tudashalo-hub` processes, because what they used to do (a stack
//! overflow aborts the process; a panic in a handler) is only seen from
//! outside. The hostile member is a small Federation server of this file,
//! with a certificate from the federation's PKI: an adversary, not a mock of
//! our own code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tudashalo_pki::Role;
use tudashalo_proto::pb;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::serve::ServerHandle;

use super::support::{
    Files, HubProcess, NodeDir, NodeProcess, Pki, TestHub, TestNode, client_as, doc, guard,
    hub_config, hub_toml, import, jsonl, serve_federation,
};

/// Documents every node of these tests holds.
fn documents(node: &str) -> String {
    jsonl([
        doc(
            &format!("{node}-terv"),
            "Településfejlesztési koncepció",
            "Az önkormányzat a kerékpárút-fejlesztés keretében közösségi teret épít.",
        ),
        doc(
            &format!("{node}-jkv"),
            "Jegyzőkönyv",
            "A testület elfogadta az őszi fejlesztés ütemezését.",
        ),
    ])
}

/// A node folder with [`documents`], an indicator and observations of
/// three settlements, closed again (so that a process may open it).
fn node_folder(name: &str) -> NodeDir {
    let folder = NodeDir::init(name);
    let node = folder.open();
    let files = Files::new();
    import(&node, &files.write("d.jsonl", documents(name)));
    import(
        &node,
        &files.write(
            "k.csv",
            "code,name,unit,aggregation\nlakos,Lakosság,fő,sum\n",
        ),
    );
    import(
        &node,
        &files.write(
            "o.csv",
            format!(
                "indicator,settlement,period,value,unit\nlakos,{name}-a,2020,1200,fő\nlakos,{name}-b,2020,800,fő\nlakos,{name}-c,2020,650,fő\n"
            ),
        ),
    );
    folder
}

/// `tudashalo-node serve` on a [`node_folder`] called `name`.
fn node_process(pki: &Pki, name: &str) -> NodeProcess {
    NodeProcess::start(pki, node_folder(name))
}

/// `tudashalo-hub serve` for hub `regio` over `members` (name, url).
fn hub_process(pki: &Pki, members: &[(&str, &str)]) -> HubProcess {
    HubProcess::start(&hub_config(pki, "regio", members))
}

/// An in-process hub `regio` over `members`, with extra `[limits]` lines,
/// configured from a `hub.toml` file as an operator would.
async fn in_process_hub(pki: &Pki, members: &[(&str, &str)], limits: &str) -> TestHub {
    let mut toml = hub_toml(&hub_config(pki, "regio", members));
    if !limits.is_empty() {
        // The writer does not write `[limits]` (the hub reads that table by
        // hand): the lines under test are the operator's own.
        toml.push_str(&format!("\n[limits]\n{limits}\n"));
    }
    TestHub::serve_toml(&toml).await
}

async fn analyst(url: &str, pki: &Pki) -> FederationClient<Channel> {
    client_as(url, pki, "analyst", Role::Operator).await
}

fn search(query: &str) -> pb::SearchRequest {
    pb::SearchRequest {
        query: query.to_string(),
        ..Default::default()
    }
}

/// The status of a call that must be refused.
async fn refused<T: std::fmt::Debug>(
    what: &str,
    call: impl std::future::Future<Output = Result<Response<T>, Status>>,
) -> Status {
    match guard(what, call).await {
        Ok(answer) => panic!("{what}: answered {:?}", answer.into_inner()),
        Err(status) => status,
    }
}

/// Asserts `status` is `InvalidArgument` naming the limit `key`.
fn assert_limit(status: &Status, key: &str) {
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "{key}: {}",
        status.message()
    );
    assert!(
        status.message().contains(&format!("(limits.{key})")),
        "the message names limits.{key}: {}",
        status.message()
    );
}

/// A normal search that finds the fixture documents.
async fn assert_searches(client: &mut FederationClient<Channel>, expected_total: u64) {
    let found = guard("search", client.search(search("fejlesztés")))
        .await
        .unwrap_or_else(|e| panic!("a normal search after the attack: {e}"))
        .into_inner();
    assert_eq!(found.total, expected_total, "{:?}", found.members);
    assert!(
        found
            .members
            .iter()
            .all(|m| m.state == pb::MemberState::Ok as i32),
        "{:?}",
        found.members
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_parentheses_is_refused_and_the_node_lives() {
    let pki = Pki::new();
    let mut node = node_process(&pki, "edelenyi");
    let mut client = analyst(&node.process.url, &pki).await;

    let flood = "(".repeat(100_000);
    let status = refused("search", client.search(search(&flood))).await;
    assert_limit(&status, "max_query_chars");
    assert_eq!(
        status.message(),
        "invalid request: query: 100,000 characters; at most 1,024 (limits.max_query_chars)"
    );
    let status = refused("term stats", client.term_stats(search(&flood))).await;
    assert_limit(&status, "max_query_chars");
    // Within the length, too deep: refused before the parser sees it.
    let deep = format!("{}fejlesztés", "(".repeat(1_000));
    let status = refused("search", client.search(search(&deep))).await;
    assert_limit(&status, "max_query_depth");
    assert!(
        status.message().contains("1,000 levels"),
        "{}",
        status.message()
    );

    node.process.assert_alive();
    assert_searches(&mut client, 2).await;
    // Nesting within the limit is an ordinary query.
    let nested = format!("{}fejlesztés{}", "(".repeat(16), ")".repeat(16));
    let found = guard("nested", client.search(search(&nested)))
        .await
        .expect("16 levels are allowed")
        .into_inner();
    assert_eq!(found.total, 2);
    node.process.assert_alive();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_through_the_hub_is_refused_there_and_every_member_lives() {
    let pki = Pki::new();
    let mut alfa = node_process(&pki, "alfa");
    let mut beta = node_process(&pki, "beta");
    let mut hub = hub_process(
        &pki,
        &[("alfa", &alfa.process.url), ("beta", &beta.process.url)],
    );
    let mut client = analyst(&hub.process.url, &pki).await;

    let flood = "(".repeat(100_000);
    for (what, status) in [
        (
            "search",
            refused("search", client.search(search(&flood))).await,
        ),
        (
            "term stats",
            refused("term stats", client.term_stats(search(&flood))).await,
        ),
    ] {
        assert_limit(&status, "max_query_chars");
        // The hub's own refusal, not a member's passed on.
        assert!(
            !status.message().contains("member"),
            "{what}: {}",
            status.message()
        );
    }
    let deep = format!("{}a", "(".repeat(500));
    let status = refused("search", client.search(search(&deep))).await;
    assert_limit(&status, "max_query_depth");

    alfa.process.assert_alive();
    beta.process.assert_alive();
    hub.process.assert_alive();
    assert_searches(&mut client, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_long_and_wordy_queries_are_refused_naming_the_limit() {
    let pki = Pki::new();
    let node = TestNode::start(&pki, "edelenyi", &documents("edelenyi")).await;
    let mut client = analyst(&node.url, &pki).await;

    let long = "a".repeat(1_500);
    let status = refused("search", client.search(search(&long))).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "invalid request: query: 1,500 characters; at most 1,024 (limits.max_query_chars)"
    );
    // Characters, not bytes: 1,024 accented letters are 2,048 bytes.
    let accents = "ő".repeat(1_024);
    guard("accents", client.search(search(&accents)))
        .await
        .expect("1,024 characters are allowed");
    let wordy = "fejlesztés ".repeat(65);
    let status = refused("search", client.search(search(&wordy))).await;
    assert_limit(&status, "max_query_terms");

    // Filters are bounded too.
    let mut request = search("fejlesztés");
    request.filters = Some(pb::Filters {
        settlements: (0..257).map(|i| format!("falu-{i}")).collect(),
        ..Default::default()
    });
    let status = refused("filters", client.search(request)).await;
    assert_limit(&status, "max_filter_values");
    let mut request = search("fejlesztés");
    request.filters = Some(pb::Filters {
        ids: vec!["x".repeat(300)],
        ..Default::default()
    });
    let status = refused("long id", client.search(request)).await;
    assert_limit(&status, "max_value_chars");
    assert_searches(&mut client, 2).await;
}

/// A node of [`node_folder`], served in-process.
async fn served_node(pki: &Pki, name: &str) -> TestNode {
    let folder = node_folder(name);
    let node = folder.open();
    TestNode::serve(name, folder.dir, node, &pki.material(name, Role::Node)).await
}

fn aggregate(settlements: usize, indicators: usize) -> pb::AggregateRequest {
    pb::AggregateRequest {
        indicators: (0..indicators.max(1))
            .map(|i| {
                if i == 0 {
                    "lakos".into()
                } else {
                    format!("mutato-{i}")
                }
            })
            .collect(),
        group_by: vec!["kisterseg".into(), "period".into()],
        settlements: (0..settlements).map(|i| format!("falu-{i}")).collect(),
        ..Default::default()
    }
}

/// Reads a whole aggregate answer.
async fn cells_of(
    client: &mut FederationClient<Channel>,
    request: pb::AggregateRequest,
) -> Result<(Vec<pb::Cell>, Vec<pb::MemberStatus>), Status> {
    let mut stream = guard("aggregate", client.aggregate(request))
        .await?
        .into_inner();
    let mut cells = Vec::new();
    let mut members = Vec::new();
    while let Some(chunk) = guard("chunk", stream.message()).await? {
        cells.extend(chunk.cells);
        members.extend(chunk.members);
    }
    Ok((cells, members))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_settlements_indicators_and_members_are_refused() {
    let pki = Pki::new();
    let node = served_node(&pki, "edelenyi").await;
    let counter = Hostile::serve(&pki, "szamlalo", Behaviour::Honest).await;
    let hub = in_process_hub(
        &pki,
        &[("edelenyi", &node.url), ("szamlalo", &counter.url)],
        "",
    )
    .await;
    for url in [&node.url, &hub.url] {
        let mut client = analyst(url, &pki).await;
        let status = cells_of(&mut client, aggregate(4_097, 1))
            .await
            .unwrap_err();
        assert_limit(&status, "max_settlements");
        assert!(status.message().contains("4,097"), "{}", status.message());
        let status = cells_of(&mut client, aggregate(0, 65)).await.unwrap_err();
        assert_limit(&status, "max_indicators");
        let mut request = aggregate(0, 1);
        request.group_by = vec!["period".into(); 5];
        let status = cells_of(&mut client, request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
        assert!(
            status.message().contains("group_by: 5"),
            "{}",
            status.message()
        );
        let mut request = search("fejlesztés");
        request.members = (0..257).map(|i| format!("tag-{i}")).collect();
        let status = refused("members", client.search(request)).await;
        assert_limit(&status, "max_members");
        let mut request = aggregate(0, 1);
        request.members = vec!["edelenyi".into(); 257];
        let status = cells_of(&mut client, request).await.unwrap_err();
        assert_limit(&status, "max_members");
    }
    // The hub refused every one of them itself: nothing reached a member.
    assert_eq!(counter.calls(), 0, "an oversized request was fanned out");
    // Within the limits, the same requests are answered.
    let mut client = analyst(&hub.url, &pki).await;
    let (cells, members) = cells_of(&mut client, aggregate(3, 1))
        .await
        .expect("aggregate");
    assert!(
        members
            .iter()
            .any(|m| m.member == "edelenyi" && m.state == pb::MemberState::Ok as i32),
        "{members:?}"
    );
    drop(cells);
    assert!(counter.calls() > 0);
}

/// Requests with a raw `grpc-timeout` header: beyond 8 digits, beyond the
/// range of an `Instant`, beyond what a header can say again.
fn with_timeout<T>(message: T, timeout: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("grpc-timeout", timeout.parse().expect("ASCII header value"));
    request
}

const HUGE_TIMEOUTS: [&str; 5] = [
    "99999999S",
    "99999999H",
    "18446744073709551615S",
    "99999999999H",
    "340282366920938463463374607431768211455n",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_grpc_timeouts_kill_neither_hub_nor_node() {
    let pki = Pki::new();
    let mut node = node_process(&pki, "edelenyi");
    let mut hub = hub_process(&pki, &[("edelenyi", &node.process.url)]);
    for url in [node.process.url.clone(), hub.process.url.clone()] {
        let mut client = analyst(&url, &pki).await;
        for timeout in HUGE_TIMEOUTS {
            let found = guard(
                "search",
                client.search(with_timeout(search("fejlesztés"), timeout)),
            )
            .await
            .unwrap_or_else(|e| panic!("{url}: search with grpc-timeout {timeout}: {e}"))
            .into_inner();
            assert_eq!(found.total, 2, "{url} {timeout}: {:?}", found.members);
            guard(
                "term stats",
                client.term_stats(with_timeout(search("fejlesztés"), timeout)),
            )
            .await
            .unwrap_or_else(|e| panic!("{url}: term stats with grpc-timeout {timeout}: {e}"));
            guard(
                "info",
                client.info(with_timeout(pb::InfoRequest {}, timeout)),
            )
            .await
            .unwrap_or_else(|e| panic!("{url}: info with grpc-timeout {timeout}: {e}"));
            let mut stream = guard(
                "aggregate",
                client.aggregate(with_timeout(aggregate(0, 1), timeout)),
            )
            .await
            .unwrap_or_else(|e| panic!("{url}: aggregate with grpc-timeout {timeout}: {e}"))
            .into_inner();
            let mut cells = 0;
            while let Some(chunk) = guard("chunk", stream.message()).await.unwrap_or_else(|e| {
                panic!("{url}: aggregate stream with grpc-timeout {timeout}: {e}")
            }) {
                cells += chunk.cells.len();
            }
            assert!(cells > 0, "{url} {timeout}");
            let member = if url == hub.process.url {
                "edelenyi"
            } else {
                ""
            };
            guard(
                "get",
                client.get_document(with_timeout(
                    pb::GetDocumentRequest {
                        id: "edelenyi-terv".into(),
                        member: member.into(),
                    },
                    timeout,
                )),
            )
            .await
            .unwrap_or_else(|e| panic!("{url}: get with grpc-timeout {timeout}: {e}"));
        }
        node.process.assert_alive();
        hub.process.assert_alive();
    }
}

/// What the hostile member answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Plausible, empty answers: it only counts the calls that reach it.
    Honest,
    /// Hits with NaN and infinite scores, repeated ids, more hits than
    /// asked; cells whose partials hold NaN.
    Poisoned,
    /// An aggregate that streams far more cells than any member has.
    Flood,
}

/// A Federation server of the test's own, with a certificate the
/// federation's CA signed (role node): a member that lies.
struct Hostile {
    behaviour: Behaviour,
    calls: Arc<AtomicUsize>,
}

struct HostileServer {
    url: String,
    calls: Arc<AtomicUsize>,
    _server: ServerHandle,
}

impl HostileServer {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Hostile {
    async fn serve(pki: &Pki, name: &str, behaviour: Behaviour) -> HostileServer {
        let calls = Arc::new(AtomicUsize::new(0));
        let service = Hostile {
            behaviour,
            calls: calls.clone(),
        };
        let server = serve_federation(service, pki.material(name, Role::Node)).await;
        HostileServer {
            url: server.url(),
            calls,
            _server: server,
        }
    }

    fn hits(&self) -> Vec<pb::Hit> {
        let hit = |id: &str, score: f32| pb::Hit {
            id: id.into(),
            title: format!("Hamis {id}"),
            kind: "other".into(),
            score,
            tie: tudashalo_core::search::tie_of(id),
            ..Default::default()
        };
        if self.behaviour != Behaviour::Poisoned {
            return Vec::new();
        }
        let mut hits = vec![
            hit("nan", f32::NAN),
            hit("vegtelen", f32::INFINITY),
            hit("minusz", f32::NEG_INFINITY),
            hit("ketszer", 0.5),
            hit("ketszer", 0.5),
            hit("jo", 0.25),
        ];
        // Far more than the hub asked for (10).
        hits.extend((0..50).map(|i| hit(&format!("sok-{i}"), 0.01)));
        hits
    }
}

#[tonic::async_trait]
impl pb::federation_server::Federation for Hostile {
    async fn network(
        &self,
        _request: tonic::Request<pb::NetworkRequest>,
    ) -> Result<tonic::Response<pb::NetworkResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not this test's server"))
    }

    type WatchVersionStream = tokio_stream::Empty<Result<pb::DataVersion, tonic::Status>>;

    async fn watch_version(
        &self,
        _request: tonic::Request<pb::WatchVersionRequest>,
    ) -> Result<tonic::Response<Self::WatchVersionStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("not this test's server"))
    }

    async fn info(
        &self,
        _: Request<pb::InfoRequest>,
    ) -> Result<Response<pb::InfoResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(pb::InfoResponse {
            name: "hamis".into(),
            role: "node".into(),
            documents: u64::MAX,
            ..Default::default()
        }))
    }

    async fn term_stats(
        &self,
        _: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::TermStatsResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(pb::TermStatsResponse {
            stats: Some(pb::CorpusStats::default()),
            stats_version: 7,
            ..Default::default()
        }))
    }

    async fn search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let wanted = request
            .get_ref()
            .filters
            .as_ref()
            .map(|f| f.ids.clone())
            .unwrap_or_default();
        let mut hits = self.hits();
        if !wanted.is_empty() {
            hits.retain(|h| wanted.contains(&h.id));
        }
        Ok(Response::new(pb::SearchResponse {
            // Overflows any sum it enters, unless the hub saturates.
            total: if self.behaviour == Behaviour::Poisoned {
                u64::MAX
            } else {
                0
            },
            hits,
            stats_version: 7,
            ..Default::default()
        }))
    }

    async fn get_document(
        &self,
        _: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(Status::not_found("nothing here"))
    }

    type GetOriginalStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::OriginalChunk, Status>>;

    /// Announces 10 bytes and sends 3 chunks of 8: the hub must stop
    /// passing it on at the broken promise.
    async fn get_original(
        &self,
        _: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<Self::GetOriginalStream>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            for i in 0..3 {
                let chunk = pb::OriginalChunk {
                    source: (i == 0).then(|| pb::DocumentSource {
                        file: "hamis.pdf".into(),
                        format: "pdf".into(),
                        pages: None,
                        bytes: 10,
                        sha256: "0".repeat(64),
                    }),
                    data: vec![b'x'; 8],
                    member: String::new(),
                };
                if tx.send(Ok(chunk)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    type AggregateStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::AggregateChunk, Status>>;

    async fn aggregate(
        &self,
        _: Request<pb::AggregateRequest>,
    ) -> Result<Response<Self::AggregateStream>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let behaviour = self.behaviour;
        let cell = |settlement: String, sum: f64| pb::Cell {
            indicator: "lakos".into(),
            period: "2020".into(),
            kisterseg: "hamis".into(),
            settlement,
            unit: "fő".into(),
            n: 1,
            status: "F".into(),
            aggregation: "sum".into(),
            partial: Some(pb::Partial {
                sum,
                n: 1,
                min: 1.0,
                max: 1.0,
                top: vec![1.0],
                ..Default::default()
            }),
            ..Default::default()
        };
        tokio::spawn(async move {
            match behaviour {
                Behaviour::Honest => {
                    let _ = tx.send(Ok(pb::AggregateChunk::default())).await;
                }
                Behaviour::Poisoned => {
                    let cells = vec![cell(String::new(), f64::NAN)];
                    let _ = tx
                        .send(Ok(pb::AggregateChunk {
                            cells,
                            members: Vec::new(),
                        }))
                        .await;
                }
                Behaviour::Flood => {
                    // Until the hub stops reading (or a bound, so that the
                    // test ends either way).
                    for chunk in 0..1_000 {
                        let cells = (0..500)
                            .map(|i| cell(format!("falu-{chunk}-{i}"), 1.0))
                            .collect();
                        if tx
                            .send(Ok(pb::AggregateChunk {
                                cells,
                                members: Vec::new(),
                            }))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }
}

fn status_of<'a>(members: &'a [pb::MemberStatus], name: &str) -> &'a pb::MemberStatus {
    members
        .iter()
        .find(|m| m.member == name)
        .unwrap_or_else(|| panic!("no status for {name}: {members:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_member_cannot_poison_the_merge() {
    let pki = Pki::new();
    let node = served_node(&pki, "edelenyi").await;
    let hostile = Hostile::serve(&pki, "hamis", Behaviour::Poisoned).await;
    let hub = in_process_hub(
        &pki,
        &[("edelenyi", &node.url), ("hamis", &hostile.url)],
        "",
    )
    .await;
    let mut client = analyst(&hub.url, &pki).await;

    let found = guard("search", client.search(search("fejlesztés")))
        .await
        .expect("search through the hub")
        .into_inner();
    assert!(
        found.hits.iter().all(|h| h.score.is_finite()),
        "non-finite scores reached the caller: {:?}",
        found
            .hits
            .iter()
            .map(|h| (&h.member, &h.id, h.score))
            .collect::<Vec<_>>()
    );
    let mut ids: Vec<(&str, &str)> = found
        .hits
        .iter()
        .map(|h| (h.member.as_str(), h.id.as_str()))
        .collect();
    let before = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), before, "a repeated hit reached the caller");
    // The honest member's hits are there, and so are the hostile one's good ones.
    assert!(
        found.hits.iter().any(|h| h.member == "edelenyi"),
        "{:?}",
        found.hits
    );
    assert!(
        found
            .hits
            .iter()
            .any(|h| h.member == "hamis" && h.id == "jo")
    );
    let hamis = status_of(&found.members, "hamis");
    assert_eq!(hamis.state, pb::MemberState::Ok as i32, "{hamis:?}");
    assert!(
        hamis
            .message
            .contains("dropped 3 hits with non-finite scores")
            && hamis.message.contains("1 repeated hit"),
        "{hamis:?}"
    );
    // Totals saturate rather than overflow.
    assert_eq!(found.total, u64::MAX);

    // An aggregate with NaN in a partial: that member's answer is refused.
    let (cells, members) = cells_of(&mut client, aggregate(0, 1))
        .await
        .expect("aggregate");
    let hamis = status_of(&members, "hamis");
    assert_eq!(hamis.state, pb::MemberState::Error as i32, "{hamis:?}");
    assert!(hamis.message.contains("non-finite"), "{hamis:?}");
    assert!(
        cells.iter().all(|c| c.value.is_none_or(f64::is_finite)),
        "{cells:?}"
    );
    assert!(cells.iter().all(|c| c.kisterseg != "hamis"), "{cells:?}");
    assert_eq!(
        status_of(&members, "edelenyi").state,
        pb::MemberState::Ok as i32
    );

    // The hub's info saturates too.
    let info = guard("info", client.info(pb::InfoRequest {}))
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.documents, u64::MAX);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_flooding_cells_is_cut_off() {
    let pki = Pki::new();
    let node = served_node(&pki, "edelenyi").await;
    let flood = Hostile::serve(&pki, "aradat", Behaviour::Flood).await;
    let hub = in_process_hub(
        &pki,
        &[("edelenyi", &node.url), ("aradat", &flood.url)],
        "max_member_cells = 2000",
    )
    .await;
    let mut client = analyst(&hub.url, &pki).await;
    let (cells, members) = cells_of(&mut client, aggregate(0, 1))
        .await
        .expect("aggregate");
    let aradat = status_of(&members, "aradat");
    assert_eq!(aradat.state, pb::MemberState::Error as i32, "{aradat:?}");
    assert!(
        aradat
            .message
            .contains("at most 2,000 (limits.max_member_cells)"),
        "{aradat:?}"
    );
    assert!(
        cells.len() < 100,
        "the flood was combined: {} cells",
        cells.len()
    );
    assert_eq!(
        status_of(&members, "edelenyi").state,
        pb::MemberState::Ok as i32
    );
}

/// A member that announces a 10-byte original and streams 24: the hub
/// passes on what was promised at most, then ends the download with an
/// error naming the member, so the client never takes the file as whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sending_more_of_an_original_than_it_declared_is_cut_off() {
    let pki = Pki::new();
    let liar = Hostile::serve(&pki, "aradat", Behaviour::Flood).await;
    let hub = in_process_hub(&pki, &[("aradat", &liar.url)], "").await;
    let mut client = analyst(&hub.url, &pki).await;
    let mut stream = client
        .get_original(pb::GetDocumentRequest {
            id: "x".into(),
            member: "aradat".into(),
        })
        .await
        .expect("the download starts")
        .into_inner();
    let first = stream
        .message()
        .await
        .expect("the first chunk")
        .expect("a chunk");
    assert_eq!(first.member, "aradat");
    assert_eq!(first.data.len(), 8);
    let cut = stream.message().await.expect_err("cut off");
    assert_eq!(cut.code(), tonic::Code::DataLoss, "{cut:?}");
    assert!(
        cut.message().starts_with("member aradat: ")
            && cut.message().contains("more than the 10 bytes it declared"),
        "{cut:?}"
    );
    assert!(stream.message().await.is_err() || stream.message().await.ok().flatten().is_none());
}
