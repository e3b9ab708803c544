//! The developments of a node, their consortia, dates, amounts, linked
//! documents, and their project indicators.

use super::*;

/// The developments of `k` and their indicators.
pub(super) fn developments(
    k: &Kisterseg,
    spec: &Spec,
    orgs: &Orgs,
    docs: &[DocRef],
) -> (Vec<Development>, Vec<ProjectIndicator>) {
    let mut rng = Rng::stream(
        spec.seed,
        &[STREAM_REGISTER, LOCAL, k.index as u64, PART_DEVS],
    );
    let pest = county(k.index).0 == "PE";
    // Pest county had VEKOP where the others had TOP.
    let vekop = |c: usize| if pest && c == 3 { 12 } else { c };
    let mut calls: Vec<usize> = CORE_CALLS.iter().map(|&c| vekop(c)).collect();
    let wanted = (5 + k.settlements.len() / 2 + rng.below(3)).clamp(6, 15);
    let whole = |c: usize| {
        matches!(
            CALLS[c].lead,
            Lead::Association | Lead::Seat | Lead::SocialCooperative
        )
    };
    for _ in 0..60 {
        if calls.len() >= wanted {
            break;
        }
        let c = vekop(*rng.pick(&EXTRA_CALLS));
        if !(whole(c) && calls.contains(&c)) {
            calls.push(c);
        }
    }

    let mut developments = Vec::with_capacity(calls.len());
    let mut used_places: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for (slot, &c) in calls.iter().enumerate() {
        let mut rng = Rng::stream(
            spec.seed,
            &[
                STREAM_REGISTER,
                LOCAL,
                k.index as u64,
                PART_DEVS,
                slot as u64 + 1,
            ],
        );
        let d = development(k, orgs, docs, &mut rng, c, &mut used_places, &mut ids);
        developments.push(d);
    }

    // Behind schedule: the first running development (else the first that
    // started), and about one in five of the others that started.
    let started = |d: &Development| d.actual_start.is_some();
    let first_behind = developments
        .iter()
        .position(|d| d.status == Status::Running)
        .or_else(|| developments.iter().position(started));
    let mut indicators = Vec::new();
    for (slot, d) in developments.iter().enumerate() {
        let mut rng = Rng::stream(
            spec.seed,
            &[
                STREAM_REGISTER,
                LOCAL,
                k.index as u64,
                PART_DEVS,
                1_000 + slot as u64,
            ],
        );
        let behind = Some(slot) == first_behind || (started(d) && rng.chance(0.2));
        let call = &CALLS[calls[slot]];
        let population = k
            .settlements
            .iter()
            .filter(|s| d.settlements.contains(&s.name))
            .map(|s| f64::from(s.population))
            .sum::<f64>();
        for (n, &i) in call.indicators.iter().enumerate() {
            if n > 0 && !rng.chance(0.65) {
                continue;
            }
            indicators.push(project_indicator(d, i, population, behind, &mut rng));
        }
    }
    (developments, indicators)
}

/// One development of call `c`.
pub(super) fn development(
    k: &Kisterseg,
    orgs: &Orgs,
    docs: &[DocRef],
    rng: &mut Rng,
    c: usize,
    used_places: &mut BTreeSet<(usize, usize)>,
    ids: &mut BTreeSet<String>,
) -> Development {
    let call = &CALLS[c];
    let (county_code, _, _) = county(k.index);
    let municipality = |i: usize| orgs.id_of(OrgKind::Municipality(i)).unwrap_or_default();
    let settlement_index = |name: &str| k.settlements.iter().position(|s| s.name == name);
    // The beneficiary, the settlements and the other members.
    let association = orgs.id_of(OrgKind::Association).unwrap_or_default();
    let (beneficiary, settlements, mut members): (String, Vec<String>, Vec<ConsortiumMember>) =
        match call.lead {
            Lead::Association | Lead::Seat => {
                let lead = if call.lead == Lead::Association {
                    association.to_string()
                } else {
                    municipality(0).to_string()
                };
                let mut members: Vec<ConsortiumMember> = (0..k.settlements.len())
                    .map(|i| member(municipality(i), Role::Member))
                    .collect();
                let partner = match c {
                    0 => OrgKind::Partner(2),
                    6 => OrgKind::Partner(3),
                    _ => OrgKind::Partner(0),
                };
                if call.lead == Lead::Association {
                    members.extend(
                        orgs.id_of(OrgKind::FamilyService)
                            .map(|o| member(o, Role::Member)),
                    );
                }
                if c != 9 {
                    members.extend(orgs.id_of(partner).map(|o| member(o, Role::Associated)));
                }
                let names = k.settlements.iter().map(|s| s.name.clone()).collect();
                (lead, names, members)
            }
            Lead::Village(min) => {
                let mut candidates: Vec<usize> = (0..k.settlements.len())
                    .filter(|&i| k.settlements[i].population >= min)
                    // The Magyar Falu Program is for villages under 5 000.
                    .filter(|&i| {
                        call.programme != Programme::Domestic || k.settlements[i].population < 5_000
                    })
                    .filter(|&i| !used_places.contains(&(c, i)))
                    .collect();
                if candidates.is_empty() {
                    candidates = (0..k.settlements.len()).collect();
                }
                let i = *rng.pick(&candidates);
                used_places.insert((c, i));
                let mut members = Vec::new();
                if matches!(c, 3 | 4 | 12 | 13)
                    && let Some(kg) = orgs.made.iter().find(|m| {
                        m.kind == OrgKind::Kindergarten
                            && m.org.seat.as_deref() == Some(k.settlements[i].name.as_str())
                    })
                {
                    members.push(member(&kg.org.id, Role::Associated));
                }
                (
                    municipality(i).to_string(),
                    vec![k.settlements[i].name.clone()],
                    members,
                )
            }
            Lead::SocialCooperative | Lead::Civil | Lead::Leader => {
                let candidates: Vec<&Made> = orgs
                    .made
                    .iter()
                    .filter(|m| match call.lead {
                        Lead::SocialCooperative => m.kind == OrgKind::SocialCooperative,
                        Lead::Civil => m.kind == OrgKind::Civil,
                        _ => matches!(
                            m.kind,
                            OrgKind::Civil | OrgKind::Church | OrgKind::Municipality(_)
                        ),
                    })
                    .collect();
                let lead = candidates[rng.below(candidates.len())];
                let place = lead
                    .org
                    .seat
                    .clone()
                    .unwrap_or_else(|| k.seat().to_string());
                let mut members = Vec::new();
                if let Some(i) = settlement_index(&place)
                    && lead.kind != OrgKind::Municipality(i)
                {
                    members.push(member(municipality(i), Role::Member));
                }
                if call.lead == Lead::Leader {
                    members.extend(
                        orgs.id_of(OrgKind::Partner(1))
                            .map(|o| member(o, Role::Associated)),
                    );
                }
                (lead.org.id.clone(), vec![place], members)
            }
        };
    members.retain(|m| m.organisation != beneficiary);
    let mut consortium = vec![member(&beneficiary, Role::Lead)];
    consortium.extend(members);

    // The identifier.
    let registered = call.year;
    let id = loop {
        let id = match call.shape {
            Shape::National => {
                let serial = if c == 9 {
                    rng.range(1, 2_400)
                } else {
                    rng.range(1, 160)
                };
                format!("{}-{registered}-{serial:05}", call.code)
            }
            Shape::County => format!(
                "{}-{county_code}1-{registered}-{:05}",
                call.code,
                rng.range(1, 80)
            ),
            Shape::Leader => {
                let group = partner_group(&PARTNERS[1], k.index);
                format!(
                    "{}-{}-{}-17-{:05}",
                    call.code,
                    10 + (group * 7) % 80,
                    rng.range(1, 6),
                    rng.range(1, 40)
                )
            }
            Shape::Domestic => {
                format!("{}-{:05}", call.code.replace('/', "-"), rng.range(1, 3_000))
            }
        };
        if ids.insert(id.clone()) {
            break id;
        }
    };
    let call_code = match call.shape {
        // The LEADER call is the identifier without the serial.
        Shape::Leader => id
            .rsplit_once('-')
            .map_or(id.clone(), |(c, _)| c.to_string()),
        _ => call.code.to_string(),
    };

    // Dates, and the status they give on the reference day.
    let planned_start = rng.range(call.start.0, call.start.1);
    let planned_end = planned_start + rng.range(call.months.0, call.months.1) - 1;
    let actual_start = planned_start + rng.range(0, 4);
    let actual_end = planned_end + rng.range(0, 9);
    let (actual_start, actual_end) = if actual_start > NOW {
        (None, None)
    } else {
        (
            Some(actual_start),
            (actual_end <= NOW).then_some(actual_end),
        )
    };
    let status = match (actual_start, actual_end) {
        (None, _) => Status::Planned,
        (Some(_), None) => Status::Running,
        // EU-funded results must be kept up for five years after closing.
        (Some(_), Some(end)) if call.programme != Programme::Domestic && end + 60 > NOW => {
            Status::Sustainability
        }
        _ => Status::Closed,
    };

    let cost = rng.range(call.cost.0 * 1_000_000, call.cost.1 * 1_000_000) as u64;
    let support = cost * rng.range(call.intensity.0, call.intensity.1) as u64 / 100;
    let lead_name = orgs
        .made
        .iter()
        .find(|m| m.org.id == beneficiary)
        .map_or("", |m| m.org.name.as_str());
    let place = settlements.first().map_or(k.seat(), String::as_str);
    let title = fill(rng.pick_str(call.titles), k, place, lead_name);
    let summary = fill(call.summary, k, place, lead_name);
    let sectors: Vec<String> = call
        .sectors
        .iter()
        .map(|&s| SECTORS[s].to_string())
        .collect();

    // Documents of the same sectors from around its years.
    let first_year = planned_start.div_euclid(12);
    let last_year = actual_end.unwrap_or(planned_end).div_euclid(12);
    let candidates: Vec<&DocRef> = docs
        .iter()
        .filter(|d| d.kind != Kind::Minutes.as_str())
        .filter(|d| (first_year - 1..=last_year + 1).contains(&d.year))
        .filter(|d| d.sectors.iter().any(|s| sectors.contains(s)))
        .collect();
    let mut documents: Vec<String> = Vec::new();
    for _ in 0..rng.below(4) {
        if candidates.is_empty() {
            break;
        }
        let doc = candidates[rng.below(candidates.len())];
        if !documents.contains(&doc.id) {
            documents.push(doc.id.clone());
        }
    }

    let visibility = if c == LOCAL_CALL {
        Visibility::Local
    } else if rng.chance(0.25) {
        Visibility::Public
    } else {
        Visibility::Federated
    };
    Development {
        id,
        title,
        summary,
        programme: call.programme,
        call: Some(call_code),
        beneficiary,
        consortium,
        settlements,
        sectors,
        target_groups: call.targets.to_vec(),
        planned_start: Some(first_day(planned_start)),
        planned_end: Some(last_day(planned_end)),
        actual_start: actual_start.map(first_day),
        actual_end: actual_end.map(last_day),
        total_cost: Some(cost),
        support: Some(support),
        status,
        documents,
        visibility,
    }
}

pub(super) fn member(organisation: &str, role: Role) -> ConsortiumMember {
    ConsortiumMember {
        organisation: organisation.to_string(),
        role,
    }
}

/// Indicator `i` of development `d`: a target that fits what it serves,
/// and cumulative values by year that follow the elapsed share of its
/// planned duration, well below it (under 55 %) when it is `behind`.
pub(super) fn project_indicator(
    d: &Development,
    i: usize,
    population: f64,
    behind: bool,
    rng: &mut Rng,
) -> ProjectIndicator {
    let (code, name, unit, indicator_type) = INDICATORS[i];
    let whole = d.settlements.len() > 1;
    let target = match code {
        "PR_RESZTVEVO" if whole => (population / 40.0).clamp(80.0, 900.0).round(),
        "PR_RESZTVEVO" => rng.range(30, 200) as f64,
        "PR_SZOLGALTATAS" => rng.range(2, 8) as f64,
        "PR_OVODAI_FEROHELY" => (rng.range(2, 10) * 5) as f64,
        "PR_KOZOSSEGI_PROGRAM" => rng.range(8, 40) as f64,
        "PR_ELHELYEZKEDETT" => rng.range(10, 90) as f64,
        "PR_MUNKAHELY" => rng.range(3, 15) as f64,
        _ => population.max(50.0),
    };
    let performance = if behind {
        rng.between(0.3, 0.55)
    } else {
        rng.between(0.9, 1.15)
    };
    let mut achieved = Vec::new();
    if let Some(start) = d.actual_start.as_deref().and_then(month_of) {
        let end = d.actual_end.as_deref().and_then(month_of).unwrap_or(NOW);
        for year in start.div_euclid(12)..=end.min(NOW).div_euclid(12) {
            let year = year as i32;
            let due = target * elapsed_share(d, year) * performance;
            // Rounded down when behind, so that it stays behind.
            let value = if behind { due.floor() } else { due.round() };
            achieved.push(Achieved {
                period: year.to_string(),
                value,
            });
        }
    }
    ProjectIndicator {
        development: d.id.clone(),
        indicator: code.to_string(),
        name: name.to_string(),
        indicator_type,
        unit: unit.to_string(),
        baseline: Some(0.0),
        baseline_year: d
            .actual_start
            .as_deref()
            .or(d.planned_start.as_deref())
            .and_then(tudashalo_core::register::year_of),
        target,
        target_date: d.planned_end.clone(),
        achieved,
    }
}
