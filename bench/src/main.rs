//! `tudashalo-bench`: the federation against one PostgreSQL, in one run
//! (`bash bench/run.sh` builds the release binaries and calls this); and
//! `tudashalo-bench soak`: a constant rate through the hub for minutes with
//! a member killed and one stalled on the way. See `BENCHMARKS.md`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::json;
use tudashalo_bench::cluster::Mode;
use tudashalo_bench::load::{Bounds, Extras};
use tudashalo_bench::pg::{self, Postgres};
use tudashalo_bench::report::{self, Binaries, Machine, Report};
use tudashalo_bench::run::{self, Queries, RunConfig};

/// Benchmarks a Tudásháló federation against one centralised PostgreSQL.
#[derive(Debug, Parser)]
#[command(
    name = "tudashalo-bench",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    bench: BenchArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Nodes and a hub as processes under a constant rate of searches and
    /// aggregates for minutes, one member killed and restarted at a third
    /// of the run and another stopped (SIGSTOP) for a while at half; RSS of
    /// every process sampled. Exits 2 if the verdict fails.
    Soak(SoakArgs),
}

/// The soak's settings (defaults: the 33 nodes for 10 minutes).
#[derive(Debug, Args)]
struct SoakArgs {
    #[arg(long, default_value_t = 33)]
    nodes: usize,
    /// Documents per node.
    #[arg(long, default_value_t = 1000)]
    docs: usize,
    #[arg(long, default_value_t = 900)]
    mean_words: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 600)]
    duration: u64,
    /// Requests per second through the hub.
    #[arg(long, default_value_t = 8.0)]
    rate: f64,
    /// Client connections to the hub (requests round-robin over them).
    #[arg(long, default_value_t = 2)]
    connections: usize,
    /// One request in this many is an aggregate; the rest are searches.
    #[arg(long, default_value_t = 5)]
    aggregate_every: usize,
    /// The client's deadline of a request, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    client_deadline_ms: u64,
    /// The hub's deadline and every member's, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    member_deadline_ms: u64,
    /// Seconds the killed member stays dead.
    #[arg(long, default_value_t = 10)]
    dead_for: u64,
    /// Seconds the stalled member stays stopped.
    #[arg(long, default_value_t = 30)]
    stall_for: u64,
    /// Seconds between RSS samples.
    #[arg(long, default_value_t = 5)]
    sample_every: u64,
    /// Seconds of start-up whose RSS is not judged.
    #[arg(long, default_value_t = 60)]
    warm_up: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where tudashalo-node and tudashalo-hub (release) are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Scratch folder (corpus, node folders, logs).
    #[arg(long)]
    work: Option<PathBuf>,
    /// Where the JSON goes (`<date>-<host>-soak.json`, and every RSS
    /// sample in `<date>-<host>-soak.rss.csv`).
    #[arg(long, default_value = "bench/results")]
    results_dir: PathBuf,
}

#[derive(Debug, Args)]
struct BenchArgs {
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
        if let Some(Command::Soak(args)) = cli.command {
            return soak(args).await;
        }
        Ok(match run(cli.bench).await? {
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

fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

/// The first of `<stem>.json`, `<stem>-2.json`, … that does not exist.
fn fresh_json(dir: &std::path::Path, stem: &str) -> PathBuf {
    (1..)
        .map(|n| match n {
            1 => dir.join(format!("{stem}.json")),
            n => dir.join(format!("{stem}-{n}.json")),
        })
        .find(|path| !path.exists())
        .unwrap_or_else(|| dir.join(format!("{stem}.json")))
}

/// Runs the soak, writes its JSON and prints its summary; exit code 2 if
/// the verdict fails.
async fn soak(args: SoakArgs) -> Result<ExitCode> {
    use tudashalo_bench::cluster::Deadlines;
    use tudashalo_bench::soak::{self, SoakConfig};
    let bin_dir = std::fs::canonicalize(&args.bin_dir).with_context(|| {
        format!(
            "{}: build the release binaries first",
            args.bin_dir.display()
        )
    })?;
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("tudashalo-soak"));
    std::fs::create_dir_all(&work)?;
    let config = SoakConfig {
        nodes: args.nodes,
        docs_per_node: args.docs,
        mean_words: args.mean_words,
        seed: args.seed,
        duration: Duration::from_secs(args.duration),
        rate_per_s: args.rate,
        connections: args.connections.max(1),
        aggregate_every: args.aggregate_every.max(1),
        client_deadline: Duration::from_millis(args.client_deadline_ms),
        deadlines: Deadlines {
            hub_ms: args.member_deadline_ms,
            member_ms: Some(args.member_deadline_ms),
        },
        dead_for: Duration::from_secs(args.dead_for),
        stall_for: Duration::from_secs(args.stall_for),
        sample_every: Duration::from_secs(args.sample_every.max(1)),
        warm_up: Duration::from_secs(args.warm_up),
        ..SoakConfig::full(Mode::Processes { bin_dir }, work)
    };
    let date = today();
    let machine = Machine::current();
    say(format!(
        "machine: {} cores, {:.1} GiB, {}; load {}",
        machine.nproc, machine.memory_gib, machine.cpu_model, machine.load_average_at_start
    ));
    let started_at = format!("{date}T{}Z", clock());
    let mut report = soak::run(&config, &say).await?;
    report.date = date.clone();
    report.started_at = started_at;
    report.command = std::env::args().collect::<Vec<_>>().join(" ");
    report.settings = json!({
        "nodes": config.nodes,
        "docs_per_node": config.docs_per_node,
        "mean_words": config.mean_words,
        "seed": config.seed,
        "duration_s": config.duration.as_secs_f64(),
        "rate_per_s": config.rate_per_s,
        "connections": config.connections,
        "aggregate_every": config.aggregate_every,
        "client_deadline_ms": config.client_deadline.as_millis() as u64,
        "hub_deadline_ms": config.deadlines.hub_ms,
        "member_deadline_ms": config.deadlines.member_ms,
        "dead_for_s": config.dead_for.as_secs_f64(),
        "stall_for_s": config.stall_for.as_secs_f64(),
        "sample_every_s": config.sample_every.as_secs_f64(),
        "warm_up_s": config.warm_up.as_secs_f64(),
        "fault_settle_s": config.fault_settle.as_secs_f64(),
        "rss_ratio": config.rss_rule.ratio,
        "rss_slack_mib": config.rss_rule.slack_mib,
    });
    report.machine = Some(machine.clone());
    std::fs::create_dir_all(&args.results_dir)?;
    let path = fresh_json(&args.results_dir, &format!("{date}-{}-soak", machine.host));
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    let csv = path.with_extension("rss.csv");
    std::fs::write(&csv, report.rss_csv())?;
    println!(
        "{}",
        tudashalo_bench::soak_verdict::summary(&config, &report)
    );
    say(format!("results: {} and {}", path.display(), csv.display()));
    Ok(if report.verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Runs every scale; `Ok(false)` when some scale failed.
async fn run(cli: BenchArgs) -> Result<bool> {
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

    let date = today();
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
    let json_path = fresh_json(&cli.results_dir, &stem);
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
