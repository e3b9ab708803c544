//! Spelling suggestions: for a search that found fewer than
//! [`SUGGEST_BELOW`] documents, other spellings of the query's words from
//! the vocabulary of the documents the caller may see.
//!
//! The vocabulary is the `vocabulary` field (`schema`): each distinct word
//! of a document once, as `folded\0lowercase`. A Levenshtein automaton over
//! the folded query word, extended to accept whatever follows the NUL when
//! the folded part is within reach, walks each segment's term dictionary
//! in one pass; an accent-only difference (`kozossegi` → `közösségi`) is
//! distance 0. Which words and how far:
//! - the first [`MAX_SUGGEST_WORDS`] plain or quoted words (`words`), of at
//!   least [`MIN_WORD_CHARS`] letters; not the operand of `-` or `NOT`;
//! - a word that is in the visible documents as typed gets nothing: the
//!   answer says so with an entry whose replacement is the word itself, so
//!   that a hub does not offer a member's near miss for a word another
//!   member knows (`tudashalo_core::suggest::merge`);
//! - a word whose analysed form already finds visible documents (another
//!   inflection of a known word, `kertben`) gets accent-only suggestions;
//! - any other word: distance 1 up to [`LONG_WORD_CHARS`] letters, 2 beyond
//!   (Elasticsearch's `AUTO` fuzziness, near enough).
//!
//! Counts are over what the audience may see (`stats::visible_doc_freq`):
//! a word that only `local` documents hold is never offered to anyone but
//! the operator. The work per word is bounded: the automaton prunes the
//! dictionary walk to terms within reach, at most [`MAX_SCANNED`] of them
//! are taken, and visible counts (a postings walk each) are taken for the
//! [`MAX_CANDIDATES`] nearest and commonest of those.
//!
//! Measured: 18–33 ms (as the machine's load varied) per walk within two
//! edits of a ten-letter word over some 120,000 vocabulary terms in two
//! segments, in an unoptimised build on a shared two-core machine (`cargo
//! test -p tudashalo-node --lib suggest_walk_is_fast -- --ignored
//! --nocapture`); an optimised build was not measured. It runs only for a
//! search that found almost nothing.

use std::collections::HashMap;
use std::sync::OnceLock;

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use tantivy::{Searcher, Term};
use tantivy_fst::Automaton;

use super::SearchIndex;
use super::schema::vocabulary_term;
use super::stats::visible_doc_freq;
use super::words;
use crate::error::{Error, Result};
use tudashalo_core::search::Audience;
use tudashalo_core::suggest::{MAX_SUGGEST_WORDS, MAX_WORD_BYTES, Suggestion, merge};

pub use tudashalo_core::suggest::SUGGEST_BELOW;

/// Words shorter than this (in characters) get no suggestion: at one or two
/// letters nearly everything is one edit away.
pub const MIN_WORD_CHARS: usize = 3;

/// Words up to this many characters are looked up within one edit; longer
/// ones within two.
pub const LONG_WORD_CHARS: usize = 5;

/// Dictionary terms within reach taken per word, over all segments, at
/// most.
pub const MAX_SCANNED: usize = 4_096;

/// Candidates per word whose visible document count is taken (each walks
/// the candidate's postings): the nearest, then the commonest by the
/// dictionary's own counts.
pub const MAX_CANDIDATES: usize = 32;

impl SearchIndex {
    /// Suggestions for the words of `text` (see the module header), ranked
    /// and combined as a hub combines them.
    pub(super) fn suggest(
        &self,
        searcher: &Searcher,
        text: &str,
        audience: Audience,
    ) -> Result<Vec<Suggestion>> {
        let chunks = words::chunks(text);
        let mut out = Vec::new();
        let looked_at = words::suggestable(&chunks)
            .into_iter()
            .filter(|w| w.chars().count() >= MIN_WORD_CHARS && w.len() <= MAX_WORD_BYTES)
            .take(MAX_SUGGEST_WORDS);
        for word in looked_at {
            let visible =
                |term: &Term| visible_doc_freq(searcher, term, self.fields.visibility, audience);
            let exact = Term::from_field_text(self.fields.vocabulary, &vocabulary_term(&word));
            let known = visible(&exact)?;
            if known > 0 {
                out.push(Suggestion {
                    replacement: word.clone(),
                    word,
                    doc_freq: known,
                    distance: 0,
                });
                continue;
            }
            let reach = if self.finds_documents(searcher, &word, audience)? {
                0
            } else if word.chars().count() <= LONG_WORD_CHARS {
                1
            } else {
                2
            };
            for (candidate, distance) in self.nearest(searcher, &word, reach)? {
                let term = Term::from_field_text(self.fields.vocabulary, &candidate);
                let doc_freq = visible(&term)?;
                let Some((_, replacement)) = candidate.split_once('\0') else {
                    continue;
                };
                if doc_freq > 0 {
                    out.push(Suggestion {
                        word: word.clone(),
                        replacement: replacement.to_string(),
                        doc_freq,
                        distance,
                    });
                }
            }
        }
        Ok(merge(text, out))
    }

    /// Whether `word`, analysed as the accent-free fields analyse it, finds
    /// a document `audience` may see.
    fn finds_documents(&self, searcher: &Searcher, word: &str, audience: Audience) -> Result<bool> {
        let f = &self.fields;
        let mut analyser = self.index.tokenizer_for_field(f.body_ascii)?;
        let mut stream = analyser.token_stream(word);
        let mut analysed = Vec::new();
        while let Some(token) = stream.next() {
            analysed.push(token.text.clone());
        }
        for text in &analysed {
            for field in [f.title_ascii, f.body_ascii] {
                let term = Term::from_field_text(field, text);
                // The dictionary's count first: most misspellings are in no
                // document at all, and then no postings need walking.
                if searcher.doc_freq(&term)? > 0
                    && visible_doc_freq(searcher, &term, f.visibility, audience)? > 0
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The vocabulary terms within `reach` edits of `word`'s folded form,
    /// at most [`MAX_CANDIDATES`]: nearest first, then commonest by the
    /// dictionary's counts (which include what this audience may not see;
    /// the caller counts again), then in term order.
    pub(super) fn nearest(
        &self,
        searcher: &Searcher,
        word: &str,
        reach: u8,
    ) -> Result<Vec<(String, u32)>> {
        let folded = tudashalo_core::fold::fold(word);
        let dfa = builder(reach).build_dfa(&folded);
        let mut found: HashMap<Vec<u8>, (u32, u64)> = HashMap::new();
        let mut scanned = 0usize;
        'segments: for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.vocabulary)?;
            let mut stream = inverted
                .terms()
                .search(Folded(&dfa))
                .into_stream()
                .map_err(|e| Error::Index(e.into()))?;
            while stream.advance() {
                if scanned == MAX_SCANNED {
                    break 'segments;
                }
                scanned += 1;
                let key = stream.key();
                let Some(nul) = key.iter().position(|b| *b == 0) else {
                    continue;
                };
                let Distance::Exact(distance) = dfa.eval(&key[..nul]) else {
                    continue;
                };
                let entry = found
                    .entry(key.to_vec())
                    .or_insert((u32::from(distance), 0));
                entry.1 = entry.1.saturating_add(u64::from(stream.value().doc_freq));
            }
        }
        let mut ranked: Vec<(Vec<u8>, (u32, u64))> = found.into_iter().collect();
        ranked.sort_by(|(ka, (da, fa)), (kb, (db, fb))| {
            (da, std::cmp::Reverse(fa), ka).cmp(&(db, std::cmp::Reverse(fb), kb))
        });
        Ok(ranked
            .into_iter()
            .take(MAX_CANDIDATES)
            .filter_map(|(key, (distance, _))| Some((String::from_utf8(key).ok()?, distance)))
            .collect())
    }
}

/// The automaton builders for 0, 1 and 2 edits (a transposition is one),
/// built once: a builder for two edits takes milliseconds.
fn builder(reach: u8) -> &'static LevenshteinAutomatonBuilder {
    static BUILDERS: [OnceLock<LevenshteinAutomatonBuilder>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let reach = reach.min(2);
    BUILDERS[usize::from(reach)].get_or_init(|| LevenshteinAutomatonBuilder::new(reach, true))
}

/// A Levenshtein DFA over the folded part of a vocabulary term
/// (`folded\0lowercase`): it matches a term whose folded part is within
/// reach, whatever follows the NUL.
struct Folded<'a>(&'a DFA);

#[derive(Debug, Clone, Copy)]
enum State {
    /// Still in the folded part, in this DFA state.
    Folded(u32),
    /// Past the NUL of a folded part within reach: everything matches.
    Within,
    /// Past a NUL too far away: nothing matches.
    Beyond,
}

impl Automaton for Folded<'_> {
    type State = State;

    fn start(&self) -> State {
        State::Folded(self.0.initial_state())
    }

    fn is_match(&self, state: &State) -> bool {
        matches!(state, State::Within)
    }

    fn can_match(&self, state: &State) -> bool {
        match state {
            State::Folded(s) => *s != SINK_STATE,
            State::Within => true,
            State::Beyond => false,
        }
    }

    fn accept(&self, state: &State, byte: u8) -> State {
        match *state {
            State::Folded(s) if byte == 0 => match self.0.distance(s) {
                Distance::Exact(_) => State::Within,
                Distance::AtLeast(_) => State::Beyond,
            },
            State::Folded(s) => State::Folded(self.0.transition(s, byte)),
            other => other,
        }
    }
}
