//! Federated BM25 statistics: per-field token totals and document
//! frequencies over the documents one audience may see (round one of a
//! federated search), and the statistics provider that scores a search with
//! the caller's federation-wide statistics when it supplies them.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::{Field, IndexRecordOption, Schema};
use tantivy::{Searcher, Term};

use super::SearchIndex;
use crate::error::{Error, Result};
use tudashalo_core::search::{Audience, CorpusStats, SearchQuery};

/// Per-field token totals and the document count over what one audience may
/// see, for one searcher generation. Computing them walks every document, so
/// they are cached until the index changes.
#[derive(Debug, Clone)]
pub(super) struct Totals {
    pub(super) generation: u64,
    pub(super) audience: Audience,
    pub(super) docs: u64,
    pub(super) tokens: HashMap<Field, u64>,
}

impl SearchIndex {
    /// Round one of a federated search: the statistics of the query's terms
    /// over the documents `audience` may see.
    pub fn term_stats(&self, text: &str, audience: Audience) -> Result<(CorpusStats, Vec<String>)> {
        let searcher = self.reader.searcher();
        let totals = self.totals(&searcher, audience)?;
        let (query, ignored) = self.user_query(text)?;
        let schema = self.index.schema();
        let mut stats = CorpusStats {
            total_docs: totals.docs,
            ..CorpusStats::default()
        };
        for (field, tokens) in &totals.tokens {
            stats
                .total_tokens
                .insert(schema.get_field_name(*field).to_string(), *tokens);
        }
        if let Some(query) = query {
            let mut terms: Vec<Term> = Vec::new();
            query.query_terms(&mut |term, _| terms.push(term.clone()));
            for term in terms {
                let value = term.value();
                let Some(text) = value.as_str() else { continue };
                let key = (
                    schema.get_field_name(term.field()).to_string(),
                    text.to_string(),
                );
                if stats.doc_freq.contains_key(&key) {
                    continue;
                }
                let df = visible_doc_freq(&searcher, &term, self.fields.visibility, audience)?;
                stats.doc_freq.insert(key, df);
            }
        }
        Ok((stats, ignored))
    }
    /// How many documents `audience` may see match `request`, its text and
    /// its filters: what a search would report as its total. Counting needs
    /// no scores, so no statistics are read.
    pub fn count(&self, request: &SearchQuery, audience: Audience) -> Result<u64> {
        let searcher = self.reader.searcher();
        let (query, _) = self.full_query(request, audience)?;
        Ok(searcher.search(&*query, &tantivy::collector::Count)? as u64)
    }

    /// Number of live documents `audience` may see.
    pub fn visible_docs(&self, audience: Audience) -> Result<u64> {
        let searcher = self.reader.searcher();
        Ok(self.totals(&searcher, audience)?.docs)
    }

    pub(super) fn totals(&self, searcher: &Searcher, audience: Audience) -> Result<Arc<Totals>> {
        let generation = searcher.generation().generation_id();
        if let Ok(cache) = self.totals.lock()
            && let Some(t) = cache.as_ref()
            && t.generation == generation
            && t.audience == audience
        {
            return Ok(t.clone());
        }
        let text_fields = [
            self.fields.title_hu,
            self.fields.title_ascii,
            self.fields.body_hu,
            self.fields.body_ascii,
        ];
        let mut docs = 0u64;
        let mut tokens: HashMap<Field, u64> = text_fields.iter().map(|f| (*f, 0)).collect();
        for segment in searcher.segment_readers() {
            let visibility = segment
                .fast_fields()
                .u64("visibility")?
                .first_or_default_col(u64::MAX);
            let norms: Vec<_> = text_fields
                .iter()
                .map(|f| segment.get_fieldnorms_reader(*f).map(|r| (*f, r)))
                .collect::<tantivy::Result<_>>()?;
            for doc in 0..segment.max_doc() {
                if segment.is_deleted(doc) || !audience.sees(visibility.get_val(doc)) {
                    continue;
                }
                docs += 1;
                for (field, reader) in &norms {
                    *tokens.entry(*field).or_default() += u64::from(reader.fieldnorm(doc));
                }
            }
        }
        let totals = Arc::new(Totals {
            generation,
            audience,
            docs,
            tokens,
        });
        if let Ok(mut cache) = self.totals.lock() {
            *cache = Some(totals.clone());
        }
        Ok(totals)
    }
}

/// The number of live documents that contain `term` and that `audience` may see.
pub(super) fn visible_doc_freq(
    searcher: &Searcher,
    term: &Term,
    visibility: Field,
    audience: Audience,
) -> Result<u64> {
    use tantivy::{DocSet, TERMINATED};
    let mut count = 0u64;
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(term.field())?;
        let Some(mut postings) = inverted
            .read_postings(term, IndexRecordOption::Basic)
            .map_err(|e| Error::Index(e.into()))?
        else {
            continue;
        };
        let vis = segment
            .fast_fields()
            .u64(segment.schema().get_field_name(visibility))?
            .first_or_default_col(u64::MAX);
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if !segment.is_deleted(doc) && audience.sees(vis.get_val(doc)) {
                count += 1;
            }
            doc = postings.advance();
        }
    }
    Ok(count)
}

/// BM25 statistics for one request: the caller's global ones when given,
/// else those of the documents this audience may see on this node.
pub(super) struct Stats<'a> {
    pub(super) searcher: &'a Searcher,
    pub(super) schema: Schema,
    pub(super) visibility: Field,
    pub(super) audience: Audience,
    pub(super) totals: &'a Totals,
    pub(super) global: Option<&'a CorpusStats>,
}

impl Stats<'_> {
    fn total_docs(&self) -> u64 {
        // An empty corpus would make the average field length 0/0.
        self.global
            .map_or(self.totals.docs, |g| g.total_docs)
            .max(1)
    }
}

impl Bm25StatisticsProvider for Stats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let name = self.schema.get_field_name(field);
        let supplied = self.global.and_then(|g| g.total_tokens.get(name).copied());
        Ok(supplied
            .unwrap_or_else(|| self.totals.tokens.get(&field).copied().unwrap_or(0))
            .max(1))
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.total_docs())
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let supplied = self.global.and_then(|g| {
            let value = term.value();
            let text = value.as_str()?;
            g.doc_freq
                .get(&(
                    self.schema.get_field_name(term.field()).to_string(),
                    text.to_string(),
                ))
                .copied()
        });
        let df = match supplied {
            Some(df) => df,
            None => visible_doc_freq(self.searcher, term, self.visibility, self.audience)
                .map_err(|e| tantivy::TantivyError::InternalError(e.to_string()))?,
        };
        // tantivy's idf() asserts doc_freq <= doc_count; a hub's sum of
        // inconsistent member answers must not be able to trip it.
        Ok(df.min(self.total_docs()))
    }
}
