//! `tudashalo-bench`: the federation against one PostgreSQL, in one run.
//! `bash bench/run.sh` builds the release binaries and calls this; see
//! `BENCHMARKS.md`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;
use tudashalo_bench::cluster::Mode;
use tudashalo_bench::load::{Bounds, Extras};
use tudashalo_bench::pg::{self, Postgres};
use tudashalo_bench::report::{self, Binaries, Machine, Report};
use tudashalo_bench::run::{self, Queries, RunConfig};

/// Benchmarks a Tudásháló federation against one centralised PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "tudashalo-bench", version, about)]
struct Cli {
    /// Numbers of nodes, one scale each (default 5,33,100; --quick: 5).
    #[arg(long, value_delimiter = ',')]
    nodes: Option<Vec<usize>>,
    /// Documents per node (default 2000; --quick: 200).
    #[arg(long)]
    docs: Option<usize>,
    /// Mean words of a document body.
    #[arg(long, default_value_t = 900)]
    mean_words: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A short run: fewer nodes, documents and requests.
    #[arg(long)]
    quick: bool,
    /// Where tudashalo-node and tudashalo-hub (release) are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Scratch folder (corpora, node folders); emptied per scale.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Where the JSON results go.
    #[arg(long, default_value = "bench/results")]
    results_dir: PathBuf,
    /// A Markdown file whose results section is replaced with this run's.
    #[arg(long)]
    benchmarks_md: Option<PathBuf>,
    /// Appended to the results file name (`<date>-<host><label>.json`).
    #[arg(long, default_value = "")]
    label: String,
    /// Do not measure PostgreSQL.
    #[arg(long)]
    no_postgres: bool,
    /// Concurrent search clients.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// Passes over each query set per client (default 10; --quick: 2).
    #[arg(long)]
    rounds: Option<usize>,
    /// No new request of a phase starts after this many seconds
    /// (default 60; --quick: 10).
    #[arg(long)]
    phase_seconds: Option<u64>,
    /// Timed aggregate runs (default 20; --quick: 3).
    #[arg(long)]
    aggregate_runs: Option<usize>,
    /// Searches without snippets (to measure what they cost; not the
    /// benchmark's figures).
    #[arg(long)]
    no_snippets: bool,
    /// Searches without facets (likewise).
    #[arg(long)]
    no_facets: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tudashalo_bench::block_on_main(async move {
        Ok(match run(cli).await? {
            true => ExitCode::SUCCESS,
            // Some scale failed (and said why).
            false => ExitCode::from(2),
        })
    })
}

fn say(line: String) {
    eprintln!("[{}] {line}", clock());
}

fn clock() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second())
}

/// Runs every scale; `Ok(false)` when some scale failed.
async fn run(cli: Cli) -> Result<bool> {
    let quick = cli.quick;
    let scales = cli
        .nodes
        .clone()
        .unwrap_or_else(|| if quick { vec![5] } else { vec![5, 33, 100] });
    let docs = cli.docs.unwrap_or(if quick { 200 } else { 2000 });
    let work = cli
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("tudashalo-bench"));
    std::fs::create_dir_all(&work)?;
    let bin_dir = std::fs::canonicalize(&cli.bin_dir).with_context(|| {
        format!(
            "{}: build the release binaries first",
            cli.bin_dir.display()
        )
    })?;
    let config = RunConfig {
        mode: Mode::Processes {
            bin_dir: bin_dir.clone(),
        },
        scales: scales.clone(),
        docs_per_node: docs,
        mean_words: cli.mean_words,
        seed: cli.seed,
        work: work.clone(),
        clients: cli.clients.max(1),
        bounds: Bounds {
            rounds: cli.rounds.unwrap_or(if quick { 2 } else { 10 }),
            max_time: Duration::from_secs(cli.phase_seconds.unwrap_or(if quick { 10 } else { 60 })),
        },
        aggregate_runs: cli.aggregate_runs.unwrap_or(if quick { 3 } else { 20 }),
        settle: Duration::from_secs(3),
        queries: Queries::default(),
        extras: Extras {
            snippets: !cli.no_snippets,
            facets: !cli.no_facets,
        },
    };

    let now = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let machine = Machine::current();
    let mut report = Report {
        date: date.clone(),
        started_at: format!("{date}T{}Z", clock()),
        machine: machine.clone(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        settings: json!({
            "nodes": scales,
            "docs_per_node": docs,
            "mean_words": cli.mean_words,
            "seed": cli.seed,
            "clients": config.clients,
            "rounds": config.bounds.rounds,
            "phase_seconds": config.bounds.max_time.as_secs(),
            "aggregate_runs": config.aggregate_runs,
            "selective_queries": config.queries.selective,
            "broad_queries": config.queries.broad,
            "hub_deadline_ms": tudashalo_bench::cluster::HUB_DEADLINE_MS,
            "postgres_settings": pg::SETTINGS.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "quick": quick,
            "snippets": !cli.no_snippets,
            "facets": !cli.no_facets,
        }),
        binaries: Binaries::measure(&bin_dir, &work),
        ..Report::default()
    };
    std::fs::create_dir_all(&cli.results_dir)?;
    let suffix = if quick { "-quick" } else { "" };
    // A second run on the same day keeps the first one's results.
    let stem = format!("{date}-{}{suffix}{}", machine.host, cli.label);
    let json_path = (1..)
        .map(|n| match n {
            1 => cli.results_dir.join(format!("{stem}.json")),
            n => cli.results_dir.join(format!("{stem}-{n}.json")),
        })
        .find(|path| !path.exists())
        .unwrap_or_else(|| cli.results_dir.join(format!("{stem}.json")));
    say(format!(
        "machine: {} cores, {:.1} GiB, {}; load {}",
        machine.nproc, machine.memory_gib, machine.cpu_model, machine.load_average_at_start
    ));

    // PostgreSQL, once for the whole run, in a private temporary folder.
    let mut postgres: Option<Postgres> = None;
    let mut pg_parent: Option<PathBuf> = None;
    if cli.no_postgres {
        report.postgres_missing = Some("--no-postgres".into());
    } else {
        match pg::find_bin() {
            None => {
                let why = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl)";
                say(format!("{why}: measuring Tudásháló only"));
                report.postgres_missing = Some(why.into());
            }
            Some(bin) => {
                let parent =
                    std::env::temp_dir().join(format!("tudashalo-bench-pg-{}", std::process::id()));
                std::fs::create_dir_all(&parent)?;
                pg_parent = Some(parent.clone());
                match Postgres::start(&bin, &parent).await {
                    Ok(pg) => {
                        say(format!("PostgreSQL {} in {}", pg.version, parent.display()));
                        report.postgres_version = Some(pg.version.clone());
                        postgres = Some(pg);
                    }
                    Err(e) => {
                        let why = format!("PostgreSQL could not be started: {e:#}");
                        say(format!("{why}: measuring Tudásháló only"));
                        report.postgres_missing = Some(why);
                    }
                }
            }
        }
    }

    let mut all_ok = true;
    for &n in &scales {
        match run::scale(
            &config,
            n,
            postgres.as_ref(),
            report.postgres_missing.as_deref(),
            &say,
        )
        .await
        {
            Ok(scale) => {
                report.targets.extend(report::targets(&scale));
                report.scales.push(scale);
            }
            Err(e) => {
                say(format!("N={n} failed: {e:#}"));
                report.failed.push((n, format!("{e:#}")));
                all_ok = false;
            }
        }
        // After every scale, so that a later failure keeps what was measured.
        std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)?;
    }
    if let Some(pg) = postgres
        && let Err(e) = pg.stop().await
    {
        say(format!("stopping PostgreSQL: {e:#}"));
    }
    if let Some(parent) = &pg_parent {
        let _ = std::fs::remove_dir_all(parent);
    }
    let md = report::markdown(&report);
    println!("{md}");
    say(format!("results: {}", json_path.display()));
    if let Some(path) = &cli.benchmarks_md {
        report::splice(path, &md)?;
        say(format!("updated {}", path.display()));
    }
    Ok(all_ok)
}
