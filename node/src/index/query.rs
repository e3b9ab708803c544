//! Query building: the user's text parsed leniently (within the parser's
//! ceilings), a proximity bonus for words typed together, and the full query
//! with filters and what the audience may see, neither of which contributes
//! to the score.
//!
//! Proximity: a reader who types `közösségi kert` means a community garden,
//! and a document where the two words stand together should rank above one
//! that has `közösségi` in one paragraph and `kert` in another (the
//! Elasticsearch habit of `match` plus a boosted `match_phrase` with slop).
//! The parsed query stays as it is (a conjunction by default) and decides
//! what matches; each run of two or more plain words ([`super::words`])
//! adds, per searched field, a `Should` phrase query with
//! [`PROXIMITY_SLOP`], which only adds score. What earns it:
//! - plain words typed next to each other (`óvodai férőhelyek`);
//! - not a quoted phrase: it is already a phrase, and the reader chose
//!   its slop;
//! - not `-term`, `+term`, `field:term`, a parenthesised group, or the
//!   operand of `NOT`: these break a run, since they are not words the
//!   reader put side by side;
//! - nothing in a query with `OR`: nearness between alternatives means
//!   nothing, and per-side bonuses would favour whichever side has more
//!   words.
//!
//! The bonus's cost is bounded whatever the text: at most
//! [`PROXIMITY_MAX_WORDS`] terms per field, so at most 4 × 8 = 32 phrase
//! terms on top of the base query (whose words the configured
//! `limits.max_query_terms` bounds). Its terms are the base query's own
//! (the same analysers on the same words), so round one's statistics
//! (`stats::term_stats`, which walks the whole user query) cover them, and a
//! hub scores proximity exactly as one index would.
//!
//! Measured: a three-word query matching 4,302 of 5,000 documents of 60
//! words takes 9–10 ms with the bonus against 3–4 ms without (`+a +b +c`,
//! the same conjunction, gets none), two to three times as long, in an
//! unoptimised build on a loaded, shared two-core machine (`cargo test -p
//! tudashalo-node --lib proximity_cost -- --ignored --nocapture`):
//! positions are read for every match, in four fields. A query matching few
//! documents pays little.

use std::ops::Bound;
use tudashalo_core::register::Entity;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::{SearchIndex, TITLE_BOOST, words};
use crate::analysis;
use crate::error::Result;
use tudashalo_core::limits;
use tudashalo_core::search::{Audience, SearchQuery};

/// A parsed user query (`None`: match everything) and what parsing ignored.
pub(super) type UserQuery = (Option<Box<dyn Query>>, Vec<String>);

/// How far apart a run's words may stand and still earn the proximity
/// bonus: 0, side by side in the order typed (stop words between them keep
/// their positions, so `fejlesztés a térben` is not adjacent).
///
/// A slop of 3 (a swapped pair, or up to three words between) was the
/// intent, but tantivy 0.27's sloppy phrase scorer found a document's
/// match in some segment layouts and missed it in others: the same index
/// content scored 20.83 or 18.22 depending on how the indexing threads had
/// split the documents, so a hub and one node holding everything disagreed
/// (`hub_top_k_equals_one_combined_node`, one run in eight with eight
/// copies of the test binary at once). The exact phrase scorer gave the
/// same score in every run; raise this only with a test that shows the
/// sloppy one stable.
pub const PROXIMITY_SLOP: u32 = 0;

/// The most terms per field that take part in proximity: the first words
/// of the text's plain runs. Bounds the bonus's cost (a phrase query reads
/// positions, dearer than a term query) whatever the text's length.
pub const PROXIMITY_MAX_WORDS: usize = 8;

impl SearchIndex {
    /// Parses the user's query leniently. Returns the query (or `None` when
    /// it has no searchable term, which matches every document) and what was
    /// ignored, in words.
    ///
    /// tantivy's parser recurses once per nested group, so the text's shape
    /// is checked first against the ceilings that no configuration can
    /// raise ([`limits::check_parser_ceiling`]); the configured, tighter
    /// limits are the node's to apply before this.
    pub(super) fn user_query(&self, text: &str) -> Result<UserQuery> {
        if text.trim().is_empty() {
            return Ok((None, Vec::new()));
        }
        limits::check_parser_ceiling(text)?;
        let (query, errors) = self.parser.parse_query_lenient(text);
        let ignored = errors.into_iter().map(|e| e.to_string()).collect();
        let near = self.proximity(text)?;
        if near.is_empty() {
            return Ok((Some(query), ignored));
        }
        let mut clauses = vec![(Occur::Must, query)];
        clauses.extend(near.into_iter().map(|q| (Occur::Should, q)));
        Ok((Some(Box::new(BooleanQuery::new(clauses))), ignored))
    }

    /// The proximity clauses of `text` (see the module header): per searched
    /// field, one sloppy phrase per plain run that still has two terms after
    /// analysis, within [`PROXIMITY_MAX_WORDS`] terms per field.
    fn proximity(&self, text: &str) -> Result<Vec<Box<dyn Query>>> {
        let chunks = words::chunks(text);
        if words::has_or(&chunks) {
            return Ok(Vec::new());
        }
        let runs = words::plain_runs(&chunks);
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let f = &self.fields;
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        for (field, boost) in [
            (f.title_hu, Some(TITLE_BOOST)),
            (f.title_ascii, Some(TITLE_BOOST)),
            (f.body_hu, None),
            (f.body_ascii, None),
        ] {
            let mut analyser = self.index.tokenizer_for_field(field)?;
            let mut budget = PROXIMITY_MAX_WORDS;
            for run in &runs {
                let mut terms: Vec<(usize, Term)> = Vec::new();
                let mut stream = analyser.token_stream(run);
                while budget > 0
                    && let Some(token) = stream.next()
                {
                    terms.push((token.position, Term::from_field_text(field, &token.text)));
                    budget -= 1;
                }
                // tantivy refuses a phrase of one term; a run whose other
                // words were stop words has nothing to be near.
                if terms.len() < 2 {
                    continue;
                }
                let first = terms[0].0;
                let terms = terms.into_iter().map(|(p, t)| (p - first, t)).collect();
                let phrase: Box<dyn Query> =
                    Box::new(PhraseQuery::new_with_offset_and_slop(terms, PROXIMITY_SLOP));
                out.push(match boost {
                    Some(boost) => Box::new(BoostQuery::new(phrase, boost)),
                    None => phrase,
                });
            }
        }
        Ok(out)
    }

    /// The full query: the user's query, the filters, and what the audience
    /// may see. Filters and visibility do not contribute to the score.
    pub(super) fn full_query(
        &self,
        request: &SearchQuery,
        audience: Audience,
    ) -> Result<(Box<dyn Query>, Vec<String>)> {
        let f = &self.fields;
        let (user, ignored) = self.user_query(&request.text)?;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        clauses.push((Occur::Must, user.unwrap_or_else(|| Box::new(AllQuery))));
        let any_of = |field: Field, values: &[String], keyword: bool| -> Option<Box<dyn Query>> {
            if values.is_empty() {
                return None;
            }
            let terms: Vec<(Occur, Box<dyn Query>)> = values
                .iter()
                .map(|v| {
                    let value = if keyword {
                        analysis::keyword_form(v)
                    } else {
                        v.trim().to_string()
                    };
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(field, &value),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            Some(Box::new(ConstScoreQuery::new(
                Box::new(BooleanQuery::new(terms)),
                0.0,
            )))
        };
        if let Some(q) = any_of(f.kind, &request.filters.kinds, false) {
            clauses.push((Occur::Must, q));
        }
        if let Some(q) = any_of(f.sector, &request.filters.sectors, true) {
            clauses.push((Occur::Must, q));
        }
        if let Some(q) = any_of(f.settlement, &request.filters.settlements, true) {
            clauses.push((Occur::Must, q));
        }
        if let Some(q) = any_of(f.id, &request.filters.ids, false) {
            clauses.push((Occur::Must, q));
        }
        let entities: Vec<String> = request
            .filters
            .entities
            .iter()
            .map(|e| e.as_str().to_string())
            .collect();
        let developments_only = request.filters.developments_only();
        for (field, values) in [
            (f.entity, &entities),
            (f.programme, &request.filters.programmes),
            (f.status, &request.filters.statuses),
            (f.target_group, &request.filters.target_groups),
        ] {
            if let Some(q) = any_of(field, values, false) {
                clauses.push((Occur::Must, q));
            }
        }
        if developments_only {
            // A status filter alone would also pass working groups.
            let development = vec![Entity::Development.as_str().to_string()];
            if let Some(q) = any_of(f.entity, &development, false) {
                clauses.push((Occur::Must, q));
            }
        }
        if request.filters.amount_min.is_some() || request.filters.amount_max.is_some() {
            let bound = |a: Option<u64>| match a {
                Some(a) => Bound::Included(Term::from_field_u64(f.amount, a)),
                None => Bound::Unbounded,
            };
            let range = RangeQuery::new(
                bound(request.filters.amount_min),
                bound(request.filters.amount_max),
            );
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(range), 0.0)),
            ));
        }
        if request.filters.year_from.is_some() || request.filters.year_to.is_some() {
            let bound = |y: Option<i32>| match y {
                Some(y) => Bound::Included(Term::from_field_i64(f.year, i64::from(y))),
                None => Bound::Unbounded,
            };
            let range = RangeQuery::new(
                bound(request.filters.year_from),
                bound(request.filters.year_to),
            );
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(range), 0.0)),
            ));
        }
        if audience != Audience::Operator {
            let allowed: Vec<(Occur, Box<dyn Query>)> = (0..3u64)
                .filter(|code| audience.sees(*code))
                .map(|code| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_u64(f.visibility, code),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(
                    Box::new(BooleanQuery::new(allowed)),
                    0.0,
                )),
            ));
        }
        Ok((Box::new(BooleanQuery::new(clauses)), ignored))
    }
}
