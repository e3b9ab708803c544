//! `tudashalo-demo`: a whole federation on loopback, in one process.
//!
//! One run mints (or reuses) a CA and certificates for every participant,
//! generates sample data with [`generate`] and imports it into one node per
//! kistérség (or reuses nodes that already hold it), writes `hub.toml`,
//! serves the nodes and a regional hub over mTLS, waits until the hub sees
//! every member healthy, runs one federated search and prints commands to
//! try by hand. It then serves until Ctrl-C (or, with `--once`, stops at
//! once) and shuts every server down before returning.
//!
//! Layout of the state folder, kept between runs so that a second run
//! starts in seconds:
//!
//! - `pki/`: `ca.pem`, and `NAME.pem` / `NAME.key` for every node, the hub
//!   [`HUB_NAME`], the analyst [`ANALYST`] (role operator) and the national
//!   user [`NATIONAL`] (role national);
//! - `input/<slug>/`: the generated files, as an operator would receive them;
//! - `nodes/<slug>/`: the node data folders, each with its `node.toml` and a
//!   `demo.json` marker saying which spec produced the data;
//! - `hub.toml`: the hub's configuration with the ports of the latest run.
//!
//! The demo never deletes a folder it did not make: a node folder without
//! the marker stops the demo with a message instead.

pub mod config;
pub mod generate;

use std::io::{IsTerminal, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tudashalo_node::Node;
use tudashalo_node::node::{ImportOptions, ImportProgress};
use tudashalo_proto::pb::{self, MemberState};
use tudashalo_proto::serve::{ServerHandle, StopError};
use tudashalo_proto::tls::{TlsFiles, TlsMaterial};

use generate::{Kisterseg, Spec};
use tudashalo_hub::config::{HubConfig, MemberConfig};
use tudashalo_hub::federation::Hub;
use tudashalo_hub::member::Health;
use tudashalo_pki::{self as pki, IssueRequest, Principal, Role};

/// The demo's regional hub.
pub const HUB_NAME: &str = "regio";
/// The analyst who searches through the hub (role operator).
pub const ANALYST: &str = "analyst";
/// The national statistician who pulls aggregates (role national).
pub const NATIONAL: &str = "national";
/// The search the demo runs and suggests.
pub const DEFAULT_QUERY: &str = "óvodai férőhelyek";

/// How long the servers may take to become healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one server may take to stop gracefully before it is aborted,
/// and a node's store to be released after that.
const STOP_TIMEOUT: Duration = tudashalo_proto::serve::STOP_TIMEOUT;
/// The hub's default deadline: loopback, but debug builds are slow.
const HUB_DEADLINE_MS: u64 = 5_000;
/// Certificates are re-issued when they expire sooner than this.
const RENEW_BEFORE: Duration = Duration::from_secs(24 * 3600);

/// `tudashalo-demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The state folder (certificates, node data, hub.toml), kept and reused
    /// between runs.
    #[arg(long, default_value = "./demo-state")]
    pub dir: PathBuf,
    /// How many kistérség nodes.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub nodes: u16,
    /// Seed of the generated data (same seed, same data).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Documents per node.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub docs: u32,
    /// Mean length of a document body, in words.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=100_000))]
    pub mean_words: u32,
    /// Where the regional hub listens; the nodes take the following ports
    /// (any free port when these are taken, or when this port is 0).
    #[arg(long, default_value = "127.0.0.1:7700")]
    pub listen_hub: SocketAddr,
    /// The federated search to run once everything is up.
    #[arg(long, default_value = DEFAULT_QUERY)]
    pub query: String,
    /// Start everything, search, print, stop, exit (for scripts and tests).
    #[arg(long)]
    pub once: bool,
    /// Print the search result as JSON (the `search --json` shape) on
    /// stdout; everything else goes to stderr.
    #[arg(long)]
    pub json: bool,
}

/// Everything [`run`] needs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub dir: PathBuf,
    pub spec: Spec,
    pub listen_hub: SocketAddr,
    /// The first node's port (the others follow); 0 for any free port.
    pub node_base_port: u16,
    pub query: String,
    /// Stop right after the search instead of serving until Ctrl-C.
    pub once: bool,
    /// Print the search as JSON on stdout, and the rest on stderr.
    pub json: bool,
    /// Print nothing and draw no progress bars (tests).
    pub quiet: bool,
    /// How the printed commands invoke this program.
    pub program: String,
}

impl DemoOptions {
    /// Options for a quiet, one-shot demo on any free ports in `dir`, with
    /// the default [`Spec`]: what tests start from.
    pub fn new(dir: impl Into<PathBuf>) -> DemoOptions {
        DemoOptions {
            dir: dir.into(),
            spec: Spec::default(),
            listen_hub: SocketAddr::from(([127, 0, 0, 1], 0)),
            node_base_port: 0,
            query: DEFAULT_QUERY.to_string(),
            once: true,
            json: false,
            quiet: true,
            program: "tudashalo-hub".to_string(),
        }
    }

    /// The options the command line asks for.
    pub fn from_args(args: DemoArgs) -> DemoOptions {
        let node_base_port = match args.listen_hub.port() {
            0 => 0,
            port => port.saturating_add(1),
        };
        DemoOptions {
            dir: args.dir,
            spec: Spec {
                nodes: usize::from(args.nodes),
                seed: args.seed,
                docs_per_node: args.docs as usize,
                mean_words: args.mean_words as usize,
                ..Spec::default()
            },
            listen_hub: args.listen_hub,
            node_base_port,
            query: args.query,
            once: args.once,
            json: args.json,
            quiet: false,
            program: program_name(),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub dir: PathBuf,
    /// `https://127.0.0.1:PORT` of the regional hub.
    pub hub_url: String,
    pub hub_config: PathBuf,
    /// Whether every certificate was already there and still valid.
    pub pki_reused: bool,
    pub members: Vec<MemberReport>,
    /// From the start of serving until every member was healthy.
    pub ready_after: Duration,
    pub query: String,
    /// The federated search's answer, as the analyst sees it.
    pub search: pb::SearchResponse,
    /// The national pull the demo ran, or why it failed.
    pub pull: std::result::Result<PullReport, String>,
    /// The ready-to-paste commands that were printed.
    pub commands: Vec<String>,
}

/// What the demo's national pull wrote.
#[derive(Debug, Clone)]
pub struct PullReport {
    /// The CSV file, in the state folder.
    pub file: PathBuf,
    pub cells: u64,
    pub confidential: u64,
    pub incomplete: u64,
    /// Whether every member contributed.
    pub members_ok: bool,
}

impl DemoReport {
    /// Whether every member answered the search.
    pub fn all_members_ok(&self) -> bool {
        !self.search.members.is_empty()
            && self
                .search
                .members
                .iter()
                .all(|m| m.state == MemberState::Ok as i32)
    }
}

/// One node of the demo.
#[derive(Debug, Clone)]
pub struct MemberReport {
    pub name: String,
    pub display_name: String,
    pub url: String,
    /// The data was already in the node; nothing was generated or imported.
    pub reused: bool,
    /// All documents, `local` ones included.
    pub documents: usize,
    pub observations: usize,
    pub generation: u64,
    /// Records the importer rejected (the generator's data should have none).
    pub rejected: usize,
    /// Whether the node's tables were imported from Windows-1250 files.
    pub windows_1250: bool,
    /// How long generating and importing took (zero when reused).
    pub prepared_in: Duration,
}

/// `tudashalo-demo`: runs the demo on a new runtime and fails when
/// `--once` finds a member that did not answer.
pub fn main(args: DemoArgs) -> Result<()> {
    let options = DemoOptions::from_args(args);
    let once = options.once;
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(run(options))?;
    if once && !report.all_members_ok() {
        bail!("not every member answered the search (see the member list above)");
    }
    Ok(())
}

/// Runs the demo: certificates, data, servers, a search; then serves until
/// Ctrl-C unless `options.once`. Every server is stopped before it returns,
/// also when a step fails.
pub async fn run(options: DemoOptions) -> Result<DemoReport> {
    let out = Out::new(&options);
    let spec = options.spec.clone();
    if spec.nodes == 0 {
        bail!("the demo needs at least one node");
    }
    if spec.docs_per_node == 0 {
        bail!("the demo needs at least one document per node");
    }
    let dir = options.dir.clone();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let kistersegek = generate::kistersegek(&spec);
    out.say(format_args!(
        "Tudásháló demo in {} (seed {}, {} kistérség{}, {} documents each)",
        dir.display(),
        spec.seed,
        kistersegek.len(),
        if kistersegek.len() == 1 { "" } else { "ek" },
        spec.docs_per_node
    ));

    let pki_dir = dir.join("pki");
    let pki_reused = {
        let (pki_dir, kistersegek) = (pki_dir.clone(), kistersegek.clone());
        tokio::task::spawn_blocking(move || ensure_pki(&pki_dir, &kistersegek))
            .await
            .context("certificate task")??
    };
    out.say(format_args!(
        "  certificates: {} in {} (CA, {} nodes, hub {HUB_NAME}, {ANALYST}, {NATIONAL})",
        if pki_reused { "reused" } else { "issued" },
        pki_dir.display(),
        kistersegek.len()
    ));

    let mut prepared = Vec::with_capacity(kistersegek.len());
    for k in &kistersegek {
        let (dir, k, spec, bar) = (dir.clone(), k.clone(), spec.clone(), out.bar(&k.slug));
        let (node, report) =
            tokio::task::spawn_blocking(move || prepare_node(&dir, &k, &spec, &bar))
                .await
                .context("import task")??;
        prepared.push((node, report));
    }

    let mut running = Running::default();
    let outcome = serve_and_search(&options, &out, &kistersegek, prepared, &mut running)
        .await
        .map(|report| DemoReport {
            pki_reused,
            ..report
        });
    let outcome = match outcome {
        Ok(report) if !options.once => {
            out.say(format_args!(
                "\nServing until Ctrl-C (the hub at {}, {} nodes).",
                report.hub_url,
                report.members.len()
            ));
            tudashalo_proto::serve::shutdown_signal().await;
            out.say(format_args!(""));
            Ok(report)
        }
        other => other,
    };
    let stopped = running.stop().await;
    out.say(format_args!(
        "Stopped {} servers; the state is kept in {}: run the demo again to reuse it, delete the folder to start afresh.",
        stopped,
        dir.display()
    ));
    outcome
}

/// Starts the servers (recorded in `running` so that the caller stops them
/// whatever happens), waits for health, searches and prints.
async fn serve_and_search(
    options: &DemoOptions,
    out: &Out,
    kistersegek: &[Kisterseg],
    prepared: Vec<(Node, MemberReport)>,
    running: &mut Running,
) -> Result<DemoReport> {
    let dir = &options.dir;
    let pki_dir = dir.join("pki");
    let files = |name: &str| TlsFiles {
        cert: pki_dir.join(format!("{name}.pem")),
        key: pki_dir.join(format!("{name}.key")),
        ca: pki_dir.join(pki::CA_CERT_FILE),
        crl: None,
    };

    let mut members = Vec::with_capacity(prepared.len());
    for (i, (node, mut report)) in prepared.into_iter().enumerate() {
        let port = match options.node_base_port {
            0 => 0,
            base => base.checked_add(i as u16).unwrap_or(0),
        };
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], port)), out).await?;
        report.url = format!("https://{}", listener.local_addr()?);
        let tls = files(&report.name)
            .load()
            .with_context(|| format!("TLS files of node {}", report.name))?;
        running.serve_node(Arc::new(node), listener, tls)?;
        members.push(report);
    }

    let listener = bind(options.listen_hub, out).await?;
    let hub_addr = listener.local_addr()?;
    let hub_url = format!("https://{hub_addr}");
    let hub_config = dir.join("hub.toml");
    config::write_hub_toml(
        &hub_config,
        &self::hub_config(hub_addr, kistersegek, &members),
        HUB_TOML_HEADER,
    )?;
    let config = HubConfig::load(&hub_config)?;
    let hub_tls = config.tls_files().load().context("the hub's TLS files")?;
    let hub = Arc::new(Hub::new(&config, &hub_tls)?);
    let started = Instant::now();
    running.serve_hub(hub.clone(), listener, hub_tls)?;

    let analyst = files(ANALYST).load().context("the analyst's TLS files")?;
    wait_until_ready(&hub, &hub_url, &analyst).await?;
    let ready_after = started.elapsed();
    drop(hub);

    for m in &members {
        let how = if m.reused {
            "reused".to_string()
        } else {
            format!("imported in {:.1} s", m.prepared_in.as_secs_f64())
        };
        let encoding = if m.windows_1250 {
            " (tables in Windows-1250)"
        } else {
            ""
        };
        out.say(format_args!(
            "  {:<16} {:<28} {:<24} {:>5} documents {:>6} observations  {how}{encoding}",
            m.name, m.display_name, m.url, m.documents, m.observations
        ));
        if m.rejected > 0 {
            out.say(format_args!(
                "  warning: the importer rejected {} records of {} (see the log)",
                m.rejected, m.name
            ));
        }
    }
    out.say(format_args!(
        "Regional hub {HUB_NAME:?} on {hub_url}: all {} members healthy after {} ms (config: {})",
        members.len(),
        ready_after.as_millis(),
        hub_config.display()
    ));

    let commands = commands(options, &hub_url);
    out.say(format_args!("\nTry it from another terminal:"));
    for (what, c) in &commands {
        out.say(format_args!("  # {what}\n  {c}"));
    }
    let search = search(&hub_url, &analyst, &options.query).await?;
    out.say(format_args!(
        "\nFederated search for {:?} as {ANALYST}:",
        options.query
    ));
    if !options.quiet {
        if options.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&tudashalo_hub::client::response_json(&search))?
            );
        } else {
            tudashalo_hub::client::print_response(&options.query, &search);
        }
    }

    // The national statistician's pull, exactly as the printed command does
    // it, into a file of the state folder. A failure is shown, not fatal:
    // the search above is the demo's main act.
    let pull = national_pull(&hub_url, &pki_dir, dir).await;
    match &pull {
        Ok(p) => {
            out.say(format_args!(
                "\nNational pull of {PULL_INDICATOR} by kistérség and year from {PULL_FROM}, as {NATIONAL}: \
                 {} cells, {} confidential, {} incomplete; written to {}",
                p.cells,
                p.confidential,
                p.incomplete,
                p.file.display()
            ));
            for line in std::fs::read_to_string(&p.file)
                .unwrap_or_default()
                .lines()
                .take(6)
            {
                out.say(format_args!("  {line}"));
            }
        }
        Err(e) => out.say(format_args!("\nwarning: the national pull failed: {e}")),
    }

    Ok(DemoReport {
        dir: dir.clone(),
        hub_url,
        hub_config,
        // Set by the caller, which made the certificates.
        pki_reused: false,
        members,
        ready_after,
        query: options.query.clone(),
        search,
        pull,
        commands: commands.into_iter().map(|(_, c)| c).collect(),
    })
}

/// The indicator and first year of the national pull the demo runs.
const PULL_INDICATOR: &str = "munkanelkuli";
const PULL_FROM: i32 = 2015;

/// Runs the national pull (`pull --indicator munkanelkuli --by
/// kisterseg,period --from 2015 --format csv`) into `DIR/pull-munkanelkuli.csv`.
async fn national_pull(
    hub_url: &str,
    pki_dir: &Path,
    dir: &Path,
) -> std::result::Result<PullReport, String> {
    let file = dir.join(format!("pull-{PULL_INDICATOR}.csv"));
    let args = tudashalo_hub::pull::PullArgs {
        hub: hub_url.to_string(),
        cert: pki_dir.join(format!("{NATIONAL}.pem")),
        key: pki_dir.join(format!("{NATIONAL}.key")),
        ca: pki_dir.join(pki::CA_CERT_FILE),
        server: Default::default(),
        indicators: vec![PULL_INDICATOR.to_string()],
        by: vec!["kisterseg".to_string(), "period".to_string()],
        from: Some(PULL_FROM),
        to: None,
        settlements: Vec::new(),
        members: Vec::new(),
        totals: false,
        format: tudashalo_hub::pull::Format::Csv,
        out: Some(file.clone()),
        timeout_ms: Some(HUB_DEADLINE_MS),
    };
    let summary = tudashalo_hub::pull::run(args)
        .await
        .map_err(|e| format!("{e:#}"))?;
    Ok(PullReport {
        file,
        cells: summary.cells,
        confidential: summary.confidential,
        incomplete: summary.incomplete,
        members_ok: !summary.members.is_empty()
            && summary
                .members
                .iter()
                .all(|m| m.state == MemberState::Ok as i32),
    })
}

// ---------------------------------------------------------------------------
// Certificates

/// Makes sure `dir` holds the CA and a valid certificate of the right role
/// for every participant; issues what is missing, expiring or of another
/// role. A new CA means new certificates for everyone. Returns whether
/// everything was reused.
fn ensure_pki(dir: &Path, kistersegek: &[Kisterseg]) -> Result<bool> {
    let ca_cert = dir.join(pki::CA_CERT_FILE);
    let ca_key = dir.join(pki::CA_KEY_FILE);
    let new_ca = !(ca_cert.exists() && ca_key.exists());
    if new_ca {
        pki::init_ca(dir, "Tudásháló demó CA", 3_650, true)?;
    }
    let mut participants: Vec<(String, Role)> = kistersegek
        .iter()
        .map(|k| (k.slug.clone(), Role::Node))
        .collect();
    participants.push((HUB_NAME.into(), Role::Hub));
    participants.push((ANALYST.into(), Role::Operator));
    participants.push((NATIONAL.into(), Role::National));
    let mut issued = false;
    for (name, role) in participants {
        if !new_ca && certificate_usable(dir, &name, role) {
            continue;
        }
        pki::issue(
            dir,
            &IssueRequest {
                name,
                role,
                hosts: Vec::new(),
                days: 825,
                force: true,
            },
        )?;
        issued = true;
    }
    Ok(!new_ca && !issued)
}

/// Whether `NAME.pem` and `NAME.key` exist, name `role:name`, and stay valid
/// for a while.
fn certificate_usable(dir: &Path, name: &str, role: Role) -> bool {
    let Ok(pem) = std::fs::read(dir.join(format!("{name}.pem"))) else {
        return false;
    };
    if !dir.join(format!("{name}.key")).exists() {
        return false;
    }
    let expected = Principal {
        role,
        name: name.to_string(),
    };
    if pki::principal_of_pem(&pem).ok() != Some(expected) {
        return false;
    }
    let Ok((_, parsed)) = x509_parser::pem::parse_x509_pem(&pem) else {
        return false;
    };
    let Ok(cert) = parsed.parse_x509() else {
        return false;
    };
    cert.validity()
        .time_to_expiration()
        .is_some_and(|left| left > RENEW_BEFORE)
}

// ---------------------------------------------------------------------------
// Nodes and their data

/// What produced a node's data; `nodes/<slug>/demo.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Marker {
    generator: u32,
    slug: String,
    index: usize,
    seed: u64,
    docs_per_node: usize,
    mean_words: usize,
    first_year: i32,
    last_year: i32,
    /// Set once every file is imported.
    complete: bool,
    /// The store's generation after the import: anything else means the
    /// data was changed since.
    generation: u64,
}

impl Marker {
    fn new(k: &Kisterseg, spec: &Spec) -> Marker {
        Marker {
            generator: generate::GENERATOR_VERSION,
            slug: k.slug.clone(),
            index: k.index,
            seed: spec.seed,
            docs_per_node: spec.docs_per_node,
            mean_words: spec.mean_words,
            first_year: *spec.years.start(),
            last_year: *spec.years.end(),
            complete: false,
            generation: 0,
        }
    }

    fn same_data(&self, other: &Marker) -> bool {
        Marker {
            complete: false,
            generation: 0,
            ..self.clone()
        } == Marker {
            complete: false,
            generation: 0,
            ..other.clone()
        }
    }
}

const MARKER_FILE: &str = "demo.json";

/// Opens node `k` in `root/nodes/<slug>` with the data `spec` asks for:
/// reused when the marker says it is there, else generated and imported
/// into a fresh folder.
fn prepare_node(
    root: &Path,
    k: &Kisterseg,
    spec: &Spec,
    bar: &ProgressBar,
) -> Result<(Node, MemberReport)> {
    let started = Instant::now();
    let dir = root.join("nodes").join(&k.slug);
    let marker_path = dir.join(MARKER_FILE);
    let wanted = Marker::new(k, spec);
    let found: Option<Marker> = std::fs::read(&marker_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());

    if let Some(found) = &found
        && found.complete
        && found.same_data(&wanted)
    {
        write_node_toml(&dir, k)?;
        let node = Node::open(&dir).with_context(|| format!("opening node {}", k.slug))?;
        if node.generation()? == found.generation {
            bar.finish_and_clear();
            let report = member_report(&node, k, true, 0, started)?;
            return Ok((node, report));
        }
        drop(node);
    }

    if dir.exists() {
        if found.is_none() && std::fs::read_dir(&dir)?.next().is_some() {
            bail!(
                "{} exists but was not made by the demo; choose another --dir or remove it",
                dir.display()
            );
        }
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Node::init(&dir, &k.slug, Some(&k.display_name))?;
    write_node_toml(&dir, k)?;
    write_marker(&marker_path, &wanted)?;

    bar.set_message("generating");
    let files = generate::write_node_files(&root.join("input").join(&k.slug), k, spec)
        .with_context(|| format!("writing the sample files of {}", k.slug))?;
    let node = Node::open(&dir).with_context(|| format!("opening node {}", k.slug))?;
    let mut rejected = 0;
    for (what, path) in [
        ("catalogue", &files.catalogue),
        ("observations", &files.observations),
        ("documents", &files.documents),
    ] {
        bar.set_message(what);
        bar.set_position(0);
        let report = node
            .import_file(path, &ImportOptions::default(), &|p| match p {
                ImportProgress::Total(n) => bar.set_length(n),
                ImportProgress::Done(n) => bar.inc(n),
            })
            .with_context(|| format!("importing {}", path.display()))?;
        for r in report.rejections.iter().take(3) {
            tracing::warn!(node = %k.slug, rejection = %r, "sample record rejected");
        }
        rejected += report.rejected;
    }
    bar.finish_and_clear();
    write_marker(
        &marker_path,
        &Marker {
            complete: true,
            generation: node.generation()?,
            ..wanted
        },
    )?;
    let mut report = member_report(&node, k, false, rejected, started)?;
    report.windows_1250 = files.windows_1250;
    Ok((node, report))
}

fn member_report(
    node: &Node,
    k: &Kisterseg,
    reused: bool,
    rejected: usize,
    started: Instant,
) -> Result<MemberReport> {
    let stats = node.stats()?;
    Ok(MemberReport {
        name: k.slug.clone(),
        display_name: k.display_name.clone(),
        url: String::new(),
        reused,
        documents: stats.documents,
        observations: stats.observations,
        generation: stats.generation,
        rejected,
        windows_1250: k.index == 1,
        prepared_in: if reused {
            Duration::ZERO
        } else {
            started.elapsed()
        },
    })
}

fn write_marker(path: &Path, marker: &Marker) -> Result<()> {
    let text = serde_json::to_string_pretty(marker)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// A TOML string literal.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The demo node's `node.toml`: its certificate from the demo PKI, and a
/// policy that lets the demo hub, the analyst (through the hub) and the
/// national user (its default) in. Rewritten on every run.
fn write_node_toml(dir: &Path, k: &Kisterseg) -> Result<()> {
    let slug = &k.slug;
    let text = format!(
        r#"# Written by `tudashalo-demo` on every run; edits are overwritten.
name = {name}
display_name = {display}

# The demo's certificates, relative to this folder.
[tls]
cert = "../../pki/{slug}.pem"
key = "../../pki/{slug}.key"
ca = "../../pki/{ca}"

[policy]
# The demo's regional hub may search, get documents and aggregate.
hubs = [{hub}]
# The national user (national:{national}) may aggregate at kistérség level:
# the role's default.

# The analyst searches and reads documents through the hub, and may
# aggregate down to settlements (disclosure control still applies).
[[policy.grant]]
principal = "operator:{analyst}"
allow = ["search", "get", "aggregate_settlement"]
"#,
        name = toml_string(slug),
        display = toml_string(&k.display_name),
        ca = pki::CA_CERT_FILE,
        hub = toml_string(HUB_NAME),
        national = NATIONAL,
        analyst = ANALYST,
    );
    let path = dir.join(tudashalo_node::config::FILE_NAME);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// The hub's configuration, with the members at the ports of this run;
/// TLS paths relative to `hub.toml` in the state folder.
fn hub_config(
    listen: SocketAddr,
    kistersegek: &[Kisterseg],
    members: &[MemberReport],
) -> HubConfig {
    let tls = TlsFiles {
        cert: Path::new("pki").join(format!("{HUB_NAME}.pem")),
        key: Path::new("pki").join(format!("{HUB_NAME}.key")),
        ca: Path::new("pki").join(pki::CA_CERT_FILE),
        crl: None,
    };
    let mut config = config::hub_config(HUB_NAME, &listen.to_string(), &tls, []);
    config.display_name = Some("Demó régió".into());
    config.deadline_ms = HUB_DEADLINE_MS;
    config.members = kistersegek
        .iter()
        .zip(members)
        .map(|(k, m)| MemberConfig {
            display_name: Some(k.display_name.clone()),
            ..config::member(&k.slug, &m.url)
        })
        .collect();
    config
}

/// The comment at the top of the demo's `hub.toml`.
const HUB_TOML_HEADER: &str =
    "Written by `tudashalo-demo` on every run: the demo's regional hub and
its members at the ports of the latest run. Paths are relative to this file.";

// ---------------------------------------------------------------------------
// Servers

/// The servers of a run, so that they can be stopped in order: the hub
/// first (its member channels close), then the nodes. Dropped (a run that
/// unwinds), every server is still told to stop.
#[derive(Default)]
struct Running {
    hub: Option<ServerHandle>,
    nodes: Vec<(ServerHandle, Arc<Node>)>,
}

impl Running {
    fn serve_node(
        &mut self,
        node: Arc<Node>,
        listener: TcpListener,
        tls: TlsMaterial,
    ) -> Result<()> {
        let served = node.clone();
        let server = ServerHandle::start(listener, |listener, shutdown| async move {
            tudashalo_node::server::serve(served, listener, &tls, shutdown).await
        })?;
        self.nodes.push((server, node));
        Ok(())
    }

    fn serve_hub(&mut self, hub: Arc<Hub>, listener: TcpListener, tls: TlsMaterial) -> Result<()> {
        let server = ServerHandle::start(listener, |listener, shutdown| async move {
            tudashalo_hub::server::serve(hub, listener, &tls, shutdown).await
        })?;
        self.hub = Some(server);
        Ok(())
    }

    /// Stops every server, waiting for each (and then for the nodes' stores
    /// to be released) within bounds. Returns how many servers there were.
    async fn stop(&mut self) -> usize {
        let mut count = 0;
        if let Some(hub) = self.hub.take() {
            finish("hub", hub).await;
            count += 1;
        }
        for (server, _) in &mut self.nodes {
            server.signal_stop();
        }
        for (server, node) in self.nodes.drain(..) {
            let name = node.name().to_string();
            finish(&name, server).await;
            // Connections may hold the service a moment longer; the store
            // must be closed before the caller may open it again.
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Arc::strong_count(&node) > 1 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if Arc::strong_count(&node) > 1 {
                tracing::warn!(node = %name, "node still in use after stopping");
            }
            let started = Instant::now();
            drop(node);
            tracing::debug!(node = %name, elapsed_ms = started.elapsed().as_millis() as u64, "closed");
            count += 1;
        }
        count
    }
}

/// Stops `server` (aborting it after [`STOP_TIMEOUT`]), logging how.
async fn finish(name: &str, server: ServerHandle) {
    let started = Instant::now();
    match server.stop().await {
        Ok(()) => {
            tracing::debug!(server = %name, elapsed_ms = started.elapsed().as_millis() as u64, "stopped");
        }
        Err(e @ StopError::Hung(_)) => tracing::warn!(server = %name, error = %e, "aborted"),
        Err(e) => tracing::warn!(server = %name, error = %e, "server ended with an error"),
    }
}

/// Binds `addr`, or any free port on the same address when it is taken.
async fn bind(addr: SocketAddr, out: &Out) -> Result<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok(listener),
        Err(e) if addr.port() != 0 && e.kind() == std::io::ErrorKind::AddrInUse => {
            let any = SocketAddr::new(addr.ip(), 0);
            let listener = TcpListener::bind(any)
                .await
                .with_context(|| format!("cannot listen on {any}"))?;
            out.say(format_args!(
                "  note: {addr} is taken; using {} instead",
                listener.local_addr()?
            ));
            Ok(listener)
        }
        Err(e) => Err(e).with_context(|| format!("cannot listen on {addr}")),
    }
}

/// Polls until the hub answers its health service and sees every member up,
/// within [`READY_TIMEOUT`].
async fn wait_until_ready(hub: &Hub, hub_url: &str, tls: &TlsMaterial) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut hub_serving = false;
    loop {
        if !hub_serving {
            hub_serving = hub_health(hub_url, tls).await;
        }
        let down: Vec<&str> = hub
            .members()
            .iter()
            .filter(|m| m.health() != Health::Up)
            .map(|m| m.name.as_str())
            .collect();
        if hub_serving && down.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            if !hub_serving {
                bail!("the hub at {hub_url} did not become healthy within {READY_TIMEOUT:?}");
            }
            bail!(
                "members not healthy within {READY_TIMEOUT:?}: {}",
                down.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Whether the server at `url` reports SERVING on the standard health service.
async fn hub_health(url: &str, tls: &TlsMaterial) -> bool {
    let Ok(endpoint) = tls.endpoint(url) else {
        return false;
    };
    let check = async {
        let channel = endpoint.connect().await.ok()?;
        let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
        let answer = client
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .ok()?;
        Some(
            answer.into_inner().status
                == tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
        )
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), check).await,
        Ok(Some(true))
    )
}

async fn search(hub_url: &str, tls: &TlsMaterial, query: &str) -> Result<pb::SearchResponse> {
    let mut client = tls.connect(hub_url).await?;
    let mut request = tonic::Request::new(pb::SearchRequest {
        query: query.to_string(),
        limit: 10,
        ..Default::default()
    });
    request.set_timeout(Duration::from_millis(HUB_DEADLINE_MS));
    let response = client
        .search(request)
        .await
        .with_context(|| format!("search at {hub_url}"))?;
    Ok(response.into_inner())
}

// ---------------------------------------------------------------------------
// Output

/// Where the human-readable account goes: stdout, or stderr when stdout
/// carries JSON; nowhere when quiet.
struct Out {
    quiet: bool,
    to_stderr: bool,
    bars: bool,
}

impl Out {
    fn new(options: &DemoOptions) -> Out {
        Out {
            quiet: options.quiet,
            to_stderr: options.json,
            bars: !options.quiet && std::io::stderr().is_terminal(),
        }
    }

    fn say(&self, line: std::fmt::Arguments<'_>) {
        if self.quiet {
            return;
        }
        if self.to_stderr {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        } else {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    }

    /// A progress bar for one node's import, drawn only on a terminal.
    fn bar(&self, name: &str) -> ProgressBar {
        if !self.bars {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(0).with_prefix(name.to_string());
        if let Ok(style) = ProgressStyle::with_template(
            "  {prefix:<16} {msg:<12} [{bar:30}] {pos}/{len} ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    }
}

/// The commands the demo suggests, ready to paste, each with what it shows.
fn commands(options: &DemoOptions, hub_url: &str) -> Vec<(&'static str, String)> {
    let pki_dir = options.dir.join("pki");
    let identity = |name: &str| {
        format!(
            "--cert {} --key {} --ca {}",
            shell_quote(&pki_dir.join(format!("{name}.pem")).display().to_string()),
            shell_quote(&pki_dir.join(format!("{name}.key")).display().to_string()),
            shell_quote(&pki_dir.join(pki::CA_CERT_FILE).display().to_string())
        )
    };
    let program = &options.program;
    vec![
        (
            "a federated search, as the analyst",
            format!(
                "{program} search --hub {hub_url} {} {}",
                identity(ANALYST),
                shell_quote(&options.query)
            ),
        ),
        (
            "the national statistician's pull, at kistérség level",
            format!(
                "{program} pull --hub {hub_url} {} --indicator {PULL_INDICATOR} --by kisterseg,period --from {PULL_FROM} --format csv",
                identity(NATIONAL)
            ),
        ),
        (
            "settlement level, as the analyst: small villages' counts are suppressed, missing weights flagged",
            format!(
                "{program} pull --hub {hub_url} {} --indicator munkanelkuli,munkanelkulisegi_rata --by settlement,period --from 2023 --format csv",
                identity(ANALYST)
            ),
        ),
    ]
}

/// Quotes `text` for a POSIX shell when it needs it.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// How to invoke this program in a printed command: its bare name when it is
/// on `PATH`, else its path (relative to the working folder when inside it).
fn program_name() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "tudashalo-hub".to_string();
    };
    let name = exe.file_name().map_or_else(
        || "tudashalo-hub".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|p| p.join(&name) == exe));
    if on_path {
        return name;
    }
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| exe.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or(exe);
    shell_quote(&shown.display().to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(
            shell_quote("demo-state/pki/ca.pem"),
            "demo-state/pki/ca.pem"
        );
        assert_eq!(shell_quote("óvodai férőhelyek"), "'óvodai férőhelyek'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_written_configurations_load() {
        let spec = Spec {
            nodes: 2,
            ..Spec::default()
        };
        let ks = generate::kistersegek(&spec);
        let dir = tempfile::tempdir().unwrap();
        for k in &ks {
            let node_dir = dir.path().join(&k.slug);
            std::fs::create_dir_all(&node_dir).unwrap();
            write_node_toml(&node_dir, k).unwrap();
            let config = tudashalo_node::config::NodeConfig::load(&node_dir).unwrap();
            assert_eq!(config.name, k.slug);
            assert!(config.tls.is_some());
        }
        let members: Vec<MemberReport> = ks
            .iter()
            .enumerate()
            .map(|(i, k)| MemberReport {
                name: k.slug.clone(),
                display_name: k.display_name.clone(),
                url: format!("https://127.0.0.1:{}", 7701 + i),
                reused: false,
                documents: 0,
                observations: 0,
                generation: 0,
                rejected: 0,
                windows_1250: false,
                prepared_in: Duration::ZERO,
            })
            .collect();
        let path = dir.path().join("hub.toml");
        let written = hub_config("127.0.0.1:7700".parse().unwrap(), &ks, &members);
        config::write_hub_toml(&path, &written, HUB_TOML_HEADER).unwrap();
        let config = HubConfig::load(&path).unwrap();
        assert_eq!(config.members.len(), 2);
        assert_eq!(config.members[1].endpoint, "https://127.0.0.1:7702");
        assert_eq!(
            config.members[1].display_name.as_deref(),
            Some(ks[1].display_name.as_str())
        );
        assert_eq!(
            config.tls.ca,
            dir.path().join("pki").join(pki::CA_CERT_FILE)
        );
    }
}
