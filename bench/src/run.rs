//! One benchmark scale from start to finish: generate, import, serve,
//! measure the federation and the one node holding everything, stop them,
//! then load and measure PostgreSQL with the same data.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use tudashalo_demo::generate::Spec;

use crate::cluster::{self, Mode, Pki, SINGLE_NAME, Server};
use crate::corpus::{self, BROAD_QUERIES, Corpus, SELECTIVE_QUERIES};
use crate::cpu::Meter;
use crate::footprint::{Disk, Footprint};
use crate::load::{self, Answer, Bounds, Extras, Latency, RssSampler, SearchPhase};
use crate::pg::{self, Postgres};

/// What a whole run measures.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub mode: Mode,
    /// The numbers of nodes, one scale each.
    pub scales: Vec<usize>,
    pub docs_per_node: usize,
    pub mean_words: usize,
    pub seed: u64,
    /// Scratch space: corpora, node folders, the PostgreSQL cluster.
    pub work: PathBuf,
    /// Concurrent search clients.
    pub clients: usize,
    pub bounds: Bounds,
    /// Timed aggregate runs (after one warm-up).
    pub aggregate_runs: usize,
    /// Pause before idle memory is read, so that start-up settles.
    pub settle: Duration,
    pub queries: Queries,
    /// Snippets and facets in every search (both by default; switched off
    /// only to measure what they cost).
    pub extras: Extras,
}

/// The query sets.
#[derive(Debug, Clone)]
pub struct Queries {
    pub selective: Vec<String>,
    pub broad: Vec<String>,
}

impl Default for Queries {
    fn default() -> Self {
        Queries {
            selective: SELECTIVE_QUERIES.iter().map(|q| q.to_string()).collect(),
            broad: BROAD_QUERIES.iter().map(|q| q.to_string()).collect(),
        }
    }
}

/// Documents per second and MiB per second of an import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Throughput {
    pub seconds: f64,
    pub documents: u64,
    pub bytes: u64,
    pub documents_per_s: f64,
    pub mib_per_s: f64,
}

impl Throughput {
    pub fn of(seconds: f64, documents: u64, bytes: u64) -> Throughput {
        let s = seconds.max(1e-9);
        Throughput {
            seconds,
            documents,
            bytes,
            documents_per_s: documents as f64 / s,
            mib_per_s: bytes as f64 / (1024.0 * 1024.0) / s,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Imports {
    /// `tudashalo-node import` of every node's files, wall times summed.
    pub tudashalo: Throughput,
    /// Records the importer rejected (the generator's data should have none).
    pub tudashalo_rejected: u64,
    /// The one node holding every document: every documents file, in one
    /// `import` command.
    pub single_node: Throughput,
    /// `COPY` + GIN index + observations + `ANALYZE`.
    pub postgres: Option<Throughput>,
    pub postgres_detail: Option<pg::Load>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Searches {
    pub hub_selective: SearchPhase,
    pub hub_broad: SearchPhase,
    pub single_selective: SearchPhase,
    pub single_broad: SearchPhase,
    pub postgres_selective: Option<SearchPhase>,
    pub postgres_broad: Option<SearchPhase>,
    /// Queries whose top 10 through the hub equals the one node's.
    pub top10_identical: usize,
    pub top10_compared: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Aggregates {
    pub indicators: Vec<String>,
    pub hub: Latency,
    pub hub_cells: usize,
    pub hub_cells_with_value: usize,
    pub hub_incomplete: usize,
    pub postgres: Option<Latency>,
    pub postgres_cells: usize,
    /// Cells with a value at both, and how many of them agree (1e-9 relative).
    pub values_compared: usize,
    pub values_equal: usize,
}

/// Resident memory in MB (10⁶ bytes).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Memory {
    pub node_idle_max_mb: f64,
    pub node_idle_mean_mb: f64,
    pub node_load_max_mb: f64,
    pub node_load_mean_mb: f64,
    pub node_after_load_mean_mb: f64,
    pub hub_idle_mb: f64,
    pub hub_load_max_mb: f64,
    pub single_idle_mb: f64,
    pub single_load_max_mb: f64,
}

/// Everything measured at one scale.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scale {
    pub nodes: usize,
    pub docs_per_node: usize,
    pub documents: usize,
    pub visible_documents: usize,
    pub mean_body_words: f64,
    pub observations: usize,
    pub input_mib: f64,
    pub generation_s: f64,
    pub import: Imports,
    pub search: Searches,
    pub aggregate: Aggregates,
    pub memory: Memory,
    /// Every node's data folder after the import and after importing the
    /// same files again; the one node's after its import.
    pub disk: Disk,
    /// Why PostgreSQL was not measured at this scale, if it was not.
    pub postgres_skipped: Option<String>,
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn max_mean(values: &[u64]) -> (f64, f64) {
    let max = values.iter().copied().max().unwrap_or(0);
    let mean = values.iter().sum::<u64>() as f64 / values.len().max(1) as f64;
    (mb(max), mean / 1e6)
}

/// One search phase against `url` (a hub or a node): says what it measures,
/// runs `queries` with the configured clients (each on its own connection)
/// and bounds, reads `meter` (the processes answering, each query answered
/// by `members` members) around the measured requests, and prints the
/// latency and CPU summary.
#[allow(clippy::too_many_arguments)]
async fn federation_phase(
    say: &(dyn Fn(String) + Sync),
    what: String,
    pki: &Pki,
    url: &str,
    queries: &[String],
    config: &RunConfig,
    meter: &Meter,
    members: usize,
) -> Result<SearchPhase> {
    say(what);
    let clients = config.clients;
    let extras = config.extras;
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(pki.client(url).await?);
    }
    let connections = Arc::new(connections);
    let ask = move |c: usize, q| {
        let mut client = connections[c % connections.len()].clone();
        async move { load::search(&mut client, q, extras).await }
    };
    metered_phase(say, queries, config, meter, members, ask).await
}

/// Runs `queries` with `ask`, CPU measured by `meter` (if it has any
/// process), and prints the summary.
async fn metered_phase<F, Fut>(
    say: &(dyn Fn(String) + Sync),
    queries: &[String],
    config: &RunConfig,
    meter: &Meter,
    members: usize,
    ask: F,
) -> Result<SearchPhase>
where
    F: Fn(usize, String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Answer>> + Send,
{
    let (mut phase, cpu) = load::run_queries_between(
        queries,
        config.clients,
        config.bounds,
        ask,
        || meter.read(),
        |before, answered| (!meter.is_empty()).then(|| meter.since(&before, answered, members)),
    )
    .await?;
    phase.cpu = cpu;
    let cpu = phase.cpu.as_ref().map_or(String::new(), |c| {
        format!(
            "; CPU {:.2} ms/query, {:.3} ms/query/member, {:.2} cores busy",
            c.ms_per_query, c.ms_per_query_per_member, c.cores_busy
        )
    });
    say(format!("  {}{cpu}", summary(&phase.latency)));
    Ok(phase)
}

/// Stops `servers` in order, reporting (not failing on) a server that does
/// not stop cleanly.
pub async fn stop_all(servers: Vec<Server>) {
    for s in servers {
        let name = s.name.clone();
        if let Err(e) = s.stop().await {
            eprintln!("  stopping {name}: {e:#}");
        }
    }
}

/// Runs one scale. `postgres` is the running cluster, if any (else
/// `pg_missing` says why).
pub async fn scale(
    config: &RunConfig,
    nodes: usize,
    postgres: Option<&Postgres>,
    pg_missing: Option<&str>,
    say: &(dyn Fn(String) + Sync),
) -> Result<Scale> {
    let dir = config.work.join(format!("n{nodes}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let spec = Spec {
        nodes,
        seed: config.seed,
        docs_per_node: config.docs_per_node,
        mean_words: config.mean_words,
        ..Spec::default()
    };
    say(format!(
        "N={nodes}: generating {} documents of ~{} words",
        nodes * config.docs_per_node,
        config.mean_words
    ));
    let corpus: Corpus = {
        let (input, spec) = (dir.join("input"), spec.clone());
        tokio::task::spawn_blocking(move || corpus::generate(&input, &spec)).await??
    };
    let mut result = Scale {
        nodes,
        docs_per_node: config.docs_per_node,
        documents: corpus.documents,
        visible_documents: corpus.visible_documents,
        mean_body_words: corpus.mean_body_words,
        observations: corpus.observations,
        input_mib: corpus.input_bytes as f64 / (1024.0 * 1024.0),
        generation_s: corpus.seconds,
        ..Scale::default()
    };
    let pki = Pki::for_corpus(&dir.join("pki"), &corpus).await?;

    // Import: every node's files, one node after the other.
    say(format!("N={nodes}: importing into {nodes} nodes"));
    let mut seconds = 0.0;
    for input in &corpus.nodes {
        let imported = config
            .mode
            .prepare_node(
                &dir.join("nodes").join(&input.kisterseg.slug),
                &input.kisterseg.slug,
                &input.paths(),
            )
            .await
            .with_context(|| format!("importing {}", input.kisterseg.slug))?;
        seconds += imported.seconds;
        result.import.tudashalo_rejected += imported.rejected;
    }
    result.import.tudashalo = Throughput::of(seconds, corpus.documents as u64, corpus.input_bytes);
    say(format!(
        "  {:.1} s, {:.0} documents/s",
        seconds, result.import.tudashalo.documents_per_s
    ));
    reimport_and_measure(config, &dir, &corpus, &mut result.disk, say).await?;
    // Every node's documents file in one command: the union, file by file
    // (one file of every document would be read and parsed whole: see
    // BENCHMARKS.md on memory).
    say(format!("N={nodes}: importing every document into one node"));
    let single_dir = dir.join("nodes").join(SINGLE_NAME);
    let documents: Vec<PathBuf> = corpus
        .nodes
        .iter()
        .map(|n| n.files.documents.clone())
        .collect();
    let imported = config
        .mode
        .prepare_node(&single_dir, SINGLE_NAME, &documents)
        .await
        .context("importing the one node")?;
    result.import.single_node = Throughput::of(
        imported.seconds,
        corpus.documents as u64,
        corpus.union_bytes,
    );
    say(format!(
        "  {:.1} s, {:.0} documents/s",
        imported.seconds, result.import.single_node.documents_per_s
    ));
    result.disk.single_after_import =
        Footprint::measure([(SINGLE_NAME, single_dir.as_path(), corpus.union_bytes)])?;
    say(format!(
        "  on disk: {}",
        disk_summary(&result.disk.single_after_import)
    ));

    // Serve.
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut servers: Vec<Server> = Vec::with_capacity(nodes + 2);
    let measured = measure_federation(
        config,
        &dir,
        &corpus,
        &pki,
        &logs,
        &mut servers,
        &mut result,
        say,
    )
    .await;
    // The hub first (its member channels close), then the nodes.
    servers.reverse();
    stop_all(servers).await;
    let hub_cells = measured?;

    // PostgreSQL, with nothing of ours running.
    match postgres {
        Some(pg) => {
            if let Err(e) =
                measure_postgres(config, pg, &corpus, &hub_cells, &mut result, say).await
            {
                say(format!("  PostgreSQL failed: {e:#}"));
                result.postgres_skipped = Some(format!("failed: {e:#}"));
            }
        }
        None => result.postgres_skipped = pg_missing.map(str::to_string),
    }
    // Node folders and corpora take space; the results are in `result`.
    let _ = std::fs::remove_dir_all(&dir);
    Ok(result)
}

/// Every node's folder after the import; the same `import` commands again
/// (what an operator re-running an import does, and what must not grow the
/// folder); every folder again. Before anything is served, so that no
/// audit entry of a search is counted.
async fn reimport_and_measure(
    config: &RunConfig,
    dir: &Path,
    corpus: &Corpus,
    disk: &mut Disk,
    say: &(dyn Fn(String) + Sync),
) -> Result<()> {
    let nodes = corpus.nodes.len();
    let folders: Vec<(String, PathBuf, u64)> = corpus
        .nodes
        .iter()
        .map(|n| {
            let slug = n.kisterseg.slug.clone();
            let folder = dir.join("nodes").join(&slug);
            (slug, folder, n.bytes)
        })
        .collect();
    let measure = || {
        Footprint::measure(
            folders
                .iter()
                .map(|(slug, folder, bytes)| (slug.as_str(), folder.as_path(), *bytes)),
        )
    };
    disk.after_import = measure()?;
    say(format!("  on disk: {}", disk_summary(&disk.after_import)));
    say(format!(
        "N={nodes}: importing the same files into every node again"
    ));
    let mut seconds = 0.0;
    for (input, (slug, folder, _)) in corpus.nodes.iter().zip(&folders) {
        let imported = config
            .mode
            .import(folder, slug, &input.paths())
            .await
            .with_context(|| format!("importing {slug} again"))?;
        seconds += imported.seconds;
        disk.reimport_added += imported.added;
        disk.reimport_updated += imported.updated;
        disk.reimport_unchanged += imported.unchanged;
        disk.reimport_rejected += imported.rejected;
    }
    disk.reimport = Throughput::of(seconds, corpus.documents as u64, corpus.input_bytes);
    disk.after_reimport = measure()?;
    say(format!(
        "  {seconds:.1} s ({} added, {} updated, {} unchanged); on disk: {}",
        disk.reimport_added,
        disk.reimport_updated,
        disk.reimport_unchanged,
        disk_summary(&disk.after_reimport)
    ));
    Ok(())
}

/// `… MiB allocated (… apparent), …× the input; store … / index … / rest …`.
pub fn disk_summary(f: &Footprint) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    format!(
        "{:.1} MiB allocated ({:.1} MiB apparent), {:.2}× the input ({:.2}× apparent; \
         largest {:.2}× at {}); store {:.1} / index {:.1} / rest {:.1} MiB, {} segments",
        mib(f.total.allocated_bytes),
        mib(f.total.apparent_bytes),
        f.ratio_allocated,
        f.ratio_apparent,
        f.largest_ratio_allocated,
        f.largest_ratio_node,
        mib(f.store.allocated_bytes),
        mib(f.index.allocated_bytes),
        mib(f.rest.allocated_bytes),
        f.index_segments
    )
}

/// Hub cells with a value: (kistérség, period, indicator) → value.
type CellValues = HashMap<(String, String, String), Option<f64>>;

#[allow(clippy::too_many_arguments)]
async fn measure_federation(
    config: &RunConfig,
    dir: &Path,
    corpus: &Corpus,
    pki: &Pki,
    logs: &Path,
    servers: &mut Vec<Server>,
    result: &mut Scale,
    say: &(dyn Fn(String) + Sync),
) -> Result<CellValues> {
    let nodes = corpus.nodes.len();
    say(format!(
        "N={nodes}: starting {nodes} nodes, the one node and the hub"
    ));
    let mut members = Vec::with_capacity(nodes);
    for input in &corpus.nodes {
        let slug = &input.kisterseg.slug;
        let server = config
            .mode
            .serve_node(&dir.join("nodes").join(slug), slug, pki, logs)
            .await?;
        members.push((slug.clone(), server.url.clone()));
        servers.push(server);
    }
    let single = config
        .mode
        .serve_node(&dir.join("nodes").join(SINGLE_NAME), SINGLE_NAME, pki, logs)
        .await?;
    let single_url = single.url.clone();
    let single_pid = single.pid();
    servers.push(single);
    let hub = config.mode.serve_hub(dir, &members, pki).await?;
    let hub_url = hub.url.clone();
    let hub_pid = hub.pid();
    servers.push(hub);
    cluster::wait_ready(&mut pki.client(&hub_url).await?, nodes).await?;
    cluster::wait_ready(&mut pki.client(&single_url).await?, 0).await?;
    tokio::time::sleep(config.settle).await;

    let node_pids: Vec<u32> = servers[..nodes].iter().filter_map(Server::pid).collect();
    let idle: Vec<u64> = node_pids
        .iter()
        .filter_map(|p| cluster::rss_of(*p))
        .collect();
    let (max, mean) = max_mean(&idle);
    result.memory.node_idle_max_mb = max;
    result.memory.node_idle_mean_mb = mean;
    result.memory.hub_idle_mb = mb(hub_pid.and_then(cluster::rss_of).unwrap_or(0));
    result.memory.single_idle_mb = mb(single_pid.and_then(cluster::rss_of).unwrap_or(0));

    // Through the hub, sampling the memory of every node and the hub.
    let mut watched = node_pids.clone();
    watched.extend(hub_pid);
    let sampler = RssSampler::start(watched);
    let q = &config.queries;
    // CPU per federated query: the hub and every node, all of it.
    let meter = Meter::default()
        .group("hub", hub_pid)
        .group("nodes", node_pids.iter().copied());
    result.search.hub_selective = federation_phase(
        say,
        format!("N={nodes}: selective queries through the hub"),
        pki,
        &hub_url,
        &q.selective,
        config,
        &meter,
        nodes,
    )
    .await?;
    result.search.hub_broad = federation_phase(
        say,
        format!("N={nodes}: broad queries through the hub"),
        pki,
        &hub_url,
        &q.broad,
        config,
        &meter,
        nodes,
    )
    .await?;

    say(format!(
        "N={nodes}: aggregate of every indicator by kistérség and year through the hub"
    ));
    let indicators = corpus::aggregatable_indicators();
    let client = pki.client(&hub_url).await?;
    let (latency, answer) = load::timed(config.aggregate_runs, config.bounds.max_time, || {
        let mut client = client.clone();
        let indicators = indicators.clone();
        async move { load::aggregate(&mut client, &indicators).await }
    })
    .await?;
    say(format!(
        "  {} ({} cells)",
        summary(&latency),
        answer.cells.len()
    ));
    let loaded = sampler.finish().await;
    if !node_pids.is_empty() {
        let (max, mean) = max_mean(&loaded[..node_pids.len()]);
        result.memory.node_load_max_mb = max;
        result.memory.node_load_mean_mb = mean;
    }
    if hub_pid.is_some() {
        result.memory.hub_load_max_mb = mb(loaded.last().copied().unwrap_or(0));
    }
    let after: Vec<u64> = node_pids
        .iter()
        .filter_map(|p| cluster::rss_of(*p))
        .collect();
    result.memory.node_after_load_mean_mb = max_mean(&after).1;

    let mut cells = CellValues::new();
    for c in &answer.cells {
        let kisterseg = c
            .kisterseg
            .rsplit('/')
            .next()
            .unwrap_or(&c.kisterseg)
            .to_string();
        cells.insert((kisterseg, c.period.clone(), c.indicator.clone()), c.value);
    }
    result.aggregate = Aggregates {
        indicators,
        hub: latency,
        hub_cells: answer.cells.len(),
        hub_cells_with_value: answer.cells.iter().filter(|c| c.value.is_some()).count(),
        hub_incomplete: answer.incomplete,
        ..Aggregates::default()
    };

    // The one node holding every document.
    let sampler = RssSampler::start(single_pid.into_iter().collect());
    let meter = Meter::default().group("node", single_pid);
    result.search.single_selective = federation_phase(
        say,
        format!("N={nodes}: selective queries against the one node"),
        pki,
        &single_url,
        &q.selective,
        config,
        &meter,
        1,
    )
    .await?;
    result.search.single_broad = federation_phase(
        say,
        format!("N={nodes}: broad queries against the one node"),
        pki,
        &single_url,
        &q.broad,
        config,
        &meter,
        1,
    )
    .await?;
    result.memory.single_load_max_mb = mb(sampler.finish().await.first().copied().unwrap_or(0));

    let pairs = [
        (
            &result.search.hub_selective,
            &result.search.single_selective,
        ),
        (&result.search.hub_broad, &result.search.single_broad),
    ];
    for (hub, single) in pairs {
        for (a, b) in hub.answers.iter().zip(&single.answers) {
            result.search.top10_compared += 1;
            result.search.top10_identical += usize::from(same_top(a, b));
        }
    }
    Ok(cells)
}

fn same_top(a: &Answer, b: &Answer) -> bool {
    a.total == b.total && a.ids == b.ids
}

/// `p50 … ms, … /s`.
pub fn summary(l: &Latency) -> String {
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, {:.1}/s, {} requests, {} errors",
        l.p50_ms, l.p95_ms, l.p99_ms, l.throughput_per_s, l.requests, l.errors
    )
}

async fn measure_postgres(
    config: &RunConfig,
    postgres: &Postgres,
    corpus: &Corpus,
    hub_cells: &CellValues,
    result: &mut Scale,
    say: &(dyn Fn(String) + Sync),
) -> Result<()> {
    let nodes = corpus.nodes.len();
    let db = format!("bench_n{nodes}");
    say(format!(
        "N={nodes}: PostgreSQL: COPY, GIN index, observations, ANALYZE"
    ));
    let loaded = pg::load(postgres, &db, corpus).await?;
    result.import.postgres = Some(Throughput::of(
        loaded.total_s,
        loaded.documents,
        corpus.input_bytes,
    ));
    say(format!(
        "  {:.1} s (COPY {:.1} s, index {:.1} s), {:.0} documents/s",
        loaded.total_s,
        loaded.copy_documents_s,
        loaded.index_s,
        loaded.documents as f64 / loaded.total_s.max(1e-9)
    ));
    result.import.postgres_detail = Some(loaded);

    let clients = Arc::new(pg::search_clients(postgres, &db, config.clients).await?);
    let counter = postgres.connect(&db).await?;
    for (set, queries) in [
        ("selective", &config.queries.selective),
        ("broad", &config.queries.broad),
    ] {
        say(format!("N={nodes}: PostgreSQL {set} queries"));
        let c = clients.clone();
        // The postmaster and its children: the backends serving the
        // clients, and the background processes.
        let meter = match postgres.postmaster_pid() {
            Some(pid) => Meter::default()
                .group("postmaster", [pid])
                .group("children", crate::cpu::children_of(pid)),
            None => Meter::default(),
        };
        let ask = move |i: usize, q: String| {
            let (client, statement) = c[i % c.len()].clone();
            async move {
                let rows = client.query(&statement, &[&q]).await?;
                Ok(Answer {
                    total: rows.len() as u64,
                    partial: false,
                    ids: rows.iter().map(|r| r.get::<_, String>(0)).collect(),
                })
            }
        };
        let mut phase = metered_phase(say, queries, config, &meter, 1, ask).await?;
        let mut matches = 0u64;
        for q in queries.iter() {
            matches += counter
                .query_one(pg::COUNT_SQL, &[q])
                .await?
                .get::<_, i64>(0) as u64;
        }
        phase.mean_matches = matches as f64 / queries.len().max(1) as f64;
        if set == "selective" {
            result.search.postgres_selective = Some(phase);
        } else {
            result.search.postgres_broad = Some(phase);
        }
    }

    say(format!(
        "N={nodes}: PostgreSQL aggregate (GROUP BY kistérség, year, weighted means by join)"
    ));
    let (latency, cells) = load::timed(config.aggregate_runs, config.bounds.max_time, || {
        pg::aggregate(&counter)
    })
    .await?;
    say(format!("  {} ({} cells)", summary(&latency), cells.len()));
    result.aggregate.postgres = Some(latency);
    result.aggregate.postgres_cells = cells.len();
    for c in &cells {
        let key = (c.kisterseg.clone(), c.period.clone(), c.indicator.clone());
        if let (Some(Some(hub)), Some(pg)) = (hub_cells.get(&key), c.value) {
            result.aggregate.values_compared += 1;
            let scale = hub.abs().max(pg.abs()).max(1.0);
            if (hub - pg).abs() / scale < 1e-9 {
                result.aggregate.values_equal += 1;
            }
        }
    }
    drop(clients);
    drop(counter);
    let admin = postgres.connect("postgres").await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await?;
    Ok(())
}
