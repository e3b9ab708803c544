//! What is recorded: the [`Record`] the gRPC layer hands over, the stored
//! [`Entry`] and its parts, and the bounds on every text a caller chose.
//!
//! Field names and shapes are the log's format (see the module table of
//! `audit`): entries already written must keep verifying, so fields are
//! only added, as options that are skipped when absent. A caller's text
//! never enters the log unbounded, and a cut is visible in the entry.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{MAX_FIELD_CHARS, MAX_LIST_ITEMS};

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::test_support::*;

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
}
