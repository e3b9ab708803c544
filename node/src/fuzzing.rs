//! The fuzzing entry points: the query parser ([`QueryHarness`]), the
//! file extractors ([`extract`]), the CSV, JSON Lines and text importers
//! ([`tables::csv`], [`jsonl::jsonl`], [`text::text`]) and the merging of
//! aggregate partials ([`merge::merge`]).
//!
//! Each entry point is shared by a cargo-fuzz target (`fuzz/fuzz_targets/`,
//! outside the workspace) and a workspace test that replays its corpus
//! (`fuzz/corpus/<target>`) and past findings (`fuzz/regressions/<target>`)
//! on stable. None of them writes anything anywhere.
//!
//! The query parser's entry point is shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/query_parser.rs`, outside the workspace) and the
//! workspace test that replays its corpus (`node/tests/query_corpus.rs`), so
//! that CI exercises every seed and every past crash without cargo-fuzz.
//!
//! One input is a query text, taken as a node takes it from a request: the
//! request limits decide first ([`RequestLimits::check_query`]); a text
//! they let through is parsed by tantivy's lenient parser with the
//! Hungarian analysers, its term statistics are gathered, and it is
//! searched (with snippets and facets, with its own and with supplied
//! statistics) over a small Hungarian index in memory. Nothing of that may
//! panic, and a refusal must name its limit.

use serde_json::json;

pub mod jsonl;
pub mod merge;
pub mod tables;
pub mod text;

use crate::index::SearchIndex;
use tudashalo_core::limits::{QueryShape, RequestLimits};
use tudashalo_core::model::Document;
use tudashalo_core::search::{Audience, SearchQuery};

/// Every kind of register file, for the importer targets.
pub(crate) const REGISTER_KINDS: [crate::import::register::RegisterKind; 5] = {
    use crate::import::register::RegisterKind;
    [
        RegisterKind::Organisations,
        RegisterKind::Contacts,
        RegisterKind::Developments,
        RegisterKind::Indicators,
        RegisterKind::Groups,
    ]
};

/// A few documents with accents, stems and stop words, so that queries
/// match, score, highlight and facet.
fn documents() -> Vec<Document> {
    let docs = [
        json!({"id": "terv-1", "title": "Településfejlesztési koncepció",
            "body": "Az önkormányzat közösségi szolgáltató teret és kerékpárutat tervez Edelényben.",
            "kind": "strategy", "settlements": ["Edelény"], "sectors": ["közlekedés"], "year": 2021,
            "visibility": "public"}),
        json!({"id": "proj-2", "title": "Árvíztűrő tükörfúrógép beszerzése",
            "body": "A projekt célja a vízügyi infrastruktúra fejlesztése; őszi ütemezés, fűtéskorszerűsítés.",
            "kind": "project", "settlements": ["Szendrő", "Edelény"], "sectors": ["vízügy"], "year": 2019}),
        json!({"id": "jkv-3", "title": "Jegyzőkönyv a képviselő-testület üléséről",
            "body": "A testület elfogadta a költségvetést. Hozzászólt: Kovács Ödön és Szűcs Írisz.",
            "kind": "minutes", "settlements": ["Encs"], "year": 2023, "visibility": "local"}),
    ];
    docs.into_iter()
        .filter_map(|d| serde_json::from_value(d).ok())
        .collect()
}

/// An index in memory with [`documents`], and the default request limits.
#[derive(Debug)]
pub struct QueryHarness {
    index: SearchIndex,
    bodies: Vec<(String, String)>,
    limits: RequestLimits,
}

impl QueryHarness {
    /// Builds the in-memory index. Panics if it cannot: a harness that
    /// cannot start is a broken harness, not a finding.
    #[allow(clippy::expect_used)]
    pub fn new() -> QueryHarness {
        let index = SearchIndex::in_memory().expect("an index in memory");
        let docs = documents();
        let bodies = docs
            .iter()
            .map(|d| (d.id.clone(), d.body.clone()))
            .collect();
        index
            .rebuild(
                docs.iter()
                    .map(|d| Ok(tudashalo_core::register::Searchable::of_document(d))),
                1,
            )
            .expect("indexing the harness documents");
        QueryHarness {
            index,
            bodies,
            limits: RequestLimits::default(),
        }
    }

    /// Runs one input. Panics on a finding: a refusal that does not name
    /// its limit, or a refusal the text's shape does not explain, or an
    /// accepted text beyond the limits (a panic in the parser or the search
    /// propagates by itself).
    pub fn run(&self, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let shape = QueryShape::of(&text);
        let over = text.chars().count() > self.limits.max_query_chars
            || shape.depth > self.limits.max_query_depth
            || shape.terms > self.limits.max_query_terms;
        match self.limits.check_query(&text) {
            Err(e) => {
                let message = e.to_string();
                assert!(
                    over && message.contains("(limits.max_query_"),
                    "refused without naming a limit the text exceeds: {message}"
                );
                return;
            }
            Ok(()) => assert!(!over, "accepted a text beyond the limits: {shape:?}"),
        }
        let body_of = |id: &str| {
            self.bodies
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, b)| b.clone())
        };
        // Errors are answers; only panics (and aborts) are findings.
        let stats = self.index.term_stats(&text, Audience::Federation).ok();
        for audience in [Audience::Public, Audience::Operator] {
            let query = SearchQuery {
                text: text.to_string(),
                limit: 10,
                snippets: true,
                facets: true,
                ..SearchQuery::default()
            };
            let _ = self.index.search(&query, audience, None, &body_of);
            if let Some((stats, _)) = &stats {
                let _ = self.index.search(&query, audience, Some(stats), &body_of);
            }
        }
    }
}

impl Default for QueryHarness {
    fn default() -> Self {
        QueryHarness::new()
    }
}

/// The extractor fuzz targets' entry point (`fuzz/fuzz_targets/extract_*.rs`,
/// replayed from their corpora by `node/tests/extract_corpus.rs`): `bytes`
/// as a file of `format` (`pdf`, `docx`, `odt`, `html`, `rtf`, `xlsx`,
/// `xls`, `ods`), extracted in this process *without* `catch_unwind`, so
/// that a panic is the fuzzer's finding, then checked as an import checks
/// it. Limits are small, so that a run stays fast: 1 MiB of text.
///
/// Returns the failure's kind, or `None` for a file that extracted.
pub fn extract(format: &str, bytes: &[u8]) -> Option<crate::import::FailureKind> {
    use crate::import::isolate::{Job, run_unguarded};
    let limits = crate::import::Limits {
        max_body_bytes: 1024 * 1024,
        max_file_bytes: 16 * 1024 * 1024,
        ..crate::import::Limits::default()
    };
    let job = if let Some(doc) = crate::import::DocFormat::from_extension(format) {
        Job::Document(doc)
    } else if let Some(book) = crate::import::WorkbookFormat::from_extension(format) {
        Job::Workbook(book)
    } else {
        return Some(crate::import::FailureKind::Unsupported);
    };
    run_unguarded(&job, bytes, &limits).err().map(|f| f.kind)
}

/// How many lines `data` has, as the importers number them: one more than
/// its `\n`s (the last may be empty).
pub(crate) fn line_count(data: &[u8]) -> usize {
    data.iter().filter(|&&b| b == b'\n').count() + 1
}

/// Every rejection names `file` and a line of it (`file:line` is how it is
/// shown), and a field, when it names one, by a name.
pub(crate) fn check_rejections(file: &str, lines: usize, rejected: &[crate::import::Rejection]) {
    for r in rejected {
        assert_eq!(r.file, file, "a rejection names another file: {r:?}");
        assert!(
            (1..=lines).contains(&r.line),
            "a rejection at line {} of a file of {lines} lines: {r:?}",
            r.line
        );
        assert!(
            r.to_string().starts_with(&format!("{file}:{}: ", r.line)),
            "a rejection that does not read file:line: {r}"
        );
        if let Some(field) = &r.field {
            assert!(
                !field.trim().is_empty(),
                "a rejection names an empty field: {r:?}"
            );
        }
        assert!(
            !r.reason.trim().is_empty(),
            "a rejection without a reason: {r:?}"
        );
    }
}

/// Every record's line is one the file has.
pub(crate) fn check_lines(lines: usize, records: impl Iterator<Item = usize>) {
    for line in records {
        assert!(
            (1..=lines).contains(&line),
            "a record at line {line} of a file of {lines} lines"
        );
    }
}

/// A node that holds one organisation (`kisterseg-tars`), one development
/// (`top-plusz-1`) and one document (`terv-1`), for the register's
/// reference check.
pub(crate) struct KnowsLittle;

impl crate::import::register::Known for KnowsLittle {
    fn organisation(&self, id: &str) -> crate::error::Result<bool> {
        Ok(id == "kisterseg-tars")
    }
    fn development(&self, id: &str) -> crate::error::Result<bool> {
        Ok(id == "top-plusz-1")
    }
    fn document(&self, id: &str) -> crate::error::Result<bool> {
        Ok(id == "terv-1")
    }
}
