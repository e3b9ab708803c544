//! The indicators a node derives from its developments (`dev.…`): counts,
//! awarded support and total cost by programme and sector, and the target
//! achievement of project indicators. Derived at aggregation time, never
//! stored, so they cannot drift from the register; then they take the
//! indicators' path (partials, hubs, disclosure control).

use std::collections::BTreeMap;

use crate::model::{Aggregation, Indicator, Observation, Visibility};

use super::{Development, ProjectIndicator};

/// The prefix of every indicator derived from the register.
pub const DERIVED_PREFIX: &str = "dev.";

/// The derived indicators' measures: code part, Hungarian name, unit.
const MEASURES: [(&str, &str, &str); 3] = [
    ("count", "Fejlesztések száma", "db"),
    ("support", "Elnyert támogatás", "Ft"),
    ("cost", "Elszámolható összköltség", "Ft"),
];

/// Whether an indicator is public information (awarded public funding and
/// the cost it supports): published without suppression. Counts are not.
pub fn is_public_information(code: &str) -> bool {
    code.strip_prefix(DERIVED_PREFIX)
        .is_some_and(|rest| rest.starts_with("support") || rest.starts_with("cost"))
}

/// The indicators and observations a node's developments add to its
/// aggregates, over the developments that may leave the node (not
/// `local`). For each development (counted in its [`Development::year`], at
/// its [`Development::seat`]):
///
/// - `dev.count`, `dev.support`, `dev.cost` in total, and each by programme
///   (`dev.support.EFOP`), by sector (`dev.support.s.oktatás`) and by both
///   (`dev.support.EFOP.s.oktatás`); a development with two sectors counts
///   in each of them (and once in the total);
/// - for each project indicator code `X`: `dev.achieved.X` (the latest
///   achieved value in each year reported), `dev.target.X` (the targets of
///   the developments reporting that year) and `dev.achievement.X`, the
///   ratio Σ achieved / Σ target, declared as the weighted mean of
///   achieved/target weighted by target — algebraically the same ratio, so
///   that the weighted-mean machinery (partials, missing weights,
///   disclosure) applies unchanged.
///
/// Values of one settlement and period are summed, so the observations
/// have the usual key.
pub fn derived_observations(
    developments: &[Development],
    indicators: &[ProjectIndicator],
) -> (Vec<Indicator>, Vec<Observation>) {
    let mut catalogue: BTreeMap<String, Indicator> = BTreeMap::new();
    let mut sums: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let mut add = |code: String,
                   name: String,
                   unit: &str,
                   aggregation: Aggregation,
                   settlement: &str,
                   period: &str,
                   value: f64| {
        catalogue.entry(code.clone()).or_insert_with(|| Indicator {
            code: code.clone(),
            name,
            unit: unit.to_string(),
            aggregation,
        });
        *sums
            .entry((code, settlement.to_string(), period.to_string()))
            .or_insert(0.0) += value;
    };
    let mut outside: BTreeMap<&str, &Development> = BTreeMap::new();
    for d in developments
        .iter()
        .filter(|d| d.visibility != Visibility::Local)
    {
        outside.insert(d.id.as_str(), d);
        let (Some(year), Some(seat)) = (d.year(), d.seat()) else {
            continue;
        };
        let period = year.to_string();
        for (measure, name, unit) in MEASURES {
            let value = match measure {
                "count" => Some(1.0),
                "support" => d.support.map(|v| v as f64),
                _ => d.total_cost.map(|v| v as f64),
            };
            let Some(value) = value else { continue };
            let p = d.programme.as_str();
            add(
                format!("{DERIVED_PREFIX}{measure}"),
                name.to_string(),
                unit,
                Aggregation::Sum,
                seat,
                &period,
                value,
            );
            add(
                format!("{DERIVED_PREFIX}{measure}.{p}"),
                format!("{name} ({p})"),
                unit,
                Aggregation::Sum,
                seat,
                &period,
                value,
            );
            let mut sectors: Vec<&String> = d.sectors.iter().collect();
            sectors.sort();
            sectors.dedup();
            for s in sectors {
                add(
                    format!("{DERIVED_PREFIX}{measure}.s.{s}"),
                    format!("{name} ({s})"),
                    unit,
                    Aggregation::Sum,
                    seat,
                    &period,
                    value,
                );
                add(
                    format!("{DERIVED_PREFIX}{measure}.{p}.s.{s}"),
                    format!("{name} ({p}, {s})"),
                    unit,
                    Aggregation::Sum,
                    seat,
                    &period,
                    value,
                );
            }
        }
    }
    for pi in indicators {
        let Some(d) = outside.get(pi.development.as_str()) else {
            continue;
        };
        let Some(seat) = d.seat() else { continue };
        let x = &pi.indicator;
        let mut by_period: BTreeMap<&str, f64> = BTreeMap::new();
        for a in &pi.achieved {
            by_period.insert(a.period.as_str(), a.value);
        }
        for (period, value) in by_period {
            add(
                format!("{DERIVED_PREFIX}achieved.{x}"),
                format!("{} (teljesült)", pi.name),
                &pi.unit,
                Aggregation::Sum,
                seat,
                period,
                value,
            );
            add(
                format!("{DERIVED_PREFIX}target.{x}"),
                format!("{} (célérték)", pi.name),
                &pi.unit,
                Aggregation::Sum,
                seat,
                period,
                pi.target,
            );
        }
    }
    // The achievement ratio per settlement and period, from the sums.
    let mut ratios = Vec::new();
    for ((code, settlement, period), achieved) in &sums {
        let Some(x) = code.strip_prefix(&format!("{DERIVED_PREFIX}achieved.")) else {
            continue;
        };
        let target = sums
            .get(&(
                format!("{DERIVED_PREFIX}target.{x}"),
                settlement.clone(),
                period.clone(),
            ))
            .copied()
            .unwrap_or(0.0);
        if target > 0.0 {
            ratios.push((
                x.to_string(),
                settlement.clone(),
                period.clone(),
                achieved / target,
            ));
        }
    }
    for (x, ..) in &ratios {
        let name = catalogue
            .get(&format!("{DERIVED_PREFIX}achieved.{x}"))
            .map(|i| i.name.trim_end_matches(" (teljesült)").to_string())
            .unwrap_or_default();
        catalogue
            .entry(format!("{DERIVED_PREFIX}achievement.{x}"))
            .or_insert_with(|| Indicator {
                code: format!("{DERIVED_PREFIX}achievement.{x}"),
                name: format!("{name} (célérték teljesülése)"),
                unit: "arány".to_string(),
                aggregation: Aggregation::WeightedMean(format!("{DERIVED_PREFIX}target.{x}")),
            });
    }
    let mut observations: Vec<Observation> = sums
        .into_iter()
        .map(|((code, settlement, period), value)| {
            let unit = catalogue
                .get(&code)
                .map(|i| i.unit.clone())
                .unwrap_or_default();
            Observation {
                indicator: code,
                settlement,
                period,
                value,
                unit,
            }
        })
        .collect();
    for (x, settlement, period, value) in ratios {
        observations.push(Observation {
            indicator: format!("{DERIVED_PREFIX}achievement.{x}"),
            settlement,
            period,
            value,
            unit: "arány".to_string(),
        });
    }
    (catalogue.into_values().collect(), observations)
}
