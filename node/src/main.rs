//! `tudashalo-node`: the kistérség operator's command line.
//!
//! Every command opens the data folder itself; sled's lock makes a second
//! process fail with a plain "the node is running" instead of corrupting it.
//! `--json` output is one JSON document per command, documented in the README.
//!
//! This file is the command line's definition (clap) and its dispatch; each
//! command's implementation is in [`cli`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tudashalo_core::model::{Kind, Visibility};
use tudashalo_node::import::Encoding;
use tudashalo_node::import::isolate;

mod cli;

#[derive(Parser)]
#[command(
    name = "tudashalo-node",
    version,
    about = "A Tudásháló kistérség node: its own store, Hungarian search, served over mTLS gRPC"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How logs are written to stderr: auto (text on a terminal, JSON lines
    /// otherwise), text or json. Default: TUDASHALO_LOG_FORMAT, else auto.
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<tudashalo_proto::logging::LogFormat>,
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
    /// Import files or folders (recursively): documents (.jsonl, .txt, .md,
    /// .pdf, .docx, .odt, .html, .rtf), observations or a catalogue (.csv,
    /// .xlsx, .xls, .ods), the register: organisations, contacts,
    /// developments, project indicators, working groups (.jsonl, .csv,
    /// .xlsx, .xls, .ods).
    Import(ImportArgs),
    /// Search the node's documents (all of them, local ones included).
    Search(SearchArgs),
    /// Show one document, or copy its original file (--original); or a
    /// register record by its key (development:<id>, organisation:<id> with
    /// its contact persons, group:<id>).
    Get {
        #[arg(long)]
        data: PathBuf,
        id: String,
        #[arg(long)]
        json: bool,
        /// Copy the file the document was imported from to this path (`-`: stdout).
        #[arg(long)]
        original: Option<PathBuf>,
    },
    /// The register's organisations with what each takes part in, and who
    /// cooperated with whom (the operator's view: local records too).
    Network {
        #[arg(long)]
        data: PathBuf,
        /// Only organisations whose name has these words (case and accents ignored).
        #[arg(long, default_value = "")]
        query: String,
        /// At most this many organisations (0: all, up to the limit).
        #[arg(long, default_value_t = 0)]
        limit: u32,
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
    /// Back up the node's data (store, audit log, node.toml, originals and
    /// the other files of the data folder; not the index, which is
    /// derived) into one file, while the node serves or not. The file is
    /// read back and checked before it is given its name.
    Backup {
        #[arg(long)]
        data: PathBuf,
        /// The backup file (written readable by its owner only).
        #[arg(long)]
        out: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup into a new or empty data folder, rebuild its index
    /// and verify its audit chain; or, with --check, only check the file.
    Restore {
        /// The data folder to create (missing or empty).
        #[arg(long, required_unless_present = "check")]
        data: Option<PathBuf>,
        file: PathBuf,
        /// Read the whole file and check it; write nothing.
        #[arg(long, conflicts_with = "data")]
        check: bool,
        #[arg(long)]
        json: bool,
    },
    /// Serve the federation contract over mTLS gRPC.
    Serve(ServeArgs),
    /// Aggregate indicators (the operator's own view: nothing suppressed).
    Aggregate(AggregateArgs),
    /// List the audit log of requests from outside, or verify its hash chain.
    Audit(AuditArgs),
    /// The web portal's accounts and cookie key (`[portal]` in node.toml).
    Portal(tudashalo_portal::cli::PortalArgs),
}

#[derive(Args)]
struct ImportArgs {
    #[arg(long)]
    data: PathBuf,
    /// Files, or folders to import with everything in them that `import`
    /// reads (one-file documents get the slug of their path in the folder
    /// as id).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// For workbooks: the sheet to read (default: the first sheet whose
    /// header names the columns).
    #[arg(long)]
    sheet: Option<String>,
    /// Reject a whole file if any line of it is rejected.
    #[arg(long)]
    strict: bool,
    /// CSV encoding: auto (UTF-8, else Windows-1250), utf-8 or windows-1250.
    #[arg(long, default_value = "auto")]
    encoding: Encoding,
    /// For one-file documents (.txt, .pdf, .docx, …): the document kind.
    #[arg(long)]
    kind: Option<Kind>,
    /// For one-file documents (.txt, .pdf, .docx, …): a sector (repeatable).
    #[arg(long = "sector")]
    sectors: Vec<String>,
    /// For one-file documents (.txt, .pdf, .docx, …): a settlement (repeatable).
    #[arg(long = "settlement")]
    settlements: Vec<String>,
    /// For one-file documents: the year (the file's own creation year
    /// otherwise).
    #[arg(long)]
    year: Option<i32>,
    #[arg(long)]
    org: Option<String>,
    /// The visibility of one-file documents, and of .jsonl records that
    /// do not state one. Without it, a document already stored keeps its
    /// visibility (a new one is federated).
    #[arg(long)]
    visibility: Option<Visibility>,
    /// For one-file documents (.txt, .pdf, .docx, …): a tag (repeatable).
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
    /// Only these entities: document, development, organisation, group.
    #[arg(long = "entity")]
    entities: Vec<tudashalo_core::register::Entity>,
    /// Developments of these programmes (EFOP, TOP, VEKOP, KOFOP, GINOP, VP, …).
    #[arg(long = "programme")]
    programmes: Vec<String>,
    /// Developments in these statuses: planned, running, closed, sustainability.
    #[arg(long = "status")]
    statuses: Vec<String>,
    /// Developments for these target groups (codes, e.g. roma_pupils).
    #[arg(long = "target-group")]
    target_groups: Vec<String>,
    /// Developments awarded at least this much support, Ft.
    #[arg(long)]
    amount_min: Option<u64>,
    /// Developments awarded at most this much support, Ft.
    #[arg(long)]
    amount_max: Option<u64>,
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
    // An extractor worker (`import::isolate`): no logging, no argument
    // parsing beyond its one JSON argument, nothing else of the node.
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() == Some(std::ffi::OsStr::new(isolate::WORKER_COMMAND)) {
        let job = args
            .next()
            .and_then(|a| a.into_string().ok())
            .unwrap_or_default();
        return isolate::serve_worker(&job);
    }
    let cli = Cli::parse();
    match tudashalo_proto::logging::LogFormat::or_from_env(cli.log_format) {
        Ok(format) => tudashalo_proto::logging::init(format, "info"),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init {
            data,
            name,
            display_name,
        } => cli::folder::init(&data, &name, display_name.as_deref()),
        Command::Import(args) => cli::import::import(args),
        Command::Search(args) => cli::documents::search(args),
        Command::Get {
            data,
            id,
            json,
            original,
        } if original.is_none() && cli::register::is_record(&id) => {
            cli::register::get(&tudashalo_node::Node::open(&data)?, &id, json)
        }
        Command::Get {
            data,
            id,
            json,
            original,
        } => cli::documents::get(&data, &id, json, original.as_deref()),
        Command::Network {
            data,
            query,
            limit,
            json,
        } => cli::register::network(&data, query, limit, json),
        Command::Stats { data, json } => cli::folder::stats(&data, json),
        Command::Reindex { data } => cli::folder::reindex(&data),
        Command::Backup {
            data,
            out,
            force,
            json,
        } => cli::backup::backup(&data, &out, force, json),
        Command::Restore {
            data,
            file,
            check,
            json,
        } => cli::backup::restore(data.as_deref(), &file, check, json),
        Command::Serve(args) => cli::serve::serve(args),
        Command::Aggregate(args) => cli::aggregate::aggregate(args),
        Command::Audit(args) => cli::audit::audit(args),
        Command::Portal(args) => tudashalo_portal::cli::run(args).map(|()| ExitCode::SUCCESS),
    }
}
