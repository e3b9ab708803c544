//! One file of documents on its way into the store ([`DocumentImport`]):
//! compared with the stored copies, the changed ones staged ([`super::staged`]),
//! then published as one unit (see the store's module documentation).

use std::sync::MutexGuard;

use super::staged::StagedFile;
use super::{Counts, Store, codec, decode, encode};
use crate::error::Result;
use crate::import::{Incoming, VisibilityChange};
use tudashalo_core::model::{Document, Visibility};

/// One file of documents on its way into the store: [`DocumentImport::stage`]
/// compares each document with the stored one and appends the changed ones
/// (compressed as `docs` keeps them) to the staged file;
/// [`DocumentImport::publish`] makes them the store's documents as one unit
/// (see the store's module documentation). Dropped unpublished (the file was
/// refused or failed), it discards what it staged. Ids must not repeat within
/// one import.
#[derive(Debug)]
pub struct DocumentImport<'a> {
    pub(super) store: &'a Store,
    pub(super) _exclusive: MutexGuard<'a, ()>,
    /// The staged file, created with the first changed document.
    pub(super) file: Option<StagedFile>,
    pub(super) counts: Counts,
    /// Ids of the staged documents, for the index.
    pub(super) added: Vec<String>,
    pub(super) updated: Vec<String>,
    /// Stored documents whose visibility this import changes.
    pub(super) visibility_changes: Vec<VisibilityChange>,
    pub(super) finished: bool,
}

/// The outcome of publishing an import.
#[derive(Debug, Default)]
pub struct DocumentsPublished {
    pub counts: Counts,
    /// Ids of the documents added (new ids), in the order they were staged.
    pub added: Vec<String>,
    /// Ids of the documents whose stored copy changed.
    pub updated: Vec<String>,
    /// The generation they were published as (the current one if nothing
    /// changed).
    pub generation: u64,
    /// Stored documents whose visibility changed, in the order staged.
    pub visibility_changes: Vec<VisibilityChange>,
}

/// Only the visibility of a stored document (the rest of its JSON is skipped).
#[derive(serde::Deserialize)]
struct StoredVisibility {
    #[serde(default)]
    visibility: Visibility,
}

impl DocumentImport<'_> {
    /// Stages a batch of documents whose visibility is as stated: those
    /// that differ from (or are not in) the store are staged;
    /// the rest are counted unchanged.
    pub fn stage(&mut self, docs: &[Document]) -> Result<()> {
        for doc in docs {
            self.stage_one(doc.clone(), true)?;
        }
        Ok(())
    }

    /// Stages a batch of imported documents. One whose record did not state
    /// a visibility keeps the visibility of its stored copy (a new one gets
    /// the default): leaving the field out never widens who sees it. Every
    /// stored document whose visibility changes is listed for the report.
    pub fn stage_incoming(&mut self, docs: Vec<Incoming>) -> Result<()> {
        for incoming in docs {
            self.stage_one(incoming.document, incoming.visibility_stated)?;
        }
        Ok(())
    }

    fn stage_one(&mut self, mut doc: Document, visibility_stated: bool) -> Result<()> {
        let key = doc.id.as_bytes();
        let old = match self.store.docs.get(key)? {
            Some(value) => Some(codec::json(&value, key)?.into_owned()),
            None => None,
        };
        if let Some(old) = &old {
            let stored = decode::<StoredVisibility>(old, "document")?.visibility;
            if !visibility_stated {
                doc.visibility = stored;
            } else if stored != doc.visibility {
                self.visibility_changes.push(VisibilityChange {
                    id: doc.id.clone(),
                    from: stored,
                    to: doc.visibility,
                });
            }
        }
        let bytes = encode(&doc)?;
        match old {
            Some(old) if old.as_slice() == bytes.as_slice() => {
                self.counts.unchanged += 1;
                return Ok(());
            }
            Some(_) => {
                self.counts.updated += 1;
                self.updated.push(doc.id.clone());
            }
            None => {
                self.counts.added += 1;
                self.added.push(doc.id.clone());
            }
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(StagedFile::create(&self.store.staged)?),
        };
        file.append(doc.id.as_bytes(), &codec::compress(bytes)?)?;
        Ok(())
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Publishes the staged documents as one unit with a new generation, if
    /// any document changed, and flushes before returning.
    pub fn publish(mut self) -> Result<DocumentsPublished> {
        self.finished = true;
        let store = self.store;
        let generation = if self.added.is_empty() && self.updated.is_empty() {
            store.generation()?
        } else {
            // Synced before the marker names it.
            if let Some(file) = &mut self.file {
                file.sync()?;
            }
            self.file = None;
            let next = store.begin_publish()?;
            store.complete_publish()?;
            next
        };
        Ok(DocumentsPublished {
            counts: self.counts,
            added: std::mem::take(&mut self.added),
            updated: std::mem::take(&mut self.updated),
            generation,
            visibility_changes: std::mem::take(&mut self.visibility_changes),
        })
    }
}

impl Drop for DocumentImport<'_> {
    fn drop(&mut self) {
        // Closed before it is removed.
        self.file = None;
        if !self.finished
            && let Err(e) = self.store.discard_staging()
        {
            // The next import or open clears it.
            tracing::warn!(error = %e, "could not discard staged documents");
        }
    }
}

/// Crashes of a document import, for tests: what the process would leave on
/// disk if it died at that point (the import is ended without cleaning up).
#[cfg(test)]
impl DocumentImport<'_> {
    /// Dies before publishing: the staged documents are on disk, no marker.
    pub(crate) fn crash_before_publish(mut self) -> Result<()> {
        let store = self.store;
        if let Some(file) = &mut self.file {
            file.sync()?;
        }
        self.finished = true;
        drop(self);
        store.db.flush()?;
        Ok(())
    }

    /// Dies while publishing: the transaction is done, the first `moved`
    /// staged documents have been written into `docs`, the staged file is
    /// still there. Returns the generation the file was published as.
    pub(crate) fn crash_during_publish(mut self, moved: usize) -> Result<u64> {
        let store = self.store;
        if let Some(file) = &mut self.file {
            file.sync()?;
        }
        self.finished = true;
        drop(self);
        let generation = store.begin_publish()?;
        if let Some(records) = super::staged::read(&store.staged)? {
            for record in records.take(moved) {
                let (key, value) = record?;
                store.docs.insert(key, value)?;
            }
        }
        store.db.flush()?;
        Ok(generation)
    }

    /// Writes out what is staged so far (for checks of the staged file).
    pub(crate) fn sync_staged(&mut self) -> Result<()> {
        match &mut self.file {
            Some(file) => file.sync(),
            None => Ok(()),
        }
    }

    /// How many documents are staged (for checks): in the file and the tree.
    pub(crate) fn staged_len(store: &Store) -> usize {
        let in_file = super::staged::read(&store.staged)
            .ok()
            .flatten()
            .map_or(0, |records| records.count());
        store.staging.len() + in_file
    }
}
