//! The indicator catalogue and the observations of every settlement.
//!
//! The catalogue holds every aggregation rule the federation knows, so that
//! each is exercised. Observations follow plausible trends and scale with
//! population, so that tiny villages have the small counts disclosure
//! control must suppress; two active-population values per kistérség are
//! left out on purpose to show the missing-weight flag. Every value is
//! invented. Rows come grouped by indicator, in catalogue order.

use super::rng::{Rng, STREAM_KISTERSEG, STREAM_OBSERVATION};
use super::{CatalogueRow, Kisterseg, ObservationRow, Spec};

/// The indicator catalogue: every aggregation rule the federation knows.
pub fn catalogue() -> Vec<CatalogueRow> {
    vec![
        ("nepesseg", "Lakónépesség", "fő", "sum"),
        ("aktiv_nepesseg", "Gazdaságilag aktív népesség", "fő", "sum"),
        ("munkanelkuli", "Nyilvántartott álláskeresők", "fő", "sum"),
        (
            "munkanelkulisegi_rata",
            "Álláskeresők aránya",
            "%",
            "weighted_mean:aktiv_nepesseg",
        ),
        ("kozfoglalkoztatott", "Közfoglalkoztatottak", "fő", "sum"),
        ("ovodai_ferohely", "Óvodai férőhelyek", "db", "sum"),
        ("ovodas_gyermek", "Óvodába beírt gyermekek", "fő", "sum"),
        ("iksz_latogatok", "IKSZT látogatók", "fő", "sum"),
        (
            "atlagjovedelem",
            "Egy főre jutó jövedelem",
            "Ft",
            "weighted_mean:nepesseg",
        ),
        (
            "csatorna_ellatottsag",
            "Közcsatornába bekötött lakások aránya (legkisebb)",
            "%",
            "min",
        ),
        (
            "tavolsag_szekhely",
            "Távolság a kistérség székhelyétől (legnagyobb)",
            "km",
            "max",
        ),
        (
            "komplex_mutato",
            "Komplex fejlettségi mutató",
            "pont",
            "none",
        ),
    ]
}

/// How jobseeker rates moved over the years (2010 = 1), roughly as in the
/// country: falling until 2019, a bump in 2020.
fn jobseeker_curve(year: i32) -> f64 {
    const CURVE: [f64; 15] = [
        1.0, 1.0, 0.95, 0.9, 0.78, 0.7, 0.62, 0.55, 0.5, 0.47, 0.6, 0.55, 0.5, 0.5, 0.52,
    ];
    CURVE[(year - 2010).clamp(0, 14) as usize]
}

/// The share of jobseekers in public works, by year.
fn public_works_share(year: i32) -> f64 {
    match year {
        ..=2012 => 0.2,
        2013..=2016 => 0.45,
        2017..=2019 => 0.35,
        _ => 0.22,
    }
}

fn round_to(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// Observations of every catalogue indicator for every settlement of `k`
/// and every year of `spec.years` (where the indicator applies: villages
/// without a kindergarten or an IKSZT have none). Counts scale with the
/// population, so tiny villages have counts of 0–3. A few `aktiv_nepesseg`
/// values are left out on purpose, so that the rate weighted by it shows
/// the missing-weight flag.
pub fn observations(k: &Kisterseg, spec: &Spec) -> impl Iterator<Item = ObservationRow> + use<> {
    let (first, last) = (*spec.years.start(), *spec.years.end());
    let years: Vec<i32> = (first..=last.max(first)).collect();
    let mut krng = Rng::stream(spec.seed, &[STREAM_KISTERSEG, k.index as u64]);
    let base_rate = krng.between(0.06, 0.16);
    let income_factor = krng.between(0.75, 1.1);

    // Two (settlement, year) pairs without the active population.
    let mut missing: Vec<(usize, i32)> = Vec::new();
    if k.settlements.len() > 1 {
        let later: Vec<i32> = years.iter().copied().filter(|y| *y >= 2015).collect();
        let pool = if later.is_empty() { &years } else { &later };
        for _ in 0..2 {
            let s = 1 + krng.below(k.settlements.len() - 1);
            let y = *krng.pick(pool);
            if !missing.contains(&(s, y)) {
                missing.push((s, y));
            }
        }
    }

    let catalogue = catalogue();
    let mut per_indicator: Vec<Vec<ObservationRow>> = vec![Vec::new(); catalogue.len()];
    let unit_of = |code: &str| catalogue.iter().find(|c| c.0 == code).map_or("", |c| c.2);
    let at = |code: &str| catalogue.iter().position(|c| c.0 == code).unwrap_or(0);

    for (si, settlement) in k.settlements.iter().enumerate() {
        let mut rng = Rng::stream(spec.seed, &[STREAM_OBSERVATION, k.index as u64, si as u64]);
        let population = f64::from(settlement.population.max(1));
        let small = population < 500.0;
        let decline = if small {
            rng.between(0.008, 0.018)
        } else {
            rng.between(0.002, 0.01)
        };
        let active_share = rng.between(0.40, 0.47);
        let rate_factor = if small {
            rng.between(1.0, 1.8)
        } else {
            rng.between(0.6, 1.3)
        };
        let has_kindergarten = population >= 450.0 || (population >= 250.0 && rng.chance(0.3));
        let mut places = ((population * 0.04 / 5.0).round() * 5.0).max(15.0);
        let expansion_year = rng.chance(0.35).then(|| rng.range(2015, 2022) as i32);
        let has_ikszt = si > 0 && (250.0..4_000.0).contains(&population) && rng.chance(0.55);
        let ikszt_from = rng.range(2011, 2014) as i32;
        let visits_per_head = rng.between(1.5, 5.0);
        let income_local = if small {
            rng.between(0.8, 0.95)
        } else {
            rng.between(0.9, 1.1)
        };
        let mut sewer = if si == 0 {
            rng.between(70.0, 90.0)
        } else if small {
            rng.between(0.0, 40.0)
        } else {
            rng.between(30.0, 75.0)
        };
        let sewer_jump = rng.chance(0.4).then(|| rng.range(2012, 2020) as i32);
        let distance = if si == 0 {
            0.0
        } else {
            rng.range(3, 35) as f64
        };
        let index_base = rng.between(0.6, 1.4);

        for &year in &years {
            let period = year.to_string();
            let mut push = |code: &'static str, value: f64| {
                per_indicator[at(code)].push((
                    code,
                    settlement.name.clone(),
                    period.clone(),
                    value,
                    unit_of(code),
                ));
            };
            let noise = rng.between(-0.005, 0.005);
            let people = (population * (1.0 + decline).powi(2024 - year) * (1.0 + noise))
                .round()
                .max(1.0);
            let active = (people * active_share * rng.between(0.98, 1.02)).round();
            let rate = (base_rate * rate_factor * jobseeker_curve(year)).min(0.6);
            let jobseekers = (active * rate * rng.between(0.9, 1.1)).round();
            push("nepesseg", people);
            if !missing.contains(&(si, year)) {
                push("aktiv_nepesseg", active);
            }
            push("munkanelkuli", jobseekers);
            if active > 0.0 {
                push(
                    "munkanelkulisegi_rata",
                    round_to(jobseekers / active * 100.0, 1),
                );
            }
            push(
                "kozfoglalkoztatott",
                (jobseekers * public_works_share(year)).round(),
            );
            if has_kindergarten {
                if expansion_year == Some(year) {
                    places += 25.0;
                }
                push("ovodai_ferohely", places);
                let children = (people * 0.033 * rng.between(0.85, 1.1))
                    .round()
                    .min((places * 1.05).round());
                push("ovodas_gyermek", children);
            }
            if has_ikszt && year >= ikszt_from {
                let covid = if matches!(year, 2020 | 2021) {
                    0.5
                } else {
                    1.0
                };
                push(
                    "iksz_latogatok",
                    (people * visits_per_head * covid * rng.between(0.9, 1.1)).round(),
                );
            }
            let income = 620_000.0
                * income_factor
                * income_local
                * 1.065f64.powi(year - 2010)
                * rng.between(0.98, 1.02);
            push("atlagjovedelem", (income / 1_000.0).round() * 1_000.0);
            if sewer_jump == Some(year) {
                sewer = (sewer + rng.between(25.0, 45.0)).min(97.0);
            }
            sewer = (sewer + rng.between(0.0, 0.8)).min(99.0);
            push("csatorna_ellatottsag", round_to(sewer, 1));
            push("tavolsag_szekhely", distance);
            push(
                "komplex_mutato",
                round_to(index_base + 0.01 * f64::from(year - 2010), 2),
            );
        }
    }
    per_indicator.into_iter().flatten()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::super::kistersegek;
    use super::*;

    #[test]
    fn observations_cover_every_settlement_and_year_with_small_counts_and_gaps() {
        let spec = Spec::default();
        let k = &kistersegek(&spec)[0];
        let rows: Vec<ObservationRow> = observations(k, &spec).collect();
        let codes: HashSet<&str> = catalogue().iter().map(|c| c.0).collect();
        for (code, _, _, _, unit) in &rows {
            assert!(codes.contains(code));
            assert!(catalogue().iter().any(|c| c.0 == *code && c.2 == *unit));
        }
        for s in &k.settlements {
            for year in 2010..=2024 {
                let period = year.to_string();
                assert!(
                    rows.iter()
                        .any(|r| r.0 == "munkanelkuli" && r.1 == s.name && r.2 == period),
                    "{} {year}",
                    s.name
                );
            }
        }
        assert!(
            rows.iter()
                .any(|r| r.0 == "munkanelkuli" && (1.0..=2.0).contains(&r.3)),
            "small villages have one or two jobseekers"
        );
        let with_rate = rows
            .iter()
            .filter(|r| r.0 == "munkanelkulisegi_rata")
            .count();
        let with_weight = rows.iter().filter(|r| r.0 == "aktiv_nepesseg").count();
        assert!(with_weight < with_rate, "some weights are missing");
        assert!(with_rate - with_weight <= 2);
        let aggregations: HashSet<&str> = catalogue()
            .iter()
            .map(|c| c.3.split(':').next().unwrap())
            .collect();
        for rule in ["sum", "weighted_mean", "min", "max", "none"] {
            assert!(aggregations.contains(rule), "{rule}");
        }
    }
}
