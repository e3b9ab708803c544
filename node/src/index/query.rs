//! Query building: the user's text parsed leniently (within the parser's
//! ceilings), and the full query with filters and what the audience may
//! see, neither of which contributes to the score.

use std::ops::Bound;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::SearchIndex;
use crate::analysis;
use crate::error::Result;
use tudashalo_core::limits;
use tudashalo_core::search::{Audience, SearchQuery};

/// A parsed user query (`None`: match everything) and what parsing ignored.
pub(super) type UserQuery = (Option<Box<dyn Query>>, Vec<String>);

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
        Ok((Some(query), ignored))
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
