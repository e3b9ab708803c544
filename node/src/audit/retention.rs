//! Retention: pruning the log's beginning behind a checkpoint entry.
//!
//! The order is what keeps a pruned log verifiable: archive the range (if
//! configured), append the checkpoint (signed, if there is a key) and make
//! it durable, and only then delete. A crash in between leaves entries that
//! the next prune removes and that verification accepts.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use super::chain::key_seq;
use super::log::AuditLog;
use super::record::{Checkpoint, Entry, Params};
use super::time::{format_rfc3339, now_millis, parse_rfc3339};
use super::{CHECKPOINT_METHOD, FORMAT};
use crate::error::{Error, Result};

/// How much of the log is kept (`[audit]` of `node.toml`); the default
/// keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// At most this many entries are kept (checkpoints included); `None`: no bound.
    pub max_entries: Option<u64>,
    /// Entries older than this many days are pruned; `None`: no bound.
    pub max_age_days: Option<u32>,
    /// A folder the pruned entries are exported to (JSON Lines) first.
    pub archive: Option<PathBuf>,
}

impl Retention {
    /// How many appends apart the bounds are checked: a tenth of
    /// `max_entries` (between 1 and 1,000), so that the log exceeds its
    /// bound by at most that much and each prune is small.
    pub fn check_every(&self) -> u64 {
        match self.max_entries {
            Some(max) => (max / 10).clamp(1, 1_000),
            None => 1_000,
        }
    }

    pub(super) fn is_bounded(&self) -> bool {
        self.max_entries.is_some() || self.max_age_days.is_some()
    }
}

/// The outcome of one prune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub from: u64,
    pub through: u64,
    /// The checkpoint entry written.
    pub checkpoint: u64,
    pub archive: Option<PathBuf>,
}

/// Entries deleted per sled batch when pruning.
const DELETE_BATCH: usize = 10_000;

impl AuditLog {
    /// [`AuditLog::prune`], a failure logged (once in a row) instead of returned.
    pub(super) fn prune_logged(&self) {
        // A backup is copying the entries: the next check prunes.
        let _no_backup = match self.backups.try_write() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                tracing::debug!("audit prune deferred: a backup is reading the log");
                return;
            }
        };
        match self.prune_locked() {
            Ok(pruned) => {
                self.prune_failed.store(false, Ordering::Relaxed);
                if let Some(p) = pruned {
                    tracing::info!(
                        from = p.from,
                        through = p.through,
                        checkpoint = p.checkpoint,
                        "audit log pruned"
                    );
                }
            }
            Err(e) => {
                if !self.prune_failed.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "cannot prune the audit log; it keeps growing until this is fixed");
                }
            }
        }
    }

    /// Cuts the entries beyond the retention bounds now (see the module
    /// documentation); `None` if nothing was beyond them. Blocking: sled
    /// and file writes.
    pub fn prune(&self) -> Result<Option<Pruned>> {
        // The same order as a backup's: backups, then appends.
        let _no_backup = self
            .backups
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _serial = self.lock();
        self.prune_locked()
    }

    fn prune_locked(&self) -> Result<Option<Pruned>> {
        let count = self.len()?;
        let Some(first) = self.first_seq()? else {
            return Ok(None);
        };
        let mut through: Option<u64> = None;
        let mut reasons = Vec::new();
        // Over the bound: keep max_entries - 1 entries, and the checkpoint.
        if let Some(max) = self.retention.max_entries
            && count - first > max
        {
            let cut = count - max.max(1);
            if cut >= first {
                through = Some(cut);
                reasons.push(format!("max_entries {max}"));
            }
        }
        if let Some(days) = self.retention.max_age_days {
            let cutoff = now_millis().saturating_sub(i64::from(days) * 86_400_000);
            let mut old: Option<u64> = None;
            for item in self.entries.iter() {
                let (key, value) = item?;
                let Some(seq) = key_seq(&key) else { break };
                let time = serde_json::from_slice::<serde_json::Value>(&value)
                    .ok()
                    .and_then(|v| v.get("time").and_then(|t| t.as_str()).map(str::to_string))
                    .and_then(|t| parse_rfc3339(&t).ok());
                match time {
                    Some(at) if at < cutoff => old = Some(seq),
                    _ => break,
                }
            }
            if let Some(old) = old {
                if through.is_none_or(|t| old > t) {
                    through = Some(old);
                }
                reasons.push(format!("max_age_days {days}"));
            }
        }
        let Some(through) = through else {
            return Ok(None);
        };
        let last = self.entries.get(through.to_be_bytes())?.ok_or_else(|| {
            Error::Corrupt(format!(
                "audit log: entry {through} is missing; run `tudashalo-node audit --verify`"
            ))
        })?;
        let last: serde_json::Value = serde_json::from_slice(&last)
            .map_err(|e| Error::Corrupt(format!("audit entry {through}: {e}")))?;
        let field = |name: &str| {
            last.get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let archive = match &self.retention.archive {
            Some(dir) => Some(self.export_range(dir, first, through)?),
            None => None,
        };
        let checkpoint = Checkpoint {
            pruned_from: first,
            pruned_through: through,
            pruned_count: through - first + 1,
            last_pruned_hash: field("hash"),
            last_pruned_time: field("time"),
            reason: reasons.join(", "),
            archive: archive.as_ref().map(|p| p.display().to_string()),
        };
        let entry = self.append_locked(format_rfc3339(now_millis()), |seq, time, prev| Entry {
            seq,
            time,
            format: Some(FORMAT),
            principal: self.node.clone(),
            on_behalf_of: None,
            via: Vec::new(),
            method: CHECKPOINT_METHOD.into(),
            query: None,
            document: None,
            indicators: Vec::new(),
            group_by: Vec::new(),
            params: Params::default(),
            results: Some(checkpoint.pruned_count),
            outcome: "ok".into(),
            checkpoint: Some(checkpoint.clone()),
            signature: None,
            prev,
            hash: String::new(),
        })?;
        // The checkpoint is durable before anything it describes goes.
        self.entries.flush()?;
        self.head.flush()?;
        let mut seq = first;
        while seq <= through {
            let end = through.min(seq.saturating_add(DELETE_BATCH as u64 - 1));
            let mut batch = sled::Batch::default();
            for s in seq..=end {
                batch.remove(&s.to_be_bytes());
            }
            self.entries.apply_batch(batch)?;
            seq = end + 1;
        }
        self.entries.flush()?;
        Ok(Some(Pruned {
            from: first,
            through,
            checkpoint: entry.seq,
            archive,
        }))
    }

    /// Writes entries `from..=through` as JSON Lines (as stored) to a new
    /// file in `dir`, synced, and returns its path.
    fn export_range(&self, dir: &std::path::Path, from: u64, through: u64) -> Result<PathBuf> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating the audit archive {}", dir.display()), e))?;
        let path = dir.join(format!("audit-{from:012}-{through:012}.jsonl"));
        let partial = path.with_extension("jsonl.partial");
        let write = || -> std::io::Result<()> {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&partial)?);
            for item in self
                .entries
                .range(from.to_be_bytes()..=through.to_be_bytes())
            {
                let (_, value) = item.map_err(std::io::Error::other)?;
                out.write_all(&value)?;
                out.write_all(b"\n")?;
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&partial, &path)
        };
        write().map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::test_support::*;
    use crate::audit::{Damage, Record, SignatureCheck};

    #[test]
    fn pruning_keeps_the_chain_verifiable_from_a_signed_checkpoint() {
        let (_db, log) = bounded_log(Some(5), None);
        let (cert, signer) = identity();
        log.set_signer(Some(signer));
        fill(&log, 30);
        let entries = log.entries().unwrap();
        assert!(entries.len() <= 5, "{} entries", entries.len());
        assert!(entries[0].seq > 0);
        let checkpoint = entries
            .iter()
            .rev()
            .find(|e| e.checkpoint.is_some())
            .unwrap();
        assert_eq!(checkpoint.method, CHECKPOINT_METHOD);
        assert_eq!(checkpoint.principal, "node:proba");
        let cut = checkpoint.checkpoint.clone().unwrap();
        assert_eq!(cut.pruned_through + 1, entries[0].seq);
        assert!(checkpoint.signature.is_some());

        let v = log.verify_with(Some(&cert)).unwrap();
        assert!(v.is_intact(), "{v:?}");
        assert_eq!(v.first, entries[0].seq);
        let reported = v.cut.unwrap();
        assert_eq!(reported.pruned_through, cut.pruned_through);
        assert!(matches!(reported.signature, SignatureCheck::Verified(_)));
        assert!(
            reported
                .to_string()
                .contains("chain verified from checkpoint")
        );

        // Another certificate: the checkpoint cannot be trusted.
        let (other, _) = identity();
        let v = log.verify_with(Some(&other)).unwrap();
        assert_eq!(v.broken.unwrap().damage, Damage::Altered);

        // Removing the first entry after the cut is a gap the checkpoint shows.
        let first = entries[0].seq;
        let removed = log.tree().remove(first.to_be_bytes()).unwrap().unwrap();
        assert_eq!(damage(&log), (first, Damage::Removed));
        log.tree().insert(first.to_be_bytes(), removed).unwrap();
        assert!(log.verify().unwrap().is_intact());
    }

    #[test]
    fn entries_older_than_max_age_are_pruned() {
        let (_db, log) = bounded_log(None, Some(30));
        let old = now_millis() - 40 * 86_400_000;
        for i in 0..4 {
            log.append_at(Record::new("hub:regio", format!("Régi {i}")), old)
                .unwrap();
        }
        fill(&log, 2);
        let pruned = log.prune().unwrap().unwrap();
        assert_eq!((pruned.from, pruned.through), (0, 3));
        let entries = log.entries().unwrap();
        assert_eq!(entries.len(), 3);
        assert!(
            entries[2]
                .checkpoint
                .as_ref()
                .unwrap()
                .reason
                .contains("max_age_days 30")
        );
        let v = log.verify().unwrap();
        assert!(v.is_intact(), "{v:?}");
        assert_eq!(v.cut.unwrap().pruned_through, 3);
        assert!(log.prune().unwrap().is_none());
    }
}
