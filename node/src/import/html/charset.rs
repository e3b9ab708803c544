//! A saved page's encoding, as a browser decides it: the BOM, then a
//! declaration in the first [`PRESCAN_BYTES`] (an XML declaration, a
//! `<meta charset>` or `http-equiv` tag), else UTF-8 when the bytes are
//! valid UTF-8, else Windows-1250 (Hungarian pages of the 2000s).

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1250, WINDOWS_1252};

/// How far into the file an encoding declaration is looked for (the
/// WHATWG prescan's 1024 bytes).
pub(super) const PRESCAN_BYTES: usize = 1024;

/// The page as text, decoded by [`sniff`]'s encoding. Bytes invalid in it
/// become U+FFFD, as a browser shows them.
pub(super) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let (encoding, skip) = sniff(bytes);
    let body = bytes.get(skip..).unwrap_or_default();
    encoding.decode_without_bom_handling(body).0
}

/// The encoding of the page and the length of its BOM.
pub(super) fn sniff(bytes: &[u8]) -> (&'static Encoding, usize) {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        return (encoding, bom);
    }
    let head = bytes.get(..PRESCAN_BYTES).unwrap_or(bytes);
    if let Some(encoding) = declared(head) {
        return (encoding, 0);
    }
    if std::str::from_utf8(bytes).is_ok() {
        (UTF_8, 0)
    } else {
        (WINDOWS_1250, 0)
    }
}

/// The encoding declared in `head`: an XML declaration's `encoding`, or the
/// `charset` of a `<meta>` tag (`<meta charset="windows-1250">`,
/// `<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-2">`).
/// A declared UTF-16 is taken for UTF-8 and `x-user-defined` for
/// Windows-1252, as browsers do: the bytes were read as ASCII to find it.
pub(super) fn declared(head: &[u8]) -> Option<&'static Encoding> {
    let lower = head.to_ascii_lowercase();
    let mut found = None;
    if lower.starts_with(b"<?xml") {
        let end = find(&lower, b"?>", 0).unwrap_or(lower.len());
        found = lower
            .get(..end)
            .and_then(|decl| value_after(decl, b"encoding"))
            .and_then(Encoding::for_label);
    }
    let mut at = 0;
    while found.is_none() {
        let Some(start) = find(&lower, b"<meta", at) else {
            break;
        };
        let end = find(&lower, b">", start).unwrap_or(lower.len());
        found = lower
            .get(start..end)
            .and_then(|tag| value_after(tag, b"charset"))
            .and_then(Encoding::for_label);
        at = end;
    }
    let encoding = found?;
    Some(
        if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
            UTF_8
        } else if encoding == encoding_rs::X_USER_DEFINED {
            WINDOWS_1252
        } else {
            encoding
        },
    )
}

/// The first index of `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The value after the first `key` `=` in `tag`, unquoted: `utf-8` in
/// `charset="utf-8"` and in `content="text/html; charset=utf-8"`.
fn value_after<'t>(tag: &'t [u8], key: &[u8]) -> Option<&'t [u8]> {
    let mut at = 0;
    while let Some(i) = find(tag, key, at) {
        at = i + key.len();
        let rest = tag.get(at..)?;
        let rest = trim_start(rest);
        let Some(rest) = rest.strip_prefix(b"=") else {
            continue;
        };
        let rest = trim_start(rest);
        let rest = rest
            .strip_prefix(b"\"")
            .or_else(|| rest.strip_prefix(b"'"))
            .unwrap_or(rest);
        let len = rest
            .iter()
            .position(|b| matches!(b, b'"' | b'\'' | b';' | b'>' | b'/') || b.is_ascii_whitespace())
            .unwrap_or(rest.len());
        return rest.get(..len).filter(|v| !v.is_empty());
    }
    None
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    s.get(n..).unwrap_or_default()
}
