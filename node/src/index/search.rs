//! Running a search: the depth limit, the top hits after a cursor (ties
//! broken by the id's hash), counts, facets and snippets, hits read from
//! fast columns (ids only) or the stored metadata, and spelling
//! suggestions when almost nothing matched.

use std::cmp::Reverse;
use std::collections::HashMap;

use tantivy::collector::{Count, TopDocs};
use tantivy::schema::Value;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader, TantivyDocument};

use super::SearchIndex;
use super::facets::{FACETS, FacetCounter, WHEN_COUNTED, facet};
use super::schema::HitMeta;
use super::snippet::make_snippet;
use super::stats::Stats;
use super::suggest::SUGGEST_BELOW;
use crate::error::{Error, Result};
use tudashalo_core::search::{Audience, CorpusStats, Hit, MAX_DEPTH, SearchQuery, SearchResults};
use tudashalo_core::suggest::suggested_query;

impl SearchIndex {
    /// Searches. With `global` statistics the scores are those of one index
    /// holding every member's documents; without, of this node's visible
    /// documents alone. Either way the same visibility rules apply.
    pub fn search(
        &self,
        request: &SearchQuery,
        audience: Audience,
        global: Option<&CorpusStats>,
        body_of: &dyn Fn(&str) -> Option<String>,
    ) -> Result<SearchResults> {
        // A hub asks each member for `offset + limit` hits at once, so a
        // page may be as deep as the depth limit itself.
        let limit = request.limit.clamp(1, MAX_DEPTH);
        tudashalo_core::search::check_depth(request.offset, limit)?;
        let searcher = self.reader.searcher();
        let totals = self.totals(&searcher, audience)?;
        let (query, ignored) = self.full_query(request, audience)?;
        let stats = Stats {
            searcher: &searcher,
            schema: self.index.schema(),
            visibility: self.fields.visibility,
            audience,
            totals: &totals,
            global,
        };

        let after = request.after;
        let tie_field = "tie";
        let top = TopDocs::with_limit(limit)
            .and_offset(request.offset)
            .tweak_score(move |segment: &SegmentReader| {
                let ties = segment
                    .fast_fields()
                    .u64(tie_field)
                    .ok()
                    .map(|c| c.first_or_default_col(0));
                move |doc: DocId, score: Score| {
                    let tie = ties.as_ref().map_or(0, |c| c.get_val(doc));
                    let key = (score, Reverse(tie));
                    match after {
                        // Everything at or before the cursor sorts below every real
                        // hit and is dropped after collection.
                        Some(c) if key >= (c.score, Reverse(c.tie)) => {
                            (Score::NEG_INFINITY, Reverse(u64::MAX))
                        }
                        _ => key,
                    }
                }
            });
        let (docs, count, facet_counts) = if request.facets {
            let (d, c, f) = searcher.search_with_statistics_provider(
                &*query,
                &(top, Count, FacetCounter),
                &stats,
            )?;
            (d, c, Some(f))
        } else {
            let (d, c) =
                searcher.search_with_statistics_provider(&*query, &(top, Count), &stats)?;
            (d, c, None)
        };

        let snippet_gens = if request.snippets && !request.text.trim().is_empty() {
            let (user, _) = self.user_query(&request.text)?;
            user.map(|q| {
                (
                    self.snippet_generator(&*q, self.fields.body_hu, &stats),
                    self.snippet_generator(&*q, self.fields.body_ascii, &stats),
                )
            })
        } else {
            None
        };

        let mut hits = Vec::with_capacity(docs.len());
        let mut id_columns: HashMap<u32, tantivy::columnar::StrColumn> = HashMap::new();
        for ((score, Reverse(tie)), address) in docs {
            if score == Score::NEG_INFINITY {
                continue;
            }
            if request.ids_only {
                let column = match id_columns.entry(address.segment_ord) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let reader = searcher.segment_reader(address.segment_ord);
                        let Some(column) = reader.fast_fields().str("id")? else {
                            return Err(Error::Corrupt("index without an id column".into()));
                        };
                        e.insert(column)
                    }
                };
                let mut id = String::new();
                match column.term_ords(address.doc_id).next() {
                    Some(ord) if column.ord_to_str(ord, &mut id).unwrap_or(false) => {}
                    _ => return Err(Error::Corrupt("index document without id".into())),
                }
                hits.push(Hit {
                    id,
                    title: String::new(),
                    kind: String::new(),
                    year: None,
                    settlements: Vec::new(),
                    sectors: Vec::new(),
                    score,
                    tie,
                    snippet: None,
                    source: None,
                });
                continue;
            }
            let (id, meta) = self.stored(&searcher, address)?;
            let snippet = if request.snippets {
                body_of(&id).map(|body| make_snippet(snippet_gens.as_ref(), &body))
            } else {
                None
            };
            hits.push(Hit {
                id,
                title: meta.title,
                kind: meta.kind,
                year: meta.year,
                settlements: meta.settlements,
                sectors: meta.sectors,
                score,
                tie,
                snippet,
                source: meta.source,
            });
        }
        let facets = match facet_counts {
            Some(counts) => FACETS
                .iter()
                .zip(counts)
                .filter(|(name, counts)| !counts.is_empty() || !WHEN_COUNTED.contains(name))
                .map(|(name, counts)| facet(name, counts))
                .collect(),
            None => Vec::new(),
        };
        // A fetch by id is a hub's round three, not a reader's query.
        let suggestions = if (count as u64) < SUGGEST_BELOW
            && request.filters.ids.is_empty()
            && !request.text.trim().is_empty()
        {
            self.suggest(&searcher, &request.text, audience)?
        } else {
            Vec::new()
        };
        Ok(SearchResults {
            total: count as u64,
            hits,
            facets,
            ignored,
            suggested_query: suggested_query(&request.text, &suggestions),
            suggestions,
        })
    }

    fn stored(&self, searcher: &Searcher, address: DocAddress) -> Result<(String, HitMeta)> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let id = doc
            .get_first(self.fields.id)
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::Corrupt("index document without id".into()))?
            .to_string();
        let meta = doc
            .get_first(self.fields.meta)
            .and_then(|v| v.as_bytes())
            .and_then(|b| serde_json::from_slice::<HitMeta>(b).ok())
            .ok_or_else(|| Error::Corrupt(format!("index document {id:?} without metadata")))?;
        Ok((id, meta))
    }
}
