//! The text importer's fuzzing entry point ([`text`]): one input is the
//! bytes of a `.txt` and of a `.md` file, turned into a document as
//! `import` does — UTF-8 with or without BOM, else Windows-1250 — with the
//! import command's metadata flags.
//!
//! Shared by the cargo-fuzz target `fuzz/fuzz_targets/import_text.rs` and
//! the workspace test `node/tests/import_corpus.rs` (corpus
//! `fuzz/corpus/import_text`, findings `fuzz/regressions/import_text`).
//! Nothing may panic; a document that comes out must have a title within
//! its limit, a body within its limit, and the body must be the file's
//! text as decoded. Nothing is written anywhere.

use std::path::Path;

use crate::import::{Limits, TextMeta, parse_text, text::MAX_TITLE_CHARS};
use tudashalo_core::model::Kind;

/// Small limits, so that the body limit is reached by fuzzed inputs.
fn limits() -> Limits {
    Limits {
        max_body_bytes: 2048,
        ..Limits::default()
    }
}

/// Runs one input as `jegyzokonyv.txt` and as `fejlesztesi-terv.md`.
/// Panics on a finding (a panic inside the importer propagates by itself).
pub fn text(data: &[u8]) {
    let limits = limits();
    let meta = TextMeta {
        kind: Some(Kind::Minutes),
        settlements: vec!["Edelény".to_string(), " ".to_string()],
        sectors: vec!["közlekedés".to_string()],
        year: Some(2023),
        ..TextMeta::default()
    };
    for name in ["jegyzokonyv.txt", "fejlesztesi-terv.md"] {
        let path = Path::new("/import/dokumentumok").join(name);
        let Ok(doc) = parse_text(name, &path, data, &meta, &limits) else {
            continue;
        };
        assert!(!doc.title.trim().is_empty(), "an empty title: {doc:?}");
        assert!(
            doc.title.chars().count() <= MAX_TITLE_CHARS,
            "a title of {} characters",
            doc.title.chars().count()
        );
        assert!(
            doc.body.len() <= limits.max_body_bytes,
            "a body of {} bytes was accepted",
            doc.body.len()
        );
        assert!(!doc.body.trim().is_empty(), "an empty body was accepted");
        let bytes = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        let decoded = match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(_) => encoding_rs::WINDOWS_1250
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        };
        assert_eq!(doc.body, decoded, "the body is not the file's text");
    }
}
