//! Hungarian text analysis: the tokenizers every text field is indexed and
//! queried with.
//!
//! Each text is indexed twice, so that a reader finds what they mean whether
//! or not they type accents:
//!
//! - `hu_stem`: lowercase → stop words → Snowball Hungarian, twice → ASCII
//!   folding. Stemming sees the accented word, which is what the Snowball rules
//!   are written for.
//! - `hu_ascii`: lowercase → stop words → ASCII folding → Snowball, twice. An
//!   unaccented query (`kozossegi szolgaltato ter`) and the accented text
//!   (`közösségi szolgáltató tér`) reach the stemmer as the same letters, so
//!   they always meet here.
//!
//! Why twice: Snowball Hungarian removes case endings before plural endings,
//! in one pass. The bare noun `önkormányzat` loses its `-at` as if it were an
//! accusative, while `önkormányzatok` only loses the plural `-ok` and keeps
//! `-at`. A second pass strips the remaining case-like ending the same way, so
//! `önkormányzat`, `önkormányzatok`, `önkormányzati` all become `onkormanyz`
//! (likewise `projekt`/`projektek`, `program`/`programok`). The second pass is
//! applied at index and query time alike, so it only ever conflates, never
//! splits, forms that the first pass already joined.
//!
//! `keyword` (lowercase → folding, no splitting) serves the exact-match
//! filters on sectors and settlements, so `--settlement edeleny` finds
//! `Edelény`.

use tantivy::Index;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer,
    Stemmer, StopWordFilter, TextAnalyzer,
};

pub const HU_STEM: &str = "hu_stem";
pub const HU_ASCII: &str = "hu_ascii";
pub const KEYWORD: &str = "keyword";

/// Words longer than this (in bytes) are dropped: they are base64 blobs or
/// URLs, not language.
const MAX_TOKEN_BYTES: usize = 64;

/// The stemmed, accent-preserving-then-folded analyser.
pub fn hu_stem() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .dynamic();
    let builder = match StopWordFilter::new(Language::Hungarian) {
        Some(stop) => builder.filter_dynamic(stop),
        None => builder,
    };
    builder
        .filter_dynamic(Stemmer::new(Language::Hungarian))
        .filter_dynamic(Stemmer::new(Language::Hungarian))
        .filter_dynamic(AsciiFoldingFilter)
        .build()
}

/// The folded-then-stemmed analyser (accent-insensitive by construction).
pub fn hu_ascii() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .dynamic();
    let builder = match StopWordFilter::new(Language::Hungarian) {
        Some(stop) => builder.filter_dynamic(stop),
        None => builder,
    };
    builder
        .filter_dynamic(AsciiFoldingFilter)
        .filter_dynamic(Stemmer::new(Language::Hungarian))
        .filter_dynamic(Stemmer::new(Language::Hungarian))
        .build()
}

/// Whole values, lowercased and folded, for exact filters.
pub fn keyword() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Registers the analysers on an index; must run before any read or write.
pub fn register(index: &Index) {
    let tokenizers = index.tokenizers();
    tokenizers.register(HU_STEM, hu_stem());
    tokenizers.register(HU_ASCII, hu_ascii());
    tokenizers.register(KEYWORD, keyword());
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

    #[test]
    fn keyword_folds_and_lowercases() {
        assert_eq!(keyword_form("Edelény"), "edeleny");
        assert_eq!(keyword_form("Szendrő"), "szendro");
        assert_eq!(keyword_form("Egészségügy"), "egeszsegugy");
    }
}
