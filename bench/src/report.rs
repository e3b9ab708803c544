//! The results of a run: the machine, the settings, every scale's figures,
//! the targets met or missed, as JSON (`bench/results/<date>-<host>.json`)
//! and as a Markdown table (spliced into `BENCHMARKS.md`).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::load::Latency;
use crate::run::{Scale, Throughput};

/// The machine a run ran on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    pub host: String,
    pub nproc: usize,
    pub memory_gib: f64,
    pub cpu_model: String,
    pub kernel: String,
    /// `/proc/loadavg` when the run started: other work on the machine.
    pub load_average_at_start: String,
}

impl Machine {
    pub fn current() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let memory_kib: f64 = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0.0);
        Machine {
            host: read("/proc/sys/kernel/hostname").trim().to_string(),
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: memory_kib / (1024.0 * 1024.0),
            cpu_model: read("/proc/cpuinfo")
                .lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
                .unwrap_or_default(),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            load_average_at_start: read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// Sizes of the release binaries.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Binaries {
    pub node_bytes: u64,
    pub hub_bytes: u64,
    /// After `strip` (the release profile keeps line tables).
    pub node_stripped_bytes: Option<u64>,
    pub hub_stripped_bytes: Option<u64>,
}

impl Binaries {
    pub fn measure(bin_dir: &Path, scratch: &Path) -> Binaries {
        let size = |name: &str| std::fs::metadata(bin_dir.join(name)).map_or(0, |m| m.len());
        let stripped = |name: &str| {
            let out = scratch.join(format!("{name}.stripped"));
            let ok = std::process::Command::new("strip")
                .arg("-o")
                .arg(&out)
                .arg(bin_dir.join(name))
                .status()
                .is_ok_and(|s| s.success());
            let len = ok
                .then(|| std::fs::metadata(&out).map(|m| m.len()).ok())
                .flatten();
            let _ = std::fs::remove_file(&out);
            len
        };
        Binaries {
            node_bytes: size("tudashalo-node"),
            hub_bytes: size("tudashalo-hub"),
            node_stripped_bytes: stripped("tudashalo-node"),
            hub_stripped_bytes: stripped("tudashalo-hub"),
        }
    }
}

/// One target of the issue, evaluated at one scale.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub nodes: usize,
    pub name: String,
    pub wanted: String,
    pub measured: String,
    /// `None` when a figure it needs was not measured.
    pub met: Option<bool>,
    /// Whether the issue sets this target at this scale (N = 33, or 100 for
    /// the hub's memory); at other scales it is for information.
    pub official: bool,
}

/// The whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub date: String,
    pub started_at: String,
    pub machine: Machine,
    pub command: String,
    pub settings: serde_json::Value,
    pub postgres_version: Option<String>,
    pub postgres_missing: Option<String>,
    pub binaries: Binaries,
    pub scales: Vec<Scale>,
    /// Scales that were asked for but failed, with the reason.
    pub failed: Vec<(usize, String)>,
    pub targets: Vec<Target>,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}

/// Every target of the issue at scale `s`.
pub fn targets(s: &Scale) -> Vec<Target> {
    let n = s.nodes;
    let mut out = Vec::new();
    let mut push =
        |name: &str, wanted: &str, measured: String, met: Option<bool>, official: bool| {
            out.push(Target {
                nodes: n,
                name: name.to_string(),
                wanted: wanted.to_string(),
                measured,
                met,
                official,
            });
        };
    let at33 = n == 33;

    let import = s
        .import
        .postgres
        .as_ref()
        .and_then(|pg| ratio(s.import.tudashalo.documents_per_s, pg.documents_per_s));
    push(
        "import documents/s vs PostgreSQL",
        "≥ 5×",
        import.map_or("no PostgreSQL".into(), |r| format!("{r:.2}×")),
        import.map(|r| r >= 5.0),
        at33,
    );

    let pg_broad = s.search.postgres_broad.as_ref().map(|p| &p.latency);
    let hub_broad = &s.search.hub_broad.latency;
    let p50 = pg_broad.and_then(|pg| ratio(hub_broad.p50_ms, pg.p50_ms));
    push(
        "broad queries through the hub: p50 vs PostgreSQL",
        "≤ 1/10 (0.10×)",
        p50.map_or("no PostgreSQL".into(), |r| format!("{r:.3}×")),
        p50.map(|r| r <= 0.1),
        at33,
    );
    let qps = pg_broad.and_then(|pg| ratio(hub_broad.throughput_per_s, pg.throughput_per_s));
    push(
        "broad queries through the hub: throughput vs PostgreSQL",
        "≥ 10×",
        qps.map_or("no PostgreSQL".into(), |r| format!("{r:.2}×")),
        qps.map(|r| r >= 10.0),
        at33,
    );

    let sel = ratio(
        s.search.hub_selective.latency.p50_ms,
        s.search.single_selective.latency.p50_ms,
    );
    let broad = ratio(hub_broad.p50_ms, s.search.single_broad.latency.p50_ms);
    let worst = match (sel, broad) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    push(
        "any query through the hub: p50 vs one node holding all documents",
        "≤ 3×",
        format!(
            "selective {}, broad {}",
            sel.map_or("–".into(), |r| format!("{r:.2}×")),
            broad.map_or("–".into(), |r| format!("{r:.2}×"))
        ),
        worst.map(|r| r <= 3.0),
        at33,
    );

    let agg = s
        .aggregate
        .postgres
        .as_ref()
        .and_then(|pg| ratio(s.aggregate.hub.p50_ms, pg.p50_ms));
    push(
        "aggregate of every indicator by kistérség and year through the hub vs PostgreSQL",
        "≤ 1/2 (0.50×)",
        agg.map_or("no PostgreSQL".into(), |r| format!("{r:.2}×")),
        agg.map(|r| r <= 0.5),
        at33,
    );

    let idle = s.memory.node_idle_max_mb;
    push(
        "node RSS idle (largest node)",
        "≤ 60 MB with 2,000 documents",
        format!("{idle:.1} MB with {} documents", s.docs_per_node),
        (idle > 0.0).then_some(idle <= 60.0),
        at33 && s.docs_per_node >= 2000,
    );
    let hub = s.memory.hub_load_max_mb;
    push(
        "hub RSS while serving (under load)",
        "≤ 150 MB with 100 members",
        format!("{hub:.1} MB with {n} members"),
        (hub > 0.0).then_some(hub <= 150.0),
        n == 100,
    );
    out
}

fn lat(l: &Latency) -> String {
    if l.requests == 0 {
        return "–".into();
    }
    format!(
        "{:.1} / {:.1} / {:.1} ms · {:.1}/s",
        l.p50_ms, l.p95_ms, l.p99_ms, l.throughput_per_s
    )
}

fn thr(t: &Throughput) -> String {
    format!(
        "{:.0} docs/s · {:.2} MiB/s ({:.1} s)",
        t.documents_per_s, t.mib_per_s, t.seconds
    )
}

/// The Markdown section of a run: the machine, a table of figures with a
/// column per scale, and the targets.
pub fn markdown(r: &Report) -> String {
    let mut md = String::new();
    let m = &r.machine;
    let _ = writeln!(md, "### Run of {} on `{}`\n", r.date, m.host);
    let _ = writeln!(
        md,
        "Machine: {} cores ({}), {:.1} GiB memory, Linux {}; load average at start {}. \
         PostgreSQL: {}. Command: `{}`.\n",
        m.nproc,
        m.cpu_model,
        m.memory_gib,
        m.kernel,
        m.load_average_at_start,
        r.postgres_version
            .clone()
            .or_else(|| r
                .postgres_missing
                .as_ref()
                .map(|w| format!("not measured ({w})")))
            .unwrap_or_else(|| "not measured".into()),
        r.command
    );
    let b = &r.binaries;
    let _ = writeln!(
        md,
        "Binaries: `tudashalo-node` {:.1} MB ({} stripped), `tudashalo-hub` {:.1} MB ({} stripped).\n",
        b.node_bytes as f64 / 1e6,
        b.node_stripped_bytes
            .map_or("–".into(), |s| format!("{:.1} MB", s as f64 / 1e6)),
        b.hub_bytes as f64 / 1e6,
        b.hub_stripped_bytes
            .map_or("–".into(), |s| format!("{:.1} MB", s as f64 / 1e6)),
    );
    if r.scales.is_empty() {
        let _ = writeln!(md, "No scale finished.\n");
    } else {
        let mut header = "| |".to_string();
        let mut rule = "|---|".to_string();
        for s in &r.scales {
            let _ = write!(header, " N = {} |", s.nodes);
            rule.push_str("---|");
        }
        let _ = writeln!(md, "{header}\n{rule}");
        let row = |md: &mut String, name: &str, f: &dyn Fn(&Scale) -> String| {
            let mut line = format!("| {name} |");
            for s in &r.scales {
                let _ = write!(line, " {} |", f(s));
            }
            let _ = writeln!(md, "{line}");
        };
        let opt = |p: &Option<crate::load::SearchPhase>| {
            p.as_ref().map_or("–".into(), |p| lat(&p.latency))
        };
        row(
            &mut md,
            "documents (leaving the nodes) · mean words",
            &|s| {
                format!(
                    "{} ({}) · {:.0}",
                    s.documents, s.visible_documents, s.mean_body_words
                )
            },
        );
        row(&mut md, "input files · observations", &|s| {
            format!("{:.0} MiB · {}", s.input_mib, s.observations)
        });
        row(
            &mut md,
            "**import** Tudásháló, every node (summed wall time)",
            &|s| thr(&s.import.tudashalo),
        );
        row(&mut md, "import: one node holding every document", &|s| {
            thr(&s.import.single_node)
        });
        row(
            &mut md,
            "import: PostgreSQL COPY + GIN + observations + ANALYZE",
            &|s| s.import.postgres.as_ref().map_or("–".into(), thr),
        );
        row(&mut md, "import: PostgreSQL COPY / GIN index (s)", &|s| {
            s.import.postgres_detail.as_ref().map_or("–".into(), |d| {
                format!("{:.1} / {:.1}", d.copy_documents_s, d.index_s)
            })
        });
        row(
            &mut md,
            "**selective** search p50 / p95 / p99 · throughput: hub",
            &|s| lat(&s.search.hub_selective.latency),
        );
        row(&mut md, "selective: one node with every document", &|s| {
            lat(&s.search.single_selective.latency)
        });
        row(&mut md, "selective: PostgreSQL", &|s| {
            opt(&s.search.postgres_selective)
        });
        row(&mut md, "selective: mean matches hub / PostgreSQL", &|s| {
            format!(
                "{:.0} / {}",
                s.search.hub_selective.mean_matches,
                s.search
                    .postgres_selective
                    .as_ref()
                    .map_or("–".into(), |p| format!("{:.0}", p.mean_matches))
            )
        });
        row(
            &mut md,
            "**broad** search p50 / p95 / p99 · throughput: hub",
            &|s| lat(&s.search.hub_broad.latency),
        );
        row(&mut md, "broad: one node with every document", &|s| {
            lat(&s.search.single_broad.latency)
        });
        row(&mut md, "broad: PostgreSQL", &|s| {
            opt(&s.search.postgres_broad)
        });
        row(&mut md, "broad: mean matches hub / PostgreSQL", &|s| {
            format!(
                "{:.0} / {}",
                s.search.hub_broad.mean_matches,
                s.search
                    .postgres_broad
                    .as_ref()
                    .map_or("–".into(), |p| format!("{:.0}", p.mean_matches))
            )
        });
        row(
            &mut md,
            "top 10 through the hub = one node's (queries)",
            &|s| {
                format!(
                    "{} of {}",
                    s.search.top10_identical, s.search.top10_compared
                )
            },
        );
        row(
            &mut md,
            "answers missing a member (hub, all phases)",
            &|s| {
                (s.search.hub_selective.partial_answers + s.search.hub_broad.partial_answers)
                    .to_string()
            },
        );
        row(
            &mut md,
            "**aggregate** every indicator × kistérség × year p50 / p95 / p99: hub",
            &|s| {
                format!(
                    "{} ({} cells)",
                    lat(&s.aggregate.hub),
                    s.aggregate.hub_cells
                )
            },
        );
        row(
            &mut md,
            "aggregate: PostgreSQL GROUP BY (weighted means by join)",
            &|s| {
                s.aggregate.postgres.as_ref().map_or("–".into(), |l| {
                    format!("{} ({} cells)", lat(l), s.aggregate.postgres_cells)
                })
            },
        );
        row(&mut md, "aggregate: values equal hub = PostgreSQL", &|s| {
            format!(
                "{} of {}",
                s.aggregate.values_equal, s.aggregate.values_compared
            )
        });
        row(&mut md, "**RSS** node idle: largest / mean (MB)", &|s| {
            format!(
                "{:.1} / {:.1}",
                s.memory.node_idle_max_mb, s.memory.node_idle_mean_mb
            )
        });
        row(&mut md, "RSS node under load: largest / mean (MB)", &|s| {
            format!(
                "{:.1} / {:.1}",
                s.memory.node_load_max_mb, s.memory.node_load_mean_mb
            )
        });
        row(&mut md, "RSS hub idle / under load (MB)", &|s| {
            format!(
                "{:.1} / {:.1}",
                s.memory.hub_idle_mb, s.memory.hub_load_max_mb
            )
        });
        row(
            &mut md,
            "RSS one node with every document idle / under load (MB)",
            &|s| {
                format!(
                    "{:.1} / {:.1}",
                    s.memory.single_idle_mb, s.memory.single_load_max_mb
                )
            },
        );
        md.push('\n');
    }
    for (n, why) in &r.failed {
        let _ = writeln!(md, "N = {n} did not finish: {why}\n");
    }
    if !r.targets.is_empty() {
        let _ = writeln!(
            md,
            "| target | N | wanted | measured | |\n|---|---|---|---|---|"
        );
        for t in &r.targets {
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "not measured",
            };
            let n = if t.official {
                format!("**{}**", t.nodes)
            } else {
                format!("{} (info)", t.nodes)
            };
            let _ = writeln!(
                md,
                "| {} | {n} | {} | {} | {verdict} |",
                t.name, t.wanted, t.measured
            );
        }
        md.push('\n');
    }
    md
}

/// The markers between which `BENCHMARKS.md` holds the latest run.
pub const BEGIN: &str = "<!-- bench:results:begin -->";
pub const END: &str = "<!-- bench:results:end -->";

/// Replaces the text between [`BEGIN`] and [`END`] in `path` with
/// `section` (appending both markers if missing).
pub fn splice(path: &Path, section: &str) -> Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{BEGIN}\n\n{section}{}", &text[..b], &text[e..])
        }
        _ => format!("{text}\n{BEGIN}\n\n{section}{END}\n"),
    };
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))
}
