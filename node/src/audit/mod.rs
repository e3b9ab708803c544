//! The audit log: every request from outside, allowed, refused or invalid,
//! in a tamper-evident hash chain in the node's own sled database, kept to a
//! bounded size by pruning behind a (signed) checkpoint.
//!
//! ## Layout
//!
//! - Tree `audit`: key = the entry's sequence number (`u64`, big-endian, from
//!   0, without gaps except the pruned beginning), value = the entry as JSON
//!   ([`Entry`]).
//! - Tree `audit_head`, key `head`: `{"count": N, "hash": "…", "checkpoint":
//!   C}`, the number of entries ever written, the hash of the last one and
//!   the sequence number of the latest checkpoint (absent before the first
//!   prune). It is written in the same sled transaction as each entry, so
//!   that removing entries from the end of the log (which leaves an intact,
//!   shorter chain) is detected too.
//!
//! ## The chain
//!
//! `hash = SHA-256(prev || canonical JSON of the entry)`, where `prev` is the
//! 32 raw bytes of the previous entry's hash (32 zero bytes for entry 0) and
//! the canonical JSON is the stored entry object without its `hash` member,
//! object keys sorted by their UTF-8 bytes, no insignificant whitespace,
//! `serde_json` escaping. Hashes are written as lowercase hex. The hash
//! covers whatever members the stored object has, so entries of format 1
//! (before `format`, `params` and checkpoints existed) verify unchanged.
//!
//! [`AuditLog::verify`] recomputes the chain and reports the first damage:
//! an altered entry, a removed one (a gap in the sequence), one moved to
//! another position, or a truncated tail. The chain cannot protect against
//! someone who rewrites the whole log *and* the head; to guard against that,
//! copy the head hash (`tudashalo-node audit --verify` prints it) elsewhere
//! from time to time.
//!
//! ## Retention: pruning behind a checkpoint
//!
//! `[audit] max_entries` and `max_age_days` ([`Retention`]) bound the log.
//! Every [`Retention::check_every`] appends (and at `serve` start), entries
//! beyond the bound are cut from the beginning: first exported to
//! `[audit] archive` if set, then a **checkpoint entry** is appended (an
//! ordinary chained entry, `method` `Checkpoint`) that records the range cut
//! this time, that everything up to `pruned_through` is gone, and the hash
//! and time of that last pruned entry; only then are the entries deleted. A
//! crash between the two leaves entries that the next prune removes; verify
//! accepts them.
//!
//! Verification starts at the first entry present. If that is not entry 0,
//! the latest checkpoint (named by the head) must account for every missing
//! entry, and the first entry after the cut must be chained to the hash the
//! checkpoint records. When the node has a TLS key, the checkpoint is signed
//! with it ([`CheckpointSigner`]) over `SIGNATURE_CONTEXT || canonical JSON
//! of the entry without hash and signature`; anyone holding the node's
//! certificate can then tell a genuine cut from one forged by someone who
//! could write the database but not read the key.
//!
//! ## Entry fields (also the JSON of `tudashalo-node audit --json`)
//!
//! | field          | meaning                                                          |
//! |----------------|------------------------------------------------------------------|
//! | `seq`          | sequence number, from 0                                          |
//! | `time`         | when the request was decided, RFC 3339 UTC, milliseconds         |
//! | `format`       | entry format: `2`; absent in format-1 entries                     |
//! | `principal`    | the direct peer, `role:name` from its certificate (`unknown` without one) |
//! | `on_behalf_of` | the original requester named by a relaying hub, or `null`        |
//! | `via`          | the hubs the request passed, outermost first (empty if direct)   |
//! | `method`       | the RPC: `Info`, `TermStats`, `Search`, `GetDocument`, `Aggregate`; `Checkpoint` for a prune |
//! | `query`        | the search text (`Search`, `TermStats`), or `null`               |
//! | `document`     | the document id asked for (`GetDocument`), or `null`             |
//! | `indicators`   | the indicator codes asked for (`Aggregate`)                      |
//! | `group_by`     | the grouping keys asked for (`Aggregate`)                        |
//! | `params`       | every other parameter that shapes the answer, by its protobuf name (absent if none) |
//! | `results`      | how many results left the node (hits, documents, cells), or `null` |
//! | `outcome`      | `ok`, `denied: …`, `invalid: …` or `error: …`                    |
//! | `checkpoint`   | a checkpoint's cut ([`Checkpoint`]); absent in other entries     |
//! | `signature`    | a checkpoint's signature ([`Signature`]), if the node had a key   |
//! | `prev`         | the previous entry's hash                                        |
//! | `hash`         | this entry's hash                                                |
//!
//! Every text the caller chose is bounded: at most [`MAX_FIELD_CHARS`]
//! characters (longer ones end in `… [truncated: N chars]`), and lists at
//! most [`MAX_LIST_ITEMS`] items (then one more item, `… and K more`).
//!
//! ## Where the parts live
//!
//! `record` (what an entry holds), `chain` (hashing and encodings), `log`
//! ([`AuditLog`]: appending and reading), `retention` (pruning behind a
//! checkpoint), `checkpoint` (signing checkpoints), `verify` (recomputing
//! the chain) and `time` (RFC 3339). They are private; everything public is
//! re-exported here, as `crate::audit::…`.

mod chain;
mod checkpoint;
mod log;
mod record;
mod retention;
mod time;
mod verify;

pub use chain::canonical_json;
pub use checkpoint::CheckpointSigner;
pub use log::AuditLog;
pub use record::{Checkpoint, Entry, Outcome, Params, Record, Signature, bounded, bounded_list};
pub use retention::{Pruned, Retention};
pub use time::{format_rfc3339, parse_rfc3339};
pub use verify::{Broken, Cut, Damage, SignatureCheck, Verification};

/// The sled tree of the entries.
pub const TREE: &str = "audit";
/// The sled tree of the head record.
pub const HEAD_TREE: &str = "audit_head";
const HEAD_KEY: &[u8] = b"head";
const GENESIS: [u8; 32] = [0; 32];

/// The format of the entries this version writes (see the module docs).
pub const FORMAT: u32 = 2;
/// The longest text kept from any one field, in characters.
pub const MAX_FIELD_CHARS: usize = 512;
/// The most items kept from any one list.
pub const MAX_LIST_ITEMS: usize = 32;
/// What a checkpoint's signature is over, before the entry's canonical JSON.
pub const SIGNATURE_CONTEXT: &[u8] = b"tudashalo audit checkpoint v1\0";
/// The `method` of a checkpoint entry.
pub const CHECKPOINT_METHOD: &str = "Checkpoint";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test_support {
    //! Logs and identities the modules' tests share.

    use super::*;

    pub(super) fn log() -> (sled::Db, AuditLog) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let log = AuditLog::new(
            db.open_tree(TREE).unwrap(),
            db.open_tree(HEAD_TREE).unwrap(),
        );
        (db, log)
    }

    pub(super) fn fill(log: &AuditLog, n: usize) {
        for i in 0..n {
            let mut record = Record::new("hub:regio", "Search");
            record.query = Some(format!("kérdés {i}"));
            record.results = Some(i as u64);
            if i % 2 == 1 {
                record.outcome = Outcome::Denied("no".into());
            }
            log.append(record).unwrap();
        }
    }

    pub(super) fn damage(log: &AuditLog) -> (u64, Damage) {
        let v = log.verify().unwrap();
        let b = v.broken.clone().unwrap_or_else(|| panic!("intact: {v:?}"));
        (b.seq, b.damage)
    }

    pub(super) fn bounded_log(
        max_entries: Option<u64>,
        max_age_days: Option<u32>,
    ) -> (sled::Db, AuditLog) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let log = AuditLog::with_retention(
            db.open_tree(TREE).unwrap(),
            db.open_tree(HEAD_TREE).unwrap(),
            "proba",
            Retention {
                max_entries,
                max_age_days,
                archive: None,
            },
        );
        (db, log)
    }

    /// A self-signed certificate (DER) and a signer with its key.
    pub(super) fn identity() -> (Vec<u8>, CheckpointSigner) {
        let certified = rcgen::generate_simple_self_signed(vec!["proba".into()]).unwrap();
        let signer = CheckpointSigner::from_pem(
            certified.cert.pem().as_bytes(),
            certified.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        (certified.cert.der().to_vec(), signer)
    }
}
