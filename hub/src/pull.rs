//! `tudashalo-hub pull`: the national statistician's export of aggregated
//! indicators, streamed from a hub (or a node) to CSV, JSON or SDMX-CSV.
//!
//! Rows are written as chunks arrive, so a pull of any size needs memory for
//! one chunk only. Confidential cells are written with an empty value and
//! their status; incomplete cells are marked, never left to look whole.
//! Member statuses go to stderr (and into the JSON document).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::{Args, ValueEnum};
use tudashalo_core::export::{CellWriter, ExportError, ExportFormat, state_name};
use tudashalo_proto::pb::{self, MemberState};

/// `--format`: the command line's names for core's export formats (core
/// knows nothing of clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
    #[value(name = "sdmx-csv")]
    SdmxCsv,
}

impl From<Format> for ExportFormat {
    fn from(format: Format) -> ExportFormat {
        match format {
            Format::Csv => ExportFormat::Csv,
            Format::Json => ExportFormat::Json,
            Format::SdmxCsv => ExportFormat::SdmxCsv,
        }
    }
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The hub's (or a node's) URL, e.g. https://127.0.0.1:7700.
    #[arg(long)]
    pub hub: String,
    #[arg(long)]
    pub cert: PathBuf,
    #[arg(long)]
    pub key: PathBuf,
    #[arg(long)]
    pub ca: PathBuf,
    /// How the hub's certificate is checked (`--expect`, `--crl`).
    #[command(flatten)]
    pub server: crate::client::ServerCheck,
    /// Indicator codes, comma-separated.
    #[arg(long = "indicator", required = true, value_delimiter = ',')]
    pub indicators: Vec<String>,
    /// Group by: settlement, kisterseg, region, period (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "kisterseg,period")]
    pub by: Vec<String>,
    /// First year (inclusive).
    #[arg(long)]
    pub from: Option<i32>,
    /// Last year (inclusive).
    #[arg(long)]
    pub to: Option<i32>,
    /// Only these settlements.
    #[arg(long = "settlement")]
    pub settlements: Vec<String>,
    /// Only these members (paths).
    #[arg(long = "member")]
    pub members: Vec<String>,
    /// Add total cells over the finest geographic key.
    #[arg(long)]
    pub totals: bool,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The request's deadline; the hub's default when not given.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
}

// The writer lives in core, shared with the portal's downloads; these stay
// reachable here for callers of the hub's library.
pub use tudashalo_core::export::{SDMX_DATAFLOW, format_value};

/// A summary of what a pull wrote.
#[derive(Debug, Default)]
pub struct PullSummary {
    pub cells: u64,
    pub confidential: u64,
    pub incomplete: u64,
    pub members: Vec<pb::MemberStatus>,
}

pub async fn run(args: PullArgs) -> Result<PullSummary> {
    let mut client = args
        .server
        .connect(&args.hub, &args.cert, &args.key, &args.ca)
        .await?;
    // Published aggregates are always per period (a sum over a range of
    // periods could be differenced), so the period is always a column.
    let mut by = args.by.clone();
    if !by.iter().any(|k| k.trim().eq_ignore_ascii_case("period")) {
        by.push("period".into());
    }
    let mut request = tonic::Request::new(pb::AggregateRequest {
        indicators: args.indicators.clone(),
        group_by: by.clone(),
        period_from: args.from.map(|y| y.to_string()).unwrap_or_default(),
        period_to: args.to.map(|y| y.to_string()).unwrap_or_default(),
        settlements: args.settlements.clone(),
        totals: args.totals,
        members: args.members.clone(),
        partials: false,
    });
    if let Some(ms) = args.timeout_ms {
        request.set_timeout(Duration::from_millis(ms));
    }
    let mut stream = client
        .aggregate(request)
        .await
        .with_context(|| format!("aggregate at {}", args.hub))?
        .into_inner();
    // `Stdout`, not its lock: the writer's sink must be `Send`, and the
    // buffer takes the lock once per flush anyway.
    let sink: Box<dyn Write + Send> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut writer = CellWriter::new(args.format.into(), &by, sink).map_err(|e| match e {
        // The flag the key came from, as before the writer moved to core.
        ExportError::UnknownKey(_) => anyhow!("--by: {e}"),
        e => anyhow!(e),
    })?;
    let mut summary = PullSummary::default();
    while let Some(chunk) = stream
        .message()
        .await
        .with_context(|| format!("aggregate at {}", args.hub))?
    {
        for cell in &chunk.cells {
            summary.cells += 1;
            summary.confidential += u64::from(cell.status != "F");
            summary.incomplete += u64::from(cell.incomplete);
            writer.cell(cell)?;
        }
        summary.members.extend(chunk.members);
    }
    writer.finish(&summary.members)?;
    report(&summary);
    Ok(summary)
}

/// Member statuses and a one-line summary, on stderr.
fn report(summary: &PullSummary) {
    let mut err = std::io::stderr().lock();
    for m in &summary.members {
        let message = if m.message.is_empty() {
            String::new()
        } else {
            format!("  {}", m.message)
        };
        let _ = writeln!(
            err,
            "member {:<28} {:<12} {:>6} ms{message}",
            m.member,
            state_name(m.state),
            m.latency_ms
        );
    }
    let _ = writeln!(
        err,
        "{} cells, {} confidential (no value), {} incomplete",
        summary.cells, summary.confidential, summary.incomplete
    );
    if summary
        .members
        .iter()
        .any(|m| m.state != MemberState::Ok as i32)
    {
        let _ = writeln!(
            err,
            "partial answer: cells that lack a member's contribution are marked incomplete"
        );
    }
}
