//! Spelling suggestions for a search that found (almost) nothing: the type
//! node and hub exchange, when to offer them, how answers combine, and the
//! suggested query.
//!
//! A node finds candidates in the vocabulary of the documents the caller
//! may see; this module only ranks and combines them, so that one node and a
//! hub of any depth answer in the same shape, by the same rules:
//! - candidates are ranked by edit distance without accents (an
//!   accent-only difference is 0, the best), then by how many visible
//!   documents hold them, then alphabetically (so that equal counts sort the
//!   same everywhere);
//! - a hub sums `doc_freq` per (word, replacement) over its members before
//!   ranking, so a word known to one member alone is still offered, and
//!   one known to many ranks by the federation's counts;
//! - each word keeps its [`SUGGESTIONS_PER_WORD`] best candidates, so that a
//!   higher hub can still sum what its members ranked lower;
//! - a word that some member's documents hold as typed is offered nothing:
//!   that member answers with the word as its own replacement (a *known*
//!   entry, [`Suggestion::is_known`]), which wins over every near miss and
//!   travels up so that a higher hub knows too.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde::Serialize;

/// A search with fewer hits than this (over the whole federation, at a hub)
/// gets suggestions; one with this many has found what the reader meant
/// often enough.
pub const SUGGEST_BELOW: u64 = 3;

/// Candidates kept per word, best first.
pub const SUGGESTIONS_PER_WORD: usize = 3;

/// The most query words a node looks for suggestions for (the first ones).
pub const MAX_SUGGEST_WORDS: usize = 8;

/// The most suggestions one answer may carry; a hub drops a member's
/// beyond it.
pub const MAX_SUGGESTIONS: usize = MAX_SUGGEST_WORDS * SUGGESTIONS_PER_WORD;

/// The longest word (in bytes) offered or replaced: the analysers drop
/// longer tokens as blobs, not language; a hub drops a member's longer ones.
pub const MAX_WORD_BYTES: usize = 64;

/// Another spelling of one word of the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// The query's word, lowercase.
    pub word: String,
    /// A word of the documents, lowercase, accents as written.
    pub replacement: String,
    /// Documents the caller may see that contain `replacement`.
    pub doc_freq: u64,
    /// Edits between the two without accents; 0 for an accent-only
    /// difference.
    pub distance: u32,
}

impl Suggestion {
    /// Whether this entry only says that the word is in the documents as
    /// typed (its replacement is itself): nothing to offer.
    pub fn is_known(&self) -> bool {
        self.word == self.replacement
    }
}

/// Combines candidates (from one node's segments, or from a hub's members):
/// sums `doc_freq` per (word, replacement), ranks each word's candidates
/// (see the module header) and keeps [`SUGGESTIONS_PER_WORD`] per word, the
/// words in the order `text` has them (words it lacks are dropped), at most
/// [`MAX_SUGGESTIONS`] in all.
pub fn merge(text: &str, candidates: impl IntoIterator<Item = Suggestion>) -> Vec<Suggestion> {
    let mut summed: BTreeMap<(String, String), (u64, u32)> = BTreeMap::new();
    for c in candidates {
        let entry = summed
            .entry((c.word, c.replacement))
            .or_insert((0, c.distance));
        entry.0 = entry.0.saturating_add(c.doc_freq);
        entry.1 = entry.1.min(c.distance);
    }
    let mut by_word: BTreeMap<String, Vec<Suggestion>> = BTreeMap::new();
    for ((word, replacement), (doc_freq, distance)) in summed {
        by_word.entry(word.clone()).or_default().push(Suggestion {
            word,
            replacement,
            doc_freq,
            distance,
        });
    }
    let lower = text.to_lowercase();
    let mut words: Vec<(usize, String, Vec<Suggestion>)> = by_word
        .into_iter()
        .map(|(word, mut list)| {
            list.sort_by(|a, b| {
                (a.distance, Reverse(a.doc_freq), &a.replacement).cmp(&(
                    b.distance,
                    Reverse(b.doc_freq),
                    &b.replacement,
                ))
            });
            if let Some(known) = list.iter().position(Suggestion::is_known) {
                list.swap(0, known);
                list.truncate(1);
            }
            list.truncate(SUGGESTIONS_PER_WORD);
            (lower.find(&word).unwrap_or(usize::MAX), word, list)
        })
        .collect();
    // A word the query does not have (a member's answer is not trusted to
    // keep to it) is nothing to offer.
    words.retain(|(at, _, _)| *at != usize::MAX);
    words.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    words
        .into_iter()
        .flat_map(|(_, _, list)| list)
        .take(MAX_SUGGESTIONS)
        .collect()
}

/// `text` with every word that has a suggestion replaced by its best one
/// (the first for that word in `suggestions`), capitalised when the word
/// was; empty when nothing was replaced.
pub fn suggested_query(text: &str, suggestions: &[Suggestion]) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut replaced = false;
    let mut at = 0;
    let words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    for word in words {
        // `split` hands out subslices of `text`: their offset is exact.
        let start = word.as_ptr() as usize - text.as_ptr() as usize;
        let lower = word.to_lowercase();
        let Some(best) = suggestions
            .iter()
            .find(|s| s.word == lower)
            .filter(|s| !s.is_known())
        else {
            continue;
        };
        out.push_str(&text[at..start]);
        if word.chars().next().is_some_and(char::is_uppercase) {
            let mut chars = best.replacement.chars();
            out.extend(chars.next().into_iter().flat_map(char::to_uppercase));
            out.push_str(chars.as_str());
        } else {
            out.push_str(&best.replacement);
        }
        at = start + word.len();
        replaced = true;
    }
    if !replaced {
        return String::new();
    }
    out.push_str(&text[at..]);
    out
}

/// The suggested query as a terminal line, `did you mean: közösségi kert`,
/// or `None` without one. Both CLIs print it after the hits.
pub fn suggestion_line(suggested_query: &str) -> Option<String> {
    (!suggested_query.is_empty()).then(|| format!("did you mean: {suggested_query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(word: &str, replacement: &str, doc_freq: u64, distance: u32) -> Suggestion {
        Suggestion {
            word: word.into(),
            replacement: replacement.into(),
            doc_freq,
            distance,
        }
    }

    #[test]
    fn merge_sums_ranks_and_keeps_the_query_order() {
        let merged = merge(
            "fejleztés kozosegi kert",
            [
                s("kozosegi", "közösségi", 2, 1),
                s("fejleztés", "fejlesztés", 1, 1),
                s("kozosegi", "közösségek", 3, 2),
                s("kozosegi", "közösségi", 2, 1),
                s("kozosegi", "kozos", 9, 2),
                s("kozosegi", "közös", 9, 2),
                s("kozosegi", "x", 1, 2),
                s("kert", "kerti", 5, 1),
                s("kert", "kert", 1, 0),
                s("nincs", "nincsen", 1, 1),
            ],
        );
        let pairs: Vec<(&str, &str, u64)> = merged
            .iter()
            .map(|s| (s.word.as_str(), s.replacement.as_str(), s.doc_freq))
            .collect();
        assert_eq!(
            pairs,
            [
                ("fejleztés", "fejlesztés", 1),
                ("kozosegi", "közösségi", 4),
                ("kozosegi", "kozos", 9),
                ("kozosegi", "közös", 9),
                ("kert", "kert", 1),
            ]
        );
        assert_eq!(
            suggested_query("fejleztés kozosegi kert", &merged),
            "fejlesztés közösségi kert"
        );
    }

    #[test]
    fn suggested_query_replaces_words_and_keeps_the_rest() {
        let list = [
            s("kozosegi", "közösségi", 4, 1),
            s("kozosegi", "közös", 1, 2),
        ];
        assert_eq!(
            suggested_query("Kozosegi \"kert\" -kozosegi", &list),
            "Közösségi \"kert\" -közösségi"
        );
        assert_eq!(suggested_query("kert", &list), "");
        assert_eq!(suggested_query("", &list), "");
    }
}
