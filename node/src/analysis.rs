//! Hungarian text analysis: the tokenizers every text field is indexed and
//! queried with.
//!
//! Each text is indexed twice, so that a reader finds what they mean whether
//! or not they type accents:
//!
//! - `hu_stem`: lowercase → stop words → the word's lemma, accents kept
//!   (`kertjeink` → `kert`, `falvakban` → `falu`).
//! - `hu_ascii`: lowercase → stop words → the lemma folded to ASCII; a word
//!   typed without accents is lemmatised by the folded dictionary, so
//!   `kozossegi kertek` meets `közösségi kertek` here.
//!
//! What a word becomes is `tudashalo-morph`'s business (Magyar Ispell's
//! lemmas, Savoy's light stemmer for unknown words, and why: see
//! `docs/hungarian-search.md`); this module fits it into tantivy.
//!
//! `keyword` (lowercase → folding, no splitting) serves the exact-match
//! filters on sectors and settlements, so `--settlement edeleny` finds
//! `Edelény`. `vocabulary` gives each word as written, in the form the
//! spelling suggester walks (`folded\0lowercase`, [`vocabulary_term`]);
//! it does not depend on the morphology, so suggestions do not change when
//! the analysers do.
//!
//! Every text analyser cuts words with [`WordTokenizer`]: tantivy's simple
//! tokenizer (runs of letters and digits), answering for Hungarian letters
//! without Unicode's tables.

use std::cell::RefCell;
use std::collections::HashMap;
use std::str::CharIndices;

use tantivy::Index;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RawTokenizer, RemoveLongFilter, TextAnalyzer, Token,
    TokenFilter, TokenStream, Tokenizer,
};

use tudashalo_morph::{Morphology, is_stop_word};

pub const HU_STEM: &str = "hu_stem";
pub const HU_ASCII: &str = "hu_ascii";
pub const KEYWORD: &str = "keyword";
pub const VOCABULARY: &str = "vocabulary";

/// Words longer than this (in bytes) are dropped: they are base64 blobs or
/// URLs, not language.
const MAX_TOKEN_BYTES: usize = 64;

/// The lemmatising, accent-keeping analyser.
pub fn hu_stem() -> TextAnalyzer {
    words(Tail::Stem)
}

/// The lemmatising, folding analyser (accent-insensitive by construction).
pub fn hu_ascii() -> TextAnalyzer {
    words(Tail::Ascii)
}

/// Each word of a text once per occurrence, as [`vocabulary_term`]s.
pub fn vocabulary() -> TextAnalyzer {
    words(Tail::Vocabulary)
}

/// The vocabulary term of a lowercase word: its folded form first, so that
/// a Levenshtein automaton over the folded query word walks the term
/// dictionary in one pass, then NUL (which no word contains), then the word
/// with its accents, which is what a suggestion offers.
pub fn vocabulary_term(lowercase: &str) -> String {
    format!("{}\0{lowercase}", tudashalo_core::fold::fold(lowercase))
}

/// Tokenise, drop long tokens, then the per-word tail of `tail`, memoised.
fn words(tail: Tail) -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(Memo(tail))
        .build()
}

/// What happens to one word after tokenising: it is lower-cased, stop words
/// go, and the rest become their lemma (accented or folded). Each step
/// looks at one token alone, so the whole tail is a function of the word
/// as written, and [`Memo`] can remember it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// lower case → stop words → lemma.
    Stem,
    /// lower case → stop words → folded lemma.
    Ascii,
    /// lower case → vocabulary term (no stop words, no morphology).
    Vocabulary,
}

impl Tail {
    /// The uncached tail: the form of `word`, `None` for a stop word.
    fn form(self, word: &str) -> Option<String> {
        let lower = word.to_lowercase();
        if self == Tail::Vocabulary {
            return Some(vocabulary_term(&lower));
        }
        if is_stop_word(&lower) {
            return None;
        }
        let morphology = Morphology::get();
        Some(match self {
            Tail::Stem => morphology.accented(&lower),
            Tail::Ascii => morphology.folded(&lower),
            Tail::Vocabulary => unreachable!("returned above"),
        })
    }
}

/// Words remembered per thread and tail before the memo starts over: a few
/// megabytes, far more than the working vocabulary of a corpus.
const MEMO_WORDS: usize = 65_536;

/// A word's analysed form; `None` for a stop word.
type Memoised = HashMap<Box<str>, Option<Box<str>>>;

struct MemoState {
    words: Memoised,
}

thread_local! {
    // One per tail. Per thread, so that the indexing threads and the search
    // pool never wait on each other; the tail is pure, so every copy agrees.
    static MEMO: RefCell<[Option<MemoState>; 3]> = const { RefCell::new([None, None, None]) };
}

/// Replaces `word` by its analysed form from this thread's memo of `tail`
/// (analysing it on a miss); false for a stop word.
fn analyse(tail: Tail, word: &mut String) -> bool {
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let state = memo[tail as usize].get_or_insert_with(|| MemoState {
            words: HashMap::new(),
        });
        let form = match state.words.get(word.as_str()) {
            Some(known) => known,
            None => {
                let form: Option<Box<str>> = tail.form(word).map(String::into_boxed_str);
                if state.words.len() >= MEMO_WORDS {
                    state.words.clear();
                }
                state.words.entry(word.as_str().into()).or_insert(form)
            }
        };
        match form {
            Some(form) => {
                word.clear();
                word.push_str(form);
                true
            }
            None => false,
        }
    })
}

/// The token filter that applies a [`Tail`] through the per-thread memo.
/// Analysing a word is most of the import's CPU time; a corpus repeats its
/// words, so nearly every token is a hash lookup. The tokens are exactly
/// those of the uncached tail (`memo_agrees_with_the_uncached_tail`).
#[derive(Debug, Clone, Copy)]
struct Memo(Tail);

impl TokenFilter for Memo {
    type Tokenizer<T: Tokenizer> = MemoTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MemoTokenizer<T> {
        MemoTokenizer {
            tail: self.0,
            inner: tokenizer,
        }
    }
}

#[derive(Clone)]
pub struct MemoTokenizer<T> {
    tail: Tail,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for MemoTokenizer<T> {
    type TokenStream<'a> = MemoStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MemoStream {
            tail: self.tail,
            inner: self.inner.token_stream(text),
        }
    }
}

pub struct MemoStream<S> {
    tail: Tail,
    inner: S,
}

impl<S: TokenStream> TokenStream for MemoStream<S> {
    fn advance(&mut self) -> bool {
        while self.inner.advance() {
            if analyse(self.tail, &mut self.inner.token_mut().text) {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.inner.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.inner.token_mut()
    }
}

/// Whether `c` is a letter or a digit, exactly as `char::is_alphanumeric`
/// says (`is_word_char_agrees_with_the_standard_library`), with the Latin
/// letters of Hungarian and its neighbours (U+00C0–U+024F) answered without
/// Unicode's tables: that lookup was a tenth of an import's time.
fn is_word_char(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' => true,
        '\0'..='\x7f' => false,
        '\u{d7}' | '\u{f7}' => false,
        '\u{c0}'..='\u{24f}' => true,
        _ => c.is_alphanumeric(),
    }
}

/// tantivy's `SimpleTokenizer` (maximal runs of letters and digits; the same
/// tokens, offsets and positions) over [`is_word_char`].
#[derive(Clone, Default)]
pub struct WordTokenizer {
    token: Token,
}

pub struct WordStream<'a> {
    text: &'a str,
    chars: CharIndices<'a>,
    token: &'a mut Token,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        self.token.reset();
        WordStream {
            text,
            chars: text.char_indices(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        while let Some((from, c)) = self.chars.next() {
            if is_word_char(c) {
                let to = self
                    .chars
                    .find(|(_, c)| !is_word_char(*c))
                    .map_or(self.text.len(), |(offset, _)| offset);
                self.token.offset_from = from;
                self.token.offset_to = to;
                self.token.text.push_str(&self.text[from..to]);
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Whole values, lowercased and folded, for exact filters.
pub fn keyword() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Registers the analysers on an index; must run before any read or write.
/// Reads the dictionary now (a fifth of a second), so that a node's first
/// request does not wait for it.
pub fn register(index: &Index) {
    Morphology::get();
    let tokenizers = index.tokenizers();
    tokenizers.register(HU_STEM, hu_stem());
    tokenizers.register(HU_ASCII, hu_ascii());
    tokenizers.register(KEYWORD, keyword());
    tokenizers.register(VOCABULARY, vocabulary());
}

/// The keyword form of a filter value, as the index stores it.
pub fn keyword_form(value: &str) -> String {
    let mut analyzer = keyword();
    let mut stream = analyzer.token_stream(value);
    let mut out = String::new();
    while let Some(token) = stream.next() {
        out.push_str(&token.text);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tantivy::tokenizer::SimpleTokenizer;

    fn tokens(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push(t.text.clone());
        }
        out
    }

    fn same(a: &str, b: &str) {
        for (name, make) in [
            ("hu_stem", hu_stem as fn() -> TextAnalyzer),
            ("hu_ascii", hu_ascii),
        ] {
            assert_eq!(
                tokens(make(), a),
                tokens(make(), b),
                "{name}: {a:?} vs {b:?}"
            );
        }
    }

    #[test]
    fn conflates_the_forms_readers_mean() {
        same("fejlesztések", "fejlesztési");
        same("óvodai férőhelyek", "óvodai férőhely");
        same("önkormányzatok", "önkormányzat");
        same("önkormányzati", "önkormányzat");
        same("projektek", "projekt");
        same("programok", "program");
    }

    #[test]
    fn unaccented_query_meets_accented_text_in_the_ascii_field() {
        assert_eq!(
            tokens(hu_ascii(), "kozossegi szolgaltato ter"),
            tokens(hu_ascii(), "közösségi szolgáltató tér")
        );
        assert_eq!(tokens(hu_ascii(), "őrség"), tokens(hu_ascii(), "orseg"));
        assert_eq!(tokens(hu_ascii(), "műszaki"), tokens(hu_ascii(), "muszaki"));
    }

    /// The memoised analysers give exactly the tokens of the plain chain
    /// (tokenise, drop long, then the tail per word), whether a word is met
    /// for the first time or remembered.
    #[test]
    fn memo_agrees_with_the_uncached_tail() {
        let text = "Az önkormányzatok és a Kistérségi Társulás fejlesztési programja: \
                    ŐRSÉG, műszaki, kozossegi szolgaltato ter, és, a, az, 2024-ben \
                    projektek projekt programok";
        for tail in [Tail::Stem, Tail::Ascii, Tail::Vocabulary] {
            let split = TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                .build();
            let expected: Vec<String> = tokens(split, text)
                .iter()
                .filter_map(|word| tail.form(word))
                .collect();
            assert!(expected.len() > 10);
            // Twice: the second pass is served from the memo.
            assert_eq!(tokens(words(tail), text), expected, "{tail:?}, first");
            assert_eq!(tokens(words(tail), text), expected, "{tail:?}, memoised");
        }
    }

    #[test]
    fn is_word_char_agrees_with_the_standard_library() {
        let differ: Vec<char> = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|c| is_word_char(*c) != c.is_alphanumeric())
            .collect();
        assert!(differ.is_empty(), "{differ:?}");
    }

    /// The same tokens, offsets and positions as tantivy's simple tokenizer.
    #[test]
    fn word_tokenizer_cuts_as_the_simple_tokenizer() {
        let text = "Az Őrség-völgyi ÖNKORMÁNYZAT (2024–2027): 12,5 % «új» ×3 µs ß ﬁ \
                    kozossegi_kert été ª² ½ Ǆ ΑΒΓ кириллица 日本語 e\u{301}";
        let all = |mut analyser: TextAnalyzer| {
            let mut stream = analyser.token_stream(text);
            let mut out = Vec::new();
            while let Some(t) = stream.next() {
                out.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
            }
            out
        };
        assert_eq!(
            all(TextAnalyzer::from(WordTokenizer::default())),
            all(TextAnalyzer::from(SimpleTokenizer::default()))
        );
    }

    #[test]
    fn keyword_folds_and_lowercases() {
        assert_eq!(keyword_form("Edelény"), "edeleny");
        assert_eq!(keyword_form("Szendrő"), "szendro");
        assert_eq!(keyword_form("Egészségügy"), "egeszsegugy");
    }

    /// The hub compares settlement names with `tudashalo_core::fold`, the
    /// node's keyword fields with this analyser: they must agree on every
    /// letter of European place names.
    #[test]
    fn core_fold_agrees_with_the_keyword_analyser() {
        let mut differ = Vec::new();
        for c in ('\u{20}'..='\u{7e}').chain('\u{c0}'..='\u{17f}') {
            let text = format!("a{c}b");
            if tudashalo_core::fold::fold(&text) != keyword_form(&text) {
                differ.push(c);
            }
        }
        assert!(
            differ.is_empty(),
            "fold and keyword_form differ on {differ:?}"
        );
        assert_eq!(tudashalo_core::fold::fold(" Győr "), keyword_form("Győr"));
    }
}
