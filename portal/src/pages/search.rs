//! `/search`: the query box, hits with highlighted snippets and their
//! member, facets as filters with counts, a year range, paging, the notice
//! of a partial answer, and suggestions when nothing matched.
//!
//! The parameters live in the URL (`/search?q=erdő&kind=study&page=2`), so
//! every state of the page is a link: facets are links that add or remove
//! their value, and the browser's history works. Every parameter is
//! bounded ([`MAX_PARAMS`], [`MAX_VALUE_CHARS`], [`MAX_QUERY_CHARS`],
//! [`MAX_AMOUNT_FT`]); the server behind applies its own request limits too.
//!
//! The register rides along: `entity=` (document, development,
//! organisation, group), and for developments `programme=`, `status=`,
//! `target=` (target group codes) and `amount_min=`/`amount_max=` (awarded
//! support, Ft). Coded values are checked against core's lists here (a
//! Hungarian label is accepted and becomes its code), so a typo is an
//! error that names the choices, not an empty result.

use std::str::FromStr;

use axum::extract::{RawQuery, State};
use maud::{Markup, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tudashalo_proto::pb::{self, MemberState};

use crate::app::{PortalState, Viewer};
use crate::error::PortalError;
use crate::format;
use crate::pages::labels;
use crate::pages::layout::{self, Nav};
use tudashalo_core::register::{Entity, Programme, Status, TargetGroup};

/// Most parameters in one search URL.
pub const MAX_PARAMS: usize = 64;
/// Longest value of one parameter, in characters.
pub const MAX_VALUE_CHARS: usize = 256;
/// Longest query text, in characters.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Hits per page.
pub const PAGE_SIZE: u32 = 10;
/// The largest support amount a search may name, in Ft (ten thousand
/// billion: beyond any development).
pub const MAX_AMOUNT_FT: u64 = 10_000_000_000_000;

/// What a URL-encoded value escapes: everything but unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `value`, percent-encoded for a query string or a path segment.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// The link to a document: `/doc/{member}/{id}`, each of the id's
/// `/`-separated parts encoded on its own (ids are paths of slugs).
pub fn doc_href(member: &str, id: &str) -> String {
    let id: Vec<String> = id.split('/').map(encode).collect();
    format!("/doc/{}/{}", encode(member), id.join("/"))
}

/// A search as its URL states it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchParams {
    pub q: String,
    pub kinds: Vec<String>,
    pub sectors: Vec<String>,
    pub settlements: Vec<String>,
    pub members: Vec<String>,
    pub from: Option<i32>,
    pub to: Option<i32>,
    /// Entity codes (`development`, …).
    pub entities: Vec<String>,
    /// Programme codes (`EFOP`, …), statuses, target group codes.
    pub programmes: Vec<String>,
    pub statuses: Vec<String>,
    pub targets: Vec<String>,
    /// Bounds on a development's awarded support, Ft.
    pub amount_min: Option<u64>,
    pub amount_max: Option<u64>,
    /// 1-based.
    pub page: u32,
}

/// The code of a coded register value given by its code or its Hungarian
/// label (`lezárt` → `closed`); the error names the parameter and the
/// choices.
fn code_of<T: FromStr<Err = String>>(
    key: &str,
    value: &str,
    as_str: fn(T) -> &'static str,
) -> Result<String, PortalError> {
    T::from_str(value)
        .map(|v| as_str(v).to_string())
        .map_err(|e| PortalError::BadRequest(format!("parameter {key}: {e}")))
}

/// An amount in Ft (digits, spaces allowed between them), at most
/// [`MAX_AMOUNT_FT`].
fn amount(key: &str, value: &str) -> Result<u64, PortalError> {
    let digits: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    let n = digits.parse::<u64>().map_err(|_| {
        PortalError::BadRequest(format!(
            "parameter {key}: {value:?} is not an amount in Ft (digits only)"
        ))
    })?;
    if n > MAX_AMOUNT_FT {
        return Err(PortalError::BadRequest(format!(
            "parameter {key}: {n} Ft is more than the {MAX_AMOUNT_FT} Ft allowed (MAX_AMOUNT_FT)"
        )));
    }
    Ok(n)
}

impl SearchParams {
    /// Parses a query string; errors name the parameter and the limit.
    pub fn parse(query: Option<&str>) -> Result<SearchParams, PortalError> {
        let mut params = SearchParams {
            page: 1,
            ..SearchParams::default()
        };
        let Some(query) = query else {
            return Ok(params);
        };
        for (i, (key, value)) in form_urlencoded::parse(query.as_bytes()).enumerate() {
            if i >= MAX_PARAMS {
                return Err(PortalError::BadRequest(format!(
                    "more than {MAX_PARAMS} parameters in the search (MAX_PARAMS)"
                )));
            }
            let chars = value.chars().count();
            let limit = if key == "q" {
                MAX_QUERY_CHARS
            } else {
                MAX_VALUE_CHARS
            };
            if chars > limit {
                return Err(PortalError::BadRequest(format!(
                    "parameter {key}: {chars} characters, more than the {limit} allowed"
                )));
            }
            let value = value.trim().to_string();
            let year = |v: &str| {
                v.parse::<i32>()
                    .ok()
                    .filter(|y| (1000..=9999).contains(y))
                    .ok_or_else(|| {
                        PortalError::BadRequest(format!(
                            "parameter {key}: {v:?} is not a year (four digits)"
                        ))
                    })
            };
            match &*key {
                "q" => params.q = value,
                "kind" if !value.is_empty() => params.kinds.push(value),
                "sector" if !value.is_empty() => params.sectors.push(value),
                "settlement" if !value.is_empty() => params.settlements.push(value),
                "member" if !value.is_empty() => params.members.push(value),
                "from" if !value.is_empty() => params.from = Some(year(&value)?),
                "to" if !value.is_empty() => params.to = Some(year(&value)?),
                "entity" if !value.is_empty() => {
                    params.entities.push(code_of(&key, &value, Entity::as_str)?)
                }
                "programme" if !value.is_empty() => {
                    params
                        .programmes
                        .push(code_of(&key, &value, Programme::as_str)?)
                }
                "status" if !value.is_empty() => {
                    params.statuses.push(code_of(&key, &value, Status::as_str)?)
                }
                "target" if !value.is_empty() => {
                    params
                        .targets
                        .push(code_of(&key, &value, TargetGroup::as_str)?)
                }
                "amount_min" if !value.is_empty() => {
                    params.amount_min = Some(amount(&key, &value)?);
                }
                "amount_max" if !value.is_empty() => {
                    params.amount_max = Some(amount(&key, &value)?);
                }
                "page" if !value.is_empty() => {
                    params.page =
                        value
                            .parse::<u32>()
                            .ok()
                            .filter(|p| *p >= 1)
                            .ok_or_else(|| {
                                PortalError::BadRequest(format!(
                                    "parameter page: {value:?} is not a page number (1 or more)"
                                ))
                            })?;
                }
                // Unknown and empty parameters are ignored, as a form sends
                // its empty fields.
                _ => {}
            }
        }
        if let (Some(min), Some(max)) = (params.amount_min, params.amount_max)
            && min > max
        {
            return Err(PortalError::BadRequest(format!(
                "parameters amount_min and amount_max: {min} Ft is more than {max} Ft"
            )));
        }
        let most = (tudashalo_core::search::MAX_DEPTH as u32) / PAGE_SIZE;
        if params.page > most {
            return Err(PortalError::BadRequest(format!(
                "page {}: results go {most} pages deep at most (the search depth limit of {} hits); narrow the search",
                params.page,
                tudashalo_core::search::MAX_DEPTH
            )));
        }
        Ok(params)
    }

    /// The federation request for this page of hits.
    pub fn request(&self) -> pb::SearchRequest {
        pb::SearchRequest {
            query: self.q.clone(),
            filters: Some(pb::Filters {
                kinds: self.kinds.clone(),
                sectors: self.sectors.clone(),
                settlements: self.settlements.clone(),
                year_from: self.from,
                year_to: self.to,
                entities: self.entities.clone(),
                programmes: self.programmes.clone(),
                statuses: self.statuses.clone(),
                target_groups: self.targets.clone(),
                amount_min: self.amount_min,
                amount_max: self.amount_max,
                ..pb::Filters::default()
            }),
            offset: (self.page - 1) * PAGE_SIZE,
            limit: PAGE_SIZE,
            members: self.members.clone(),
            ..pb::SearchRequest::default()
        }
    }

    /// The URL of this search.
    pub fn href(&self) -> String {
        let mut parts = vec![format!("q={}", encode(&self.q))];
        for (key, values) in self.lists() {
            parts.extend(values.iter().map(|v| format!("{key}={}", encode(v))));
        }
        for (key, value) in [
            ("from", self.from.map(i64::from)),
            ("to", self.to.map(i64::from)),
            (
                "amount_min",
                self.amount_min.and_then(|a| i64::try_from(a).ok()),
            ),
            (
                "amount_max",
                self.amount_max.and_then(|a| i64::try_from(a).ok()),
            ),
        ] {
            if let Some(value) = value {
                parts.push(format!("{key}={value}"));
            }
        }
        if self.page > 1 {
            parts.push(format!("page={}", self.page));
        }
        format!("/search?{}", parts.join("&"))
    }

    /// Whether facet `name` has `value` selected.
    pub fn selected(&self, name: &str, value: &str) -> bool {
        match name {
            "year" => value
                .parse::<i32>()
                .is_ok_and(|y| self.from == Some(y) && self.to == Some(y)),
            _ => self
                .list(name)
                .is_some_and(|l| l.iter().any(|v| v == value)),
        }
    }

    /// The list parameters by their URL names.
    pub fn lists(&self) -> [(&'static str, &Vec<String>); 8] {
        [
            ("kind", &self.kinds),
            ("sector", &self.sectors),
            ("settlement", &self.settlements),
            ("member", &self.members),
            ("entity", &self.entities),
            ("programme", &self.programmes),
            ("status", &self.statuses),
            ("target", &self.targets),
        ]
    }

    fn list(&self, name: &str) -> Option<&Vec<String>> {
        let name = url_name(name);
        self.lists()
            .into_iter()
            .find(|(key, _)| *key == name)
            .map(|(_, list)| list)
    }

    /// This search with facet `name`'s `value` added or removed, from the
    /// first page.
    pub fn toggled(&self, name: &str, value: &str) -> SearchParams {
        let mut next = self.clone();
        next.page = 1;
        let selected = self.selected(name, value);
        let list = match url_name(name) {
            "kind" => &mut next.kinds,
            "sector" => &mut next.sectors,
            "settlement" => &mut next.settlements,
            "member" => &mut next.members,
            "entity" => &mut next.entities,
            "programme" => &mut next.programmes,
            "status" => &mut next.statuses,
            "target" => &mut next.targets,
            "year" => {
                let year = value.parse::<i32>().ok();
                (next.from, next.to) = if selected { (None, None) } else { (year, year) };
                return next;
            }
            _ => return next,
        };
        if selected {
            list.retain(|v| v != value);
        } else {
            list.push(value.to_string());
        }
        next
    }

    /// Whether any filter is set.
    pub fn filtered(&self) -> bool {
        self.lists().iter().any(|(_, l)| !l.is_empty())
            || self.from.is_some()
            || self.to.is_some()
            || self.amount_min.is_some()
            || self.amount_max.is_some()
    }
}

/// The URL parameter of a facet: the federation's `target_group` is
/// `target=` in the URL; the others are their own names.
fn url_name(facet: &str) -> &str {
    match facet {
        "target_group" => "target",
        other => other,
    }
}

/// `GET /search`.
pub async fn page(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Result<Markup, PortalError> {
    let params = SearchParams::parse(query.as_deref())?;
    let asked = !params.q.is_empty() || params.filtered();
    let answer = if asked {
        Some(
            state
                .backend()
                .search(&viewer.principal, params.request(), state.timeout())
                .await?,
        )
    } else {
        None
    };
    let title = if params.q.is_empty() {
        "Keresés".to_string()
    } else {
        format!("Keresés: {}", params.q)
    };
    let body = html! {
        h1 { "Keresés a kistérségek tudásában" }
        (search_form(&params))
        @if let Some(answer) = &answer {
            (results(&state, &viewer, &params, answer))
        } @else {
            p { "Írjon be egy vagy több szót: a kereső a szavak ragozott alakjait is megtalálja "
                "(„erdő” – „erdők”, „erdőket”), ékezettel és anélkül is. "
                "Idézőjel között pontos kifejezést keres: " code { "\"közösségi közlekedés\"" } "." }
        }
    };
    Ok(layout::page(&state, &viewer, &title, Nav::Search, body))
}

/// The query box and the year range; the facet filters ride along hidden.
pub fn search_form(params: &SearchParams) -> Markup {
    html! {
        form class="searchbox" method="get" action="/search" role="search" {
            label for="q" { "Keresett szavak"
                input type="search" id="q" name="q" value=(params.q) maxlength=(MAX_QUERY_CHARS) autocomplete="off";
            }
            label for="from" { "Évtől"
                input type="number" id="from" name="from" min="1000" max="9999" value=[params.from];
            }
            label for="to" { "Évig"
                input type="number" id="to" name="to" min="1000" max="9999" value=[params.to];
            }
            label for="amount_min" { "Támogatás legalább (Ft)"
                input type="number" id="amount_min" name="amount_min" min="0" max=(MAX_AMOUNT_FT) value=[params.amount_min];
            }
            label for="amount_max" { "Támogatás legfeljebb (Ft)"
                input type="number" id="amount_max" name="amount_max" min="0" max=(MAX_AMOUNT_FT) value=[params.amount_max];
            }
            @for (key, values) in params.lists() {
                @for v in values { input type="hidden" name=(key) value=(v); }
            }
            button type="submit" { "Keresés" }
        }
    }
}

fn results(
    state: &PortalState,
    viewer: &Viewer,
    params: &SearchParams,
    answer: &pb::SearchResponse,
) -> Markup {
    let first = (params.page - 1) * PAGE_SIZE + 1;
    let last = first + answer.hits.len() as u32 - 1;
    let pages = answer.total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    html! {
        @if answer.partial {
            (partial_notice(state, viewer, &answer.members))
        }
        @if !answer.ignored.is_empty() {
            p class="notice" { "A keresés figyelmen kívül hagyta: " (answer.ignored.join("; ")) }
        }
        @if params.filtered() {
            p { a href=(SearchParams { page: 1, q: params.q.clone(), ..SearchParams::default() }.href()) { "Szűrők törlése" } }
        }
        div class="layout" {
            aside class="facets" aria-label="Szűrők" {
                @for facet in &ordered_facets(&answer.facets) {
                    @if !facet.values.is_empty() {
                        h2 { (labels::facet(&facet.name)) }
                        ul {
                            @for v in facet.values.iter().take(12) {
                                @let selected = params.selected(&facet.name, &v.value);
                                li {
                                    a href=(params.toggled(&facet.name, &v.value).href())
                                      // aria-current, not aria-pressed: these are links (axe's
                                      // aria-allowed-attr); data-selected for scripts and tests.
                                      aria-current=[selected.then_some("true")]
                                      data-selected=(selected)
                                      data-facet=(facet.name) data-value=(v.value) {
                                        (facet_value(state, &facet.name, &v.value))
                                    }
                                    " " span class="count" { "(" (format::integer(v.count as i64)) ")" }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="talalatok" {
                // data-total: the exact count, whatever the number format (browser tests).
                h2 id="talalatok" data-total=(answer.total) {
                    @if answer.total == 0 {
                        "Nincs találat"
                    } @else {
                        (format::integer(i64::from(first))) "–" (format::integer(i64::from(last)))
                        " / " (format::integer(answer.total as i64)) " találat"
                    }
                }
                @if answer.total == 0 {
                    @if !answer.suggested_query.is_empty() {
                        p class="suggestion" { "Erre gondolt? "
                            a href=(SearchParams { q: answer.suggested_query.clone(), page: 1, ..params.clone() }.href()) { (answer.suggested_query) }
                        }
                    } @else {
                        p { "Próbáljon kevesebb vagy más szót, vagy törölje a szűrőket." }
                    }
                }
                @if answer.total > 0 && answer.total < 3 && !answer.suggested_query.is_empty() {
                    p class="suggestion" { "Erre gondolt? "
                        a href=(SearchParams { q: answer.suggested_query.clone(), page: 1, ..params.clone() }.href()) { (answer.suggested_query) }
                    }
                }
                ol class="hits" start=(first) {
                    @for hit in &answer.hits {
                        li class="hit" { (hit_item(state, hit)) }
                    }
                }
                @if pages > 1 {
                    nav class="pager" aria-label="Oldalak" {
                        @if params.page > 1 {
                            a rel="prev" href=(SearchParams { page: params.page - 1, ..params.clone() }.href()) { "‹ Előző" }
                        }
                        span { (params.page) ". oldal / " (format::integer(pages.min(i64::MAX as u64) as i64)) }
                        @if u64::from(params.page) < pages && params.page < (tudashalo_core::search::MAX_DEPTH as u32) / PAGE_SIZE {
                            a rel="next" href=(SearchParams { page: params.page + 1, ..params.clone() }.href()) { "Következő ›" }
                        }
                    }
                }
            }
        }
    }
}

fn facet_value(state: &PortalState, name: &str, value: &str) -> String {
    match name {
        "kind" => labels::kind(value),
        "entity" | "programme" | "status" | "target_group" => {
            labels::register_facet(name, value).unwrap_or_else(|| value.to_string())
        }
        "member" => state
            .backend()
            .member_title(value)
            .unwrap_or_else(|| value.to_string()),
        _ => value.to_string(),
    }
}

/// Facets as shown: years newest first (a time line reads so), the others
/// by count as the federation ranked them.
fn ordered_facets(facets: &[pb::Facet]) -> Vec<pb::Facet> {
    let mut out = facets.to_vec();
    for facet in &mut out {
        if facet.name == "year" {
            facet.values.sort_by(|a, b| b.value.cmp(&a.value));
        }
    }
    out
}

/// One hit: title linked to its page, what it is (a register record's
/// badge), member, kind, year, settlements, the snippet, the source file.
pub fn hit_item(state: &PortalState, hit: &pb::Hit) -> Markup {
    let member = member_of(state, &hit.member);
    let member_title = state
        .backend()
        .member_title(&member)
        .unwrap_or_else(|| member.clone());
    let register = !hit.entity.is_empty() && hit.entity != Entity::Document.as_str();
    html! {
        h3 {
            @if register {
                span class="badge" data-entity=(hit.entity) { (labels::entity(&hit.entity)) } " "
            }
            a href=(doc_href(&member, &hit.id)) { (if hit.title.is_empty() { &hit.id } else { &hit.title }) }
        }
        p class="meta" {
            span class="member" data-member=(member) { (member_title) }
            @if !hit.kind.is_empty() { span { (labels::kind(&hit.kind)) } }
            @if let Some(year) = hit.year { span { (year) } }
            @if !hit.settlements.is_empty() { span { (hit.settlements.join(", ")) } }
            @if !hit.sectors.is_empty() { span { (hit.sectors.join(", ")) } }
        }
        @if let Some(snippet) = &hit.snippet {
            p class="snippet" { (highlighted(snippet)) }
        }
        @if let Some(source) = &hit.source {
            p class="meta" { "Forrás: " (source.file) " (" (source.format) ")" }
        }
    }
}

/// The member path a hit or a document is linked under: a node's own
/// hits carry none, and are its own.
pub fn member_of(state: &PortalState, member: &str) -> String {
    if member.is_empty() {
        state.backend().name().to_string()
    } else {
        member.to_string()
    }
}

/// A snippet with its highlights as `<mark>`: offsets that are out of
/// range, overlapping or not on character boundaries are dropped (a member
/// may send anything).
pub fn highlighted(snippet: &pb::Snippet) -> Markup {
    let text = &snippet.text;
    let mut marks: Vec<(usize, usize)> = snippet
        .highlights
        .iter()
        .map(|h| (h.start as usize, h.end as usize))
        .filter(|(s, e)| s < e && text.get(*s..*e).is_some())
        .collect();
    marks.sort_unstable();
    let mut at = 0;
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    for (start, end) in marks {
        if start < at {
            continue;
        }
        pieces.push((&text[at..start], false));
        pieces.push((&text[start..end], true));
        at = end;
    }
    pieces.push((&text[at..], false));
    html! {
        @for (piece, mark) in pieces {
            @if mark { mark { (piece) } } @else { (piece) }
        }
    }
}

/// The notice of a partial answer: which members did not answer, and why
/// in Hungarian. The member's own message (an address, a refusal's
/// wording) is shown to logged-in users only: it may name servers and
/// ports the public has no business knowing.
pub fn partial_notice(
    state: &PortalState,
    viewer: &Viewer,
    members: &[pb::MemberStatus],
) -> Markup {
    let missing: Vec<&pb::MemberStatus> = members
        .iter()
        .filter(|m| m.state != MemberState::Ok as i32)
        .collect();
    let details = viewer.session.is_some();
    html! {
        div class="notice partial" role="status" {
            strong { "Részleges válasz: " }
            "nem minden kistérség válaszolt, ezért a találatok és a számok hiányosak lehetnek."
            ul {
                @for m in missing {
                    li data-member=(m.member) {
                        strong { (state.backend().member_title(&m.member).unwrap_or_else(|| m.member.clone())) }
                        ": " (labels::state(m.state))
                        @if details && !m.message.is_empty() { span class="meta" { " – " (m.message) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parameters_round_trip_through_the_url() {
        let p = SearchParams::parse(Some(
            "q=erd%C5%91+%C3%A9s+t%C5%B1zifa&kind=study&kind=strategy&settlement=Ny%C3%ADregyh%C3%A1za&from=2015&page=3",
        ))
        .unwrap();
        assert_eq!(p.q, "erdő és tűzifa");
        assert_eq!(p.kinds, ["study", "strategy"]);
        assert_eq!(p.settlements, ["Nyíregyháza"]);
        assert_eq!((p.from, p.to, p.page), (Some(2015), None, 3));
        let again = SearchParams::parse(p.href().strip_prefix("/search?")).unwrap();
        assert_eq!(again, p);
        let r = p.request();
        assert_eq!((r.offset, r.limit), (20, PAGE_SIZE));
    }

    #[test]
    fn facets_toggle_and_reset_the_page() {
        let p = SearchParams::parse(Some("q=erdő&page=4")).unwrap();
        let on = p.toggled("sector", "oktatás");
        assert_eq!(
            (on.sectors.clone(), on.page),
            (vec!["oktatás".to_string()], 1)
        );
        assert!(on.selected("sector", "oktatás"));
        let off = on.toggled("sector", "oktatás");
        assert!(off.sectors.is_empty());
        let year = p.toggled("year", "2019");
        assert_eq!((year.from, year.to), (Some(2019), Some(2019)));
        assert!(year.toggled("year", "2019").from.is_none());
    }

    #[test]
    fn bounds_are_named() {
        let long = format!("q={}", "a".repeat(MAX_QUERY_CHARS + 1));
        let e = SearchParams::parse(Some(&long)).unwrap_err().to_string();
        assert!(e.contains("parameter q") && e.contains("1000"), "{e}");
        let many = vec!["kind=x"; MAX_PARAMS + 1].join("&");
        let e = SearchParams::parse(Some(&many)).unwrap_err().to_string();
        assert!(e.contains("MAX_PARAMS"), "{e}");
        let e = SearchParams::parse(Some("page=101"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("depth"), "{e}");
        assert!(SearchParams::parse(Some("from=20x")).is_err());
        assert!(SearchParams::parse(Some("page=0")).is_err());
    }

    #[test]
    fn hostile_highlights_are_dropped_not_panicked_on() {
        let snippet = pb::Snippet {
            text: "az erdő <b>szép</b>".into(),
            highlights: vec![
                pb::Highlight { start: 3, end: 8 },
                pb::Highlight { start: 7, end: 9 }, // inside ő: not a boundary
                pb::Highlight { start: 4, end: 6 }, // overlaps the first
                pb::Highlight { start: 5, end: 500 }, // out of range
                pb::Highlight { start: 9, end: 3 }, // backwards
            ],
        };
        let html = highlighted(&snippet).into_string();
        assert_eq!(html, "az <mark>erdő</mark> &lt;b&gt;szép&lt;/b&gt;");
    }

    #[test]
    fn document_links_keep_the_id_path() {
        assert_eq!(
            doc_href("edelenyi", "2021/fejlesztesi-terv"),
            "/doc/edelenyi/2021/fejlesztesi-terv"
        );
        assert_eq!(doc_href("a/b", "x y"), "/doc/a%2Fb/x%20y");
    }
}
