//! The CSV importers' fuzzing entry point ([`csv`]): one input is the bytes
//! of a `.csv` file, read as every importer of CSV tables reads it —
//! observations, the indicator catalogue and each of the register's tables
//! — in each encoding `--encoding` allows.
//!
//! Shared by the cargo-fuzz target `fuzz/fuzz_targets/import_csv.rs` and
//! the workspace test `node/tests/import_corpus.rs`, which replays the
//! corpus (`fuzz/corpus/import_csv`) and past findings
//! (`fuzz/regressions/import_csv`) on stable. Operators' spreadsheet
//! exports are the node's least trusted input, so the importers must never
//! panic, and every rejected row must name the file and a line the file
//! has ([`super::check_rejections`]). Nothing is written anywhere.

use std::collections::BTreeMap;

use super::{KnowsLittle, check_lines, check_rejections, line_count};
use crate::import::register;
use crate::import::{Encoding, table};
use tudashalo_core::model::{Aggregation, Catalogue, Indicator};

/// The label rejections must name.
pub const CSV_LABEL: &str = "adatok.csv";

/// A small catalogue: a sum, a weighted mean with its weight, a minimum and
/// an indicator that cannot be aggregated, so that observation rows pass
/// or fail every check.
fn catalogue() -> Catalogue {
    let entry = |code: &str, name: &str, unit: &str, aggregation: Aggregation| {
        (
            code.to_string(),
            Indicator {
                code: code.to_string(),
                name: name.to_string(),
                unit: unit.to_string(),
                aggregation,
            },
        )
    };
    BTreeMap::from([
        entry("nepesseg", "Lakónépesség", "fő", Aggregation::Sum),
        entry(
            "munkanelkuliseg",
            "Munkanélküliségi ráta",
            "%",
            Aggregation::WeightedMean("nepesseg".to_string()),
        ),
        entry(
            "legkisebb_jov",
            "Legkisebb jövedelem",
            "Ft",
            Aggregation::Min,
        ),
        entry("kod", "Településkód", "", Aggregation::None),
    ])
}

/// Runs one input through every CSV importer, in every encoding. Panics on
/// a finding: a rejection that names another file or a line the file does
/// not have, or a record at such a line (a panic inside an importer
/// propagates by itself).
pub fn csv(data: &[u8]) {
    let lines = line_count(data);
    let catalogue = catalogue();
    for encoding in [Encoding::Auto, Encoding::Utf8, Encoding::Windows1250] {
        // What `import` decides the file holds; any answer will do.
        let _ = table::sniff(CSV_LABEL, data, encoding);
        if let Ok(parsed) = table::parse_observations(CSV_LABEL, data, encoding, &catalogue) {
            check_rejections(CSV_LABEL, lines, &parsed.rejected);
            check_lines(lines, parsed.records.iter().map(|(l, _)| *l));
            for (_, o) in &parsed.records {
                assert!(
                    o.value.is_finite(),
                    "a non-finite value was accepted: {o:?}"
                );
                assert!(
                    catalogue.contains_key(&o.indicator),
                    "an observation of an indicator not in the catalogue: {o:?}"
                );
            }
        }
        if let Ok(parsed) = table::parse_catalogue(CSV_LABEL, data, encoding, &catalogue) {
            check_rejections(CSV_LABEL, lines, &parsed.rejected);
            check_lines(lines, parsed.records.iter().map(|(l, _)| *l));
        }
        for kind in super::REGISTER_KINDS {
            let Ok(parsed) = register::parse_csv(CSV_LABEL, data, encoding, kind) else {
                continue;
            };
            check_rejections(CSV_LABEL, lines, &parsed.rejected);
            check_lines(lines, parsed.records.iter().map(|(l, _)| *l));
            // What the node lacks is rejected too, naming the field.
            if let Ok(checked) = register::check_references(parsed, &KnowsLittle) {
                check_rejections(CSV_LABEL, lines, &checked.rejected);
                let (_, rejected) = checked.into_records();
                check_rejections(CSV_LABEL, lines, &rejected);
            }
        }
    }
}
