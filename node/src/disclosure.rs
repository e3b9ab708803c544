//! Statistical disclosure control: which aggregated cells may be published.
//!
//! This module owns the rules ([`Rules`]), the primary confidentiality of a
//! cell ([`primary`]), and turning cells into what a caller may see
//! ([`publish`], or [`publish_flagged`] when the caller knows by position
//! which cells are incomplete), with secondary suppression. It must not
//! aggregate (that is [`crate::aggregate`]) and must not be bypassed: every
//! cell that leaves a node or hub for another principal goes through
//! [`publish`] or [`publish_flagged`]. Only the
//! operator's own command line uses [`operator_view`], which suppresses
//! nothing.
//!
//! ## Primary rules (status `C`)
//!
//! - `threshold`: fewer than `min_contributors` (3) settlements contributed.
//! - `count`: a count cell (unit `count_unit`, "fő"; sum, min, max or none)
//!   whose value is in (0, `max_small_count`] (2).
//! - `dominance`: a sum cell with a positive sum whose `dominance_n` (2)
//!   largest settlement contributions exceed `dominance_k` (85) percent of it.
//!
//! Configured rules may tighten these defaults, never loosen them
//! ([`Rules::validate`]).
//!
//! ## Secondary suppression (status `D`)
//!
//! Within one answer, a totals cell and the cells it totals (those sharing
//! every key but the totalled one) form a group. For additive aggregations
//! (sum, and weighted_mean, whose total is a weighted sum of the components)
//! a protected cell could be recovered by subtraction, so the rule, repeated
//! until nothing changes, is:
//!
//! - the total has a published value and exactly one component is protected
//!   (`C` or `D`): also suppress the published component with the smallest
//!   `n` (ties: smallest value, then key); if there is none, suppress the
//!   total;
//! - the total is protected and no component is: suppress one component, the
//!   same way, so that the total is not their sum.
//!
//! A group thus ends with 0 or at least 2 protected components, or a
//! protected total with at least one protected component. Min and max are
//! not additive and get no secondary suppression. Suppression is consistent
//! within one answer only: a caller that combines several answers (say, by
//! settlement and then by kistérség only) is not protected against.
//!
//! ## Other absences
//!
//! A value is also absent, with a flag, when the cell is `incomplete` (a
//! member did not contribute: never published as if whole),
//! `missing_weight` (a weighted mean with rows lacking their weight),
//! `zero_weight` (weights sum to zero) or `not_aggregable` (a `none`
//! indicator that is not a single settlement's unambiguous value).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::aggregate::{Cell, CellKey, GroupKey, TOTAL};
use crate::model::Aggregation;

/// The disclosure rules. Deserialised from configuration; missing keys take
/// the defaults, unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// A cell needs at least this many contributing settlements.
    pub min_contributors: u64,
    /// The unit of counts of people.
    pub count_unit: String,
    /// A count cell with 0 < value ≤ this is confidential.
    pub max_small_count: f64,
    /// The number of largest contributions the dominance rule adds up.
    pub dominance_n: usize,
    /// … and the percentage of the sum they may not exceed.
    pub dominance_k: f64,
}

const DEFAULT_MIN_CONTRIBUTORS: u64 = 3;
const DEFAULT_COUNT_UNIT: &str = "fő";
const DEFAULT_MAX_SMALL_COUNT: f64 = 2.0;
const DEFAULT_DOMINANCE_N: usize = 2;
const DEFAULT_DOMINANCE_K: f64 = 85.0;

impl Default for Rules {
    fn default() -> Self {
        Rules {
            min_contributors: DEFAULT_MIN_CONTRIBUTORS,
            count_unit: DEFAULT_COUNT_UNIT.to_string(),
            max_small_count: DEFAULT_MAX_SMALL_COUNT,
            dominance_n: DEFAULT_DOMINANCE_N,
            dominance_k: DEFAULT_DOMINANCE_K,
        }
    }
}

impl Rules {
    /// Refuses rules looser than the defaults (or that cannot be applied).
    /// The message names the key and its default.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_contributors < DEFAULT_MIN_CONTRIBUTORS {
            return Err(format!(
                "min_contributors = {} would loosen the threshold rule; it may only be raised (default {DEFAULT_MIN_CONTRIBUTORS})",
                self.min_contributors
            ));
        }
        if normalise_unit(&self.count_unit) != DEFAULT_COUNT_UNIT {
            return Err(format!(
                "count_unit = {:?} would loosen the small-count rule: counts in {DEFAULT_COUNT_UNIT} would no longer be protected (default {DEFAULT_COUNT_UNIT:?})",
                self.count_unit
            ));
        }
        if self.max_small_count.is_nan() || self.max_small_count < DEFAULT_MAX_SMALL_COUNT {
            return Err(format!(
                "max_small_count = {} would loosen the small-count rule; it may only be raised (default {DEFAULT_MAX_SMALL_COUNT})",
                self.max_small_count
            ));
        }
        if self.dominance_n < DEFAULT_DOMINANCE_N {
            return Err(format!(
                "dominance_n = {} would loosen the dominance rule (default {DEFAULT_DOMINANCE_N})",
                self.dominance_n
            ));
        }
        if self.dominance_n > DEFAULT_DOMINANCE_N {
            return Err(format!(
                "dominance_n = {} is not supported: partials carry the two largest contributions only (default {DEFAULT_DOMINANCE_N})",
                self.dominance_n
            ));
        }
        if self.dominance_k.is_nan() || self.dominance_k > DEFAULT_DOMINANCE_K {
            return Err(format!(
                "dominance_k = {} would loosen the dominance rule; it may only be lowered (default {DEFAULT_DOMINANCE_K})",
                self.dominance_k
            ));
        }
        if self.dominance_k < 0.0 {
            return Err(format!(
                "dominance_k = {} is not a percentage between 0 and {DEFAULT_DOMINANCE_K} (default {DEFAULT_DOMINANCE_K})",
                self.dominance_k
            ));
        }
        Ok(())
    }
}

fn normalise_unit(unit: &str) -> String {
    unit.trim().to_lowercase()
}

/// `normalise_unit(a) == normalise_unit(b)`, without allocating: char by
/// char lower-casing agrees with `str::to_lowercase` except for the
/// context-dependent capital sigma.
fn same_unit(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return true;
    }
    if a.contains('Σ') || b.contains('Σ') {
        return normalise_unit(a) == normalise_unit(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// SDMX `CONF_STATUS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    /// Free: published.
    Free,
    /// Confidential by a primary rule.
    Confidential,
    /// Suppressed so that a confidential cell cannot be recovered.
    Secondary,
}

impl Status {
    pub fn as_sdmx(self) -> &'static str {
        match self {
            Status::Free => "F",
            Status::Confidential => "C",
            Status::Secondary => "D",
        }
    }
}

/// The primary status of a cell, and the rules that made it confidential.
pub fn primary(cell: &Cell, rules: &Rules) -> (Status, Vec<&'static str>) {
    let p = &cell.partial;
    let mut flags = Vec::new();
    if p.n > 0 && p.n < rules.min_contributors {
        flags.push("threshold");
    }
    let count_aggregation = matches!(
        cell.aggregation,
        Aggregation::Sum | Aggregation::Min | Aggregation::Max | Aggregation::None
    );
    if count_aggregation
        && same_unit(&cell.unit, &rules.count_unit)
        && cell
            .value()
            .is_some_and(|v| v > 0.0 && v <= rules.max_small_count)
    {
        flags.push("count");
    }
    if cell.aggregation == Aggregation::Sum && p.sum > 0.0 {
        let top: f64 = p.top.iter().take(rules.dominance_n).sum();
        if top * 100.0 > rules.dominance_k * p.sum {
            flags.push("dominance");
        }
    }
    let status = if flags.is_empty() {
        Status::Free
    } else {
        Status::Confidential
    };
    (status, flags)
}

/// A cell as a caller may see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Published {
    pub key: CellKey,
    pub unit: String,
    /// "sum", "weighted_mean:<code>", "min", "max" or "none".
    pub aggregation: String,
    /// Absent when not free, incomplete, or without a value.
    pub value: Option<f64>,
    pub n: u64,
    pub status: Status,
    /// Why a value is absent or flagged.
    pub flags: Vec<String>,
    pub incomplete: bool,
}

/// Why a cell has no value, if it has none.
fn absence_flag(cell: &Cell) -> Option<&'static str> {
    if cell.value().is_some() || cell.partial.n == 0 {
        return None;
    }
    match cell.aggregation {
        _ if cell.partial.missing_weight > 0 => Some("missing_weight"),
        Aggregation::WeightedMean(_) => Some("zero_weight"),
        Aggregation::None => Some("not_aggregable"),
        _ => None,
    }
}

/// Applies the rules to the cells of one answer, keeping their order.
/// `incomplete` tells which cells lack a member's contribution.
pub fn publish(
    cells: Vec<Cell>,
    rules: &Rules,
    incomplete: &dyn Fn(&CellKey) -> bool,
) -> Vec<Published> {
    let incomplete: Vec<bool> = cells.iter().map(|c| incomplete(&c.key)).collect();
    publish_flagged(cells, rules, &incomplete)
}

/// [`publish`], told by position which cells are incomplete: `cells[i]` is
/// if `incomplete[i]` is true.
pub fn publish_flagged(cells: Vec<Cell>, rules: &Rules, incomplete: &[bool]) -> Vec<Published> {
    let groups = groups(&cells);
    // What secondary suppression needs of the cells themselves.
    let values: Vec<Option<f64>> = if groups.is_empty() {
        Vec::new()
    } else {
        cells.iter().map(Cell::value).collect()
    };
    let mut out: Vec<Published> = cells
        .into_iter()
        .enumerate()
        .map(|(i, cell)| {
            let (status, primary_flags) = primary(&cell, rules);
            let mut flags: Vec<String> = primary_flags.into_iter().map(String::from).collect();
            let incomplete = incomplete.get(i).copied().unwrap_or(false);
            if incomplete {
                flags.push("incomplete".into());
            }
            let value = cell.value();
            if let Some(flag) = absence_flag(&cell) {
                flags.push(flag.into());
            }
            Published {
                aggregation: cell.aggregation.to_string(),
                value: value.filter(|_| status == Status::Free && !incomplete),
                n: cell.partial.n,
                status,
                flags,
                incomplete,
                key: cell.key,
                unit: cell.unit,
            }
        })
        .collect();
    secondary(&groups, &values, &mut out);
    out
}

/// A totals cell and the cells it totals, by index.
#[derive(Debug, Default)]
struct Group {
    total: Option<usize>,
    components: Vec<usize>,
}

/// The groups of secondary suppression that have a total and at least one
/// component, ordered by their total.
fn groups(cells: &[Cell]) -> Vec<Group> {
    let additive = |cell: &Cell| {
        matches!(
            cell.aggregation,
            Aggregation::Sum | Aggregation::WeightedMean(_)
        )
    };
    // The totalled key is the finest geographic key that holds a value:
    // `_T` in the total, a name in each component.
    let finest = |cell: &Cell| {
        if !additive(cell) {
            return None;
        }
        cell.key.finest_geography()
    };
    // Without a total there is no group to protect.
    if !cells
        .iter()
        .any(|c| finest(c).is_some_and(|f| c.key.get(f) == TOTAL))
    {
        return Vec::new();
    }
    let mut groups: HashMap<[&str; 5], Group> = HashMap::new();
    for (i, cell) in cells.iter().enumerate() {
        let Some(f) = finest(cell) else {
            continue;
        };
        let group = groups.entry(group_key(cell, f)).or_default();
        if cell.key.get(f) == TOTAL {
            group.total = Some(i);
        } else {
            group.components.push(i);
        }
    }
    let mut groups: Vec<Group> = groups
        .into_values()
        .filter(|g| g.total.is_some() && !g.components.is_empty())
        .collect();
    // Deterministic, whatever the hash order.
    groups.sort_by_key(|g| g.total);
    groups
}

/// The cell's key with the totalled key `f` set to `_T`, borrowed.
fn group_key(cell: &Cell, f: GroupKey) -> [&str; 5] {
    let k = &cell.key;
    let field = |g: GroupKey| if g == f { TOTAL } else { k.get(g) };
    [
        k.indicator.as_str(),
        field(GroupKey::Period),
        field(GroupKey::Region),
        field(GroupKey::Kisterseg),
        field(GroupKey::Settlement),
    ]
}

/// Secondary suppression; see the module header. `values` are the cells'
/// own values (whether or not published).
fn secondary(groups: &[Group], values: &[Option<f64>], out: &mut [Published]) {
    let protected = |p: &Published| p.status != Status::Free;
    loop {
        let mut changed = false;
        for group in groups {
            let Some(total) = group.total else {
                continue;
            };
            let hidden = group
                .components
                .iter()
                .filter(|&&i| protected(&out[i]))
                .count();
            let needed = (out[total].value.is_some() && hidden == 1)
                || (protected(&out[total]) && hidden == 0);
            if !needed {
                continue;
            }
            let candidate = group
                .components
                .iter()
                .copied()
                .filter(|&i| out[i].status == Status::Free)
                .min_by(|&a, &b| {
                    // Published values first, then smallest n, value, key.
                    out[a]
                        .value
                        .is_none()
                        .cmp(&out[b].value.is_none())
                        .then(out[a].n.cmp(&out[b].n))
                        .then(
                            values[a]
                                .unwrap_or(f64::INFINITY)
                                .total_cmp(&values[b].unwrap_or(f64::INFINITY)),
                        )
                        .then(out[a].key.cmp(&out[b].key))
                });
            let target = match candidate {
                Some(i) => i,
                None if out[total].status == Status::Free => total,
                None => continue,
            };
            suppress(&mut out[target]);
            changed = true;
        }
        if !changed {
            break;
        }
    }
}

fn suppress(p: &mut Published) {
    p.status = Status::Secondary;
    p.value = None;
    p.flags.push("secondary".into());
}

/// The operator's own view: every value, nothing suppressed, absences still
/// flagged.
pub fn operator_view(cells: Vec<Cell>) -> Vec<Published> {
    cells
        .into_iter()
        .map(|cell| {
            let flags = absence_flag(&cell).into_iter().map(String::from).collect();
            Published {
                value: cell.value(),
                n: cell.partial.n,
                aggregation: cell.aggregation.to_string(),
                status: Status::Free,
                flags,
                incomplete: false,
                unit: cell.unit,
                key: cell.key,
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::aggregate::Partial;

    fn cell(kisterseg: &str, unit: &str, aggregation: Aggregation, contributions: &[f64]) -> Cell {
        let mut partial = Partial::empty();
        for &c in contributions {
            partial.add_settlement(c, None);
        }
        Cell {
            key: CellKey {
                indicator: "x".into(),
                period: "2020".into(),
                region: "eszak".into(),
                kisterseg: kisterseg.into(),
                settlement: String::new(),
            },
            unit: unit.into(),
            aggregation,
            partial,
        }
    }

    fn sum(kisterseg: &str, contributions: &[f64]) -> Cell {
        cell(kisterseg, "Ft", Aggregation::Sum, contributions)
    }

    /// A total over `components`, as add_totals makes it.
    fn with_total(mut components: Vec<Cell>) -> Vec<Cell> {
        let mut total = components[0].clone();
        total.key.kisterseg = TOTAL.into();
        total.partial = Partial::empty();
        for c in &components {
            total.partial.merge(&c.partial);
        }
        components.push(total);
        components
    }

    fn none(_: &CellKey) -> bool {
        false
    }

    fn statuses(published: &[Published]) -> Vec<(&str, &str)> {
        published
            .iter()
            .map(|p| (p.key.kisterseg.as_str(), p.status.as_sdmx()))
            .collect()
    }

    #[test]
    fn sdmx_codes() {
        assert_eq!(Status::Free.as_sdmx(), "F");
        assert_eq!(Status::Confidential.as_sdmx(), "C");
        assert_eq!(Status::Secondary.as_sdmx(), "D");
    }

    #[test]
    fn threshold() {
        let rules = Rules::default();
        let (status, flags) = primary(&sum("a", &[10.0, 10.0]), &rules);
        assert_eq!(
            (status, flags),
            (Status::Confidential, vec!["threshold", "dominance"])
        );
        let (status, flags) = primary(&sum("a", &[10.0, 10.0, 10.0]), &rules);
        assert_eq!((status, flags), (Status::Free, vec![]));
        let strict = Rules {
            min_contributors: 4,
            ..Rules::default()
        };
        assert_eq!(
            primary(&sum("a", &[10.0, 10.0, 10.0]), &strict).1,
            vec!["threshold"]
        );
    }

    #[test]
    fn small_counts() {
        let rules = Rules::default();
        // 1 + 1 + 0 = 2 people: confidential (and dominated, as any small
        // count over three settlements is).
        let c = cell("a", "fő", Aggregation::Sum, &[1.0, 1.0, 0.0]);
        assert_eq!(
            primary(&c, &rules),
            (Status::Confidential, vec!["count", "dominance"])
        );
        // 3 people over 3 settlements: free.
        let c = cell("a", "fő", Aggregation::Sum, &[1.0, 1.0, 1.0]);
        assert_eq!(primary(&c, &rules), (Status::Free, vec![]));
        // Zero is not a small count.
        let c = cell("a", "fő", Aggregation::Sum, &[0.0, 0.0, 0.0]);
        assert_eq!(primary(&c, &rules), (Status::Free, vec![]));
        // The same value in another unit is not a count (only dominated).
        let c = cell("a", "Ft", Aggregation::Sum, &[1.0, 1.0, 0.0]);
        assert_eq!(primary(&c, &rules).1, vec!["dominance"]);
        // Unit comparison ignores case and surrounding blanks.
        let c = cell("a", " Fő", Aggregation::Max, &[2.0, 1.0, 1.0]);
        assert_eq!(primary(&c, &rules).1, vec!["count"]);
        // A maximum of 2 people reveals a settlement's count.
        let c = cell("a", "fő", Aggregation::Max, &[2.0, 1.0, 1.0]);
        assert_eq!(primary(&c, &rules), (Status::Confidential, vec!["count"]));
    }

    #[test]
    fn dominance() {
        let rules = Rules::default();
        // One settlement holds 90% of the sum (two hold 95%).
        let c = sum("a", &[90.0, 5.0, 3.0, 2.0]);
        assert_eq!(
            primary(&c, &rules),
            (Status::Confidential, vec!["dominance"])
        );
        // The two largest hold 80%: free.
        let c = sum("a", &[40.0, 40.0, 10.0, 10.0]);
        assert_eq!(primary(&c, &rules), (Status::Free, vec![]));
        // Not for means, nor for sums that are not positive.
        let c = cell("a", "Ft", Aggregation::Max, &[90.0, 5.0, 3.0, 2.0]);
        assert_eq!(primary(&c, &rules).0, Status::Free);
        let c = sum("a", &[-90.0, -5.0, -3.0, -2.0]);
        assert_eq!(primary(&c, &rules).0, Status::Free);
        // A lower k is stricter.
        let strict = Rules {
            dominance_k: 75.0,
            ..Rules::default()
        };
        let c = sum("a", &[40.0, 40.0, 10.0, 10.0]);
        assert_eq!(primary(&c, &strict).1, vec!["dominance"]);
    }

    #[test]
    fn one_confidential_component_and_a_published_total_suppress_another() {
        let cells = with_total(vec![
            sum("a", &[10.0, 10.0]), // C: threshold
            sum("b", &[10.0, 10.0, 10.0, 10.0]),
            sum("c", &[10.0, 10.0, 10.0]), // smallest n among the free
            sum("d", &[20.0, 20.0, 20.0]), // same n, larger value
        ]);
        let published = publish(cells, &Rules::default(), &none);
        assert_eq!(
            statuses(&published),
            vec![("a", "C"), ("b", "F"), ("c", "D"), ("d", "F"), ("_T", "F")]
        );
        assert_eq!(published[2].value, None);
        assert_eq!(published[2].flags, vec!["secondary"]);
        assert_eq!(published[0].value, None);
        assert_eq!(published[4].value, Some(150.0));
        assert_eq!(published[4].n, 12);
    }

    #[test]
    fn two_confidential_components_need_nothing_more() {
        let cells = with_total(vec![
            sum("a", &[10.0, 10.0]),
            sum("b", &[10.0]),
            sum("c", &[10.0, 10.0, 10.0]),
            sum("d", &[10.0, 10.0, 10.0]),
        ]);
        let published = publish(cells, &Rules::default(), &none);
        assert_eq!(
            statuses(&published),
            vec![("a", "C"), ("b", "C"), ("c", "F"), ("d", "F"), ("_T", "F")]
        );
    }

    #[test]
    fn a_lone_confidential_component_has_a_confidential_total() {
        let cells = with_total(vec![sum("a", &[10.0, 10.0])]);
        let published = publish(cells, &Rules::default(), &none);
        assert_eq!(statuses(&published), vec![("a", "C"), ("_T", "C")]);
        // Were the total free (it cannot be with the same data), it would
        // have to go: it equals the component.
        let mut cells = with_total(vec![sum("a", &[10.0, 10.0])]);
        cells[1].partial = sum("_T", &[10.0, 5.0, 5.0]).partial;
        let published = publish(cells, &Rules::default(), &none);
        assert_eq!(statuses(&published), vec![("a", "C"), ("_T", "D")]);
        assert_eq!(published[1].value, None);
    }

    #[test]
    fn a_confidential_total_over_free_components_suppresses_one() {
        let rules = Rules::default();
        let cells = with_total(vec![
            sum("a", &[10.0, 10.0, 10.0]),
            sum("b", &[10.0, 10.0, 10.0]),
        ]);
        let published = publish(cells.clone(), &rules, &none);
        assert_eq!(
            statuses(&published),
            vec![("a", "F"), ("b", "F"), ("_T", "F")]
        );
        // A dominated total (consistent data cannot make one over free
        // components, but the rule must not depend on that).
        let mut dominated = cells;
        dominated[2].partial.top = vec![30.0, 30.0];
        let published = publish(dominated, &rules, &none);
        assert_eq!(
            statuses(&published),
            vec![("a", "D"), ("b", "F"), ("_T", "C")]
        );
    }

    #[test]
    fn min_and_max_get_no_secondary_suppression() {
        let cells = with_total(vec![
            cell("a", "Ft", Aggregation::Max, &[10.0, 10.0]),
            cell("b", "Ft", Aggregation::Max, &[10.0, 10.0, 10.0]),
            cell("c", "Ft", Aggregation::Max, &[10.0, 10.0, 10.0]),
        ]);
        let published = publish(cells, &Rules::default(), &none);
        assert_eq!(
            statuses(&published),
            vec![("a", "C"), ("b", "F"), ("c", "F"), ("_T", "F")]
        );
    }

    #[test]
    fn incomplete_cells_are_never_published_as_whole() {
        let cells = vec![sum("a", &[10.0, 10.0, 10.0]), sum("b", &[10.0, 10.0, 10.0])];
        let published = publish(cells, &Rules::default(), &|k: &CellKey| k.kisterseg == "b");
        assert_eq!(published[0].value, Some(30.0));
        assert!(!published[0].incomplete);
        assert_eq!(published[1].value, None);
        assert_eq!(published[1].status, Status::Free);
        assert!(published[1].incomplete);
        assert_eq!(published[1].flags, vec!["incomplete"]);
    }

    #[test]
    fn missing_weights_are_flagged_in_both_views() {
        let mut partial = Partial::empty();
        for w in [100.0, 200.0, 300.0] {
            partial.add_settlement(5.0, Some(w));
        }
        partial.add_missing_weight(7.0);
        let c = Cell {
            aggregation: Aggregation::WeightedMean("nepesseg".into()),
            unit: "%".into(),
            partial,
            ..sum("a", &[])
        };
        let published = publish(vec![c.clone()], &Rules::default(), &none);
        assert_eq!(published[0].value, None);
        assert_eq!(published[0].status, Status::Free);
        assert_eq!(published[0].flags, vec!["missing_weight"]);
        assert_eq!(published[0].aggregation, "weighted_mean:nepesseg");
        let own = operator_view(vec![c]);
        assert_eq!(own[0].value, None);
        assert_eq!(own[0].flags, vec!["missing_weight"]);
    }

    #[test]
    fn operator_view_suppresses_nothing() {
        let cells = with_total(vec![sum("a", &[10.0]), sum("b", &[5.0, 5.0, 5.0])]);
        let own = operator_view(cells);
        let values: Vec<Option<f64>> = own.iter().map(|p| p.value).collect();
        assert_eq!(values, vec![Some(10.0), Some(15.0), Some(25.0)]);
        assert!(
            own.iter()
                .all(|p| p.status == Status::Free && p.flags.is_empty())
        );
    }

    #[test]
    fn rules_may_tighten_but_not_loosen() {
        assert_eq!(Rules::default().validate(), Ok(()));
        let strict = Rules {
            min_contributors: 5,
            max_small_count: 4.0,
            dominance_k: 70.0,
            ..Rules::default()
        };
        assert_eq!(strict.validate(), Ok(()));
        let e = Rules {
            min_contributors: 2,
            ..Rules::default()
        }
        .validate()
        .unwrap_err();
        assert!(
            e.contains("min_contributors") && e.contains("default 3"),
            "{e}"
        );
        let e = Rules {
            dominance_k: 90.0,
            ..Rules::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("dominance_k") && e.contains("default 85"), "{e}");
        let e = Rules {
            max_small_count: 1.0,
            ..Rules::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("max_small_count"), "{e}");
        let e = Rules {
            dominance_n: 1,
            ..Rules::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("dominance_n"), "{e}");
        let e = Rules {
            count_unit: "db".into(),
            ..Rules::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("count_unit"), "{e}");
    }

    #[test]
    fn rules_deserialise_with_defaults_and_refuse_unknown_keys() {
        let rules: Rules = serde_json::from_str(r#"{"min_contributors": 4}"#).unwrap();
        assert_eq!(
            rules,
            Rules {
                min_contributors: 4,
                ..Rules::default()
            }
        );
        assert!(serde_json::from_str::<Rules>(r#"{"min_contributor": 4}"#).is_err());
    }

    /// Publishing as it was before `publish_flagged`: the answers must stay
    /// identical.
    fn reference_publish(
        cells: Vec<Cell>,
        rules: &Rules,
        incomplete: &dyn Fn(&CellKey) -> bool,
    ) -> Vec<Published> {
        let mut out: Vec<Published> = cells
            .iter()
            .map(|cell| {
                let (status, primary_flags) = primary(cell, rules);
                let mut flags: Vec<String> = primary_flags.into_iter().map(String::from).collect();
                let incomplete = incomplete(&cell.key);
                if incomplete {
                    flags.push("incomplete".into());
                }
                let value = cell.value();
                if let Some(flag) = absence_flag(cell) {
                    flags.push(flag.into());
                }
                Published {
                    key: cell.key.clone(),
                    unit: cell.unit.clone(),
                    aggregation: cell.aggregation.to_string(),
                    value: value.filter(|_| status == Status::Free && !incomplete),
                    n: cell.partial.n,
                    status,
                    flags,
                    incomplete,
                }
            })
            .collect();
        reference_secondary(&cells, &mut out);
        out
    }

    /// Secondary suppression; see the module header.
    fn reference_secondary(cells: &[Cell], out: &mut [Published]) {
        let mut groups: HashMap<CellKey, Group> = HashMap::new();
        for (i, cell) in cells.iter().enumerate() {
            if !matches!(
                cell.aggregation,
                Aggregation::Sum | Aggregation::WeightedMean(_)
            ) {
                continue;
            }
            // The totalled key is the finest geographic key that holds a value:
            // `_T` in the total, a name in each component.
            let Some(finest) = cell.key.finest_geography() else {
                continue;
            };
            let mut group_key = cell.key.clone();
            group_key.set(finest, TOTAL);
            let group = groups.entry(group_key).or_default();
            if cell.key.get(finest) == TOTAL {
                group.total = Some(i);
            } else {
                group.components.push(i);
            }
        }
        let mut groups: Vec<Group> = groups
            .into_values()
            .filter(|g| g.total.is_some() && !g.components.is_empty())
            .collect();
        // Deterministic, whatever the hash order.
        groups.sort_by_key(|g| g.total);

        let protected = |p: &Published| p.status != Status::Free;
        loop {
            let mut changed = false;
            for group in &groups {
                let Some(total) = group.total else {
                    continue;
                };
                let hidden = group
                    .components
                    .iter()
                    .filter(|&&i| protected(&out[i]))
                    .count();
                let needed = (out[total].value.is_some() && hidden == 1)
                    || (protected(&out[total]) && hidden == 0);
                if !needed {
                    continue;
                }
                let candidate = group
                    .components
                    .iter()
                    .copied()
                    .filter(|&i| out[i].status == Status::Free)
                    .min_by(|&a, &b| {
                        // Published values first, then smallest n, value, key.
                        out[a]
                            .value
                            .is_none()
                            .cmp(&out[b].value.is_none())
                            .then(out[a].n.cmp(&out[b].n))
                            .then(
                                cells[a]
                                    .value()
                                    .unwrap_or(f64::INFINITY)
                                    .total_cmp(&cells[b].value().unwrap_or(f64::INFINITY)),
                            )
                            .then(out[a].key.cmp(&out[b].key))
                    });
                let target = match candidate {
                    Some(i) => i,
                    None if out[total].status == Status::Free => total,
                    None => continue,
                };
                suppress(&mut out[target]);
                changed = true;
            }
            if !changed {
                break;
            }
        }
    }

    #[test]
    fn units_compare_as_normalised() {
        for (a, b) in [
            ("fő", "fő"),
            (" Fő", "fő"),
            ("FŐ ", "fő"),
            ("Ft", "fő"),
            ("%", "fő"),
            ("\u{212A}g", "kg"),
            ("ΣΑΣ", "σας"),
            ("ΣΑΣ", "σασ"),
            ("", "fő"),
            ("db", "DB"),
        ] {
            assert_eq!(
                same_unit(a, b),
                normalise_unit(a) == normalise_unit(b),
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn publishing_is_as_before() {
        use crate::aggregate::{AggregateQuery, GroupKey, add_totals};
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let query = AggregateQuery {
            group_by: vec![GroupKey::Kisterseg, GroupKey::Period],
            totals: true,
            ..AggregateQuery::default()
        };
        let mut suppressed = 0;
        for round in 0..200 {
            let mut cells = Vec::new();
            for indicator in ["x", "y", "z"] {
                let (unit, aggregation) = match indicator {
                    "x" => ("fő", Aggregation::Sum),
                    "y" => (" Ft", Aggregation::WeightedMean("x".into())),
                    _ => ("FŐ", Aggregation::Max),
                };
                for period in ["2020", "2021"] {
                    for kisterseg in ["a", "b", "c", "d", "e"] {
                        if next() % 4 == 0 {
                            continue;
                        }
                        let mut partial = Partial::empty();
                        for _ in 0..next() % 6 {
                            let v = (next() % 40) as f64 / 2.0;
                            match aggregation {
                                Aggregation::WeightedMean(_) if next() % 9 == 0 => {
                                    partial.add_missing_weight(v)
                                }
                                Aggregation::WeightedMean(_) => {
                                    partial.add_settlement(v, Some((next() % 5) as f64))
                                }
                                _ => partial.add_settlement(v, None),
                            }
                        }
                        cells.push(Cell {
                            key: CellKey {
                                indicator: indicator.into(),
                                period: period.into(),
                                region: String::new(),
                                kisterseg: kisterseg.into(),
                                settlement: String::new(),
                            },
                            unit: unit.into(),
                            aggregation: aggregation.clone(),
                            partial,
                        });
                    }
                }
            }
            if round % 3 != 0 {
                add_totals(&mut cells, &query);
            }
            let incomplete = |k: &CellKey| round % 2 == 0 && k.kisterseg == "c";
            let before = reference_publish(cells.clone(), &Rules::default(), &incomplete);
            let after = publish(cells, &Rules::default(), &incomplete);
            assert_eq!(before, after);
            suppressed += after
                .iter()
                .filter(|p| p.status == Status::Secondary)
                .count();
        }
        assert!(suppressed > 50, "{suppressed}");
    }
}
