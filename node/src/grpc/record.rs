//! The audit records of requests, built from the protobuf request as the
//! caller sent it, before anything is converted or checked: a request
//! refused as malformed is recorded with everything it asked for, and the
//! record of an allowed one holds every parameter that shaped its answer.
//!
//! Parameters are stored under their protobuf names ([`audit::Params`]),
//! each bounded by the audit log ([`audit::bounded`]).

use tonic::metadata::MetadataMap;
use tudashalo_proto::pb;

use crate::audit::{self, Record};
use crate::policy::{ON_BEHALF_OF_HEADER, VIA_HEADER};

/// The record of a `Search` or `TermStats` (`method`) request.
pub(crate) fn search(method: &str, request: &pb::SearchRequest) -> Record {
    let mut record = Record::new("", method);
    record.query = Some(request.query.clone());
    let filters = request.filters.clone().unwrap_or_default();
    let p = &mut record.params;
    p.list("kinds", &filters.kinds)
        .list("sectors", &filters.sectors)
        .list("settlements", &filters.settlements)
        .number("year_from", filters.year_from)
        .number("year_to", filters.year_to)
        .list("ids", &filters.ids)
        .list("entities", &filters.entities)
        .list("programmes", &filters.programmes)
        .list("statuses", &filters.statuses)
        .list("target_groups", &filters.target_groups)
        .number("amount_min", filters.amount_min)
        .number("amount_max", filters.amount_max)
        .number("offset", Some(request.offset))
        .number("limit", Some(request.limit))
        .list("members", &request.members)
        .flag("ids_only", request.ids_only)
        .flag("no_snippets", request.no_snippets)
        .flag("no_facets", request.no_facets)
        // Supplied statistics change every score: whether there were any,
        // and how many terms, is what an auditor needs (not the numbers).
        .flag("stats", request.stats.is_some());
    if let Some(stats) = &request.stats {
        p.number("stats_terms", Some(stats.terms.len() as u64));
    }
    match &request.search_after {
        None => p.value("search_after", serde_json::Value::Null),
        Some(cursor) => p.value(
            "search_after",
            serde_json::json!({
                // A NaN or infinite score is not JSON: kept as text.
                "score": cursor.score.to_string(),
                "tie": cursor.tie,
                "member": audit::bounded(&cursor.member),
                "id": audit::bounded(&cursor.id),
            }),
        ),
    };
    record
}

/// The record of an `Aggregate` request.
pub(crate) fn aggregate(request: &pb::AggregateRequest) -> Record {
    let mut record = Record::new("", "Aggregate");
    record.indicators = request.indicators.clone();
    record.group_by = request.group_by.clone();
    record
        .params
        .text("period_from", &request.period_from)
        .text("period_to", &request.period_to)
        .list("settlements", &request.settlements)
        .flag("totals", request.totals)
        .list("members", &request.members)
        .flag("partials", request.partials);
    record
}

/// The record of a `GetDocument` request.
pub(crate) fn get_document(request: &pb::GetDocumentRequest) -> Record {
    let mut record = Record::new("", "GetDocument");
    record.document = Some(request.id.clone());
    record.params.text("member", &request.member);
    record
}

/// The record of a `Network` request.
pub(crate) fn network(request: &pb::NetworkRequest) -> Record {
    let mut record = Record::new("", "Network");
    record.query = Some(request.query.clone());
    record
        .params
        .number("min_members", Some(request.min_members))
        .list("members", &request.members)
        .number("limit", Some(request.limit));
    record
}

/// The record of a `WatchVersion` request (one, when the watch opens).
pub(crate) fn watch_version() -> Record {
    Record::new("", "WatchVersion")
}

/// The record of a `GetOriginal` request.
pub(crate) fn get_original(request: &pb::GetDocumentRequest) -> Record {
    let mut record = Record::new("", "GetOriginal");
    record.document = Some(request.id.clone());
    record.params.text("member", &request.member);
    record
}

/// The relay headers exactly as sent (every value, bytes read as lossy
/// UTF-8), recorded for a request whose headers could not be understood.
pub(crate) fn raw_relay_headers(metadata: &MetadataMap) -> Vec<(&'static str, Vec<String>)> {
    [ON_BEHALF_OF_HEADER, VIA_HEADER]
        .into_iter()
        .map(|name| {
            let values = metadata
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>();
            (name, values)
        })
        .filter(|(_, values)| !values.is_empty())
        .collect()
}
