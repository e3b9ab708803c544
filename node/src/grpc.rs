//! The thin gRPC adapter: protobuf in, domain call, protobuf out.
//!
//! Every RPC converts its request, runs the domain call on the blocking pool
//! (sled and tantivy calls may take milliseconds), and converts the result.
//! A panic in the domain call surfaces as `Internal`, never as a dropped
//! connection. This module and `server.rs` are the only ones that know tonic.

use std::collections::HashMap;
use std::sync::Arc;

use tonic::{Request, Response, Status};
use tudashalo_proto::pb;

use crate::error::{Error, Result};
use crate::model::Document;
use crate::node::Node;
use crate::search::{Audience, CorpusStats, Cursor, Filters, Hit, SearchQuery, SearchResults};

#[derive(Debug, Clone)]
pub struct FederationService {
    node: Arc<Node>,
}

impl FederationService {
    pub fn new(node: Arc<Node>) -> Self {
        FederationService { node }
    }
}

/// Who the caller is, for visibility. Every caller has passed mTLS with a
/// certificate of the federation CA; until per-node policy exists, each is
/// treated as a federation member (public and federated documents, never
/// local ones).
fn audience<T>(_request: &Request<T>) -> Audience {
    Audience::Federation
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
        let audience = audience(&request);
        let node = self.node.clone();
        let info = blocking(move || {
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
        })
        .await?;
        Ok(Response::new(info))
    }

    async fn term_stats(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::TermStatsResponse>, Status> {
        let audience = audience(&request);
        let text = request.into_inner().query;
        let node = self.node.clone();
        let (stats, ignored) = blocking(move || node.term_stats(&text, audience)).await?;
        Ok(Response::new(pb::TermStatsResponse {
            stats: Some(stats_to_pb(&stats)),
            ignored,
            members: Vec::new(),
        }))
    }

    async fn search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let audience = audience(&request);
        let request = request.into_inner();
        let global = request.stats.as_ref().map(stats_from_pb);
        let query = query_from_pb(request).map_err(Status::from)?;
        let node = self.node.clone();
        let started = std::time::Instant::now();
        let results = blocking(move || node.search(&query, audience, global.as_ref())).await?;
        tracing::debug!(
            total = results.total,
            hits = results.hits.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "search"
        );
        Ok(Response::new(results_to_pb(results)))
    }

    type AggregateStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::AggregateChunk, Status>>;

    async fn aggregate(
        &self,
        _request: Request<pb::AggregateRequest>,
    ) -> Result<Response<Self::AggregateStream>, Status> {
        Err(Status::unimplemented("aggregates are being built"))
    }

    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        let audience = audience(&request);
        let request = request.into_inner();
        if !request.member.is_empty() {
            return Err(Status::not_found(format!(
                "this is a node; it has no member {:?}",
                request.member
            )));
        }
        let node = self.node.clone();
        let doc = blocking(move || node.get(&request.id, audience)).await?;
        Ok(Response::new(pb::GetDocumentResponse {
            document: Some(document_to_pb(doc)),
            member: String::new(),
        }))
    }
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
        },
        offset: request.offset as usize,
        limit: if request.limit == 0 {
            crate::search::DEFAULT_LIMIT
        } else {
            request.limit as usize
        },
        after,
        snippets: !request.no_snippets,
        facets: !request.no_facets,
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
