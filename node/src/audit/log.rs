//! [`AuditLog`]: appending to the chain, and reading it back.
//!
//! One lock serialises appends and prunes, and each entry is written in the
//! same sled transaction as the head, so that sequence numbers have no gaps
//! and removing entries from the end is detected. Every
//! [`Retention::check_every`] appends the log is pruned; a failed prune is
//! logged, never a failed append.

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use sled::Transactional;
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::chain::{Head, chain_hash, decode_head, hex, key_seq};
use super::checkpoint::CheckpointSigner;
use super::record::{Entry, Record, bounded, bounded_list};
use super::retention::Retention;
use super::time::{format_rfc3339, now_millis, parse_rfc3339};
use super::{FORMAT, GENESIS, HEAD_KEY};
use crate::error::{Error, Result};

/// The append-only, hash-chained audit log of a node.
#[derive(Debug)]
pub struct AuditLog {
    pub(super) entries: Tree,
    pub(super) head: Tree,
    /// Serialises appends and prunes, so that sequence numbers and the
    /// chain never race.
    pub(super) append: Mutex<()>,
    pub(super) retention: Retention,
    /// The principal checkpoints are written as (`node:NAME`).
    pub(super) node: String,
    pub(super) signer: Mutex<Option<Arc<CheckpointSigner>>>,
    /// Set after a failed prune has been logged once, so that a broken
    /// archive folder does not flood the log at every check.
    pub(super) prune_failed: AtomicBool,
    /// Held shared by a backup copying the entries ([`AuditLog::snapshot`]),
    /// exclusively by a prune: entries below the head's count never change
    /// but by a prune, so a backup sees them whole while appends go on.
    pub(super) backups: std::sync::RwLock<()>,
}

impl AuditLog {
    /// The audit log over the trees [`TREE`] and [`HEAD_TREE`], unbounded.
    pub fn new(entries: Tree, head: Tree) -> AuditLog {
        AuditLog::with_retention(entries, head, "node", Retention::default())
    }

    /// The audit log of the node `node`, kept within `retention`.
    pub fn with_retention(entries: Tree, head: Tree, node: &str, retention: Retention) -> AuditLog {
        AuditLog {
            entries,
            head,
            append: Mutex::new(()),
            retention,
            node: format!("node:{node}"),
            signer: Mutex::new(None),
            prune_failed: AtomicBool::new(false),
            backups: std::sync::RwLock::new(()),
        }
    }

    /// Signs checkpoints from now on with `signer` (the node's TLS key).
    pub fn set_signer(&self, signer: Option<CheckpointSigner>) {
        *self
            .signer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = signer.map(Arc::new);
    }

    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// The raw tree of entries, for tools and tests. Writing to it breaks
    /// the chain, which [`AuditLog::verify`] reports.
    pub fn tree(&self) -> &Tree {
        &self.entries
    }

    /// Appends `record`, stamped with the current time; returns the entry.
    /// Every [`Retention::check_every`] entries the log is pruned to its
    /// bounds (on the caller's thread: call it off the async runtime). A
    /// failed prune is logged and leaves the log as it was; it does not fail
    /// the append.
    pub fn append(&self, record: Record) -> Result<Entry> {
        self.append_at(record, now_millis())
    }

    /// [`AuditLog::append`] stamped with `millis` (tests back-date entries).
    pub(super) fn append_at(&self, record: Record, millis: i64) -> Result<Entry> {
        let _serial = self.lock();
        let entry = self.append_locked(format_rfc3339(millis), |seq, time, prev| Entry {
            seq,
            time,
            format: Some(FORMAT),
            principal: bounded(&record.principal),
            on_behalf_of: record.on_behalf_of.as_deref().map(bounded),
            via: bounded_list(&record.via),
            method: bounded(&record.method),
            query: record.query.as_deref().map(bounded),
            document: record.document.as_deref().map(bounded),
            indicators: bounded_list(&record.indicators),
            group_by: bounded_list(&record.group_by),
            params: record.params.clone(),
            results: record.results,
            outcome: bounded(&record.outcome.to_string()),
            checkpoint: None,
            signature: None,
            prev,
            hash: String::new(),
        })?;
        if self.retention.is_bounded() && (entry.seq + 1) % self.retention.check_every() == 0 {
            self.prune_logged();
        }
        Ok(entry)
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.append
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends the entry `build(seq, time, prev)` makes, hashed (and signed,
    /// if it is a checkpoint and there is a signer). The append lock must be
    /// held.
    pub(super) fn append_locked(
        &self,
        time: String,
        build: impl Fn(u64, String, String) -> Entry,
    ) -> Result<Entry> {
        let signer = self
            .signer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let abort = |e: String| ConflictableTransactionError::Abort(e);
        (&self.entries, &self.head)
            .transaction(|(entries, head)| {
                let (count, prev, mut checkpoint) = match head.get(HEAD_KEY)? {
                    None => (0, GENESIS, None),
                    Some(bytes) => decode_head(&bytes).map_err(|e| abort(e.to_string()))?,
                };
                let mut entry = build(count, time.clone(), hex(&prev));
                if entry.checkpoint.is_some() {
                    checkpoint = Some(count);
                    if let Some(signer) = &signer {
                        let value =
                            serde_json::to_value(&entry).map_err(|e| abort(e.to_string()))?;
                        entry.signature = Some(signer.sign(&value).map_err(abort)?);
                    }
                }
                let value = serde_json::to_value(&entry).map_err(|e| abort(e.to_string()))?;
                entry.hash = hex(&chain_hash(&prev, &value));
                let bytes = serde_json::to_vec(&entry).map_err(|e| abort(e.to_string()))?;
                let head_bytes = serde_json::to_vec(&Head {
                    count: count + 1,
                    hash: entry.hash.clone(),
                    checkpoint,
                })
                .map_err(|e| abort(e.to_string()))?;
                entries.insert(&count.to_be_bytes(), bytes)?;
                head.insert(HEAD_KEY, head_bytes)?;
                Ok(entry)
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => Error::Store(e),
                TransactionError::Abort(message) => Error::Corrupt(format!("audit log: {message}")),
            })
    }

    /// Writes every entry present as JSON Lines to `out`, as stored; returns
    /// how many.
    pub fn export(&self, out: &mut dyn Write) -> Result<u64> {
        let mut n = 0;
        for item in self.entries.iter() {
            let (_, value) = item?;
            out.write_all(&value)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| Error::io("writing the export".to_string(), e))?;
            n += 1;
        }
        Ok(n)
    }

    /// Calls `each` with every entry present and then the head, as of one
    /// moment (tree name, key, value as stored); returns the head's count.
    /// Appends go on meanwhile (they come after that moment); a periodic
    /// prune waits for the next check.
    pub fn snapshot(&self, mut each: impl FnMut(&str, &[u8], &[u8]) -> Result<()>) -> Result<u64> {
        let _no_prune = self
            .backups
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let head = {
            let _serial = self.lock();
            self.head.get(HEAD_KEY)?
        };
        let Some(head) = head else {
            return Ok(0);
        };
        let (count, _, _) = decode_head(&head)?;
        for item in self.entries.range(..count.to_be_bytes()) {
            let (key, value) = item?;
            each(super::TREE, &key, &value)?;
        }
        each(super::HEAD_TREE, HEAD_KEY, &head)?;
        Ok(count)
    }

    /// The sequence number of the first entry present.
    pub(super) fn first_seq(&self) -> Result<Option<u64>> {
        Ok(self.entries.first()?.and_then(|(key, _)| key_seq(&key)))
    }

    /// How many entries have ever been written (the head's count).
    pub fn len(&self) -> Result<u64> {
        Ok(match self.head.get(HEAD_KEY)? {
            None => 0,
            Some(bytes) => decode_head(&bytes)?.0,
        })
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Every entry present, in sequence order.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        self.entries_since(None)
    }

    /// The newest `n` entries, newest first (the portal's audit page).
    pub fn newest(&self, n: usize) -> Result<Vec<Entry>> {
        let mut out = Vec::with_capacity(n.min(1_000));
        for item in self.entries.iter().rev().take(n) {
            let (key, value) = item?;
            let entry = decode_entry(&key, &value)?;
            out.push(entry);
        }
        Ok(out)
    }

    /// The entries at or after `since` (milliseconds since the Unix epoch,
    /// see [`parse_rfc3339`]), in sequence order.
    pub fn entries_since(&self, since: Option<i64>) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for item in self.entries.iter() {
            let (key, value) = item?;
            let entry = decode_entry(&key, &value)?;
            if let Some(since) = since {
                match parse_rfc3339(&entry.time) {
                    Ok(at) if at < since => continue,
                    _ => {}
                }
            }
            out.push(entry);
        }
        Ok(out)
    }
}

/// One stored entry, or why it cannot be read (naming its sequence number).
fn decode_entry(key: &[u8], value: &[u8]) -> Result<Entry> {
    serde_json::from_slice(value).map_err(|e| {
        Error::Corrupt(format!(
            "audit entry {}: {e} (run `tudashalo-node audit --verify`)",
            key_seq(key).map_or_else(|| format!("{key:?}"), |s| s.to_string())
        ))
    })
}
