//! The tantivy index: a derived, rebuildable view of the documents in sled.
//!
//! This module owns the index's life: opening (an index of another version
//! is wiped), rebuilding, applying an import's changes, and committing with
//! the store generation it reflects. The rest is by concern:
//! - `schema`: the fields, and the translation of a [`Searchable`] (a
//!   document or a register record) into them;
//! - `query`: lenient parsing of the user's text, filters and visibility;
//! - `stats`: BM25 statistics over the documents an audience may see, and
//!   scoring with caller-supplied statistics for federated ranking;
//! - `search`: running a search into hits;
//! - `snippet`: the passages a hit shows; `facets`: counts of the matches;
//! - `words`: the plain words of a query text (for proximity and
//!   suggestions); `suggest`: other spellings from the visible vocabulary.
//!
//! Invariants:
//! - The index never holds anything that is not in the store; it may be
//!   deleted and rebuilt at any time ([`SearchIndex::rebuild`]).
//! - Each commit records the store generation it reflects in the commit
//!   payload, so that start-up can tell an index that is behind or ahead.
//! - Statistics and scores of one request come from the same pinned
//!   [`tantivy::Searcher`], and count only documents the audience may see: a
//!   `local` document never shows in a count, a facet or a document
//!   frequency.
//! - Document bodies are not stored here (sled has them); snippets are cut
//!   from the store's copy.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tantivy::query::QueryParser;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Score, Term};

use crate::analysis;
use crate::error::{Error, Result};
use tudashalo_core::register::{Entity, Searchable};

use schema::Fields;
use stats::Totals;

mod facets;
mod query;
mod schema;
mod search;
mod snippet;
mod stats;
mod suggest;
mod words;

/// Bumped whenever the schema or the analysers change; an index of another
/// version is rebuilt at start.
pub const INDEX_VERSION: u32 = 4;

/// The text fields that queries search, and whose statistics federate.
pub const TEXT_FIELDS: [&str; 4] = ["title_hu", "title_ascii", "body_hu", "body_ascii"];

/// Titles weigh more than bodies.
const TITLE_BOOST: Score = 2.0;
const WRITER_MEMORY: usize = 64 * 1024 * 1024;

/// What a commit says about itself, stored as the commit payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexState {
    pub version: u32,
    /// The store generation this commit reflects.
    pub generation: u64,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    parser: QueryParser,
    totals: Mutex<Option<Arc<Totals>>>,
    /// Counts the commits this process made searchable: bumped after the
    /// reader has reloaded, so whoever sees a new value searches at least
    /// that commit ([`SearchIndex::commits`]).
    commits: tokio::sync::watch::Sender<u64>,
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
        let (schema, fields) = schema::schema();
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
        let (schema, fields) = schema::schema();
        SearchIndex::serve(Index::create_in_ram(schema), fields)
    }

    /// Registers the analysers (and the vocabulary's tokenizer) and sets up
    /// reader and query parser.
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
            commits: tokio::sync::watch::Sender::new(0),
        })
    }

    /// The commits made searchable since the index was opened, now and as
    /// they happen: what a node's data version is made of.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// The segments of the index as the reader sees it now (for the metrics).
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// The state of the last commit, if any commit has been made.
    pub fn state(&self) -> Option<IndexState> {
        read_state(&self.index)
    }

    /// Replaces the whole index with `docs`, committed as `generation`.
    pub fn rebuild(
        &self,
        docs: impl Iterator<Item = Result<Searchable>>,
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
        added: impl IntoIterator<Item = Result<Searchable>>,
        updated: impl IntoIterator<Item = Result<Searchable>>,
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
                writer.delete_term(Term::from_field_text(self.fields.id, &doc.key));
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

    /// Replaces every register record of the index (organisations,
    /// developments, groups) with `records`, in one commit as `generation`.
    /// The register is small, and a record's text names other records
    /// (a development's partners), so a change anywhere re-indexes it whole.
    pub fn replace_register(&self, records: Vec<Searchable>, generation: u64) -> Result<()> {
        let writer = self.writer()?;
        for entity in [Entity::Development, Entity::Organisation, Entity::Group] {
            writer.delete_term(Term::from_field_text(self.fields.entity, entity.as_str()));
        }
        for record in &records {
            writer.add_document(self.to_index_doc(record))?;
        }
        self.commit(writer, generation)
    }

    /// A writer. Writers of this process never overlap (the node writes
    /// the index from one import at a time), but tantivy releases the
    /// directory's lock only when the last thread of the previous writer
    /// has let go of it, which can be a moment after that writer returned:
    /// a busy lock is retried for up to [`WRITER_LOCK_ATTEMPTS`] × 20 ms
    /// before it is an error (a flaky end-to-end import found it).
    fn writer(&self) -> Result<IndexWriter> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4);
        let mut attempts = 0;
        loop {
            match self
                .index
                .writer_with_num_threads(threads, WRITER_MEMORY * threads)
            {
                Err(tantivy::TantivyError::LockFailure(
                    tantivy::directory::error::LockError::LockBusy,
                    _,
                )) if attempts < WRITER_LOCK_ATTEMPTS => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return Ok(other?),
            }
        }
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
        self.commits.send_modify(|n| *n += 1);
        Ok(())
    }
}

/// How often a busy index lock is tried for, 20 ms apart (see `writer`).
const WRITER_LOCK_ATTEMPTS: u32 = 100;

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
#[allow(clippy::unwrap_used)]
mod tests;
