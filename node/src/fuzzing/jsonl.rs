//! The JSON Lines importers' fuzzing entry point ([`jsonl`]): one input is
//! the bytes of a `.jsonl` file, read as `import` reads it — what it holds
//! is told from its first line ([`crate::import::detect_jsonl`]), then it is
//! read as documents (whole, and streamed a few documents at a time through
//! a tiny buffer, which must agree) and as each of the register's tables.
//!
//! Shared by the cargo-fuzz target `fuzz/fuzz_targets/import_jsonl.rs` and
//! the workspace test `node/tests/import_corpus.rs` (corpus
//! `fuzz/corpus/import_jsonl`, findings `fuzz/regressions/import_jsonl`).
//! A bad line must cost only that line, named by file and line; nothing may
//! panic. Nothing is written anywhere.

use std::io::BufReader;

use super::{KnowsLittle, check_lines, check_rejections, line_count};
use crate::import::register;
use crate::import::{DocumentReader, Limits, detect_jsonl, parse_documents};

/// The label rejections must name.
pub const JSONL_LABEL: &str = "dokumentumok.jsonl";

/// Small limits, so that the body limit is reached by fuzzed inputs.
fn limits() -> Limits {
    Limits {
        max_body_bytes: 2048,
        ..Limits::default()
    }
}

/// Runs one input through the JSON Lines importers. Panics on a finding: a
/// rejection that names another file or a line the file does not have, an
/// accepted body over the limit, a duplicate id accepted twice, or a
/// streamed read that disagrees with the whole one.
pub fn jsonl(data: &[u8]) {
    let lines = line_count(data);
    let limits = limits();
    // Told from the first line; any answer will do, but it must come.
    let _ = detect_jsonl(BufReader::with_capacity(3, data));

    let whole = parse_documents(JSONL_LABEL, data, &limits);
    if let Ok(parsed) = &whole {
        check_rejections(JSONL_LABEL, lines, &parsed.rejected);
        check_lines(lines, parsed.records.iter().map(|(l, _)| *l));
        let mut ids = std::collections::HashSet::new();
        for (line, doc) in &parsed.records {
            assert!(
                doc.body.len() <= limits.max_body_bytes,
                "line {line}: a body of {} bytes was accepted",
                doc.body.len()
            );
            assert!(
                ids.insert(doc.id.as_str()),
                "id {:?} accepted twice",
                doc.id
            );
        }
    }
    // The same file through a 5-byte buffer, two documents at a time.
    let mut reader = DocumentReader::new(JSONL_LABEL, BufReader::with_capacity(5, data), &limits);
    let mut streamed = Vec::new();
    let outcome = loop {
        match reader.next_batch(2) {
            Ok(batch) if batch.is_empty() => break reader.finish(),
            Ok(batch) => streamed.extend(batch),
            Err(e) => break Err(e),
        }
    };
    match (&whole, outcome) {
        (Ok(parsed), Ok(rejected)) => {
            assert_eq!(parsed.records, streamed, "streamed documents differ");
            assert_eq!(parsed.rejected, rejected, "streamed rejections differ");
        }
        (Err(a), Err(b)) => assert_eq!(a, &b, "streamed file error differs"),
        (a, b) => panic!("whole and streamed reads disagree: {a:?} / {b:?}"),
    }

    for kind in super::REGISTER_KINDS {
        let Ok(parsed) = register::parse_jsonl(JSONL_LABEL, data, kind) else {
            continue;
        };
        check_rejections(JSONL_LABEL, lines, &parsed.rejected);
        check_lines(lines, parsed.records.iter().map(|(l, _)| *l));
        if let Ok(checked) = register::check_references(parsed, &KnowsLittle) {
            let (_, rejected) = checked.into_records();
            check_rejections(JSONL_LABEL, lines, &rejected);
        }
    }
}
