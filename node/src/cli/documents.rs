//! `search` and `get`: the operator's view of the node's documents (every
//! one, local ones included), as text or `--json`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use tudashalo_core::model::Document;
use tudashalo_core::search::{Audience, Filters, SearchQuery, SearchResults};
use tudashalo_node::Node;

use crate::SearchArgs;

pub(crate) fn search(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let node = Node::open(&args.data)?;
    let query = SearchQuery {
        text: args.query.join(" "),
        filters: Filters {
            kinds: args.kinds,
            sectors: args.sectors,
            settlements: args.settlements,
            year_from: args.year_from,
            year_to: args.year_to,
            ids: Vec::new(),
            entities: args.entities,
            programmes: args.programmes,
            statuses: args.statuses,
            target_groups: args.target_groups,
            amount_min: args.amount_min,
            amount_max: args.amount_max,
        },
        offset: args.offset,
        limit: args.limit,
        after: None,
        snippets: true,
        facets: true,
        ids_only: false,
    };
    let results = node.search(&query, Audience::Operator, None)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print_results(&query.text, &results);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_results(query: &str, results: &SearchResults) {
    let bold = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{} of {} matching records for {query:?}",
        results.hits.len(),
        results.total
    );
    for (i, hit) in results.hits.iter().enumerate() {
        let year = hit.year.map(|y| format!(" {y}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{:>3}. {}  [{}{}]  id={} score={:.3}",
            i + 1,
            hit.title,
            hit.kind,
            year,
            hit.id,
            hit.score
        );
        if !hit.settlements.is_empty() || !hit.sectors.is_empty() {
            let _ = writeln!(
                out,
                "     {} · {}",
                hit.settlements.join(", "),
                hit.sectors.join(", ")
            );
        }
        if let Some(source) = &hit.source {
            let _ = writeln!(out, "     forrás: {}", source.describe());
        }
        if let Some(snippet) = &hit.snippet {
            let _ = writeln!(
                out,
                "     {}",
                tudashalo_core::search::mark_highlights(
                    &snippet.text,
                    snippet.highlights.iter().copied(),
                    bold
                )
            );
        }
    }
    for facet in &results.facets {
        let values = facet.values.iter().map(|v| (v.value.as_str(), v.count));
        if let Some(line) = tudashalo_core::search::facet_line(&facet.name, values) {
            let _ = writeln!(out, "{line}");
        }
    }
    for ignored in &results.ignored {
        let _ = writeln!(out, "  ignored: {ignored}");
    }
    if let Some(line) = tudashalo_core::suggest::suggestion_line(&results.suggested_query) {
        let _ = writeln!(out, "{line}");
    }
}

/// `get`: one document, as text or as JSON in the shape it was imported in;
/// with `original`, its original file copied there (`-`: stdout).
pub(crate) fn get(
    data: &Path,
    id: &str,
    json: bool,
    original: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let node = Node::open(data)?;
    if let Some(to) = original {
        let (source, mut file) = node.original(id, Audience::Operator)?;
        if to.as_os_str() == "-" {
            std::io::copy(&mut file, &mut std::io::stdout().lock())?;
        } else {
            let mut out = std::fs::File::create(to)
                .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", to.display()))?;
            std::io::copy(&mut file, &mut out)?;
            out.sync_all()?;
            eprintln!("{}: {}", to.display(), source.describe());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let doc = node.get(id, Audience::Operator)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&document_json(&doc))?);
    } else {
        print_document(&doc);
    }
    Ok(ExitCode::SUCCESS)
}

/// A document as JSON, in the shape it was imported in: known fields, then
/// the unknown ones at the top level.
fn document_json(doc: &Document) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("id".into(), json!(doc.id));
    object.insert("title".into(), json!(doc.title));
    object.insert("body".into(), json!(doc.body));
    object.insert("kind".into(), json!(doc.kind.as_str()));
    object.insert("sectors".into(), json!(doc.sectors));
    object.insert("settlements".into(), json!(doc.settlements));
    object.insert("year".into(), json!(doc.year));
    object.insert("org".into(), json!(doc.org));
    object.insert("visibility".into(), json!(doc.visibility.as_str()));
    object.insert("tags".into(), json!(doc.tags));
    object.insert("url".into(), json!(doc.url));
    if let Some(source) = &doc.source {
        object.insert("source".into(), json!(source));
    }
    for (k, v) in &doc.extra {
        object.entry(k.clone()).or_insert_with(|| v.clone());
    }
    serde_json::Value::Object(object)
}

fn print_document(doc: &Document) {
    println!("{}", doc.title);
    println!(
        "id: {}  kind: {}  visibility: {}",
        doc.id, doc.kind, doc.visibility
    );
    if let Some(year) = doc.year {
        println!("year: {year}");
    }
    if !doc.settlements.is_empty() {
        println!("settlements: {}", doc.settlements.join(", "));
    }
    if !doc.sectors.is_empty() {
        println!("sectors: {}", doc.sectors.join(", "));
    }
    if let Some(org) = &doc.org {
        println!("org: {org}");
    }
    if !doc.tags.is_empty() {
        println!("tags: {}", doc.tags.join(", "));
    }
    if let Some(url) = &doc.url {
        println!("url: {url}");
    }
    if let Some(source) = &doc.source {
        println!("forrás: {}", source.describe());
    }
    for (k, v) in &doc.extra {
        println!("{k}: {v}");
    }
    println!();
    println!("{}", doc.body);
}
