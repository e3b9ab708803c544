//! `/network` ("Partnerhálózat"): the register's organisations across the
//! federation, merged by register number (törzsszám), with the kistérségek
//! each is present at and what it takes part in at each, and who cooperated
//! with whom ("Ki kivel működött együtt"), with the notice of a partial
//! answer as the search page shows it.
//!
//! The parameters live in the URL, as the search's do: `q=` (words of the
//! name), `min_members=` (the checkbox sends 2: partners active in more
//! than one kistérség), `member=` (restrict to members). Each is bounded
//! ([`MAX_NAME_CHARS`], [`MAX_MIN_MEMBERS`], and the search's
//! [`MAX_PARAMS`]/[`MAX_VALUE_CHARS`]), and at most [`NETWORK_LIMIT`]
//! organisations are asked for; the server applies its own limits too.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use maud::{Markup, html};
use tudashalo_core::register::Entity;
use tudashalo_proto::pb;

use crate::app::{PortalState, Viewer};
use crate::error::PortalError;
use crate::format;
use crate::pages::labels;
use crate::pages::layout::{self, Nav};
use crate::pages::register::record_href;
use crate::pages::search::{MAX_PARAMS, MAX_VALUE_CHARS, encode, member_of, partial_notice};

/// Longest name filter, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The largest `min_members` accepted (more kistérségek than any
/// federation has).
pub const MAX_MIN_MEMBERS: u32 = 1_000;
/// Most organisations asked for and listed.
pub const NETWORK_LIMIT: u32 = 200;
/// Most co-participation pairs listed.
pub const MAX_PAIRS_SHOWN: usize = 200;

/// A network query as its URL states it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkParams {
    pub q: String,
    pub min_members: u32,
    pub members: Vec<String>,
}

impl NetworkParams {
    /// Parses a query string; errors name the parameter and the limit.
    pub fn parse(query: Option<&str>) -> Result<NetworkParams, PortalError> {
        let mut params = NetworkParams::default();
        let Some(query) = query else {
            return Ok(params);
        };
        for (i, (key, value)) in form_urlencoded::parse(query.as_bytes()).enumerate() {
            if i >= MAX_PARAMS {
                return Err(PortalError::BadRequest(format!(
                    "more than {MAX_PARAMS} parameters in the network query (MAX_PARAMS)"
                )));
            }
            let chars = value.chars().count();
            let (limit, name) = if key == "q" {
                (MAX_NAME_CHARS, "MAX_NAME_CHARS")
            } else {
                (MAX_VALUE_CHARS, "MAX_VALUE_CHARS")
            };
            if chars > limit {
                return Err(PortalError::BadRequest(format!(
                    "parameter {key}: {chars} characters, more than the {limit} allowed ({name})"
                )));
            }
            let value = value.trim().to_string();
            match &*key {
                "q" => params.q = value,
                "member" if !value.is_empty() => params.members.push(value),
                "min_members" if !value.is_empty() => {
                    params.min_members = value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n <= MAX_MIN_MEMBERS)
                        .ok_or_else(|| {
                            PortalError::BadRequest(format!(
                                "parameter min_members: {value:?} is not a number of kistérségek from 0 to {MAX_MIN_MEMBERS} (MAX_MIN_MEMBERS)"
                            ))
                        })?;
                }
                _ => {}
            }
        }
        Ok(params)
    }

    /// The federation request.
    pub fn request(&self) -> pb::NetworkRequest {
        pb::NetworkRequest {
            query: self.q.clone(),
            min_members: self.min_members,
            members: self.members.clone(),
            limit: NETWORK_LIMIT,
        }
    }
}

/// The parameters and the federation's answer, the organisations in
/// Hungarian order within the same number of kistérségek (the page and the
/// API share it).
pub async fn network_of(
    state: &PortalState,
    viewer: &Viewer,
    query: Option<&str>,
) -> Result<(NetworkParams, pb::NetworkResponse), PortalError> {
    let params = NetworkParams::parse(query)?;
    let mut answer = state
        .backend()
        .network(&viewer.principal, params.request(), state.timeout())
        .await?;
    format::sort(&mut answer.organisations, |o| o.name.as_str());
    answer
        .organisations
        .sort_by_key(|o| std::cmp::Reverse(o.member_count));
    Ok((params, answer))
}

/// The key the pairs name an organisation by: its register number, or
/// `member/id` without one.
pub fn pair_keys(o: &pb::NetworkOrganisation) -> Vec<String> {
    if !o.register_number.is_empty() {
        return vec![o.register_number.clone()];
    }
    o.entries
        .iter()
        .filter_map(|e| e.organisation.as_ref().map(|org| (e, org)))
        .flat_map(|(e, org)| [format!("{}/{}", e.member, org.id), org.id.clone()])
        .collect()
}

/// `GET /network`.
pub async fn page(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Result<Markup, PortalError> {
    let (params, answer) = network_of(&state, &viewer, query.as_deref()).await?;
    let anchors: HashMap<String, usize> = answer
        .organisations
        .iter()
        .enumerate()
        .flat_map(|(i, o)| pair_keys(o).into_iter().map(move |k| (k, i)))
        .collect();
    let body = html! {
        h1 { "Partnerhálózat" }
        p { "A kistérségek nyilvántartásában szereplő szervezetek: ahol több kistérség ugyanazt a törzsszámot "
            "nevezi meg, az egy szervezet. Mellette, hogy melyik kistérségben miben vesz részt." }
        (form(&params))
        @if answer.partial {
            (partial_notice(&state, &viewer, &answer.members))
        }
        h2 id="szervezetek" data-total=(answer.total) {
            "Szervezetek (" (format::integer(i64::try_from(answer.total).unwrap_or(i64::MAX))) ")"
        }
        @if answer.organisations.is_empty() {
            p { "Nincs a feltételeknek megfelelő szervezet." }
        } @else {
            @if answer.total > answer.organisations.len() as u64 {
                p class="meta" { "A lista az első " (format::integer(answer.organisations.len() as i64)) " szervezetet mutatja; szűkítse a keresést a név szerint." }
            }
            (organisations(&state, &answer.organisations))
        }
        h2 id="egyuttmukodesek" { "Ki kivel működött együtt" }
        @if answer.pairs.is_empty() {
            p { "Nincs olyan szervezetpár, amely közös fejlesztésben vett részt." }
        } @else {
            (pairs(&answer.pairs, &anchors))
        }
    };
    Ok(layout::page(
        &state,
        &viewer,
        "Partnerhálózat",
        Nav::Network,
        body,
    ))
}

/// The name filter and the checkbox; the member restriction rides along.
fn form(params: &NetworkParams) -> Markup {
    html! {
        form class="searchbox" method="get" action="/network" role="search" {
            label for="q" { "A szervezet neve"
                input type="search" id="q" name="q" value=(params.q) maxlength=(MAX_NAME_CHARS) autocomplete="off";
            }
            label for="min_members" class="checkbox" {
                input type="checkbox" id="min_members" name="min_members" value="2" checked[params.min_members >= 2];
                " Csak a több kistérségben is aktív partnerek"
            }
            @for m in &params.members { input type="hidden" name="member" value=(m); }
            button type="submit" { "Szűrés" }
        }
    }
}

/// The organisations: name, register number, and per kistérség its
/// participations there, linked.
fn organisations(state: &PortalState, list: &[pb::NetworkOrganisation]) -> Markup {
    html! {
        div class="scroll" tabindex="0" role="region" aria-label="Szervezetek: táblázat" {
            table class="network" {
                caption class="visually-hidden" { "A szervezetek és részvételük kistérségenként" }
                thead { tr {
                    th scope="col" { "Szervezet" }
                    th scope="col" { "Törzsszám" }
                    th scope="col" class="num" { "Kistérségek" }
                    th scope="col" { "Részvétel kistérségenként" }
                } }
                tbody {
                    @for (i, o) in list.iter().enumerate() {
                        tr id=(format!("szervezet-{i}")) data-register-number=(o.register_number) {
                            th scope="row" { (o.name) }
                            td { @if o.register_number.is_empty() { "–" } @else { (o.register_number) } }
                            td class="num" { (o.member_count) }
                            td {
                                ul class="entries" {
                                    @for e in &o.entries {
                                        @if let Some(org) = &e.organisation {
                                            (entry(state, &e.member, org))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One member's view of an organisation: the kistérség (linking its
/// page of the organisation) and what it takes part in there.
fn entry(state: &PortalState, member: &str, org: &pb::Organisation) -> Markup {
    let member = member_of(state, member);
    let title = state
        .backend()
        .member_title(&member)
        .unwrap_or_else(|| member.clone());
    html! {
        li data-member=(member) {
            a href=(record_href(&member, Entity::Organisation, &org.id)) { (title) }
            @if org.participations.is_empty() {
                span class="meta" { " – nincs látható részvétel" }
            } @else {
                ul {
                    @for p in &org.participations {
                        @let entity = labels::entity_of(&p.entity).unwrap_or(Entity::Development);
                        li {
                            span class="badge" data-entity=(entity.as_str()) { (labels::entity(&p.entity)) } " "
                            a href=(record_href(&member, entity, &p.id)) { (if p.title.is_empty() { &p.id } else { &p.title }) }
                            @if !p.role.is_empty() { " (" (labels::role(&p.role)) ")" }
                        }
                    }
                }
            }
        }
    }
}

/// Who cooperated with whom, each linked to its row when listed.
fn pairs(pairs: &[pb::CoParticipation], anchors: &HashMap<String, usize>) -> Markup {
    let name = |key: &str, name: &str| {
        let text = if name.is_empty() { key } else { name }.to_string();
        html! {
            @match anchors.get(key) {
                Some(i) => { a href=(format!("#szervezet-{i}")) { (text) } }
                None => { (text) }
            }
        }
    };
    html! {
        @if pairs.len() > MAX_PAIRS_SHOWN {
            p class="meta" { "Az első " (MAX_PAIRS_SHOWN) " pár látható (összesen " (format::integer(pairs.len() as i64)) ")." }
        }
        table class="pairs" {
            caption class="visually-hidden" { "Szervezetpárok közös fejlesztéseik száma szerint" }
            thead { tr { th scope="col" { "Szervezet" } th scope="col" { "Partner" } th scope="col" class="num" { "Közös fejlesztések" } } }
            tbody {
                @for p in pairs.iter().take(MAX_PAIRS_SHOWN) {
                    tr {
                        th scope="row" { (name(&p.a, &p.a_name)) }
                        td { (name(&p.b, &p.b_name)) }
                        td class="num" { (format::integer(i64::from(p.developments))) }
                    }
                }
            }
        }
    }
}

/// The link to the network filtered by a name.
pub fn href(q: &str) -> String {
    format!("/network?q={}", encode(q))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_their_bounds() {
        let p = NetworkParams::parse(Some("q=Szendr%C5%91&min_members=2&member=edelenyi")).unwrap();
        assert_eq!((p.q.as_str(), p.min_members), ("Szendrő", 2));
        assert_eq!(p.request().limit, NETWORK_LIMIT);
        let e = NetworkParams::parse(Some("min_members=5000"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("MAX_MIN_MEMBERS"), "{e}");
        let long = format!("q={}", "a".repeat(MAX_NAME_CHARS + 1));
        let e = NetworkParams::parse(Some(&long)).unwrap_err().to_string();
        assert!(e.contains("MAX_NAME_CHARS"), "{e}");
    }
}
