//! Statistical disclosure control: which aggregated cells may be published.
//!
//! This module owns the rules ([`Rules`], and [`Strictness`], the part that
//! travels with partials), the primary confidentiality of a cell
//! ([`primary`]), the status of every unit of the hierarchy
//! ([`unit_statuses`]), and turning cells into what a caller may see:
//! [`publish`] for a node's answer, [`publish_units`] for a hub's. It must
//! not aggregate (that is [`crate::aggregate`]) and must not be bypassed:
//! every cell that leaves a node or hub for a principal that does not
//! receive partials goes through one of them. Only the operator's own
//! command line uses [`operator_view`], which suppresses nothing.
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
//! ([`Rules::validate`]). A node's rules travel in its partials
//! ([`Strictness`]), and a combination applies the strictest rules of the
//! data in it, so a node's tighter rules bind what any hub publishes from
//! its data.
//!
//! ## Whole units (the differencing guarantee)
//!
//! No confidential value may be recoverable from any number of answers,
//! however the questions are cut. So a published cell never depends on the
//! cut: it is always a **whole unit** of a fixed hierarchy — a settlement,
//! a kistérség (one node's data), each hub's whole (a region), a hub of
//! hubs' whole (the nation) — for **one period**. The request's
//! `settlements`, `period_from`/`period_to`, `totals` and `members` only
//! choose which of these cells are returned; none changes what a cell adds
//! up. Published answers are always grouped by period (a period range
//! would otherwise be a differencing tool), and settlement filters never
//! narrow a coarser cell. The node and hub enforce this before calling in
//! here; [`publish_units`] checks that every cell it gets is a whole unit.
//!
//! ## Consistent suppression over the hierarchy (status `D`)
//!
//! A unit equals the sum of its children, so publishing it can reveal a
//! confidential child by subtraction. Suppression is decided per unit, from
//! the units below it only, and it only ever moves **up**: a node publishes
//! its kistérség by its primary status alone, and no hub ever withholds a
//! cell that a member publishes itself — sideways secondary suppression
//! (hiding a free sibling) would be undone by asking that sibling's node.
//!
//! What publishing a unit `u` would reveal, beyond its free children, is
//! the combined data `hidden(u)` of its children that are not free: for a
//! kistérség, all of it (its settlements are never published); above, the
//! union of `hidden(c)` over the children `c` that are not free. Then:
//!
//! - `u` is `C` if its own data fail a primary rule;
//! - else `D` if `hidden(u)` is not empty and fails a primary rule as one
//!   cell (one confidential kistérség alone in its region makes the region
//!   `D`; two whose union passes the rules do not);
//! - else `F`.
//!
//! Min, max and weighted means are treated the same way (a region's
//! maximum can reveal a hidden kistérség's maximum just as a sum can). Since
//! every status is a function of the unit's own subtree, every answer that
//! contains a unit gives it the same status: with or without totals, at the
//! node or through any hub. The adversarial test suite
//! (`tests/tests/e2e/adversarial_disclosure.rs`) and the unit tests below
//! check, by simulating an attacker who adds and subtracts every published
//! value, that no confidential unit becomes known.
//!
//! Linked tables across indicators (an indicator that is the sum of two
//! others) are not protected against; see THREAT_MODEL.md.
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

use crate::aggregate::{Cell, CellKey, Partial, TOTAL};
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

impl Rules {
    /// The adjustable part of the rules, which travels with partials so that
    /// whoever combines this node's data applies them too.
    pub fn strictness(&self) -> Strictness {
        Strictness {
            min_contributors: self.min_contributors,
            max_small_count: self.max_small_count,
            dominance_k: self.dominance_k,
            public_information: false,
        }
    }
}

/// The adjustable rules of the data behind a cell: the strictest of its
/// contributors' `[disclosure]` rules. Merging two partials keeps the
/// stricter of each, so a node's tighter rules bind every cell its data
/// enters, at whichever hub the cell is published. `count_unit` and
/// `dominance_n` cannot be changed ([`Rules::validate`]), so they need not
/// travel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Strictness {
    pub min_contributors: u64,
    pub max_small_count: f64,
    pub dominance_k: f64,
    /// Every contribution is public information (awarded public funding,
    /// [`crate::register::is_public_information`]): no primary rule applies.
    /// Only the data's own nodes say so; a combination is public only when
    /// all its contributions are (see [`crate::aggregate::Partial::merge`]).
    pub public_information: bool,
}

impl Default for Strictness {
    /// The defaults, which every node's rules are at least as strict as.
    fn default() -> Self {
        Rules::default().strictness()
    }
}

impl Strictness {
    /// The stricter of each rule.
    pub fn stricter(self, other: Strictness) -> Strictness {
        Strictness {
            min_contributors: self.min_contributors.max(other.min_contributors),
            max_small_count: self.max_small_count.max(other.max_small_count),
            dominance_k: self.dominance_k.min(other.dominance_k),
            public_information: self.public_information && other.public_information,
        }
    }

    /// Rules received from a member, never looser than the defaults:
    /// a NaN or a looser value is replaced by the default, so that a
    /// confused or hostile member cannot loosen the rules of a combination.
    pub fn at_least_defaults(self) -> Strictness {
        let d = Strictness::default();
        let max_small_count = if self.max_small_count.is_nan() {
            d.max_small_count
        } else {
            self.max_small_count
        };
        let dominance_k = if self.dominance_k.is_nan() {
            d.dominance_k
        } else {
            self.dominance_k.max(0.0)
        };
        Strictness {
            min_contributors: self.min_contributors,
            max_small_count,
            dominance_k,
            public_information: false,
        }
        .stricter(d)
        .with_public(self.public_information)
    }

    /// These rules with `public_information` set to `public`.
    pub fn with_public(self, public: bool) -> Strictness {
        Strictness {
            public_information: public,
            ..self
        }
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

/// The primary status of a cell, and the rules that made it confidential:
/// the stricter of `rules` and the rules its contributors carry
/// ([`Strictness`], in the partial).
pub fn primary(cell: &Cell, rules: &Rules) -> (Status, Vec<&'static str>) {
    primary_of(cell, &cell.partial, rules)
}

/// [`primary`] for the data `p` (the whole cell's partial, or a part of it
/// such as the contributions hidden below a unit), with `cell`'s unit and
/// aggregation.
fn primary_of(cell: &Cell, p: &Partial, rules: &Rules) -> (Status, Vec<&'static str>) {
    // Public information is published as it is; only the data's own
    // rules can say so (the publisher's never do).
    if p.rules.public_information {
        return (Status::Free, Vec::new());
    }
    let strict = p.rules.stricter(rules.strictness());
    let mut flags = Vec::new();
    if p.n > 0 && p.n < strict.min_contributors {
        flags.push("threshold");
    }
    let count_aggregation = matches!(
        cell.aggregation,
        Aggregation::Sum | Aggregation::Min | Aggregation::Max | Aggregation::None
    );
    if count_aggregation
        && same_unit(&cell.unit, &rules.count_unit)
        && value_of(cell, p).is_some_and(|v| v > 0.0 && v <= strict.max_small_count)
    {
        flags.push("count");
    }
    if cell.aggregation == Aggregation::Sum && p.sum > 0.0 {
        let top: f64 = p.top.iter().take(rules.dominance_n).sum();
        if top * 100.0 > strict.dominance_k * p.sum {
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

/// The value `cell` would have with partial `p`.
fn value_of(cell: &Cell, p: &Partial) -> Option<f64> {
    if std::ptr::eq(p, &cell.partial) {
        return cell.value();
    }
    Cell {
        key: CellKey::default(),
        unit: String::new(),
        aggregation: cell.aggregation.clone(),
        partial: p.clone(),
    }
    .value()
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

/// Applies the primary rules to the cells of one node's answer, keeping
/// their order; `incomplete[i]` tells whether `cells[i]` lacks a member's
/// contribution.
///
/// A node's answer holds settlement cells (each confidential by the
/// threshold rule, since one settlement is fewer than three) and cells of
/// the node's whole kistérség, which is one unit of the hierarchy: a
/// kistérség cell's status is its primary status, whatever else was asked
/// ([`unit_statuses`] gives a leaf exactly that), so nothing here depends
/// on how the question was cut.
pub fn publish(cells: Vec<Cell>, rules: &Rules, incomplete: &[bool]) -> Vec<Published> {
    cells
        .into_iter()
        .enumerate()
        .map(|(i, cell)| {
            let (status, flags) = primary(&cell, rules);
            let incomplete = incomplete.get(i).copied().unwrap_or(false);
            published(cell, status, flags, incomplete)
        })
        .collect()
}

/// A cell with its status decided: the value goes out only when free and
/// complete; flags say why it does not.
fn published(
    cell: Cell,
    status: Status,
    rule_flags: Vec<&'static str>,
    incomplete: bool,
) -> Published {
    let mut flags: Vec<String> = rule_flags.into_iter().map(String::from).collect();
    if incomplete {
        flags.push("incomplete".into());
    }
    if let Some(flag) = absence_flag(&cell) {
        flags.push(flag.into());
    }
    Published {
        aggregation: cell.aggregation.to_string(),
        value: cell
            .value()
            .filter(|_| status == Status::Free && !incomplete),
        n: cell.partial.n,
        status,
        flags,
        incomplete,
        key: cell.key,
        unit: cell.unit,
    }
}

/// The parent of a unit's path: `a/b` → `a`, `a` → `` (the answering
/// server's whole), `` → none.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(path.rfind('/').map_or("", |i| &path[..i]))
}

fn depth(path: &str) -> usize {
    if path.is_empty() {
        0
    } else {
        path.matches('/').count() + 1
    }
}

/// The deepest unit that holds every path: their longest common prefix of
/// whole segments.
pub fn common_unit<'a>(paths: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut paths = paths.into_iter();
    let mut unit = paths.next()?;
    for path in paths {
        while !(path == unit || unit.is_empty() || path.starts_with(&format!("{unit}/"))) {
            unit = parent(unit).unwrap_or("");
        }
    }
    Some(unit)
}

/// The status of one unit of a table, and how many leaves it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitStatus {
    pub status: Status,
    pub flags: Vec<&'static str>,
    /// Leaves (kistérségek) under the unit.
    pub leaves: usize,
}

/// The status of every unit of one table (one indicator, one period), from
/// its leaves: `(path, cell)` for each kistérség that has data, `path` its
/// member path as seen from the answering server (`edelenyi`,
/// `eszak/edelenyi`). See "Consistent suppression over the hierarchy" in
/// the module header.
///
/// Every unit's status depends only on the leaves under it, so a member's
/// answer and its hub's agree on every unit they both publish, and a
/// `members` filter that keeps whole subtrees changes no status.
pub fn unit_statuses(leaves: &[(&str, &Cell)], rules: &Rules) -> HashMap<String, UnitStatus> {
    let Some(template) = leaves.first().map(|(_, c)| *c) else {
        return HashMap::new();
    };
    // Each unit's data: the merge of the leaves under it.
    let mut data: HashMap<&str, (Partial, usize, bool)> = HashMap::new();
    for (path, cell) in leaves {
        let mut unit = Some(*path);
        let mut leaf = true;
        while let Some(u) = unit {
            let entry = data
                .entry(u)
                .or_insert_with(|| (Partial::empty(), 0, false));
            entry.0.merge(&cell.partial);
            entry.1 += 1;
            entry.2 |= leaf;
            leaf = false;
            unit = parent(u);
        }
    }
    let mut order: Vec<&str> = data.keys().copied().collect();
    // Deepest first, so that a unit's children are decided before it; the
    // path breaks ties only to make the order deterministic.
    order.sort_by(|a, b| depth(b).cmp(&depth(a)).then(a.cmp(b)));
    // What each unit hides: the data of its children that are not free.
    let mut hidden: HashMap<&str, Partial> = HashMap::new();
    let mut out = HashMap::with_capacity(order.len());
    for unit in order {
        let (partial, leaf_count, is_leaf) = &data[unit];
        let (mut status, mut flags) = primary_of(template, partial, rules);
        // A leaf's settlements are never published, so all of it is hidden
        // below it; above, only the children that are not free hide data.
        let hides = if *is_leaf {
            partial.clone()
        } else {
            hidden.remove(unit).unwrap_or_else(Partial::empty)
        };
        if status == Status::Free && !*is_leaf && hides.n > 0 {
            let (below, _) = primary_of(template, &hides, rules);
            if below != Status::Free {
                status = Status::Secondary;
                flags = vec!["secondary"];
            }
        }
        if status != Status::Free
            && hides.n > 0
            && let Some(up) = parent(unit)
        {
            hidden
                .entry(up)
                .or_insert_with(Partial::empty)
                .merge(&hides);
        }
        out.insert(
            unit.to_string(),
            UnitStatus {
                status,
                flags,
                leaves: *leaf_count,
            },
        );
    }
    out
}

/// Publishes the cells of a hub's answer. `contributors[i]` are the leaf
/// paths behind `cells[i]`, `incomplete[i]` whether it lacks a member's
/// contribution, and `leaves` the kistérség cells (grouped by indicator and
/// period, with their paths) that decide every unit's status.
///
/// A settlement cell gets its primary status (it is always confidential by
/// the threshold rule). Any other cell is one unit of the hierarchy: the
/// deepest unit holding its contributors, and it must hold exactly them
/// (a whole unit); it gets that unit's status from [`unit_statuses`]. A
/// cell that is not a whole unit cannot arise from a valid request; should
/// one, it is suppressed (`D`, flag `not_whole`) rather than published.
pub fn publish_units(
    cells: Vec<Cell>,
    contributors: &[Vec<String>],
    incomplete: &[bool],
    leaves: &[(String, Cell)],
    rules: &Rules,
) -> Vec<Published> {
    let mut tables: HashMap<(&str, &str), Vec<(&str, &Cell)>> = HashMap::new();
    for (path, cell) in leaves {
        tables
            .entry((cell.key.indicator.as_str(), cell.key.period.as_str()))
            .or_default()
            .push((path.as_str(), cell));
    }
    let statuses: HashMap<(&str, &str), HashMap<String, UnitStatus>> = tables
        .into_iter()
        .map(|(table, leaves)| (table, unit_statuses(&leaves, rules)))
        .collect();
    let decided: Vec<(Status, Vec<&'static str>)> = cells
        .iter()
        .enumerate()
        .map(|(i, cell)| {
            let settlement = &cell.key.settlement;
            let paths = contributors.get(i).map(Vec::as_slice).unwrap_or(&[]);
            if (!settlement.is_empty() && settlement != TOTAL) || paths.is_empty() {
                return primary(cell, rules);
            }
            let table = (cell.key.indicator.as_str(), cell.key.period.as_str());
            let unit = common_unit(paths.iter().map(String::as_str));
            match (statuses.get(&table), unit) {
                (Some(units), Some(unit)) => match units.get(unit) {
                    Some(u) if u.leaves == paths.len() => (u.status, u.flags.clone()),
                    _ => (Status::Secondary, vec!["not_whole"]),
                },
                _ => (Status::Secondary, vec!["not_whole"]),
            }
        })
        .collect();
    cells
        .into_iter()
        .zip(decided)
        .enumerate()
        .map(|(i, (cell, (status, flags)))| {
            published(
                cell,
                status,
                flags,
                incomplete.get(i).copied().unwrap_or(false),
            )
        })
        .collect()
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

    #[test]
    fn public_information_is_free_only_when_every_contribution_is_public() {
        let rules = Rules::default();
        let public = |contributions: &[f64]| {
            let mut c = sum("a", contributions);
            c.partial.rules = rules.strictness().with_public(true);
            c
        };
        // One dominant development in one settlement: published as it is.
        let alone = public(&[300_000_000.0]);
        assert_eq!(primary(&alone, &rules), (Status::Free, vec![]));
        // Merged into an empty accumulator, the flag stays.
        let mut total = Partial::empty();
        total.merge(&alone.partial);
        assert!(total.rules.public_information);
        // Merged with data that is not public information, it goes.
        let mut other = sum("b", &[5.0]);
        other.partial.rules = rules.strictness();
        total.merge(&other.partial);
        assert!(!total.rules.public_information);
        let mut mixed = alone.clone();
        mixed.partial = total;
        assert_eq!(primary(&mixed, &rules).0, Status::Confidential);
        // A member cannot loosen the other rules by saying it is public.
        let received = Strictness {
            min_contributors: 1,
            ..rules.strictness().with_public(true)
        }
        .at_least_defaults();
        assert!(received.public_information);
        assert_eq!(received.min_contributors, Rules::default().min_contributors);
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
    fn incomplete_cells_are_never_published_as_whole() {
        let cells = vec![sum("a", &[10.0, 10.0, 10.0]), sum("b", &[10.0, 10.0, 10.0])];
        let published = publish(cells, &Rules::default(), &[false, true]);
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
        let published = publish(vec![c.clone()], &Rules::default(), &[]);
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

    /// A table of leaves: (path, cell) with the cell's data.
    fn table(leaves: &[(&str, &[f64])]) -> Vec<(String, Cell)> {
        leaves
            .iter()
            .map(|(path, data)| (path.to_string(), sum(path, data)))
            .collect()
    }

    fn statuses_of(leaves: &[(String, Cell)]) -> Vec<(String, &'static str)> {
        let borrowed: Vec<(&str, &Cell)> = leaves.iter().map(|(p, c)| (p.as_str(), c)).collect();
        let units = unit_statuses(&borrowed, &Rules::default());
        let mut out: Vec<(String, &'static str)> = units
            .into_iter()
            .map(|(path, u)| (path, u.status.as_sdmx()))
            .collect();
        out.sort();
        out
    }

    const FREE: &[f64] = &[10.0, 10.0, 10.0];
    const SMALL: &[f64] = &[10.0, 10.0];
    const DOMINATED: &[f64] = &[1_000.0, 10.0, 10.0];

    #[test]
    fn a_leaf_has_its_primary_status() {
        let t = table(&[("a", FREE), ("b", SMALL), ("c", DOMINATED)]);
        let s = statuses_of(&t);
        assert!(s.contains(&("a".into(), "F")));
        assert!(s.contains(&("b".into(), "C")));
        assert!(s.contains(&("c".into(), "C")));
    }

    #[test]
    fn one_confidential_kisterseg_makes_its_region_secondary_not_a_sibling() {
        let t = table(&[("a", SMALL), ("b", FREE), ("c", FREE)]);
        assert_eq!(
            statuses_of(&t),
            vec![
                ("".into(), "D"),
                ("a".into(), "C"),
                ("b".into(), "F"),
                ("c".into(), "F")
            ]
        );
    }

    #[test]
    fn two_confidential_kistersegek_whose_union_passes_leave_the_region_free() {
        // 2 + 2 settlements, no dominance: their sum may be known.
        let t = table(&[("a", SMALL), ("b", SMALL), ("c", FREE)]);
        assert!(statuses_of(&t).contains(&("".into(), "F")));
        // Two dominated ones: their union is still dominated (here the
        // region itself is, too).
        let t = table(&[("a", DOMINATED), ("b", DOMINATED), ("c", FREE)]);
        assert!(!statuses_of(&t).contains(&("".into(), "F")));
        let t = table(&[
            ("a", DOMINATED),
            ("b", DOMINATED),
            ("c", &[900.0, 900.0, 900.0]),
        ]);
        assert!(statuses_of(&t).contains(&("".into(), "D")));
    }

    #[test]
    fn suppression_moves_up_through_hubs_of_hubs() {
        let t = table(&[
            ("north/a", SMALL),
            ("north/b", FREE),
            ("south/c", FREE),
            ("south/d", FREE),
        ]);
        assert_eq!(
            statuses_of(&t),
            vec![
                ("".into(), "D"),
                ("north".into(), "D"),
                ("north/a".into(), "C"),
                ("north/b".into(), "F"),
                ("south".into(), "F"),
                ("south/c".into(), "F"),
                ("south/d".into(), "F"),
            ]
        );
        // A second region hiding another small kistérség: the nation's
        // hidden data are both, which together pass.
        let t = table(&[
            ("north/a", SMALL),
            ("north/b", FREE),
            ("south/c", SMALL),
            ("south/d", FREE),
        ]);
        let s = statuses_of(&t);
        assert!(s.contains(&("".into(), "F")), "{s:?}");
        assert!(s.contains(&("north".into(), "D")));
        assert!(s.contains(&("south".into(), "D")));
    }

    #[test]
    fn a_nodes_stricter_rules_bind_every_combination_of_its_data() {
        let mut t = table(&[("a", &[10.0, 10.0, 10.0, 10.0]), ("b", FREE), ("c", FREE)]);
        assert!(statuses_of(&t).iter().all(|(_, s)| *s == "F"));
        t[0].1.partial.rules.min_contributors = 5;
        let s = statuses_of(&t);
        assert!(s.contains(&("a".into(), "C")), "{s:?}");
        assert!(s.contains(&("".into(), "D")), "{s:?}");
        // Merging keeps the stricter rules.
        let mut merged = t[1].1.partial.clone();
        merged.merge(&t[0].1.partial);
        assert_eq!(merged.rules.min_contributors, 5);
        // A member cannot loosen them below the defaults.
        let loose = Strictness {
            min_contributors: 1,
            max_small_count: f64::NAN,
            dominance_k: 100.0,
            public_information: false,
        };
        assert_eq!(loose.at_least_defaults(), Strictness::default());
    }

    #[test]
    fn published_cells_are_whole_units_with_their_units_status() {
        let t = table(&[("a", SMALL), ("b", FREE), ("c", FREE)]);
        let region = {
            let mut c = sum("", &[10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]);
            c.key.kisterseg = TOTAL.into();
            c
        };
        let cells = vec![t[1].1.clone(), region.clone()];
        let contributors = vec![
            vec!["b".to_string()],
            vec!["a".into(), "b".into(), "c".into()],
        ];
        let out = publish_units(cells, &contributors, &[false, false], &t, &Rules::default());
        assert_eq!(out[0].status, Status::Free);
        assert_eq!(out[0].value, Some(30.0));
        assert_eq!(out[1].status, Status::Secondary);
        assert_eq!(out[1].value, None);
        // Not a whole unit: two of the three kistérségek.
        let out = publish_units(
            vec![region],
            &[vec!["b".to_string(), "c".into()]],
            &[false],
            &t,
            &Rules::default(),
        );
        assert_eq!(out[0].status, Status::Secondary);
        assert_eq!(out[0].flags, vec!["not_whole"]);
    }

    /// An attacker who knows every published unit of a random hierarchy and
    /// adds and subtracts them (a parent is the sum of its children) never
    /// learns a unit that is not free, except one whose every child is
    /// published (whose data are then public through its children anyway).
    #[test]
    fn no_confidential_unit_is_recoverable_by_adding_and_subtracting() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut suppressed = 0;
        for _round in 0..500 {
            // Two or three levels: regions of kistérségek, or one region.
            let regions = 1 + next() % 4;
            let mut leaves: Vec<(String, Cell)> = Vec::new();
            for r in 0..regions {
                for k in 0..1 + next() % 4 {
                    let n = 1 + next() % 5;
                    let data: Vec<f64> = (0..n)
                        .map(|i| {
                            if i == 0 && next() % 5 == 0 {
                                1_000.0
                            } else {
                                (1 + next() % 40) as f64
                            }
                        })
                        .collect();
                    let path = if regions == 1 {
                        format!("k{k}")
                    } else {
                        format!("r{r}/k{k}")
                    };
                    leaves.push((path.clone(), sum(&path, &data)));
                }
            }
            let borrowed: Vec<(&str, &Cell)> =
                leaves.iter().map(|(p, c)| (p.as_str(), c)).collect();
            let units = unit_statuses(&borrowed, &Rules::default());
            let children = |u: &str| -> Vec<String> {
                units
                    .keys()
                    .filter(|c| parent(c) == Some(u) && c.as_str() != u)
                    .cloned()
                    .collect()
            };
            let mut known: std::collections::BTreeSet<String> = units
                .iter()
                .filter(|(_, s)| s.status == Status::Free)
                .map(|(p, _)| p.clone())
                .collect();
            loop {
                let mut learned = Vec::new();
                for u in units.keys() {
                    let kids = children(u);
                    if kids.is_empty() {
                        continue;
                    }
                    let unknown: Vec<&String> =
                        kids.iter().filter(|k| !known.contains(*k)).collect();
                    if !known.contains(u) && unknown.is_empty() {
                        learned.push(u.clone());
                    }
                    if known.contains(u) && unknown.len() == 1 {
                        learned.push(unknown[0].clone());
                    }
                }
                learned.retain(|l| !known.contains(l));
                if learned.is_empty() {
                    break;
                }
                for l in learned {
                    let kids = children(&l);
                    let all_children_free =
                        !kids.is_empty() && kids.iter().all(|k| units[k].status == Status::Free);
                    assert!(
                        all_children_free,
                        "unit {l:?} ({:?}) became known: {units:#?}",
                        units[&l]
                    );
                    known.insert(l);
                }
            }
            suppressed += units
                .values()
                .filter(|u| u.status == Status::Secondary)
                .count();
        }
        assert!(suppressed > 50, "{suppressed}");
    }
}
