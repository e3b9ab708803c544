//! `/members/{member}`: a kistérség's profile — what it holds (as far as
//! the viewer may see), its documents by kind, its newest documents, and
//! its indicators over time.

use axum::extract::{Path, State};
use maud::{Markup, html};
use tudashalo_proto::pb;

use crate::app::{PortalState, Viewer};
use crate::error::PortalError;
use crate::format;
use crate::pages::indicators::{MAX_CELLS, chart_and_table};
use crate::pages::labels;
use crate::pages::layout::{self, Nav};
use crate::pages::search::{SearchParams, encode, hit_item};

/// Indicators charted on a profile (the catalogue links to the rest).
pub const PROFILE_INDICATORS: usize = 4;

/// `GET /members/{member}`.
pub async fn page(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(member): Path<String>,
) -> Result<Markup, PortalError> {
    crate::pages::doc::check_ids(&member, "-")?;
    let backend = state.backend();
    let timeout = state.timeout();
    let overview = backend.overview(&viewer.principal, timeout).await;
    let view = overview
        .members
        .iter()
        .find(|m| m.path == member)
        .cloned()
        .ok_or_else(|| PortalError::NotFound(format!("no member {member} in this federation")))?;
    let search = backend
        .search(
            &viewer.principal,
            pb::SearchRequest {
                limit: 5,
                members: vec![member.clone()],
                ..pb::SearchRequest::default()
            },
            timeout,
        )
        .await;
    let indicators: Vec<pb::Indicator> = view
        .info
        .as_ref()
        .map(|i| {
            i.indicators
                .iter()
                .take(PROFILE_INDICATORS)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let cells = if indicators.is_empty() {
        None
    } else {
        backend
            .aggregate(
                &viewer.principal,
                pb::AggregateRequest {
                    indicators: indicators.iter().map(|i| i.code.clone()).collect(),
                    group_by: vec!["kisterseg".into(), "period".into()],
                    members: vec![member.clone()],
                    ..pb::AggregateRequest::default()
                },
                MAX_CELLS,
                timeout,
            )
            .await
            .ok()
    };
    let all_link = SearchParams {
        page: 1,
        ..SearchParams::default()
    }
    .toggled("member", &member);
    let body = html! {
        nav aria-label="Morzsamenü" class="meta" { a href="/" { "Áttekintés" } " › " (view.display_name) }
        h1 { (view.display_name) }
        p class="meta" {
            span { "Állapot: " (labels::health(&view.state)) }
            @if let Some(info) = &view.info {
                span { (format::integer(info.documents as i64)) " dokumentum" }
                span { (format::integer(info.observations as i64)) " megfigyelés" }
                span { (format::integer(info.indicators.len() as i64)) " mutató" }
            }
        }
        @match &search {
            Ok(answer) => {
                @if let Some(kinds) = answer.facets.iter().find(|f| f.name == "kind") {
                    h2 { "Dokumentumai típus szerint" }
                    ul {
                        @for v in &kinds.values {
                            li { a href=(all_link.toggled("kind", &v.value).href()) { (labels::kind(&v.value)) }
                                " " span class="count" { "(" (format::integer(v.count as i64)) ")" } }
                        }
                    }
                }
                h2 { "Dokumentumai" }
                ol class="hits" { @for hit in &answer.hits { li class="hit" { (hit_item(&state, hit)) } } }
                p { a href=(all_link.href()) { "Minden dokumentuma (" (format::integer(answer.total as i64)) ")" } }
            }
            Err(e) => { p class="error" role="alert" { (e.to_string()) } }
        }
        @if let Some(answer) = &cells {
            h2 { "Mutatói" }
            @for (n, i) in indicators.iter().enumerate() {
                @let own: Vec<pb::Cell> = answer.cells.iter().filter(|c| c.indicator == i.code).cloned().collect();
                @if !own.is_empty() {
                    h3 { a href=(format!("/indicators/{}?member={}", encode(&i.code), encode(&member))) { (i.name) } }
                    (chart_and_table(&format!("chart-{n}"), &i.name, &i.unit, "kisterseg", &own, &|key| crate::pages::indicators::series_title(&state, "kisterseg", key)))
                }
            }
        }
    };
    Ok(layout::page(
        &state,
        &viewer,
        &view.display_name,
        Nav::Home,
        body,
    ))
}
