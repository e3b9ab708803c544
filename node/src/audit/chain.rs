//! The hash chain and its encodings: canonical JSON, entry hashes, the head
//! record and sequence-number keys.
//!
//! `hash = SHA-256(prev || canonical JSON of the entry without hash)`:
//! whatever members a stored entry has are covered, so that entries of
//! older formats verify unchanged. Changing anything here invalidates every
//! log ever written.

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Head {
    pub(super) count: u64,
    pub(super) hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) checkpoint: Option<u64>,
}

/// The `prev` an entry states.
pub(super) fn stored_prev(value: &[u8]) -> Option<[u8; 32]> {
    let json: serde_json::Value = serde_json::from_slice(value).ok()?;
    json.get("prev").and_then(|p| p.as_str()).and_then(unhex)
}

pub(super) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// SHA-256(prev || canonical JSON of `entry` without its `hash` member).
pub(super) fn chain_hash(prev: &[u8; 32], entry: &serde_json::Value) -> [u8; 32] {
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

pub(super) fn decode_head(bytes: &[u8]) -> Result<(u64, [u8; 32], Option<u64>)> {
    let head = decode_head_full(bytes)?;
    let hash = unhex(&head.hash)
        .ok_or_else(|| Error::Corrupt(format!("audit head: bad hash {:?}", head.hash)))?;
    Ok((head.count, hash, head.checkpoint))
}

pub(super) fn decode_head_full(bytes: &[u8]) -> Result<Head> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("audit head: {e}")))
}

pub(super) fn key_seq(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

pub(super) fn unhex(text: &str) -> Option<[u8; 32]> {
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
pub(super) fn unhex_any(text: &str) -> Option<Vec<u8>> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":0,"y":1}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}"#
        );
    }
}
