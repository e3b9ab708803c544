//! The aggregate merge's fuzzing entry point ([`merge`]): merge order must
//! not change a result.
//!
//! A hub combines its members' partials ([`Partial::merge`]) in the order
//! their answers arrive, which is the network's order, and totals and
//! kistérség leaves merge them again in key order; the published value and
//! status must not depend on either. One input is decoded (by hand, every
//! byte string is an input) into a few partials of one cell, as a member
//! sends them: each built as a node builds it (rows into a settlement's
//! accumulator, settlements merged), with disclosure rules of its own, and
//! sent through the protobuf cell and back ([`partial_cell`],
//! [`cell_from_pb`]). They are then merged from an empty partial in the
//! given order (as the hub does), in reverse, in an order the input
//! chooses, from the first partial (as totals do), as a right fold and as a
//! balanced tree, and every result must agree.
//!
//! What agreeing means is what [`tudashalo_core::aggregate`] promises:
//! exact equality of the whole partial (and so of the cell's value and
//! disclosure status) for integer-valued data below 2⁵³, which is what the
//! first mode decodes; for decimal data (the second mode) counts, minimum,
//! maximum, the two largest contributions, weight sums of integer weights
//! and rules are still exact, and the sums agree up to rounding (a bound of
//! rows × ε × Σ|terms|).
//!
//! Shared by the cargo-fuzz target `fuzz/fuzz_targets/aggregate_merge.rs`
//! and the workspace test `node/tests/import_corpus.rs` (corpus
//! `fuzz/corpus/aggregate_merge`, findings
//! `fuzz/regressions/aggregate_merge`).

use tudashalo_core::aggregate::{Cell, CellKey, Partial, Weight};
use tudashalo_core::disclosure::{self, Rules};
use tudashalo_core::model::Aggregation;
use tudashalo_core::pb::{cell_from_pb, partial_cell};

/// The most partials one input makes (members answering for one cell).
const MAX_PARTIALS: usize = 7;

/// The input, read a byte at a time; past its end every byte is 0.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// A signed 24-bit integer.
    fn int24(&mut self) -> i32 {
        let raw =
            i32::from(self.byte()) << 16 | i32::from(self.byte()) << 8 | i32::from(self.byte());
        raw - (1 << 23)
    }

    fn u16(&mut self) -> u16 {
        u16::from(self.byte()) << 8 | u16::from(self.byte())
    }
}

/// The decoded cell: its aggregation, whether its values are decimals, its
/// partials as the hub receives them, and Σ|terms| of the sums.
struct Decoded {
    aggregation: Aggregation,
    decimal: bool,
    partials: Vec<Partial>,
    abs_terms: f64,
    rows: usize,
}

fn decode(data: &[u8]) -> Decoded {
    let mut b = Bytes(data);
    let flags = b.byte();
    let decimal = flags & 1 != 0;
    let aggregation = match (flags >> 1) % 5 {
        0 => Aggregation::Sum,
        1 => Aggregation::WeightedMean("nepesseg".to_string()),
        2 => Aggregation::Min,
        3 => Aggregation::Max,
        _ => Aggregation::None,
    };
    let weighted = matches!(aggregation, Aggregation::WeightedMean(_));
    let count = 1 + usize::from(b.byte()) % MAX_PARTIALS;
    let mut partials = Vec::with_capacity(count);
    let mut abs_terms = 0.0;
    let mut rows = 0;
    for _ in 0..count {
        let mut partial = Partial::empty();
        let settlements = b.byte() % 5;
        for _ in 0..settlements {
            let mut accumulator = Partial::empty();
            for _ in 0..=(b.byte() % 3) {
                let raw = f64::from(b.int24());
                let value = if decimal {
                    // 12,5 or 3,14: a decimal comma's value.
                    raw / f64::from(10u32.pow(u32::from(b.byte() % 4)))
                } else {
                    raw
                };
                let weight = if !weighted {
                    abs_terms += value.abs();
                    Weight::Unweighted
                } else if b.byte() % 4 == 0 {
                    Weight::Missing
                } else {
                    let w = f64::from(b.u16());
                    abs_terms += (value * w).abs();
                    Weight::Of(w)
                };
                accumulator.add_row(value, weight);
                rows += 1;
            }
            partial.merge_settled(&accumulator);
        }
        let rules = b.byte();
        partial.rules.min_contributors = u64::from(rules % 8);
        partial.rules.max_small_count = f64::from(b.byte() % 8);
        partial.rules.dominance_k = f64::from(b.byte());
        partial.rules.public_information = rules & 0x80 != 0;
        partials.push(received(cell(&aggregation, partial)).partial);
    }
    Decoded {
        aggregation,
        decimal,
        partials,
        abs_terms,
        rows,
    }
}

fn cell(aggregation: &Aggregation, partial: Partial) -> Cell {
    Cell {
        key: CellKey {
            indicator: "nepesseg".to_string(),
            period: "2023".to_string(),
            kisterseg: "Edelényi".to_string(),
            ..CellKey::default()
        },
        unit: "fő".to_string(),
        aggregation: aggregation.clone(),
        partial,
    }
}

/// A cell as a hub receives it from a member: through the protobuf cell.
/// Panics if the protobuf cell cannot be read back, or if reading it back
/// again changes it (the rules are normalised once, on the way in).
#[allow(clippy::expect_used)]
fn received(cell: Cell) -> Cell {
    let once = cell_from_pb(partial_cell(cell, Vec::new(), Vec::new(), false))
        .expect("a member's own cell reads back")
        .cell;
    let twice = cell_from_pb(partial_cell(once.clone(), Vec::new(), Vec::new(), false))
        .expect("a member's own cell reads back")
        .cell;
    assert_eq!(once, twice, "reading a cell back is not idempotent");
    once
}

/// Merges `partials[order]` into an empty partial, one by one, as the hub
/// combines its members' answers.
fn from_empty(partials: &[Partial], order: &[usize]) -> Partial {
    let mut merged = Partial::empty();
    for &i in order {
        merged.merge(&partials[i]);
    }
    merged
}

/// Merges into the first partial of `order`, as totals and leaves do.
fn from_first(partials: &[Partial], order: &[usize]) -> Partial {
    let Some((&first, rest)) = order.split_first() else {
        return Partial::empty();
    };
    let mut merged = partials[first].clone();
    for &i in rest {
        merged.merge(&partials[i]);
    }
    merged
}

/// `p₀ ⊕ (p₁ ⊕ (p₂ ⊕ …))`.
fn right_fold(partials: &[Partial], order: &[usize]) -> Partial {
    let mut merged = Partial::empty();
    for &i in order.iter().rev() {
        let mut left = partials[i].clone();
        left.merge(&merged);
        merged = left;
    }
    merged
}

/// Pairs merged level by level.
fn tree(partials: &[Partial], order: &[usize]) -> Partial {
    let mut level: Vec<Partial> = order.iter().map(|&i| partials[i].clone()).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                let mut merged = pair[0].clone();
                if let Some(right) = pair.get(1) {
                    merged.merge(right);
                }
                merged
            })
            .collect();
    }
    level.pop().unwrap_or_else(Partial::empty)
}

/// Runs one input. Panics on a finding: two merge orders or groupings that
/// disagree beyond what the aggregate module promises.
pub fn merge(data: &[u8]) {
    let d = decode(data);
    let n = d.partials.len();
    let given: Vec<usize> = (0..n).collect();
    let reversed: Vec<usize> = (0..n).rev().collect();
    // An order the input chooses: a Fisher–Yates shuffle driven by the
    // input's bytes from the end.
    let mut chosen = given.clone();
    let mut tail = data.iter().rev();
    for i in (1..n).rev() {
        let j = usize::from(tail.next().copied().unwrap_or(0)) % (i + 1);
        chosen.swap(i, j);
    }
    let reference = from_empty(&d.partials, &given);
    let results = [
        ("reversed", from_empty(&d.partials, &reversed)),
        ("chosen order", from_empty(&d.partials, &chosen)),
        ("from the first", from_first(&d.partials, &given)),
        (
            "from the first, reversed",
            from_first(&d.partials, &reversed),
        ),
        ("right fold", right_fold(&d.partials, &chosen)),
        ("tree", tree(&d.partials, &given)),
        ("tree, chosen order", tree(&d.partials, &chosen)),
    ];
    let tolerance = 2.0 * (d.rows as f64 + 1.0) * f64::EPSILON * d.abs_terms;
    let reference_cell = cell(&d.aggregation, reference.clone());
    let reference_status = disclosure::primary(&reference_cell, &Rules::default());
    for (how, result) in results {
        if d.decimal {
            let exact = Partial {
                sum: reference.sum,
                ..result.clone()
            };
            assert_eq!(
                exact, reference,
                "{how}: merged differently (beyond the sum)"
            );
            assert!(
                (result.sum - reference.sum).abs() <= tolerance,
                "{how}: sum {} against {} (tolerance {tolerance})",
                result.sum,
                reference.sum
            );
            continue;
        }
        assert_eq!(result, reference, "{how}: merged differently");
        let merged = cell(&d.aggregation, result);
        assert_eq!(
            merged.value().map(f64::to_bits),
            reference_cell.value().map(f64::to_bits),
            "{how}: the cell's value differs"
        );
        assert_eq!(
            disclosure::primary(&merged, &Rules::default()),
            reference_status,
            "{how}: the cell's disclosure status differs"
        );
    }
}
