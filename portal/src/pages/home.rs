//! `/`: the federation at a glance — its members and their state, what
//! they hold by kind and sector, the newest documents, the indicators.

use axum::extract::State;
use maud::{Markup, html};
use tudashalo_proto::pb;

use crate::app::{PortalState, Viewer};
use crate::error::PortalError;
use crate::format;
use crate::pages::labels;
use crate::pages::layout::{self, Nav};
use crate::pages::search::{SearchParams, encode, hit_item, partial_notice, search_form};

/// How many of the newest documents the front page lists.
pub const NEWEST: u32 = 6;

/// `GET /`.
pub async fn page(State(state): State<PortalState>, viewer: Viewer) -> Result<Markup, PortalError> {
    let backend = state.backend();
    let timeout = state.timeout();
    let overview = backend.overview(&viewer.principal, timeout).await;
    // Everything the viewer may see, for its facets only.
    let all = backend
        .search(
            &viewer.principal,
            pb::SearchRequest {
                limit: 1,
                no_snippets: true,
                ..pb::SearchRequest::default()
            },
            timeout,
        )
        .await
        .ok();
    let newest_year = all
        .as_ref()
        .and_then(|a| a.facets.iter().find(|f| f.name == "year"))
        .and_then(|f| {
            f.values
                .iter()
                .filter_map(|v| v.value.parse::<i32>().ok())
                .max()
        });
    let newest = match newest_year {
        Some(year) => backend
            .search(
                &viewer.principal,
                pb::SearchRequest {
                    limit: NEWEST,
                    no_facets: true,
                    filters: Some(pb::Filters {
                        year_from: Some(year - 1),
                        ..pb::Filters::default()
                    }),
                    ..pb::SearchRequest::default()
                },
                timeout,
            )
            .await
            .ok(),
        None => None,
    };
    let facet = |name: &str| {
        all.as_ref()
            .and_then(|a| a.facets.iter().find(|f| f.name == name))
            .cloned()
    };
    let body = html! {
        h1 { (overview.display_name) }
        p class="lead" { "A kistérségek stratégiái, koncepciói, projekttervei, tanulmányai, értékelései és jó gyakorlatai, "
            "és a települések mutatói – egy helyen kereshetően. Minden adatot a saját kistérsége őriz, és ő dönti el, mit lát belőle a látogató." }
        (search_form(&SearchParams { page: 1, ..SearchParams::default() }))
        @if let Some(all) = &all {
            @if all.partial { (partial_notice(&state, &viewer, &all.members)) }
        }
        h2 { "Kistérségek" }
        div class="scroll" {
            table class="members" {
                caption class="visually-hidden" { "A szövetség tagjai és állapotuk" }
                thead { tr { th scope="col" { "Kistérség" } th scope="col" { "Állapot" } th scope="col" class="num" { "Dokumentumok" } th scope="col" class="num" { "Megfigyelések" } th scope="col" class="num" { "Mutatók" } } }
                tbody {
                    @for m in &overview.members {
                        tr data-member=(m.path) {
                            th scope="row" { a href=(format!("/members/{}", encode(&m.path))) { (m.display_name) } }
                            td class=(if m.state == "ok" { "state-ok" } else { "state-bad" }) {
                                (labels::health(&m.state))
                                @if !m.message.is_empty() { span class="meta" { " – " (m.message) } }
                            }
                            @if let Some(info) = &m.info {
                                td class="num" { (format::integer(info.documents as i64)) }
                                td class="num" { (format::integer(info.observations as i64)) }
                                td class="num" { (format::integer(info.indicators.len() as i64)) }
                            } @else {
                                td class="num" { "–" } td class="num" { "–" } td class="num" { "–" }
                            }
                        }
                    }
                }
            }
        }
        div class="cards" {
            @for name in ["kind", "sector"] {
                @if let Some(f) = facet(name) {
                    section class="card" aria-labelledby=(format!("f-{name}")) {
                        h3 id=(format!("f-{name}")) { "Dokumentumok – " (labels::facet(name).to_lowercase()) " szerint" }
                        ul {
                            @for v in f.values.iter().take(10) {
                                li { a href=(SearchParams { page: 1, ..SearchParams::default() }.toggled(name, &v.value).href()) {
                                    (if name == "kind" { labels::kind(&v.value) } else { v.value.clone() }) }
                                    " " span class="count" { "(" (format::integer(v.count as i64)) ")" } }
                            }
                        }
                    }
                }
            }
            section class="card" aria-labelledby="f-ind" {
                h3 id="f-ind" { "Mutatók" }
                ul {
                    @for i in overview.indicators.iter().take(10) {
                        li { a href=(format!("/indicators/{}", encode(&i.code))) { (i.name) } }
                    }
                }
                p { a href="/indicators" { "Minden mutató" } }
            }
        }
        @if let Some(newest) = &newest {
            @if !newest.hits.is_empty() {
                h2 { "Legújabb dokumentumok" }
                ol class="hits" {
                    @for hit in &newest.hits { li class="hit" { (hit_item(&state, hit)) } }
                }
            }
        }
    };
    Ok(layout::page(&state, &viewer, "Áttekintés", Nav::Home, body))
}
