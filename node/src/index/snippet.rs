//! Snippets: the passage of a hit's body (from the store's copy) where the
//! query's terms occur, highlighted, weighed by the request's statistics so
//! that every server cuts the same one; the body's opening otherwise.

use tantivy::query::{Bm25StatisticsProvider, Query};
use tantivy::schema::Field;
use tantivy::snippet::SnippetGenerator;
use tantivy::{Score, Term};

use super::SearchIndex;
use super::stats::Stats;
use tudashalo_core::search::Snippet;

const SNIPPET_CHARS: usize = 220;

impl SearchIndex {
    /// A snippet generator for `field` that weighs the query's terms by the
    /// request's statistics (tantivy's own `create` would use this node's
    /// document frequencies), so that a hit's snippet is the same whichever
    /// server cuts it: a hub's member or one node holding everything.
    pub(super) fn snippet_generator(
        &self,
        query: &dyn Query,
        field: Field,
        stats: &Stats<'_>,
    ) -> Option<SnippetGenerator> {
        let mut terms: Vec<Term> = Vec::new();
        query.query_terms(&mut |term, _| {
            if term.field() == field {
                terms.push(term.clone());
            }
        });
        let mut weights = std::collections::BTreeMap::new();
        for term in terms {
            let value = term.value();
            let Some(text) = value.as_str() else { continue };
            let df = stats.doc_freq(&term).ok()?;
            if df > 0 {
                weights.insert(text.to_string(), 1.0 / (1.0 + df as Score));
            }
        }
        let tokenizer = self.index.tokenizer_for_field(field).ok()?;
        Some(SnippetGenerator::new(
            weights,
            tokenizer,
            field,
            SNIPPET_CHARS,
        ))
    }
}

/// Bytes of body a snippet is looked for in at a time.
const SNIPPET_WINDOW: usize = 4096;

/// `text` in consecutive pieces of about `size` bytes, each ending at
/// whitespace where there is some, so that no word is cut in two.
fn windows(text: &str, size: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(size);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end < rest.len()
            && let Some(space) = rest[..end].rfind(char::is_whitespace)
            && space > 0
        {
            end = space;
        }
        if end == 0 {
            // A first character longer than the window: take it whole.
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (window, tail) = rest.split_at(end);
        rest = tail;
        Some(window)
    })
}

pub(super) fn make_snippet(
    generators: Option<&(Option<SnippetGenerator>, Option<SnippetGenerator>)>,
    body: &str,
) -> Snippet {
    if let Some((hu, ascii)) = generators {
        // The snippet comes from the first window of the body where a query
        // term occurs: analysing a whole 900-word body to pick its best
        // passage cost more than the search itself, and a passage near the
        // start is as good a preview.
        for window in windows(body, SNIPPET_WINDOW) {
            for generator in [hu, ascii].into_iter().flatten() {
                let snippet = generator.snippet(window);
                if !snippet.is_empty() && !snippet.highlighted().is_empty() {
                    return Snippet {
                        text: snippet.fragment().to_string(),
                        highlights: snippet
                            .highlighted()
                            .iter()
                            .map(|r| (r.start, r.end))
                            .collect(),
                    };
                }
            }
        }
    }
    // No term matched the body (a title-only match, or an empty query): the
    // opening of the body, cut at a word boundary.
    let mut end = body.len().min(SNIPPET_CHARS);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    if end < body.len()
        && let Some(space) = body[..end].rfind(char::is_whitespace)
    {
        end = space;
    }
    Snippet {
        text: body[..end].trim().to_string(),
        highlights: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn windows_cover_the_text_and_cut_at_whitespace() {
        let text = "árvíztűrő tükörfúrógép ".repeat(500);
        let pieces: Vec<&str> = super::windows(&text, 100).collect();
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| p.len() <= 100));
        assert!(
            pieces[1..]
                .iter()
                .all(|p| p.starts_with(char::is_whitespace))
        );
        let long = "ő".repeat(10);
        assert_eq!(super::windows(&long, 1).collect::<String>(), long);
    }
}
