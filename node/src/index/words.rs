//! The plain words of a query text, as a reader typed them: which runs of
//! words may earn a proximity bonus (`query`), and which words may be
//! offered a spelling suggestion (`suggest`).
//!
//! This is not a second query parser: it only sorts the text's
//! whitespace-separated chunks into three kinds, conservatively, and never
//! decides what matches (tantivy's parser does that, on the whole text):
//! - a *plain* chunk has none of the grammar's special characters
//!   (`+ ^ ` : { } " ' [ ] ( ) ! \ * ~`), does not start with `-`, is not an
//!   operator (`AND`, `OR`, `NOT`, `IN`, `&&`, `||`) and does not follow
//!   `NOT`;
//! - a *quoted* chunk is a `"phrase"` (with whatever is glued to its
//!   closing quote, such as `~2` or `^3`);
//! - anything else (`-term`, `+term`, `field:term`, `(group`, operators,
//!   the operand of `NOT`) is *other*.
//!
//! Scanning is linear in the text and allocates one entry per chunk; the
//! node's limits have bounded the text's length before it gets here.

/// What a chunk of the query text is, for proximity and suggestions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Plain,
    Quoted,
    Other,
}

/// Characters that make a chunk query syntax rather than words: tantivy's
/// special characters, and `~` (slop).
const SYNTAX: &[char] = &[
    '+', '^', '`', ':', '{', '}', '"', '\'', '[', ']', '(', ')', '!', '\\', '*', '~',
];

const OPERATORS: &[&str] = &["AND", "OR", "NOT", "IN", "&&", "||"];

/// The text's chunks, in order, with their kinds.
pub(super) fn chunks(text: &str) -> Vec<(Kind, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut after_not = false;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return out;
        }
        let (kind, chunk, tail) = if let Some(inner) = rest.strip_prefix('"') {
            // A phrase runs to the next quote (or the end), and takes what is
            // glued to its closing quote with it.
            // Both offsets fall on character boundaries: just after an ASCII
            // quote, and at a whitespace character.
            let close = inner.find('"').map_or(inner.len(), |i| i + 1);
            let glued = inner[close..]
                .find(char::is_whitespace)
                .map_or(inner.len(), |i| close + i);
            let end = 1 + glued;
            (Kind::Quoted, &rest[..end], &rest[end..])
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            let chunk = &rest[..end];
            let plain = !after_not
                && !chunk.starts_with('-')
                && !chunk.contains(SYNTAX)
                && !OPERATORS.contains(&chunk);
            let kind = if plain { Kind::Plain } else { Kind::Other };
            (kind, chunk, &rest[end..])
        };
        after_not = chunk == "NOT";
        out.push((kind, chunk));
        rest = tail;
    }
}

/// Whether the text asks for alternatives (`OR`, `||`): such a query gets
/// no proximity bonus, since nearness between alternatives means nothing.
pub(super) fn has_or(chunks: &[(Kind, &str)]) -> bool {
    chunks
        .iter()
        .any(|(kind, c)| *kind == Kind::Other && (*c == "OR" || *c == "||"))
}

/// The maximal runs of two or more consecutive plain chunks, each joined
/// with single spaces.
pub(super) fn plain_runs(chunks: &[(Kind, &str)]) -> Vec<String> {
    chunks
        .split(|(kind, _)| *kind != Kind::Plain)
        .filter(|run| run.len() >= 2)
        .map(|run| run.iter().map(|(_, c)| *c).collect::<Vec<_>>().join(" "))
        .collect()
}

/// The words (runs of letters and digits, as tantivy's simple tokenizer
/// cuts them) of the plain and quoted chunks, each once (by lowercase
/// form), in order.
pub(super) fn suggestable(chunks: &[(Kind, &str)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (kind, chunk) in chunks {
        if *kind == Kind::Other {
            continue;
        }
        for word in chunk.split(|c: char| !c.is_alphanumeric()) {
            let lower = word.to_lowercase();
            if !lower.is_empty() && !out.contains(&lower) {
                out.push(lower);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        chunks(text)
    }

    #[test]
    fn chunks_sort_plain_words_from_syntax() {
        use Kind::*;
        assert_eq!(
            kinds(
                r#"közösségi kert "óvodai férőhely"~2 -sport title_hu:tér NOT kerékpárút 2024-ben"#
            ),
            vec![
                (Plain, "közösségi"),
                (Plain, "kert"),
                (Quoted, "\"óvodai férőhely\"~2"),
                (Other, "-sport"),
                (Other, "title_hu:tér"),
                (Other, "NOT"),
                (Other, "kerékpárút"),
                (Plain, "2024-ben"),
            ]
        );
        assert_eq!(
            kinds("\"unclosed phrase"),
            vec![(Quoted, "\"unclosed phrase")]
        );
        assert_eq!(kinds("\""), vec![(Quoted, "\"")]);
        assert_eq!(kinds("a\"b c\"d"), vec![(Plain, "a"), (Quoted, "\"b c\"d")]);
        assert!(kinds("   ").is_empty());
    }

    #[test]
    fn runs_and_suggestable_words() {
        let c = chunks("Közösségi kert (sport) iskola óvoda -tér óvodai férőhely");
        assert_eq!(
            plain_runs(&c),
            vec!["Közösségi kert", "iskola óvoda", "óvodai férőhely"]
        );
        assert!(!has_or(&c));
        assert!(has_or(&chunks("iskola OR sport")));
        let c = chunks("\"Óvodai férőhely\" óvodai -sport x:y");
        assert_eq!(suggestable(&c), vec!["óvodai", "férőhely"]);
    }
}
