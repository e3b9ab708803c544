//! Verification: recomputing the chain from genesis or from the latest
//! checkpoint, and naming the first damage.
//!
//! Damage is reported, never repaired: an altered entry, a removed one (a
//! gap, or a cut no checkpoint accounts for), one moved elsewhere, or a
//! truncated tail (the head disagrees). A checkpoint is trusted only as far
//! as it checks out: its own hash, a possible cut, and, given the node's
//! certificate, its signature.

use std::fmt;

use serde::Serialize;

use super::chain::{Head, chain_hash, decode_head_full, hex, key_seq, sha256, stored_prev, unhex};
use super::checkpoint::check_signature;
use super::log::AuditLog;
use super::record::Checkpoint;
use super::{GENESIS, HEAD_KEY};
use crate::error::Result;

/// What kind of damage [`AuditLog::verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Damage {
    /// An entry's contents (or its hash, or a checkpoint's signature) were changed.
    Altered,
    /// An entry is missing: a gap in the sequence, or a cut at the start that
    /// no checkpoint accounts for.
    Removed,
    /// An entry sits at another position than its sequence number.
    Reordered,
    /// Entries at the end were removed (the head records more).
    Truncated,
}

/// The first damage found in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// The sequence number of the first damaged (or missing) entry.
    pub seq: u64,
    pub damage: Damage,
    /// What is wrong, in words.
    pub detail: String,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

/// How a checkpoint's signature was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureCheck {
    /// Verified with the given certificate (its SHA-256).
    Verified(String),
    /// Not checked: no certificate was given.
    NotChecked,
}

/// The cut that verification started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cut {
    /// The checkpoint entry's sequence number.
    pub checkpoint: u64,
    /// When the checkpoint was written.
    pub time: String,
    /// Entries `0..=pruned_through` are pruned.
    pub pruned_through: u64,
    pub signature: SignatureCheck,
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "entries 0–{} pruned on {}, chain verified from checkpoint {}",
            self.pruned_through, self.time, self.checkpoint
        )?;
        match &self.signature {
            SignatureCheck::Verified(sha) => {
                write!(f, " (signature verified with certificate sha256:{sha})")
            }
            SignatureCheck::NotChecked => {
                f.write_str(" (signature not checked: no certificate given)")
            }
        }
    }
}

/// The outcome of [`AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries verified: all of them if intact, else those before the damage.
    pub entries: u64,
    /// The sequence number of the first entry verified (0 unless pruned).
    pub first: u64,
    /// The hash of the last intact entry (the head, if the chain is intact).
    pub head: String,
    /// The cut the chain was verified from, if the log was pruned.
    pub cut: Option<Cut>,
    /// The first damage, if any.
    pub broken: Option<Broken>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// A verification that found `problem` before verifying anything.
fn broken_at(entries: u64, first: u64, head: [u8; 32], problem: Broken) -> Verification {
    Verification {
        entries,
        first,
        head: hex(&head),
        cut: None,
        broken: Some(problem),
    }
}

/// Compares the head record with the end of an intact chain: `next` is the
/// sequence number after the last entry, `last` its hash.
fn check_head(
    head: Option<&Head>,
    next: u64,
    last: &[u8; 32],
    last_checkpoint: Option<u64>,
) -> Option<Broken> {
    let Some(head) = head else {
        return (next > 0).then(|| Broken {
            seq: next,
            damage: Damage::Truncated,
            detail: format!(
                "the head record is missing ({next} entries written); the log was tampered with"
            ),
        });
    };
    let count = head.count;
    let hash = unhex(&head.hash);
    if count > next {
        Some(Broken {
            seq: next,
            damage: Damage::Truncated,
            detail: format!(
                "the log ends after entry {}, but {count} were written: entries {next}..{} were removed (tail truncated)",
                next as i128 - 1,
                count - 1
            ),
        })
    } else if count < next {
        Some(Broken {
            seq: count,
            damage: Damage::Altered,
            detail: format!(
                "entries {count}..{} were added outside the node (the head records {count} entries)",
                next - 1
            ),
        })
    } else if hash.as_ref() != Some(last) && next > 0 {
        Some(Broken {
            seq: next - 1,
            damage: Damage::Altered,
            detail: format!(
                "entry {} is not the last entry that was written (its hash differs from the head record)",
                next - 1
            ),
        })
    } else if head.checkpoint != last_checkpoint && last_checkpoint.is_some() {
        Some(Broken {
            seq: last_checkpoint.unwrap_or_default(),
            damage: Damage::Altered,
            detail: format!(
                "the head names checkpoint {:?}, but the latest checkpoint in the log is entry {}",
                head.checkpoint,
                last_checkpoint.unwrap_or_default()
            ),
        })
    } else {
        None
    }
}

/// Checks one stored entry at position `seq` against the previous entry's
/// hash; returns its own hash and its JSON.
fn check_entry(
    seq: u64,
    value: &[u8],
    prev: &[u8; 32],
) -> std::result::Result<([u8; 32], serde_json::Value), Broken> {
    let altered = |seq: u64, detail: String| Broken {
        seq,
        damage: Damage::Altered,
        detail,
    };
    let json: serde_json::Value = serde_json::from_slice(value).map_err(|e| {
        altered(
            seq,
            format!("entry {seq} was altered: not valid JSON ({e})"),
        )
    })?;
    let Some(object) = json.as_object() else {
        return Err(altered(
            seq,
            format!("entry {seq} was altered: not a JSON object"),
        ));
    };
    match object.get("seq").and_then(serde_json::Value::as_u64) {
        Some(stored) if stored == seq => {}
        Some(other) => {
            return Err(Broken {
                seq,
                damage: Damage::Reordered,
                detail: format!("entry {seq} was reordered: position {seq} holds entry {other}"),
            });
        }
        None => {
            return Err(altered(
                seq,
                format!("entry {seq} was altered: no sequence number"),
            ));
        }
    }
    // First: do its contents match its own hash?
    let stored_prev = object
        .get("prev")
        .and_then(serde_json::Value::as_str)
        .and_then(unhex);
    let stored_hash = object
        .get("hash")
        .and_then(serde_json::Value::as_str)
        .and_then(unhex);
    let (Some(stored_prev), Some(stored_hash)) = (stored_prev, stored_hash) else {
        return Err(altered(
            seq,
            format!("entry {seq} was altered: no valid prev or hash"),
        ));
    };
    if chain_hash(&stored_prev, &json) != stored_hash {
        return Err(altered(
            seq,
            format!("entry {seq} was altered: its contents do not match its hash"),
        ));
    }
    // Then: does it follow the entry before it?
    if stored_prev != *prev {
        return Err(match seq.checked_sub(1) {
            None => altered(
                0,
                "entry 0 was replaced: it does not start the chain".to_string(),
            ),
            Some(before) => altered(
                before,
                format!(
                    "entry {before} was altered and re-hashed, or replaced: entry {seq} was chained to a different hash"
                ),
            ),
        });
    }
    Ok((stored_hash, json))
}

impl AuditLog {
    /// Recomputes the chain and reports the first damage, if any, without
    /// checking checkpoint signatures.
    pub fn verify(&self) -> Result<Verification> {
        self.verify_with(None)
    }

    /// Recomputes the chain from genesis or from the latest checkpoint and
    /// reports the first damage. With `certificate` (DER, the node's), the
    /// checkpoint verification starts from must carry a valid signature by
    /// its key.
    pub fn verify_with(&self, certificate: Option<&[u8]>) -> Result<Verification> {
        let head = match self.head.get(HEAD_KEY)? {
            None => None,
            Some(bytes) => match decode_head_full(&bytes) {
                Ok(head) => Some(head),
                Err(e) => {
                    return Ok(broken_at(
                        0,
                        0,
                        GENESIS,
                        Broken {
                            seq: 0,
                            damage: Damage::Altered,
                            detail: format!("the head record is unreadable: {e}"),
                        },
                    ));
                }
            },
        };
        let first = self.first_seq()?;
        // Where the chain starts: genesis, or the latest checkpoint's cut.
        let mut cut: Option<Cut> = None;
        let mut anchor: Option<(u64, [u8; 32])> = None;
        if let Some(first) = first.filter(|&f| f > 0) {
            let named = head.as_ref().and_then(|h| h.checkpoint);
            let Some(at) = named else {
                return Ok(broken_at(
                    0,
                    first,
                    GENESIS,
                    Broken {
                        seq: 0,
                        damage: Damage::Removed,
                        detail: format!(
                            "entries 0..{} are missing (removed) and no checkpoint accounts for them",
                            first - 1
                        ),
                    },
                ));
            };
            match self.read_checkpoint(at, certificate)? {
                Err(problem) => return Ok(broken_at(0, first, GENESIS, problem)),
                Ok((checkpoint, time, signature)) => {
                    let last = unhex(&checkpoint.last_pruned_hash).unwrap_or(GENESIS);
                    if first > checkpoint.pruned_through + 1 {
                        return Ok(broken_at(
                            0,
                            first,
                            GENESIS,
                            Broken {
                                seq: checkpoint.pruned_through + 1,
                                damage: Damage::Removed,
                                detail: format!(
                                    "entries {}..{} are missing (removed): checkpoint {at} accounts for entries 0..{} only",
                                    checkpoint.pruned_through + 1,
                                    first - 1,
                                    checkpoint.pruned_through
                                ),
                            },
                        ));
                    }
                    anchor = Some((checkpoint.pruned_through, last));
                    cut = Some(Cut {
                        checkpoint: at,
                        time,
                        pruned_through: checkpoint.pruned_through,
                        signature,
                    });
                }
            }
        }
        let start = first.unwrap_or(0);
        let mut expected: u64 = start;
        let mut verified: u64 = 0;
        let mut prev = GENESIS;
        let mut last_checkpoint: Option<u64> = None;
        let broken = |seq, damage, detail: String| Broken {
            seq,
            damage,
            detail,
        };
        let mut found: Option<Broken> = None;
        for item in self.entries.iter() {
            let (key, value) = item?;
            let Some(seq) = key_seq(&key) else {
                found = Some(broken(
                    expected,
                    Damage::Altered,
                    format!(
                        "a key that is not a sequence number ({} bytes) follows entry {}",
                        key.len(),
                        expected.wrapping_sub(1)
                    ),
                ));
                break;
            };
            if seq != expected {
                found = Some(broken(
                    expected,
                    Damage::Removed,
                    format!("entry {expected} is missing (removed): the next entry is {seq}"),
                ));
                break;
            }
            // The first entry after a cut follows the checkpoint's hash; one
            // left by an interrupted prune is taken as it stands (its
            // successors up to the cut are checked against the checkpoint).
            if seq == start && start > 0 {
                prev = match anchor {
                    Some((through, hash)) if through + 1 == seq => hash,
                    _ => stored_prev(&value).unwrap_or(GENESIS),
                };
            }
            match check_entry(seq, &value, &prev) {
                Ok((hash, json)) => {
                    prev = hash;
                    if json.get("checkpoint").is_some_and(|c| !c.is_null()) {
                        last_checkpoint = Some(seq);
                    }
                }
                Err(mut problem) => {
                    if seq == start
                        && start > 0
                        && problem.damage == Damage::Altered
                        && problem.seq < seq
                    {
                        problem.seq = seq;
                        problem.detail = format!(
                            "entry {seq} does not follow the checkpoint: it is chained to another hash than the one the checkpoint records for entry {}",
                            seq - 1
                        );
                    }
                    found = Some(problem);
                    break;
                }
            }
            if let Some((through, hash)) = anchor
                && seq == through
                && prev != hash
            {
                found = Some(broken(
                    seq,
                    Damage::Altered,
                    format!(
                        "entry {seq} was altered: its hash differs from the one the checkpoint records"
                    ),
                ));
                break;
            }
            expected += 1;
            verified += 1;
        }
        if found.is_none() {
            found = check_head(head.as_ref(), expected, &prev, last_checkpoint);
        }
        Ok(Verification {
            entries: verified,
            first: start,
            head: hex(&prev),
            cut,
            broken: found,
        })
    }

    /// Reads and checks the checkpoint entry at `seq` (its own hash, its
    /// fields, its signature if `certificate` is given).
    #[allow(clippy::type_complexity)]
    fn read_checkpoint(
        &self,
        seq: u64,
        certificate: Option<&[u8]>,
    ) -> Result<std::result::Result<(Checkpoint, String, SignatureCheck), Broken>> {
        let altered = |detail: String| Broken {
            seq,
            damage: Damage::Altered,
            detail,
        };
        let Some(value) = self.entries.get(seq.to_be_bytes())? else {
            return Ok(Err(Broken {
                seq,
                damage: Damage::Removed,
                detail: format!("checkpoint {seq}, which the head names, is missing (removed)"),
            }));
        };
        let Some(own_prev) = stored_prev(&value) else {
            return Ok(Err(altered(format!(
                "checkpoint {seq} was altered: no valid prev"
            ))));
        };
        let json = match check_entry(seq, &value, &own_prev) {
            Ok((_, json)) => json,
            Err(problem) => {
                return Ok(Err(altered(format!(
                    "checkpoint {seq} was altered: {}",
                    problem.detail
                ))));
            }
        };
        let checkpoint: Checkpoint = match json
            .get("checkpoint")
            .cloned()
            .map(serde_json::from_value)
        {
            Some(Ok(c)) => c,
            _ => {
                return Ok(Err(altered(format!(
                    "entry {seq}, which the head names as the latest checkpoint, is not a checkpoint"
                ))));
            }
        };
        if checkpoint.pruned_through >= seq || unhex(&checkpoint.last_pruned_hash).is_none() {
            return Ok(Err(altered(format!(
                "checkpoint {seq} was altered: its cut is impossible"
            ))));
        }
        let signature = match certificate {
            None => SignatureCheck::NotChecked,
            Some(der) => match check_signature(&json, der) {
                Ok(()) => SignatureCheck::Verified(hex(&sha256(der))),
                Err(why) => {
                    return Ok(Err(altered(format!(
                        "checkpoint {seq} cannot be trusted: {why}"
                    ))));
                }
            },
        };
        let time = json
            .get("time")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string();
        Ok(Ok((checkpoint, time, signature)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::test_support::*;
    use crate::audit::{Entry, FORMAT};

    #[test]
    fn appends_and_verifies() {
        let (_db, log) = log();
        assert!(log.verify().unwrap().is_intact());
        fill(&log, 5);
        let entries = log.entries().unwrap();
        assert_eq!(entries.len(), 5);
        assert_eq!(entries[1].outcome, "denied: no");
        assert_eq!(entries[0].prev, hex(&GENESIS));
        assert_eq!(entries[1].prev, entries[0].hash);
        let v = log.verify().unwrap();
        assert!(v.is_intact(), "{v:?}");
        assert_eq!(v.entries, 5);
        assert_eq!(v.head, entries[4].hash);
        assert_eq!(log.len().unwrap(), 5);
    }

    #[test]
    fn detects_alteration() {
        let (_db, log) = log();
        fill(&log, 5);
        let key = 2u64.to_be_bytes();
        let bytes = log.tree().get(key).unwrap().unwrap();
        let text = String::from_utf8(bytes.to_vec())
            .unwrap()
            .replace("kérdés 2", "kérdés 9");
        log.tree().insert(key, text.as_bytes()).unwrap();
        assert_eq!(damage(&log), (2, Damage::Altered));
    }

    #[test]
    fn detects_alteration_with_a_recomputed_hash() {
        let (_db, log) = log();
        fill(&log, 5);
        let key = 1u64.to_be_bytes();
        let mut entry: Entry =
            serde_json::from_slice(&log.tree().get(key).unwrap().unwrap()).unwrap();
        entry.outcome = "ok".into();
        entry.hash = String::new();
        let prev = unhex(&entry.prev).unwrap();
        entry.hash = hex(&chain_hash(&prev, &serde_json::to_value(&entry).unwrap()));
        log.tree()
            .insert(key, serde_json::to_vec(&entry).unwrap())
            .unwrap();
        // A denied request made to look allowed, hash recomputed: entry 2
        // no longer follows it.
        assert_eq!(damage(&log), (1, Damage::Altered));
    }

    #[test]
    fn detects_removal_reordering_and_truncation() {
        let (_db, log) = log();
        fill(&log, 5);
        let two = log.tree().remove(2u64.to_be_bytes()).unwrap().unwrap();
        assert_eq!(damage(&log), (2, Damage::Removed));
        log.tree().insert(2u64.to_be_bytes(), two).unwrap();
        assert!(log.verify().unwrap().is_intact());

        let a = log.tree().get(1u64.to_be_bytes()).unwrap().unwrap();
        let b = log.tree().get(3u64.to_be_bytes()).unwrap().unwrap();
        log.tree().insert(1u64.to_be_bytes(), b.clone()).unwrap();
        log.tree().insert(3u64.to_be_bytes(), a.clone()).unwrap();
        assert_eq!(damage(&log), (1, Damage::Reordered));
        log.tree().insert(1u64.to_be_bytes(), a).unwrap();
        log.tree().insert(3u64.to_be_bytes(), b).unwrap();

        log.tree().remove(4u64.to_be_bytes()).unwrap();
        let v = log.verify().unwrap();
        assert_eq!(
            v.broken.as_ref().map(|b| (b.seq, b.damage)),
            Some((4, Damage::Truncated))
        );
        assert!(v.broken.unwrap().detail.contains("tail truncated"));
        log.tree().remove(0u64.to_be_bytes()).unwrap();
        assert_eq!(damage(&log), (0, Damage::Removed));
    }

    #[test]
    fn format_one_entries_still_verify_and_the_chain_continues() {
        let (_db, log) = log();
        // Two entries as the previous version wrote them: no format, no params.
        let mut prev = GENESIS;
        for seq in 0..2u64 {
            let mut entry = serde_json::json!({
                "seq": seq, "time": "2026-11-01T00:00:00.000Z", "principal": "hub:regio",
                "on_behalf_of": null, "via": [], "method": "Search", "query": "régi",
                "document": null, "indicators": [], "group_by": [], "results": 1,
                "outcome": "ok", "prev": hex(&prev),
            });
            let hash = chain_hash(&prev, &entry);
            entry["hash"] = hex(&hash).into();
            log.tree()
                .insert(seq.to_be_bytes(), serde_json::to_vec(&entry).unwrap())
                .unwrap();
            prev = hash;
        }
        log.head
            .insert(
                HEAD_KEY,
                serde_json::to_vec(&serde_json::json!({"count": 2, "hash": hex(&prev)})).unwrap(),
            )
            .unwrap();
        assert!(log.verify().unwrap().is_intact());
        fill(&log, 3);
        let v = log.verify().unwrap();
        assert!(v.is_intact(), "{v:?}");
        assert_eq!(v.entries, 5);
        let entries = log.entries().unwrap();
        assert_eq!(entries[0].format, None);
        assert_eq!(entries[4].format, Some(FORMAT));
    }

    #[test]
    fn a_cut_that_no_checkpoint_accounts_for_is_removal() {
        let (_db, log) = log();
        fill(&log, 4);
        log.tree().remove(0u64.to_be_bytes()).unwrap();
        log.tree().remove(1u64.to_be_bytes()).unwrap();
        let broken = log.verify().unwrap().broken.unwrap();
        assert_eq!((broken.seq, broken.damage), (0, Damage::Removed));
        assert!(broken.detail.contains("no checkpoint"), "{broken:?}");
    }
}
