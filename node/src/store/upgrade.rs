//! The upgrade of a schema-2 store to 3: every document in `docs` is
//! rewritten in its compressed form ([`super::codec`]), a batch at a time.
//!
//! [`Store::check_schema`] stamps the store 3 and sets [`COMPRESSING`] in
//! one batch; this runs at every open while the marker is set, and clears
//! it when every document has been rewritten. Both forms of a value are
//! read everywhere, so an upgrade cut short by a crash is simply resumed:
//! documents already compressed are skipped. An older binary refuses the
//! store from the stamp on, before any value it could not read exists.

use super::{COPY_BATCH_BYTES, COPY_BATCH_DOCS, Store, codec, scan};
use crate::error::Result;

/// In `meta` while documents may still be stored as raw JSON.
pub(super) const COMPRESSING: &[u8] = b"compressing_documents";

impl Store {
    /// Finishes the upgrade to schema 3 if it is under way (see the module
    /// documentation); returns how many documents it rewrote.
    pub(super) fn compress_documents(&self) -> Result<usize> {
        if self.meta.get(COMPRESSING)?.is_none() {
            return Ok(0);
        }
        let mut rewritten = 0;
        let mut batch = sled::Batch::default();
        let (mut pending, mut bytes) = (0, 0);
        for entry in scan(&self.docs) {
            let (key, value) = entry?;
            if codec::is_compressed(&value) {
                continue;
            }
            // A value that is not JSON stays as it is (reading it fails as
            // it did before, naming it); the store still opens.
            if let Err(e) = super::decode::<serde::de::IgnoredAny>(&value, "document") {
                tracing::warn!(key = %String::from_utf8_lossy(&key), error = %e, "left a damaged document as it was");
                continue;
            }
            let stored = codec::compress(value.to_vec())?;
            if stored.as_slice() == value.as_ref() {
                continue;
            }
            bytes += stored.len();
            batch.insert(key, stored);
            pending += 1;
            rewritten += 1;
            if pending >= COPY_BATCH_DOCS || bytes >= COPY_BATCH_BYTES {
                let _write = self.writing();
                self.docs.apply_batch(std::mem::take(&mut batch))?;
                (pending, bytes) = (0, 0);
            }
        }
        let _write = self.writing();
        self.docs.apply_batch(batch)?;
        self.db.flush()?;
        self.meta.remove(COMPRESSING)?;
        self.db.flush()?;
        tracing::info!(
            documents = rewritten,
            "compressed the stored documents (store schema 3)"
        );
        Ok(rewritten)
    }
}
