//! A member's own deadline (`[[member]] deadline_ms` in `hub.toml`) is
//! honoured by every RPC the hub fans out or routes: a member that never
//! answers, with a deadline of 200 ms under a hub deadline of 30 s, shows as
//! timed out, and the answer — the other member's part, marked partial or
//! incomplete where the silent member is missing — arrives long before the
//! hub's deadline.
//!
//! The hub (`Hub` behind its own gRPC service, over mTLS) and the answering
//! node (sled, tantivy) are real. The silent member is a test double that
//! plays an outside party: a real tonic server over mTLS with a node
//! certificate from the federation's CA, which accepts every call and never
//! answers it; its aggregate stream opens, sends one empty chunk, and never
//! ends.
//!
//! Nothing here measures time: the hang guard (10 s, a third of the hub's
//! deadline) fails a test whose hub waits on the silent member past its own
//! deadline, and the assertions are on the member's status.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::{Code, Request, Response, Status};
use tudashalo_hub::config::HubConfig;
use tudashalo_hub::federation::Hub;
use tudashalo_hub::grpc::HubService;
use tudashalo_pki::Role;
use tudashalo_proto::pb::federation_server::Federation;
use tudashalo_proto::pb::{self, MemberState};
use tudashalo_proto::tls::TlsMaterial;

use super::aggregate::{aggregate, node, request};
use super::support::{Files, HANG_GUARD, Pki, TestNode, client_as, doc, guard, import, jsonl};

/// The hub's deadline for a request whose client sets none.
const HUB_DEADLINE: Duration = Duration::from_secs(30);
/// The silent member's own deadline.
const MEMBER_DEADLINE_MS: u64 = 200;
// The guard must fail a hub that waits out its own deadline.
const _: () = assert!(HANG_GUARD.as_secs() * 2 < HUB_DEADLINE.as_secs());

/// A member that accepts every call and never answers.
struct Silent;

async fn never<T>() -> T {
    std::future::pending().await
}

#[tonic::async_trait]
impl Federation for Silent {
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
        never().await
    }

    async fn term_stats(
        &self,
        _: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::TermStatsResponse>, Status> {
        never().await
    }

    async fn search(
        &self,
        _: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        never().await
    }

    async fn get_document(
        &self,
        _: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        never().await
    }

    type GetOriginalStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::OriginalChunk, Status>>;

    /// Announces a file and sends its first chunk, then nothing more, for
    /// good: the hub must cut off a download that stalls.
    async fn get_original(
        &self,
        _: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<Self::GetOriginalStream>, Status> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            let first = pb::OriginalChunk {
                source: Some(pb::DocumentSource {
                    file: "lassu.pdf".into(),
                    format: "pdf".into(),
                    pages: Some(1),
                    bytes: 1000,
                    sha256: "0".repeat(64),
                }),
                data: vec![b'%'; 10],
                member: String::new(),
            };
            let _ = tx.send(Ok(first)).await;
            never::<()>().await;
            drop(tx);
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    type AggregateStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::AggregateChunk, Status>>;

    /// Opens the stream and sends an empty chunk, then holds it open for
    /// good: the hub must cut off a stream, not only a call that never
    /// starts.
    async fn aggregate(
        &self,
        _: Request<pb::AggregateRequest>,
    ) -> Result<Response<Self::AggregateStream>, Status> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            let _ = tx.send(Ok(pb::AggregateChunk::default())).await;
            never::<()>().await;
            drop(tx);
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }
}

/// A Federation service served over mTLS on a loopback port, until dropped.
struct Served {
    url: String,
    _shutdown: oneshot::Sender<()>,
}

async fn serve(service: impl Federation, tls: TlsMaterial) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let (shutdown, signal) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = tudashalo_proto::serve::serve(service, listener, &tls, async {
            let _ = signal.await;
        })
        .await;
    });
    Served {
        url,
        _shutdown: shutdown,
    }
}

/// A node `alfa` with observations and two documents, the silent member
/// `csendes` with its own deadline, and hub `regio` over both.
struct Setup {
    pki: Pki,
    _node: TestNode,
    _silent: Served,
    hub: Served,
}

async fn setup() -> Setup {
    let pki = Pki::new();
    let node = node(&pki, "alfa", false).await;
    let files = Files::new();
    let documents = jsonl([
        doc("a1", "Fejlesztési terv", "Edelény: fejlesztés, terv"),
        doc("a2", "Költségvetés", "Szendrő fejlesztés, költségvetés"),
    ]);
    import(&node.node, &files.write("documents.jsonl", documents));
    let silent = serve(Silent, pki.material("csendes", Role::Node)).await;

    let hub = pki.files("regio", Role::Hub);
    let toml = format!(
        "name = \"regio\"\nlisten = \"127.0.0.1:0\"\ndeadline_ms = {}\n\
         [tls]\ncert = {:?}\nkey = {:?}\nca = {:?}\n\
         [[member]]\nname = \"alfa\"\nendpoint = {:?}\n\
         [[member]]\nname = \"csendes\"\nendpoint = {:?}\ndeadline_ms = {MEMBER_DEADLINE_MS}\n",
        HUB_DEADLINE.as_millis(),
        hub.cert,
        hub.key,
        hub.ca,
        node.url,
        silent.url,
    );
    let path = files.write("hub.toml", toml);
    let config = HubConfig::load(&path).unwrap_or_else(|e| panic!("hub.toml: {e}"));
    assert_eq!(config.deadline(), HUB_DEADLINE);
    let tls = config.tls_files().load().expect("hub TLS files");
    let service = HubService::new(Arc::new(Hub::new(&config, &tls).expect("hub")));
    let hub = serve(service, tls).await;
    Setup {
        pki,
        _node: node,
        _silent: silent,
        hub,
    }
}

/// The status of `member` among `statuses`.
fn status_of<'a>(statuses: &'a [pb::MemberStatus], member: &str) -> &'a pb::MemberStatus {
    statuses
        .iter()
        .find(|s| s.member == member)
        .unwrap_or_else(|| panic!("no status for {member} in {statuses:#?}"))
}

/// The silent member timed out on its own deadline; the node answered.
/// (The message is the hub's "no answer within …" or the channel's own
/// "Timeout expired", whichever fires first: both hold the same budget.)
fn assert_silent_timed_out(statuses: &[pb::MemberStatus]) {
    let silent = status_of(statuses, "csendes");
    assert_eq!(silent.state, MemberState::TimedOut as i32, "{silent:?}");
    let node = status_of(statuses, "alfa");
    assert_eq!(node.state, MemberState::Ok as i32, "{node:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_does_not_wait_past_a_members_own_deadline() {
    let s = setup().await;
    let mut client = client_as(&s.hub.url, &s.pki, "elemzo", Role::Operator).await;
    let query = |stats: Option<pb::CorpusStats>| pb::SearchRequest {
        query: "fejlesztés".into(),
        stats,
        ..Default::default()
    };
    // Round one alone, as a higher hub asks for it.
    let round_one = guard(
        "term_stats past the silent member",
        client.term_stats(query(None)),
    )
    .await
    .expect("statistics without the silent member")
    .into_inner();
    assert_silent_timed_out(&round_one.members);
    // Gathering statistics (the silent member misses round one), and with
    // the statistics supplied, as a higher hub sends them (it misses round
    // two).
    for stats in [None, round_one.stats] {
        let supplied = stats.is_some();
        let response = guard("search past the silent member", client.search(query(stats)))
            .await
            .expect("a partial answer, not an error")
            .into_inner();
        assert_silent_timed_out(&response.members);
        assert!(response.partial, "statistics supplied: {supplied}");
        let mut ids: Vec<&str> = response.hits.iter().map(|h| h.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            ["a1", "a2"],
            "the node's hits stand; statistics supplied: {supplied}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregate_does_not_wait_past_a_members_own_deadline() {
    let s = setup().await;
    let (cells, statuses) =
        aggregate(&s.hub.url, &s.pki, request(&["nepesseg"], &["period"])).await;
    assert_silent_timed_out(&statuses);
    // A period's cell spans both members: without the silent one it is
    // incomplete, names it, and publishes no value.
    assert!(!cells.is_empty());
    for cell in &cells {
        assert!(cell.incomplete, "{cell:?}");
        assert_eq!(cell.missing, ["csendes"], "{cell:?}");
        assert_eq!(cell.value, None, "{cell:?}");
        assert_eq!(cell.contributors, ["alfa"], "{cell:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_request_does_not_wait_past_its_members_own_deadline() {
    let s = setup().await;
    let mut client = client_as(&s.hub.url, &s.pki, "elemzo", Role::Operator).await;
    let refused = guard(
        "get_document from the silent member",
        client.get_document(pb::GetDocumentRequest {
            id: "x".into(),
            member: "csendes".into(),
        }),
    )
    .await
    .expect_err("the silent member does not answer");
    assert_eq!(refused.code(), Code::DeadlineExceeded, "{refused:?}");
    assert!(
        refused.message().starts_with("member csendes: "),
        "{refused:?}"
    );
}

/// A member that starts a download and stalls: the hub ends it within its
/// deadline, naming the member, instead of holding the client forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_stalls_is_cut_off() {
    let s = setup().await;
    let mut client = client_as(&s.hub.url, &s.pki, "elemzo", Role::Operator).await;
    let mut stream = guard(
        "get_original from the silent member",
        client.get_original(pb::GetDocumentRequest {
            id: "x".into(),
            member: "csendes".into(),
        }),
    )
    .await
    .expect("the first chunk comes in time")
    .into_inner();
    let first = guard("the first chunk", stream.message())
        .await
        .expect("a chunk")
        .expect("not the end");
    assert_eq!(first.member, "csendes");
    assert_eq!(first.data.len(), 10);
    let cut = guard("the stalled rest", stream.message())
        .await
        .expect_err("cut off");
    assert_eq!(cut.code(), Code::DeadlineExceeded, "{cut:?}");
    assert!(cut.message().starts_with("member csendes: "), "{cut:?}");
}
