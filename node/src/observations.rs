//! The observation engine: a node's observations → cells of mergeable
//! partials (the algebra is `tudashalo_core::aggregate`).
//!
//! A node keeps its observations decoded, compactly ([`ObservationTable`]:
//! interned ids, one 24-byte row per observation), with its catalogue in a
//! [`Snapshot`] that [`SnapshotCache`] builds on the first aggregate and
//! rebuilds when the store's version of observations and catalogue changes
//! (`Store::observations_version`). Cells are grouped by integer keys;
//! strings are made only for the cells returned.
//!
//! It must not decide what may be published: every cell here carries its
//! exact partial, and disclosure control belongs to
//! `tudashalo_core::disclosure`. It knows nothing of protobuf.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use tudashalo_core::aggregate::{
    AggregateQuery, Cell, CellKey, GroupKey, Partial, Weight, validate,
};
use tudashalo_core::fold::fold;
use tudashalo_core::model::{Aggregation, Catalogue, Observation};

use crate::error::{Error, Result};

/// A period's year: its first four characters.
fn year(period: &str) -> Option<i32> {
    period.get(..4)?.parse().ok()
}

/// Aggregates a node's observations (in store order) into cells sorted by
/// key. Totals are not added here: see [`add_totals`].
///
/// Decodes the observations into an [`ObservationTable`] first; a caller
/// that aggregates repeatedly keeps the table ([`SnapshotCache`]) and calls
/// [`aggregate_table`].
pub fn aggregate(
    observations: impl Iterator<Item = Result<Observation>>,
    catalogue: &Catalogue,
    query: &AggregateQuery,
    kisterseg: &str,
) -> Result<Vec<Cell>> {
    validate(query, catalogue)?;
    let table = ObservationTable::build(observations)?;
    aggregate_table(&table, catalogue, query, kisterseg)
}

/// One observation, its strings replaced by ids into the table's sorted
/// lists.
#[derive(Debug, Clone, Copy)]
struct Row {
    indicator: u32,
    settlement: u32,
    period: u32,
    value: f64,
}

/// A node's observations, decoded once and held compactly: every indicator
/// code, settlement and period is stored once, and rows refer to them by
/// ids. The ids of each list follow the order of its strings, so comparing
/// ids compares the strings; rows are sorted by (indicator, settlement,
/// period), the store's order.
#[derive(Debug, Default)]
pub struct ObservationTable {
    indicators: Vec<String>,
    settlements: Vec<String>,
    periods: Vec<String>,
    /// The year of each period ([`year`]).
    years: Vec<Option<i32>>,
    rows: Vec<Row>,
    /// The rows of indicator `i` are `rows[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
}

/// Assigns ids to distinct strings, then renumbers them in string order.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, name: String) -> Result<u32> {
        if let Some(&id) = self.ids.get(&name) {
            return Ok(id);
        }
        let id = u32::try_from(self.names.len())
            .map_err(|_| Error::Internal("too many distinct observation keys".into()))?;
        self.names.push(name.clone());
        self.ids.insert(name, id);
        Ok(id)
    }

    /// The names in order, and each first-seen id's rank among them.
    fn sorted(self) -> (Vec<String>, Vec<u32>) {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        let mut names: Vec<Option<String>> = self.names.into_iter().map(Some).collect();
        let sorted = order
            .iter()
            .map(|&id| names[id as usize].take().unwrap_or_default())
            .collect();
        (sorted, rank)
    }
}

impl ObservationTable {
    /// Decodes observations (from the store, or anywhere: rows are sorted
    /// here, keeping the given order among rows with the same key).
    pub fn build(observations: impl Iterator<Item = Result<Observation>>) -> Result<Self> {
        let (mut indicators, mut settlements, mut periods) = (
            Interner::default(),
            Interner::default(),
            Interner::default(),
        );
        let mut rows = Vec::new();
        for observation in observations {
            let o = observation?;
            rows.push(Row {
                indicator: indicators.id(o.indicator)?,
                settlement: settlements.id(o.settlement)?,
                period: periods.id(o.period)?,
                value: o.value,
            });
        }
        let (indicators, indicator_rank) = indicators.sorted();
        let (settlements, settlement_rank) = settlements.sorted();
        let (periods, period_rank) = periods.sorted();
        for row in &mut rows {
            row.indicator = indicator_rank[row.indicator as usize];
            row.settlement = settlement_rank[row.settlement as usize];
            row.period = period_rank[row.period as usize];
        }
        // Stable: rows of equal keys keep their order, as the maps of
        // weights and accumulators they used to go through did.
        rows.sort_by_key(|r| (r.indicator, r.settlement, r.period));
        rows.shrink_to_fit();
        let mut starts = Vec::with_capacity(indicators.len() + 1);
        for i in 0..=indicators.len() {
            starts.push(rows.partition_point(|r| (r.indicator as usize) < i));
        }
        let years = periods.iter().map(|p| year(p)).collect();
        Ok(ObservationTable {
            indicators,
            settlements,
            periods,
            years,
            rows,
            starts,
        })
    }

    /// The number of observations.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows of an indicator, sorted by (settlement, period).
    fn rows_of(&self, code: &str) -> &[Row] {
        match self.indicators.binary_search_by(|c| c.as_str().cmp(code)) {
            Ok(i) => &self.rows[self.starts[i]..self.starts[i + 1]],
            Err(_) => &[],
        }
    }
}

/// The value of the last of `rows` (one indicator's, sorted by settlement
/// and period) for this settlement and period.
fn lookup(rows: &[Row], settlement: u32, period: u32) -> Option<f64> {
    let end = rows.partition_point(|r| (r.settlement, r.period) <= (settlement, period));
    rows[..end]
        .last()
        .filter(|r| r.settlement == settlement && r.period == period)
        .map(|r| r.value)
}

/// What a node aggregates: its observations and its catalogue, as of one
/// version of its store.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub table: ObservationTable,
    pub catalogue: Catalogue,
}

/// The node's [`Snapshot`], built on first use and rebuilt when the store's
/// version of its observations and catalogue changes. Empty until the first
/// aggregate, so an idle node does not hold its observations in memory.
#[derive(Debug, Default)]
pub struct SnapshotCache {
    slot: Mutex<Option<(u64, Arc<Snapshot>)>>,
}

impl SnapshotCache {
    /// The snapshot of `version`, built by `build` unless already held.
    /// `version` must be read before `build` reads the store, and the store
    /// must change its version after each write: a snapshot is then never
    /// kept under a version whose data it lacks.
    pub fn get(
        &self,
        version: u64,
        build: impl FnOnce() -> Result<Snapshot>,
    ) -> Result<Arc<Snapshot>> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((held, snapshot)) = slot.as_ref()
            && *held == version
        {
            return Ok(snapshot.clone());
        }
        // Not two snapshots at once.
        *slot = None;
        let snapshot = Arc::new(build()?);
        *slot = Some((version, snapshot.clone()));
        Ok(snapshot)
    }
}

/// Aggregates a table of observations into cells sorted by key, as
/// [`aggregate`] does.
///
/// The arithmetic is the same, in the same order: a settlement's rows are
/// added into its accumulator in (period) order, and a cell merges its
/// settlements' accumulators in settlement order.
pub fn aggregate_table(
    table: &ObservationTable,
    catalogue: &Catalogue,
    query: &AggregateQuery,
    kisterseg: &str,
) -> Result<Vec<Cell>> {
    validate(query, catalogue)?;
    let only: BTreeSet<String> = query.settlements.iter().map(|s| fold(s)).collect();
    // Folding every row is wasteful; fold each settlement name once.
    let mut admitted: Vec<Option<bool>> = vec![None; table.settlements.len()];
    let mut admits = |settlement: u32| {
        if only.is_empty() {
            return true;
        }
        *admitted[settlement as usize]
            .get_or_insert_with(|| only.contains(&fold(&table.settlements[settlement as usize])))
    };
    let any_years = query.period_from.is_some() || query.period_to.is_some();
    let in_years = |period: u32| {
        !any_years
            || table.years[period as usize].is_some_and(|y| {
                query.period_from.is_none_or(|from| y >= from)
                    && query.period_to.is_none_or(|to| y <= to)
            })
    };
    let by_period = query.groups(GroupKey::Period);
    let by_settlement = query.groups(GroupKey::Settlement);
    let kisterseg = if query.groups(GroupKey::Kisterseg) {
        kisterseg
    } else {
        ""
    };

    let mut cells = Vec::new();
    // One settlement's accumulators, by cell (period, settlement).
    let mut settled: Vec<((u32, u32), Partial)> = Vec::new();
    for code in query.codes() {
        let Some(indicator) = catalogue.get(code) else {
            continue; // validate() has checked every requested code
        };
        let weights = match &indicator.aggregation {
            Aggregation::WeightedMean(w) => Some(table.rows_of(w)),
            _ => None,
        };
        // Cell (period, settlement) → its partial; an ungrouped key is 0.
        let mut partials: BTreeMap<(u32, u32), Partial> = BTreeMap::new();
        for run in table
            .rows_of(code)
            .chunk_by(|a, b| a.settlement == b.settlement)
        {
            let settlement = run[0].settlement;
            if !admits(settlement) {
                continue;
            }
            for row in run {
                if !in_years(row.period) {
                    continue;
                }
                let weight = match weights {
                    None => Weight::Unweighted,
                    Some(w) => {
                        lookup(w, settlement, row.period).map_or(Weight::Missing, Weight::Of)
                    }
                };
                let key = (
                    if by_period { row.period } else { 0 },
                    if by_settlement { settlement } else { 0 },
                );
                // Periods are sorted within a settlement: equal keys are
                // adjacent.
                match settled.last_mut() {
                    Some((k, accumulator)) if *k == key => accumulator.add_row(row.value, weight),
                    _ => {
                        let mut accumulator = Partial::empty();
                        accumulator.add_row(row.value, weight);
                        settled.push((key, accumulator));
                    }
                }
            }
            for (key, accumulator) in settled.drain(..) {
                partials
                    .entry(key)
                    .or_insert_with(Partial::empty)
                    .merge_settled(&accumulator);
            }
        }
        cells.reserve(partials.len());
        for ((period, settlement), partial) in partials {
            cells.push(Cell {
                key: CellKey {
                    indicator: code.to_string(),
                    period: if by_period {
                        table.periods[period as usize].clone()
                    } else {
                        String::new()
                    },
                    // A node does not know its region; the hub fills it.
                    region: String::new(),
                    kisterseg: kisterseg.to_string(),
                    settlement: if by_settlement {
                        table.settlements[settlement as usize].clone()
                    } else {
                        String::new()
                    },
                },
                unit: indicator.unit.clone(),
                aggregation: indicator.aggregation.clone(),
                partial,
            });
        }
    }
    Ok(cells)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tudashalo_core::aggregate::{TOTAL, add_totals};
    use tudashalo_core::model::Indicator;

    fn indicator(code: &str, unit: &str, aggregation: Aggregation) -> (String, Indicator) {
        (
            code.to_string(),
            Indicator {
                code: code.to_string(),
                name: code.to_string(),
                unit: unit.to_string(),
                aggregation,
            },
        )
    }

    fn catalogue() -> Catalogue {
        [
            indicator("nepesseg", "fő", Aggregation::Sum),
            indicator(
                "rata",
                "%",
                Aggregation::WeightedMean("nepesseg".to_string()),
            ),
            indicator("legkisebb", "Ft", Aggregation::Min),
            indicator("legnagyobb", "Ft", Aggregation::Max),
            indicator("kod", "", Aggregation::None),
        ]
        .into_iter()
        .collect()
    }

    fn obs(indicator: &str, settlement: &str, period: &str, value: f64) -> Observation {
        Observation {
            indicator: indicator.to_string(),
            settlement: settlement.to_string(),
            period: period.to_string(),
            value,
            unit: String::new(),
        }
    }

    /// In store order (indicator, settlement, period).
    fn fixture() -> Vec<Observation> {
        let mut rows = vec![
            obs("kod", "Abod", "2020", 7.0),
            obs("kod", "Abod", "2021", 8.0),
            obs("kod", "Balajt", "2020", 3.0),
            obs("legkisebb", "Abod", "2020", 3.0),
            obs("legkisebb", "Abod", "2021", 1.0),
            obs("legkisebb", "Balajt", "2020", 5.0),
            obs("legnagyobb", "Abod", "2020", 3.0),
            obs("legnagyobb", "Abod", "2021", 1.0),
            obs("legnagyobb", "Balajt", "2020", 5.0),
            obs("nepesseg", "Abod", "2020", 100.0),
            obs("nepesseg", "Abod", "2021", 110.0),
            obs("nepesseg", "Balajt", "2020", 200.0),
            obs("nepesseg", "Balajt", "2021", 190.0),
            obs("nepesseg", "Edelény", "2020", 1000.0),
            obs("nepesseg", "Edelény", "2021", 990.0),
            obs("nepesseg", "Ládbesenyő", "2020", 50.0),
            obs("nepesseg", "Ládbesenyő", "2021", 55.0),
            obs("rata", "Abod", "2020", 10.0),
            obs("rata", "Abod", "2021", 8.0),
            obs("rata", "Balajt", "2020", 5.0),
            obs("rata", "Balajt", "2021", 6.0),
            obs("rata", "Edelény", "2020", 4.0),
            obs("rata", "Ládbesenyő", "2020", 20.0),
            // No population for Szendrő: a missing weight.
            obs("rata", "Szendrő", "2020", 7.0),
        ];
        rows.sort_by_key(|o| o.key());
        rows
    }

    fn run(rows: &[Observation], query: &AggregateQuery) -> Result<Vec<Cell>> {
        aggregate(
            rows.iter().cloned().map(Ok),
            &catalogue(),
            query,
            "edelenyi",
        )
    }

    fn query(indicators: &[&str], by: &[GroupKey]) -> AggregateQuery {
        AggregateQuery {
            indicators: indicators.iter().map(|s| s.to_string()).collect(),
            group_by: by.to_vec(),
            ..AggregateQuery::default()
        }
    }

    fn find<'a>(cells: &'a [Cell], period: &str, settlement: &str) -> &'a Cell {
        cells
            .iter()
            .find(|c| c.key.period == period && c.key.settlement == settlement)
            .unwrap()
    }

    #[test]
    fn group_keys_parse_and_list_the_choices() {
        for k in GroupKey::ALL {
            assert_eq!(k.as_str().parse::<GroupKey>().unwrap(), k);
        }
        assert_eq!(" Period ".parse::<GroupKey>().unwrap(), GroupKey::Period);
        let e = "megye".parse::<GroupKey>().unwrap_err();
        assert!(e.contains("megye"), "{e}");
        assert!(e.contains("settlement, kisterseg, region, period"), "{e}");
    }

    #[test]
    fn finest_geography_prefers_settlement_then_kisterseg_then_region() {
        use GroupKey::*;
        assert_eq!(query(&[], &[Period]).finest_geography(), None);
        assert_eq!(
            query(&[], &[Region, Period]).finest_geography(),
            Some(Region)
        );
        assert_eq!(
            query(&[], &[Region, Kisterseg]).finest_geography(),
            Some(Kisterseg)
        );
        assert_eq!(
            query(&[], &[Kisterseg, Settlement, Region]).finest_geography(),
            Some(Settlement)
        );
    }

    #[test]
    fn sums_by_period_match_the_hand_computed_values() {
        let cells = run(&fixture(), &query(&["nepesseg"], &[GroupKey::Period])).unwrap();
        assert_eq!(cells.len(), 2);
        let c2020 = find(&cells, "2020", "");
        // 100 + 200 + 1000 + 50
        assert_eq!(c2020.value(), Some(1350.0));
        assert_eq!(c2020.partial.n, 4);
        assert_eq!(c2020.partial.top, vec![1000.0, 200.0]);
        assert_eq!(c2020.unit, "fő");
        assert_eq!(c2020.key.kisterseg, "");
        // 110 + 190 + 990 + 55
        assert_eq!(find(&cells, "2021", "").value(), Some(1345.0));
    }

    #[test]
    fn n_counts_distinct_settlements_across_periods() {
        let cells = run(&fixture(), &query(&["nepesseg"], &[GroupKey::Kisterseg])).unwrap();
        assert_eq!(cells.len(), 1);
        let cell = &cells[0];
        assert_eq!(cell.key.kisterseg, "edelenyi");
        assert_eq!(cell.key.period, "");
        assert_eq!(cell.value(), Some(2695.0));
        assert_eq!(cell.partial.n, 4, "four settlements, eight rows");
        // A settlement's contribution is its sum over the periods.
        assert_eq!(cell.partial.top, vec![1990.0, 390.0]);
        // min and max are over rows.
        assert_eq!(cell.partial.min, 50.0);
        assert_eq!(cell.partial.max, 1000.0);
    }

    #[test]
    fn weighted_means_match_the_hand_computed_values() {
        let mut q = query(&["rata"], &[GroupKey::Period]);
        // Case and accents do not matter; Szendrő (no weight) is left out.
        q.settlements = vec![
            "abod".into(),
            "BALAJT".into(),
            "ladbesenyo".into(),
            "Edeleny".into(),
        ];
        let cells = run(&fixture(), &q).unwrap();
        let c2020 = find(&cells, "2020", "");
        // (10·100 + 5·200 + 4·1000 + 20·50) / (100 + 200 + 1000 + 50)
        assert_eq!(c2020.partial.sum, 7000.0);
        assert_eq!(c2020.partial.weight_sum, 1350.0);
        assert_eq!(c2020.value(), Some(7000.0 / 1350.0));
        assert_eq!(c2020.partial.n, 4);
        assert_eq!(c2020.partial.missing_weight, 0);
        // (8·110 + 6·190) / (110 + 190)
        let c2021 = find(&cells, "2021", "");
        assert_eq!(c2021.value(), Some(2020.0 / 300.0));
        assert_eq!(c2021.partial.n, 2);
        assert_eq!(c2021.aggregation.to_string(), "weighted_mean:nepesseg");
    }

    #[test]
    fn a_missing_weight_is_counted_and_leaves_no_value() {
        let cells = run(&fixture(), &query(&["rata"], &[GroupKey::Period])).unwrap();
        let c2020 = find(&cells, "2020", "");
        assert_eq!(c2020.partial.missing_weight, 1);
        assert_eq!(c2020.partial.n, 5, "Szendrő contributed a row");
        assert_eq!(c2020.partial.sum, 7000.0);
        assert_eq!(c2020.value(), None);
        // 2021 has every weight.
        assert_eq!(find(&cells, "2021", "").partial.missing_weight, 0);
        assert!(find(&cells, "2021", "").value().is_some());
        // By settlement: only Szendrő's cell lacks a value.
        let cells = run(
            &fixture(),
            &query(&["rata"], &[GroupKey::Settlement, GroupKey::Period]),
        )
        .unwrap();
        assert_eq!(find(&cells, "2020", "Szendrő").value(), None);
        assert_eq!(find(&cells, "2020", "Abod").value(), Some(10.0));
    }

    #[test]
    fn min_and_max_are_over_rows() {
        let cells = run(&fixture(), &query(&["legkisebb", "legnagyobb"], &[])).unwrap();
        assert_eq!(cells.len(), 2);
        let min = cells
            .iter()
            .find(|c| c.key.indicator == "legkisebb")
            .unwrap();
        let max = cells
            .iter()
            .find(|c| c.key.indicator == "legnagyobb")
            .unwrap();
        assert_eq!(min.value(), Some(1.0));
        assert_eq!(max.value(), Some(5.0));
        assert_eq!(min.partial.n, 2);
        assert_eq!(max.partial.sum, 9.0, "the sum is kept too");
        let by_period = run(&fixture(), &query(&["legnagyobb"], &[GroupKey::Period])).unwrap();
        assert_eq!(find(&by_period, "2020", "").value(), Some(5.0));
        assert_eq!(find(&by_period, "2021", "").value(), Some(1.0));
    }

    #[test]
    fn none_is_refused_above_settlement_level() {
        let e = run(&fixture(), &query(&["kod"], &[GroupKey::Period])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid request: indicator \"kod\" has aggregation none: it cannot be aggregated above settlement level; group by settlement"
        );
        assert!(matches!(e, Error::InvalidRequest(_)));
        let cells = run(
            &fixture(),
            &query(&["kod"], &[GroupKey::Settlement, GroupKey::Period]),
        )
        .unwrap();
        assert_eq!(find(&cells, "2020", "Abod").value(), Some(7.0));
        assert_eq!(find(&cells, "2020", "Balajt").value(), Some(3.0));
        // By settlement but over two periods that disagree: no value.
        let cells = run(&fixture(), &query(&["kod"], &[GroupKey::Settlement])).unwrap();
        assert_eq!(find(&cells, "", "Abod").value(), None);
        assert_eq!(find(&cells, "", "Balajt").value(), Some(3.0));
    }

    #[test]
    fn bad_queries_are_refused() {
        let e = run(&fixture(), &query(&[], &[])).unwrap_err();
        assert!(matches!(e, Error::InvalidRequest(_)), "{e}");
        let e = run(&fixture(), &query(&["nepesseg", "gdp"], &[])).unwrap_err();
        assert!(matches!(e, Error::InvalidRequest(_)));
        assert!(e.to_string().contains("\"gdp\""), "{e}");
        let mut q = query(&["nepesseg"], &[]);
        q.period_from = Some(2022);
        q.period_to = Some(2020);
        let e = run(&fixture(), &q).unwrap_err();
        assert!(e.to_string().contains("2022"), "{e}");
    }

    #[test]
    fn period_and_settlement_filters() {
        let mut q = query(&["nepesseg"], &[GroupKey::Settlement, GroupKey::Period]);
        q.period_from = Some(2021);
        q.settlements = vec!["EDELENY".into(), "Abod".into()];
        let cells = run(&fixture(), &q).unwrap();
        let keys: Vec<(&str, &str)> = cells
            .iter()
            .map(|c| (c.key.period.as_str(), c.key.settlement.as_str()))
            .collect();
        assert_eq!(keys, vec![("2021", "Abod"), ("2021", "Edelény")]);
        q.period_from = None;
        q.period_to = Some(2020);
        let cells = run(&fixture(), &q).unwrap();
        assert!(cells.iter().all(|c| c.key.period == "2020"));
        assert_eq!(cells.len(), 2);
    }

    #[test]
    fn cells_are_sorted_by_key() {
        let cells = run(
            &fixture(),
            &query(
                &["rata", "nepesseg"],
                &[GroupKey::Settlement, GroupKey::Period, GroupKey::Kisterseg],
            ),
        )
        .unwrap();
        assert!(cells.windows(2).all(|w| w[0].key < w[1].key));
        assert_eq!(cells[0].key.indicator, "nepesseg");
        assert!(cells.iter().all(|c| c.key.kisterseg == "edelenyi"));
    }

    fn partial(contributions: &[f64]) -> Partial {
        let mut p = Partial::empty();
        for &c in contributions {
            p.add_settlement(c, None);
        }
        p
    }

    #[test]
    fn merge_is_associative_with_empty_as_identity() {
        let a = partial(&[3.0, 9.0]);
        let b = partial(&[4.0]);
        let mut c = Partial::empty();
        c.add_settlement(2.0, Some(5.0));
        c.add_missing_weight(1.0);
        let mut left = a.clone();
        left.merge(&b);
        left.merge(&c);
        let mut bc = b.clone();
        bc.merge(&c);
        let mut right = a.clone();
        right.merge(&bc);
        assert_eq!(left, right);
        assert_eq!(left.n, 5);
        assert_eq!(left.top, vec![10.0, 9.0]);
        assert_eq!(left.missing_weight, 1);
        assert_eq!(left.weight_sum, 5.0);
        assert_eq!(left.min, 1.0);
        assert_eq!(left.max, 9.0);
        let mut e = a.clone();
        e.merge(&Partial::empty());
        assert_eq!(e, a);
        let mut e = Partial::empty();
        e.merge(&a);
        assert_eq!(e, a);
    }

    #[test]
    fn merging_two_nodes_equals_aggregating_their_union() {
        let rows = fixture();
        let (one, two): (Vec<Observation>, Vec<Observation>) = rows
            .iter()
            .cloned()
            .partition(|o| o.settlement == "Abod" || o.settlement == "Edelény");
        let q = query(
            &["nepesseg", "rata", "legkisebb", "legnagyobb"],
            &[GroupKey::Period],
        );
        let mut merged: BTreeMap<CellKey, Cell> = BTreeMap::new();
        for cell in run(&one, &q)
            .unwrap()
            .into_iter()
            .chain(run(&two, &q).unwrap())
        {
            match merged.get_mut(&cell.key) {
                Some(m) => m.partial.merge(&cell.partial),
                None => {
                    merged.insert(cell.key.clone(), cell);
                }
            }
        }
        let merged: Vec<Cell> = merged.into_values().collect();
        assert_eq!(merged, run(&rows, &q).unwrap());
    }

    #[test]
    fn totals_over_settlements_per_period() {
        let mut q = query(
            &["nepesseg", "kod"],
            &[GroupKey::Settlement, GroupKey::Period],
        );
        q.totals = true;
        let mut cells = run(&fixture(), &q).unwrap();
        assert!(
            cells.iter().all(|c| c.key.settlement != TOTAL),
            "not in aggregate()"
        );
        add_totals(&mut cells, &q);
        let totals: Vec<&Cell> = cells.iter().filter(|c| c.key.settlement == TOTAL).collect();
        assert_eq!(totals.len(), 2, "per period, and none for `kod`");
        let t2020 = find(&cells, "2020", TOTAL);
        assert_eq!(t2020.value(), Some(1350.0));
        assert_eq!(t2020.partial.n, 4);
        assert_eq!(t2020.partial.top, vec![1000.0, 200.0]);
        assert_eq!(find(&cells, "2021", TOTAL).value(), Some(1345.0));
        assert!(cells.windows(2).all(|w| w[0].key < w[1].key));
        // Idempotent: a second call recomputes rather than double counts.
        let before = cells.clone();
        add_totals(&mut cells, &q);
        assert_eq!(cells, before);
        // The total equals the aggregate without settlement grouping.
        let whole = run(&fixture(), &query(&["nepesseg"], &[GroupKey::Period])).unwrap();
        assert_eq!(
            find(&cells, "2020", TOTAL).partial,
            find(&whole, "2020", "").partial
        );
    }

    #[test]
    fn totals_on_cells_from_elsewhere_and_only_when_asked() {
        // As at a hub: kistérség cells with their regions filled in.
        let cell = |region: &str, kisterseg: &str, contributions: &[f64]| Cell {
            key: CellKey {
                indicator: "nepesseg".into(),
                period: "2020".into(),
                region: region.into(),
                kisterseg: kisterseg.into(),
                settlement: String::new(),
            },
            unit: "fő".into(),
            aggregation: Aggregation::Sum,
            partial: partial(contributions),
        };
        let mut cells = vec![
            cell("eszak", "edelenyi", &[1.0, 2.0]),
            cell("del", "kisteleki", &[5.0]),
            cell("eszak", "encsi", &[4.0, 8.0]),
        ];
        let mut q = query(&["nepesseg"], &[GroupKey::Region, GroupKey::Kisterseg]);
        add_totals(&mut cells, &q);
        assert_eq!(cells.len(), 3, "totals not asked for");
        q.totals = true;
        add_totals(&mut cells, &q);
        let kisterseg: Vec<(&str, &str, Option<f64>, u64)> = cells
            .iter()
            .map(|c| {
                (
                    c.key.region.as_str(),
                    c.key.kisterseg.as_str(),
                    c.value(),
                    c.partial.n,
                )
            })
            .collect();
        assert_eq!(
            kisterseg,
            vec![
                ("del", "_T", Some(5.0), 1),
                ("del", "kisteleki", Some(5.0), 1),
                ("eszak", "_T", Some(15.0), 4),
                ("eszak", "edelenyi", Some(3.0), 2),
                ("eszak", "encsi", Some(12.0), 2),
            ]
        );
        assert_eq!(cells[2].partial.top, vec![8.0, 4.0]);
    }

    /// The aggregation as it was before [`ObservationTable`]: the results
    /// must stay identical, to the bit.
    fn reference(
        observations: impl Iterator<Item = Result<Observation>>,
        catalogue: &Catalogue,
        query: &AggregateQuery,
        kisterseg: &str,
    ) -> Result<Vec<Cell>> {
        validate(query, catalogue)?;
        let codes = query.codes();
        let weight_codes: BTreeSet<&str> = codes
            .iter()
            .filter_map(|c| match catalogue.get(*c).map(|i| &i.aggregation) {
                Some(Aggregation::WeightedMean(w)) => Some(w.as_str()),
                _ => None,
            })
            .collect();
        let only: BTreeSet<String> = query.settlements.iter().map(|s| fold(s)).collect();
        // Folding every row is wasteful; fold each settlement name once.
        let mut admitted: HashMap<String, bool> = HashMap::new();
        let in_years = |period: &str| {
            if query.period_from.is_none() && query.period_to.is_none() {
                return true;
            }
            year(period).is_some_and(|y| {
                query.period_from.is_none_or(|from| y >= from)
                    && query.period_to.is_none_or(|to| y <= to)
            })
        };

        // One pass: the requested rows, and the weights they may need (the store
        // is sorted by indicator, so a weight may come after its indicator).
        let mut rows: Vec<Observation> = Vec::new();
        // weight code → settlement → period → weight
        let mut weights: HashMap<String, HashMap<String, HashMap<String, f64>>> = HashMap::new();
        for observation in observations {
            let observation = observation?;
            let wanted = codes.contains(observation.indicator.as_str());
            let weight = weight_codes.contains(observation.indicator.as_str());
            if !wanted && !weight {
                continue;
            }
            if !only.is_empty() {
                let ok = *admitted
                    .entry(observation.settlement.clone())
                    .or_insert_with(|| only.contains(&fold(&observation.settlement)));
                if !ok {
                    continue;
                }
            }
            if weight {
                weights
                    .entry(observation.indicator.clone())
                    .or_default()
                    .entry(observation.settlement.clone())
                    .or_default()
                    .insert(observation.period.clone(), observation.value);
            }
            if wanted && in_years(&observation.period) {
                rows.push(observation);
            }
        }

        // Cell → settlement → that settlement's accumulator.
        let mut accumulators: BTreeMap<CellKey, BTreeMap<String, Partial>> = BTreeMap::new();
        let grouped = |k: GroupKey, value: &str| {
            if query.groups(k) {
                value.to_string()
            } else {
                String::new()
            }
        };
        for row in rows {
            let Some(indicator) = catalogue.get(&row.indicator) else {
                continue; // validate() has checked every requested code
            };
            let weight = match &indicator.aggregation {
                Aggregation::WeightedMean(w) => weights
                    .get(w)
                    .and_then(|s| s.get(&row.settlement))
                    .and_then(|p| p.get(&row.period))
                    .map_or(Weight::Missing, |&w| Weight::Of(w)),
                _ => Weight::Unweighted,
            };
            let key = CellKey {
                indicator: row.indicator.clone(),
                period: grouped(GroupKey::Period, &row.period),
                // A node does not know its region; the hub fills it.
                region: String::new(),
                kisterseg: grouped(GroupKey::Kisterseg, kisterseg),
                settlement: grouped(GroupKey::Settlement, &row.settlement),
            };
            accumulators
                .entry(key)
                .or_default()
                .entry(row.settlement)
                .or_insert_with(Partial::empty)
                .add_row(row.value, weight);
        }

        let mut cells = Vec::with_capacity(accumulators.len());
        for (key, settlements) in accumulators {
            let Some(indicator) = catalogue.get(&key.indicator) else {
                continue;
            };
            let mut partial = Partial::empty();
            for accumulator in settlements.into_values() {
                partial.merge_settled(&accumulator);
            }
            cells.push(Cell {
                key,
                unit: indicator.unit.clone(),
                aggregation: indicator.aggregation.clone(),
                partial,
            });
        }
        Ok(cells)
    }

    /// A deterministic pseudo-random sequence (xorshift64).
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Observations with fractional values, gaps (missing weights), and
    /// periods of several forms, in store order.
    fn random_rows(seed: u64) -> Vec<Observation> {
        let mut random = Random(seed);
        let settlements = [
            "Abod",
            "Balajt",
            "Edelény",
            "Ládbesenyő",
            "Szendrő",
            "Zubogy",
            "abod",
        ];
        let periods = ["2019", "2020", "2020-Q1", "2020-03", "2021", "x"];
        let mut rows = Vec::new();
        for indicator in ["kod", "legkisebb", "legnagyobb", "nepesseg", "rata"] {
            for settlement in settlements {
                for period in periods {
                    if random.below(4) == 0 {
                        continue;
                    }
                    let value = (random.next() % 100_000) as f64 / 7.0 - 3000.0;
                    rows.push(obs(indicator, settlement, period, value));
                }
            }
        }
        rows.sort_by_key(|o| o.key());
        rows
    }

    #[test]
    fn the_table_aggregates_exactly_as_before() {
        use GroupKey::*;
        let groupings: [&[GroupKey]; 7] = [
            &[],
            &[Period],
            &[Kisterseg],
            &[Kisterseg, Period],
            &[Settlement],
            &[Settlement, Period],
            &[Region, Kisterseg, Period],
        ];
        let catalogue = catalogue();
        let mut compared = 0;
        for seed in 1..=20u64 {
            let rows = random_rows(seed);
            let table = ObservationTable::build(rows.iter().cloned().map(Ok)).unwrap();
            assert_eq!(table.len(), rows.len());
            for by in groupings {
                for indicators in [
                    &["nepesseg", "rata", "legkisebb", "legnagyobb"][..],
                    &["rata"],
                    &[" nepesseg ", "nepesseg", "kod"],
                ] {
                    for (from, to) in [(None, None), (Some(2020), None), (None, Some(2020))] {
                        for settlements in [vec![], vec!["ABOD".to_string(), "szendro".into()]] {
                            let q = AggregateQuery {
                                indicators: indicators.iter().map(|s| s.to_string()).collect(),
                                group_by: by.to_vec(),
                                period_from: from,
                                period_to: to,
                                settlements,
                                totals: false,
                            };
                            let before =
                                reference(rows.iter().cloned().map(Ok), &catalogue, &q, "edelenyi");
                            let after = aggregate_table(&table, &catalogue, &q, "edelenyi");
                            match (before, after) {
                                (Ok(before), Ok(after)) => {
                                    // Bit for bit, -0.0 and NaN included.
                                    assert_eq!(
                                        format!("{before:?}"),
                                        format!("{after:?}"),
                                        "{q:?}"
                                    );
                                    assert_eq!(before, after);
                                    compared += before.len();
                                }
                                (Err(before), Err(after)) => {
                                    assert_eq!(before.to_string(), after.to_string())
                                }
                                (before, after) => panic!("{q:?}: {before:?} / {after:?}"),
                            }
                        }
                    }
                }
            }
        }
        assert!(compared > 10_000, "{compared}");
    }

    #[test]
    fn rows_in_any_order_aggregate_as_in_store_order() {
        let rows = random_rows(7);
        let mut shuffled = rows.clone();
        shuffled.reverse();
        let q = query(&["nepesseg", "rata"], &[GroupKey::Settlement]);
        assert_eq!(
            run(&shuffled, &q).unwrap(),
            reference(rows.iter().cloned().map(Ok), &catalogue(), &q, "edelenyi").unwrap()
        );
    }

    #[test]
    fn a_snapshot_is_kept_while_its_version_holds() {
        let cache = SnapshotCache::default();
        let built = std::cell::Cell::new(0);
        let build = || {
            built.set(built.get() + 1);
            Ok(Snapshot {
                table: ObservationTable::build(fixture().into_iter().map(Ok))?,
                catalogue: catalogue(),
            })
        };
        let first = cache.get(1, build).unwrap();
        assert_eq!(first.table.len(), fixture().len());
        let again = cache.get(1, build).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(built.get(), 1);
        let next = cache.get(2, build).unwrap();
        assert!(!Arc::ptr_eq(&first, &next));
        assert_eq!(built.get(), 2);
        // A failed build keeps nothing.
        let failed = cache.get(3, || Err(Error::Corrupt("observation: bad".into())));
        assert!(failed.is_err());
        cache.get(2, build).unwrap();
        assert_eq!(built.get(), 3);
    }

    fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_node_sees_its_new_observations_and_catalogue_at_once() {
        use crate::node::{ImportOptions, Node};
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Node::init(&data, "edelenyi", None).unwrap();
        let node = Node::open(&data).unwrap();
        let import = |name: &str, text: &str| {
            let path = write(dir.path(), name, text);
            node.import_file(&path, &ImportOptions::default(), &|_| {})
                .unwrap();
        };
        import(
            "catalogue.csv",
            "code,name,unit,aggregation\nnepesseg,Lakónépesség,fő,sum\n",
        );
        import(
            "obs1.csv",
            "Mutató;Település;Időszak;Érték;Mértékegység\n\
             nepesseg;Abod;2020;100;fő\nnepesseg;Balajt;2020;200;fő\n",
        );
        let q = query(&["nepesseg"], &[GroupKey::Kisterseg]);
        let cells = node.aggregate(&q).unwrap();
        assert_eq!(cells.len(), 1);
        assert_eq!(cells[0].value(), Some(300.0));
        assert_eq!(cells[0].unit, "fő");
        // The same again, from the snapshot.
        assert_eq!(node.aggregate(&q).unwrap(), cells);

        // New and changed observations.
        import(
            "obs2.csv",
            "Mutató;Település;Időszak;Érték;Mértékegység\n\
             nepesseg;Abod;2020;150;fő\nnepesseg;Edelény;2020;1000;fő\n",
        );
        let cells = node.aggregate(&q).unwrap();
        assert_eq!(cells[0].value(), Some(1350.0));
        assert_eq!(cells[0].partial.n, 3);

        // A changed catalogue entry and a new indicator.
        import(
            "catalogue2.csv",
            "code,name,unit,aggregation\nnepesseg,Lakónépesség,fő,max\nrata,Arány,%,weighted_mean:nepesseg\n",
        );
        let cells = node.aggregate(&q).unwrap();
        assert_eq!(cells[0].aggregation, Aggregation::Max);
        assert_eq!(cells[0].value(), Some(1000.0));
        import(
            "obs3.csv",
            "Mutató;Település;Időszak;Érték;Mértékegység\nrata;Abod;2020;10;%\nrata;Edelény;2020;4;%\n",
        );
        let cells = node
            .aggregate(&query(&["rata"], &[GroupKey::Kisterseg]))
            .unwrap();
        assert_eq!(
            cells[0].value(),
            Some((10.0 * 150.0 + 4.0 * 1000.0) / 1150.0)
        );
    }
}
