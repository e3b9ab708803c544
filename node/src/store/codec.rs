//! How a document is kept in the `docs` (and `staging`) tree: its JSON,
//! compressed with zstd when that makes it smaller.
//!
//! A stored value is one of two forms, told apart by its first byte:
//! - raw JSON (`{…}`): what schema 2 wrote for every document, and what
//!   schema 3 still writes for a document too small to gain from
//!   compression;
//! - [`ZSTD_TAG`] followed by one zstd frame of that JSON.
//!
//! Both forms are read wherever a document is read, so an upgrade that
//! rewrites the documents one batch at a time ([`super::upgrade`]) may stop
//! anywhere and resume: no value is ever unreadable. Stored copies are
//! compared by their JSON, never by their compressed bytes (another zstd
//! version may compress the same JSON differently).

use std::borrow::Cow;
use std::io::Read;

use crate::error::{Error, Result};

/// The first byte of a compressed value. Not `{` (every JSON document
/// starts with it) nor any other byte JSON text may start with.
pub(super) const ZSTD_TAG: u8 = 0x01;
/// zstd's level: 3 (its default) compresses the generated corpus's bodies
/// 3.3 ×, level 9 a few percent more at three times the time; not worth it
/// on an import's path.
const LEVEL: i32 = 3;
/// Values shorter than this stay raw JSON: zstd's frame costs about a dozen
/// bytes, and short text barely compresses.
const MIN_COMPRESSED: usize = 128;
/// The largest document JSON a stored value may expand to. Far above any
/// body limit a node can be configured with; a damaged value that claims
/// more is refused instead of exhausting memory.
const MAX_DECODED: u64 = 1 << 30;

/// The stored form of a document's JSON.
pub(super) fn compress(json: Vec<u8>) -> Result<Vec<u8>> {
    if json.len() < MIN_COMPRESSED {
        return Ok(json);
    }
    let frame = zstd::bulk::compress(&json, LEVEL)
        .map_err(|e| Error::Internal(format!("compressing a document: {e}")))?;
    if frame.len() + 1 >= json.len() {
        return Ok(json);
    }
    let mut value = Vec::with_capacity(frame.len() + 1);
    value.push(ZSTD_TAG);
    value.extend_from_slice(&frame);
    Ok(value)
}

/// Whether a stored value is in the compressed form.
pub(super) fn is_compressed(value: &[u8]) -> bool {
    value.first() == Some(&ZSTD_TAG)
}

/// The JSON of a stored value (either form). `key` names the value in
/// errors.
pub(super) fn json<'a>(value: &'a [u8], key: &[u8]) -> Result<Cow<'a, [u8]>> {
    let corrupt = |why: String| {
        Error::Corrupt(format!(
            "document {:?} in tree docs: {why}",
            String::from_utf8_lossy(key)
        ))
    };
    match value.first() {
        Some(&ZSTD_TAG) => {
            let frame = &value[1..];
            // The frame says how long its content is; that is only a hint
            // for the allocation (a damaged header cannot make it large).
            let hint = zstd::bulk::Decompressor::upper_bound(frame)
                .unwrap_or(0)
                .min(64 * 1024 * 1024);
            let mut out = Vec::with_capacity(hint);
            let decoder = zstd::stream::read::Decoder::with_buffer(frame)
                .map_err(|e| corrupt(format!("zstd: {e}")))?;
            decoder
                .take(MAX_DECODED + 1)
                .read_to_end(&mut out)
                .map_err(|e| corrupt(format!("zstd: {e}")))?;
            if out.len() as u64 > MAX_DECODED {
                return Err(corrupt(format!("expands beyond {MAX_DECODED} bytes")));
            }
            Ok(Cow::Owned(out))
        }
        Some(b'{') => Ok(Cow::Borrowed(value)),
        Some(other) => Err(corrupt(format!(
            "unknown value form (first byte {other:#04x})"
        ))),
        None => Err(corrupt("empty value".into())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_read_back_as_the_json() {
        let small = br#"{"id":"a"}"#.to_vec();
        assert_eq!(
            compress(small.clone()).unwrap(),
            small,
            "too small to compress"
        );
        let large = format!(
            r#"{{"id":"b","body":"{}"}}"#,
            "árvíztűrő tükörfúrógép ".repeat(200)
        );
        let stored = compress(large.clone().into_bytes()).unwrap();
        assert!(is_compressed(&stored) && stored.len() < large.len() / 4);
        assert_eq!(json(&stored, b"b").unwrap().as_ref(), large.as_bytes());
        assert_eq!(json(&small, b"a").unwrap().as_ref(), small.as_slice());
    }

    #[test]
    fn a_damaged_value_is_an_error_naming_the_document() {
        let large = format!(r#"{{"body":"{}"}}"#, "x y z ".repeat(100));
        let mut stored = compress(large.into_bytes()).unwrap();
        stored.truncate(stored.len() / 2);
        let e = json(&stored, b"d-7").unwrap_err().to_string();
        assert!(e.contains("\"d-7\"") && e.contains("zstd"), "{e}");
        let e = json(b"\x07abc", b"d-8").unwrap_err().to_string();
        assert!(e.contains("unknown value form"), "{e}");
        assert!(json(b"", b"d-9").is_err());
    }
}
