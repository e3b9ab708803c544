//! The thin gRPC adapter: protobuf in, domain call, protobuf out.
//!
//! Every RPC describes its caller ([`Requester`]: the client certificate's
//! principal and the relay headers, read by [`tudashalo_proto::relay::read`])
//! and its request as sent, for the audit log (`record.rs`), converts the
//! message with [`tudashalo_core::pb`], and calls the node's
//! [`Requests`](crate::service::Requests), which asks the policy, audits
//! and answers. The call runs on the blocking pool (sled and tantivy calls
//! may take milliseconds); a panic there surfaces as `Internal`, never as a
//! dropped connection. This module and `server.rs` are the only ones that
//! know tonic.
//!
//! Every RPC is counted here, where its final status is known: a
//! [`tudashalo_proto::metrics::Rpc`] guard from the node's registry, started
//! first and finished with the answer's code (a stream's at its end).

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tudashalo_core::aggregate::AggregateQuery;
use tudashalo_core::pb as convert;
use tudashalo_core::search::{CorpusStats, SearchQuery};
use tudashalo_proto::chunks::send_chunks;
use tudashalo_proto::identity::peer_principal;
use tudashalo_proto::metrics::RpcMetrics;
use tudashalo_proto::pb;

use crate::error::Result;
use crate::node::Node;
use crate::service::{Aggregate, Cells, NodeInfo, Requester, Requests, Search};

pub(crate) mod record;

#[derive(Debug, Clone)]
pub struct FederationService {
    requests: Requests,
    /// The version watches open now (bounded: [`crate::watch`]).
    watches: tudashalo_proto::watch::Watches,
    /// `grpc_server_*` of the node's registry.
    metrics: RpcMetrics,
}

impl FederationService {
    pub fn new(node: Arc<Node>) -> Self {
        FederationService {
            metrics: node.metrics().registry().server().clone(),
            requests: Requests::new(node),
            watches: Default::default(),
        }
    }

    /// The version watches this service has open (closed at shutdown).
    pub fn watches(&self) -> &tudashalo_proto::watch::Watches {
        &self.watches
    }

    /// Runs `call` on the blocking pool and maps its error.
    async fn call<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Requests) -> Result<T> + Send + 'static,
    ) -> Result<T, Status> {
        let requests = self.requests.clone();
        match tokio::task::spawn_blocking(move || call(&requests)).await {
            Ok(result) => result.map_err(Status::from),
            Err(e) => {
                tracing::error!(error = %e, "request handler panicked");
                Err(Status::internal("internal error at the node; see its log"))
            }
        }
    }
}

/// `Info`'s answer (also the portal's view of its node).
pub(crate) fn info_response(info: NodeInfo) -> pb::InfoResponse {
    pb::InfoResponse {
        name: info.name,
        display_name: info.display_name,
        role: "node".into(),
        schema_version: tudashalo_proto::SCHEMA_VERSION,
        documents: info.documents,
        observations: info.observations,
        indicators: info
            .indicators
            .into_iter()
            .map(|i| pb::Indicator {
                code: i.code,
                name: i.name,
                unit: i.unit,
                aggregation: i.aggregation.to_string(),
            })
            .collect(),
        generation: info.generation,
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// A search as the contract asks it, for [`Requests::search`]: its audit
/// record as sent, and the domain query.
pub(crate) fn search_request(request: pb::SearchRequest) -> (crate::audit::Record, Search) {
    let record = record::search("Search", &request);
    let search = Search {
        members: request.members.clone(),
        global: request.stats.as_ref().map(CorpusStats::from),
        query: SearchQuery::try_from(request),
    };
    (record, search)
}

/// A search's answer in the contract's form.
pub(crate) fn search_response(answer: crate::service::Searched) -> pb::SearchResponse {
    let mut response = pb::SearchResponse::from(answer.results);
    response.stats_version = answer.stats_version;
    response
}

/// Who sent `request`, as its certificate and relay headers claim.
fn requester<T>(request: &Request<T>) -> Requester {
    Requester {
        principal: peer_principal(request),
        relay: tudashalo_proto::relay::read(request.metadata()),
        raw_relay: record::raw_relay_headers(request.metadata()),
    }
}

/// A streamed answer as the node produces it.
type Chunks<T> = tokio_stream::wrappers::ReceiverStream<Result<T, Status>>;

tudashalo_proto::counted_federation!(FederationService);

/// The RPCs' answers, before they are counted (`counted_federation!` counts).
impl FederationService {
    async fn answer_network(
        &self,
        request: Request<pb::NetworkRequest>,
    ) -> Result<Response<pb::NetworkResponse>, Status> {
        let (who, record) = (requester(&request), record::network(request.get_ref()));
        let request = request.into_inner();
        let response = self.call(move |r| r.network(&who, record, request)).await?;
        Ok(Response::new(response))
    }

    async fn answer_info(
        &self,
        request: Request<pb::InfoRequest>,
    ) -> Result<Response<pb::InfoResponse>, Status> {
        let who = requester(&request);
        let info = self.call(move |r| r.info(&who)).await?;
        Ok(Response::new(info_response(info)))
    }

    async fn answer_term_stats(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::TermStatsResponse>, Status> {
        let who = requester(&request);
        let record = record::search("TermStats", request.get_ref());
        let (_, search) = search_request(request.into_inner());
        let answer = self
            .call(move |r| r.term_stats(&who, record, search))
            .await?;
        Ok(Response::new(pb::TermStatsResponse {
            stats: Some(pb::CorpusStats::from(&answer.stats)),
            ignored: answer.ignored,
            members: Vec::new(),
            stats_version: answer.stats_version,
            matches: Some(answer.matches),
            data_version: answer.data_version,
        }))
    }

    async fn answer_watch_version(
        &self,
        request: Request<pb::WatchVersionRequest>,
    ) -> Result<Response<Chunks<pb::DataVersion>>, Status> {
        let who = requester(&request);
        let principal = who
            .principal
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        self.call(move |r| r.watch_version(&who, record::watch_version()))
            .await?;
        let slot = self.watches.open(&principal)?;
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let node = self.requests.node_arc();
        tokio::spawn(crate::watch::stream(node, tx, slot));
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn answer_search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let who = requester(&request);
        let (record, search) = search_request(request.into_inner());
        let answer = self.call(move |r| r.search(&who, record, search)).await?;
        Ok(Response::new(search_response(answer)))
    }

    async fn answer_aggregate(
        &self,
        request: Request<pb::AggregateRequest>,
    ) -> Result<Response<Chunks<pb::AggregateChunk>>, Status> {
        let (who, record) = (requester(&request), record::aggregate(request.get_ref()));
        let request = request.get_ref();
        let aggregate = Aggregate {
            query: AggregateQuery::try_from(request),
            members: request.members.clone(),
            partials: request.partials,
        };
        let cells = match self
            .call(move |r| r.aggregate(&who, record, aggregate))
            .await?
        {
            Cells::Partials(cells) => cells
                .into_iter()
                .map(|c| convert::partial_cell(c, Vec::new(), Vec::new(), false))
                .collect::<Vec<_>>(),
            Cells::Published(cells) => cells
                .into_iter()
                .map(|p| convert::published_cell(p, Vec::new(), Vec::new()))
                .collect(),
        };
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move { send_chunks(&tx, cells, Vec::new()).await });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn answer_get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        let (who, record) = (requester(&request), record::get_document(request.get_ref()));
        let request = request.into_inner();
        let response = self
            .call(move |r| r.get_document(&who, record, &request.id, &request.member))
            .await?;
        Ok(Response::new(response))
    }

    async fn answer_get_original(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<Chunks<pb::OriginalChunk>>, Status> {
        let (who, record) = (requester(&request), record::get_original(request.get_ref()));
        let request = request.into_inner();
        let (source, file) = self
            .call(move |r| r.get_original(&who, record, &request.id, &request.member))
            .await?;
        // A small channel: the file is read no faster than the client takes it.
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::task::spawn_blocking(move || stream_file(source, file, &tx));
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }
}

/// The bytes of an original file in chunks, the first with its source. A
/// client that goes away ends the reading.
fn stream_file(
    source: tudashalo_core::model::Source,
    mut file: std::fs::File,
    tx: &tokio::sync::mpsc::Sender<Result<pb::OriginalChunk, Status>>,
) {
    use std::io::Read;
    let mut first = Some(pb::DocumentSource::from(source));
    let mut buffer = vec![0u8; ORIGINAL_CHUNK_BYTES];
    loop {
        let read = match file.read(&mut buffer) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "reading an original file");
                let _ = tx.blocking_send(Err(Status::internal(
                    "internal error reading the original file at the node; see its log",
                )));
                return;
            }
        };
        if read == 0 && first.is_none() {
            return;
        }
        let chunk = pb::OriginalChunk {
            source: first.take(),
            data: buffer[..read].to_vec(),
            member: String::new(),
        };
        if tx.blocking_send(Ok(chunk)).is_err() || read == 0 {
            return;
        }
    }
}

/// The most bytes of an original file in one message.
pub const ORIGINAL_CHUNK_BYTES: usize = 64 * 1024;
