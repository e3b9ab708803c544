//! The soak (issue #17, "Load and faults"): nodes and a hub as separate
//! processes on this machine, a constant rate of mixed search and
//! aggregate traffic through the hub for a long while, and two faults on
//! the way — one member killed (SIGKILL) and restarted on its port at about
//! a third of the run, another stalled (SIGSTOP, then SIGCONT) at about
//! half — while the resident memory of every process is sampled from
//! `/proc`.
//!
//! What it shows, and why it is worth ten minutes: that a federation under
//! steady load answers every request in time and without an error through
//! a member's crash and a member's hang (the hub's per-member deadline
//! turns a silent member into a partial answer, not a client timeout), that
//! it recovers on its own (every member `ok` again, with no partial answer
//! outside the fault windows), and that nothing grows (RSS flat over the
//! second half). `tudashalo-bench soak` runs it at 33 nodes for 10 minutes;
//! the end-to-end test `soak` runs the same code at 6 nodes for 20 s.
//! [`crate::soak_verdict`] judges the run and writes the summary.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tokio::time::Instant;
use tonic::transport::Channel;
use tudashalo_demo::generate::Spec;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};

use crate::cluster::{self, Deadlines, Mode, Pki, Server};
use crate::corpus::{self, BROAD_QUERIES, SELECTIVE_QUERIES};
use crate::load::Extras;
use crate::open_loop::{self, Call, OpenLoopReport, Rate, Sent};
use crate::report::Machine;
use crate::soak_verdict::{self, RssRule, Verdict};

/// What a soak runs, and how it is judged.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// Must be [`Mode::Processes`]: faults are signals to processes.
    pub mode: Mode,
    pub nodes: usize,
    pub docs_per_node: usize,
    pub mean_words: usize,
    pub seed: u64,
    /// Scratch space (corpus, node folders, logs); kept if the run fails.
    pub work: PathBuf,
    pub duration: Duration,
    /// Requests per second through the hub, all connections together.
    pub rate_per_s: f64,
    /// Client connections (tonic channels) to the hub, used round-robin.
    pub connections: usize,
    /// One request in this many is an aggregate; the rest are searches.
    pub aggregate_every: usize,
    /// The client's deadline of every request.
    pub client_deadline: Duration,
    /// The hub's: a member deadline well under the client's, so that a
    /// silent member costs a partial answer, not a timeout.
    pub deadlines: Deadlines,
    /// How long the killed member stays dead before it is restarted.
    pub dead_for: Duration,
    /// How long the stalled member stays stopped.
    pub stall_for: Duration,
    /// RSS of every process is read this often.
    pub sample_every: Duration,
    /// RSS samples before this are start-up, not judged.
    pub warm_up: Duration,
    /// RSS samples from a fault's start to this long after its recovery
    /// are the fault's transient, not judged as growth (reported apart).
    pub fault_settle: Duration,
    pub rss_rule: RssRule,
    /// The longest a faulted member may take to be `ok` through the hub
    /// again once restored.
    pub recovery_timeout: Duration,
    /// Bucket width of the timeline in the report.
    pub bucket: Duration,
}

impl SoakConfig {
    /// The soak: 33 nodes, 10 minutes at 8 requests per second over
    /// 2 connections, a member dead for 10 s, another stopped for 30 s.
    pub fn full(mode: Mode, work: PathBuf) -> SoakConfig {
        SoakConfig {
            mode,
            nodes: 33,
            docs_per_node: 1000,
            mean_words: 900,
            seed: 1,
            work,
            duration: Duration::from_secs(600),
            rate_per_s: 8.0,
            connections: 2,
            aggregate_every: 5,
            client_deadline: Duration::from_secs(5),
            deadlines: Deadlines {
                hub_ms: 2_000,
                member_ms: Some(2_000),
            },
            dead_for: Duration::from_secs(10),
            stall_for: Duration::from_secs(30),
            sample_every: Duration::from_secs(5),
            warm_up: Duration::from_secs(60),
            fault_settle: Duration::from_secs(30),
            rss_rule: RssRule {
                ratio: 1.1,
                slack_mib: 8.0,
            },
            recovery_timeout: Duration::from_secs(30),
            bucket: Duration::from_secs(10),
        }
    }

    /// The test suite's soak: the same code at 6 small nodes for 20 s, a
    /// member dead for 2 s and another stopped for 3 s.
    pub fn short(mode: Mode, work: PathBuf) -> SoakConfig {
        SoakConfig {
            nodes: 6,
            docs_per_node: 40,
            mean_words: 120,
            duration: Duration::from_secs(20),
            rate_per_s: 10.0,
            dead_for: Duration::from_secs(2),
            stall_for: Duration::from_secs(3),
            sample_every: Duration::from_secs(1),
            warm_up: Duration::from_secs(2),
            fault_settle: Duration::from_secs(1),
            bucket: Duration::from_secs(1),
            ..SoakConfig::full(mode, work)
        }
    }
}

/// One injected fault and when things happened, in seconds from the start
/// of the load.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fault {
    /// `kill` (SIGKILL, restarted on its port) or `stall` (SIGSTOP, SIGCONT).
    pub kind: String,
    pub member: String,
    pub at_s: f64,
    /// Restarted (listening again) or continued.
    pub restored_s: f64,
    /// First answered `ok` through the hub again.
    pub recovered_s: f64,
}

/// One RSS sample of one process.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub t_s: f64,
    pub pid: u32,
    /// `VmRSS`: what is judged.
    pub rss_mib: f64,
    /// `RssAnon`: the heap and stacks, without the mapped index files
    /// (`RssFile`), which grow as queries touch more of them.
    pub anon_mib: f64,
}

/// The RSS series of one process (a restarted node keeps its name; its
/// samples carry the new pid).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Series {
    pub name: String,
    pub samples: Vec<Sample>,
}

/// Everything a soak measured, and its verdict (the JSON of the run).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SoakReport {
    pub date: String,
    pub started_at: String,
    pub machine: Option<Machine>,
    pub command: String,
    pub settings: serde_json::Value,
    pub documents: usize,
    /// Generating, importing, serving, until every member answered.
    pub setup_s: f64,
    pub load: OpenLoopReport,
    pub faults: Vec<Fault>,
    /// What went wrong injecting the faults, if anything did.
    pub fault_error: Option<String>,
    /// Members not `ok` in a search through the hub after the load.
    pub members_not_ok_at_end: Vec<String>,
    pub rss: soak_verdict::RssReport,
    pub verdict: Verdict,
    /// Every process's samples (not in the JSON: [`SoakReport::rss_csv`]).
    #[serde(skip)]
    pub rss_series: Vec<Series>,
    /// Every request, for the checks (not written).
    #[serde(skip)]
    pub sent: Vec<Sent>,
}

impl SoakReport {
    /// Every RSS sample as CSV: `t_s,process,pid,rss_mib,anon_mib`.
    pub fn rss_csv(&self) -> String {
        let mut out = String::from("t_s,process,pid,rss_mib,anon_mib\n");
        for s in &self.rss_series {
            for x in &s.samples {
                out.push_str(&format!(
                    "{:.1},{},{},{:.2},{:.2}
",
                    x.t_s, s.name, x.pid, x.rss_mib, x.anon_mib
                ));
            }
        }
        out
    }
}

/// Which processes the sampler reads: name and current pid.
type Watched = Arc<Mutex<Vec<(String, Option<u32>)>>>;

fn set_pid(watched: &Watched, name: &str, pid: Option<u32>) {
    if let Ok(mut w) = watched.lock()
        && let Some(entry) = w.iter_mut().find(|(n, _)| n == name)
    {
        entry.1 = pid;
    }
}

/// `VmRSS` and `RssAnon` of `pid`, in MiB.
fn rss_and_anon(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("RssAnon:").unwrap_or(0.0)))
}

/// Reads the RSS of every watched process every `every` until `stop`.
async fn sample_rss(
    watched: Watched,
    start: Instant,
    every: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<Series> {
    let mut series: Vec<Series> = watched
        .lock()
        .map(|w| {
            w.iter()
                .map(|(name, _)| Series {
                    name: name.clone(),
                    samples: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let t_s = start.elapsed().as_secs_f64();
        let now: Vec<(String, Option<u32>)> = watched.lock().map(|w| w.clone()).unwrap_or_default();
        for ((_, pid), s) in now.iter().zip(series.iter_mut()) {
            if let Some(pid) = *pid
                && let Some((rss, anon)) = rss_and_anon(pid)
            {
                s.samples.push(Sample {
                    t_s,
                    pid,
                    rss_mib: rss,
                    anon_mib: anon,
                });
            }
        }
        if *stop.borrow() {
            return series;
        }
    }
}

/// A search through the hub asking only `member`; whether it answered `ok`.
async fn member_ok(client: &mut FederationClient<Channel>, member: &str) -> bool {
    let mut request = tonic::Request::new(pb::SearchRequest {
        query: "fejlesztés".into(),
        limit: 1,
        no_snippets: true,
        no_facets: true,
        members: vec![member.to_string()],
        ..Default::default()
    });
    request.set_timeout(Duration::from_secs(5));
    match tokio::time::timeout(Duration::from_secs(6), client.search(request)).await {
        Ok(Ok(response)) => response
            .into_inner()
            .members
            .iter()
            .any(|m| m.member == member && m.state == MemberState::Ok as i32),
        _ => false,
    }
}

/// Waits until `member` answers `ok` through the hub.
async fn recovered(
    client: &mut FederationClient<Channel>,
    member: &str,
    within: Duration,
) -> Result<()> {
    let started = Instant::now();
    while !member_ok(client, member).await {
        if started.elapsed() > within {
            bail!("{member} was not ok through the hub within {within:?} of being restored");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// What the fault script needs of the federation.
struct Federation<'a> {
    config: &'a SoakConfig,
    pki: &'a Pki,
    nodes_dir: &'a Path,
    logs: &'a Path,
    hub_url: &'a str,
    watched: Watched,
    say: &'a (dyn Fn(String) + Sync),
}

/// Kills `servers[kill]` at a third of the run and restarts it on its port
/// after `dead_for`; stops `servers[stall]` at half the run and continues
/// it after `stall_for`. Waits for each to be `ok` through the hub again.
async fn inject_faults(
    f: &Federation<'_>,
    start: Instant,
    servers: &mut [Server],
    kill: usize,
    stall: usize,
    faults: &mut Vec<Fault>,
) -> Result<()> {
    let config = f.config;
    let since = |t: Instant| (t - start).as_secs_f64();
    let mut probe = f.pki.client(f.hub_url).await?;

    tokio::time::sleep_until(start + config.duration / 3).await;
    let name = servers[kill].name.clone();
    let port = servers[kill].port().context("the node's port")?;
    let at = Instant::now();
    servers[kill].kill().await?;
    set_pid(&f.watched, &name, None);
    (f.say)(format!("  {:.0} s: killed {name} (SIGKILL)", since(at)));
    tokio::time::sleep(config.dead_for).await;
    let listen = format!("127.0.0.1:{port}");
    let log = f.logs.join(format!("{name}.restarted.log"));
    let mut attempt = 0;
    let restarted = loop {
        attempt += 1;
        match config
            .mode
            .serve_node_on(&f.nodes_dir.join(&name), &name, f.pki, &log, Some(&listen))
            .await
        {
            Ok(server) => break server,
            // The port may be held a moment longer (sockets of the dead
            // process); the node's folder lock likewise.
            Err(e) if attempt < 20 => {
                (f.say)(format!("  restarting {name}: {e:#}; again"));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e.context(format!("restarting {name} on {listen}"))),
        }
    };
    let restored = Instant::now();
    set_pid(&f.watched, &name, restarted.pid());
    servers[kill] = restarted;
    recovered(&mut probe, &name, config.recovery_timeout).await?;
    let back = Instant::now();
    (f.say)(format!(
        "  {:.0} s: restarted {name}; ok through the hub {:.1} s later",
        since(restored),
        (back - restored).as_secs_f64()
    ));
    faults.push(Fault {
        kind: "kill".into(),
        member: name,
        at_s: since(at),
        restored_s: since(restored),
        recovered_s: since(back),
    });

    tokio::time::sleep_until(start + config.duration / 2).await;
    let server = &servers[stall];
    let at = Instant::now();
    server.signal("STOP").await?;
    (f.say)(format!(
        "  {:.0} s: stopped {} (SIGSTOP)",
        since(at),
        server.name
    ));
    tokio::time::sleep(config.stall_for).await;
    // Continued whatever happens: a stopped process must not outlive us.
    let mut continued = server.signal("CONT").await;
    for _ in 0..5 {
        if continued.is_ok() {
            break;
        }
        continued = server.signal("CONT").await;
    }
    continued?;
    let restored = Instant::now();
    recovered(&mut probe, &server.name, config.recovery_timeout).await?;
    let back = Instant::now();
    (f.say)(format!(
        "  {:.0} s: continued {} (SIGCONT); ok through the hub {:.1} s later",
        since(restored),
        server.name,
        (back - restored).as_secs_f64()
    ));
    faults.push(Fault {
        kind: "stall".into(),
        member: server.name.clone(),
        at_s: since(at),
        restored_s: since(restored),
        recovered_s: since(back),
    });
    Ok(())
}

/// The request mix: one aggregate of every indicator in `aggregate_every`
/// requests, searches of the selective and broad queries in turn between.
pub fn mix(aggregate_every: usize) -> Vec<Call> {
    let queries: Vec<&str> = SELECTIVE_QUERIES
        .iter()
        .zip(BROAD_QUERIES.iter().cycle())
        .flat_map(|(s, b)| [*s, *b])
        .collect();
    let every = aggregate_every.max(1);
    let mut calls = Vec::new();
    let mut q = queries.iter().cycle();
    for i in 0..queries.len() * every {
        if i % every == every - 1 {
            calls.push(Call::Aggregate(corpus::aggregatable_indicators()));
        } else if let Some(query) = q.next() {
            calls.push(Call::Search(query.to_string(), Extras::default()));
        }
    }
    calls
}

/// Runs a soak from start to finish: generate, import, serve, load with
/// faults, stop, judge. `say` narrates.
pub async fn run(config: &SoakConfig, say: &(dyn Fn(String) + Sync)) -> Result<SoakReport> {
    if !matches!(config.mode, Mode::Processes { .. }) {
        bail!("the soak signals processes: it needs Mode::Processes");
    }
    if config.nodes < 3 {
        bail!("the soak needs at least 3 nodes (one killed, one stalled, one healthy)");
    }
    let setup = Instant::now();
    let dir = config.work.join("soak");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let spec = Spec {
        nodes: config.nodes,
        seed: config.seed,
        docs_per_node: config.docs_per_node,
        mean_words: config.mean_words,
        ..Spec::default()
    };
    say(format!(
        "soak: generating {} nodes of {} documents",
        config.nodes, config.docs_per_node
    ));
    let corpus = {
        let (input, spec) = (dir.join("input"), spec.clone());
        tokio::task::spawn_blocking(move || corpus::generate(&input, &spec)).await??
    };
    let pki = Pki::for_corpus(&dir.join("pki"), &corpus).await?;
    let nodes_dir = dir.join("nodes");
    say(format!("soak: importing into {} nodes", config.nodes));
    for input in &corpus.nodes {
        let slug = &input.kisterseg.slug;
        config
            .mode
            .prepare_node(&nodes_dir.join(slug), slug, &input.paths())
            .await
            .with_context(|| format!("importing {slug}"))?;
    }
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut servers: Vec<Server> = Vec::with_capacity(config.nodes + 1);
    let result = serve_and_load(
        config,
        &corpus.slugs(),
        &pki,
        (&dir, &logs),
        setup,
        &mut servers,
        say,
    )
    .await;
    // The hub first (its member channels close), then the nodes; a stopped
    // node is continued first so that SIGTERM can reach it.
    servers.reverse();
    for s in &servers {
        let _ = s.signal("CONT").await;
    }
    crate::run::stop_all(servers).await;
    let mut report = result?;
    report.documents = corpus.documents;
    report.verdict = soak_verdict::judge(config, &mut report);
    if report.verdict.passed {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        say(format!(
            "soak: failed; logs and folders kept in {}",
            dir.display()
        ));
    }
    Ok(report)
}

async fn serve_and_load(
    config: &SoakConfig,
    slugs: &[String],
    pki: &Pki,
    (dir, logs): (&Path, &Path),
    setup: Instant,
    servers: &mut Vec<Server>,
    say: &(dyn Fn(String) + Sync),
) -> Result<SoakReport> {
    let nodes_dir = dir.join("nodes");
    let mut members = Vec::with_capacity(slugs.len());
    for slug in slugs {
        let server = config
            .mode
            .serve_node(&nodes_dir.join(slug), slug, pki, logs)
            .await?;
        members.push((slug.clone(), server.url.clone()));
        servers.push(server);
    }
    let hub = config
        .mode
        .serve_hub_with(dir, &members, pki, config.deadlines)
        .await?;
    let hub_url = hub.url.clone();
    let mut watched = vec![("hub".to_string(), hub.pid())];
    watched.extend(servers.iter().map(|s| (s.name.clone(), s.pid())));
    let watched: Watched = Arc::new(Mutex::new(watched));
    servers.push(hub);
    cluster::wait_ready(&mut pki.client(&hub_url).await?, slugs.len()).await?;
    let mut clients = Vec::with_capacity(config.connections.max(1));
    for _ in 0..config.connections.max(1) {
        clients.push(pki.client(&hub_url).await?);
    }
    let setup_s = setup.elapsed().as_secs_f64();

    let rate = Rate {
        per_s: config.rate_per_s,
        duration: config.duration,
        deadline: config.client_deadline,
        bucket: config.bucket,
    };
    let (kill, stall) = (slugs.len() / 3, 2 * slugs.len() / 3);
    say(format!(
        "soak: {:.0} s at {}/s over {} connections; {} to be killed at {:.0} s, {} stopped at {:.0} s",
        config.duration.as_secs_f64(),
        config.rate_per_s,
        clients.len(),
        slugs[kill],
        config.duration.as_secs_f64() / 3.0,
        slugs[stall],
        config.duration.as_secs_f64() / 2.0,
    ));
    let start = Instant::now();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(sample_rss(
        watched.clone(),
        start,
        config.sample_every,
        stop_rx,
    ));
    let fed = Federation {
        config,
        pki,
        nodes_dir: &nodes_dir,
        logs,
        hub_url: &hub_url,
        watched,
        say,
    };
    let mut faults = Vec::new();
    let calls = mix(config.aggregate_every);
    let (load, injected) = tokio::join!(
        open_loop::open_loop_federation(rate, &clients, &calls),
        inject_faults(&fed, start, servers, kill, stall, &mut faults),
    );
    let _ = stop_tx.send(true);
    let rss_series = sampler.await.unwrap_or_default();
    let (sent, load) = load?;
    if let Err(e) = &injected {
        say(format!("soak: injecting the faults failed: {e:#}"));
    }

    // After the load: is every member ok again?
    let mut check = pki.client(&hub_url).await?;
    let mut request = tonic::Request::new(crate::cluster::probe_request());
    request.set_timeout(config.client_deadline);
    let answer = check.search(request).await?.into_inner();
    let mut not_ok: Vec<String> = slugs
        .iter()
        .filter(|s| {
            !answer
                .members
                .iter()
                .any(|m| &m.member == *s && m.state == MemberState::Ok as i32)
        })
        .cloned()
        .collect();
    not_ok.sort();
    Ok(SoakReport {
        setup_s,
        load,
        faults,
        fault_error: injected.err().map(|e| format!("{e:#}")),
        members_not_ok_at_end: not_ok,
        rss_series,
        sent,
        ..SoakReport::default()
    })
}
