//! The index's unit tests: proximity ranking and spelling suggestions, on
//! an index in memory.

use serde_json::json;
use tudashalo_core::model::Document;
use tudashalo_core::search::{Audience, SearchQuery, SearchResults};

use super::SearchIndex;

fn doc(id: &str, title: &str, body: &str, visibility: &str) -> Document {
    serde_json::from_value(json!({
        "id": id, "title": title, "body": body, "kind": "report", "visibility": visibility,
    }))
    .unwrap()
}

fn index(docs: Vec<Document>) -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    index
        .rebuild(
            docs.iter()
                .map(|d| Ok(tudashalo_core::register::Searchable::of_document(d))),
            1,
        )
        .unwrap();
    index
}

fn search(index: &SearchIndex, text: &str, audience: Audience) -> SearchResults {
    let query = SearchQuery {
        text: text.into(),
        limit: 10,
        ..SearchQuery::default()
    };
    index.search(&query, audience, None, &|_| None).unwrap()
}

fn ids(results: &SearchResults) -> Vec<&str> {
    results.hits.iter().map(|h| h.id.as_str()).collect()
}

/// Filler that matches no query below, to put words far apart.
const FAR: &str = "a település lakói régóta várják, hogy a beruházás elkészüljön, \
                   és az önkormányzat pályázatot nyújtott be, amelyet el is fogadtak";

#[test]
fn adjacent_words_rank_above_words_far_apart() {
    // The far document has more of each word, so without proximity it
    // would win on term frequency.
    let far = format!("közösségi {FAR} kert {FAR} közösségi {FAR} kert");
    let index = index(vec![
        doc("far", "Beszámoló", &far, "public"),
        doc(
            "near",
            "Beszámoló",
            &format!("{FAR} közösségi kert {FAR}"),
            "public",
        ),
    ]);
    for query in ["közösségi kert", "kozossegi kert"] {
        let results = search(&index, query, Audience::Public);
        assert_eq!(ids(&results), ["near", "far"], "{query}");
    }
    // The order typed counts (`PROXIMITY_SLOP` is 0): swapped words earn
    // no bonus, and term frequency decides.
    let swapped = search(&index, "kert közösségi", Audience::Public);
    assert_eq!(ids(&swapped), ["far", "near"]);
    // Without proximity the far one ranks first: the bonus decided it.
    let or = search(&index, "közösségi OR kert", Audience::Public);
    assert_eq!(ids(&or), ["far", "near"]);
    // The bonus adds score, never filters: a document with one word only
    // is still not a match of the conjunction, and both still are.
    assert_eq!(search(&index, "közösségi kert", Audience::Public).total, 2);
}

/// Round one reports every term the search scores with, the proximity
/// phrases' included, so a hub's statistics cover the whole score.
#[test]
fn term_stats_cover_the_proximity_terms() {
    let index = index(vec![doc("a", "Közösségi kert", "közösségi kert", "public")]);
    let (stats, _) = index
        .term_stats("közösségi kert", Audience::Public)
        .unwrap();
    let query = index.user_query("közösségi kert").unwrap().0.unwrap();
    let schema = index.index.schema();
    let mut terms = 0;
    query.query_terms(&mut |term, _| {
        let key = (
            schema.get_field_name(term.field()).to_string(),
            term.value().as_str().unwrap().to_string(),
        );
        assert!(stats.doc_freq.contains_key(&key), "{key:?}");
        terms += 1;
    });
    // Two words in four fields, once in the base query, once in a phrase.
    assert_eq!(terms, 16);
}

#[test]
fn hostile_texts_search_and_do_not_panic() {
    let index = index(vec![doc("a", "Közösségi kert", "közösségi kert", "public")]);
    let long = "szó ".repeat(3_000);
    for text in [
        "\"",
        "\"\"",
        "a\"",
        "- -",
        "NOT",
        "NOT NOT a",
        "a OR",
        ":",
        "a:b c:d",
        "((a b) c",
        "~2",
        "\"a b\"~",
        "a^2 b^",
        "a -b c",
        "a.b.c.d.e.f.g.h.i.j.k",
        long.as_str(),
        "𝔨𝔢𝔯𝔱 ǅungla İstanbul straße ﬁnom",
        "kert\u{0}kert",
        "\u{0}",
        "ǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆǆ",
    ] {
        // Lenient: every text searches (the helper unwraps), none panics.
        let results = search(&index, text, Audience::Public);
        assert!(results.suggestions.len() <= tudashalo_core::suggest::MAX_SUGGESTIONS);
    }
}

fn suggestions(results: &SearchResults) -> Vec<(&str, &str, u64, u32)> {
    results
        .suggestions
        .iter()
        .map(|s| {
            (
                s.word.as_str(),
                s.replacement.as_str(),
                s.doc_freq,
                s.distance,
            )
        })
        .collect()
}

fn garden() -> SearchIndex {
    index(vec![
        doc(
            "a",
            "Közösségi kert",
            "A közösségi kert fejlesztése.",
            "public",
        ),
        doc(
            "b",
            "Fejlesztés",
            "Fejlesztés a településen, közösségi tér.",
            "public",
        ),
        doc(
            "c",
            "Kerékpárút",
            "A kerékpárút terve, belső anyag.",
            "local",
        ),
        doc("d", "Kerekes", "Kerekes kút a kertben.", "public"),
    ])
}

#[test]
fn an_accent_only_typo_is_offered_the_accented_word() {
    let index = garden();
    // `kozossegi` finds both documents through the accent-free fields, so
    // only accent-only spellings are offered; `közösségi` is distance 0.
    let results = search(&index, "kozossegi", Audience::Public);
    assert_eq!(results.total, 2);
    assert_eq!(suggestions(&results), [("kozossegi", "közösségi", 2, 0)]);
    assert_eq!(results.suggested_query, "közösségi");
}

#[test]
fn a_one_letter_typo_is_offered_the_word() {
    let index = garden();
    let results = search(&index, "Fejleztés kozosegi kert", Audience::Public);
    assert_eq!(results.total, 0);
    let found = suggestions(&results);
    assert_eq!(found[0], ("fejleztés", "fejlesztés", 1, 1));
    assert!(
        found.contains(&("kozosegi", "közösségi", 2, 1)),
        "{found:?}"
    );
    // `kert` is in the documents as typed: it is known, and kept.
    assert!(found.contains(&("kert", "kert", 1, 0)), "{found:?}");
    assert_eq!(results.suggested_query, "Fejlesztés közösségi kert");
}

#[test]
fn a_word_only_local_documents_hold_is_not_offered() {
    let index = garden();
    for audience in [Audience::Federation, Audience::Public] {
        let results = search(&index, "kerekparut", audience);
        assert_eq!(results.total, 0);
        assert!(
            results
                .suggestions
                .iter()
                .all(|s| s.replacement != "kerékpárút"),
            "{audience:?}: {:?}",
            results.suggestions
        );
    }
    // The operator sees the local document, and its word.
    let results = search(&index, "kerekparut", Audience::Operator);
    assert_eq!(results.suggested_query, "kerékpárút");
}

#[test]
fn no_suggestions_when_the_search_finds_enough() {
    let index = index(
        (0..3)
            .map(|i| {
                doc(
                    &format!("k{i}"),
                    "Kozossegi kert",
                    "közösségi kert",
                    "public",
                )
            })
            .collect(),
    );
    let results = search(&index, "kozossegi", Audience::Public);
    assert_eq!(results.total, 3);
    assert!(results.suggestions.is_empty());
    assert_eq!(results.suggested_query, "");
    // Hostile or empty texts get none either, and do not fail.
    for text in ["", "  ", "\"", "-kozosegi", "NOT kozosegi", "a b", "ő"] {
        let results = search(&index, text, Audience::Public);
        assert!(results.suggested_query.is_empty(), "{text:?}");
    }
}

/// A deterministic generator of numbers below `m`, for the measurements'
/// corpora.
fn rng(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |m: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
        ((state >> 33) as usize) % m
    }
}

/// The figure in `suggest`'s header: about 100,000 distinct words, a
/// ten-letter word looked up within two edits.
#[test]
#[ignore = "a measurement, not a check"]
fn suggest_walk_is_fast() {
    const LETTERS: &[char] = &[
        'a', 'á', 'b', 'c', 'd', 'e', 'é', 'f', 'g', 'h', 'i', 'í', 'k', 'l', 'm', 'n', 'o', 'ö',
        'ő', 'p', 'r', 's', 't', 'u', 'ü', 'v', 'z',
    ];
    let mut next = rng(7);
    let docs: Vec<Document> = (0..1_200)
        .map(|i| {
            let body: Vec<String> = (0..100)
                .map(|_| {
                    (0..4 + next(8))
                        .map(|_| LETTERS[next(LETTERS.len())])
                        .collect()
                })
                .collect();
            doc(&format!("w{i}"), "Szavak", &body.join(" "), "public")
        })
        .collect();
    let index = index(docs);
    let searcher = index.reader.searcher();
    let started = std::time::Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        let found = index.nearest(&searcher, "kozossegiz", 2).unwrap();
        std::hint::black_box(found);
    }
    let terms: usize = searcher
        .segment_readers()
        .iter()
        .map(|s| {
            let inverted = s.inverted_index(index.fields.vocabulary).unwrap();
            inverted.terms().num_terms()
        })
        .sum();
    println!(
        "segments: {}, vocabulary terms: {terms}, one walk at distance 2: {:?}",
        searcher.segment_readers().len(),
        started.elapsed() / rounds
    );
}

/// What proximity costs a search: a three-word query with the bonus,
/// against the same conjunction without it (`+a +b +c` gets none), over
/// documents drawn from a small vocabulary, so that most match.
#[test]
#[ignore = "a measurement, not a check"]
fn proximity_cost() {
    const WORDS: &[&str] = &[
        "közösségi",
        "szolgáltató",
        "tér",
        "fejlesztés",
        "program",
        "óvoda",
        "iskola",
        "település",
        "kistérség",
        "pályázat",
        "beruházás",
        "munkahely",
        "képzés",
        "sport",
        "kultúra",
        "turizmus",
        "egészségügyi",
        "szociális",
        "ifjúsági",
        "stratégia",
    ];
    let mut next = rng(11);
    let docs: Vec<Document> = (0..5_000)
        .map(|i| {
            let body: Vec<&str> = (0..60).map(|_| WORDS[next(WORDS.len())]).collect();
            doc(&format!("p{i}"), "Beszámoló", &body.join(" "), "public")
        })
        .collect();
    let index = index(docs);
    let rounds = 30;
    for text in ["közösségi szolgáltató tér", "+közösségi +szolgáltató +tér"] {
        let started = std::time::Instant::now();
        let mut total = 0;
        for _ in 0..rounds {
            total = search(&index, text, Audience::Public).total;
        }
        println!(
            "{text:?}: {total} matches, {:?} a search",
            started.elapsed() / rounds
        );
    }
}
