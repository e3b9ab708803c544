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
//!
//! [`relevance`] scores the judged queries that [`generate`] can plant
//! (recall, MRR and nDCG at 10, leaks) against any federation server; the
//! bench's `relevance` command and the end-to-end test share it.

pub mod config;
pub mod generate;
mod out;
pub mod relevance;
mod serving;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use tudashalo_proto::pb::{self, MemberState};

use generate::Spec;
use out::{Out, program_name};
use serving::{Running, serve_and_search};
use state::{ensure_pki, prepare_node};

/// The demo's regional hub.
pub const HUB_NAME: &str = "regio";
/// The analyst who searches through the hub (role operator).
pub const ANALYST: &str = "analyst";
/// The national statistician who pulls aggregates (role national).
pub const NATIONAL: &str = "national";
/// The search the demo runs and suggests.
pub const DEFAULT_QUERY: &str = "óvodai férőhelyek";
/// The portal account of the analyst, and its password: printed by the
/// demo, so that a newcomer can log in.
pub const PORTAL_USER: &str = "elemzo";
pub const PORTAL_PASSWORD: &str = "tudashalo-demo";

/// How long the servers may take to become healthy.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one server may take to stop gracefully before it is aborted,
/// and a node's store to be released after that.
pub(crate) const STOP_TIMEOUT: Duration = tudashalo_proto::serve::STOP_TIMEOUT;
/// The hub's default deadline: loopback, but debug builds are slow.
pub(crate) const HUB_DEADLINE_MS: u64 = 5_000;
/// Certificates are re-issued when they expire sooner than this.
pub(crate) const RENEW_BEFORE: Duration = Duration::from_secs(24 * 3600);

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
    /// Where the web portal listens (plain HTTP: loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen_portal: SocketAddr,
    /// Do not start the web portal.
    #[arg(long)]
    pub no_portal: bool,
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
    /// Where the web portal listens; `None`: no portal.
    pub listen_portal: Option<SocketAddr>,
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
            listen_portal: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
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
            listen_portal: (!args.no_portal).then_some(args.listen_portal),
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
    /// `http://127.0.0.1:PORT` of the web portal, if one was started.
    pub portal_url: Option<String>,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tudashalo_hub::config::HubConfig;
    use tudashalo_pki as pki;

    use crate::out::shell_quote;
    use crate::state::{HUB_TOML_HEADER, hub_config, write_node_toml};

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
        let written = hub_config("127.0.0.1:7700".parse().unwrap(), None, &ks, &members);
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
