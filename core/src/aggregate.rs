//! The aggregate algebra shared by node and hub: what an aggregate asks
//! for ([`AggregateQuery`], [`GroupKey`]), the cells it answers with
//! ([`CellKey`], [`Cell`]) and the mergeable partial behind each cell's
//! value ([`Partial`]), totals ([`add_totals`]) and the whole-unit rules a
//! published answer is computed under ([`whole_units`],
//! [`retain_settlements`]).
//!
//! A node builds cells from its observations (`tudashalo-node`'s
//! `observations` module); a hub merges its members' cells with
//! [`Partial::merge`] and totals them with the same [`add_totals`]. Neither
//! decides here what may be published: every cell carries its exact
//! partial, and disclosure control belongs to [`crate::disclosure`]. This
//! module knows nothing of protobuf, sled or tantivy.
//!
//! ## Semantics
//!
//! - A cell groups the observations of one indicator by the grouped keys:
//!   settlement (the observation's), kisterseg (the node's name), region
//!   (always empty at a node; the hub fills it) and period. Keys that are not
//!   grouped are empty; a totals cell holds [`TOTAL`] in the totalled key.
//! - `n` counts the distinct settlements that contributed. A settlement
//!   contributes the sum of its rows in the cell (several periods when the
//!   period is not grouped); `top` keeps the two largest such contributions,
//!   for the dominance rule. `min` and `max` are taken over rows.
//! - `weighted_mean:W`: each row adds `value·w` to `sum` and `w` to
//!   `weight_sum`, with `w` the value of `W` for the same settlement and
//!   period. A row without a weight adds nothing but `missing_weight += 1`;
//!   such a cell has no value (it is never silently averaged over fewer
//!   rows).
//! - `none`: only when grouping by settlement; a cell has a value only if it
//!   holds one settlement whose rows all agree.
//! - Sums are plain `f64` additions: [`Partial::merge`] is exact (and so
//!   associative) for integer-valued data below 2⁵³; otherwise it agrees up
//!   to rounding.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::disclosure::Strictness;
use crate::error::{Error, Result};
use crate::fold::fold;
use crate::model::{Aggregation, Catalogue};

/// The value of a totalled key in a totals cell (SDMX's `_T`).
pub const TOTAL: &str = "_T";

/// What cells may be grouped by. The order is from finest geography to
/// period; [`AggregateQuery::finest_geography`] relies on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKey {
    Settlement,
    Kisterseg,
    Region,
    Period,
}

impl GroupKey {
    pub const ALL: [GroupKey; 4] = [
        GroupKey::Settlement,
        GroupKey::Kisterseg,
        GroupKey::Region,
        GroupKey::Period,
    ];

    /// The geographic keys, finest first.
    pub const GEOGRAPHY: [GroupKey; 3] =
        [GroupKey::Settlement, GroupKey::Kisterseg, GroupKey::Region];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupKey::Settlement => "settlement",
            GroupKey::Kisterseg => "kisterseg",
            GroupKey::Region => "region",
            GroupKey::Period => "period",
        }
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GroupKey {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let wanted = s.trim().to_lowercase();
        GroupKey::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| {
                let all: Vec<&str> = GroupKey::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown grouping {s:?} (expected one of {})",
                    all.join(", ")
                )
            })
    }
}

/// What to aggregate, and how to group it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AggregateQuery {
    pub indicators: Vec<String>,
    pub group_by: Vec<GroupKey>,
    /// Inclusive bounds on the period's year.
    pub period_from: Option<i32>,
    pub period_to: Option<i32>,
    /// Only these settlements (compared case- and accent-insensitively);
    /// empty = all.
    pub settlements: Vec<String>,
    /// Add totals over the finest grouped geographic key.
    pub totals: bool,
}

impl AggregateQuery {
    pub fn groups(&self, k: GroupKey) -> bool {
        self.group_by.contains(&k)
    }

    /// The finest grouped geographic key (settlement < kisterseg < region),
    /// or `None` if no geographic key is grouped.
    pub fn finest_geography(&self) -> Option<GroupKey> {
        GroupKey::GEOGRAPHY.into_iter().find(|&k| self.groups(k))
    }

    /// The requested indicator codes, trimmed and deduplicated.
    pub fn codes(&self) -> BTreeSet<&str> {
        self.indicators.iter().map(|c| c.trim()).collect()
    }
}

/// What a hub needs to combine cells exactly and to apply disclosure rules
/// to the combination. Mirrors `tudashalo.v1.Partial`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Partial {
    /// Σ value for sum, min, max and none; Σ value·W for weighted_mean.
    pub sum: f64,
    /// Σ W for weighted_mean.
    pub weight_sum: f64,
    /// Contributing settlements.
    pub n: u64,
    /// Over rows; +∞ in an empty partial.
    pub min: f64,
    /// Over rows; −∞ in an empty partial.
    pub max: f64,
    /// The two largest settlement contributions to `sum`, largest first.
    pub top: Vec<f64>,
    /// Rows whose weight was missing (weighted_mean only).
    pub missing_weight: u64,
    /// The strictest disclosure rules of the contributors (each node sets
    /// its own on the cells it answers with; merging keeps the stricter).
    pub rules: Strictness,
}

/// The weight of one row (see [`Partial::add_row`]).
#[derive(Debug, Clone, Copy)]
pub enum Weight {
    /// sum, min, max, none.
    Unweighted,
    Of(f64),
    Missing,
}

impl Partial {
    /// The neutral element of [`Partial::merge`].
    pub fn empty() -> Partial {
        Partial {
            sum: 0.0,
            weight_sum: 0.0,
            n: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            top: Vec::new(),
            missing_weight: 0,
            rules: Strictness::default(),
        }
    }

    /// Adds one settlement with one row of value `contribution`. `weight` is
    /// `None` for sum, min, max and none, and `Some(w)` for a weighted_mean
    /// row (which adds `contribution·w` to `sum` and `w` to `weight_sum`).
    /// A weighted_mean row without its weight: [`Partial::add_missing_weight`].
    pub fn add_settlement(&mut self, contribution: f64, weight: Option<f64>) {
        let weight = weight.map_or(Weight::Unweighted, Weight::Of);
        let mut one = Partial::empty();
        one.add_row(contribution, weight);
        self.merge(&one.settled());
    }

    /// Adds one settlement with one weighted_mean row whose weight is
    /// missing: it counts as a contributor and in `missing_weight`.
    pub fn add_missing_weight(&mut self, value: f64) {
        let mut one = Partial::empty();
        one.add_row(value, Weight::Missing);
        self.merge(&one.settled());
    }

    /// Adds one row to a single settlement's accumulator (`n` and `top` are
    /// set by [`Partial::merge_settled`] when the accumulator is merged).
    pub fn add_row(&mut self, value: f64, weight: Weight) {
        match weight {
            Weight::Unweighted => self.sum += value,
            Weight::Of(w) => {
                self.sum += value * w;
                self.weight_sum += w;
            }
            Weight::Missing => self.missing_weight += 1,
        }
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// A single settlement's accumulator as a partial of one contributor.
    fn settled(mut self) -> Partial {
        self.n = 1;
        self.top = vec![self.sum];
        self
    }

    /// Combines two partials of disjoint sets of settlements.
    pub fn merge(&mut self, other: &Partial) {
        let before = self.n;
        self.sum += other.sum;
        self.weight_sum += other.weight_sum;
        self.n += other.n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.top.extend_from_slice(&other.top);
        self.top.sort_by(|a, b| b.total_cmp(a));
        self.top.truncate(2);
        self.missing_weight += other.missing_weight;
        // An empty side has no data to be public or not; of two empty
        // sides, neither's flag may win by the order of the merge, and
        // `Partial::empty()` (not public) stays neutral: either says so.
        let public = match (before, other.n) {
            (0, 0) => self.rules.public_information || other.rules.public_information,
            (0, _) => other.rules.public_information,
            (_, 0) => self.rules.public_information,
            _ => self.rules.public_information && other.rules.public_information,
        };
        self.rules = self.rules.stricter(other.rules).with_public(public);
    }

    /// Merges one settlement's accumulator (built with [`Partial::add_row`])
    /// as a partial of one contributor, without allocating.
    pub fn merge_settled(&mut self, accumulator: &Partial) {
        self.sum += accumulator.sum;
        self.weight_sum += accumulator.weight_sum;
        self.n += 1;
        self.min = self.min.min(accumulator.min);
        self.max = self.max.max(accumulator.max);
        self.top.push(accumulator.sum);
        self.top.sort_by(|a, b| b.total_cmp(a));
        self.top.truncate(2);
        self.missing_weight += accumulator.missing_weight;
    }
}

/// A cell's coordinates. The field order is the sort order (the contract's
/// cell order). `""` = not grouped; [`TOTAL`] = totalled.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CellKey {
    pub indicator: String,
    pub period: String,
    pub region: String,
    pub kisterseg: String,
    pub settlement: String,
}

impl CellKey {
    /// The value of a geographic or period key.
    pub fn get(&self, k: GroupKey) -> &str {
        match k {
            GroupKey::Settlement => &self.settlement,
            GroupKey::Kisterseg => &self.kisterseg,
            GroupKey::Region => &self.region,
            GroupKey::Period => &self.period,
        }
    }

    /// Sets a geographic or period key.
    pub fn set(&mut self, k: GroupKey, value: &str) {
        let field = match k {
            GroupKey::Settlement => &mut self.settlement,
            GroupKey::Kisterseg => &mut self.kisterseg,
            GroupKey::Region => &mut self.region,
            GroupKey::Period => &mut self.period,
        };
        value.clone_into(field);
    }

    /// The finest geographic key that holds a value (a name or [`TOTAL`]).
    pub fn finest_geography(&self) -> Option<GroupKey> {
        GroupKey::GEOGRAPHY
            .into_iter()
            .find(|&k| !self.get(k).is_empty())
    }
}

/// One aggregated cell: its key and the partial behind its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub key: CellKey,
    pub unit: String,
    pub aggregation: Aggregation,
    pub partial: Partial,
}

impl Cell {
    /// The cell's value, or `None` when it has none: no contributor, a
    /// weighted mean with a missing weight or no weight at all, or a `none`
    /// indicator that is not one settlement's unambiguous value.
    pub fn value(&self) -> Option<f64> {
        let p = &self.partial;
        if p.n == 0 {
            return None;
        }
        match &self.aggregation {
            Aggregation::Sum => Some(p.sum),
            Aggregation::WeightedMean(_) => {
                (p.missing_weight == 0 && p.weight_sum != 0.0).then(|| p.sum / p.weight_sum)
            }
            Aggregation::Min => Some(p.min),
            Aggregation::Max => Some(p.max),
            Aggregation::None => (p.n == 1 && p.min == p.max).then_some(p.min),
        }
    }
}

/// Checks a query against the catalogue.
pub fn validate(query: &AggregateQuery, catalogue: &Catalogue) -> Result<()> {
    let codes = query.codes();
    if codes.is_empty() {
        return Err(Error::InvalidRequest(
            "no indicator requested: give at least one indicator code".into(),
        ));
    }
    for code in codes {
        let Some(indicator) = catalogue.get(code) else {
            return Err(Error::InvalidRequest(format!(
                "unknown indicator {code:?}: it is not in the catalogue"
            )));
        };
        if indicator.aggregation == Aggregation::None && !query.groups(GroupKey::Settlement) {
            return Err(Error::InvalidRequest(format!(
                "indicator {code:?} has aggregation none: it cannot be aggregated above settlement level; group by settlement"
            )));
        }
    }
    if let (Some(from), Some(to)) = (query.period_from, query.period_to)
        && from > to
    {
        return Err(Error::InvalidRequest(format!(
            "period_from {from} is after period_to {to}"
        )));
    }
    Ok(())
}

/// The query a published answer is computed from: the same cells, but whole
/// units only — grouped by period, and over every settlement (a
/// `settlements` filter then only chooses settlement cells, with
/// [`retain_settlements`]). See `disclosure`'s "Whole units".
pub fn whole_units(query: &AggregateQuery) -> AggregateQuery {
    let mut whole = query.clone();
    whole.settlements.clear();
    if !whole.groups(GroupKey::Period) {
        whole.group_by.push(GroupKey::Period);
    }
    whole
}

/// Keeps the settlement cells of `settlements` (compared case- and
/// accent-insensitively) and every coarser cell; empty keeps everything.
pub fn retain_settlements(cells: &mut Vec<Cell>, settlements: &[String]) {
    if let Some(chosen) = chosen_settlements(settlements) {
        cells.retain(|c| chosen(&c.key));
    }
}

/// Whether a cell is kept by a `settlements` filter: its settlement is one
/// of them, or it is a coarser cell. `None` when there is no filter.
pub fn chosen_settlements(settlements: &[String]) -> Option<impl Fn(&CellKey) -> bool> {
    if settlements.is_empty() {
        return None;
    }
    let wanted: BTreeSet<String> = settlements.iter().map(|s| fold(s)).collect();
    Some(move |key: &CellKey| {
        let s = &key.settlement;
        s.is_empty() || s == TOTAL || wanted.contains(&fold(s))
    })
}

/// Adds totals over the finest grouped geographic key, if the query asks for
/// them: for each indicator and combination of the other keys, one cell with
/// that key set to [`TOTAL`], merging the partials of the cells it totals.
/// Cells are then sorted by key.
///
/// Works on cells from anywhere (a hub calls it on the cells it merged from
/// its members). It is idempotent: totals cells already present for that key
/// are dropped and recomputed. Cells whose key is empty (a node's region) are
/// not totalled, nor are `none` indicators, which cannot be aggregated.
pub fn add_totals(cells: &mut Vec<Cell>, query: &AggregateQuery) {
    if !query.totals {
        return;
    }
    let Some(finest) = query.finest_geography() else {
        return;
    };
    cells.retain(|c| c.key.get(finest) != TOTAL);
    cells.sort_by(|a, b| a.key.cmp(&b.key));
    let mut totals: BTreeMap<CellKey, Cell> = BTreeMap::new();
    for cell in cells.iter() {
        if cell.aggregation == Aggregation::None || cell.key.get(finest).is_empty() {
            continue;
        }
        let mut key = cell.key.clone();
        key.set(finest, TOTAL);
        match totals.entry(key) {
            std::collections::btree_map::Entry::Occupied(mut e) => {
                e.get_mut().partial.merge(&cell.partial);
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                let key = e.key().clone();
                e.insert(Cell {
                    key,
                    unit: cell.unit.clone(),
                    aggregation: cell.aggregation.clone(),
                    partial: cell.partial.clone(),
                });
            }
        }
    }
    cells.extend(totals.into_values());
    cells.sort_by(|a, b| a.key.cmp(&b.key));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `aggregate_merge` fuzz target: two empty partials whose
    /// rules disagree on `public_information` merged to the second one's
    /// flag, so that the order of the members' answers decided it.
    #[test]
    fn merging_empty_partials_does_not_depend_on_their_order() {
        let mut public = Partial::empty();
        public.rules = public.rules.with_public(true);
        let private = Partial::empty();
        let mut one = Partial::empty();
        one.merge(&public);
        one.merge(&private);
        let mut other = Partial::empty();
        other.merge(&private);
        other.merge(&public);
        assert_eq!(one, other);
        assert!(one.rules.public_information);
        // And the empty partial is neutral, for an empty one too.
        let mut neutral = Partial::empty();
        neutral.merge(&public);
        assert_eq!(neutral, public);
        let mut direct = public.clone();
        direct.merge(&private);
        let mut reversed = private.clone();
        reversed.merge(&public);
        assert_eq!(direct, reversed);
        // With data on one side, that side's flag decides, in either order.
        let mut data = Partial::empty();
        data.add_settlement(5.0, None);
        data.rules = data.rules.with_public(true);
        let mut left = private.clone();
        left.merge(&data);
        let mut right = data.clone();
        right.merge(&private);
        assert_eq!(left, right);
        assert!(left.rules.public_information);
    }
}
