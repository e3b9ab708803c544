//! The node's source of truth: sled.
//!
//! Trees: `docs` (id → JSON document), `obs` (indicator NUL settlement NUL
//! period → JSON observation), `catalogue` (code → JSON indicator) and `meta`
//! (counters). Each imported file of documents lands as one unit together
//! with the bump of the document generation, and is flushed before the index
//! hears of it: a crash leaves either the old or the new state of that file,
//! and the index, which records the generation it reflects, can tell that it
//! is behind.
//!
//! A file of documents may be far larger than memory, so it is not one sled
//! transaction ([`DocumentImport`]): its changed documents are first written
//! to the `staging` tree, a batch at a time, and flushed. Publishing is then
//! one small transaction in `meta` that bumps the generation and sets the
//! `publishing` marker (naming that generation), flushed; after it the staged
//! documents move into `docs` in batches (each flushed in `docs` before it
//! leaves `staging`), and the marker is cleared. [`Store::open`] (and the
//! next import) finishes a publish that a crash interrupted (the marker is
//! set: the file is in), and discards a staging tree without the marker (the
//! file never was): nothing reads `docs` before that.
//!
//! The store must not know about tantivy or gRPC.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::error::{Error, Result};
use crate::import::{Incoming, VisibilityChange};
use tudashalo_core::model::Catalogue;
use tudashalo_core::model::{Document, Indicator, Observation, Visibility};

mod register;
pub use register::{Register, RegisterRecords, RegisterUpsert};

const GENERATION: &[u8] = b"doc_generation";
/// Set (to the new generation) while a file's staged documents are being
/// published into `docs`; see the module documentation.
const PUBLISHING: &[u8] = b"publishing";
/// How many staged documents (or bytes of them) are copied into `docs` at a
/// time when publishing.
const COPY_BATCH_DOCS: usize = 1_000;
const COPY_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// A random number drawn when the store is created: generations of two
/// stores (say, a data folder deleted and imported again) are not comparable.
const IDENTITY: &[u8] = b"identity";
/// The store's schema version: what the trees hold and how. A store of a
/// newer version is refused at open (an older binary cannot know what it
/// would misread); an older one is upgraded in place, then stamped.
/// History: 1 documents, observations, catalogue, audit; 2 the register.
pub const SCHEMA_VERSION: u32 = 2;
const SCHEMA: &[u8] = b"schema_version";
/// How often to try for the store's lock, 50 ms apart.
const LOCK_ATTEMPTS: u32 = 30;

/// How many records an upsert added, changed and left as they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// The outcome of upserting documents: counts, the documents that changed
/// (for the index), and the generation they were committed as.
#[derive(Debug, Default)]
pub struct DocumentUpsert {
    pub counts: Counts,
    pub changed: Vec<Document>,
    pub generation: u64,
}

#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    docs: Tree,
    obs: Tree,
    catalogue: Tree,
    meta: Tree,
    /// A file's changed documents before they are published into `docs`.
    staging: Tree,
    /// One document import at a time: they share `staging`.
    importing: Arc<Mutex<()>>,
    /// Bumped (in memory) after every write of observations or catalogue
    /// entries: what was derived from them under another version is stale.
    observations_version: Arc<AtomicU64>,
    /// Every write to the store's own trees holds this shared; a backup
    /// holds it exclusively while it copies them ([`Store::snapshot`]), so
    /// that it sees one state of all trees. A write is one batch or one
    /// transaction, so a backup waits for at most one of them, and an
    /// import in progress is caught between two of its steps, which the
    /// crash recovery already makes a consistent state (see the module
    /// documentation). Reads never take it.
    writes: Arc<RwLock<()>>,
}

impl Store {
    /// Opens (or creates) the store in `dir`. sled holds an exclusive lock on
    /// it, so a second process gets [`Error::Locked`] instead of a corrupt store.
    pub fn open(dir: &Path, node_dir: &Path) -> Result<Store> {
        // sled's background flusher keeps the folder's lock for a moment
        // after the last handle of a previous opener is dropped (up to its
        // flush interval), so a lock held by a process or handle that is
        // going away is retried briefly before the node is called in use.
        let config = sled::Config::new()
            .path(dir)
            // The node is small; a modest cache keeps the idle footprint low.
            .cache_capacity(32 * 1024 * 1024);
        let mut attempts = 0;
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(sled::Error::Io(io)) if io.to_string().contains("could not acquire lock") => {
                    attempts += 1;
                    if attempts >= LOCK_ATTEMPTS {
                        return Err(Error::Locked {
                            dir: PathBuf::from(node_dir),
                        });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(Error::Store(e)),
            }
        };
        let store = Store {
            docs: db.open_tree("docs")?,
            obs: db.open_tree("obs")?,
            catalogue: db.open_tree("catalogue")?,
            meta: db.open_tree("meta")?,
            staging: db.open_tree("staging")?,
            importing: Arc::default(),
            observations_version: Arc::default(),
            writes: Arc::default(),
            db,
        };
        store.check_schema(node_dir)?;
        store.recover_documents()?;
        if store.meta.get(IDENTITY)?.is_none() {
            store.meta.insert(IDENTITY, &new_identity().to_be_bytes())?;
        }
        Ok(store)
    }

    /// Refuses a store of a newer schema; stamps an older (or new) one with
    /// [`SCHEMA_VERSION`] — version 1 needs no change to read as 2: the
    /// register's trees start empty.
    fn check_schema(&self, node_dir: &Path) -> Result<()> {
        let found = self
            .meta
            .get(SCHEMA)?
            .map(|v| u64_of(&v) as u32)
            .unwrap_or(1);
        if found > SCHEMA_VERSION {
            return Err(Error::StoreTooNew {
                dir: node_dir.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION && !self.meta.is_empty() {
            tracing::info!(
                from = found,
                to = SCHEMA_VERSION,
                "upgraded the store's schema in place"
            );
        }
        if found < SCHEMA_VERSION || self.meta.get(SCHEMA)?.is_none() {
            let _write = self.writing();
            self.meta
                .insert(SCHEMA, &u64::from(SCHEMA_VERSION).to_be_bytes())?;
            self.db.flush()?;
        }
        Ok(())
    }

    /// The schema version the store is stamped with.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self.meta.get(SCHEMA)?.map_or(1, |v| u64_of(&v) as u32))
    }

    /// Stamps the store with another schema version (tests of upgrades).
    #[cfg(test)]
    pub(crate) fn set_schema_version(&self, version: u32) -> Result<()> {
        self.meta
            .insert(SCHEMA, &u64::from(version).to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// The store's identity (see [`IDENTITY`]).
    pub fn identity(&self) -> Result<u64> {
        Ok(self.meta.get(IDENTITY)?.map_or(0, |v| u64_of(&v)))
    }

    /// The document generation: bumped by every import that changes a document.
    pub fn generation(&self) -> Result<u64> {
        Ok(self.meta.get(GENERATION)?.map_or(0, |v| u64_of(&v)))
    }

    pub fn document(&self, id: &str) -> Result<Option<Document>> {
        self.docs
            .get(id.as_bytes())?
            .map(|v| decode(&v, "document"))
            .transpose()
    }

    /// Every document, in id order, read one lookup at a time so that memory
    /// stays bounded however many there are.
    pub fn documents(&self) -> impl Iterator<Item = Result<Document>> + '_ {
        scan(&self.docs).map(|entry| entry.and_then(|(_, v)| decode(&v, "document")))
    }

    pub fn document_count(&self) -> usize {
        scan(&self.docs).count()
    }

    pub fn observation_count(&self) -> usize {
        self.obs.len()
    }

    /// The in-memory version of the observations and the catalogue: read it
    /// before reading them, and whatever was derived from them stays valid
    /// while it does not change. Not persisted: it names states of this
    /// process's store only.
    pub fn observations_version(&self) -> u64 {
        self.observations_version.load(Ordering::Acquire)
    }

    /// Every observation, in key order (indicator, settlement, period).
    pub fn observations(&self) -> impl Iterator<Item = Result<Observation>> + '_ {
        self.obs.iter().values().map(|v| {
            v.map_err(Error::from)
                .and_then(|v| decode(&v, "observation"))
        })
    }

    pub fn catalogue(&self) -> Result<Catalogue> {
        let mut out = Catalogue::new();
        for v in self.catalogue.iter().values() {
            let indicator: Indicator = decode(&v?, "indicator")?;
            out.insert(indicator.code.clone(), indicator);
        }
        Ok(out)
    }

    /// Upserts documents by id as one unit, bumping the generation if
    /// anything changed, and flushes to disk before returning. For small
    /// sets: it returns the changed documents themselves. An import streams
    /// through [`Store::begin_documents`] instead.
    pub fn upsert_documents(&self, docs: &[Document]) -> Result<DocumentUpsert> {
        let mut import = self.begin_documents()?;
        import.stage(docs)?;
        let published = import.publish()?;
        let changed: std::collections::HashSet<&str> = published
            .added
            .iter()
            .chain(&published.updated)
            .map(String::as_str)
            .collect();
        Ok(DocumentUpsert {
            counts: published.counts,
            changed: docs
                .iter()
                .filter(|d| changed.contains(d.id.as_str()))
                .cloned()
                .collect(),
            generation: published.generation,
        })
    }

    /// Starts importing one file of documents (see [`DocumentImport`]). Only
    /// one import runs at a time; another waits here.
    pub fn begin_documents(&self) -> Result<DocumentImport<'_>> {
        let exclusive = self
            .importing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Normally nothing to do: only a publish that failed half-way (it is
        // finished) or a failed clean-up (it is discarded) leaves anything.
        self.recover_documents()?;
        Ok(DocumentImport {
            store: self,
            _exclusive: exclusive,
            counts: Counts::default(),
            added: Vec::new(),
            updated: Vec::new(),
            visibility_changes: Vec::new(),
            finished: false,
        })
    }

    /// Step one of publishing the staged documents: makes them durable, then
    /// bumps the generation and sets the marker in one transaction, flushed.
    /// From here on the file is in, whatever happens.
    fn begin_publish(&self) -> Result<u64> {
        self.db.flush()?;
        let _write = self.writing();
        let next = self
            .meta
            .transaction(|meta| {
                let current = meta.get(GENERATION)?.map_or(0, |v| u64_of(&v));
                let next = current + 1;
                meta.insert(GENERATION, &next.to_be_bytes())?;
                meta.insert(PUBLISHING, &next.to_be_bytes())?;
                Ok::<u64, ConflictableTransactionError<()>>(next)
            })
            .map_err(transaction_error)?;
        self.db.flush()?;
        Ok(next)
    }

    /// Step two: moves the staged documents into `docs` a batch at a time
    /// (each batch flushed in `docs` before it leaves `staging`), then clears
    /// the marker. Doing it again after a crash is harmless: what is still
    /// staged is written again.
    fn complete_publish(&self) -> Result<usize> {
        let mut moved = 0;
        let mut pending = Vec::new();
        let mut bytes = 0;
        for entry in scan(&self.staging) {
            let (key, value) = entry?;
            bytes += key.len() + value.len();
            pending.push((key, value));
            if pending.len() >= COPY_BATCH_DOCS || bytes >= COPY_BATCH_BYTES {
                moved += self.move_staged(&mut pending)?;
                bytes = 0;
            }
        }
        moved += self.move_staged(&mut pending)?;
        let _write = self.writing();
        self.meta.remove(PUBLISHING)?;
        self.db.flush()?;
        Ok(moved)
    }

    /// Writes staged documents into `docs`, flushes, and only then removes
    /// them from `staging`.
    fn move_staged(&self, pending: &mut Vec<(sled::IVec, sled::IVec)>) -> Result<usize> {
        let _write = self.writing();
        let count = pending.len();
        let mut docs = sled::Batch::default();
        let mut done = sled::Batch::default();
        for (key, value) in pending.drain(..) {
            done.remove(key.clone());
            docs.insert(key, value);
        }
        self.docs.apply_batch(docs)?;
        self.db.flush()?;
        self.staging.apply_batch(done)?;
        Ok(count)
    }

    /// Discards whatever is staged, returning how many documents that was.
    fn discard_staging(&self) -> Result<usize> {
        let mut discarded = 0;
        let mut batch = sled::Batch::default();
        for entry in scan(&self.staging) {
            batch.remove(entry?.0);
            discarded += 1;
            if discarded % COPY_BATCH_DOCS == 0 {
                let _write = self.writing();
                self.staging.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        let _write = self.writing();
        self.staging.apply_batch(batch)?;
        Ok(discarded)
    }

    /// At open, before anything reads, and before each import: finishes an
    /// interrupted publish, or discards documents staged by an import that
    /// never published.
    fn recover_documents(&self) -> Result<()> {
        if let Some(generation) = self.meta.get(PUBLISHING)? {
            let documents = self.complete_publish()?;
            tracing::warn!(
                generation = u64_of(&generation),
                documents,
                "finished publishing an import that was interrupted"
            );
        } else if !self.staging.is_empty() {
            let documents = self.discard_staging()?;
            self.db.flush()?;
            tracing::warn!(
                documents,
                "discarded the staged documents of an import that was interrupted"
            );
        }
        Ok(())
    }

    /// Upserts observations by (indicator, settlement, period), atomically.
    pub fn upsert_observations(&self, observations: &[Observation]) -> Result<Counts> {
        let records: Vec<(Vec<u8>, Vec<u8>)> = observations
            .iter()
            .map(|o| Ok((o.key(), encode(o)?)))
            .collect::<Result<_>>()?;
        let counts = self.upsert_batch(&self.obs, records);
        // After the write, even a failed one (it may have been applied).
        self.observations_version.fetch_add(1, Ordering::AcqRel);
        counts
    }

    /// Upserts catalogue entries by code, atomically.
    pub fn upsert_catalogue(&self, indicators: &[Indicator]) -> Result<Counts> {
        let records: Vec<(Vec<u8>, Vec<u8>)> = indicators
            .iter()
            .map(|i| Ok((i.code.as_bytes().to_vec(), encode(i)?)))
            .collect::<Result<_>>()?;
        let counts = self.upsert_batch(&self.catalogue, records);
        self.observations_version.fetch_add(1, Ordering::AcqRel);
        counts
    }

    fn upsert_batch(&self, tree: &Tree, records: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Counts> {
        let mut counts = Counts::default();
        let mut batch = sled::Batch::default();
        for (key, value) in records {
            match tree.get(&key)? {
                Some(old) if old.as_ref() == value.as_slice() => {
                    counts.unchanged += 1;
                    continue;
                }
                Some(_) => counts.updated += 1,
                None => counts.added += 1,
            }
            batch.insert(key, value);
        }
        // A batch on one tree is applied atomically.
        let _write = self.writing();
        tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(counts)
    }

    /// Another tree of the same database (e.g. the audit log's), opened or
    /// created.
    pub fn tree(&self, name: &str) -> Result<Tree> {
        Ok(self.db.open_tree(name)?)
    }

    /// Bytes on disk, for `stats`.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Held (shared) by every write to the store's trees; see [`Store::writes`].
    fn writing(&self) -> RwLockReadGuard<'_, ()> {
        self.writes.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Calls `each` with every entry of every tree but `except` (by tree
    /// name, key order within a tree), as one state of the store: writes
    /// wait until it returns. Memory stays bounded (one lookup at a time).
    /// `each` gets the tree's name, the key and the value, and may fail.
    pub fn snapshot(
        &self,
        except: &[&str],
        mut each: impl FnMut(&[u8], &[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        let _all = self.writes.write().unwrap_or_else(PoisonError::into_inner);
        let mut names = self.db.tree_names();
        names.sort();
        for name in names {
            if except.iter().any(|e| e.as_bytes() == name.as_ref()) {
                continue;
            }
            let tree = self.db.open_tree(&name)?;
            for entry in scan(&tree) {
                let (key, value) = entry?;
                each(&name, &key, &value)?;
            }
        }
        Ok(())
    }

    /// Draws a new [`IDENTITY`]: a restored store is a new line of
    /// generations, not comparable with those of the store it was copied
    /// from (which may have gone on to the same generation numbers with
    /// other documents).
    pub fn renew_identity(&self) -> Result<u64> {
        let _write = self.writing();
        let identity = new_identity();
        self.meta.insert(IDENTITY, &identity.to_be_bytes())?;
        self.db.flush()?;
        Ok(identity)
    }
}

/// A random number for [`IDENTITY`].
pub(crate) fn new_identity() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS; the time and process make two
    // stores created at once differ even without it.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// One file of documents on its way into the store: [`DocumentImport::stage`]
/// compares each document with the stored one and writes the changed ones to
/// `staging`; [`DocumentImport::publish`] makes them the store's documents as
/// one unit (see the module documentation). Dropped unpublished (the file was
/// refused or failed), it discards what it staged. Ids must not repeat within
/// one import.
#[derive(Debug)]
pub struct DocumentImport<'a> {
    store: &'a Store,
    _exclusive: MutexGuard<'a, ()>,
    counts: Counts,
    /// Ids of the staged documents, for the index.
    added: Vec<String>,
    updated: Vec<String>,
    /// Stored documents whose visibility this import changes.
    visibility_changes: Vec<VisibilityChange>,
    finished: bool,
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
    /// that differ from (or are not in) the store are written to `staging`;
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
        let old = self.store.docs.get(doc.id.as_bytes())?;
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
            Some(old) if old.as_ref() == bytes.as_slice() => {
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
        let _write = self.store.writing();
        self.store.staging.insert(doc.id.as_bytes(), bytes)?;
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
        if !self.finished
            && let Err(e) = self.store.discard_staging()
        {
            // The next import or open clears it.
            tracing::warn!(error = %e, "could not discard staged documents");
        }
    }
}

/// Every entry of `tree`, in key order, one lookup at a time. A sled `Iter`
/// walked across a large tree holds on to what it has read (memory in
/// proportion to the tree: 500 MB for 535 MB of documents), while one lookup
/// per entry stays within the cache.
fn scan(tree: &Tree) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec)>> + '_ {
    let mut last: Option<sled::IVec> = None;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let next = match &last {
            None => tree.first(),
            Some(key) => tree.get_gt(key),
        };
        match next {
            Ok(Some((key, value))) => {
                last = Some(key.clone());
                Some(Ok((key, value)))
            }
            Ok(None) => {
                done = true;
                None
            }
            Err(e) => {
                done = true;
                Some(Err(e.into()))
            }
        }
    })
}

fn transaction_error(e: TransactionError<()>) -> Error {
    match e {
        TransactionError::Storage(e) => Error::Store(e),
        TransactionError::Abort(()) => Error::Transaction("aborted".into()),
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(format!("encoding a record: {e}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

fn u64_of(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    if bytes.len() == 8 {
        buf.copy_from_slice(bytes);
    }
    u64::from_be_bytes(buf)
}

/// Crashes of a document import, for tests: what the process would leave on
/// disk if it died at that point (the import is ended without cleaning up).
#[cfg(test)]
impl DocumentImport<'_> {
    /// Dies before publishing: the staged documents are on disk, no marker.
    pub(crate) fn crash_before_publish(mut self) -> Result<()> {
        let store = self.store;
        self.finished = true;
        drop(self);
        store.db.flush()?;
        Ok(())
    }

    /// Dies while publishing: the transaction is done, the first `moved`
    /// staged documents have been moved into `docs` and the next 10 copied
    /// there but not yet removed from `staging`. Returns the generation the
    /// file was published as.
    pub(crate) fn crash_during_publish(mut self, moved: usize) -> Result<u64> {
        let store = self.store;
        self.finished = true;
        drop(self);
        let generation = store.begin_publish()?;
        let mut first: Vec<_> = scan(&store.staging).take(moved).collect::<Result<_>>()?;
        store.move_staged(&mut first)?;
        for entry in scan(&store.staging).take(10) {
            let (key, value) = entry?;
            store.docs.insert(key, value)?;
        }
        store.db.flush()?;
        Ok(generation)
    }

    /// How many documents are staged (for checks).
    pub(crate) fn staged_len(store: &Store) -> usize {
        store.staging.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod document_import_tests {
    use super::*;
    use tudashalo_core::model::Kind;

    fn doc(id: &str, body: &str) -> Document {
        Document {
            id: id.to_string(),
            title: format!("Cím {id}"),
            body: body.to_string(),
            kind: Kind::Other,
            sectors: Vec::new(),
            settlements: Vec::new(),
            year: None,
            org: None,
            visibility: Default::default(),
            tags: Vec::new(),
            url: None,
            source: None,
            extra: Default::default(),
        }
    }

    fn docs(range: std::ops::Range<usize>, body: &str) -> Vec<Document> {
        range.map(|i| doc(&format!("d-{i:05}"), body)).collect()
    }

    fn open(dir: &Path) -> Store {
        Store::open(&dir.join("store"), dir).unwrap()
    }

    fn bodies(store: &Store) -> Vec<(String, String)> {
        store
            .documents()
            .map(|d| d.map(|d| (d.id, d.body)))
            .collect::<Result<_>>()
            .unwrap()
    }

    #[test]
    fn staged_documents_are_published_as_one_unit_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut import = store.begin_documents().unwrap();
        // More than two copy batches.
        for batch in docs(0..2_500, "régi").chunks(700) {
            import.stage(batch).unwrap();
        }
        assert_eq!(
            store.document_count(),
            0,
            "nothing is visible before publishing"
        );
        let published = import.publish().unwrap();
        assert_eq!(published.counts.added, 2_500);
        assert_eq!((published.added.len(), published.updated.len()), (2_500, 0));
        assert_eq!(published.generation, 1);
        assert_eq!(store.document_count(), 2_500);
        assert_eq!(DocumentImport::staged_len(&store), 0);
        assert_eq!(store.meta.get(PUBLISHING).unwrap(), None);

        // Again, with one changed: one updated, the rest unchanged.
        let mut again = docs(0..2_500, "régi");
        again[1_234].body = "új".to_string();
        let upsert = store.upsert_documents(&again).unwrap();
        assert_eq!(
            upsert.counts,
            Counts {
                added: 0,
                updated: 1,
                unchanged: 2_499
            }
        );
        assert_eq!(upsert.changed, vec![again[1_234].clone()]);
        assert_eq!(upsert.generation, 2);
        // Nothing changed: the generation stays.
        let upsert = store.upsert_documents(&again).unwrap();
        assert_eq!(upsert.counts.unchanged, 2_500);
        assert!(upsert.changed.is_empty());
        assert_eq!((upsert.generation, store.generation().unwrap()), (2, 2));
    }

    #[test]
    fn an_import_dropped_unpublished_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut import = store.begin_documents().unwrap();
        import.stage(&docs(0..10, "x")).unwrap();
        assert_eq!(DocumentImport::staged_len(&store), 10);
        drop(import);
        assert_eq!(DocumentImport::staged_len(&store), 0);
        assert_eq!(
            (store.document_count(), store.generation().unwrap()),
            (0, 0)
        );
    }

    #[test]
    fn a_crash_before_publishing_is_discarded_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        store.upsert_documents(&docs(0..3, "alap")).unwrap();
        let mut import = store.begin_documents().unwrap();
        import.stage(&docs(0..1_500, "új")).unwrap();
        import.crash_before_publish().unwrap();
        drop(store);

        let store = open(dir.path());
        assert_eq!(DocumentImport::staged_len(&store), 0);
        assert_eq!(store.generation().unwrap(), 1);
        assert_eq!(
            bodies(&store),
            docs(0..3, "alap")
                .into_iter()
                .map(|d| (d.id, d.body))
                .collect::<Vec<_>>()
        );
        // The file imported again lands whole.
        let upsert = store.upsert_documents(&docs(0..1_500, "új")).unwrap();
        assert_eq!((upsert.counts.added, upsert.counts.updated), (1_497, 3));
        assert_eq!(store.document_count(), 1_500);
        assert_eq!(store.generation().unwrap(), 2);
    }

    #[test]
    fn a_crash_while_publishing_is_rolled_forward_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        store.upsert_documents(&docs(0..3, "alap")).unwrap();
        let mut import = store.begin_documents().unwrap();
        import.stage(&docs(0..2_500, "új")).unwrap();
        let generation = import.crash_during_publish(1_000).unwrap();
        assert_eq!(generation, 2);
        drop(store);

        let store = open(dir.path());
        assert_eq!(store.generation().unwrap(), 2);
        assert_eq!(store.meta.get(PUBLISHING).unwrap(), None);
        assert_eq!(DocumentImport::staged_len(&store), 0);
        let all = bodies(&store);
        assert_eq!(all.len(), 2_500);
        assert!(all.iter().all(|(_, body)| body == "új"));
    }

    #[test]
    fn a_publish_left_half_done_in_process_is_finished_by_the_next_import() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut import = store.begin_documents().unwrap();
        import.stage(&docs(0..1_200, "első")).unwrap();
        import.crash_during_publish(10).unwrap();
        // The next import must not throw the published file away.
        let upsert = store
            .upsert_documents(&docs(1_200..1_210, "második"))
            .unwrap();
        assert_eq!(upsert.counts.added, 10);
        assert_eq!(upsert.generation, 2);
        assert_eq!(store.document_count(), 1_210);
    }

    #[test]
    fn an_unstated_visibility_keeps_the_stored_one_and_changes_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut local = doc("d-1", "titok");
        local.visibility = Visibility::Local;
        store.upsert_documents(&[local.clone()]).unwrap();
        let incoming = |visibility: Visibility, stated: bool, body: &str| Incoming {
            document: Document {
                visibility,
                ..doc("d-1", body)
            },
            visibility_stated: stated,
        };
        // Unstated: the importer's default (federated) does not widen it.
        let mut import = store.begin_documents().unwrap();
        import
            .stage_incoming(vec![incoming(Visibility::Federated, false, "titok")])
            .unwrap();
        let published = import.publish().unwrap();
        assert_eq!(published.counts.unchanged, 1);
        assert!(published.visibility_changes.is_empty());
        let mut import = store.begin_documents().unwrap();
        import
            .stage_incoming(vec![incoming(Visibility::Federated, false, "új")])
            .unwrap();
        import.publish().unwrap();
        let stored = store.document("d-1").unwrap().unwrap();
        assert_eq!(
            (stored.visibility, stored.body.as_str()),
            (Visibility::Local, "új")
        );
        // Stated: it changes, and the change is listed.
        let mut import = store.begin_documents().unwrap();
        import
            .stage_incoming(vec![incoming(Visibility::Public, true, "új")])
            .unwrap();
        let published = import.publish().unwrap();
        assert_eq!(
            published.visibility_changes,
            vec![VisibilityChange {
                id: "d-1".into(),
                from: Visibility::Local,
                to: Visibility::Public
            }]
        );
        assert_eq!(
            store.document("d-1").unwrap().unwrap().visibility,
            Visibility::Public
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod schema_tests {
    use super::*;

    #[test]
    fn a_new_store_is_stamped_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let store = Store::open(&path, dir.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        store.set_schema_version(SCHEMA_VERSION + 1).unwrap();
        drop(store);
        let e = Store::open(&path, dir.path()).unwrap_err();
        let message = e.to_string();
        assert!(
            matches!(e, Error::StoreTooNew { found, supported, .. } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
            "{message}"
        );
        assert!(message.contains("newer tudashalo-node"), "{message}");
    }

    #[test]
    fn an_older_store_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let store = Store::open(&path, dir.path()).unwrap();
        store.set_schema_version(1).unwrap();
        drop(store);
        let store = Store::open(&path, dir.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert!(store.register().unwrap().is_empty());
    }
}
