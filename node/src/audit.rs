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

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use ring::digest::{Context, SHA256};
use rustls::SignatureScheme;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::error::{Error, Result};

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
/// Entries deleted per sled batch when pruning.
const DELETE_BATCH: usize = 10_000;

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused by the policy (or unauthenticated), with the reason.
    Denied(String),
    /// Refused before any domain call because the request itself is
    /// malformed (a bad parameter or relay header), with the reason.
    Invalid(String),
    /// Allowed, but failed, with the error the caller saw.
    Error(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Denied(why) => write!(f, "denied: {why}"),
            Outcome::Invalid(why) => write!(f, "invalid: {why}"),
            Outcome::Error(why) => write!(f, "error: {why}"),
        }
    }
}

/// `text` cut to [`MAX_FIELD_CHARS`] characters, with a visible marker
/// naming its full length when it was longer.
pub fn bounded(text: &str) -> String {
    let total = text.chars().count();
    if total <= MAX_FIELD_CHARS {
        return text.to_string();
    }
    let kept: String = text.chars().take(MAX_FIELD_CHARS).collect();
    format!("{kept}… [truncated: {total} chars]")
}

/// `items` cut to [`MAX_LIST_ITEMS`] items, each [`bounded`], followed by
/// `… and K more` when there were more.
pub fn bounded_list<S: AsRef<str>>(items: &[S]) -> Vec<String> {
    let mut out: Vec<String> = items
        .iter()
        .take(MAX_LIST_ITEMS)
        .map(|s| bounded(s.as_ref()))
        .collect();
    if items.len() > MAX_LIST_ITEMS {
        out.push(format!("… and {} more", items.len() - MAX_LIST_ITEMS));
    }
    out
}

/// The parameters of a request beyond the top-level fields, by their
/// protobuf names, each bounded as it is added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Params(BTreeMap<String, serde_json::Value>);

impl Params {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get(name)
    }

    /// A text parameter, [`bounded`].
    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.0
            .insert(name.into(), serde_json::Value::String(bounded(value)));
        self
    }

    /// A list parameter, [`bounded_list`].
    pub fn list<S: AsRef<str>>(&mut self, name: &str, items: &[S]) -> &mut Self {
        self.0
            .insert(name.into(), serde_json::json!(bounded_list(items)));
        self
    }

    pub fn flag(&mut self, name: &str, value: bool) -> &mut Self {
        self.0.insert(name.into(), serde_json::Value::Bool(value));
        self
    }

    /// A number (or `null` for an absent optional one).
    pub fn number(
        &mut self,
        name: &str,
        value: Option<impl Into<serde_json::Number>>,
    ) -> &mut Self {
        self.0.insert(
            name.into(),
            value.map_or(serde_json::Value::Null, |n| {
                serde_json::Value::Number(n.into())
            }),
        );
        self
    }

    /// Anything else already bounded by the caller (a small object).
    pub fn value(&mut self, name: &str, value: serde_json::Value) -> &mut Self {
        self.0.insert(name.into(), value);
        self
    }
}

/// What the gRPC layer knows about one request, to be appended. Every text
/// is bounded when it is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub principal: String,
    pub on_behalf_of: Option<String>,
    pub via: Vec<String>,
    pub method: String,
    pub query: Option<String>,
    pub document: Option<String>,
    pub indicators: Vec<String>,
    pub group_by: Vec<String>,
    pub params: Params,
    pub results: Option<u64>,
    pub outcome: Outcome,
}

impl Record {
    /// A record of `method` by `principal`, outcome `ok`, nothing else set.
    pub fn new(principal: impl Into<String>, method: impl Into<String>) -> Record {
        Record {
            principal: principal.into(),
            on_behalf_of: None,
            via: Vec::new(),
            method: method.into(),
            query: None,
            document: None,
            indicators: Vec::new(),
            group_by: Vec::new(),
            params: Params::default(),
            results: None,
            outcome: Outcome::Ok,
        }
    }
}

/// One stored entry; see the module documentation for its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub time: String,
    /// `None` for entries of format 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<u32>,
    pub principal: String,
    pub on_behalf_of: Option<String>,
    pub via: Vec<String>,
    pub method: String,
    pub query: Option<String>,
    pub document: Option<String>,
    pub indicators: Vec<String>,
    pub group_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    pub results: Option<u64>,
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    pub prev: String,
    pub hash: String,
}

/// What a checkpoint entry records about a cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The first entry removed by this cut.
    pub pruned_from: u64,
    /// The last entry removed: every entry up to it is gone (by this cut or
    /// earlier ones).
    pub pruned_through: u64,
    /// How many entries this cut removed.
    pub pruned_count: u64,
    /// The hash of entry `pruned_through`, to which entry
    /// `pruned_through + 1` is chained.
    pub last_pruned_hash: String,
    /// The time of entry `pruned_through`.
    pub last_pruned_time: String,
    /// Which bound made the cut: `max_entries N` and/or `max_age_days N`.
    pub reason: String,
    /// The file the pruned entries were exported to, if any.
    pub archive: Option<String>,
}

/// A checkpoint's signature by the node's TLS key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The TLS signature scheme, e.g. `ECDSA_NISTP256_SHA256`.
    pub scheme: String,
    /// SHA-256 of the DER of the certificate whose key signed, hex.
    pub certificate_sha256: String,
    /// The signature, hex.
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Head {
    count: u64,
    hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint: Option<u64>,
}

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

    fn is_bounded(&self) -> bool {
        self.max_entries.is_some() || self.max_age_days.is_some()
    }
}

/// Signs checkpoints with the node's TLS key.
pub struct CheckpointSigner {
    signer: Box<dyn rustls::sign::Signer>,
    certificate_sha256: String,
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("scheme", &self.signer.scheme())
            .field("certificate_sha256", &self.certificate_sha256)
            .finish()
    }
}

/// The schemes a checkpoint may be signed with (TLS 1.3 ones: one key type
/// and hash each), with the matching verification algorithm.
fn schemes() -> [(
    SignatureScheme,
    &'static dyn rustls::pki_types::SignatureVerificationAlgorithm,
); 4] {
    [
        (SignatureScheme::ED25519, webpki::ring::ED25519),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            webpki::ring::ECDSA_P256_SHA256,
        ),
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            webpki::ring::ECDSA_P384_SHA384,
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        ),
    ]
}

impl CheckpointSigner {
    /// A signer from the node's certificate and private key (PEM).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> std::result::Result<Self, String> {
        let cert = CertificateDer::from_pem_slice(cert_pem)
            .map_err(|e| format!("certificate: not a PEM certificate ({e})"))?;
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| format!("key: not a PEM private key ({e})"))?;
        let key = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| format!("key: {e}"))?;
        let offered: Vec<SignatureScheme> = schemes().iter().map(|(s, _)| *s).collect();
        let signer = key
            .choose_scheme(&offered)
            .ok_or_else(|| "key: no supported signature scheme for its type".to_string())?;
        Ok(CheckpointSigner {
            signer,
            certificate_sha256: hex(&sha256(cert.as_ref())),
        })
    }

    /// Reads the certificate and key files.
    pub fn from_files(
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> std::result::Result<Self, String> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))
        };
        CheckpointSigner::from_pem(&read(cert)?, &read(key)?)
    }

    fn sign(&self, entry: &serde_json::Value) -> std::result::Result<Signature, String> {
        let value = self
            .signer
            .sign(&signed_message(entry))
            .map_err(|e| format!("signing the checkpoint: {e}"))?;
        Ok(Signature {
            scheme: format!("{:?}", self.signer.scheme()),
            certificate_sha256: self.certificate_sha256.clone(),
            value: hex(&value),
        })
    }
}

/// What a checkpoint's signature covers: the context, then the canonical
/// JSON of the entry without `hash` and `signature`.
fn signed_message(entry: &serde_json::Value) -> Vec<u8> {
    let mut entry = entry.clone();
    if let Some(object) = entry.as_object_mut() {
        object.remove("hash");
        object.remove("signature");
    }
    let mut message = SIGNATURE_CONTEXT.to_vec();
    message.extend_from_slice(canonical_json(&entry).as_bytes());
    message
}

/// Checks `entry`'s signature against `cert_der`. `Err` says what is wrong.
fn check_signature(entry: &serde_json::Value, cert_der: &[u8]) -> std::result::Result<(), String> {
    let signature: Signature = match entry.get("signature") {
        None | Some(serde_json::Value::Null) => return Err("it is not signed".into()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| format!("its signature is unreadable ({e})"))?,
    };
    let fingerprint = hex(&sha256(cert_der));
    if signature.certificate_sha256 != fingerprint {
        return Err(format!(
            "it names the certificate sha256:{}, not the one given (sha256:{fingerprint})",
            signature.certificate_sha256
        ));
    }
    let Some((_, algorithm)) = schemes()
        .into_iter()
        .find(|(s, _)| format!("{s:?}") == signature.scheme)
    else {
        return Err(format!("unknown signature scheme {:?}", signature.scheme));
    };
    let value = unhex_any(&signature.value).ok_or("its signature is not hex")?;
    let cert = CertificateDer::from(cert_der.to_vec());
    let cert = webpki::EndEntityCert::try_from(&cert)
        .map_err(|e| format!("the certificate is unusable ({e})"))?;
    cert.verify_signature(algorithm, &signed_message(entry), &value)
        .map_err(|_| "its signature does not verify with the node's certificate".to_string())
}

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

/// The outcome of one prune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub from: u64,
    pub through: u64,
    /// The checkpoint entry written.
    pub checkpoint: u64,
    pub archive: Option<PathBuf>,
}

/// The append-only, hash-chained audit log of a node.
#[derive(Debug)]
pub struct AuditLog {
    entries: Tree,
    head: Tree,
    /// Serialises appends and prunes, so that sequence numbers and the
    /// chain never race.
    append: Mutex<()>,
    retention: Retention,
    /// The principal checkpoints are written as (`node:NAME`).
    node: String,
    signer: Mutex<Option<Arc<CheckpointSigner>>>,
    /// Set after a failed prune has been logged once, so that a broken
    /// archive folder does not flood the log at every check.
    prune_failed: AtomicBool,
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
    fn append_at(&self, record: Record, millis: i64) -> Result<Entry> {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.append
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends the entry `build(seq, time, prev)` makes, hashed (and signed,
    /// if it is a checkpoint and there is a signer). The append lock must be
    /// held.
    fn append_locked(
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

    /// [`AuditLog::prune`], a failure logged (once in a row) instead of returned.
    fn prune_logged(&self) {
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

    /// Writes every entry (or those at or after `since`) as JSON Lines to `out`.
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

    /// The sequence number of the first entry present.
    fn first_seq(&self) -> Result<Option<u64>> {
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

    /// The entries at or after `since` (milliseconds since the Unix epoch,
    /// see [`parse_rfc3339`]), in sequence order.
    pub fn entries_since(&self, since: Option<i64>) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for item in self.entries.iter() {
            let (key, value) = item?;
            let entry: Entry = serde_json::from_slice(&value).map_err(|e| {
                Error::Corrupt(format!(
                    "audit entry {}: {e} (run `tudashalo-node audit --verify`)",
                    key_seq(&key).map_or_else(|| format!("{key:?}"), |s| s.to_string())
                ))
            })?;
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

/// The `prev` an entry states.
fn stored_prev(value: &[u8]) -> Option<[u8; 32]> {
    let json: serde_json::Value = serde_json::from_slice(value).ok()?;
    json.get("prev").and_then(|p| p.as_str()).and_then(unhex)
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

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
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

/// SHA-256(prev || canonical JSON of `entry` without its `hash` member).
fn chain_hash(prev: &[u8; 32], entry: &serde_json::Value) -> [u8; 32] {
    let mut entry = entry.clone();
    if let Some(object) = entry.as_object_mut() {
        object.remove("hash");
    }
    let canonical = canonical_json(&entry);
    let mut context = Context::new(&SHA256);
    context.update(prev);
    context.update(canonical.as_bytes());
    let digest = context.finish();
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// JSON with object keys sorted by their bytes and no whitespace.
pub fn canonical_json(value: &serde_json::Value) -> String {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(object) => {
                let mut keys: Vec<&String> = object.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for key in keys {
                    if let Some(v) = object.get(key) {
                        out.insert(key.clone(), sorted(v));
                    }
                }
                serde_json::Value::Object(out)
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sorted).collect())
            }
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

fn decode_head(bytes: &[u8]) -> Result<(u64, [u8; 32], Option<u64>)> {
    let head = decode_head_full(bytes)?;
    let hash = unhex(&head.hash)
        .ok_or_else(|| Error::Corrupt(format!("audit head: bad hash {:?}", head.hash)))?;
    Ok((head.count, hash, head.checkpoint))
}

fn decode_head_full(bytes: &[u8]) -> Result<Head> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("audit head: {e}")))
}

fn key_seq(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// Bytes of a hex string of any even length.
fn unhex_any(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the Unix epoch.
pub fn format_rfc3339(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Milliseconds since the Unix epoch of an RFC 3339 time
/// (`2026-11-01T00:00:00Z`, `2026-11-01T01:00:00.5+01:00`) or a date
/// (`2026-11-01`, midnight UTC).
pub fn parse_rfc3339(text: &str) -> std::result::Result<i64, String> {
    let bad = |why: &str| {
        format!("{text:?} is not an RFC 3339 time such as 2026-11-01T00:00:00Z ({why})")
    };
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> std::result::Result<i64, String> {
        let part = text.get(range).ok_or_else(|| bad("too short"))?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected digits"));
        }
        part.parse::<i64>().map_err(|_| bad("expected digits"))
    };
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(bad("expected YYYY-MM-DD"));
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(bad("no such date"));
    }
    let days = days_from_civil(year, month, day);
    if bytes.len() == 10 {
        return Ok(days * 86_400_000);
    }
    if bytes.len() < 20
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return Err(bad("expected THH:MM:SS and a zone"));
    }
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad("no such time of day"));
    }
    let mut at = 19;
    let mut millis = 0;
    if bytes[at] == b'.' {
        let start = at + 1;
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return Err(bad("expected digits after '.'"));
        }
        let frac = &text[start..end.min(start + 3)];
        millis = frac.parse::<i64>().map_err(|_| bad("bad fraction"))?
            * 10_i64.pow(3 - frac.len() as u32);
        at = end;
    }
    let offset_minutes = match &text[at..] {
        "Z" | "z" => 0,
        zone if zone.len() == 6
            && matches!(zone.as_bytes()[0], b'+' | b'-')
            && zone.as_bytes()[3] == b':' =>
        {
            let hours = number(at + 1..at + 3)?;
            let minutes = number(at + 4..at + 6)?;
            if hours > 23 || minutes > 59 {
                return Err(bad("bad zone offset"));
            }
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            sign * (hours * 60 + minutes)
        }
        _ => return Err(bad("expected a zone: Z or ±HH:MM")),
    };
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Ok(secs * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of days since 1970-01-01 (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn log() -> (sled::Db, AuditLog) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let log = AuditLog::new(
            db.open_tree(TREE).unwrap(),
            db.open_tree(HEAD_TREE).unwrap(),
        );
        (db, log)
    }

    fn fill(log: &AuditLog, n: usize) {
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

    fn damage(log: &AuditLog) -> (u64, Damage) {
        let v = log.verify().unwrap();
        let b = v.broken.clone().unwrap_or_else(|| panic!("intact: {v:?}"));
        (b.seq, b.damage)
    }

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
    fn canonical_json_sorts_keys() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":0,"y":1}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}"#
        );
    }

    #[test]
    fn times() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        let t = parse_rfc3339("2026-11-01T00:00:00Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-01T00:00:00.000Z");
        assert_eq!(parse_rfc3339("2026-11-01").unwrap(), t);
        assert_eq!(parse_rfc3339("2026-11-01T01:00:00+01:00").unwrap(), t);
        assert_eq!(
            parse_rfc3339("2026-10-31T23:00:00.5-01:00").unwrap(),
            t + 500
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T12:34:56.789Z")
                .map(format_rfc3339)
                .unwrap(),
            "2024-02-29T12:34:56.789Z"
        );
        for bad in [
            "",
            "2026-13-01",
            "2025-02-29",
            "2026-11-01T00:00:00",
            "2026-11-01T25:00:00Z",
            "tegnap",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        let now = now_millis();
        assert_eq!(parse_rfc3339(&format_rfc3339(now)).unwrap(), now);
    }

    fn bounded_log(max_entries: Option<u64>, max_age_days: Option<u32>) -> (sled::Db, AuditLog) {
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
    fn identity() -> (Vec<u8>, CheckpointSigner) {
        let certified = rcgen::generate_simple_self_signed(vec!["proba".into()]).unwrap();
        let signer = CheckpointSigner::from_pem(
            certified.cert.pem().as_bytes(),
            certified.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        (certified.cert.der().to_vec(), signer)
    }

    #[test]
    fn long_texts_and_lists_are_cut_visibly() {
        assert_eq!(bounded("rövid"), "rövid");
        let long = "é".repeat(MAX_FIELD_CHARS + 10);
        let cut = bounded(&long);
        assert!(cut.starts_with(&"é".repeat(MAX_FIELD_CHARS)));
        assert!(cut.ends_with(&format!("… [truncated: {} chars]", MAX_FIELD_CHARS + 10)));
        let items: Vec<String> = (0..MAX_LIST_ITEMS + 5).map(|i| i.to_string()).collect();
        let listed = bounded_list(&items);
        assert_eq!(listed.len(), MAX_LIST_ITEMS + 1);
        assert_eq!(listed.last().unwrap(), "… and 5 more");
        let (_db, log) = log();
        let mut record = Record::new("hub:regio", "Search");
        record.query = Some(long);
        record.outcome = Outcome::Invalid("x".repeat(5_000));
        let entry = log.append(record).unwrap();
        assert!(entry.query.unwrap().contains("[truncated: "));
        assert!(entry.outcome.starts_with("invalid: "));
        assert!(
            entry.outcome.ends_with("[truncated: 5009 chars]"),
            "{}",
            entry.outcome
        );
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
    fn a_forged_and_rehashed_checkpoint_fails_only_the_signature_check() {
        let (_db, log) = bounded_log(Some(5), None);
        let (cert, signer) = identity();
        log.set_signer(Some(signer));
        fill(&log, 12);
        // The forger cuts two more entries and rewrites the checkpoint and
        // every entry after it, and the head, with correct hashes.
        let entries = log.entries().unwrap();
        let at = entries
            .iter()
            .rposition(|e| e.checkpoint.is_some())
            .unwrap();
        let mut forged = entries[at].clone();
        let mut cut = forged.checkpoint.clone().unwrap();
        let hidden = &entries[..at];
        assert!(hidden.len() >= 2, "{entries:?}");
        cut.pruned_through = hidden[1].seq;
        cut.last_pruned_hash = hidden[1].hash.clone();
        forged.checkpoint = Some(cut);
        for e in &hidden[..2] {
            log.tree().remove(e.seq.to_be_bytes()).unwrap();
        }
        let mut prev = unhex(&forged.prev).unwrap();
        let mut rewritten = vec![forged];
        rewritten.extend(entries[at + 1..].iter().cloned());
        for e in &mut rewritten {
            e.prev = hex(&prev);
            e.hash = String::new();
            let hash = chain_hash(&prev, &serde_json::to_value(&*e).unwrap());
            e.hash = hex(&hash);
            log.tree()
                .insert(e.seq.to_be_bytes(), serde_json::to_vec(&*e).unwrap())
                .unwrap();
            prev = hash;
        }
        let count = rewritten.last().unwrap().seq + 1;
        log.head
            .insert(
                HEAD_KEY,
                serde_json::to_vec(&Head {
                    count,
                    hash: hex(&prev),
                    checkpoint: Some(entries[at].seq),
                })
                .unwrap(),
            )
            .unwrap();
        // Without the certificate the forgery is a consistent chain…
        assert!(log.verify().unwrap().is_intact());
        // …with it, the signature no longer matches.
        let broken = log.verify_with(Some(&cert)).unwrap().broken.unwrap();
        assert_eq!(
            (broken.seq, broken.damage),
            (entries[at].seq, Damage::Altered)
        );
        assert!(
            broken.detail.contains("signature does not verify"),
            "{broken:?}"
        );
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
