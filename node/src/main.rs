//! `tudashalo-node`: the kistérség operator's command line.
//!
//! Every command opens the data folder itself; sled's lock makes a second
//! process fail with a plain "the node is running" instead of corrupting it.
//! `--json` output is one JSON document per command, documented in the README.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tudashalo_core::model::{Document, Kind, Visibility};
use tudashalo_core::search::{Audience, Filters, SearchQuery, SearchResults};
use tudashalo_node::import::{Encoding, FileFormat, TextMeta};
use tudashalo_node::node::{FileReport, ImportOptions, ImportProgress};
use tudashalo_node::{Error, Node};
use tudashalo_proto::tls::TlsFiles;

#[derive(Parser)]
#[command(
    name = "tudashalo-node",
    version,
    about = "A Tudásháló kistérség node: its own store, Hungarian search, served over mTLS gRPC"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data folder with a commented node.toml.
    Init {
        #[arg(long)]
        data: PathBuf,
        /// The node's slug, e.g. edelenyi.
        #[arg(long)]
        name: String,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Import documents (.jsonl, .txt, .md), observations or a catalogue (.csv).
    Import(ImportArgs),
    /// Search the node's documents (all of them, local ones included).
    Search(SearchArgs),
    /// Show one document.
    Get {
        #[arg(long)]
        data: PathBuf,
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Count documents, observations and indicators.
    Stats {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the search index from the store, from scratch.
    Reindex {
        #[arg(long)]
        data: PathBuf,
    },
    /// Serve the federation contract over mTLS gRPC.
    Serve(ServeArgs),
    /// Aggregate indicators (the operator's own view: nothing suppressed).
    Aggregate(AggregateArgs),
    /// List the audit log of requests from outside, or verify its hash chain.
    Audit(AuditArgs),
}

#[derive(Args)]
struct ImportArgs {
    #[arg(long)]
    data: PathBuf,
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Reject a whole file if any line of it is rejected.
    #[arg(long)]
    strict: bool,
    /// CSV encoding: auto (UTF-8, else Windows-1250), utf-8 or windows-1250.
    #[arg(long, default_value = "auto")]
    encoding: Encoding,
    /// For .txt/.md: the document kind.
    #[arg(long)]
    kind: Option<Kind>,
    /// For .txt/.md: a sector (repeatable).
    #[arg(long = "sector")]
    sectors: Vec<String>,
    /// For .txt/.md: a settlement (repeatable).
    #[arg(long = "settlement")]
    settlements: Vec<String>,
    #[arg(long)]
    year: Option<i32>,
    #[arg(long)]
    org: Option<String>,
    /// The visibility of a .txt/.md document, and of .jsonl records that
    /// do not state one. Without it, a document already stored keeps its
    /// visibility (a new one is federated).
    #[arg(long)]
    visibility: Option<Visibility>,
    /// For .txt/.md: a tag (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct SearchArgs {
    #[arg(long)]
    data: PathBuf,
    /// The query: words, "phrases", AND / OR / NOT, -word.
    query: Vec<String>,
    #[arg(long = "kind")]
    kinds: Vec<String>,
    #[arg(long = "sector")]
    sectors: Vec<String>,
    #[arg(long = "settlement")]
    settlements: Vec<String>,
    #[arg(long)]
    year_from: Option<i32>,
    #[arg(long)]
    year_to: Option<i32>,
    #[arg(long, default_value_t = 10)]
    limit: usize,
    #[arg(long, default_value_t = 0)]
    offset: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct AggregateArgs {
    #[arg(long)]
    data: PathBuf,
    /// Indicator codes: comma-separated, or the option repeated.
    #[arg(long = "indicator", value_delimiter = ',', required = true)]
    indicators: Vec<String>,
    /// Group by any of settlement, kisterseg, period (comma-separated).
    #[arg(long = "by", value_delimiter = ',')]
    by: Vec<tudashalo_core::aggregate::GroupKey>,
    /// First year, inclusive.
    #[arg(long)]
    from: Option<i32>,
    /// Last year, inclusive.
    #[arg(long)]
    to: Option<i32>,
    /// Only this settlement (repeatable; case and accents do not matter).
    #[arg(long = "settlement")]
    settlements: Vec<String>,
    /// Add totals over the finest grouped geography.
    #[arg(long)]
    totals: bool,
    #[arg(long)]
    json: bool,
}

/// `audit`: entries as text, or `--json`: `{"entries": [ENTRY...]}` with the
/// fields documented in `tudashalo_node::audit` (seq, time, format,
/// principal, on_behalf_of, via, method, query, document, indicators,
/// group_by, params, results, outcome, checkpoint, signature, prev, hash).
/// `--verify`: "ok: N entries, chain intact" (after a prune, preceded by
/// "entries 0–K pruned on TIME, chain verified from checkpoint C") and exit
/// 0, or what is wrong and exit 1; with `--json`: `{"intact": bool,
/// "entries": N, "first": SEQ, "head": HASH, "cut": null | {"checkpoint":
/// SEQ, "time": TIME, "pruned_through": SEQ, "signature": "not_checked" |
/// {"verified": SHA256}}, "broken": null | {"seq": N, "damage":
/// "altered|removed|reordered|truncated", "detail": TEXT}}`. `--export FILE`:
/// every entry present, as stored, one JSON object a line. `--prune`: cut
/// the log to its `[audit]` bounds now.
#[derive(Args)]
struct AuditArgs {
    #[arg(long)]
    data: PathBuf,
    /// Only entries at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z, or a date).
    #[arg(long)]
    since: Option<String>,
    /// Recompute the hash chain instead of listing.
    #[arg(long)]
    verify: bool,
    /// With --verify: the node's certificate, to check the checkpoint's
    /// signature (default: [tls] cert of node.toml, if set).
    #[arg(long, requires = "verify")]
    cert: Option<PathBuf>,
    /// Write every entry, as stored, to this file (JSON Lines; "-": stdout).
    #[arg(long, conflicts_with_all = ["verify", "prune"])]
    export: Option<PathBuf>,
    /// Prune the log to the bounds of [audit] in node.toml now.
    #[arg(long, conflicts_with = "verify")]
    prune: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long)]
    data: PathBuf,
    /// Address to listen on; default from node.toml.
    #[arg(long)]
    listen: Option<SocketAddr>,
    #[arg(long)]
    cert: Option<PathBuf>,
    #[arg(long)]
    key: Option<PathBuf>,
    #[arg(long)]
    ca: Option<PathBuf>,
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TUDASHALO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init {
            data,
            name,
            display_name,
        } => {
            let path = Node::init(&data, &name, display_name.as_deref())?;
            println!("created {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => import(args),
        Command::Search(args) => search(args),
        Command::Get { data, id, json } => {
            let node = Node::open(&data)?;
            let doc = node.get(&id, Audience::Operator)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&document_json(&doc))?);
            } else {
                print_document(&doc);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { data, json } => {
            let node = Node::open(&data)?;
            let stats = node.stats()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                println!("{} ({})", stats.display_name, stats.name);
                let mut vis: Vec<_> = stats.documents_by_visibility.iter().collect();
                vis.sort();
                let vis: Vec<String> = vis.iter().map(|(k, v)| format!("{k} {v}")).collect();
                println!("documents:    {} ({})", stats.documents, vis.join(", "));
                println!("observations: {}", stats.observations);
                println!("indicators:   {}", stats.indicators);
                println!("generation:   {}", stats.generation);
                println!(
                    "store:        {:.1} MiB",
                    stats.store_bytes as f64 / 1048576.0
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reindex { data } => {
            let node = Node::open(&data)?;
            let started = std::time::Instant::now();
            let count = node.reindex()?;
            println!(
                "reindexed {count} documents in {:.2} s",
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => serve(args),
        Command::Aggregate(args) => aggregate(args),
        Command::Audit(args) => audit(args),
    }
}

/// Exit codes: 0 when everything was imported, 2 when some lines were
/// rejected (the rest of their files landed), 1 when a file was not imported.
fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let node = Node::open(&args.data)?;
    let options = ImportOptions {
        strict: args.strict,
        encoding: args.encoding,
        text: TextMeta {
            kind: args.kind,
            sectors: args.sectors,
            settlements: args.settlements,
            year: args.year,
            org: args.org,
            visibility: args.visibility,
            tags: args.tags,
        },
    };
    // Catalogues first, so that observations in the same command can use them.
    let mut files: Vec<(u8, PathBuf)> = args
        .files
        .into_iter()
        .map(|p| {
            let order = match node.detect(&p, &options) {
                Ok(FileFormat::Catalogue) => 0,
                _ => 1,
            };
            (order, p)
        })
        .collect();
    files.sort_by_key(|(order, _)| *order);

    let mut reports: Vec<FileReport> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for (_, path) in &files {
        let bar = progress_bar(path, args.json);
        let result = node.import_file(path, &options, &|p| match p {
            ImportProgress::Total(n) => bar.set_length(n),
            ImportProgress::Done(n) => bar.inc(n),
        });
        bar.finish_and_clear();
        match result {
            Ok(report) => {
                if !args.json {
                    for r in &report.rejections {
                        eprintln!("{r}");
                    }
                    println!(
                        "{}: {} added, {} updated, {} unchanged, {} rejected, {:.2} s",
                        report.file,
                        report.added,
                        report.updated,
                        report.unchanged,
                        report.rejected,
                        report.seconds
                    );
                    print_visibility_changes(&report);
                }
                reports.push(report);
            }
            Err(e) => {
                if !args.json {
                    eprintln!("error: {e}");
                }
                failures.push(e.to_string());
            }
        }
    }
    let rejected: usize = reports.iter().map(|r| r.rejected).sum();
    if args.json {
        let out = json!({
            "files": reports,
            "errors": failures,
            "totals": {
                "added": reports.iter().map(|r| r.added).sum::<usize>(),
                "updated": reports.iter().map(|r| r.updated).sum::<usize>(),
                "unchanged": reports.iter().map(|r| r.unchanged).sum::<usize>(),
                "rejected": rejected,
                "visibility_changed": reports.iter().map(|r| r.visibility_changes.len()).sum::<usize>(),
                "seconds": reports.iter().map(|r| r.seconds).sum::<f64>(),
            }
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if !failures.is_empty() {
        ExitCode::FAILURE
    } else if rejected > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The documents whose visibility an import changed, one a line (the first
/// [`SHOWN_CHANGES`]; `--json` lists them all).
fn print_visibility_changes(report: &FileReport) {
    const SHOWN_CHANGES: usize = 50;
    let changes = &report.visibility_changes;
    if changes.is_empty() {
        return;
    }
    println!(
        "{}: visibility changed for {} document(s):",
        report.file,
        changes.len()
    );
    for c in changes.iter().take(SHOWN_CHANGES) {
        println!("  {}: {} -> {}", c.id, c.from, c.to);
    }
    if changes.len() > SHOWN_CHANGES {
        println!(
            "  … and {} more (import --json lists them all)",
            changes.len() - SHOWN_CHANGES
        );
    }
}

fn progress_bar(path: &Path, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta})")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(path.display().to_string());
    bar
}

fn search(args: SearchArgs) -> anyhow::Result<ExitCode> {
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
        "{} of {} matching documents for {query:?}",
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
    for (k, v) in &doc.extra {
        println!("{k}: {v}");
    }
    println!();
    println!("{}", doc.body);
}

/// The operator's own aggregate: every value, nothing suppressed.
fn aggregate(args: AggregateArgs) -> anyhow::Result<ExitCode> {
    use tudashalo_core::aggregate::{AggregateQuery, GroupKey, TOTAL, add_totals};
    let node = Node::open(&args.data)?;
    let query = AggregateQuery {
        indicators: args.indicators,
        group_by: args.by,
        period_from: args.from,
        period_to: args.to,
        settlements: args.settlements,
        totals: args.totals,
    };
    let mut cells = node.aggregate(&query)?;
    add_totals(&mut cells, &query);
    let published = tudashalo_core::disclosure::operator_view(cells);
    // The keys shown: those grouped, except the region, which a node lacks.
    let keys: Vec<GroupKey> = [GroupKey::Period, GroupKey::Kisterseg, GroupKey::Settlement]
        .into_iter()
        .filter(|&k| query.groups(k))
        .collect();
    if args.json {
        let cells: Vec<serde_json::Value> = published
            .iter()
            .map(|p| {
                let mut object = serde_json::Map::new();
                object.insert("indicator".into(), json!(p.key.indicator));
                for &k in &keys {
                    object.insert(k.as_str().into(), json!(p.key.get(k)));
                }
                object.insert("value".into(), json!(p.value));
                object.insert("unit".into(), json!(p.unit));
                object.insert("n".into(), json!(p.n));
                object.insert("aggregation".into(), json!(p.aggregation));
                object.insert("flags".into(), json!(p.flags));
                serde_json::Value::Object(object)
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "cells": cells }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if published.is_empty() {
        println!("no observations match");
        return Ok(ExitCode::SUCCESS);
    }
    let mut header: Vec<String> = vec!["indicator".into()];
    header.extend(keys.iter().map(|k| k.as_str().to_string()));
    header.extend(["value", "n", "unit", "flags"].map(String::from));
    let rows: Vec<Vec<String>> = published
        .iter()
        .map(|p| {
            let mut row = vec![p.key.indicator.clone()];
            row.extend(keys.iter().map(|&k| match p.key.get(k) {
                TOTAL => "(total)".to_string(),
                v => v.to_string(),
            }));
            row.push(p.value.map_or_else(|| "-".to_string(), plain_number));
            row.push(p.n.to_string());
            row.push(p.unit.clone());
            row.push(p.flags.join(","));
            row
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let value_column = header.len() - 4;
    let mut out = std::io::stdout().lock();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &w))| {
                let pad = " ".repeat(w - cell.chars().count());
                // Numbers right-aligned, text left-aligned.
                if i == value_column || i == value_column + 1 {
                    format!("{pad}{cell}")
                } else {
                    format!("{cell}{pad}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    Ok(ExitCode::SUCCESS)
}

/// A plain decimal: integers without a fraction, others to four places.
fn plain_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let since = match &args.since {
        Some(text) => Some(
            tudashalo_node::audit::parse_rfc3339(text)
                .map_err(|e| anyhow::anyhow!("--since: {e}"))?,
        ),
        None => None,
    };
    let node = Node::open(&args.data)?;
    let log = node.audit();
    if let Some(path) = &args.export {
        let count = if path.as_os_str() == "-" {
            log.export(&mut std::io::stdout().lock())?
        } else {
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            );
            let count = log.export(&mut file)?;
            file.flush()
                .with_context(|| format!("writing {}", path.display()))?;
            count
        };
        eprintln!("exported {count} entries");
        return Ok(ExitCode::SUCCESS);
    }
    if args.prune {
        apply_signer(
            &node,
            node.config()
                .tls
                .as_ref()
                .map(|t| (t.cert.clone(), t.key.clone())),
        );
        match log.prune()? {
            Some(p) => println!(
                "pruned entries {}–{} (checkpoint {}{})",
                p.from,
                p.through,
                p.checkpoint,
                p.archive
                    .map(|a| format!(", exported to {}", a.display()))
                    .unwrap_or_default()
            ),
            None => println!("nothing to prune"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.verify {
        let cert_path = args
            .cert
            .clone()
            .or_else(|| node.config().tls.as_ref().map(|t| t.cert.clone()));
        let cert = match &cert_path {
            None => None,
            Some(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("--cert: cannot read {}", path.display()))?;
                Some(certificate_der(&pem).with_context(|| {
                    format!("--cert: {} is not a PEM certificate", path.display())
                })?)
            }
        };
        let verification = log.verify_with(cert.as_deref())?;
        if args.json {
            let out = json!({
                "intact": verification.is_intact(),
                "entries": verification.entries,
                "first": verification.first,
                "head": verification.head,
                "cut": verification.cut,
                "broken": verification.broken,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else if let Some(broken) = &verification.broken {
            println!("broken: {broken}");
            println!(
                "{} entries before it are intact (last intact hash {})",
                verification.entries, verification.head
            );
        } else {
            if let Some(cut) = &verification.cut {
                println!("{cut}");
            }
            println!("ok: {} entries, chain intact", verification.entries);
            println!("head: {}", verification.head);
        }
        return Ok(if verification.is_intact() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let entries = log.entries_since(since)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "entries": entries }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    for e in &entries {
        let mut who = e.principal.clone();
        if let Some(behalf) = &e.on_behalf_of {
            who.push_str(&format!(" for {behalf}"));
        }
        if !e.via.is_empty() {
            who.push_str(&format!(" via {}", e.via.join(",")));
        }
        let mut what = e.method.clone();
        if let Some(query) = &e.query {
            what.push_str(&format!(" {query:?}"));
        }
        if let Some(id) = &e.document {
            what.push_str(&format!(" {id}"));
        }
        if !e.indicators.is_empty() {
            what.push_str(&format!(" {}", e.indicators.join(",")));
        }
        if !e.group_by.is_empty() {
            what.push_str(&format!(" by {}", e.group_by.join(",")));
        }
        if !e.params.is_empty()
            && let Ok(params) = serde_json::to_string(&e.params)
        {
            what.push_str(&format!(" {params}"));
        }
        if let Some(c) = &e.checkpoint {
            what.push_str(&format!(
                " entries {}–{} pruned ({})",
                c.pruned_from, c.pruned_through, c.reason
            ));
        }
        if let Some(n) = e.results {
            what.push_str(&format!(" -> {n}"));
        }
        let _ = writeln!(out, "{:>6} {} {who}: {what}: {}", e.seq, e.time, e.outcome);
    }
    Ok(ExitCode::SUCCESS)
}

/// Signs the node's audit checkpoints with the key of `files` (certificate,
/// key), or writes them unsigned (with a warning) if it cannot be used.
fn apply_signer(node: &Node, files: Option<(PathBuf, PathBuf)>) {
    let signer = files.and_then(|(cert, key)| {
        tudashalo_node::audit::CheckpointSigner::from_files(&cert, &key)
            .map_err(|e| tracing::warn!(error = %e, "audit checkpoints will be written unsigned"))
            .ok()
    });
    node.audit().set_signer(signer);
}

/// The DER of the first certificate in `pem`.
fn certificate_der(pem: &[u8]) -> anyhow::Result<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    Ok(CertificateDer::from_pem_slice(pem)?.to_vec())
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let node = match Node::open(&args.data) {
        Ok(node) => node,
        Err(e @ Error::Locked { .. }) => bail!("{e}"),
        Err(e) => return Err(e.into()),
    };
    let configured = node.config().tls.clone();
    let pick = |flag: Option<PathBuf>, from_config: Option<PathBuf>, what: &str| {
        flag.or(from_config)
            .with_context(|| format!("no TLS {what}: give --{what} or set [tls] {what} in node.toml (there is no plaintext mode)"))
    };
    let files = TlsFiles {
        cert: pick(
            args.cert,
            configured.as_ref().map(|t| t.cert.clone()),
            "cert",
        )?,
        key: pick(args.key, configured.as_ref().map(|t| t.key.clone()), "key")?,
        ca: pick(args.ca, configured.as_ref().map(|t| t.ca.clone()), "ca")?,
        crl: None,
    };
    // Checkpoints are signed with the key the node serves with; the log is
    // cut to its bounds before the first request (here, off the runtime).
    apply_signer(&node, Some((files.cert.clone(), files.key.clone())));
    if let Err(e) = node.audit().prune() {
        tracing::error!(error = %e, "cannot prune the audit log");
    }
    let tls = tudashalo_proto::tls::ReloadingTls::with_options(
        files,
        node.config().revocation.tls_options(),
    )?;
    let listen: SocketAddr = match args.listen {
        Some(addr) => addr,
        None => node.config().listen.parse()?,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        tracing::info!(node = node.name(), %addr, "serving over mTLS");
        println!("listening on https://{addr}");
        tudashalo_node::server::serve_reloading(
            Arc::new(node),
            listener,
            tls,
            tudashalo_proto::serve::shutdown_signal(),
        )
        .await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
