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

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde_json::json;
use tudashalo_proto::pb::{self, MemberState};

use crate::client::state_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
    #[value(name = "sdmx-csv")]
    SdmxCsv,
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

/// The SDMX dataflow the SDMX-CSV output declares.
pub const SDMX_DATAFLOW: &str = "TUDASHALO:DF_INDICATORS(1.0)";

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
    let sink: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut writer = Writer::new(args.format, &by, sink)?;
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

/// Writes cells in one of the formats, row by row.
struct Writer {
    format: Format,
    keys: Vec<String>,
    csv: Option<csv::Writer<Box<dyn Write>>>,
    json: Option<Box<dyn Write>>,
    first: bool,
}

impl Writer {
    fn new(format: Format, by: &[String], sink: Box<dyn Write>) -> Result<Writer> {
        let keys: Vec<String> = by.iter().map(|k| k.trim().to_string()).collect();
        for key in &keys {
            if !["settlement", "kisterseg", "region", "period"].contains(&key.as_str()) {
                bail!("--by: unknown key {key:?} (expected settlement, kisterseg, region, period)");
            }
        }
        let mut w = Writer {
            format,
            keys,
            csv: None,
            json: None,
            first: true,
        };
        match format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(sink);
                let mut header: Vec<&str> = w.keys.iter().map(String::as_str).collect();
                header.extend([
                    "indicator",
                    "value",
                    "unit",
                    "n",
                    "status",
                    "incomplete",
                    "flags",
                ]);
                csv.write_record(&header)?;
                w.csv = Some(csv);
            }
            Format::SdmxCsv => {
                let mut csv = csv::Writer::from_writer(sink);
                let mut header = vec![
                    "STRUCTURE".to_string(),
                    "STRUCTURE_ID".into(),
                    "ACTION".into(),
                    "INDICATOR".into(),
                ];
                header.extend(w.keys.iter().map(|k| sdmx_dimension(k).to_string()));
                header.extend([
                    "OBS_VALUE".to_string(),
                    "UNIT_MEASURE".into(),
                    "CONF_STATUS".into(),
                ]);
                csv.write_record(&header)?;
                w.csv = Some(csv);
            }
            Format::Json => {
                let mut sink = sink;
                write!(sink, "{{\"cells\":[")?;
                w.json = Some(sink);
            }
        }
        Ok(w)
    }

    fn key_value<'a>(&self, cell: &'a pb::Cell, key: &str) -> &'a str {
        match key {
            "settlement" => &cell.settlement,
            "kisterseg" => &cell.kisterseg,
            "region" => &cell.region,
            _ => &cell.period,
        }
    }

    fn cell(&mut self, cell: &pb::Cell) -> Result<()> {
        let value = cell.value.map(format_value).unwrap_or_default();
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|k| self.key_value(cell, k).to_string())
            .collect();
        match self.format {
            Format::Csv => {
                let mut row = keys;
                row.extend([
                    cell.indicator.clone(),
                    value,
                    cell.unit.clone(),
                    cell.n.to_string(),
                    cell.status.clone(),
                    cell.incomplete.to_string(),
                    cell.flags.join(" "),
                ]);
                if let Some(csv) = &mut self.csv {
                    csv.write_record(&row)?;
                }
            }
            Format::SdmxCsv => {
                let mut row = vec![
                    "dataflow".to_string(),
                    SDMX_DATAFLOW.to_string(),
                    "I".into(),
                    cell.indicator.clone(),
                ];
                row.extend(keys);
                row.extend([value, cell.unit.clone(), cell.status.clone()]);
                if let Some(csv) = &mut self.csv {
                    csv.write_record(&row)?;
                }
            }
            Format::Json => {
                let mut object = serde_json::Map::new();
                for (k, v) in self.keys.iter().zip(keys) {
                    object.insert(k.clone(), json!(v));
                }
                object.insert("indicator".into(), json!(cell.indicator));
                object.insert("value".into(), json!(cell.value));
                object.insert("unit".into(), json!(cell.unit));
                object.insert("n".into(), json!(cell.n));
                object.insert("status".into(), json!(cell.status));
                object.insert("incomplete".into(), json!(cell.incomplete));
                object.insert("flags".into(), json!(cell.flags));
                object.insert("contributors".into(), json!(cell.contributors));
                object.insert("missing".into(), json!(cell.missing));
                if let Some(sink) = &mut self.json {
                    if !self.first {
                        write!(sink, ",")?;
                    }
                    write!(sink, "\n{}", serde_json::Value::Object(object))?;
                }
            }
        }
        self.first = false;
        Ok(())
    }

    fn finish(mut self, members: &[pb::MemberStatus]) -> Result<()> {
        if let Some(mut csv) = self.csv.take() {
            csv.flush()?;
        }
        if let Some(mut sink) = self.json.take() {
            let members: Vec<serde_json::Value> = members
                .iter()
                .map(|m| {
                    json!({"member": m.member, "state": state_name(m.state), "latency_ms": m.latency_ms, "message": m.message})
                })
                .collect();
            write!(
                sink,
                "\n],\"members\":{}}}\n",
                serde_json::Value::Array(members)
            )?;
            sink.flush()?;
        }
        Ok(())
    }
}

fn sdmx_dimension(key: &str) -> &'static str {
    match key {
        "settlement" => "SETTLEMENT",
        "kisterseg" => "KISTERSEG",
        "region" => "REGION",
        _ => "TIME_PERIOD",
    }
}

/// Values as plain decimals with a dot, without float noise from sums.
pub fn format_value(v: f64) -> String {
    let rounded = (v * 1e6).round() / 1e6;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}
