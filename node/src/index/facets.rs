//! Facets: counts of the matching records by kind, sector, settlement,
//! entity, programme, status, target group and year, collected from the
//! fast columns.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentReader};

use tudashalo_core::search::{Facet, FacetCount};

/// The facets of a search, in the order of their fast columns: the text
/// columns, then the year.
pub(super) const FACETS: [&str; 8] = [
    "kind",
    "sector",
    "settlement",
    "entity",
    "programme",
    "status",
    "target_group",
    "year",
];

/// The text columns of [`FACETS`].
const TEXT: usize = FACETS.len() - 1;

/// Facets answered only when they count something: those of the register.
/// Whether a facet is there then depends on its counts alone, so a hub's
/// merged facets equal one node's holding everything.
pub(super) const WHEN_COUNTED: [&str; 4] = ["entity", "programme", "status", "target_group"];

/// Value → number of matching records, per facet of [`FACETS`].
pub(super) type FacetFruit = [HashMap<String, u64>; FACETS.len()];

/// Counts the facets of every matching document from the fast columns: a
/// counter per term ordinal in each segment, turned into strings once at the
/// end. Broad queries match most documents, so this runs for nearly every
/// document of the node; tantivy's `FacetCollector` cost ~1 µs per document
/// and facet, this a few nanoseconds.
pub(super) struct FacetCounter;

pub(super) struct SegmentFacets {
    columns: [Option<tantivy::columnar::StrColumn>; TEXT],
    counts: [Vec<u64>; TEXT],
    year: Option<tantivy::columnar::Column<i64>>,
    years: HashMap<i64, u64>,
}

impl Collector for FacetCounter {
    type Fruit = FacetFruit;
    type Child = SegmentFacets;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let fast = segment.fast_fields();
        let mut columns: [Option<tantivy::columnar::StrColumn>; TEXT] = Default::default();
        for (column, name) in columns.iter_mut().zip(FACETS) {
            *column = fast.str(name)?;
        }
        let counts = std::array::from_fn(|i| {
            columns[i]
                .as_ref()
                .map_or_else(Vec::new, |c| vec![0; c.num_terms()])
        });
        Ok(SegmentFacets {
            columns,
            counts,
            year: fast.column_opt::<i64>(FACETS[TEXT])?,
            years: HashMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetFruit>) -> tantivy::Result<FacetFruit> {
        let mut merged = FacetFruit::default();
        for fruit in fruits {
            for (into, from) in merged.iter_mut().zip(fruit) {
                for (value, count) in from {
                    *into.entry(value).or_default() += count;
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: DocId, _: Score) {
        for (column, counts) in self.columns.iter().zip(self.counts.iter_mut()) {
            if let Some(column) = column {
                let mut last = None;
                for ord in column.term_ords(doc) {
                    // A value listed twice counts the document once.
                    if last != Some(ord)
                        && let Some(count) = counts.get_mut(ord as usize)
                    {
                        *count += 1;
                    }
                    last = Some(ord);
                }
            }
        }
        if let Some(year) = self.year.as_ref().and_then(|c| c.first(doc)) {
            *self.years.entry(year).or_default() += 1;
        }
    }

    fn harvest(self) -> FacetFruit {
        let mut fruit = FacetFruit::default();
        for ((column, counts), into) in self.columns.iter().zip(self.counts).zip(&mut fruit) {
            let Some(column) = column else { continue };
            for (ord, count) in counts.into_iter().enumerate() {
                let mut value = String::new();
                if count > 0 && column.ord_to_str(ord as u64, &mut value).unwrap_or(false) {
                    into.insert(value, count);
                }
            }
        }
        fruit[TEXT] = self
            .years
            .into_iter()
            .map(|(year, count)| (year.to_string(), count))
            .collect();
        fruit
    }
}

pub(super) fn facet(name: &str, counts: HashMap<String, u64>) -> Facet {
    let mut values: Vec<FacetCount> = counts
        .into_iter()
        .map(|(value, count)| FacetCount { value, count })
        .collect();
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    Facet {
        name: name.to_string(),
        values,
    }
}
