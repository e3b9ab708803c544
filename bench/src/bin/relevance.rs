//! `relevance`: how well the federation ranks the project's judged queries,
//! through a hub of several nodes and from one node holding every
//! document (see [`tudashalo_bench::relevance`] and BENCHMARKS.md).
//!
//! `cargo run --release -p tudashalo-bench --bin relevance -- --nodes 5`
//! prints the per-query table (worst first) and the means; `--json` prints
//! the report as JSON on stdout instead. Progress goes to stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use tudashalo_bench::relevance;
use tudashalo_demo::generate::Spec;

/// Recall@10, MRR@10 and nDCG@10 of the judged queries, through a hub and
/// from one node.
#[derive(Debug, Parser)]
#[command(name = "relevance", version, about)]
struct Cli {
    /// Kistérség nodes behind the hub (the judged documents are written
    /// for three: with fewer, they share nodes).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=64))]
    nodes: u16,
    /// Ordinary generated documents per node, around the judged ones.
    #[arg(long, default_value_t = 1000)]
    docs: usize,
    /// Mean words of an ordinary document's body.
    #[arg(long, default_value_t = 300)]
    mean_words: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Scratch folder (corpora, node folders), emptied before and removed
    /// after the run.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Print the report as JSON (stable; see BENCHMARKS.md).
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tudashalo_bench::block_on_main(run(cli))
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let spec = Spec {
        nodes: usize::from(cli.nodes),
        seed: cli.seed,
        docs_per_node: cli.docs,
        mean_words: cli.mean_words,
        ..Spec::default()
    };
    let work = cli.work.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tudashalo-relevance-{}", std::process::id()))
    });
    let report = relevance::run(&spec, &work, &|line| eprintln!("{line}")).await?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let command = format!(
            "cargo run --release -p tudashalo-bench --bin relevance -- --nodes {} --docs {} \
             --mean-words {} --seed {}",
            cli.nodes, cli.docs, cli.mean_words, cli.seed
        );
        print!("{}", report.text(&command));
    }
    Ok(ExitCode::SUCCESS)
}
