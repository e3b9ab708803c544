//! Conversions between the domain and the protobuf contract, in one place.
//!
//! Node and hub both convert through here, so a field added to the contract
//! is mapped once. Requests become domain queries with `TryFrom` (they may
//! be invalid, and the error names the field); domain answers become
//! messages with `From`. Cells need more than the cell (who contributed,
//! who is missing), so they have functions: [`partial_cell`],
//! [`published_cell`] and [`cell_from_pb`].

use std::collections::HashMap;
use std::sync::LazyLock;

use tudashalo_proto::pb;

use crate::aggregate::{AggregateQuery, Cell, CellKey, GroupKey, Partial};
use crate::disclosure::{self, Published, Rules, Strictness};
use crate::error::{Error, Result};
use crate::limits::RequestLimits;
use crate::model::{Aggregation, Document, Source};
use crate::search::{CorpusStats, Cursor, DEFAULT_LIMIT, Filters, Hit, SearchQuery, SearchResults};
use crate::suggest::Suggestion;

/// Converts and validates a search request.
impl TryFrom<pb::SearchRequest> for SearchQuery {
    type Error = Error;

    fn try_from(request: pb::SearchRequest) -> Result<SearchQuery> {
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
                entities: filters
                    .entities
                    .iter()
                    .map(|e| e.parse().map_err(Error::InvalidRequest))
                    .collect::<Result<_>>()?,
                programmes: filters.programmes,
                statuses: filters.statuses,
                target_groups: filters.target_groups,
                amount_min: filters.amount_min,
                amount_max: filters.amount_max,
            },
            offset: request.offset as usize,
            limit: if request.limit == 0 {
                DEFAULT_LIMIT
            } else {
                request.limit as usize
            },
            after,
            snippets: !request.no_snippets && !request.ids_only,
            facets: !request.no_facets,
            ids_only: request.ids_only,
        })
    }
}

/// Fields and terms sorted, so that equal statistics are equal messages.
impl From<&CorpusStats> for pb::CorpusStats {
    fn from(stats: &CorpusStats) -> pb::CorpusStats {
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
}

impl From<&pb::CorpusStats> for CorpusStats {
    fn from(stats: &pb::CorpusStats) -> CorpusStats {
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
}

/// A node's hit; `member` is left for the hub to fill.
impl From<Hit> for pb::Hit {
    fn from(hit: Hit) -> pb::Hit {
        pb::Hit {
            member: String::new(),
            entity: crate::register::Entity::of_key(&hit.id)
                .0
                .as_str()
                .to_string(),
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
            source: hit.source.map(pb::DocumentSource::from),
        }
    }
}

impl From<pb::DocumentSource> for Source {
    fn from(s: pb::DocumentSource) -> Source {
        Source {
            file: s.file,
            format: s.format,
            pages: s.pages,
            bytes: s.bytes,
            sha256: s.sha256,
        }
    }
}

impl From<Source> for pb::DocumentSource {
    fn from(s: Source) -> pb::DocumentSource {
        pb::DocumentSource {
            file: s.file,
            format: s.format,
            pages: s.pages,
            bytes: s.bytes,
            sha256: s.sha256,
        }
    }
}

/// A node's results; member statuses and the statistics version are the
/// hub's to fill.
impl From<SearchResults> for pb::SearchResponse {
    fn from(results: SearchResults) -> pb::SearchResponse {
        pb::SearchResponse {
            hits: results.hits.into_iter().map(pb::Hit::from).collect(),
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
            suggestions: results
                .suggestions
                .into_iter()
                .map(pb::Suggestion::from)
                .collect(),
            suggested_query: results.suggested_query,
        }
    }
}

impl From<Suggestion> for pb::Suggestion {
    fn from(s: Suggestion) -> pb::Suggestion {
        pb::Suggestion {
            word: s.word,
            replacement: s.replacement,
            doc_freq: s.doc_freq,
            distance: s.distance,
        }
    }
}

impl From<pb::Suggestion> for Suggestion {
    fn from(s: pb::Suggestion) -> Suggestion {
        Suggestion {
            word: s.word,
            replacement: s.replacement,
            doc_freq: s.doc_freq,
            distance: s.distance,
        }
    }
}

impl From<Document> for pb::Document {
    fn from(d: Document) -> pb::Document {
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
            source: d.source.map(pb::DocumentSource::from),
        }
    }
}

/// Parses the request's grouping and period range (the lists are checked
/// against the limits separately: [`check_aggregate_request`]).
impl TryFrom<&pb::AggregateRequest> for AggregateQuery {
    type Error = Error;

    fn try_from(request: &pb::AggregateRequest) -> Result<AggregateQuery> {
        let group_by = request
            .group_by
            .iter()
            .map(|g| g.parse::<GroupKey>().map_err(Error::InvalidRequest))
            .collect::<Result<Vec<_>>>()?;
        let year = |s: &str, what: &str| -> Result<Option<i32>> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            s.trim()
                .get(..4)
                .and_then(|y| y.parse::<i32>().ok())
                .map(Some)
                .ok_or_else(|| {
                    Error::InvalidRequest(format!("{what}: {s:?} is not a year such as 2010"))
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
}

impl From<Strictness> for pb::Strictness {
    fn from(rules: Strictness) -> pb::Strictness {
        pb::Strictness {
            min_contributors: rules.min_contributors,
            max_small_count: rules.max_small_count,
            dominance_k: rules.dominance_k,
            public_information: rules.public_information,
        }
    }
}

/// A partial's rules as received: never laxer than the defaults (a member
/// cannot loosen them by sending less).
impl From<Option<pb::Strictness>> for Strictness {
    fn from(rules: Option<pb::Strictness>) -> Strictness {
        rules
            .map(|r| Strictness {
                min_contributors: r.min_contributors,
                max_small_count: r.max_small_count,
                dominance_k: r.dominance_k,
                public_information: r.public_information,
            })
            .unwrap_or_default()
            .at_least_defaults()
    }
}

/// The default disclosure rules; a partial's status is under the stricter
/// of these and the rules its data carry.
static DEFAULT_RULES: LazyLock<Rules> = LazyLock::new(Rules::default);

/// A domain cell as a protobuf cell carrying its partial (for a hub).
pub fn partial_cell(
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
            rules: Some(cell.partial.rules.into()),
        }),
        flags: flags.iter().map(|f| f.to_string()).collect(),
    }
}

/// A published cell as a protobuf cell.
pub fn published_cell(p: Published, contributors: Vec<String>, missing: Vec<String>) -> pb::Cell {
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

/// A member's partial cell, as [`partial_cell`] made it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberCell {
    pub cell: Cell,
    pub contributors: Vec<String>,
    pub missing: Vec<String>,
    pub incomplete: bool,
}

/// A protobuf partial cell back into the domain, for combining. The error
/// says what is wrong with the cell (a hub reports it as the member's).
pub fn cell_from_pb(cell: pb::Cell) -> std::result::Result<MemberCell, String> {
    let Some(partial) = cell.partial else {
        return Err(format!(
            "cell {}/{} came without its partial",
            cell.indicator, cell.period
        ));
    };
    let aggregation: Aggregation = cell.aggregation.parse()?;
    Ok(MemberCell {
        cell: Cell {
            key: CellKey {
                indicator: cell.indicator,
                period: cell.period,
                region: cell.region,
                kisterseg: cell.kisterseg,
                settlement: cell.settlement,
            },
            unit: cell.unit,
            aggregation,
            partial: Partial {
                sum: partial.sum,
                weight_sum: partial.weight_sum,
                n: partial.n,
                min: partial.min,
                max: partial.max,
                top: partial.top,
                missing_weight: partial.missing_weight,
                rules: partial.rules.into(),
            },
        },
        contributors: cell.contributors,
        missing: cell.missing,
        incomplete: cell.incomplete,
    })
}

/// Checks a search request against `limits` before anything of it is
/// parsed: query text, filters, member paths. A hub checks before fanning
/// out; a node checks the same before searching.
pub fn check_search_request(limits: &RequestLimits, request: &pb::SearchRequest) -> Result<()> {
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
        (
            "filters.entities",
            &filters.entities,
            limits.max_filter_values,
            "max_filter_values",
        ),
        (
            "filters.programmes",
            &filters.programmes,
            limits.max_filter_values,
            "max_filter_values",
        ),
        (
            "filters.statuses",
            &filters.statuses,
            limits.max_filter_values,
            "max_filter_values",
        ),
        (
            "filters.target_groups",
            &filters.target_groups,
            limits.max_filter_values,
            "max_filter_values",
        ),
    ] {
        limits.check_list(what, values, max, key)?;
    }
    limits.check_members(&request.members)
}

/// Checks an aggregate request's lists against `limits`.
pub fn check_aggregate_request(
    limits: &RequestLimits,
    request: &pb::AggregateRequest,
) -> Result<()> {
    limits.check_aggregate(
        &request.indicators,
        &request.settlements,
        request.group_by.len(),
        &request.members,
    )
}
