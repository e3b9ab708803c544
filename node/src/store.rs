//! The node's source of truth: sled.
//!
//! Trees: `docs` (id → JSON document), `obs` (indicator NUL settlement NUL
//! period → JSON observation), `catalogue` (code → JSON indicator) and `meta`
//! (counters). Each imported file lands in one sled transaction together with
//! the bump of the document generation, and is flushed before the index hears
//! of it: a crash leaves either the old or the new state of that file, and
//! the index, which records the generation it reflects, can tell that it is
//! behind.
//!
//! The store must not know about tantivy or gRPC.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Transactional, Tree};

use crate::error::{Error, Result};
use crate::import::Catalogue;
use crate::model::{Document, Indicator, Observation};

const GENERATION: &[u8] = b"doc_generation";
/// A random number drawn when the store is created: generations of two
/// stores (say, a data folder deleted and imported again) are not comparable.
const IDENTITY: &[u8] = b"identity";
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
    /// Bumped (in memory) after every write of observations or catalogue
    /// entries: what was derived from them under another version is stale.
    observations_version: Arc<AtomicU64>,
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
            observations_version: Arc::default(),
            db,
        };
        if store.meta.get(IDENTITY)?.is_none() {
            use std::hash::{BuildHasher, Hasher};
            // RandomState is seeded from the OS; the time and process make
            // two stores created at once differ even without it.
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            hasher.write_u32(std::process::id());
            store
                .meta
                .insert(IDENTITY, &hasher.finish().to_be_bytes())?;
        }
        Ok(store)
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

    /// Every document, in id order.
    pub fn documents(&self) -> impl Iterator<Item = Result<Document>> + '_ {
        self.docs
            .iter()
            .values()
            .map(|v| v.map_err(Error::from).and_then(|v| decode(&v, "document")))
    }

    pub fn document_count(&self) -> usize {
        self.docs.len()
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

    /// Upserts documents by id in one transaction, bumping the generation if
    /// anything changed, and flushes to disk before returning.
    pub fn upsert_documents(&self, docs: &[Document]) -> Result<DocumentUpsert> {
        let mut out = DocumentUpsert::default();
        let mut writes: Vec<(&str, Vec<u8>)> = Vec::new();
        for doc in docs {
            let bytes = encode(doc)?;
            match self.docs.get(doc.id.as_bytes())? {
                Some(old) if old.as_ref() == bytes.as_slice() => out.counts.unchanged += 1,
                Some(_) => {
                    out.counts.updated += 1;
                    out.changed.push(doc.clone());
                    writes.push((&doc.id, bytes));
                }
                None => {
                    out.counts.added += 1;
                    out.changed.push(doc.clone());
                    writes.push((&doc.id, bytes));
                }
            }
        }
        let current = self.generation()?;
        if writes.is_empty() {
            out.generation = current;
            return Ok(out);
        }
        let next = current + 1;
        (&self.docs, &self.meta)
            .transaction(|(docs, meta)| {
                for (id, bytes) in &writes {
                    docs.insert(id.as_bytes(), bytes.as_slice())?;
                }
                meta.insert(GENERATION, &next.to_be_bytes())?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(transaction_error)?;
        self.db.flush()?;
        out.generation = next;
        Ok(out)
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
