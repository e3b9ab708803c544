//! The results of a run: the machine, the settings, every scale's figures,
//! the targets met or missed, as JSON (`bench/results/<date>-<host>.json`)
//! and as a Markdown table (spliced into `BENCHMARKS.md`).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::footprint::Footprint;
use crate::load::{Latency, SearchPhase};
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
    /// The issue that set the target, if a later one than the first
    /// targets (18: the federated-query and disk targets).
    pub issue: Option<u32>,
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

/// A ratio as `1.23×` (`what` when it could not be computed).
fn times(r: Option<f64>, digits: usize, what: &str) -> String {
    r.map_or(what.into(), |r| format!("{r:.digits$}×"))
}

/// Every target at scale `s`: the first issue's (import, broad queries
/// against PostgreSQL, aggregate, memory) and #18's, which replace its
/// "any query ≤ 3× the one node" and "broad throughput ≥ 10×".
pub fn targets(s: &Scale) -> Vec<Target> {
    let n = s.nodes;
    let mut out = Vec::new();
    let at33 = n == 33;
    // (issue, whether it sets the target at this scale)
    let mut push = |name: &str, wanted: &str, measured: String, met, (issue, official)| {
        out.push(Target {
            nodes: n,
            name: name.to_string(),
            wanted: wanted.to_string(),
            measured,
            met,
            official,
            issue,
        });
    };
    const NO_PG: &str = "no PostgreSQL";

    let import = s
        .import
        .postgres
        .as_ref()
        .and_then(|pg| ratio(s.import.tudashalo.documents_per_s, pg.documents_per_s));
    push(
        "import documents/s vs PostgreSQL",
        "≥ 5×",
        times(import, 2, NO_PG),
        import.map(|r| r >= 5.0),
        (None, at33),
    );

    let hub_sel = &s.search.hub_selective.latency;
    let pg_sel = s.search.postgres_selective.as_ref().map(|p| &p.latency);
    let qps = pg_sel.and_then(|pg| ratio(hub_sel.throughput_per_s, pg.throughput_per_s));
    push(
        "selective queries through the hub: throughput vs PostgreSQL",
        "≥ 1×",
        times(qps, 2, NO_PG),
        qps.map(|r| r >= 1.0),
        (Some(18), at33),
    );
    let sel = ratio(hub_sel.p50_ms, s.search.single_selective.latency.p50_ms);
    push(
        "selective queries through the hub: p50 vs one node holding all documents",
        "≤ 3×",
        times(sel, 2, "–"),
        sel.map(|r| r <= 3.0),
        (Some(18), at33),
    );
    let cpu = s
        .search
        .hub_selective
        .cpu
        .as_ref()
        .filter(|c| c.queries > 0);
    push(
        "selective queries through the hub: CPU per query per member (hub + every node)",
        "≤ 0.2 ms",
        cpu.map_or("not measured (in-process)".into(), |c| {
            let single = s.search.single_selective.cpu.as_ref();
            format!(
                "{:.3} ms ({:.2} ms per query; one node: {})",
                c.ms_per_query_per_member,
                c.ms_per_query,
                single.map_or("–".into(), |c| format!("{:.2} ms", c.ms_per_query))
            )
        }),
        cpu.map(|c| c.ms_per_query_per_member <= 0.2),
        (Some(18), at33),
    );

    let pg_broad = s.search.postgres_broad.as_ref().map(|p| &p.latency);
    let hub_broad = &s.search.hub_broad.latency;
    let p50 = pg_broad.and_then(|pg| ratio(hub_broad.p50_ms, pg.p50_ms));
    push(
        "broad queries through the hub: p50 vs PostgreSQL",
        "≤ 1/10 (0.10×)",
        times(p50, 3, NO_PG),
        p50.map(|r| r <= 0.1),
        (None, at33),
    );
    let broad = ratio(hub_broad.p50_ms, s.search.single_broad.latency.p50_ms);
    push(
        "broad queries through the hub: p50 vs one node holding all documents",
        "≤ 1.5×",
        times(broad, 2, "–"),
        broad.map(|r| r <= 1.5),
        (Some(18), at33),
    );
    let qps = pg_broad.and_then(|pg| ratio(hub_broad.throughput_per_s, pg.throughput_per_s));
    push(
        "broad queries through the hub: throughput vs PostgreSQL",
        "≥ 5×",
        times(qps, 2, NO_PG),
        qps.map(|r| r >= 5.0),
        (Some(18), at33),
    );

    let d = &s.disk;
    let imported = d.after_import.nodes > 0;
    push(
        "a node's disk footprint after import vs its input (largest ratio)",
        "≤ 1.5×",
        format!(
            "{} at {} (all nodes {}, apparent {})",
            times(Some(d.after_import.largest_ratio_allocated), 2, "–"),
            d.after_import.largest_ratio_node,
            times(Some(d.after_import.ratio_allocated), 2, "–"),
            times(Some(d.after_import.ratio_apparent), 2, "–"),
        ),
        imported.then_some(d.after_import.largest_ratio_allocated <= 1.5),
        (Some(18), at33),
    );
    let (before, after) = (
        d.after_import.total.allocated_bytes,
        d.after_reimport.total.allocated_bytes,
    );
    push(
        "disk footprint after importing the same files again vs after import (every node)",
        "≤ 1× (no worse)",
        format!(
            "{} ({:.1} → {:.1} MiB; largest {} the input)",
            times(ratio(after as f64, before as f64), 3, "–"),
            before as f64 / MIB,
            after as f64 / MIB,
            times(Some(d.after_reimport.largest_ratio_allocated), 2, "–"),
        ),
        (imported && d.after_reimport.nodes > 0).then_some(after <= before),
        (Some(18), at33),
    );

    let agg = s
        .aggregate
        .postgres
        .as_ref()
        .and_then(|pg| ratio(s.aggregate.hub.p50_ms, pg.p50_ms));
    push(
        "aggregate of every indicator by kistérség and year through the hub vs PostgreSQL",
        "≤ 1/2 (0.50×)",
        times(agg, 2, NO_PG),
        agg.map(|r| r <= 0.5),
        (None, at33),
    );

    let idle = s.memory.node_idle_max_mb;
    push(
        "node RSS idle (largest node)",
        "≤ 60 MB with 2,000 documents",
        format!("{idle:.1} MB with {} documents", s.docs_per_node),
        (idle > 0.0).then_some(idle <= 60.0),
        (None, at33 && s.docs_per_node >= 2000),
    );
    let hub = s.memory.hub_load_max_mb;
    push(
        "hub RSS while serving (under load)",
        "≤ 150 MB with 100 members",
        format!("{hub:.1} MB with {n} members"),
        (hub > 0.0).then_some(hub <= 150.0),
        (None, n == 100),
    );
    out
}

const MIB: f64 = 1024.0 * 1024.0;

fn lat(l: &Latency) -> String {
    if l.requests == 0 {
        return "–".into();
    }
    format!(
        "{:.1} / {:.1} / {:.1} ms · {:.1}/s",
        l.p50_ms, l.p95_ms, l.p99_ms, l.throughput_per_s
    )
}

/// `total (per member) / one node / PostgreSQL`, CPU ms per query.
fn cpu_row(hub: &SearchPhase, single: &SearchPhase, pg: &Option<SearchPhase>) -> String {
    let ms = |p: Option<&SearchPhase>| {
        p.and_then(|p| p.cpu.as_ref())
            .map_or("–".into(), |c| format!("{:.2}", c.ms_per_query))
    };
    let per_member = hub.cpu.as_ref().map_or("–".into(), |c| {
        format!("{:.3}", c.ms_per_query_per_member)
    });
    format!(
        "{} ({per_member}) / {} / {}",
        ms(Some(hub)),
        ms(Some(single)),
        ms(pg.as_ref())
    )
}

/// `… MiB (… MiB) · …× · largest …× (node)`.
fn disk(f: &Footprint) -> String {
    if f.nodes == 0 {
        return "–".into();
    }
    format!(
        "{:.0} MiB ({:.0} MiB) · {:.2}× · {:.2}× ({})",
        f.total.allocated_bytes as f64 / MIB,
        f.total.apparent_bytes as f64 / MIB,
        f.ratio_allocated,
        f.largest_ratio_allocated,
        f.largest_ratio_node
    )
}

/// Allocated MiB of the store, the index and the rest.
fn parts(f: &Footprint) -> String {
    let mib = |u: &crate::footprint::Usage| u.allocated_bytes as f64 / MIB;
    format!(
        "{:.0} / {:.0} / {:.0}",
        mib(&f.store),
        mib(&f.index),
        mib(&f.rest)
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
            "**disk** every node after import: allocated (apparent) · × input · largest node",
            &|s| disk(&s.disk.after_import),
        );
        row(
            &mut md,
            "disk after import: store / index / rest (MiB)",
            &|s| parts(&s.disk.after_import),
        );
        row(
            &mut md,
            "disk after importing the same files again · largest node",
            &|s| disk(&s.disk.after_reimport),
        );
        row(
            &mut md,
            "disk after re-import: store / index / rest (MiB) · re-import time",
            &|s| {
                format!(
                    "{} · {:.1} s ({} updated, {} unchanged)",
                    parts(&s.disk.after_reimport),
                    s.disk.reimport.seconds,
                    s.disk.reimport_updated,
                    s.disk.reimport_unchanged
                )
            },
        );
        row(
            &mut md,
            "disk: one node with every document (its documents files)",
            &|s| disk(&s.disk.single_after_import),
        );
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
            "**CPU** per selective query: hub + nodes (per member) / one node / PostgreSQL (ms)",
            &|s| {
                let x = &s.search;
                cpu_row(&x.hub_selective, &x.single_selective, &x.postgres_selective)
            },
        );
        row(
            &mut md,
            "CPU per broad query: hub + nodes (per member) / one node / PostgreSQL (ms)",
            &|s| {
                let x = &s.search;
                cpu_row(&x.hub_broad, &x.single_broad, &x.postgres_broad)
            },
        );
        row(
            &mut md,
            "CPU per query through the hub: hub / nodes (ms), selective · broad",
            &|s| {
                let split = |p: &SearchPhase| {
                    p.cpu.as_ref().map_or("–".into(), |c| {
                        let by = |k: &str| c.ms_per_query_by.get(k).copied().unwrap_or(0.0);
                        format!("{:.2} / {:.2}", by("hub"), by("nodes"))
                    })
                };
                format!(
                    "{} · {}",
                    split(&s.search.hub_selective),
                    split(&s.search.hub_broad)
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
            "| target | N | wanted | measured | | issue |\n|---|---|---|---|---|---|"
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
            let issue = t.issue.map_or(String::new(), |i| format!("#{i}"));
            let _ = writeln!(
                md,
                "| {} | {n} | {} | {} | {verdict} | {issue} |",
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::cpu::CpuUse;
    use crate::footprint::Usage;

    fn phase(p50_ms: f64, throughput_per_s: f64) -> SearchPhase {
        SearchPhase {
            latency: Latency {
                requests: 100,
                p50_ms,
                throughput_per_s,
                ..Latency::default()
            },
            ..SearchPhase::default()
        }
    }

    fn footprint(allocated_bytes: u64, largest: f64) -> Footprint {
        Footprint {
            nodes: 33,
            input_bytes: 1_000,
            total: Usage {
                allocated_bytes,
                ..Usage::default()
            },
            largest_ratio_node: "a".into(),
            largest_ratio_allocated: largest,
            ..Footprint::default()
        }
    }

    fn verdict<'a>(targets: &'a [Target], starts: &str) -> &'a Target {
        targets.iter().find(|t| t.name.starts_with(starts)).unwrap()
    }

    #[test]
    fn the_targets_of_18_are_judged() {
        let mut s = Scale {
            nodes: 33,
            docs_per_node: 2000,
            ..Scale::default()
        };
        s.search.hub_selective = phase(9.0, 100.0);
        s.search.hub_selective.cpu = Some(CpuUse {
            queries: 100,
            members: 33,
            ms_per_query: 6.6,
            ms_per_query_per_member: 0.2,
            ..CpuUse::default()
        });
        s.search.single_selective = phase(3.0, 500.0);
        s.search.postgres_selective = Some(phase(0.5, 101.0));
        s.search.hub_broad = phase(16.0, 50.0);
        s.search.single_broad = phase(10.0, 100.0);
        s.search.postgres_broad = Some(phase(200.0, 10.0));
        s.disk.after_import = footprint(1_400, 1.5);
        s.disk.after_reimport = footprint(1_401, 1.5);
        let t = targets(&s);
        let selective = "selective queries through the hub: ";
        let broad = "broad queries through the hub: ";
        assert_eq!(
            verdict(&t, &format!("{selective}throughput")).met,
            Some(false)
        );
        assert_eq!(verdict(&t, &format!("{selective}p50")).met, Some(true));
        let cpu = verdict(&t, &format!("{selective}CPU"));
        assert_eq!(cpu.met, Some(true));
        assert_eq!(cpu.issue, Some(18));
        assert!(cpu.official);
        assert_eq!(verdict(&t, &format!("{broad}p50 vs one")).met, Some(false));
        assert_eq!(verdict(&t, &format!("{broad}throughput")).met, Some(true));
        assert_eq!(verdict(&t, "a node's disk").met, Some(true));
        // One byte more after the same import again: missed.
        assert_eq!(verdict(&t, "disk footprint after").met, Some(false));
        // The first issue's "any query ≤ 3×" is replaced by the two above.
        assert!(!t.iter().any(|t| t.name.starts_with("any query")));

        // Not measured: said, not judged.
        let t = targets(&Scale::default());
        assert_eq!(verdict(&t, &format!("{selective}CPU")).met, None);
        assert_eq!(verdict(&t, "a node's disk").met, None);
        assert_eq!(verdict(&t, &format!("{selective}throughput")).met, None);
        assert!(t.iter().all(|t| !t.official));
    }
}
