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
//! Documents are kept compressed ([`codec`]; schema 3, to which a store of
//! schema 2 is upgraded at open, [`upgrade`]).
//!
//! A file of documents may be far larger than memory, so it is not one sled
//! transaction ([`DocumentImport`]): its changed documents are first appended
//! to the staged file beside sled's ([`staged`]: written once, outside sled,
//! so that they cost sled no space), which is synced. Publishing is then one
//! small transaction in `meta` that bumps the generation and sets the
//! `publishing` marker (naming that generation), flushed; after it the staged
//! documents are written into `docs` in batches, flushed, the marker is
//! cleared, and the file removed. [`Store::open`] (and the next import)
//! finishes a publish that a crash interrupted (the marker is set: the file
//! is in), and discards a staged file without the marker (the file never
//! was): nothing reads `docs` before that. The `staging` tree is where
//! schema 2 staged, and how a backup carries a publish caught half-way; it
//! is recovered the same way.
//!
//! The store must not know about tantivy or gRPC.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::error::{Error, Result};
use tudashalo_core::model::Catalogue;
use tudashalo_core::model::{Document, Indicator, Observation};

mod codec;
mod document_import;
mod register;
mod staged;
mod upgrade;
pub use document_import::{DocumentImport, DocumentsPublished};
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
/// History: 1 documents, observations, catalogue, audit; 2 the register;
/// 3 documents compressed ([`codec`]; a store of 2 is upgraded at open by
/// [`upgrade`]).
pub const SCHEMA_VERSION: u32 = 3;
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
    /// A file's changed documents before they are published into `docs`,
    /// as schema 2 staged them (and as a backup taken while publishing
    /// carries them): read by recovery only. Imports stage into the file
    /// at `staged` instead ([`staged`]).
    staging: Tree,
    /// Where an import stages its changed documents ([`staged`]).
    staged: PathBuf,
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
            staged: staged::path(dir),
            importing: Arc::default(),
            observations_version: Arc::default(),
            writes: Arc::default(),
            db,
        };
        store.check_schema(node_dir)?;
        store.recover_documents()?;
        store.compress_documents()?;
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
            // The stamp and the order to compress the documents (from 2 to
            // 3) are one batch: from here on no older binary opens the
            // store, and [`Store::compress_documents`] runs at every open
            // until it has finished.
            let mut batch = sled::Batch::default();
            batch.insert(SCHEMA, &u64::from(SCHEMA_VERSION).to_be_bytes());
            if found < 3 && !self.meta.is_empty() {
                batch.insert(upgrade::COMPRESSING, &[1]);
            }
            let _write = self.writing();
            self.meta.apply_batch(batch)?;
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
            .map(|v| decode_document(id.as_bytes(), &v))
            .transpose()
    }

    /// Every document, in id order, read one lookup at a time so that memory
    /// stays bounded however many there are.
    pub fn documents(&self) -> impl Iterator<Item = Result<Document>> + '_ {
        scan(&self.docs).map(|entry| entry.and_then(|(k, v)| decode_document(&k, &v)))
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
            file: None,
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

    /// Step two: writes the staged documents into `docs` a batch at a time
    /// (those of the `staging` tree, each batch flushed in `docs` before it
    /// leaves the tree; then those of the staged file), then clears the
    /// marker and removes the file. Doing it again after a crash is
    /// harmless: what is still staged is written again.
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
        moved += self.publish_staged_file()?;
        {
            let _write = self.writing();
            self.meta.remove(PUBLISHING)?;
            self.db.flush()?;
        }
        // Only once the marker is gone: without it, a file left by a crash
        // here is discarded at the next open.
        staged::remove(&self.staged)?;
        Ok(moved)
    }

    /// Writes the documents of the staged file (if any) into `docs`, a
    /// batch at a time, and flushes. The file stays until the publish is
    /// finished: doing it again after a crash writes the same values.
    fn publish_staged_file(&self) -> Result<usize> {
        let Some(records) = staged::read(&self.staged)? else {
            return Ok(0);
        };
        let mut moved = 0;
        let mut batch = sled::Batch::default();
        let mut bytes = 0;
        for record in records {
            let (key, value) = record?;
            bytes += key.len() + value.len();
            batch.insert(key, value);
            moved += 1;
            if moved % COPY_BATCH_DOCS == 0 || bytes >= COPY_BATCH_BYTES {
                let _write = self.writing();
                self.docs.apply_batch(std::mem::take(&mut batch))?;
                bytes = 0;
            }
        }
        let _write = self.writing();
        self.docs.apply_batch(batch)?;
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

    /// Discards whatever is staged (the file, and the tree of schema 2),
    /// returning how many documents of the tree that was.
    fn discard_staging(&self) -> Result<usize> {
        staged::remove(&self.staged)?;
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
        } else if !self.staging.is_empty() || self.staged.exists() {
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
            // A publish caught half-way: its staged file (complete and
            // synced once the marker is set) is part of this state, carried
            // as the `staging` tree, which recovery at open reads too.
            if name.as_ref() == b"staging"
                && self.meta.get(PUBLISHING)?.is_some()
                && let Some(records) = staged::read(&self.staged)?
            {
                for record in records {
                    let (key, value) = record?;
                    each(&name, &key, &value)?;
                }
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

/// A document as stored in `docs` under `key` (either form, [`codec`]).
fn decode_document(key: &[u8], value: &[u8]) -> Result<Document> {
    decode(&codec::json(value, key)?, "document")
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod document_import_tests {
    use super::*;
    use crate::import::{Incoming, VisibilityChange};
    use tudashalo_core::model::Kind;
    use tudashalo_core::model::Visibility;

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
        import.sync_staged().unwrap();
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

    /// Documents of every size and shape; the last two are long enough to
    /// be compressed.
    fn varied() -> Vec<Document> {
        let long = "Árvízvédelmi fejlesztés a kistérség tíz településén. ".repeat(400);
        [
            ("a-empty", String::new()),
            ("b-short", "x".to_string()),
            ("c-quoted", "\"idézet\"\n\tsor\\vége\u{1F600}".to_string()),
            ("d-long", long.clone()),
            ("e-huge", long.repeat(50)),
        ]
        .into_iter()
        .map(|(id, body)| {
            let mut doc: Document = serde_json::from_value(serde_json::json!({
                "id": id, "title": format!("Cím {id}"), "body": body, "kind": "project",
                "settlements": ["Edelény"], "year": 2019, "extra": {"forrás": "teszt"},
            }))
            .unwrap();
            doc.body = body;
            doc
        })
        .collect()
    }

    fn all(store: &Store) -> Vec<Document> {
        store.documents().collect::<Result<_>>().unwrap()
    }

    /// Writes `docs` as schema 2 did (raw JSON in `docs`) and stamps the
    /// store 2.
    fn write_schema_2(path: &Path, node_dir: &Path, docs: &[Document]) {
        let store = Store::open(path, node_dir).unwrap();
        for doc in docs {
            let json = serde_json::to_vec(doc).unwrap();
            store.docs.insert(doc.id.as_bytes(), json).unwrap();
        }
        store.set_schema_version(2).unwrap();
    }

    fn compressed(store: &Store) -> Vec<bool> {
        scan(&store.docs)
            .map(|e| codec::is_compressed(&e.unwrap().1))
            .collect()
    }

    #[test]
    fn a_schema_2_store_is_upgraded_at_open_and_reads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let docs = varied();
        write_schema_2(&path, dir.path(), &docs);
        let store = Store::open(&path, dir.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), 3);
        assert_eq!(store.meta.get(upgrade::COMPRESSING).unwrap(), None);
        assert_eq!(all(&store), docs);
        assert_eq!(compressed(&store)[3..], [true, true]);
        for doc in &docs {
            assert_eq!(store.document(&doc.id).unwrap().as_ref(), Some(doc));
        }
        // The same documents again are unchanged: compared by their JSON.
        let upsert = store.upsert_documents(&docs).unwrap();
        assert_eq!(upsert.counts.unchanged, docs.len());
        assert_eq!(store.generation().unwrap(), 0);
    }

    #[test]
    fn an_upgrade_cut_short_is_resumed_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let docs = varied();
        write_schema_2(&path, dir.path(), &docs);
        {
            // What a crash part-way leaves: stamped 3, marker set, one of the
            // long documents compressed, the other still raw.
            let store = Store::open(&path, dir.path()).unwrap();
            store.meta.insert(upgrade::COMPRESSING, &[1]).unwrap();
            let json = serde_json::to_vec(&docs[4]).unwrap();
            store.docs.insert(docs[4].id.as_bytes(), json).unwrap();
            assert_eq!(compressed(&store)[3..], [true, false]);
            assert_eq!(all(&store), docs, "readable in either form");
            store.db.flush().unwrap();
        }
        let store = Store::open(&path, dir.path()).unwrap();
        assert_eq!(store.meta.get(upgrade::COMPRESSING).unwrap(), None);
        assert_eq!(compressed(&store)[3..], [true, true]);
        assert_eq!(all(&store), docs);
    }

    #[test]
    fn a_schema_3_store_reads_back_everything_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let docs = varied();
        {
            let store = Store::open(&path, dir.path()).unwrap();
            assert_eq!(store.upsert_documents(&docs).unwrap().counts.added, 5);
            assert_eq!(compressed(&store)[3..], [true, true]);
        }
        let store = Store::open(&path, dir.path()).unwrap();
        assert_eq!(all(&store), docs);
        let upsert = store.upsert_documents(&docs).unwrap();
        assert_eq!(upsert.counts.unchanged, 5);
        assert_eq!(store.generation().unwrap(), 1);
        // Nothing is left staged, in the file or the tree.
        assert!(!store.staged.exists());
        assert_eq!(DocumentImport::staged_len(&store), 0);
        // A damaged value is an error naming the document, not a panic.
        store
            .docs
            .insert(b"d-long", &[codec::ZSTD_TAG, 1, 2, 3][..])
            .unwrap();
        let e = store.document("d-long").unwrap_err().to_string();
        assert!(e.contains("\"d-long\""), "{e}");
    }
}
