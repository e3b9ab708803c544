//! The plain-text document importer (`.txt` / `.md`): one file is one
//! [`Document`], its id the file name, its title the first heading or line,
//! and its other metadata the import command's flags ([`TextMeta`]).
//!
//! Text files come from many editors, so the bytes are read as UTF-8 (with or
//! without BOM) and, only when they are not valid UTF-8, as Windows-1250, the
//! usual legacy encoding of Hungarian Windows machines.

use std::path::Path;

pub use super::common::MAX_TITLE_CHARS;
use super::common::{
    UTF8_BOM, body_too_big, cut_title, decode_lenient, flagged_document, id_from_path,
};
use super::{FileError, Limits, TextMeta};
use tudashalo_core::model::Document;

/// Turns one text or Markdown file into a document.
///
/// `file` is the label used in messages, `path` the file's path (its stem
/// becomes the id). Any fault makes the whole file unusable, so every error
/// is a [`FileError`].
pub fn parse_text(
    file: &str,
    path: &Path,
    bytes: &[u8],
    meta: &TextMeta,
    limits: &Limits,
) -> Result<Document, FileError> {
    let id = id_from_path(file, path)?;
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    // Decoding never shrinks the text, so a file already over the limit is
    // refused before spending time and memory on it.
    if bytes.len() > limits.max_body_bytes {
        return Err(too_big(file, bytes.len(), limits));
    }
    let body = decode_lenient(bytes).into_owned();
    if body.trim().is_empty() {
        return Err(FileError::new(file, "empty file"));
    }
    if body.len() > limits.max_body_bytes {
        return Err(too_big(file, body.len(), limits));
    }
    let title = title_of(&body).ok_or_else(|| {
        FileError::new(
            file,
            "no title: the file holds only empty Markdown headings",
        )
    })?;
    flagged_document(file, id, title, body, meta, None, serde_json::Map::new())
}

fn too_big(file: &str, size: usize, limits: &Limits) -> FileError {
    FileError::new(file, format!("body of {}", body_too_big(size, limits)))
}

/// The title: the first non-empty line, with Markdown heading marks removed
/// when it is a heading. A heading further down is not preferred over
/// ordinary text above it, because that text is what a reader sees first.
/// Headings that are empty once their marks are gone are skipped.
fn title_of(text: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let title = match heading_text(line) {
            Some("") => continue,
            Some(heading) => heading,
            None => line,
        };
        return Some(cut_title(title));
    }
    None
}

/// The text of an ATX heading (`# Title`, up to `###### Title`, with an
/// optional closing run of `#`), or `None` when the line is not a heading.
/// As in CommonMark, the marks must be followed by a space or end the line,
/// so `#hashtag` stays ordinary text.
fn heading_text(line: &str) -> Option<&str> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    if level == 0 || level > 6 {
        return None;
    }
    // '#' is ASCII, so `level` is a character boundary.
    let rest = &line[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let rest = rest.trim();
    let without_closing = rest.trim_end_matches('#');
    if without_closing.is_empty() || without_closing.ends_with([' ', '\t']) {
        Some(without_closing.trim_end())
    } else {
        Some(rest)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tudashalo_core::model::{Kind, Visibility};

    fn parse(name: &str, text: &str) -> Result<Document, FileError> {
        parse_text(
            name,
            Path::new(name),
            text.as_bytes(),
            &TextMeta::default(),
            &Limits::default(),
        )
    }

    #[test]
    fn markdown_title_from_heading() {
        let doc = parse(
            "dir/strategia-2021.md",
            "\n\n## Gazdaságfejlesztési stratégia ##\n\nSzöveg.\n",
        )
        .unwrap();
        assert_eq!(doc.id, "strategia-2021");
        assert_eq!(doc.title, "Gazdaságfejlesztési stratégia");
        assert_eq!(
            doc.body,
            "\n\n## Gazdaságfejlesztési stratégia ##\n\nSzöveg.\n"
        );
        assert_eq!(doc.kind, Kind::Other);
        assert_eq!(doc.visibility, Visibility::Federated);
    }

    #[test]
    fn text_before_a_heading_wins() {
        let doc = parse("a.md", "Bevezető sor\n# Később jövő cím\n").unwrap();
        assert_eq!(doc.title, "Bevezető sor");
    }

    #[test]
    fn empty_heading_is_skipped() {
        let doc = parse("a.md", "#\n# Cím #\n").unwrap();
        assert_eq!(doc.title, "Cím");
    }

    #[test]
    fn only_empty_headings_is_an_error() {
        let err = parse("a.md", "#\n##  ##\n").unwrap_err();
        assert_eq!(
            err.reason,
            "no title: the file holds only empty Markdown headings"
        );
    }

    #[test]
    fn hashtag_is_not_a_heading() {
        let doc = parse("a.md", "#címke szöveg\n").unwrap();
        assert_eq!(doc.title, "#címke szöveg");
        let doc = parse("a.md", "####### hét\n").unwrap();
        assert_eq!(doc.title, "####### hét");
        let doc = parse("a.md", "# C# nyelv\n").unwrap();
        assert_eq!(doc.title, "C# nyelv");
    }

    #[test]
    fn txt_title_is_first_line_trimmed_and_cut() {
        let doc = parse("jegyzokonyv.txt", "   \r\n  Ülés jegyzőkönyve  \r\nszöveg").unwrap();
        assert_eq!(doc.id, "jegyzokonyv");
        assert_eq!(doc.title, "Ülés jegyzőkönyve");
        let long = "ő".repeat(500);
        let doc = parse("long.txt", &long).unwrap();
        assert_eq!(doc.title.chars().count(), MAX_TITLE_CHARS);
    }

    #[test]
    fn bom_is_skipped() {
        let doc = parse("a.txt", "\u{feff}Cím\nszöveg").unwrap();
        assert_eq!(doc.title, "Cím");
        assert_eq!(doc.body, "Cím\nszöveg");
    }

    #[test]
    fn windows_1250_fallback() {
        let (bytes, _, unmappable) =
            encoding_rs::WINDOWS_1250.encode("Szendrő fejlesztési terve\nŐsz");
        assert!(!unmappable);
        assert!(std::str::from_utf8(&bytes).is_err());
        let doc = parse_text(
            "a.txt",
            Path::new("a.txt"),
            &bytes,
            &TextMeta::default(),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(doc.title, "Szendrő fejlesztési terve");
        assert_eq!(doc.body, "Szendrő fejlesztési terve\nŐsz");
    }

    #[test]
    fn empty_files_are_errors() {
        for text in ["", "  \n\t\r\n", "\u{feff}"] {
            let err = parse("ures.txt", text).unwrap_err();
            assert_eq!(err.to_string(), "ures.txt: empty file");
        }
    }

    #[test]
    fn body_over_the_limit_is_an_error() {
        let text = "a".repeat(10 * 1024 * 1024);
        let err = parse("big.txt", &text).unwrap_err();
        assert_eq!(
            err.reason,
            "body of 10485760 bytes exceeds the limit of 8388608 bytes (max_body_bytes in node.toml)"
        );
    }

    #[test]
    fn metadata_comes_from_flags() {
        let meta = TextMeta {
            kind: Some(Kind::Minutes),
            sectors: vec![" víz".into(), "víz".into(), "".into()],
            settlements: vec!["Edelény".into()],
            year: Some(2020),
            org: Some(" Önkormányzat ".into()),
            visibility: Some(Visibility::Local),
            tags: vec!["ülés".into()],
        };
        let doc = parse_text(
            "m.md",
            Path::new("m.md"),
            "# Ülés".as_bytes(),
            &meta,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(doc.kind, Kind::Minutes);
        assert_eq!(doc.sectors, vec!["víz"]);
        assert_eq!(doc.settlements, vec!["Edelény"]);
        assert_eq!(doc.year, Some(2020));
        assert_eq!(doc.org.as_deref(), Some("Önkormányzat"));
        assert_eq!(doc.visibility, Visibility::Local);
        assert_eq!(doc.tags, vec!["ülés"]);
        assert!(doc.extra.is_empty());

        let meta = TextMeta {
            year: Some(1500),
            ..TextMeta::default()
        };
        let err =
            parse_text("m.md", Path::new("m.md"), b"x", &meta, &Limits::default()).unwrap_err();
        assert_eq!(err.reason, "year 1500 is outside 1900..=2100");
    }

    #[test]
    fn bad_file_names_are_errors() {
        let long = format!("{}.txt", "x".repeat(300));
        let err = parse(&long, "szöveg").unwrap_err();
        assert!(
            err.reason
                .starts_with("the file name cannot be the document id: "),
            "{}",
            err.reason
        );
        let err = parse_text(
            "..",
            Path::new(".."),
            b"x",
            &TextMeta::default(),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(err.reason.contains("no file name"), "{}", err.reason);
    }
}
