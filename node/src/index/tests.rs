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
    index.rebuild(docs.into_iter().map(Ok), 1).unwrap();
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
    for query in ["közösségi kert", "kozossegi kert", "kert közösségi"] {
        let results = search(&index, query, Audience::Public);
        assert_eq!(ids(&results), ["near", "far"], "{query}");
    }
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
fn hostile_texts_do_not_panic() {
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
    ] {
        let _ = index.search(
            &SearchQuery {
                text: text.into(),
                limit: 10,
                ..SearchQuery::default()
            },
            Audience::Public,
            None,
            &|_| None,
        );
    }
}
