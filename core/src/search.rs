//! The search vocabulary shared by node and hub: requests, hits, facets,
//! cursors, BM25 corpus statistics, the tie-breaker hash and depth limits.
//!
//! These are domain types; [`crate::pb`] converts them to and from protobuf.

use std::collections::HashMap;

use serde::Serialize;

/// Who is asking, as far as document visibility is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The node's own operator, on its own machine: sees everything.
    Operator,
    /// Hubs and federation operators: `public` and `federated` documents.
    Federation,
    /// Any other authenticated principal: `public` documents only.
    Public,
}

impl Audience {
    /// Whether a document with this visibility code (see
    /// [`crate::model::Visibility::code`]) may be seen.
    pub fn sees(self, visibility_code: u64) -> bool {
        match self {
            Audience::Operator => true,
            Audience::Federation => visibility_code <= 1,
            Audience::Public => visibility_code == 0,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub kinds: Vec<String>,
    pub sectors: Vec<String>,
    pub settlements: Vec<String>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    /// Only these document ids (how a hub fetches its final page's snippets).
    pub ids: Vec<String>,
    /// Only these entities (empty = all).
    pub entities: Vec<crate::register::Entity>,
    /// Developments only: any of these programme codes, statuses, target
    /// group codes, and support in Ft within the bounds. Any of them set
    /// leaves out every record that is not a development.
    pub programmes: Vec<String>,
    pub statuses: Vec<String>,
    pub target_groups: Vec<String>,
    pub amount_min: Option<u64>,
    pub amount_max: Option<u64>,
}

impl Filters {
    /// Whether a filter only developments can pass is set.
    pub fn developments_only(&self) -> bool {
        !self.programmes.is_empty()
            || !self.statuses.is_empty()
            || !self.target_groups.is_empty()
            || self.amount_min.is_some()
            || self.amount_max.is_some()
    }
}

/// Where the next page starts: the sort key of the previous page's last hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    pub score: f32,
    pub tie: u64,
}

/// The deepest `offset + limit` a search may reach; beyond it, use a cursor.
pub const MAX_DEPTH: usize = 1_000;
pub const DEFAULT_LIMIT: usize = 10;

/// Refuses a page deeper than [`MAX_DEPTH`] (`offset` and the effective
/// `limit`), as node and hub both do, with the same words.
pub fn check_depth(offset: usize, limit: usize) -> crate::Result<()> {
    let depth = offset.saturating_add(limit);
    if depth > MAX_DEPTH {
        return Err(crate::Error::InvalidRequest(format!(
            "offset + limit: {depth}; at most {MAX_DEPTH} (the search depth); use a search_after cursor to page deeper"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub filters: Filters,
    pub offset: usize,
    pub limit: usize,
    pub after: Option<Cursor>,
    pub snippets: bool,
    pub facets: bool,
    /// Hits with id, score and tie only (see `SearchRequest.ids_only`).
    pub ids_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snippet {
    pub text: String,
    /// Byte ranges of `text` that matched the query.
    pub highlights: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub year: Option<i32>,
    pub settlements: Vec<String>,
    pub sectors: Vec<String>,
    pub score: f32,
    pub tie: u64,
    pub snippet: Option<Snippet>,
    /// The file the document was imported from, if it was.
    pub source: Option<crate::model::Source>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facet {
    pub name: String,
    pub values: Vec<FacetCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub total: u64,
    pub hits: Vec<Hit>,
    pub facets: Vec<Facet>,
    /// Parts of the query that lenient parsing ignored, in words.
    pub ignored: Vec<String>,
    /// Other spellings of the query's words, when it found fewer than
    /// [`crate::suggest::SUGGEST_BELOW`] documents (see [`crate::suggest`]).
    pub suggestions: Vec<crate::suggest::Suggestion>,
    /// The query with the best of them; empty without suggestions.
    pub suggested_query: String,
}

/// BM25 statistics over the documents one audience may see. A hub sums these
/// over its members and hands the sum back, so that every member scores as
/// if all documents sat in one index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CorpusStats {
    pub total_docs: u64,
    /// Field name → total number of tokens.
    pub total_tokens: HashMap<String, u64>,
    /// (field name, analysed term) → number of documents containing it.
    pub doc_freq: HashMap<(String, String), u64>,
}

/// The deterministic tie-breaker of a document id: FNV-1a, 64 bits. The same
/// on every node, so that equal scores sort the same everywhere.
pub fn tie_of(id: &str) -> u64 {
    fnv1a(id.as_bytes())
}

/// FNV-1a, 64 bits: stable across builds and platforms.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A snippet for a terminal: highlighted ranges in bold (`bold`) or between
/// «guillemets», newlines folded. Ranges out of order, out of bounds or off
/// a character boundary are skipped rather than trusted.
pub fn mark_highlights(
    text: &str,
    ranges: impl IntoIterator<Item = (usize, usize)>,
    bold: bool,
) -> String {
    let (open, close) = if bold {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("«", "»")
    };
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    for (start, end) in ranges {
        if start < at
            || end < start
            || end > text.len()
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(open);
        out.push_str(&text[start..end]);
        out.push_str(close);
        at = end;
    }
    out.push_str(&text[at..]);
    out.replace('\n', " ")
}

/// One facet as a terminal line, `  name: value count, …` (the eight largest
/// values), or `None` when it has no values.
pub fn facet_line<'a>(
    name: &str,
    values: impl IntoIterator<Item = (&'a str, u64)>,
) -> Option<String> {
    let values: Vec<String> = values
        .into_iter()
        .take(8)
        .map(|(v, c)| format!("{v} {c}"))
        .collect();
    (!values.is_empty()).then(|| format!("  {name}: {}", values.join(", ")))
}
