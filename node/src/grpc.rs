//! The thin gRPC adapter: protobuf in, domain call, protobuf out.
//!
//! Every RPC converts its request, runs the domain call on the blocking pool
//! (sled and tantivy calls may take milliseconds), and converts the result.
//! A panic in the domain call surfaces as `Internal`, never as a dropped
//! connection. This module and `server.rs` are the only ones that know tonic.
//!
//! Every RPC first identifies its caller and asks the node's policy
//! ([`crate::policy`]) through [`FederationService::authorize`]; the answer
//! decides which documents the caller sees. Every request, allowed, refused
//! or malformed, ends as exactly one entry in the node's audit log
//! ([`crate::audit`]), holding every parameter it sent (`record.rs`): a
//! request whose parameters cannot be converted is recorded as `invalid`
//! before the policy is asked ([`FederationService::invalid`]).

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tudashalo_core::aggregate::{AggregateQuery, GroupKey};
use tudashalo_core::pb as convert;
use tudashalo_core::search::{Audience, CorpusStats, SearchQuery};
use tudashalo_proto::chunks::send_chunks;
use tudashalo_proto::identity::peer_principal;
use tudashalo_proto::pb;

use crate::audit::{self, Outcome};
use crate::error::{Error, Result};
use crate::node::Node;
use crate::policy::{Caller, Granularity, Permission};

mod record;

#[derive(Debug, Clone)]
pub struct FederationService {
    node: Arc<Node>,
}

impl FederationService {
    pub fn new(node: Arc<Node>) -> Self {
        FederationService { node }
    }
}

/// An allowed request: who asked, which documents it may see, and its audit
/// record, to be completed with the outcome by [`Access::finish`] (or
/// [`FederationService::finish`]).
#[derive(Debug)]
pub struct Access {
    pub caller: Caller,
    pub audience: Audience,
    pub record: audit::Record,
}

impl Access {
    /// Appends the request's audit entry: `results` results left the node
    /// and it ended with `outcome`. One sled transaction: call it on the
    /// blocking pool, e.g. inside the RPC's `spawn_blocking`. An error means
    /// the entry could not be written; the answer must then not be sent.
    pub(crate) fn finish(
        mut self,
        node: &Node,
        results: Option<u64>,
        outcome: Outcome,
    ) -> Result<()> {
        self.record.results = results;
        self.record.outcome = outcome;
        node.audit().append(self.record).map(|_| ())
    }
}

impl FederationService {
    /// Identifies the caller of `request` (its client certificate and the
    /// relay headers [`crate::policy::ON_BEHALF_OF_HEADER`] and
    /// [`crate::policy::VIA_HEADER`], read by [`tudashalo_proto::relay::read`]) and decides
    /// `permission` by the node's policy. `record` describes the request for
    /// the audit log (method, query or indicators and group-by); its
    /// principal, on-behalf-of and via are filled in here.
    ///
    /// A refusal is appended to the audit log here (`denied: …`, or
    /// `invalid: …` with the headers as sent for a malformed relay header)
    /// and returned as `PermissionDenied` (`Unauthenticated` without a usable
    /// client certificate, `InvalidArgument` for a malformed relay header). An
    /// allowed request must be completed with [`Access::finish`] or
    /// [`FederationService::finish`], whatever its outcome.
    pub(crate) async fn authorize<T>(
        &self,
        request: &Request<T>,
        permission: Permission,
        mut record: audit::Record,
    ) -> Result<Access, Status> {
        let Some(principal) = peer_principal(request) else {
            record.principal = "unknown".into();
            let why = "no client certificate with a urn:tudashalo:ROLE:NAME name";
            record.outcome = Outcome::Denied(why.into());
            self.append(record).await;
            return Err(Status::unauthenticated(why));
        };
        record.principal = principal.to_string();
        // The one parser node and hub share (each header once, ASCII).
        let headers = tudashalo_proto::relay::read(request.metadata())
            .map_err(|e| Error::InvalidRequest(e.to_string()));
        if headers.is_err() {
            record::raw_relay_headers(request, &mut record);
        }
        let caller = headers.and_then(|headers| {
            record.on_behalf_of = headers.on_behalf_of.clone();
            record.via = headers.via.iter().cloned().collect();
            Caller::identify(
                principal,
                headers.on_behalf_of.as_deref(),
                headers.via.as_deref(),
            )
        });
        let decision = caller.and_then(|caller| {
            record.on_behalf_of = caller.on_behalf_of.as_ref().map(ToString::to_string);
            record.via = caller.via.clone();
            let audience = self.node.policy().authorize(&caller, permission)?;
            Ok((caller, audience))
        });
        match decision {
            Ok((caller, audience)) => Ok(Access {
                caller,
                audience,
                record,
            }),
            Err(e) => {
                record.outcome = match &e {
                    Error::PermissionDenied(why) => Outcome::Denied(why.clone()),
                    Error::InvalidRequest(why) => Outcome::Invalid(why.clone()),
                    other => Outcome::Denied(other.to_string()),
                };
                tracing::info!(principal = %record.principal, method = %record.method, outcome = %record.outcome, "refused");
                self.append(record).await;
                Err(Status::from(e))
            }
        }
    }

    /// Like [`Access::finish`], from async code (on the blocking pool).
    pub(crate) async fn finish(
        &self,
        access: Access,
        results: Option<u64>,
        outcome: Outcome,
    ) -> Result<(), Status> {
        let node = self.node.clone();
        blocking(move || access.finish(&node, results, outcome)).await
    }

    /// Records a request refused as malformed before it reached the policy
    /// (its parameters could not be converted): the caller as its
    /// certificate and relay headers name it, unverified, and `why`.
    async fn invalid<T>(&self, request: &Request<T>, mut record: audit::Record, why: String) {
        record.principal =
            peer_principal(request).map_or_else(|| "unknown".into(), |p| p.to_string());
        if let Ok(headers) = tudashalo_proto::relay::read(request.metadata()) {
            record.on_behalf_of = headers.on_behalf_of;
            record.via = headers.via.into_iter().collect();
        }
        record::raw_relay_headers(request, &mut record);
        tracing::info!(principal = %record.principal, method = %record.method, %why, "invalid request");
        record.outcome = Outcome::Invalid(why);
        self.append(record).await;
    }

    /// Appends the entry of a refused request; a failure is only logged
    /// (the request is refused anyway).
    async fn append(&self, record: audit::Record) {
        let node = self.node.clone();
        if let Err(e) = blocking(move || node.audit().append(record).map(|_| ())).await {
            tracing::error!(error = %e, "cannot append to the audit log");
        }
    }

    /// Runs an allowed request's domain call on the blocking pool with the
    /// caller's audience, and appends its audit entry there too (`results`:
    /// `count` of the answer). If the entry cannot be written, the answer is
    /// withheld (`Internal`).
    async fn audited<T: Send + 'static>(
        &self,
        access: Access,
        call: impl FnOnce(&Node, Audience) -> Result<T> + Send + 'static,
        count: impl FnOnce(&T) -> Option<u64> + Send + 'static,
    ) -> Result<T, Status> {
        let node = self.node.clone();
        blocking(move || {
            let audience = access.audience;
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&node, audience)))
                    .unwrap_or_else(|_| {
                        Err(Error::Internal("the request handler panicked".into()))
                    });
            let (results, outcome) = match &result {
                Ok(answer) => (count(answer), Outcome::Ok),
                Err(Error::InvalidRequest(why)) => (None, Outcome::Invalid(why.clone())),
                Err(e) => (None, Outcome::Error(e.to_string())),
            };
            access.finish(&node, results, outcome)?;
            result
        })
        .await
    }
}

/// Runs a domain call on the blocking pool and maps its error.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T, Status> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(Status::from),
        Err(e) => {
            tracing::error!(error = %e, "request handler panicked");
            Err(Status::internal("internal error at the node; see its log"))
        }
    }
}

#[tonic::async_trait]
impl pb::federation_server::Federation for FederationService {
    async fn info(
        &self,
        request: Request<pb::InfoRequest>,
    ) -> Result<Response<pb::InfoResponse>, Status> {
        let access = self
            .authorize(&request, Permission::Search, audit::Record::new("", "Info"))
            .await?;
        let info = self
            .audited(
                access,
                |node, audience| {
                    Ok(pb::InfoResponse {
                        name: node.name().to_string(),
                        display_name: node.display_name().to_string(),
                        role: "node".into(),
                        schema_version: tudashalo_proto::SCHEMA_VERSION,
                        documents: node.visible_documents(audience)?,
                        observations: node.observation_count() as u64,
                        indicators: node
                            .catalogue()?
                            .into_iter()
                            .map(|i| pb::Indicator {
                                code: i.code,
                                name: i.name,
                                unit: i.unit,
                                aggregation: i.aggregation.to_string(),
                            })
                            .collect(),
                        generation: node.generation()?,
                        version: env!("CARGO_PKG_VERSION").into(),
                    })
                },
                |_| None,
            )
            .await?;
        Ok(Response::new(info))
    }

    async fn term_stats(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::TermStatsResponse>, Status> {
        let record = record::search("TermStats", request.get_ref());
        let access = self.authorize(&request, Permission::Search, record).await?;
        let text = request.into_inner().query;
        let (stats, ignored, stats_version) = self
            .audited(
                access,
                move |node, audience| {
                    let (stats, ignored) = node.term_stats(&text, audience)?;
                    Ok((stats, ignored, node.stats_version(audience)?))
                },
                |_| None,
            )
            .await?;
        Ok(Response::new(pb::TermStatsResponse {
            stats: Some(pb::CorpusStats::from(&stats)),
            ignored,
            members: Vec::new(),
            stats_version,
        }))
    }

    async fn search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let record = record::search("Search", request.get_ref());
        let access = self.authorize(&request, Permission::Search, record).await?;
        let request = request.into_inner();
        let global = request.stats.as_ref().map(CorpusStats::from);
        let started = std::time::Instant::now();
        let (results, stats_version) = self
            .audited(
                access,
                move |node, audience| {
                    node.request_limits().check_members(&request.members)?;
                    let query = SearchQuery::try_from(request)?;
                    let results = node.search(&query, audience, global.as_ref())?;
                    Ok((results, node.stats_version(audience)?))
                },
                |(results, _)| Some(results.hits.len() as u64),
            )
            .await?;
        tracing::debug!(
            total = results.total,
            hits = results.hits.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "search"
        );
        let mut response = pb::SearchResponse::from(results);
        response.stats_version = stats_version;
        Ok(Response::new(response))
    }

    type AggregateStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::AggregateChunk, Status>>;

    async fn aggregate(
        &self,
        request: Request<pb::AggregateRequest>,
    ) -> Result<Response<Self::AggregateStream>, Status> {
        let record = record::aggregate(request.get_ref());
        let query = match AggregateQuery::try_from(request.get_ref()) {
            Ok(query) => query,
            Err(e) => {
                let tudashalo_core::Error::InvalidRequest(why) = &e;
                self.invalid(&request, record, why.clone()).await;
                return Err(Status::from(Error::from(e)));
            }
        };
        let members = request.get_ref().members.clone();
        let granularity = if query.finest_geography() == Some(GroupKey::Settlement) {
            Granularity::Settlement
        } else {
            Granularity::Kisterseg
        };
        let access = self
            .authorize(&request, Permission::Aggregate(granularity), record)
            .await?;
        // Partials (which carry the largest contributions) go only to this
        // node's hubs. Anyone else asking is refused, not downgraded to
        // published cells: a silent downgrade would hide a misconfigured
        // hub, or an attempt, from the caller and from the audit log.
        let partials = request.get_ref().partials;
        if partials && let Err(e) = self.node.policy().authorize_partials(&access.caller) {
            let why = match &e {
                Error::PermissionDenied(why) => why.clone(),
                other => other.to_string(),
            };
            tracing::warn!(principal = %access.caller.principal, method = "Aggregate", %why, "refused");
            self.finish(access, None, Outcome::Denied(why)).await?;
            return Err(Status::from(e));
        }
        let cells = self
            .audited(
                access,
                move |node, _audience| {
                    node.request_limits().check_members(&members)?;
                    if partials {
                        return Ok(node
                            .aggregate(&query)?
                            .into_iter()
                            .map(|c| convert::partial_cell(c, Vec::new(), Vec::new(), false))
                            .collect::<Vec<_>>());
                    }
                    Ok(node
                        .aggregate_published(&query)?
                        .into_iter()
                        .map(|p| convert::published_cell(p, Vec::new(), Vec::new()))
                        .collect())
                },
                |cells| Some(cells.len() as u64),
            )
            .await?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move { send_chunks(&tx, cells, Vec::new()).await });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        let record = record::get_document(request.get_ref());
        let access = self.authorize(&request, Permission::Get, record).await?;
        let request = request.into_inner();
        if !request.member.is_empty() {
            let status = Status::not_found(format!(
                "this is a node; it has no member {:?}",
                request.member
            ));
            self.finish(access, None, Outcome::Error(status.message().to_string()))
                .await?;
            return Err(status);
        }
        let doc = self
            .audited(
                access,
                move |node, audience| node.get(&request.id, audience),
                |_| Some(1),
            )
            .await?;
        Ok(Response::new(pb::GetDocumentResponse {
            document: Some(doc.into()),
            member: String::new(),
        }))
    }
}
