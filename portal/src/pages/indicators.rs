//! `/indicators` (the catalogue) and `/indicators/{code}`: one indicator
//! as a chart — a time series per kistérség, or per settlement where the
//! nodes allow it — with the same numbers in an accessible table,
//! confidential cells marked (never drawn as zero, never interpolated
//! across), and downloads as CSV, JSON and SDMX-CSV.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use tudashalo_proto::pb;

use crate::app::{PortalState, Viewer};
use crate::backend::Aggregated;
use crate::chart::{self, Point, PointStatus, Series};
use crate::error::PortalError;
use crate::format;
use crate::pages::labels;
use crate::pages::layout::{self, Nav};
use crate::pages::search::{encode, partial_notice};

/// Most cells one indicator page or download asks for.
pub const MAX_CELLS: usize = 50_000;
/// Most series drawn in one chart (the table shows every one).
pub const MAX_SERIES_DRAWN: usize = 12;
/// Longest indicator code accepted from a URL.
pub const MAX_CODE_BYTES: usize = 128;

/// One table of catalogue entries.
fn catalogue_table(caption: &str, indicators: &[&pb::Indicator]) -> Markup {
    html! {
        div class="scroll" {
            table class="catalogue" {
                caption class="visually-hidden" { (caption) }
                thead { tr { th scope="col" { "Mutató" } th scope="col" { "Kód" } th scope="col" { "Mértékegység" } th scope="col" { "Összesítés" } } }
                tbody {
                    @for i in indicators {
                        tr {
                            th scope="row" { a href=(format!("/indicators/{}", encode(&i.code))) { (i.name) } }
                            td { code { (i.code) } }
                            td { (i.unit) }
                            td { (aggregation(&i.aggregation)) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /indicators`.
pub async fn catalogue(
    State(state): State<PortalState>,
    viewer: Viewer,
) -> Result<Markup, PortalError> {
    let overview = state
        .backend()
        .overview(&viewer.principal, state.timeout())
        .await;
    let mut indicators = overview.indicators.clone();
    format::sort(&mut indicators, |i| i.name.as_str());
    // The register's derived indicators (`dev.…`: counts, support and cost
    // by programme and sector, target achievement) are many; they get a
    // section of their own, folded, so that the centres' own indicators
    // stay in view.
    let (derived, own): (Vec<_>, Vec<_>) = indicators
        .iter()
        .partition(|i| i.code.starts_with(tudashalo_core::register::DERIVED_PREFIX));
    let body = html! {
        h1 { "Mutatók" }
        p { "A kistérségek által közölt mutatók. A kis elemszámú, egyedi adatot felfedő cellákat a kistérségek titkosítják; "
            "ezek az ábrákon és a táblázatokban jelölve, érték nélkül szerepelnek." }
        @if indicators.is_empty() {
            p { "Egyetlen kistérség sem közöl mutatót, amelyet Ön láthat." }
        } @else {
            @if !own.is_empty() { (catalogue_table("A mutatók katalógusa", &own)) }
            @if !derived.is_empty() {
                details class="derived" {
                    summary { "Fejlesztési mutatók a nyilvántartásból (" (format::integer(derived.len() as i64)) ")" }
                    p { "A fejlesztések száma, a megítélt támogatás és az összköltség programonként és ágazatonként, "
                        "valamint a projektmutatók célértékeinek teljesülése. A közpénzből megítélt támogatás "
                        "nyilvános adat, ezért nem titkosított." }
                    (catalogue_table("A nyilvántartásból képzett mutatók", &derived))
                }
            }
        }
    };
    Ok(layout::page(
        &state,
        &viewer,
        "Mutatók",
        Nav::Indicators,
        body,
    ))
}

fn aggregation(rule: &str) -> String {
    match rule.split_once(':') {
        Some(("weighted_mean", weight)) => format!("súlyozott átlag ({weight} szerint)"),
        _ => match rule {
            "sum" => "összeg".into(),
            "min" => "legkisebb".into(),
            "max" => "legnagyobb".into(),
            "mean" => "átlag".into(),
            "none" => "nem összesíthető".into(),
            other => other.into(),
        },
    }
}

/// What an indicator page asks: the level, the years, the members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellParams {
    /// `kisterseg` or `settlement`.
    pub by: String,
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub members: Vec<String>,
}

impl CellParams {
    /// Parses `by`, `from`, `to`, `member` (and ignores the rest, e.g.
    /// `format`); errors name the parameter.
    pub fn parse(query: Option<&str>) -> Result<CellParams, PortalError> {
        let mut p = CellParams {
            by: "kisterseg".into(),
            from: None,
            to: None,
            members: Vec::new(),
        };
        for (i, (key, value)) in form_urlencoded::parse(query.unwrap_or("").as_bytes()).enumerate()
        {
            if i >= 32 || value.len() > 256 {
                return Err(PortalError::BadRequest(
                    "too many or too long parameters (32 parameters of 256 bytes at most)".into(),
                ));
            }
            let year = || {
                value
                    .parse::<i32>()
                    .ok()
                    .filter(|y| (1000..=9999).contains(y))
                    .ok_or_else(|| {
                        PortalError::BadRequest(format!("parameter {key}: {value:?} is not a year"))
                    })
            };
            match &*key {
                "by" => match &*value {
                    "kisterseg" | "settlement" => p.by = value.to_string(),
                    other => {
                        return Err(PortalError::BadRequest(format!(
                            "parameter by: {other:?} is not a level (kisterseg or settlement)"
                        )));
                    }
                },
                "from" if !value.is_empty() => p.from = Some(year()?),
                "to" if !value.is_empty() => p.to = Some(year()?),
                "member" if !value.is_empty() => p.members.push(value.to_string()),
                _ => {}
            }
        }
        Ok(p)
    }

    pub fn request(&self, code: &str) -> pb::AggregateRequest {
        pb::AggregateRequest {
            indicators: vec![code.to_string()],
            group_by: vec![self.by.clone(), "period".into()],
            period_from: self.from.map(|y| y.to_string()).unwrap_or_default(),
            period_to: self.to.map(|y| y.to_string()).unwrap_or_default(),
            members: self.members.clone(),
            ..pb::AggregateRequest::default()
        }
    }

    /// The query string of these parameters (for links and downloads).
    pub fn query(&self) -> String {
        let mut parts = vec![format!("by={}", self.by)];
        parts.extend(self.from.map(|y| format!("from={y}")));
        parts.extend(self.to.map(|y| format!("to={y}")));
        parts.extend(self.members.iter().map(|m| format!("member={}", encode(m))));
        parts.join("&")
    }
}

/// Checks an indicator code from the URL.
pub fn check_code(code: &str) -> Result<(), PortalError> {
    if code.is_empty() || code.len() > MAX_CODE_BYTES || code.chars().any(char::is_control) {
        return Err(PortalError::BadRequest(format!(
            "not an indicator code (1 to {MAX_CODE_BYTES} bytes)"
        )));
    }
    Ok(())
}

/// One series: its key and its cells by period.
pub type SeriesCells = (String, BTreeMap<String, pb::Cell>);

/// The series of a level: one per kistérség or settlement, periods in order.
pub fn series_of(cells: &[pb::Cell], by: &str) -> (Vec<String>, Vec<SeriesCells>) {
    let mut periods = BTreeSet::new();
    let mut series: BTreeMap<String, BTreeMap<String, pb::Cell>> = BTreeMap::new();
    for cell in cells {
        let key = if by == "settlement" {
            &cell.settlement
        } else {
            &cell.kisterseg
        };
        periods.insert(cell.period.clone());
        series
            .entry(key.clone())
            .or_default()
            .insert(cell.period.clone(), cell.clone());
    }
    let mut series: Vec<SeriesCells> = series.into_iter().collect();
    format::sort(&mut series, |(k, _)| k.as_str());
    (periods.into_iter().collect(), series)
}

/// A cell's status on a chart.
pub fn point_status(cell: &pb::Cell) -> PointStatus {
    match (cell.value, cell.status.as_str(), cell.incomplete) {
        (None, "C", _) => PointStatus::Confidential,
        (None, "D", _) => PointStatus::Suppressed,
        (None, _, true) => PointStatus::Incomplete,
        (None, _, false) => PointStatus::Missing,
        (Some(_), _, true) => PointStatus::Incomplete,
        (Some(_), _, false) => PointStatus::Free,
    }
}

/// A cell as the table shows it.
pub fn cell_text(cell: &pb::Cell, unit: &str) -> Markup {
    html! {
        @match cell.value {
            Some(v) => {
                (format::value(v, unit))
                @if cell.incomplete { span class="incomplete" title="nem minden tag válaszolt" { " (hiányos)" } }
            }
            None => {
                @if cell.status == "C" || cell.status == "D" {
                    span class="conf" title=(cell.flags.iter().map(|f| labels::flag(f)).collect::<Vec<_>>().join(", ")) {
                        "titkos (" (cell.status) ")"
                    }
                } @else if cell.incomplete {
                    span class="incomplete" { "hiányos" }
                } @else {
                    "–"
                }
            }
        }
    }
}

/// The chart and the table of one indicator's cells; `title` names a
/// series' key (a kistérség's display name).
pub fn chart_and_table(
    id: &str,
    name: &str,
    unit: &str,
    by: &str,
    cells: &[pb::Cell],
    title: &dyn Fn(&str) -> String,
) -> Markup {
    let (periods, mut series) = series_of(cells, by);
    for (label, _) in &mut series {
        *label = title(label);
    }
    format::sort(&mut series, |(k, _)| k.as_str());
    let drawn: Vec<Series> = series
        .iter()
        .take(MAX_SERIES_DRAWN)
        .map(|(label, by_period)| Series {
            label: label.clone(),
            points: periods
                .iter()
                .map(|p| match by_period.get(p) {
                    Some(cell) => Point {
                        period: p.clone(),
                        value: cell.value,
                        status: point_status(cell),
                    },
                    None => Point {
                        period: p.clone(),
                        value: None,
                        status: PointStatus::Missing,
                    },
                })
                .collect(),
        })
        .collect();
    let level = if by == "settlement" {
        "Település"
    } else {
        "Kistérség"
    };
    html! {
        div class="chart" {
            (chart::line_chart(id, name, unit, &drawn))
            @if series.len() > MAX_SERIES_DRAWN {
                p class="meta" { "Az ábra az első " (MAX_SERIES_DRAWN) " sort mutatja; a táblázat mindet (" (series.len()) ")." }
            }
        }
        // Focusable and named: a keyboard can scroll a wide table (axe's
        // scrollable-region-focusable).
        div class="scroll" tabindex="0" role="region" aria-label=(format!("{name}: táblázat")) {
            table class="cells" id=(format!("{id}-table")) {
                caption { (name) @if !unit.is_empty() { " (" (unit) ")" } }
                thead { tr { th scope="col" { (level) } @for p in &periods { th scope="col" class="num" { (p) } } } }
                tbody {
                    @for (label, by_period) in &series {
                        tr {
                            th scope="row" { (label) }
                            @for p in &periods {
                                @match by_period.get(p) {
                                    Some(cell) => td class="num" data-status=(cell.status) { (cell_text(cell, "")) },
                                    None => td class="num" { "–" },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A series' name: a kistérség's display name, a settlement's own.
pub fn series_title(state: &PortalState, by: &str, key: &str) -> String {
    match by {
        "kisterseg" => state
            .backend()
            .member_title(key)
            .unwrap_or_else(|| key.to_string()),
        _ => key.to_string(),
    }
}

/// One indicator's cells as a URL asks them (`by`, `from`, `to`,
/// `member`), at most [`MAX_CELLS`]: the page, its downloads and the API
/// ask alike.
pub async fn cells_of(
    state: &PortalState,
    viewer: &Viewer,
    code: &str,
    query: Option<&str>,
) -> Result<(CellParams, Aggregated), PortalError> {
    check_code(code)?;
    let params = CellParams::parse(query)?;
    let answer = state
        .backend()
        .aggregate(
            &viewer.principal,
            params.request(code),
            MAX_CELLS,
            state.timeout(),
        )
        .await?;
    Ok((params, answer))
}

/// `GET /indicators/{code}`.
pub async fn page(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Markup, PortalError> {
    check_code(&code)?;
    let params = CellParams::parse(query.as_deref())?;
    let overview = state
        .backend()
        .overview(&viewer.principal, state.timeout())
        .await;
    let indicator = overview.indicators.iter().find(|i| i.code == code).cloned();
    let answer = state
        .backend()
        .aggregate(
            &viewer.principal,
            params.request(&code),
            MAX_CELLS,
            state.timeout(),
        )
        .await;
    let name = indicator.as_ref().map_or(code.clone(), |i| i.name.clone());
    let unit = indicator.as_ref().map_or(String::new(), |i| i.unit.clone());
    let other = CellParams {
        by: if params.by == "settlement" {
            "kisterseg".into()
        } else {
            "settlement".into()
        },
        ..params.clone()
    };
    let body = html! {
        nav aria-label="Morzsamenü" class="meta" { a href="/indicators" { "Mutatók" } " › " (code) }
        h1 { (name) }
        @if let Some(i) = &indicator {
            p class="meta" { span { "Kód: " code { (i.code) } } span { "Mértékegység: " (i.unit) } span { "Összesítés: " (aggregation(&i.aggregation)) } }
        }
        form class="searchbox" method="get" action=(format!("/indicators/{}", encode(&code))) {
            label for="by" { "Bontás"
                select id="by" name="by" {
                    option value="kisterseg" selected[params.by == "kisterseg"] { "kistérségenként" }
                    option value="settlement" selected[params.by == "settlement"] { "településenként" }
                }
            }
            label for="from" { "Évtől" input type="number" id="from" name="from" min="1000" max="9999" value=[params.from]; }
            label for="to" { "Évig" input type="number" id="to" name="to" min="1000" max="9999" value=[params.to]; }
            @for m in &params.members { input type="hidden" name="member" value=(m); }
            button type="submit" { "Mutasd" }
        }
        @if indicator.as_ref().is_some_and(|i| i.aggregation == "none") && params.by != "settlement" {
            p class="notice" { "Ez a mutató nem összesíthető: csak településenként közölhető. "
                a href=(format!("/indicators/{}?{}", encode(&code), other.query())) { "Településenkénti bontás" } }
        }
        @match &answer {
            Ok(Aggregated { cells, members }) => {
                @if members.iter().any(|m| m.state != pb::MemberState::Ok as i32) {
                    (partial_notice(&state, &viewer, members))
                }
                @if cells.is_empty() {
                    p { "Ehhez a mutatóhoz nincs közölhető adat ebben a bontásban." }
                } @else {
                    (chart_and_table("chart", &name, &unit, &params.by, cells, &|key| series_title(&state, &params.by, key)))
                    p class="downloads" { "Letöltés: "
                        @for (format, label) in [("csv", "CSV"), ("json", "JSON"), ("sdmx-csv", "SDMX-CSV")] {
                            a href=(format!("/indicators/{}/download?format={format}&{}", encode(&code), params.query())) download { (label) }
                        }
                    }
                }
            }
            Err(e) => {
                p class="error" role="alert" { (e.to_string()) }
                @if params.by == "settlement" {
                    p { a href=(format!("/indicators/{}?{}", encode(&code), other.query())) { "Kistérségi bontás" } }
                }
            }
        }
    };
    Ok(layout::page(&state, &viewer, &name, Nav::Indicators, body))
}

/// `GET /indicators/{code}/download?format=csv|json|sdmx-csv&by=…`.
pub async fn download(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PortalError> {
    let format_name = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "format")
        .map_or_else(|| "csv".to_string(), |(_, v)| v.to_string());
    let (format, content_type, extension) = match format_name.as_str() {
        "csv" => (
            tudashalo_core::export::ExportFormat::Csv,
            "text/csv; charset=utf-8",
            "csv",
        ),
        "json" => (
            tudashalo_core::export::ExportFormat::Json,
            "application/json",
            "json",
        ),
        "sdmx-csv" => (
            tudashalo_core::export::ExportFormat::SdmxCsv,
            "text/csv; charset=utf-8",
            "sdmx.csv",
        ),
        other => {
            return Err(PortalError::BadRequest(format!(
                "parameter format: {other:?} is not a format (csv, json or sdmx-csv)"
            )));
        }
    };
    let (params, answer) = cells_of(&state, &viewer, &code, query.as_deref()).await?;
    let keys = vec![params.by.clone(), "period".to_string()];
    let bytes = tudashalo_core::export::write_all(format, &keys, &answer.cells, &answer.members)
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let file: String = code
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{file}-{}.{extension}\"",
        params.by
    )) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
