//! The audit log: every request from outside, allowed or refused, in a
//! tamper-evident hash chain in the node's own sled database.
//!
//! ## Layout
//!
//! - Tree `audit`: key = the entry's sequence number (`u64`, big-endian, from
//!   0, without gaps), value = the entry as JSON ([`Entry`]).
//! - Tree `audit_head`, key `head`: `{"count": N, "hash": "…"}`, the number of
//!   entries and the hash of the last one. It is written in the same sled
//!   transaction as each entry, so that removing entries from the end of the
//!   log (which leaves an intact, shorter chain) is detected too.
//!
//! ## The chain
//!
//! `hash = SHA-256(prev || canonical JSON of the entry)`, where `prev` is the
//! 32 raw bytes of the previous entry's hash (32 zero bytes for entry 0) and
//! the canonical JSON is the stored entry object without its `hash` member,
//! object keys sorted by their UTF-8 bytes, no insignificant whitespace,
//! `serde_json` escaping. Hashes are written as lowercase hex.
//!
//! [`AuditLog::verify`] recomputes the chain and reports the first damage:
//! an altered entry, a removed one (a gap in the sequence), one moved to
//! another position, or a truncated tail. The chain cannot protect against
//! someone who rewrites the whole log *and* the head; to guard against that,
//! copy the head hash (`tudashalo-node audit --verify` prints it) elsewhere
//! from time to time.
//!
//! ## Entry fields (also the JSON of `tudashalo-node audit --json`)
//!
//! | field          | meaning                                                          |
//! |----------------|------------------------------------------------------------------|
//! | `seq`          | sequence number, from 0                                          |
//! | `time`         | when the request was decided, RFC 3339 UTC, milliseconds         |
//! | `principal`    | the direct peer, `role:name` from its certificate (`unknown` without one) |
//! | `on_behalf_of` | the original requester named by a relaying hub, or `null`        |
//! | `via`          | the hubs the request passed, outermost first (empty if direct)   |
//! | `method`       | the RPC: `Info`, `TermStats`, `Search`, `GetDocument`, `Aggregate` |
//! | `query`        | the search text (`Search`, `TermStats`), or `null`               |
//! | `document`     | the document id asked for (`GetDocument`), or `null`             |
//! | `indicators`   | the indicator codes asked for (`Aggregate`)                      |
//! | `group_by`     | the grouping keys asked for (`Aggregate`)                        |
//! | `results`      | how many results left the node (hits, documents, cells), or `null` |
//! | `outcome`      | `ok`, `denied: …` or `error: …`                                  |
//! | `prev`         | the previous entry's hash                                        |
//! | `hash`         | this entry's hash                                                |

use std::fmt;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::digest::{Context, SHA256};
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

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused by the policy (or unauthenticated), with the reason.
    Denied(String),
    /// Allowed, but failed, with the error the caller saw.
    Error(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Denied(why) => write!(f, "denied: {why}"),
            Outcome::Error(why) => write!(f, "error: {why}"),
        }
    }
}

/// What the gRPC layer knows about one request, to be appended.
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
    pub principal: String,
    pub on_behalf_of: Option<String>,
    pub via: Vec<String>,
    pub method: String,
    pub query: Option<String>,
    pub document: Option<String>,
    pub indicators: Vec<String>,
    pub group_by: Vec<String>,
    pub results: Option<u64>,
    pub outcome: String,
    pub prev: String,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Head {
    count: u64,
    hash: String,
}

/// What kind of damage [`AuditLog::verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Damage {
    /// An entry's contents (or its hash) were changed.
    Altered,
    /// An entry is missing: a gap in the sequence.
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

/// The outcome of [`AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries verified: all of them if intact, else those before the damage.
    pub entries: u64,
    /// The hash of the last intact entry (the head, if the chain is intact).
    pub head: String,
    /// The first damage, if any.
    pub broken: Option<Broken>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// The append-only, hash-chained audit log of a node.
#[derive(Debug)]
pub struct AuditLog {
    entries: Tree,
    head: Tree,
    /// Serialises appends, so that sequence numbers and the chain never race.
    append: Mutex<()>,
}

impl AuditLog {
    /// The audit log over the trees [`TREE`] and [`HEAD_TREE`].
    pub fn new(entries: Tree, head: Tree) -> AuditLog {
        AuditLog {
            entries,
            head,
            append: Mutex::new(()),
        }
    }

    /// The raw tree of entries, for tools and tests. Writing to it breaks
    /// the chain, which [`AuditLog::verify`] reports.
    pub fn tree(&self) -> &Tree {
        &self.entries
    }

    /// Appends `record`, stamped with the current time; returns the entry.
    pub fn append(&self, record: Record) -> Result<Entry> {
        let time = format_rfc3339(now_millis());
        let _serial = self
            .append
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (&self.entries, &self.head)
            .transaction(|(entries, head)| {
                let (count, prev) = match head.get(HEAD_KEY)? {
                    None => (0, GENESIS),
                    Some(bytes) => decode_head(&bytes)
                        .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?,
                };
                let mut entry = Entry {
                    seq: count,
                    time: time.clone(),
                    principal: record.principal.clone(),
                    on_behalf_of: record.on_behalf_of.clone(),
                    via: record.via.clone(),
                    method: record.method.clone(),
                    query: record.query.clone(),
                    document: record.document.clone(),
                    indicators: record.indicators.clone(),
                    group_by: record.group_by.clone(),
                    results: record.results,
                    outcome: record.outcome.to_string(),
                    prev: hex(&prev),
                    hash: String::new(),
                };
                let value = serde_json::to_value(&entry)
                    .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?;
                let hash = chain_hash(&prev, &value);
                entry.hash = hex(&hash);
                let bytes = serde_json::to_vec(&entry)
                    .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?;
                let head_bytes = serde_json::to_vec(&Head {
                    count: count + 1,
                    hash: entry.hash.clone(),
                })
                .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?;
                entries.insert(&count.to_be_bytes(), bytes)?;
                head.insert(HEAD_KEY, head_bytes)?;
                Ok(entry)
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => Error::Store(e),
                TransactionError::Abort(message) => Error::Corrupt(format!("audit log: {message}")),
            })
    }

    /// How many entries the head records.
    pub fn len(&self) -> Result<u64> {
        Ok(match self.head.get(HEAD_KEY)? {
            None => 0,
            Some(bytes) => decode_head(&bytes)?.0,
        })
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Every entry, in sequence order.
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

    /// Recomputes the chain and reports the first damage, if any.
    pub fn verify(&self) -> Result<Verification> {
        let mut expected: u64 = 0;
        let mut prev = GENESIS;
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
            match check_entry(seq, &value, &prev) {
                Ok(hash) => prev = hash,
                Err(problem) => {
                    found = Some(problem);
                    break;
                }
            }
            expected += 1;
        }
        if found.is_none() {
            found = self.check_head(expected, &prev)?;
        }
        Ok(Verification {
            entries: expected,
            head: hex(&prev),
            broken: found,
        })
    }

    /// Compares the head record with the end of an intact chain.
    fn check_head(&self, entries: u64, last: &[u8; 32]) -> Result<Option<Broken>> {
        let (count, hash) = match self.head.get(HEAD_KEY)? {
            None if entries == 0 => return Ok(None),
            None => {
                return Ok(Some(Broken {
                    seq: entries,
                    damage: Damage::Truncated,
                    detail: format!(
                        "the head record is missing ({entries} entries found); the log was tampered with"
                    ),
                }));
            }
            Some(bytes) => match decode_head(&bytes) {
                Ok(head) => head,
                Err(e) => {
                    return Ok(Some(Broken {
                        seq: entries,
                        damage: Damage::Altered,
                        detail: format!("the head record is unreadable: {e}"),
                    }));
                }
            },
        };
        Ok(if count > entries {
            Some(Broken {
                seq: entries,
                damage: Damage::Truncated,
                detail: format!(
                    "the log ends after {entries} entries, but {count} were written: entries {entries}..{} were removed (tail truncated)",
                    count - 1
                ),
            })
        } else if count < entries {
            Some(Broken {
                seq: count,
                damage: Damage::Altered,
                detail: format!(
                    "entries {count}..{} were added outside the node (the head records {count} entries)",
                    entries - 1
                ),
            })
        } else if hash != *last {
            Some(Broken {
                seq: entries.saturating_sub(1),
                damage: Damage::Altered,
                detail: format!(
                    "entry {} is not the last entry that was written (its hash differs from the head record)",
                    entries.saturating_sub(1)
                ),
            })
        } else {
            None
        })
    }
}

/// Checks one stored entry at position `seq` against the previous entry's
/// hash; returns its own hash.
fn check_entry(seq: u64, value: &[u8], prev: &[u8; 32]) -> std::result::Result<[u8; 32], Broken> {
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
    Ok(stored_hash)
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

fn decode_head(bytes: &[u8]) -> Result<(u64, [u8; 32])> {
    let head: Head =
        serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("audit head: {e}")))?;
    let hash = unhex(&head.hash)
        .ok_or_else(|| Error::Corrupt(format!("audit head: bad hash {:?}", head.hash)))?;
    Ok((head.count, hash))
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
}
