//! The project's own sample data: kistérségek with their settlements,
//! documents, an indicator catalogue and observations, all derived from a
//! [`Spec`] and nothing else.
//!
//! The same spec always gives byte-identical files (a small splitmix64
//! generator, no global state, no clock, no hash-map iteration order), so
//! demos, tests and benchmarks can rely on the exact corpus. Names are those
//! of real Hungarian kistérségek and settlements with approximate
//! populations; every document and every value is invented and must not be
//! read as a statistic. Sentences are written for this generator, with
//! inflected forms (fejlesztés, fejlesztési, fejlesztések; önkormányzat,
//! önkormányzatok, önkormányzatokkal) so that Hungarian stemming matters.
//!
//! This module only generates and writes files; it never imports them (see
//! the demo) and never touches the network.
//!
//! Where each part lives: `rng` (the random streams), `places` (the
//! kistérségek and their settlements), `vocabulary` (topics and sentence
//! templates), `grammar` (the Hungarian inflection helpers), `documents`
//! (filling templates into documents), `indicators` (the catalogue and the
//! observations), `register` (organisations, contacts, developments with
//! their indicators, working groups), `writers` (the files a node imports)
//! and `judged` (the
//! relevance set: judged queries and the documents planted for them, on
//! request only). The parts are private; this module keeps the public
//! types they share and re-exports the functions callers use.

use std::ops::RangeInclusive;
use std::path::PathBuf;

mod documents;
mod grammar;
mod indicators;
mod judged;
mod places;
mod register;
mod rng;
mod vocabulary;
mod writers;

pub mod files;
pub use documents::{document, documents};
pub use indicators::{catalogue, observations};
pub use judged::{
    JudgedDocument, JudgedFilters, JudgedQuery, QueryKind, judged_documents, judged_queries,
    judged_set, write_judged_documents,
};
pub use places::kistersegek;
pub use register::{REFERENCE_DATE, Register, register};
pub use vocabulary::SECTORS;
pub use writers::write_node_files;

/// Changes whenever the output for a given [`Spec`] changes, so that data
/// stored by an older generator is recognised and regenerated.
pub const GENERATOR_VERSION: u32 = 2;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// How many kistérségek (one node each).
    pub nodes: usize,
    /// Everything random derives from it; the same seed gives the same bytes.
    pub seed: u64,
    pub docs_per_node: usize,
    /// The mean length of a document body, in words (individual documents
    /// range from about half to one and a half times this).
    pub mean_words: usize,
    /// Document years, and the periods of the observations.
    pub years: RangeInclusive<i32>,
}

impl Default for Spec {
    /// The demo's federation: 5 nodes of 120 documents of ~300 words,
    /// 2010–2024.
    fn default() -> Self {
        Spec {
            nodes: 5,
            seed: 1,
            docs_per_node: 120,
            mean_words: 300,
            years: 2010..=2024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub name: String,
    pub population: u32,
}

/// A kistérség: one node of the federation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kisterseg {
    /// The node's name, e.g. `edelenyi`.
    pub slug: String,
    /// E.g. `Edelényi kistérség`.
    pub display_name: String,
    /// The seat first, then the other settlements, larger ones first.
    pub settlements: Vec<Settlement>,
    /// The position in [`kistersegek`]; it seeds this kistérség's data and
    /// decides which node's tables are written in Windows-1250.
    pub index: usize,
}

impl Kisterseg {
    /// `Edelényi` for `Edelényi kistérség`.
    pub fn adjective(&self) -> &str {
        self.display_name
            .strip_suffix(" kistérség")
            .unwrap_or(&self.display_name)
    }

    /// The seat (the first, largest settlement).
    pub fn seat(&self) -> &str {
        self.settlements.first().map_or("", |s| s.name.as_str())
    }

    pub fn population(&self) -> u64 {
        self.settlements
            .iter()
            .map(|s| u64::from(s.population))
            .sum()
    }
}

/// One catalogue row: `(code, name, unit, aggregation)`.
pub type CatalogueRow = (&'static str, &'static str, &'static str, &'static str);

/// One observation: `(indicator, settlement, period, value, unit)`.
pub type ObservationRow = (&'static str, String, String, f64, &'static str);

/// The files written by [`write_node_files`] for one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFiles {
    /// JSON Lines, UTF-8.
    pub documents: PathBuf,
    /// `code,name,unit,aggregation`.
    pub catalogue: PathBuf,
    /// `mutató;település;időszak;érték;mértékegység`, decimal comma.
    pub observations: PathBuf,
    /// Whether the two CSV files are Windows-1250 (else UTF-8 with BOM).
    pub windows_1250: bool,
    /// The register, JSON Lines (UTF-8), one entity per file: each line is
    /// the serde JSON of one `tudashalo_core::register` record.
    pub organisations: PathBuf,
    /// Personal data: the node keeps it local.
    pub contacts: PathBuf,
    pub developments: PathBuf,
    pub project_indicators: PathBuf,
    pub groups: PathBuf,
}

impl NodeFiles {
    /// The register's files in the order a node imports them (after the
    /// documents, which developments and meetings link): organisations,
    /// contacts, developments, project indicators, working groups.
    pub fn register_files(&self) -> [(&'static str, &PathBuf); 5] {
        [
            ("organisations", &self.organisations),
            ("contacts", &self.contacts),
            ("developments", &self.developments),
            ("project indicators", &self.project_indicators),
            ("working groups", &self.groups),
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::Value;

    use super::*;

    pub(super) fn small(seed: u64) -> Spec {
        Spec {
            nodes: 3,
            seed,
            docs_per_node: 40,
            mean_words: 120,
            ..Spec::default()
        }
    }

    pub(super) fn corpus(spec: &Spec) -> Vec<Value> {
        kistersegek(spec)
            .iter()
            .flat_map(|k| documents(k, spec, k.index).collect::<Vec<_>>())
            .collect()
    }

    fn files_bytes(spec: &Spec) -> Vec<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        for k in kistersegek(spec) {
            let files = write_node_files(&dir.path().join(&k.slug), &k, spec).unwrap();
            for path in [
                files.documents,
                files.catalogue,
                files.observations,
                files.organisations,
                files.contacts,
                files.developments,
                files.project_indicators,
                files.groups,
            ] {
                out.push(std::fs::read(path).unwrap());
            }
        }
        out
    }

    #[test]
    fn the_same_seed_gives_byte_identical_files() {
        assert_eq!(files_bytes(&small(7)), files_bytes(&small(7)));
    }

    #[test]
    fn different_seeds_differ() {
        let a = corpus(&small(1));
        let b = corpus(&small(2));
        assert_eq!(a.len(), b.len());
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        assert_eq!(same, 0, "every document differs between seeds");
        let oa: Vec<_> = observations(&kistersegek(&small(1))[0], &small(1)).collect();
        let ob: Vec<_> = observations(&kistersegek(&small(2))[0], &small(2)).collect();
        assert_ne!(oa, ob);
    }
}
