//! Judged documents and the queries they answer: the project's own
//! relevance set, planted into the generated corpus on request.
//!
//! The documents and the judgments are data, in `judged.toml` next to this
//! file: each query of the kinds users type (concepts, inflected forms,
//! unaccented text, quoted phrases, project identifiers, filters, `OR`)
//! lists its relevant documents with a grade (2: the concept is the
//! document's subject, in its title and body; 1: relevant, said in passing
//! or in another form), its hard negatives (documents a crude stemmer or a
//! bag-of-words ranker would put on top: `keretében` for `kertek`, `város`
//! for `vár`, the query's words far apart in unrelated sentences) and its
//! visibility traps (relevant text, but `local`: a principal outside the
//! node must never see them). Hand-written sentences open every document;
//! a paragraph of the node's ordinary generated text follows, so planted
//! documents read like their neighbours.
//!
//! Planting is opt-in: [`judged_documents`] and [`write_judged_documents`]
//! add these documents next to the files [`super::write_node_files`]
//! writes, which stay byte-identical (no `GENERATOR_VERSION` change). A
//! document written for kistérség `node` goes to node `node % spec.nodes`;
//! its settlements are those of the first three kistérségek, so with three
//! nodes or more they belong to the node that holds it.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::documents::document;
use super::{Kisterseg, Spec};

/// The judged set, as data.
const DATA: &str = include_str!("judged.toml");

/// Where the generated paragraph of a judged document comes from: document
/// numbers far beyond any node's own, so that no planted paragraph repeats
/// an ordinary document's text.
const FILLER_BASE: usize = 1_000_000_000;

/// One planted document, as `judged.toml` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedDocument {
    /// The document id, the same on every node count (unique in the set,
    /// and unlike the generator's `slug-00001`).
    pub id: String,
    /// The kistérség it was written for, by position in
    /// [`super::kistersegek`].
    pub node: usize,
    pub kind: String,
    pub sectors: Vec<String>,
    pub settlements: Vec<String>,
    pub year: i32,
    pub visibility: String,
    pub org: String,
    pub title: String,
    /// The hand-written part of the body.
    pub body: String,
}

/// What a judged query is an example of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    /// Two or three words naming one thing (`közösségi kertek`).
    Concept,
    /// The query's form differs from the documents' (`falvak` / `faluban`).
    Inflection,
    /// Typed without accents (`kozossegi kert`).
    Unaccented,
    /// A quoted phrase.
    Phrase,
    /// A project identifier (`EFOP-1.5.2-16-2017-00041`), whole or in part.
    Identifier,
    /// Words with a kind, sector, settlement or year filter.
    Filter,
    /// Alternatives joined by `OR`.
    Or,
}

impl QueryKind {
    pub const ALL: [QueryKind; 7] = [
        QueryKind::Concept,
        QueryKind::Inflection,
        QueryKind::Unaccented,
        QueryKind::Phrase,
        QueryKind::Identifier,
        QueryKind::Filter,
        QueryKind::Or,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Concept => "concept",
            QueryKind::Inflection => "inflection",
            QueryKind::Unaccented => "unaccented",
            QueryKind::Phrase => "phrase",
            QueryKind::Identifier => "identifier",
            QueryKind::Filter => "filter",
            QueryKind::Or => "or",
        }
    }
}

/// A query's filters, as the search request carries them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedFilters {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sectors: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settlements: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year_from: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year_to: Option<i32>,
}

/// One judged query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedQuery {
    /// A short stable name (`kert-concept`), for tables and `--json`.
    pub name: String,
    pub kind: QueryKind,
    /// What the user types, in the query syntax.
    pub text: String,
    #[serde(default)]
    pub filters: JudgedFilters,
    /// Document id → grade (2 highly relevant, 1 relevant). Every other
    /// document counts as not relevant.
    pub relevant: BTreeMap<String, u8>,
    /// Documents judged not relevant on purpose (documentation: they score
    /// as any unjudged document does).
    #[serde(default)]
    pub negatives: Vec<String>,
    /// `local` documents with relevant text: any appearance is a leak.
    #[serde(default)]
    pub traps: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    document: Vec<JudgedDocument>,
    query: Vec<JudgedQuery>,
}

static JUDGED: LazyLock<Data> = LazyLock::new(|| match toml::from_str(DATA) {
    Ok(data) => data,
    // The file is compiled in and checked by this module's tests: only an
    // edit that the tests would reject gets here.
    Err(e) => panic!("judged.toml: {e}"),
});

/// Every judged query, in the file's order.
pub fn judged_queries() -> &'static [JudgedQuery] {
    &JUDGED.query
}

/// Every planted document, as written (before placement and filler).
pub fn judged_set() -> &'static [JudgedDocument] {
    &JUDGED.document
}

/// The judged documents that node `k` holds under `spec`, in the
/// importer's JSON Lines shape: the hand-written body, then one paragraph
/// of `k`'s ordinary generated text.
pub fn judged_documents(k: &Kisterseg, spec: &Spec) -> Vec<Value> {
    judged_set()
        .iter()
        .enumerate()
        .filter(|(_, d)| d.node % spec.nodes.max(1) == k.index)
        .map(|(position, d)| {
            let generated = document(k, spec, k.index, FILLER_BASE + position);
            let filler = generated["body"]
                .as_str()
                .and_then(|b| b.split("\n\n").next())
                .unwrap_or("");
            let strings =
                |v: &[String]| Value::Array(v.iter().map(|s| Value::String(s.clone())).collect());
            let mut doc = Map::new();
            doc.insert("id".into(), Value::String(d.id.clone()));
            doc.insert("title".into(), Value::String(d.title.clone()));
            doc.insert(
                "body".into(),
                Value::String(format!("{}\n\n{filler}", d.body.trim())),
            );
            doc.insert("kind".into(), Value::String(d.kind.clone()));
            doc.insert("sectors".into(), strings(&d.sectors));
            doc.insert("settlements".into(), strings(&d.settlements));
            doc.insert("year".into(), Value::from(d.year));
            doc.insert("org".into(), Value::String(d.org.clone()));
            doc.insert("visibility".into(), Value::String(d.visibility.clone()));
            Value::Object(doc)
        })
        .collect()
}

/// Writes node `k`'s judged documents to `dir/dokumentumok-ertekelt.jsonl`
/// and returns its path, or writes nothing and returns `None` when `k`
/// holds none (the importer refuses an empty file).
pub fn write_judged_documents(
    dir: &Path,
    k: &Kisterseg,
    spec: &Spec,
) -> io::Result<Option<PathBuf>> {
    let docs = judged_documents(k, spec);
    if docs.is_empty() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir)?;
    let path = dir.join("dokumentumok-ertekelt.jsonl");
    let mut out = BufWriter::new(std::fs::File::create(&path)?);
    for doc in docs {
        serde_json::to_writer(&mut out, &doc)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(Some(path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::super::kistersegek;
    use super::super::tests::small;
    use super::*;

    #[test]
    fn every_judgment_names_a_planted_document_of_the_right_visibility() {
        let docs: HashMap<&str, &JudgedDocument> =
            judged_set().iter().map(|d| (d.id.as_str(), d)).collect();
        assert_eq!(docs.len(), judged_set().len(), "document ids are unique");
        let names: HashSet<&str> = judged_queries().iter().map(|q| q.name.as_str()).collect();
        assert_eq!(
            names.len(),
            judged_queries().len(),
            "query names are unique"
        );
        for q in judged_queries() {
            assert!(!q.relevant.is_empty(), "{}: nothing relevant", q.name);
            for (id, grade) in &q.relevant {
                let d = docs
                    .get(id.as_str())
                    .unwrap_or_else(|| panic!("{}: {id}", q.name));
                assert!((1..=2).contains(grade), "{}: {id} graded {grade}", q.name);
                assert_ne!(d.visibility, "local", "{}: {id} is local", q.name);
            }
            for id in &q.negatives {
                assert!(docs.contains_key(id.as_str()), "{}: {id}", q.name);
                assert!(!q.relevant.contains_key(id), "{}: {id} twice", q.name);
            }
            for id in &q.traps {
                let d = docs
                    .get(id.as_str())
                    .unwrap_or_else(|| panic!("{}: {id}", q.name));
                assert_eq!(d.visibility, "local", "{}: trap {id}", q.name);
            }
        }
    }

    #[test]
    fn at_least_forty_queries_of_every_kind_over_three_nodes() {
        let queries = judged_queries();
        assert!(queries.len() >= 40, "{} queries", queries.len());
        for kind in QueryKind::ALL {
            let n = queries.iter().filter(|q| q.kind == kind).count();
            assert!(n >= 4, "{} {kind:?} queries", n);
        }
        let nodes: HashSet<usize> = judged_set().iter().map(|d| d.node).collect();
        assert_eq!(nodes, HashSet::from([0, 1, 2]));
    }

    #[test]
    fn planted_documents_import_cleanly_where_they_belong() {
        let spec = small(1);
        let mut planted = 0;
        for k in kistersegek(&spec) {
            let docs = judged_documents(&k, &spec);
            let text: String = docs.iter().map(|d| d.to_string() + "\n").collect();
            let parsed = tudashalo_node::import::parse_documents(
                "dokumentumok-ertekelt.jsonl",
                text.as_bytes(),
                &tudashalo_node::import::Limits::default(),
            )
            .unwrap();
            assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
            for (_, d) in &parsed.records {
                for s in &d.settlements {
                    assert!(
                        k.settlements.iter().any(|t| &t.name == s),
                        "{}: {s} is not in {}",
                        d.id,
                        k.slug
                    );
                }
            }
            planted += parsed.records.len();
        }
        assert_eq!(planted, judged_set().len());
        // Deterministic, and the same on a second call.
        let k = &kistersegek(&spec)[0];
        assert_eq!(judged_documents(k, &spec), judged_documents(k, &spec));
    }
}
