//! `portal_latency`: what the web portal adds to a search's latency through
//! the hub — the portal's `GET /api/search` against the gRPC `Search` call,
//! the same queries, on one federation (BENCHMARKS.md, "Portal overhead").
//!
//! `cargo build --release -p tudashalo-node -p tudashalo-hub -p tudashalo-bench && target/release/portal_latency --nodes 5 --docs 2000`
//!
//! It generates and imports `--nodes` kistérségek of `--docs` documents with
//! the demo, starts every node (`tudashalo-node serve`) and the hub
//! (`tudashalo-hub serve`, with `[portal]` on loopback HTTP) as release
//! processes from `--bin-dir` (default: next to this binary), creates a
//! portal account acting as `operator:analyst` and mints its session
//! cookie. One client then searches, sequentially: gRPC over a persistent
//! mTLS channel with the analyst's certificate, and HTTP/1.1 over one
//! keep-alive connection to the portal with the cookie, the same request
//! (the portal's: empty filters, offset 0, limit 10, snippets and facets).
//! After one warm-up pass, every round times, for each query of the bench's
//! selective and broad sets, one gRPC search and then one portal search
//! (interleaved, so that drift touches both alike). It prints p50/p95/p99
//! and mean per path and set, the portal's p50 and p95 over the gRPC's and
//! the milliseconds it adds at p50, and writes the figures as JSON to
//! `bench/results/portal-<date>-<N>n.json`. Every process it started is killed
//! on every way out.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::{Value, json};
use tonic::transport::Channel;
use tudashalo_bench::load::Latency;
use tudashalo_bench::report::Machine;
use tudashalo_bench::run::Queries;
use tudashalo_demo::DemoOptions;
use tudashalo_demo::generate::Spec;
use tudashalo_hub::config::HubConfig;
use tudashalo_portal::PortalConfig;
use tudashalo_portal::accounts::Accounts;
use tudashalo_portal::session::{Session, SessionKey, now_unix};
use tudashalo_proto::identity::Principal;
use tudashalo_proto::pb;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::tls::TlsFiles;

/// The portal account the benchmark searches as.
const USER: &str = "meres";
/// Its password (never used to log in: the cookie is minted).
const PASSWORD: &str = "meres-jelszo-1";
/// The session cookie's name on a loopback HTTP portal.
const COOKIE: &str = "tudashalo-session";
/// How long the federation may take to come up.
const READY: Duration = Duration::from_secs(120);
/// A request's own deadline.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Parser)]
#[command(name = "portal_latency", version, about)]
struct Cli {
    /// Kistérségek, one node process each.
    #[arg(long, default_value_t = 5)]
    nodes: usize,
    /// Documents per node.
    #[arg(long, default_value_t = 2000)]
    docs: usize,
    /// Mean words per document (the demo's default if not given).
    #[arg(long)]
    mean_words: Option<usize>,
    /// Measured rounds; each searches every query once per path.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Where the release tudashalo-node and tudashalo-hub are (default:
    /// this binary's folder).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Scratch folder (the demo's state); emptied first, removed after.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Where the JSON results go.
    #[arg(long, default_value = "bench/results")]
    results_dir: PathBuf,
}

fn main() -> ExitCode {
    tudashalo_bench::block_on_main(async {
        run(Cli::parse()).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Server processes, killed (and reaped) when dropped: on every way out.
#[derive(Default)]
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts a server and reads its stdout until it has printed a line
/// starting with each of `prefixes`; returns the rest of each line. The
/// child joins `processes` before anything can fail.
fn spawn_server(
    processes: &mut Processes,
    mut command: Command,
    prefixes: &[&str],
) -> Result<HashMap<String, String>> {
    command
        .env("TUDASHALO_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    let stdout = child.stdout.take();
    processes.0.push(child);
    let stdout = stdout.context("the server's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut found = HashMap::new();
    while found.len() < prefixes.len() {
        let Some(Ok(line)) = lines.next() else {
            bail!(
                "{:?} exited before printing {prefixes:?} (got {found:?})",
                command.get_program()
            );
        };
        for p in prefixes {
            if let Some(rest) = line.strip_prefix(p) {
                found.insert((*p).to_string(), rest.trim().to_string());
            }
        }
    }
    // Keep draining stdout so that the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    Ok(found)
}

/// `application/x-www-form-urlencoded` encoding of a query value.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The two clients: gRPC to the hub, HTTP to its portal.
struct Clients {
    grpc: FederationClient<Channel>,
    http: Client<HttpConnector, Empty<Bytes>>,
    portal: String,
    cookie: String,
}

/// What one search answered, the little both paths are compared on.
#[derive(Debug, PartialEq)]
struct Outcome {
    total: u64,
    partial: bool,
    hits: usize,
    members_ok: usize,
}

impl Clients {
    /// The request the portal sends for `q` (`SearchParams::request`, page 1,
    /// no filters): snippets and facets on.
    fn request(query: &str) -> pb::SearchRequest {
        pb::SearchRequest {
            query: query.to_string(),
            filters: Some(pb::Filters::default()),
            offset: 0,
            limit: 10,
            ..pb::SearchRequest::default()
        }
    }

    async fn grpc(&mut self, query: &str) -> Result<Outcome> {
        let mut request = tonic::Request::new(Clients::request(query));
        request.set_timeout(REQUEST_TIMEOUT);
        let answer = self
            .grpc
            .search(request)
            .await
            .with_context(|| format!("gRPC search {query:?}"))?
            .into_inner();
        Ok(Outcome {
            total: answer.total,
            partial: answer.partial,
            hits: answer.hits.len(),
            members_ok: answer
                .members
                .iter()
                .filter(|m| m.state == pb::MemberState::Ok as i32)
                .count(),
        })
    }

    /// The portal's answer as bytes (read whole) and its status.
    async fn portal_bytes(&self, query: &str) -> Result<(u16, Bytes)> {
        let uri = format!("{}/api/search?q={}", self.portal, encode(query));
        let request = hyper::Request::get(&uri)
            .header(hyper::header::COOKIE, &self.cookie)
            .body(Empty::<Bytes>::new())?;
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.http.request(request))
            .await
            .with_context(|| format!("{uri}: timed out"))?
            .with_context(|| uri.clone())?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    async fn portal(&self, query: &str) -> Result<Outcome> {
        let (status, body) = self.portal_bytes(query).await?;
        ensure!(
            status == 200,
            "portal search {query:?}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
        let v: Value = serde_json::from_slice(&body).context("the portal's JSON")?;
        Ok(Outcome {
            total: v["total"].as_u64().unwrap_or_default(),
            partial: v["partial"].as_bool().unwrap_or(true),
            hits: v["hits"].as_array().map_or(0, Vec::len),
            members_ok: v["members"]
                .as_array()
                .map_or(0, |m| m.iter().filter(|m| m["state"] == "ok").count()),
        })
    }

    /// One timed portal search: status checked, body read whole, not parsed.
    async fn portal_timed(&self, query: &str) -> Result<f64> {
        let started = Instant::now();
        let (status, body) = self.portal_bytes(query).await?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        ensure!(status == 200, "portal search {query:?}: HTTP {status}");
        ensure!(!body.is_empty(), "portal search {query:?}: an empty body");
        Ok(ms)
    }

    async fn grpc_timed(&mut self, query: &str) -> Result<f64> {
        let started = Instant::now();
        self.grpc(query).await?;
        Ok(started.elapsed().as_secs_f64() * 1e3)
    }
}

/// One set's figures.
#[derive(Debug, Serialize)]
struct SetResult {
    set: String,
    queries: Vec<String>,
    grpc: Latency,
    portal: Latency,
    p50_ratio: f64,
    p95_ratio: f64,
    mean_ratio: f64,
    p50_added_ms: f64,
    /// Per query: the median of the portal's time minus the gRPC's time
    /// in the same round (paired).
    paired_median_added_ms: f64,
    /// Mean response bytes: the portal's JSON.
    portal_body_bytes: f64,
}

async fn run(cli: Cli) -> Result<()> {
    ensure!(
        cli.nodes > 0 && cli.docs > 0 && cli.rounds > 0,
        "nothing to measure"
    );
    let bin_dir = match &cli.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("this binary's folder")?
            .to_path_buf(),
    };
    let node_bin = bin_dir.join("tudashalo-node");
    let hub_bin = bin_dir.join("tudashalo-hub");
    for bin in [&node_bin, &hub_bin] {
        ensure!(
            bin.is_file(),
            "{} is missing: cargo build --release -p tudashalo-node -p tudashalo-hub -p tudashalo-bench",
            bin.display()
        );
    }
    let work = cli
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("tudashalo-portal-latency"));
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("emptying {}", work.display()))?;
    }
    let state = work.join("state");
    std::fs::create_dir_all(&state)?;
    let outcome = measure(&cli, &node_bin, &hub_bin, &state).await;
    let _ = std::fs::remove_dir_all(&work);
    outcome
}

async fn measure(cli: &Cli, node_bin: &Path, hub_bin: &Path, state: &Path) -> Result<()> {
    let machine = Machine::current();
    eprintln!(
        "machine: {} cores, {:.1} GiB, {}; load {}",
        machine.nproc, machine.memory_gib, machine.cpu_model, machine.load_average_at_start
    );

    // 1. The data, with the demo.
    let spec = Spec {
        nodes: cli.nodes,
        docs_per_node: cli.docs,
        mean_words: cli.mean_words.unwrap_or(Spec::default().mean_words),
        ..Spec::default()
    };
    let mean_words = spec.mean_words;
    let started = Instant::now();
    eprintln!(
        "generating and importing {} × {} documents with the demo…",
        cli.nodes, cli.docs
    );
    let report = tudashalo_demo::run(DemoOptions {
        spec,
        listen_portal: None,
        ..DemoOptions::new(state)
    })
    .await
    .context("the demo")?;
    let names: Vec<String> = report.members.iter().map(|m| m.name.clone()).collect();
    eprintln!(
        "demo done in {:.0} s: {} members",
        started.elapsed().as_secs_f64(),
        names.len()
    );

    // 3. The portal account and the cookie key.
    let portal_dir = state.join("portal");
    std::fs::create_dir_all(&portal_dir)?;
    let accounts_path = portal_dir.join("accounts.toml");
    let key_path = portal_dir.join("session.key");
    let mut accounts = Accounts::empty();
    let principal: Principal = "operator:analyst"
        .parse()
        .context("the analyst principal")?;
    let account = accounts.add(USER, principal, PASSWORD)?.clone();
    accounts.save(&accounts_path)?;
    let key = SessionKey::generate(&key_path, false)?;
    let session = Session::issue(&account, Duration::from_secs(24 * 3600), now_unix());
    let cookie = format!("{COOKIE}={}", key.seal(&session));

    // 2. The nodes and the hub, as release processes.
    let mut processes = Processes::default();
    let mut endpoints = HashMap::new();
    for name in &names {
        let mut command = Command::new(node_bin);
        command
            .args(["serve", "--data"])
            .arg(state.join("nodes").join(name))
            .args(["--listen", "127.0.0.1:0"]);
        let found = spawn_server(&mut processes, command, &["listening on "])?;
        endpoints.insert(name.clone(), found["listening on "].clone());
    }
    let hub_toml = state.join("hub.toml");
    let mut config = HubConfig::load(&hub_toml).context("hub.toml")?;
    config.listen = "127.0.0.1:0".into();
    for m in &mut config.members {
        m.endpoint = endpoints
            .get(&m.name)
            .with_context(|| format!("no node for member {}", m.name))?
            .clone();
    }
    config.portal = Some(PortalConfig {
        accounts: Some(accounts_path.clone()),
        session_key: Some(key_path.clone()),
        ..PortalConfig::plain("127.0.0.1:0".parse()?)
    });
    tudashalo_demo::config::write_hub_toml(&hub_toml, &config, "portal_latency")?;
    let mut command = Command::new(hub_bin);
    command.args(["serve", "--config"]).arg(&hub_toml);
    let found = spawn_server(&mut processes, command, &["listening on ", "portal on "])?;
    let hub_url = found["listening on "].clone();
    let portal = found["portal on "].clone();
    eprintln!("hub on {hub_url}, portal on {portal}");

    // 4. and 5. The clients: persistent, one connection each.
    let pki = state.join("pki");
    let tls = TlsFiles {
        cert: pki.join("analyst.pem"),
        key: pki.join("analyst.key"),
        ca: pki.join("ca.pem"),
        crl: None,
    }
    .load()
    .context("the analyst's certificate")?;
    let grpc = tls
        .connect(&hub_url)
        .await
        .context("connecting to the hub")?;
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    let http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .pool_idle_timeout(Duration::from_secs(600))
        .build(http);
    let mut clients = Clients {
        grpc,
        http,
        portal,
        cookie,
    };

    // Every member answers, on both paths.
    let started = Instant::now();
    loop {
        let g = clients.grpc("fejlesztés").await;
        let p = clients.portal("fejlesztés").await;
        match (&g, &p) {
            (Ok(g), Ok(p)) if g.members_ok == names.len() && p.members_ok == names.len() => break,
            _ if started.elapsed() > READY => {
                bail!("the federation did not come up: gRPC {g:?}, portal {p:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }

    // 6. The queries: the same answer on both paths, then warm-up, then
    // interleaved rounds.
    let queries = Queries::default();
    let sets = [
        ("selective", queries.selective.clone()),
        ("broad", queries.broad.clone()),
    ];
    for (_, set) in &sets {
        for q in set {
            let g = clients.grpc(q).await?;
            let p = clients.portal(q).await?;
            ensure!(!p.partial, "the portal's answer to {q:?} is partial: {p:?}");
            ensure!(!g.partial, "the gRPC answer to {q:?} is partial: {g:?}");
            ensure!(
                g.total == p.total && g.hits == p.hits,
                "{q:?}: gRPC {g:?} but portal {p:?}: not the same search"
            );
            eprintln!("  {q:?}: total {} on both paths", g.total);
        }
    }
    let mut results = Vec::new();
    for (set_name, set) in &sets {
        for q in set {
            clients.grpc_timed(q).await?;
            clients.portal_timed(q).await?;
        }
        let mut body_bytes = 0usize;
        for q in set {
            body_bytes += clients.portal_bytes(q).await?.1.len();
        }
        let (mut g, mut p) = (Vec::new(), Vec::new());
        let mut diffs: Vec<f64> = Vec::new();
        let wall = Instant::now();
        for _ in 0..cli.rounds {
            for q in set {
                let gm = clients.grpc_timed(q).await?;
                let pm = clients.portal_timed(q).await?;
                g.push(gm);
                p.push(pm);
                diffs.push(pm - gm);
            }
        }
        let wall = wall.elapsed();
        diffs.sort_by(f64::total_cmp);
        let grpc = Latency::of(g, 0, wall, 1);
        let portal = Latency::of(p, 0, wall, 1);
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        results.push(SetResult {
            set: (*set_name).to_string(),
            queries: set.clone(),
            p50_ratio: ratio(portal.p50_ms, grpc.p50_ms),
            p95_ratio: ratio(portal.p95_ms, grpc.p95_ms),
            mean_ratio: ratio(portal.mean_ms, grpc.mean_ms),
            p50_added_ms: portal.p50_ms - grpc.p50_ms,
            paired_median_added_ms: tudashalo_bench::load::percentile(&diffs, 50.0),
            portal_body_bytes: body_bytes as f64 / set.len().max(1) as f64,
            grpc,
            portal,
        });
    }

    // 7. The processes go before the figures are printed.
    drop(clients);
    drop(processes);

    println!(
        "\n{} nodes × {} documents, {} rounds, one sequential client\n",
        cli.nodes, cli.docs, cli.rounds
    );
    println!(
        "| set | path | requests | p50 ms | p95 ms | p99 ms | mean ms | portal/gRPC p50 | p95 | added at p50 |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &results {
        for (path, l) in [("gRPC", &r.grpc), ("portal", &r.portal)] {
            let tail = if path == "portal" {
                format!(
                    "{:.3} | {:.3} | {:+.2} ms",
                    r.p50_ratio, r.p95_ratio, r.p50_added_ms
                )
            } else {
                "| |".to_string()
            };
            println!(
                "| {} | {path} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {tail} |",
                r.set, l.requests, l.p50_ms, l.p95_ms, l.p99_ms, l.mean_ms
            );
        }
    }
    for r in &results {
        println!(
            "{}: paired median added {:+.2} ms; portal JSON {:.0} bytes a search; {} the 15 % target at p50",
            r.set,
            r.paired_median_added_ms,
            r.portal_body_bytes,
            if r.p50_ratio <= 1.15 {
                "meets"
            } else {
                "misses"
            }
        );
    }

    let now = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    std::fs::create_dir_all(&cli.results_dir)?;
    let stem = format!("portal-{date}-{}n", cli.nodes);
    let path = (1..)
        .map(|n| match n {
            1 => cli.results_dir.join(format!("{stem}.json")),
            n => cli.results_dir.join(format!("{stem}-{n}.json")),
        })
        .find(|path| !path.exists())
        .unwrap_or_else(|| cli.results_dir.join(format!("{stem}.json")));
    let out = json!({
        "date": date,
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": machine,
        "settings": {
            "nodes": cli.nodes,
            "docs_per_node": cli.docs,
            "mean_words": mean_words,
            "rounds": cli.rounds,
            "limit": 10,
            "snippets": true,
            "facets": true,
            "clients": 1,
        },
        "target": "portal p50 ≤ 1.15 × gRPC p50",
        "sets": results,
    });
    std::fs::write(&path, serde_json::to_string_pretty(&out)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("results: {}", path.display());
    Ok(())
}
