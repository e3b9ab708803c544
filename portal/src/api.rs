//! `/api/…`: what the pages show, as JSON, for scripts and other portals —
//! the same requests under the same principal and policy: search (with the
//! register's filters), documents and register records, indicator cells,
//! the partner network. The shapes are
//! stable and described by `/api/openapi.json` (`assets/openapi.json`,
//! checked against these handlers by the tests).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tudashalo_core::register::Entity;
use tudashalo_proto::pb;

use crate::app::{PortalState, Viewer};
use crate::error::ApiError;
use crate::pages::doc::check_ids;
use crate::pages::indicators::cells_of;
use crate::pages::labels::entity_of;
use crate::pages::network::network_of;
use crate::pages::register::record_href;
use crate::pages::search::{SearchParams, doc_href, member_of};

const OPENAPI: &str = include_str!("../assets/openapi.json");

/// A member's state as the API names it.
fn members_json(members: &[pb::MemberStatus]) -> Value {
    Value::Array(
        members
            .iter()
            .map(tudashalo_core::export::member_json)
            .collect(),
    )
}

fn source_json(source: Option<&pb::DocumentSource>) -> Value {
    match source {
        Some(s) => {
            json!({"file": s.file, "format": s.format, "pages": s.pages, "bytes": s.bytes, "sha256": s.sha256})
        }
        None => Value::Null,
    }
}

/// `GET /api/search` (the parameters of `/search`).
pub async fn search(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = SearchParams::parse(query.as_deref())?;
    let answer = state
        .backend()
        .search(&viewer.principal, params.request(), state.timeout())
        .await?;
    let hits: Vec<Value> = answer
        .hits
        .iter()
        .map(|h| {
            let member = member_of(&state, &h.member);
            json!({
                "member": member,
                "id": h.id,
                "title": h.title,
                "kind": h.kind,
                "entity": if h.entity.is_empty() { "document" } else { h.entity.as_str() },
                "year": h.year,
                "settlements": h.settlements,
                "sectors": h.sectors,
                "score": h.score,
                "snippet": h.snippet.as_ref().map(|s| json!({
                    "text": s.text,
                    "highlights": s.highlights.iter().map(|x| [x.start, x.end]).collect::<Vec<_>>(),
                })),
                "source": source_json(h.source.as_ref()),
                "href": doc_href(&member, &h.id),
            })
        })
        .collect();
    let facets: serde_json::Map<String, Value> = answer
        .facets
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                Value::Array(
                    f.values
                        .iter()
                        .map(|v| json!({"value": v.value, "count": v.count}))
                        .collect(),
                ),
            )
        })
        .collect();
    Ok(Json(json!({
        "query": params.q,
        "page": params.page,
        "total": answer.total,
        "partial": answer.partial,
        "hits": hits,
        "facets": facets,
        "members": members_json(&answer.members),
        "ignored": answer.ignored,
        "suggested_query": (!answer.suggested_query.is_empty()).then_some(&answer.suggested_query),
    })))
}

/// `GET /api/doc/{member}/{id}`.
pub async fn document(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path((member, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    check_ids(&member, &id)?;
    let answer = state
        .backend()
        .document(&viewer.principal, &member, &id, state.timeout())
        .await?;
    if let Some(record) = register_json(&member, &answer) {
        return Ok(Json(record));
    }
    let d = answer.document.unwrap_or_default();
    Ok(Json(json!({
        "member": member,
        "id": d.id,
        "title": d.title,
        "kind": d.kind,
        "year": d.year,
        "sectors": d.sectors,
        "settlements": d.settlements,
        "org": d.org,
        "visibility": d.visibility,
        "tags": d.tags,
        "url": d.url,
        "body": d.body,
        "source": source_json(d.source.as_ref()),
    })))
}

/// Something an organisation takes part in, with the link to its page.
fn participation_json(member: &str, p: &pb::Participation) -> Value {
    let entity = entity_of(&p.entity).unwrap_or(Entity::Development);
    json!({
        "entity": p.entity, "id": p.id, "title": p.title, "role": p.role,
        "year": p.year, "programme": p.programme, "support": p.support,
        "href": record_href(member, entity, &p.id),
    })
}

/// An organisation of a consortium or a group, with the link to its page.
fn partner_json(member: &str, m: &pb::ConsortiumMember) -> Value {
    json!({
        "organisation": m.organisation,
        "name": m.name,
        "role": m.role,
        "href": record_href(member, Entity::Organisation, &m.organisation),
    })
}

/// A register record of `GetDocument` (`entity` says which), with links to
/// the records and documents it names.
fn register_json(member: &str, answer: &pb::GetDocumentResponse) -> Option<Value> {
    if let Some(d) = &answer.development {
        let indicators: Vec<Value> = d
            .indicators
            .iter()
            .map(|i| {
                json!({
                    "indicator": i.indicator, "name": i.name, "type": i.r#type, "unit": i.unit,
                    "baseline": i.baseline, "baseline_year": i.baseline_year,
                    "target": i.target, "target_date": i.target_date,
                    "achieved": i.achieved.iter().map(|a| json!({"period": a.period, "value": a.value})).collect::<Vec<_>>(),
                })
            })
            .collect();
        return Some(json!({
            "member": member, "entity": "development", "id": d.id,
            "key": Entity::Development.key(&d.id), "title": d.title,
            "summary": d.summary, "programme": d.programme, "call": d.call, "status": d.status,
            "planned_start": d.planned_start, "planned_end": d.planned_end,
            "actual_start": d.actual_start, "actual_end": d.actual_end,
            "total_cost": d.total_cost, "support": d.support,
            "settlements": d.settlements, "sectors": d.sectors, "target_groups": d.target_groups,
            "consortium": d.consortium.iter().map(|m| partner_json(member, m)).collect::<Vec<_>>(),
            "documents": d.documents.iter().map(|id| json!({"id": id, "href": doc_href(member, id)})).collect::<Vec<_>>(),
            "visibility": d.visibility,
            "indicators": indicators,
        }));
    }
    if let Some(o) = &answer.organisation {
        let participations: Vec<Value> = o
            .participations
            .iter()
            .map(|p| participation_json(member, p))
            .collect();
        return Some(json!({
            "member": member, "entity": "organisation", "id": o.id,
            "key": Entity::Organisation.key(&o.id), "name": o.name,
            "legal_form": o.legal_form, "gfo": o.gfo, "register_number": o.register_number,
            "tax_number": o.tax_number, "seat": o.seat, "sectors": o.sectors,
            "website": o.website, "visibility": o.visibility,
            "participations": participations,
        }));
    }
    let g = answer.group.as_ref()?;
    Some(json!({
        "member": member, "entity": "group", "id": g.id,
        "key": Entity::Group.key(&g.id), "name": g.name, "theme": g.theme,
        "status": g.status, "visibility": g.visibility,
        "members": g.members.iter().map(|m| partner_json(member, m)).collect::<Vec<_>>(),
        "meetings": g.meetings.iter().map(|m| json!({
            "date": m.date, "topic": m.topic, "minutes": m.minutes,
            "href": (!m.minutes.is_empty()).then(|| doc_href(member, &m.minutes)),
        })).collect::<Vec<_>>(),
    }))
}

/// `GET /api/network?q&min_members&member` (the parameters of `/network`).
pub async fn network(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (params, answer) = network_of(&state, &viewer, query.as_deref()).await?;
    let organisations: Vec<Value> = answer
        .organisations
        .iter()
        .map(|o| {
            let entries: Vec<Value> = o
                .entries
                .iter()
                .filter_map(|e| {
                    e.organisation
                        .as_ref()
                        .map(|org| (member_of(&state, &e.member), org))
                })
                .map(|(member, org)| {
                    let participations: Vec<Value> = org
                        .participations
                        .iter()
                        .map(|p| participation_json(&member, p))
                        .collect();
                    json!({
                        "member": member,
                        "id": org.id,
                        "name": org.name,
                        "legal_form": org.legal_form,
                        "seat": org.seat,
                        "href": record_href(&member, Entity::Organisation, &org.id),
                        "participations": participations,
                    })
                })
                .collect();
            json!({
                "register_number": o.register_number,
                "name": o.name,
                "member_count": o.member_count,
                "entries": entries,
            })
        })
        .collect();
    let pairs: Vec<Value> = answer
        .pairs
        .iter()
        .map(|p| json!({"a": p.a, "b": p.b, "a_name": p.a_name, "b_name": p.b_name, "developments": p.developments}))
        .collect();
    Ok(Json(json!({
        "query": params.q,
        "min_members": params.min_members,
        "total": answer.total,
        "partial": answer.partial,
        "organisations": organisations,
        "pairs": pairs,
        "members": members_json(&answer.members),
    })))
}

/// `GET /api/indicators`: the catalogue the viewer may see.
pub async fn indicators(State(state): State<PortalState>, viewer: Viewer) -> Json<Value> {
    let overview = state
        .backend()
        .overview(&viewer.principal, state.timeout())
        .await;
    Json(Value::Array(
        overview
            .indicators
            .iter()
            .map(|i| json!({"code": i.code, "name": i.name, "unit": i.unit, "aggregation": i.aggregation}))
            .collect(),
    ))
}

/// `GET /api/indicators/{code}/cells?by=kisterseg|settlement&from&to&member`.
pub async fn cells(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (params, answer) = cells_of(&state, &viewer, &code, query.as_deref()).await?;
    let cells: Vec<Value> = answer
        .cells
        .iter()
        .map(|c| {
            json!({
                "indicator": c.indicator,
                "period": c.period,
                "region": c.region,
                "kisterseg": c.kisterseg,
                "settlement": c.settlement,
                "unit": c.unit,
                "value": c.value,
                "n": c.n,
                "status": c.status,
                "incomplete": c.incomplete,
                "flags": c.flags,
                "aggregation": c.aggregation,
            })
        })
        .collect();
    Ok(Json(json!({
        "indicator": code,
        "by": params.by,
        "cells": cells,
        "members": members_json(&answer.members),
        "partial": answer.members.iter().any(|m| m.state != pb::MemberState::Ok as i32),
    })))
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    let mut response = OPENAPI.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `GET /healthz`: the portal answers (not whether members do: that is
/// `/` and the hub's own health).
pub async fn healthz() -> &'static str {
    "ok\n"
}
