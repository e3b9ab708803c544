//! The register of a kistérség: its organisations (with contact persons),
//! developments (projects) with their indicators, and thematic working
//! groups, as the node's five JSON Lines import files hold them.
//!
//! Like the rest of the generator, everything derives from the spec's seed
//! and the kistérség's index, through streams of its own (so the documents
//! and observations are unchanged). What it should show:
//!
//! - organisations a hub can merge: every settlement's municipality, the
//!   association of municipalities, institutions, nonprofits, civil and
//!   church bodies, each with a törzsszám (check digit included) and a tax
//!   number that starts with it; and a few *regional partners* (a
//!   development agency, a LEADER group, a church charity, an employment
//!   pact) that serve several neighbouring kistérségek. Neighbours are
//!   consecutive positions in [`kistersegek`](super::kistersegek): a partner
//!   serves the `width` kistérségek of its group, and its number comes from
//!   a stream of the group, not of the kistérség, so every node that has it
//!   carries the same number (under a local id and a spelling of its own);
//! - developments with real programme identifier formats (EFOP, TOP, TOP
//!   Plusz, VEKOP for Pest county only, KÖFOP, GINOP, VP LEADER, and a
//!   domestic Magyar Falu Program call), dated against a fixed reference
//!   day ([`REFERENCE_DATE`]) so that planned, running, closed and
//!   sustainability-period projects all occur; some are behind schedule;
//! - references that resolve within the node: beneficiaries, consortia,
//!   group members and contacts name organisations of the same file, and
//!   developments and meetings link documents the document generator
//!   really makes for the node (minutes for meetings).
//!
//! Every name, number and person is invented. The tables (calls, titles,
//! partners, names) live in `register/tables.rs`, the organisations in
//! `register/organisations.rs`, the developments and their indicators in
//! `register/developments.rs`; contacts, groups and the shared helpers here.

use std::collections::BTreeSet;

use tudashalo_core::model::{Kind, Visibility};
use tudashalo_core::register::{
    Achieved, ConsortiumMember, Contact, Development, GroupStatus, IndicatorType, LegalForm,
    Meeting, Organisation, Programme, ProjectIndicator, Role, Status, TargetGroup, WorkingGroup,
};

use super::documents::document;
use super::grammar::{article, capitalise_from};
use super::places::{fold, kistersegek};
use super::rng::{Rng, STREAM_REGISTER};
use super::vocabulary::{SECTOR_ADJECTIVES, SECTORS, TOPICS, topics_of};
use super::{Kisterseg, Spec};

mod developments;
mod organisations;
mod tables;

use developments::*;
use organisations::*;
use tables::*;

/// One kistérség's register, in the order of its import files.
#[derive(Debug, Clone, PartialEq)]
pub struct Register {
    pub organisations: Vec<Organisation>,
    /// Personal data: the node keeps them local.
    pub contacts: Vec<Contact>,
    pub developments: Vec<Development>,
    pub indicators: Vec<ProjectIndicator>,
    pub groups: Vec<WorkingGroup>,
}

/// The day the register describes: developments that start later are
/// planned, those that end later are running.
pub const REFERENCE_DATE: &str = "2024-06-30";
/// [`REFERENCE_DATE`] as a month number (`year * 12 + month - 1`).
const NOW: i64 = ym(2024, 6);

const fn ym(year: i64, month: i64) -> i64 {
    year * 12 + month - 1
}

/// Sub-streams of [`STREAM_REGISTER`]: regional partners are drawn per
/// group of kistérségek, everything else per kistérség.
const REGIONAL: u64 = 0;
const LOCAL: u64 = 1;
const PART_ORGS: u64 = 1;
const PART_DEVS: u64 = 2;
const PART_GROUPS: u64 = 3;

fn county(index: usize) -> County {
    COUNTIES_REAL
        .get(index)
        .copied()
        .unwrap_or_else(|| COUNTIES_OTHER[(index - COUNTIES_REAL.len()) % COUNTIES_OTHER.len()])
}

/// The group of partner `p` that kistérség `index` belongs to.
fn partner_group(p: &Partner, index: usize) -> usize {
    (index + p.offset) / p.width
}

/// `Edelényi` of `Edelény`, `Szegi` of `Szegi`.
fn adjective_of(settlement: &str) -> String {
    if settlement.ends_with('i') {
        settlement.to_string()
    } else {
        format!("{settlement}i")
    }
}

/// Contact persons: always for the seat, the association and the family
/// service, for about half of the others; one or two each.
fn contacts(k: &Kisterseg, spec: &Spec, orgs: &Orgs) -> Vec<Contact> {
    let mut rng = Rng::stream(spec.seed, &[STREAM_REGISTER, LOCAL, k.index as u64, 4]);
    let phone_area = county(k.index).2;
    let mut out = Vec::new();
    for m in &orgs.made {
        let always = matches!(
            m.kind,
            OrgKind::Municipality(0) | OrgKind::Association | OrgKind::FamilyService
        );
        if m.positions.is_empty() || !(always || rng.chance(0.45)) {
            continue;
        }
        let people = if m.positions.len() > 1 && rng.chance(0.5) {
            2
        } else {
            1
        };
        let domain = m.org.website.as_deref().map_or_else(
            || format!("{}.example", k.slug.replace('_', "-")),
            |w| w.trim_start_matches("https://www.").to_string(),
        );
        for position in m.positions.iter().take(people) {
            let family = *rng.pick(&FAMILY_NAMES);
            let given = *rng.pick(&GIVEN_NAMES);
            out.push(Contact {
                organisation: m.org.id.clone(),
                name: format!("{family} {given}"),
                position: Some((*position).to_string()),
                email: Some(format!("{}.{}@{domain}", fold(family), fold(given))),
                phone: Some(format!(
                    "+36 {phone_area} {} {:03}",
                    rng.range(300, 599),
                    rng.range(0, 999)
                )),
            });
        }
    }
    out
}

/// The first documents of the node, which developments and meetings may
/// link: bounded, so that a huge corpus does not cost a second pass.
const LINKABLE: usize = 200;

struct DocRef {
    id: String,
    kind: String,
    sectors: Vec<String>,
    year: i64,
}

fn linkable_documents(k: &Kisterseg, spec: &Spec) -> Vec<DocRef> {
    (0..spec.docs_per_node.min(LINKABLE))
        .map(|n| {
            let d = document(k, spec, k.index, n);
            DocRef {
                id: d["id"].as_str().unwrap_or_default().to_string(),
                kind: d["kind"].as_str().unwrap_or_default().to_string(),
                sectors: d["sectors"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                year: d["year"].as_i64().unwrap_or_default(),
            }
        })
        .collect()
}

/// `YYYY-MM-01` of a month number.
fn first_day(month: i64) -> String {
    format!(
        "{}-{:02}-01",
        month.div_euclid(12),
        month.rem_euclid(12) + 1
    )
}

/// `YYYY-MM-DD`, the last day of a month number.
fn last_day(month: i64) -> String {
    let (year, m) = (month.div_euclid(12), month.rem_euclid(12) + 1);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let day = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    format!("{year}-{m:02}-{day}")
}

/// The month number of a `YYYY-MM…` date.
fn month_of(date: &str) -> Option<i64> {
    let year: i64 = date.get(..4)?.parse().ok()?;
    let month: i64 = date.get(5..7)?.parse().ok()?;
    Some(ym(year, month))
}

/// The share of a development's planned duration that has passed by the
/// end of `year` (or by [`REFERENCE_DATE`], if sooner), from its actual
/// start: what its cumulative indicators should stand at, pro rata.
pub(super) fn elapsed_share(d: &Development, year: i32) -> f64 {
    let start = d
        .actual_start
        .as_deref()
        .or(d.planned_start.as_deref())
        .and_then(month_of);
    let end = d.planned_end.as_deref().and_then(month_of);
    let (Some(start), Some(end)) = (start, end) else {
        return 0.0;
    };
    let at = (ym(i64::from(year), 12)).min(NOW) + 1;
    ((at - start) as f64 / (end + 1 - start) as f64).clamp(0.0, 1.0)
}

/// Fills a title or summary template (see [`Call::titles`]).
fn fill(template: &str, k: &Kisterseg, settlement: &str, lead: &str) -> String {
    let adjective = k.adjective();
    let kn = format!("{} {}", article(adjective), k.display_name);
    let mut out = template
        .replace("{KB}", &format!("{kn}ben"))
        .replace("{KN}", &kn)
        .replace("{KA}", adjective)
        .replace("{SA}", &adjective_of(settlement))
        .replace("{S}", settlement)
        .replace("{L}", lead)
        .replace("{N}", &k.settlements.len().to_string());
    capitalise_from(&mut out, 0);
    out
}

/// The working groups of `k`: two to four themes, members from the
/// organisations of the theme, meetings with the node's minutes where
/// there are any.
fn groups(k: &Kisterseg, spec: &Spec, orgs: &Orgs, docs: &[DocRef]) -> Vec<WorkingGroup> {
    let mut rng = Rng::stream(
        spec.seed,
        &[STREAM_REGISTER, LOCAL, k.index as u64, PART_GROUPS],
    );
    let mut themes = vec![SZOC, OKT, FOGL, EGE, TUR, KOZM];
    let count = 2 + rng.below(3);
    let mut chosen = Vec::with_capacity(count);
    while chosen.len() < count && !themes.is_empty() {
        chosen.push(themes.remove(rng.below(themes.len())));
    }
    let mut minutes: Vec<&DocRef> = docs
        .iter()
        .filter(|d| d.kind == Kind::Minutes.as_str())
        .collect();
    let association = orgs.id_of(OrgKind::Association).unwrap_or_default();
    let mut out = Vec::with_capacity(chosen.len());
    for (n, &theme) in chosen.iter().enumerate() {
        let sector = SECTORS[theme];
        let mut members = vec![association.to_string()];
        for m in &orgs.made {
            if members.len() >= 8 {
                break;
            }
            if m.org.sectors.iter().any(|s| s == sector) && !members.contains(&m.org.id) {
                members.push(m.org.id.clone());
            }
        }
        for i in 0..k.settlements.len() {
            if members.len() >= 3 {
                break;
            }
            if let Some(id) = orgs.id_of(OrgKind::Municipality(i))
                && !members.iter().any(|m| m.as_str() == id)
            {
                members.push(id.to_string());
            }
        }
        let topics: Vec<String> = topics_of(theme)
            .map(|t| {
                let mut s = TOPICS[t].bare.to_string();
                capitalise_from(&mut s, 0);
                s
            })
            .collect();
        let mut meetings = Vec::new();
        for _ in 0..2 + rng.below(4) {
            // Minutes of the theme first, then any left.
            let at = minutes
                .iter()
                .position(|d| d.sectors.iter().any(|s| s == sector))
                .or_else(|| (!minutes.is_empty() && rng.chance(0.5)).then_some(0));
            let (year, doc) = match at {
                Some(at) => {
                    let d = minutes.remove(at);
                    (d.year, Some(d.id.clone()))
                }
                None => (rng.range(2017, 2024), None),
            };
            let topic = if rng.chance(0.6) && !topics.is_empty() {
                topics[rng.below(topics.len())].clone()
            } else {
                rng.pick_str(&MEETING_TOPICS).to_string()
            };
            meetings.push(Meeting {
                date: format!("{year}-{:02}-{:02}", rng.range(1, 12), rng.range(1, 28)),
                topic: Some(topic),
                minutes: doc,
            });
        }
        meetings.sort_by(|a, b| a.date.cmp(&b.date));
        let mut name = format!(
            "{} kistérségi {} munkacsoport",
            k.adjective(),
            SECTOR_ADJECTIVES[theme]
        );
        capitalise_from(&mut name, 0);
        let status = if n + 1 == chosen.len() && n >= 2 && rng.chance(0.5) {
            GroupStatus::Closed
        } else {
            GroupStatus::Active
        };
        out.push(WorkingGroup {
            id: format!("g-{}", fold(sector)),
            name,
            theme: sector.to_string(),
            members,
            meetings,
            status,
            visibility: if n == 0 {
                Visibility::Public
            } else {
                Visibility::Federated
            },
        });
    }
    out
}

/// The register of kistérség `k` under `spec`: the same spec always gives
/// the same records.
pub fn register(k: &Kisterseg, spec: &Spec) -> Register {
    let docs = linkable_documents(k, spec);
    let orgs = organisations(k, spec);
    let contacts = contacts(k, spec, &orgs);
    let (developments, indicators) = developments(k, spec, &orgs, &docs);
    let groups = groups(k, spec, &orgs, &docs);
    Register {
        organisations: orgs.made.into_iter().map(|m| m.org).collect(),
        contacts,
        developments,
        indicators,
        groups,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use tudashalo_core::register::{check_register_number, check_tax_number};

    use super::super::documents::documents;
    use super::super::kistersegek;
    use super::super::tests::small;
    use super::*;

    fn all(spec: &Spec) -> Vec<(Kisterseg, Register)> {
        kistersegek(spec)
            .into_iter()
            .map(|k| {
                let r = register(&k, spec);
                (k, r)
            })
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_register_and_another_differs() {
        let spec = small(7);
        assert_eq!(all(&spec), all(&spec));
        let other = all(&small(8));
        assert_ne!(all(&spec)[0].1.developments, other[0].1.developments);
    }

    #[test]
    fn every_reference_resolves_within_the_node() {
        let spec = Spec::default();
        for (k, r) in all(&spec) {
            let orgs: BTreeSet<&str> = r.organisations.iter().map(|o| o.id.as_str()).collect();
            assert_eq!(
                orgs.len(),
                r.organisations.len(),
                "{}: duplicate ids",
                k.slug
            );
            let docs: BTreeMap<String, String> = documents(&k, &spec, k.index)
                .map(|d| {
                    (
                        d["id"].as_str().unwrap().to_string(),
                        d["kind"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let names: Vec<&str> = k.settlements.iter().map(|s| s.name.as_str()).collect();
            for c in &r.contacts {
                assert!(orgs.contains(c.organisation.as_str()), "{c:?}");
            }
            let devs: BTreeSet<&str> = r.developments.iter().map(|d| d.id.as_str()).collect();
            assert_eq!(devs.len(), r.developments.len());
            for d in &r.developments {
                assert!(orgs.contains(d.beneficiary.as_str()), "{}", d.id);
                assert_eq!(d.consortium[0].organisation, d.beneficiary);
                assert_eq!(d.consortium[0].role, Role::Lead);
                for m in &d.consortium {
                    assert!(orgs.contains(m.organisation.as_str()), "{}: {m:?}", d.id);
                }
                assert!(!d.settlements.is_empty());
                for s in &d.settlements {
                    assert!(names.contains(&s.as_str()), "{}: {s}", d.id);
                }
                for doc in &d.documents {
                    assert!(docs.contains_key(doc), "{}: {doc}", d.id);
                }
                for s in &d.sectors {
                    assert!(SECTORS.contains(&s.as_str()));
                }
            }
            for pi in &r.indicators {
                assert!(devs.contains(pi.development.as_str()), "{pi:?}");
            }
            for g in &r.groups {
                assert!(g.members.len() >= 3, "{}", g.id);
                for m in &g.members {
                    assert!(orgs.contains(m.as_str()), "{}: {m}", g.id);
                }
                for m in &g.meetings {
                    if let Some(id) = &m.minutes {
                        assert_eq!(docs.get(id).map(String::as_str), Some("minutes"), "{id}");
                    }
                }
            }
            assert!(
                r.groups
                    .iter()
                    .flat_map(|g| &g.meetings)
                    .any(|m| m.minutes.is_some()),
                "{}: no minutes linked",
                k.slug
            );
            assert!(r.developments.iter().any(|d| !d.documents.is_empty()));
        }
    }

    #[test]
    fn numbers_validate_and_identify_one_body_per_node() {
        for (k, r) in all(&Spec::default()) {
            let mut seen = BTreeSet::new();
            for o in &r.organisations {
                let number = o.register_number.as_deref().unwrap();
                assert_eq!(check_register_number(number).unwrap(), number);
                let tax = o.tax_number.as_deref().unwrap();
                assert_eq!(check_tax_number(tax).unwrap(), tax);
                assert!(tax.starts_with(number), "{tax} {number}");
                let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
                assert_eq!(check_digit(&digits[..7]), digits[7], "{number}");
                assert!(
                    seen.insert(number.to_string()),
                    "{}: {number} twice",
                    k.slug
                );
                for s in &o.sectors {
                    assert!(SECTORS.contains(&s.as_str()), "{s}");
                }
            }
            assert!(
                r.organisations
                    .iter()
                    .any(|o| o.name == format!("{} Város Önkormányzata", k.seat()))
            );
        }
        // The example of core's tests carries a valid check digit.
        assert_eq!(check_digit(&[1, 5, 7, 2, 4, 7, 8]), 4);
    }

    #[test]
    fn a_regional_partner_has_one_number_in_neighbouring_kistersegek() {
        let nodes = all(&Spec::default());
        let number_of = |r: &Register, ids: &[&str]| {
            r.organisations
                .iter()
                .find(|o| ids.contains(&o.id.as_str()))
                .and_then(|o| o.register_number.clone())
        };
        for p in &PARTNERS {
            for pair in nodes.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                let same_group = partner_group(p, a.0.index) == partner_group(p, b.0.index);
                let (na, nb) = (number_of(&a.1, &p.ids), number_of(&b.1, &p.ids));
                assert!(na.is_some() && nb.is_some());
                assert_eq!(
                    na == nb,
                    same_group,
                    "{:?} {} {}",
                    p.ids,
                    a.0.slug,
                    b.0.slug
                );
            }
        }
        // The development agency of the first three: same number and tax
        // number, the name spelt two ways.
        let find = |r: &Register| {
            r.organisations
                .iter()
                .find(|o| o.id == "o-rfu")
                .cloned()
                .unwrap()
        };
        let (a, b) = (find(&nodes[0].1), find(&nodes[1].1));
        assert_eq!(a.register_number, b.register_number);
        assert_eq!(a.tax_number, b.tax_number);
        assert_ne!(a.name, b.name);
    }

    #[test]
    fn developments_are_plausible_and_some_are_behind_schedule() {
        let spec = Spec::default();
        let mut statuses = BTreeSet::new();
        for (k, r) in all(&spec) {
            assert!((6..=15).contains(&r.developments.len()), "{}", k.slug);
            assert!(
                r.developments
                    .iter()
                    .any(|d| d.visibility == Visibility::Local)
            );
            for d in &r.developments {
                statuses.insert(d.status);
                let (cost, support) = (d.total_cost.unwrap(), d.support.unwrap());
                assert!(support <= cost, "{}", d.id);
                assert!(
                    (20_000_000..=800_000_000).contains(&cost),
                    "{}: {cost}",
                    d.id
                );
                if let Some(p) = Programme::of_identifier(&d.id) {
                    assert_eq!(p, d.programme, "{}", d.id);
                } else {
                    assert_eq!(d.programme, Programme::Domestic, "{}", d.id);
                }
                assert!(
                    d.id.starts_with(&d.call.as_deref().unwrap().replace('/', "-")),
                    "{}",
                    d.id
                );
                let year = d.year().unwrap();
                assert!((2016..=2024).contains(&year), "{}", d.id);
                assert!(d.planned_start < d.planned_end);
                assert!(!d.title.contains('{') && !d.summary.contains('{'), "{d:?}");
                let n = r
                    .indicators
                    .iter()
                    .filter(|pi| pi.development == d.id)
                    .count();
                assert!((1..=3).contains(&n), "{}: {n}", d.id);
            }
            let behind = r.indicators.iter().any(|pi| {
                let d = r
                    .developments
                    .iter()
                    .find(|d| d.id == pi.development)
                    .unwrap();
                pi.latest().is_some_and(|a| {
                    let year: i32 = a.period.parse().unwrap();
                    a.value < 0.7 * pi.target * elapsed_share(d, year)
                })
            });
            assert!(behind, "{}: nothing behind schedule", k.slug);
            for pi in &r.indicators {
                let values: Vec<f64> = pi.achieved.iter().map(|a| a.value).collect();
                assert!(
                    values.windows(2).all(|w| w[0] <= w[1]),
                    "cumulative: {pi:?}"
                );
            }
        }
        for s in Status::ALL {
            assert!(statuses.contains(s), "no {s} development");
        }
    }

    #[test]
    fn records_round_trip_as_the_node_reads_them() {
        let spec = small(3);
        let k = &kistersegek(&spec)[0];
        let r = register(k, &spec);
        for o in &r.organisations {
            let line = serde_json::to_string(o).unwrap();
            assert_eq!(&serde_json::from_str::<Organisation>(&line).unwrap(), o);
        }
        for d in &r.developments {
            let line = serde_json::to_string(d).unwrap();
            assert_eq!(&serde_json::from_str::<Development>(&line).unwrap(), d);
        }
        assert!((2..=4).contains(&r.groups.len()));
        assert!(!r.contacts.is_empty());
    }
}
