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

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tonic::{Request, Response, Status};
use tudashalo_proto::identity::peer_principal;
use tudashalo_proto::pb;

use crate::aggregate::{AggregateQuery, Cell, GroupKey};
use crate::audit::{self, Outcome};
use crate::disclosure;
use crate::error::{Error, Result};
use crate::model::Document;
use crate::node::Node;
use crate::policy::{Caller, Granularity, Permission};
use crate::search::{Audience, CorpusStats, Cursor, Filters, Hit, SearchQuery, SearchResults};

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
            stats: Some(stats_to_pb(&stats)),
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
        let global = request.stats.as_ref().map(stats_from_pb);
        let started = std::time::Instant::now();
        let (results, stats_version) = self
            .audited(
                access,
                move |node, audience| {
                    node.request_limits().check_members(&request.members)?;
                    let query = query_from_pb(request)?;
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
        let mut response = results_to_pb(results);
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
        let query = match aggregate_query_from_pb(request.get_ref()) {
            Ok(query) => query,
            Err(status) => {
                self.invalid(&request, record, status.message().to_string())
                    .await;
                return Err(status);
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
                            .map(|c| partial_to_pb(c, Vec::new(), Vec::new(), false))
                            .collect::<Vec<_>>());
                    }
                    Ok(node
                        .aggregate_published(&query)?
                        .into_iter()
                        .map(|p| published_to_pb(p, Vec::new(), Vec::new()))
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
            document: Some(document_to_pb(doc)),
            member: String::new(),
        }))
    }
}

/// Checks a search request against `limits` before anything of it is
/// parsed: query text, filters, member paths. The hub's check before fanning
/// out; a node checks the same in [`Node::search`] and
/// [`Node::term_stats`].
pub fn check_search_request(
    limits: &crate::limits::RequestLimits,
    request: &pb::SearchRequest,
) -> Result<()> {
    let empty = pb::Filters::default();
    let filters = request.filters.as_ref().unwrap_or(&empty);
    limits.check_query(&request.query)?;
    for (what, values, max, key) in [
        (
            "filters.kinds",
            &filters.kinds,
            limits.max_filter_values,
            "max_filter_values",
        ),
        (
            "filters.sectors",
            &filters.sectors,
            limits.max_filter_values,
            "max_filter_values",
        ),
        (
            "filters.settlements",
            &filters.settlements,
            limits.max_filter_values,
            "max_filter_values",
        ),
        ("filters.ids", &filters.ids, limits.max_ids, "max_ids"),
    ] {
        limits.check_list(what, values, max, key)?;
    }
    limits.check_members(&request.members)
}

/// Checks an aggregate request's lists against `limits` (the hub's check
/// before fanning out; a node checks the same in [`Node::aggregate`]).
pub fn check_aggregate_request(
    limits: &crate::limits::RequestLimits,
    request: &pb::AggregateRequest,
) -> Result<()> {
    limits.check_aggregate(
        &request.indicators,
        &request.settlements,
        request.group_by.len(),
        &request.members,
    )
}

/// Converts and validates a search request.
pub fn query_from_pb(request: pb::SearchRequest) -> Result<SearchQuery> {
    let filters = request.filters.unwrap_or_default();
    if let (Some(from), Some(to)) = (filters.year_from, filters.year_to)
        && from > to
    {
        return Err(Error::InvalidRequest(format!(
            "year_from {from} is after year_to {to}"
        )));
    }
    let after = match request.search_after {
        Some(c) if !c.score.is_finite() => {
            return Err(Error::InvalidRequest(
                "search_after: score is not a finite number".into(),
            ));
        }
        Some(c) => Some(Cursor {
            score: c.score,
            tie: c.tie,
        }),
        None => None,
    };
    Ok(SearchQuery {
        text: request.query,
        filters: Filters {
            kinds: filters.kinds,
            sectors: filters.sectors,
            settlements: filters.settlements,
            year_from: filters.year_from,
            year_to: filters.year_to,
            ids: filters.ids,
        },
        offset: request.offset as usize,
        limit: if request.limit == 0 {
            crate::search::DEFAULT_LIMIT
        } else {
            request.limit as usize
        },
        after,
        snippets: !request.no_snippets && !request.ids_only,
        facets: !request.no_facets,
        ids_only: request.ids_only,
    })
}

pub fn stats_to_pb(stats: &CorpusStats) -> pb::CorpusStats {
    let mut fields: Vec<pb::FieldStats> = stats
        .total_tokens
        .iter()
        .map(|(field, total)| pb::FieldStats {
            field: field.clone(),
            total_tokens: *total,
        })
        .collect();
    fields.sort_by(|a, b| a.field.cmp(&b.field));
    let mut terms: Vec<pb::TermStat> = stats
        .doc_freq
        .iter()
        .map(|((field, text), df)| pb::TermStat {
            field: field.clone(),
            text: text.clone(),
            doc_freq: *df,
        })
        .collect();
    terms.sort_by(|a, b| (&a.field, &a.text).cmp(&(&b.field, &b.text)));
    pb::CorpusStats {
        total_docs: stats.total_docs,
        fields,
        terms,
    }
}

pub fn stats_from_pb(stats: &pb::CorpusStats) -> CorpusStats {
    CorpusStats {
        total_docs: stats.total_docs,
        total_tokens: stats
            .fields
            .iter()
            .map(|f| (f.field.clone(), f.total_tokens))
            .collect(),
        doc_freq: stats
            .terms
            .iter()
            .map(|t| ((t.field.clone(), t.text.clone()), t.doc_freq))
            .collect::<HashMap<_, _>>(),
    }
}

pub fn hit_to_pb(hit: Hit) -> pb::Hit {
    pb::Hit {
        member: String::new(),
        id: hit.id,
        title: hit.title,
        kind: hit.kind,
        year: hit.year,
        settlements: hit.settlements,
        sectors: hit.sectors,
        score: hit.score,
        snippet: hit.snippet.map(|s| pb::Snippet {
            text: s.text,
            highlights: s
                .highlights
                .into_iter()
                .map(|(start, end)| pb::Highlight {
                    start: start as u32,
                    end: end as u32,
                })
                .collect(),
        }),
        tie: hit.tie,
    }
}

pub fn results_to_pb(results: SearchResults) -> pb::SearchResponse {
    pb::SearchResponse {
        hits: results.hits.into_iter().map(hit_to_pb).collect(),
        total: results.total,
        facets: results
            .facets
            .into_iter()
            .map(|f| pb::Facet {
                name: f.name,
                values: f
                    .values
                    .into_iter()
                    .map(|v| pb::FacetValue {
                        value: v.value,
                        count: v.count,
                    })
                    .collect(),
            })
            .collect(),
        ignored: results.ignored,
        members: Vec::new(),
        partial: false,
        stats_version: 0,
    }
}

pub fn document_to_pb(d: Document) -> pb::Document {
    pb::Document {
        id: d.id,
        title: d.title,
        body: d.body,
        kind: d.kind.as_str().into(),
        sectors: d.sectors,
        settlements: d.settlements,
        year: d.year,
        org: d.org.unwrap_or_default(),
        visibility: d.visibility.as_str().into(),
        tags: d.tags,
        url: d.url.unwrap_or_default(),
        extra_json: if d.extra.is_empty() {
            String::new()
        } else {
            serde_json::Value::Object(d.extra).to_string()
        },
    }
}

/// Cells per streamed aggregate chunk.
pub const CHUNK: usize = 500;

/// Parses the request's grouping and period range into the node's query.
pub fn aggregate_query_from_pb(request: &pb::AggregateRequest) -> Result<AggregateQuery, Status> {
    let group_by = request
        .group_by
        .iter()
        .map(|g| {
            g.parse::<GroupKey>()
                .map_err(|e| Status::invalid_argument(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let year = |s: &str, what: &str| -> Result<Option<i32>, Status> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        s.trim()
            .get(..4)
            .and_then(|y| y.parse::<i32>().ok())
            .map(Some)
            .ok_or_else(|| {
                Status::invalid_argument(format!("{what}: {s:?} is not a year such as 2010"))
            })
    };
    Ok(AggregateQuery {
        indicators: request.indicators.clone(),
        group_by,
        period_from: year(&request.period_from, "period_from")?,
        period_to: year(&request.period_to, "period_to")?,
        settlements: request.settlements.clone(),
        totals: request.totals,
    })
}

/// The default disclosure rules; a partial's status is under the stricter
/// of these and the rules its data carry.
static DEFAULT_RULES: std::sync::LazyLock<disclosure::Rules> =
    std::sync::LazyLock::new(disclosure::Rules::default);

/// A domain cell as a protobuf cell carrying its partial (for a hub).
pub fn partial_to_pb(
    cell: Cell,
    contributors: Vec<String>,
    missing: Vec<String>,
    incomplete: bool,
) -> pb::Cell {
    let (status, flags) = disclosure::primary(&cell, &DEFAULT_RULES);
    pb::Cell {
        aggregation: cell.aggregation.to_string(),
        indicator: cell.key.indicator,
        period: cell.key.period,
        region: cell.key.region,
        kisterseg: cell.key.kisterseg,
        settlement: cell.key.settlement,
        unit: cell.unit,
        value: None,
        n: cell.partial.n,
        status: status.as_sdmx().to_string(),
        incomplete,
        contributors,
        missing,
        partial: Some(pb::Partial {
            sum: cell.partial.sum,
            weight_sum: cell.partial.weight_sum,
            n: cell.partial.n,
            min: cell.partial.min,
            max: cell.partial.max,
            top: cell.partial.top,
            missing_weight: cell.partial.missing_weight,
            rules: Some(pb::Strictness {
                min_contributors: cell.partial.rules.min_contributors,
                max_small_count: cell.partial.rules.max_small_count,
                dominance_k: cell.partial.rules.dominance_k,
            }),
        }),
        flags: flags.iter().map(|f| f.to_string()).collect(),
    }
}

/// A published cell as a protobuf cell.
pub fn published_to_pb(
    p: disclosure::Published,
    contributors: Vec<String>,
    missing: Vec<String>,
) -> pb::Cell {
    pb::Cell {
        indicator: p.key.indicator,
        period: p.key.period,
        region: p.key.region,
        kisterseg: p.key.kisterseg,
        settlement: p.key.settlement,
        unit: p.unit,
        value: p.value,
        n: p.n,
        status: p.status.as_sdmx().to_string(),
        incomplete: p.incomplete,
        contributors,
        missing,
        partial: None,
        flags: p.flags,
        aggregation: p.aggregation,
    }
}

/// Streams chunks of cells, then the statuses, into `tx`.
pub async fn send_chunks(
    tx: &mpsc::Sender<Result<pb::AggregateChunk, Status>>,
    cells: Vec<pb::Cell>,
    members: Vec<pb::MemberStatus>,
) {
    let mut cells = cells.into_iter().peekable();
    loop {
        let chunk: Vec<pb::Cell> = cells.by_ref().take(CHUNK).collect();
        let last = cells.peek().is_none();
        let message = pb::AggregateChunk {
            cells: chunk,
            members: if last { members.clone() } else { Vec::new() },
        };
        // A client that went away ends the stream; nothing else to do.
        if tx.send(Ok(message)).await.is_err() || last {
            return;
        }
    }
}
