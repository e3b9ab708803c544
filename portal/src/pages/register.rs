//! The register's record pages under `/doc/{member}/{key}`: a development
//! (its funding, dates, money, consortium, documents, and its project
//! indicators against their targets as a chart with the same numbers in a
//! table), an organisation (what it is and what it takes part in), a
//! working group (its members and meetings).
//!
//! A register record's key is `development:<id>`, `organisation:<id>` or
//! `group:<id>` (core's [`Entity::key`]); every link to one goes through
//! [`record_href`], which percent-encodes the `:` and any accents, so the
//! `/doc/{member}/{*id}` route gives the key back exactly. Everything a
//! member sends is text to maud (escaped); a website becomes a link only
//! when it is a plain `http(s)://` address.

use maud::{Markup, html};
use tudashalo_core::register::Entity;
use tudashalo_proto::pb;

use crate::chart::{self, Point, PointStatus, Reference, Series};
use crate::format;
use crate::pages::labels;
use crate::pages::search::{SearchParams, doc_href, encode};

/// The link to a register record of `member`: `/doc/{member}/{entity}:{id}`,
/// encoded.
pub fn record_href(member: &str, entity: Entity, id: &str) -> String {
    doc_href(member, &entity.key(id))
}

/// The page of the register record `answer` carries, if it carries one:
/// its title and its body.
pub fn record(
    member: &str,
    member_title: &str,
    answer: &pb::GetDocumentResponse,
) -> Option<(String, Markup)> {
    if let Some(d) = &answer.development {
        return Some((or_id(&d.title, &d.id), development(member, member_title, d)));
    }
    if let Some(o) = &answer.organisation {
        return Some((or_id(&o.name, &o.id), organisation(member, member_title, o)));
    }
    if let Some(g) = &answer.group {
        return Some((or_id(&g.name, &g.id), group(member, member_title, g)));
    }
    None
}

fn or_id(name: &str, id: &str) -> String {
    if name.is_empty() { id } else { name }.to_string()
}

/// A search for one facet value among developments (a programme's, a
/// status's, a settlement's).
fn search_link(facet: &str, value: &str) -> String {
    SearchParams {
        page: 1,
        entities: vec![Entity::Development.as_str().to_string()],
        ..SearchParams::default()
    }
    .toggled(facet, value)
    .href()
}

/// A date as the register writes it, in Hungarian (as written when it is
/// not a date).
fn date(text: &str) -> String {
    format::date_partial(text).unwrap_or_else(|| text.to_string())
}

/// Links to search among developments for each of `values`.
fn linked_list(facet: &str, values: &[String], label: fn(&str) -> String) -> Markup {
    html! {
        @for (i, v) in values.iter().enumerate() {
            @if i > 0 { ", " }
            a href=(search_link(facet, v)) { (label(v)) }
        }
    }
}

fn member_link(member: &str, member_title: &str) -> Markup {
    html! { a href=(format!("/members/{}", encode(member))) { (member_title) } }
}

/// An organisation of a consortium or a group, linked to its page.
fn organisation_link(member: &str, m: &pb::ConsortiumMember) -> Markup {
    html! {
        a href=(record_href(member, Entity::Organisation, &m.organisation)) {
            (or_id(&m.name, &m.organisation))
        }
    }
}

/// The badge naming what a record is.
fn badge(entity: Entity) -> Markup {
    html! { p { span class="badge" data-entity=(entity.as_str()) { (labels::capitalised(entity.label())) } } }
}

/// A development's page.
pub fn development(member: &str, member_title: &str, d: &pb::Development) -> Markup {
    let identity = |s: &str| s.to_string();
    let dates = [
        ("Tervezett kezdés", &d.planned_start),
        ("Tervezett befejezés", &d.planned_end),
        ("Tényleges kezdés", &d.actual_start),
        ("Tényleges befejezés", &d.actual_end),
    ];
    let share = match (d.support, d.total_cost) {
        (Some(s), Some(t)) if t > 0 => Some(s as f64 / t as f64 * 100.0),
        _ => None,
    };
    html! {
        article class="register development" {
            (badge(Entity::Development))
            h1 { (or_id(&d.title, &d.id)) }
            @if !d.summary.is_empty() { p class="summary" { (d.summary) } }
            dl class="props" {
                dt { "Kistérség" } dd { (member_link(member, member_title)) }
                dt { "Azonosító" } dd { code { (d.id) } }
                @if !d.programme.is_empty() {
                    dt { "Program" }
                    dd { a href=(search_link("programme", &d.programme)) { (labels::programme(&d.programme)) } " (" (d.programme) ")" }
                }
                @if !d.call.is_empty() { dt { "Felhívás" } dd { (d.call) } }
                @if !d.status.is_empty() {
                    dt { "Állapot" }
                    dd { a href=(search_link("status", &d.status)) { (labels::development_status(&d.status)) } }
                }
                @for (label, value) in dates {
                    @if !value.is_empty() { dt { (label) } dd { (date(value)) } }
                }
                @if let Some(cost) = d.total_cost { dt { "Elszámolható összköltség" } dd class="num" { (format::forint(cost)) } }
                @if let Some(support) = d.support { dt { "Megítélt támogatás" } dd class="num" { (format::forint(support)) } }
                @if let Some(share) = share { dt { "Támogatási arány" } dd class="num" { (format::value(share, "%")) } }
                @if !d.settlements.is_empty() { dt { "Települések" } dd { (linked_list("settlement", &d.settlements, identity)) } }
                @if !d.sectors.is_empty() { dt { "Ágazatok" } dd { (linked_list("sector", &d.sectors, identity)) } }
                @if !d.target_groups.is_empty() {
                    dt { "Célcsoportok" } dd { (linked_list("target_group", &d.target_groups, labels::target_group)) }
                }
                @if !d.visibility.is_empty() { dt { "Láthatóság" } dd { (labels::visibility(&d.visibility)) } }
            }
            @if !d.consortium.is_empty() {
                h2 { "Konzorcium" }
                table class="consortium" {
                    caption class="visually-hidden" { "A konzorcium tagjai" }
                    thead { tr { th scope="col" { "Szervezet" } th scope="col" { "Szerep" } } }
                    tbody {
                        @for m in &d.consortium {
                            tr { th scope="row" { (organisation_link(member, m)) } td { (labels::role(&m.role)) } }
                        }
                    }
                }
            }
            @if !d.documents.is_empty() {
                h2 { "Kapcsolódó dokumentumok" }
                ul class="documents" {
                    @for id in &d.documents { li { a href=(doc_href(member, id)) { (id) } } }
                }
            }
            @if !d.indicators.is_empty() {
                h2 { "Projektmutatók" }
                @for (i, indicator) in d.indicators.iter().enumerate() {
                    (project_indicator(&format!("mutato-{}", i + 1), indicator))
                }
            }
        }
    }
}

/// One project indicator: what was achieved by period against the target
/// (and the baseline, when there is one), drawn and tabled.
fn project_indicator(id: &str, p: &pb::ProjectIndicator) -> Markup {
    let name = or_id(&p.name, &p.indicator);
    let mut achieved: Vec<&pb::Achieved> = p.achieved.iter().collect();
    achieved.sort_by(|a, b| a.period.cmp(&b.period));
    let series = [Series {
        label: "Teljesítés".into(),
        points: achieved
            .iter()
            .map(|a| Point {
                period: a.period.clone(),
                value: Some(a.value),
                status: PointStatus::Free,
            })
            .collect(),
    }];
    let target_label = if p.target_date.is_empty() {
        "Célérték".to_string()
    } else {
        format!("Célérték ({})", date(&p.target_date))
    };
    let baseline_label = match p.baseline_year {
        Some(year) => format!("Kiinduló érték ({year})"),
        None => "Kiinduló érték".to_string(),
    };
    let mut references = vec![Reference {
        label: target_label.clone(),
        value: p.target,
    }];
    if let Some(baseline) = p.baseline {
        references.push(Reference {
            label: baseline_label.clone(),
            value: baseline,
        });
    }
    let share = |v: f64| {
        if p.target != 0.0 && p.target.is_finite() {
            format::value(v / p.target * 100.0, "%")
        } else {
            "–".to_string()
        }
    };
    let unit = p.unit.as_str();
    html! {
        section class="project-indicator" aria-labelledby=(format!("{id}-heading")) {
            h3 id=(format!("{id}-heading")) {
                (name)
                @if !p.r#type.is_empty() { " " span class="meta" { "(" (labels::indicator_type(&p.r#type)) ")" } }
            }
            div class="chart" {
                (chart::line_chart_with(id, &name, unit, &series, &references))
            }
            div class="scroll" tabindex="0" role="region" aria-label=(format!("{name}: táblázat")) {
                table class="cells" id=(format!("{id}-table")) {
                    caption { (name) @if !unit.is_empty() { " (" (unit) ")" } }
                    thead { tr { th scope="col" { "Időszak" } th scope="col" class="num" { "Érték" } th scope="col" class="num" { "A célérték arányában" } } }
                    tbody {
                        @if let Some(baseline) = p.baseline {
                            tr { th scope="row" { (baseline_label) } td class="num" { (format::value(baseline, unit)) } td class="num" { (share(baseline)) } }
                        }
                        @for a in &achieved {
                            tr { th scope="row" { (a.period) } td class="num" { (format::value(a.value, unit)) } td class="num" { (share(a.value)) } }
                        }
                        tr class="target" { th scope="row" { (target_label) } td class="num" { (format::value(p.target, unit)) } td class="num" { (share(p.target)) } }
                    }
                }
            }
        }
    }
}

/// A website as a link when it is a plain `http(s)://` address (nothing a
/// browser would run), as text otherwise.
fn website(url: &str) -> Markup {
    let safe = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"<>\\`".contains(c));
    html! {
        @if safe { a href=(url) rel="noopener noreferrer nofollow" { (url) } } @else { (url) }
    }
}

/// An organisation's page.
pub fn organisation(member: &str, member_title: &str, o: &pb::Organisation) -> Markup {
    let developments: Vec<&pb::Participation> = o
        .participations
        .iter()
        .filter(|p| p.entity == Entity::Development.as_str())
        .collect();
    let groups: Vec<&pb::Participation> = o
        .participations
        .iter()
        .filter(|p| p.entity == Entity::Group.as_str())
        .collect();
    let other: Vec<&pb::Participation> = o
        .participations
        .iter()
        .filter(|p| p.entity != Entity::Development.as_str() && p.entity != Entity::Group.as_str())
        .collect();
    let name = or_id(&o.name, &o.id);
    html! {
        article class="register organisation" {
            (badge(Entity::Organisation))
            h1 { (name) }
            dl class="props" {
                dt { "Kistérség" } dd { (member_link(member, member_title)) }
                @if !o.legal_form.is_empty() { dt { "Jogi forma" } dd { (labels::legal_form(&o.legal_form)) } }
                @if let Some(gfo) = o.gfo { dt { "GFO-kód" } dd { (gfo) } }
                @if !o.register_number.is_empty() { dt { "Törzsszám" } dd { (o.register_number) } }
                @if !o.tax_number.is_empty() { dt { "Adószám" } dd { (o.tax_number) } }
                @if !o.seat.is_empty() { dt { "Székhely" } dd { (o.seat) } }
                @if !o.sectors.is_empty() { dt { "Ágazatok" } dd { (o.sectors.join(", ")) } }
                @if !o.website.is_empty() { dt { "Honlap" } dd { (website(&o.website)) } }
                @if !o.visibility.is_empty() { dt { "Láthatóság" } dd { (labels::visibility(&o.visibility)) } }
            }
            p { a href=(crate::pages::network::href(&name)) { "A szervezet a partnerhálózatban" } }
            h2 { "Fejlesztések" }
            @if developments.is_empty() {
                p { "Nincs látható fejlesztés, amelyben részt vesz." }
            } @else {
                (participations_table(member, Entity::Development, &developments))
            }
            h2 { "Munkacsoportok" }
            @if groups.is_empty() {
                p { "Nincs látható munkacsoport, amelynek tagja." }
            } @else {
                (participations_table(member, Entity::Group, &groups))
            }
            @if !other.is_empty() {
                h2 { "Egyéb részvétel" }
                ul { @for p in other { li { (or_id(&p.title, &p.id)) " (" (p.entity) ")" } } }
            }
        }
    }
}

/// An organisation's participations of one entity, linked.
pub fn participations_table(member: &str, entity: Entity, rows: &[&pb::Participation]) -> Markup {
    let developments = entity == Entity::Development;
    html! {
        table class="participations" {
            caption class="visually-hidden" { (labels::entity_plural(entity.as_str())) }
            thead {
                tr {
                    th scope="col" { (labels::capitalised(entity.label())) }
                    th scope="col" { "Szerep" }
                    @if developments {
                        th scope="col" { "Év" } th scope="col" { "Program" } th scope="col" class="num" { "Támogatás" }
                    }
                }
            }
            tbody {
                @for p in rows {
                    tr {
                        th scope="row" { a href=(record_href(member, entity, &p.id)) { (or_id(&p.title, &p.id)) } }
                        td { (labels::role(&p.role)) }
                        @if developments {
                            td { @if let Some(year) = p.year { (year) } }
                            td { (p.programme) }
                            td class="num" { @if let Some(s) = p.support { (format::forint(s)) } }
                        }
                    }
                }
            }
        }
    }
}

/// A working group's page.
pub fn group(member: &str, member_title: &str, g: &pb::WorkingGroup) -> Markup {
    let mut meetings: Vec<&pb::Meeting> = g.meetings.iter().collect();
    meetings.sort_by(|a, b| b.date.cmp(&a.date));
    html! {
        article class="register group" {
            (badge(Entity::Group))
            h1 { (or_id(&g.name, &g.id)) }
            dl class="props" {
                dt { "Kistérség" } dd { (member_link(member, member_title)) }
                @if !g.theme.is_empty() { dt { "Téma" } dd { (g.theme) } }
                @if !g.status.is_empty() { dt { "Állapot" } dd { (labels::group_status(&g.status)) } }
                @if !g.visibility.is_empty() { dt { "Láthatóság" } dd { (labels::visibility(&g.visibility)) } }
            }
            h2 { "Tagok" }
            @if g.members.is_empty() {
                p { "Nincs látható tag." }
            } @else {
                table class="members" {
                    caption class="visually-hidden" { "A munkacsoport tagjai" }
                    thead { tr { th scope="col" { "Szervezet" } th scope="col" { "Szerep" } } }
                    tbody {
                        @for m in &g.members {
                            tr { th scope="row" { (organisation_link(member, m)) } td { (labels::role(&m.role)) } }
                        }
                    }
                }
            }
            h2 { "Ülések" }
            @if meetings.is_empty() {
                p { "Nincs nyilvántartott ülés." }
            } @else {
                table class="meetings" {
                    caption class="visually-hidden" { "A munkacsoport ülései, a legújabb elöl" }
                    thead { tr { th scope="col" { "Dátum" } th scope="col" { "Téma" } th scope="col" { "Jegyzőkönyv" } } }
                    tbody {
                        @for m in meetings {
                            tr {
                                th scope="row" { (date(&m.date)) }
                                td { (m.topic) }
                                td {
                                    @if m.minutes.is_empty() { "–" } @else {
                                        a href=(doc_href(member, &m.minutes)) { "jegyzőkönyv" span class="visually-hidden" { " (" (date(&m.date)) ")" } }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_colons_and_accents_are_encoded() {
        assert_eq!(
            record_href("edelenyi", Entity::Organisation, "szendrő/önk"),
            "/doc/edelenyi/organisation%3Aszendr%C5%91/%C3%B6nk"
        );
    }

    #[test]
    fn only_plain_web_addresses_become_links() {
        let link = website("https://edeleny.hu").into_string();
        assert!(link.contains("href=\"https://edeleny.hu\""), "{link}");
        for hostile in [
            "javascript:alert(1)",
            "https://x\" onmouseover=\"a",
            "ftp://x",
        ] {
            let text = website(hostile).into_string();
            assert!(!text.contains("href"), "{text}");
        }
    }
}
