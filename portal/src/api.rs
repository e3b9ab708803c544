//! `/api/…`: what the pages show, as JSON, for scripts and other portals —
//! the same requests under the same principal and policy. The shapes are
//! stable and described by `/api/openapi.json` (`assets/openapi.json`,
//! checked against these handlers by the tests).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tudashalo_proto::pb;

use crate::app::{PortalState, Viewer};
use crate::error::ApiError;
use crate::pages::doc::check_ids;
use crate::pages::indicators::cells_of;
use crate::pages::search::{SearchParams, doc_href, member_of};

const OPENAPI: &str = include_str!("../assets/openapi.json");

/// A member's state as the API names it.
use tudashalo_core::export::state_name;

fn members_json(members: &[pb::MemberStatus]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| {
                json!({"member": m.member, "state": state_name(m.state), "latency_ms": m.latency_ms, "message": m.message, "total": m.total})
            })
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
