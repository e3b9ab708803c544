//! The tantivy index: a derived, rebuildable view of the documents in sled.
//!
//! It owns the schema, the translation of a [`Document`] into index fields,
//! query building (lenient parsing, filters, visibility), BM25 statistics over
//! the documents an audience may see, and scoring with caller-supplied
//! statistics for federated ranking.
//!
//! Invariants:
//! - The index never holds anything that is not in the store; it may be
//!   deleted and rebuilt at any time ([`SearchIndex::rebuild`]).
//! - Each commit records the store generation it reflects in the commit
//!   payload, so that start-up can tell an index that is behind or ahead.
//! - Statistics and scores of one request come from the same pinned
//!   [`Searcher`], and count only documents the audience may see: a `local`
//!   document never shows in a count, a facet or a document frequency.
//! - Document bodies are not stored here (sled has them); snippets are cut
//!   from the store's copy.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::query::{
    AllQuery, Bm25StatisticsProvider, BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser,
    RangeQuery, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DocAddress, DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher,
    SegmentReader, TantivyDocument, Term,
};

use crate::analysis;
use crate::error::{Error, Result};
use tudashalo_core::limits;
use tudashalo_core::model::Document;
use tudashalo_core::search::{
    Audience, CorpusStats, Facet, FacetCount, Hit, MAX_DEPTH, SearchQuery, SearchResults, Snippet,
    tie_of,
};

/// Bumped whenever the schema or the analysers change; an index of another
/// version is rebuilt at start.
pub const INDEX_VERSION: u32 = 2;

/// The text fields that queries search, and whose statistics federate.
pub const TEXT_FIELDS: [&str; 4] = ["title_hu", "title_ascii", "body_hu", "body_ascii"];

/// Titles weigh more than bodies.
const TITLE_BOOST: Score = 2.0;
const SNIPPET_CHARS: usize = 220;
const WRITER_MEMORY: usize = 64 * 1024 * 1024;

/// A parsed user query (`None`: match everything) and what parsing ignored.
type UserQuery = (Option<Box<dyn Query>>, Vec<String>);

/// What a commit says about itself, stored as the commit payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexState {
    pub version: u32,
    /// The store generation this commit reflects.
    pub generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    tie: Field,
    meta: Field,
    title_hu: Field,
    title_ascii: Field,
    body_hu: Field,
    body_ascii: Field,
    kind: Field,
    sector: Field,
    settlement: Field,
    year: Field,
    visibility: Field,
}

/// The small, stored part of a document that a hit shows.
#[derive(Debug, Serialize, Deserialize)]
struct HitMeta {
    title: String,
    kind: String,
    year: Option<i32>,
    settlements: Vec<String>,
    sectors: Vec<String>,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    // Filters match the folded form; facets count the value as written,
    // from a fast column of its ordinals.
    let keyword = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analysis::KEYWORD)
                .set_index_option(IndexRecordOption::Basic),
        )
        .set_fast("raw");
    let exact = STRING.set_fast("raw");
    let fields = Fields {
        // Fast too: a ranking-only hit reads its id from the column
        // instead of the document store.
        id: b.add_text_field("id", (STRING | STORED).set_fast("raw")),
        tie: b.add_u64_field("tie", FAST),
        meta: b.add_bytes_field("meta", STORED),
        title_hu: b.add_text_field("title_hu", text(analysis::HU_STEM)),
        title_ascii: b.add_text_field("title_ascii", text(analysis::HU_ASCII)),
        body_hu: b.add_text_field("body_hu", text(analysis::HU_STEM)),
        body_ascii: b.add_text_field("body_ascii", text(analysis::HU_ASCII)),
        kind: b.add_text_field("kind", exact),
        sector: b.add_text_field("sector", keyword.clone()),
        settlement: b.add_text_field("settlement", keyword),
        year: b.add_i64_field("year", INDEXED | FAST),
        visibility: b.add_u64_field("visibility", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// Per-field token totals and the document count over what one audience may
/// see, for one searcher generation. Computing them walks every document, so
/// they are cached until the index changes.
#[derive(Debug, Clone)]
struct Totals {
    generation: u64,
    audience: Audience,
    docs: u64,
    tokens: HashMap<Field, u64>,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    parser: QueryParser,
    totals: Mutex<Option<Arc<Totals>>>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if missing. An index of another
    /// version or schema is wiped and recreated empty (its state is `None`, so
    /// the caller rebuilds it from the store).
    pub fn open(dir: &Path) -> Result<SearchIndex> {
        let (schema, fields) = schema();
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let existing = Index::open_in_dir(dir).ok().filter(|index| {
            index.schema() == schema
                && read_state(index).is_some_and(|s| s.version == INDEX_VERSION)
        });
        let index = match existing {
            Some(index) => index,
            None => {
                // Either new, or of another version: start from nothing.
                wipe_dir(dir)?;
                Index::create_in_dir(dir, schema.clone())?
            }
        };
        SearchIndex::serve(index, fields)
    }

    /// A new, empty index in memory (the fuzz target's; nothing persists).
    pub fn in_memory() -> Result<SearchIndex> {
        let (schema, fields) = schema();
        SearchIndex::serve(Index::create_in_ram(schema), fields)
    }

    /// Registers the analysers and sets up reader and query parser.
    fn serve(index: Index, fields: Fields) -> Result<SearchIndex> {
        let schema = index.schema();
        analysis::register(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let mut parser = QueryParser::new(
            schema,
            vec![
                fields.title_hu,
                fields.title_ascii,
                fields.body_hu,
                fields.body_ascii,
            ],
            index.tokenizers().clone(),
        );
        parser.set_conjunction_by_default();
        parser.set_field_boost(fields.title_hu, TITLE_BOOST);
        parser.set_field_boost(fields.title_ascii, TITLE_BOOST);
        Ok(SearchIndex {
            index,
            reader,
            fields,
            parser,
            totals: Mutex::new(None),
        })
    }

    /// The state of the last commit, if any commit has been made.
    pub fn state(&self) -> Option<IndexState> {
        read_state(&self.index)
    }

    /// Replaces the whole index with `docs`, committed as `generation`.
    pub fn rebuild(
        &self,
        docs: impl Iterator<Item = Result<Document>>,
        generation: u64,
    ) -> Result<usize> {
        let writer = self.writer()?;
        writer.delete_all_documents()?;
        let mut count = 0;
        for doc in docs {
            writer.add_document(self.to_index_doc(&doc?))?;
            count += 1;
        }
        self.commit(writer, generation)?;
        Ok(count)
    }

    /// Adds new documents and replaces updated ones (by id), and commits as
    /// `generation`. One commit for the whole set: a commit that carries the
    /// new generation is never a partial one. The documents are taken one at
    /// a time (the writer bounds its own memory), so the set may be larger
    /// than memory. `added` must not be in the index (they are not in the
    /// store), so only `updated` ones cost a delete. `progress` hears of every
    /// 64 documents written.
    pub fn apply(
        &self,
        added: impl IntoIterator<Item = Result<Document>>,
        updated: impl IntoIterator<Item = Result<Document>>,
        generation: u64,
        progress: &dyn Fn(u64),
    ) -> Result<()> {
        const PROGRESS_EVERY: u64 = 64;
        let writer = self.writer()?;
        let mut pending = 0;
        let added = added.into_iter().map(|doc| (doc, false));
        let updated = updated.into_iter().map(|doc| (doc, true));
        for (doc, replaces) in updated.chain(added) {
            let doc = doc?;
            if replaces {
                writer.delete_term(Term::from_field_text(self.fields.id, &doc.id));
            }
            writer.add_document(self.to_index_doc(&doc))?;
            pending += 1;
            if pending == PROGRESS_EVERY {
                progress(pending);
                pending = 0;
            }
        }
        if pending > 0 {
            progress(pending);
        }
        self.commit(writer, generation)
    }

    fn writer(&self) -> Result<IndexWriter> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4);
        Ok(self
            .index
            .writer_with_num_threads(threads, WRITER_MEMORY * threads)?)
    }

    fn commit(&self, mut writer: IndexWriter, generation: u64) -> Result<()> {
        let state = IndexState {
            version: INDEX_VERSION,
            generation,
        };
        let payload = serde_json::to_string(&state).map_err(|e| Error::Internal(e.to_string()))?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        // Merges may still run; waiting keeps the segment count small and
        // releases the writer's memory before we return.
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(())
    }

    fn to_index_doc(&self, d: &Document) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &d.id);
        doc.add_u64(f.tie, tie_of(&d.id));
        let meta = HitMeta {
            title: d.title.clone(),
            kind: d.kind.as_str().to_string(),
            year: d.year,
            settlements: d.settlements.clone(),
            sectors: d.sectors.clone(),
        };
        // Serialising a struct of strings and numbers cannot fail.
        doc.add_bytes(
            f.meta,
            serde_json::to_vec(&meta).unwrap_or_default().as_slice(),
        );
        doc.add_text(f.title_hu, &d.title);
        doc.add_text(f.title_ascii, &d.title);
        doc.add_text(f.body_hu, &d.body);
        doc.add_text(f.body_ascii, &d.body);
        doc.add_text(f.kind, d.kind.as_str());
        for s in &d.sectors {
            doc.add_text(f.sector, s);
        }
        for s in &d.settlements {
            doc.add_text(f.settlement, s);
        }
        if let Some(year) = d.year {
            doc.add_i64(f.year, i64::from(year));
        }
        doc.add_u64(f.visibility, d.visibility.code());
        doc
    }

    /// Parses the user's query leniently. Returns the query (or `None` when
    /// it has no searchable term, which matches every document) and what was
    /// ignored, in words.
    ///
    /// tantivy's parser recurses once per nested group, so the text's shape
    /// is checked first against the ceilings that no configuration can
    /// raise ([`limits::check_parser_ceiling`]); the configured, tighter
    /// limits are the node's to apply before this.
    fn user_query(&self, text: &str) -> Result<UserQuery> {
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
    fn full_query(
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
        if request.offset.saturating_add(limit) > MAX_DEPTH {
            return Err(Error::InvalidRequest(format!(
                "offset + limit: {}; at most {MAX_DEPTH} (the search depth); use a search_after cursor to page deeper",
                request.offset.saturating_add(limit)
            )));
        }
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
            });
        }
        let facets = match facet_counts {
            Some(counts) => FACETS
                .iter()
                .zip(counts)
                .map(|(name, counts)| facet(name, counts))
                .collect(),
            None => Vec::new(),
        };
        Ok(SearchResults {
            total: count as u64,
            hits,
            facets,
            ignored,
        })
    }

    /// A snippet generator for `field` that weighs the query's terms by the
    /// request's statistics (tantivy's own `create` would use this node's
    /// document frequencies), so that a hit's snippet is the same whichever
    /// server cuts it: a hub's member or one node holding everything.
    fn snippet_generator(
        &self,
        query: &dyn Query,
        field: Field,
        stats: &Stats<'_>,
    ) -> Option<SnippetGenerator> {
        let mut terms: Vec<Term> = Vec::new();
        query.query_terms(&mut |term, _| {
            if term.field() == field {
                terms.push(term.clone());
            }
        });
        let mut weights = std::collections::BTreeMap::new();
        for term in terms {
            let value = term.value();
            let Some(text) = value.as_str() else { continue };
            let df = stats.doc_freq(&term).ok()?;
            if df > 0 {
                weights.insert(text.to_string(), 1.0 / (1.0 + df as Score));
            }
        }
        let tokenizer = self.index.tokenizer_for_field(field).ok()?;
        Some(SnippetGenerator::new(
            weights,
            tokenizer,
            field,
            SNIPPET_CHARS,
        ))
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

    /// Number of live documents `audience` may see.
    pub fn visible_docs(&self, audience: Audience) -> Result<u64> {
        let searcher = self.reader.searcher();
        Ok(self.totals(&searcher, audience)?.docs)
    }

    fn totals(&self, searcher: &Searcher, audience: Audience) -> Result<Arc<Totals>> {
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
fn visible_doc_freq(
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
struct Stats<'a> {
    searcher: &'a Searcher,
    schema: Schema,
    visibility: Field,
    audience: Audience,
    totals: &'a Totals,
    global: Option<&'a CorpusStats>,
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

/// Bytes of body a snippet is looked for in at a time.
const SNIPPET_WINDOW: usize = 4096;

/// `text` in consecutive pieces of about `size` bytes, each ending at
/// whitespace where there is some, so that no word is cut in two.
fn windows(text: &str, size: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(size);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end < rest.len()
            && let Some(space) = rest[..end].rfind(char::is_whitespace)
            && space > 0
        {
            end = space;
        }
        if end == 0 {
            // A first character longer than the window: take it whole.
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (window, tail) = rest.split_at(end);
        rest = tail;
        Some(window)
    })
}

fn make_snippet(
    generators: Option<&(Option<SnippetGenerator>, Option<SnippetGenerator>)>,
    body: &str,
) -> Snippet {
    if let Some((hu, ascii)) = generators {
        // The snippet comes from the first window of the body where a query
        // term occurs: analysing a whole 900-word body to pick its best
        // passage cost more than the search itself, and a passage near the
        // start is as good a preview.
        for window in windows(body, SNIPPET_WINDOW) {
            for generator in [hu, ascii].into_iter().flatten() {
                let snippet = generator.snippet(window);
                if !snippet.is_empty() && !snippet.highlighted().is_empty() {
                    return Snippet {
                        text: snippet.fragment().to_string(),
                        highlights: snippet
                            .highlighted()
                            .iter()
                            .map(|r| (r.start, r.end))
                            .collect(),
                    };
                }
            }
        }
    }
    // No term matched the body (a title-only match, or an empty query): the
    // opening of the body, cut at a word boundary.
    let mut end = body.len().min(SNIPPET_CHARS);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    if end < body.len()
        && let Some(space) = body[..end].rfind(char::is_whitespace)
    {
        end = space;
    }
    Snippet {
        text: body[..end].trim().to_string(),
        highlights: Vec::new(),
    }
}

/// The facets of a search, in the order of their fast columns: three text
/// columns, then the year.
const FACETS: [&str; 4] = ["kind", "sector", "settlement", "year"];

/// Value → number of matching documents, per facet of [`FACETS`].
type FacetFruit = [HashMap<String, u64>; 4];

/// Counts the facets of every matching document from the fast columns: a
/// counter per term ordinal in each segment, turned into strings once at the
/// end. Broad queries match most documents, so this runs for nearly every
/// document of the node; tantivy's `FacetCollector` cost ~1 µs per document
/// and facet, this a few nanoseconds.
struct FacetCounter;

struct SegmentFacets {
    columns: [Option<tantivy::columnar::StrColumn>; 3],
    counts: [Vec<u64>; 3],
    year: Option<tantivy::columnar::Column<i64>>,
    years: HashMap<i64, u64>,
}

impl Collector for FacetCounter {
    type Fruit = FacetFruit;
    type Child = SegmentFacets;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let fast = segment.fast_fields();
        let columns = [
            fast.str(FACETS[0])?,
            fast.str(FACETS[1])?,
            fast.str(FACETS[2])?,
        ];
        let counts = [0, 1, 2].map(|i| {
            columns[i]
                .as_ref()
                .map_or_else(Vec::new, |c| vec![0; c.num_terms()])
        });
        Ok(SegmentFacets {
            columns,
            counts,
            year: fast.column_opt::<i64>(FACETS[3])?,
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
        fruit[3] = self
            .years
            .into_iter()
            .map(|(year, count)| (year.to_string(), count))
            .collect();
        fruit
    }
}

fn facet(name: &str, counts: HashMap<String, u64>) -> Facet {
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

fn read_state(index: &Index) -> Option<IndexState> {
    let metas = index.load_metas().ok()?;
    serde_json::from_str(metas.payload.as_deref()?).ok()
}

fn wipe_dir(dir: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    for entry in entries {
        let path = entry
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
            .path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn windows_cover_the_text_and_cut_at_whitespace() {
        let text = "árvíztűrő tükörfúrógép ".repeat(500);
        let pieces: Vec<&str> = super::windows(&text, 100).collect();
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| p.len() <= 100));
        assert!(
            pieces[1..]
                .iter()
                .all(|p| p.starts_with(char::is_whitespace))
        );
        let long = "ő".repeat(10);
        assert_eq!(super::windows(&long, 1).collect::<String>(), long);
    }
}
