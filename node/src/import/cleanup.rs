//! Hungarian text clean-up after extraction: what PDF, Word and OpenDocument
//! files do to running text, undone before it is stored and indexed.
//!
//! [`clean`] applies, in order:
//! - Unicode NFKC: ligatures (`ﬁ` → `fi`), decomposed accents (`e` + U+0301
//!   → `é`), compatibility forms;
//! - the Latin-1 font damage of old Hungarian documents: `õ`/`û` (and
//!   `Õ`/`Û`), which Latin-1 fonts printed for `ő`/`ű`, become `ő`/`ű`;
//! - soft hyphens (U+00AD) removed, and line ends normalised (`\r\n` → `\n`);
//! - words broken at a line end rejoined: `fejlesz-` + `tési` →
//!   `fejlesztési`. A hyphen before a capital or a digit is a real one and
//!   stays, the line break goes (`Győr-` + `Moson` → `Győr-Moson`,
//!   `2014-` + `2020` → `2014-2020`);
//! - a long double consonant split by hyphenation restored: Hungarian
//!   hyphenates `asszony` as `asz-szony` (`hosz-szú`, `köny-nyű`,
//!   `megy-gyes`, `haty-tyú`, `galy-lyak`, `löcs-csen`, `rizs-zsel`), so a
//!   first part ending in the digraph that starts the second loses one
//!   letter of it: `asz-` + `szony` → `asszony`;
//! - trailing spaces dropped and runs of blank lines cut to one.
//!
//! [`drop_page_furniture`] removes what repeats on every page of a paged
//! document (running headers and footers, page numbers); the PDF importer
//! calls it per page before joining them.

use unicode_normalization::UnicodeNormalization;

/// The digraphs of Hungarian whose long form (`ssz`, `nny`, …) hyphenation
/// splits as `sz-sz`, `ny-ny`, ….
const DIGRAPHS: [&str; 8] = ["sz", "ny", "gy", "ty", "ly", "cs", "zs", "dz"];

/// The clean form of extracted text (see the module header).
pub fn clean(text: &str) -> String {
    let normal: String = text
        .nfkc()
        .filter(|c| *c != '\u{ad}')
        .map(|c| match c {
            'õ' => 'ő',
            'û' => 'ű',
            'Õ' => 'Ő',
            'Û' => 'Ű',
            c => c,
        })
        .collect();
    let normal = normal.replace("\r\n", "\n").replace('\r', "\n");
    let joined = rejoin_hyphenated(&normal);
    tidy_lines(&joined)
}

/// Rejoins words hyphenated across a line end (the module header's rules).
fn rejoin_hyphenated(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        let mut line = lines[i].trim_end().to_string();
        // A line may end in a hyphen more than once in a row (`a-` / `b-` /
        // `c`): keep joining while it does.
        while i + 1 < lines.len() && ends_in_broken_word(&line) {
            let next = lines[i + 1].trim_start();
            let Some(first) = next.chars().next() else {
                break;
            };
            line.pop(); // the hyphen
            if first.is_uppercase() || first.is_ascii_digit() {
                line.push('-');
            } else {
                restore_long_consonant(&mut line, next);
            }
            line.push_str(next.trim_end());
            i += 1;
        }
        out.push_str(&line);
        i += 1;
        if i < lines.len() {
            out.push('\n');
        }
    }
    out
}

/// Whether `line` ends in a letter or digit followed by a hyphen: a word
/// broken at the line end (a dash after a space is punctuation).
fn ends_in_broken_word(line: &str) -> bool {
    let mut rev = line.chars().rev();
    rev.next() == Some('-') && rev.next().is_some_and(char::is_alphanumeric)
}

/// `head` (the first part, its hyphen removed) loses one letter of a
/// digraph that `next` starts with again: `asz` + `szony` → `as` +
/// `szony`.
fn restore_long_consonant(head: &mut String, next: &str) {
    let lower_head = head.to_lowercase();
    let lower_next = next.to_lowercase();
    for digraph in DIGRAPHS {
        if lower_head.ends_with(digraph) && lower_next.starts_with(digraph) {
            // Keep the digraph's first letter: `asz` → `as`.
            let last = head.pop();
            debug_assert!(last.is_some());
            return;
        }
    }
}

/// Trailing spaces dropped, runs of blank lines cut to one, the text
/// trimmed.
fn tidy_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.split('\n') {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Documents with fewer pages than this are not searched for running
/// headers and footers: two pages cannot tell a header from the text.
const MIN_PAGES_FOR_FURNITURE: usize = 3;

/// Removes a paged document's running headers and footers (a first or last
/// line that recurs, digits aside, on at least half of the pages) and lines
/// that are only a page number (`12`, `- 12 -`, `12. oldal`, `12/40`).
pub fn drop_page_furniture(pages: &[String]) -> Vec<String> {
    let split: Vec<Vec<&str>> = pages
        .iter()
        .map(|p| p.lines().filter(|l| !l.trim().is_empty()).collect())
        .collect();
    let recurring = |pick: for<'a> fn(&[&'a str]) -> Option<&'a str>| -> Option<String> {
        if pages.len() < MIN_PAGES_FOR_FURNITURE {
            return None;
        }
        let mut counts = std::collections::HashMap::<String, usize>::new();
        for lines in &split {
            if let Some(line) = pick(lines) {
                *counts.entry(shape(line)).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n * 2 >= pages.len())
            .max_by_key(|(_, n)| *n)
            .map(|(shape, _)| shape)
    };
    let header = recurring(|lines| lines.first().copied());
    let footer = recurring(|lines| lines.last().copied());
    split
        .iter()
        .map(|lines| {
            let keep: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|(i, line)| {
                    let first = *i == 0 && header.as_deref() == Some(&shape(line));
                    let last = *i + 1 == lines.len() && footer.as_deref() == Some(&shape(line));
                    !first && !last && !is_page_number(line)
                })
                .map(|(_, line)| *line)
                .collect();
            keep.join("\n")
        })
        .collect()
}

/// A line with its digits replaced by `#`, so that `3. oldal` and `4. oldal`
/// are one header.
fn shape(line: &str) -> String {
    line.trim()
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// Whether a line is nothing but a page number: digits with at most dashes,
/// dots, slashes, spaces and the word `oldal` (page) around them.
fn is_page_number(line: &str) -> bool {
    let line = line.trim().to_lowercase();
    let rest = line.replace("oldal", "");
    rest.chars().any(|c| c.is_ascii_digit())
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '–' | '.' | '/' | ' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ligatures_accents_and_font_damage() {
        assert_eq!(clean("ﬁnanszírozás"), "finanszírozás");
        assert_eq!(clean("fejleszte\u{301}s"), "fejlesztés");
        assert_eq!(clean("kõ és tûz, ÕRSÉG"), "kő és tűz, ŐRSÉG");
        assert_eq!(clean("fej\u{ad}lesz\u{ad}tés"), "fejlesztés");
    }

    #[test]
    fn words_broken_at_line_ends_are_rejoined() {
        assert_eq!(
            clean("a fejlesz-\ntési koncepció"),
            "a fejlesztési koncepció"
        );
        assert_eq!(clean("a fejlesz-  \r\n   tési"), "a fejlesztési");
        assert_eq!(clean("Győr-\nMoson-Sopron"), "Győr-Moson-Sopron");
        assert_eq!(clean("a 2014-\n2020 közötti"), "a 2014-2020 közötti");
        assert_eq!(clean("ön-\nkor-\nmányzat"), "önkormányzat");
        // A dash after a space is punctuation, not a broken word.
        assert_eq!(clean("ez –\nvagy az -\nmás"), "ez –\nvagy az -\nmás");
    }

    #[test]
    fn long_double_consonants_are_restored() {
        for (split, whole) in [
            ("asz-\nszony", "asszony"),
            ("hosz-\nszú", "hosszú"),
            ("köny-\nnyű", "könnyű"),
            ("megy-\ngyes", "meggyes"),
            ("haty-\ntyú", "hattyú"),
            ("galy-\nlyak", "gallyak"),
            ("löcs-\ncsen", "löccsen"),
            ("rizs-\nzsel", "rizzsel"),
            ("ösz-\nszefogás", "összefogás"),
        ] {
            assert_eq!(clean(split), whole, "{split:?}");
        }
        // Only the same digraph on both sides.
        assert_eq!(clean("kész-\nségek"), "készségek");
    }

    #[test]
    fn blank_lines_and_trailing_spaces() {
        assert_eq!(clean("  \nelső   \n\n\n\nmásodik\n\n"), "első\n\nmásodik");
    }

    #[test]
    fn page_furniture_is_dropped() {
        let pages: Vec<String> = (1..=4)
            .map(|n| {
                format!(
                    "Edelényi Kistérség Fejlesztési Stratégia\n\
                     A {n}. oldal szövege a fejlesztésről.\n\
                     Második sor.\n\
                     - {n} -"
                )
            })
            .collect();
        let clean = drop_page_furniture(&pages);
        assert_eq!(clean.len(), 4);
        for (n, page) in clean.iter().enumerate() {
            assert_eq!(
                page,
                &format!("A {}. oldal szövege a fejlesztésről.\nMásodik sor.", n + 1)
            );
        }
        // Two pages: too few to tell furniture from text; numbers still go.
        let two = drop_page_furniture(&pages[..2]);
        assert!(two[0].starts_with("Edelényi"));
        assert!(!two[0].contains("- 1 -"));
        assert!(is_page_number("12. oldal"));
        assert!(is_page_number("12/40"));
        assert!(!is_page_number("2014-2020 között"));
    }
}
