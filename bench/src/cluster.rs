//! Starting a federation to measure: certificates, node data folders
//! (initialised and imported), nodes and a hub served over mTLS on loopback.
//!
//! [`Mode::Processes`] runs the release binaries (`tudashalo-node init`,
//! `import`, `serve`; `tudashalo-hub serve`) as separate processes, as they
//! run in production; [`Mode::InProcess`] serves the library crates inside
//! this process instead (the smoke test: no binaries needed). Processes are
//! stopped by their own id (SIGTERM, then SIGKILL) and killed if dropped;
//! the soak also signals them ([`Server::signal`]: SIGKILL, SIGSTOP,
//! SIGCONT) and restarts a node on the port its hub knows
//! ([`Mode::serve_node_on`]), under a hub whose deadlines it sets
//! ([`Deadlines`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::transport::Channel;
use tudashalo_demo::config;
use tudashalo_pki::{self as pki, IssueRequest, Role};
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};
use tudashalo_proto::serve::ServerHandle;
use tudashalo_proto::tls::TlsFiles;

use crate::corpus::Corpus;

/// The hub's name (and the only hub the nodes accept).
pub const HUB_NAME: &str = "regio";
/// The operator the benchmark clients present (role operator).
pub const CLIENT_NAME: &str = "bench";
/// The node that holds every document.
pub const SINGLE_NAME: &str = "egyben";

/// Every node's `[policy]`: the hub relays, operators may search, get and
/// aggregate (what an analyst through the hub needs).
pub const POLICY: &str = r#"[policy]
hubs = ["regio"]

[[policy.grant]]
principal = "operator:*"
allow = ["search", "get", "aggregate_settlement"]
"#;

/// How long a server may take to print its address or become healthy.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// The hub's default deadline: generous, so that a slow answer under load
/// is measured as slow rather than cut off (cut-offs are counted anyway).
pub const HUB_DEADLINE_MS: u64 = 60_000;

/// The deadlines a hub is configured with (`hub.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// `deadline_ms`: for a request whose client sets no timeout.
    pub hub_ms: u64,
    /// Every `[[member]] deadline_ms`: the longest the hub waits on one
    /// member, whatever the client's timeout (`None`: the request's).
    pub member_ms: Option<u64>,
}

/// How the federation runs.
#[derive(Debug, Clone)]
pub enum Mode {
    /// The release binaries in this folder, one process per server.
    Processes { bin_dir: PathBuf },
    /// The library crates, served inside this process.
    InProcess,
}

/// The federation's certificate authority and the identities issued by it.
#[derive(Debug, Clone)]
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    /// A new CA in `dir` with certificates for `nodes`, the single node, the
    /// hub and the benchmark client.
    pub fn create(dir: &Path, nodes: &[String]) -> Result<Pki> {
        std::fs::create_dir_all(dir)?;
        pki::init_ca(dir, "Tudásháló bench CA", 30, true).context("creating the bench CA")?;
        let mut wanted: Vec<(String, Role)> =
            nodes.iter().map(|n| (n.clone(), Role::Node)).collect();
        wanted.push((SINGLE_NAME.to_string(), Role::Node));
        wanted.push((HUB_NAME.to_string(), Role::Hub));
        wanted.push((CLIENT_NAME.to_string(), Role::Operator));
        for (name, role) in wanted {
            pki::issue(
                dir,
                &IssueRequest {
                    name: name.clone(),
                    role,
                    hosts: Vec::new(),
                    days: 7,
                    force: true,
                },
            )
            .with_context(|| format!("issuing a certificate for {name}"))?;
        }
        Ok(Pki {
            dir: dir.to_path_buf(),
        })
    }

    /// [`Pki::create`] in `dir` for every node of `corpus`, on the blocking
    /// pool (key generation is not for the async workers).
    pub async fn for_corpus(dir: &Path, corpus: &Corpus) -> Result<Pki> {
        let (dir, slugs) = (dir.to_path_buf(), corpus.slugs());
        tokio::task::spawn_blocking(move || Pki::create(&dir, &slugs)).await?
    }

    pub fn files(&self, name: &str) -> TlsFiles {
        TlsFiles {
            cert: self.dir.join(format!("{name}.pem")),
            key: self.dir.join(format!("{name}.key")),
            ca: self.dir.join(pki::CA_CERT_FILE),
            crl: None,
        }
    }

    /// A connected client for `url`, as the benchmark operator.
    pub async fn client(&self, url: &str) -> Result<FederationClient<Channel>> {
        let tls = self.files(CLIENT_NAME).load()?;
        Ok(tls.connect(url).await?)
    }
}

/// What importing one node's files took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Imported {
    pub seconds: f64,
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl Mode {
    fn binary(&self, name: &str) -> Result<PathBuf> {
        match self {
            Mode::Processes { bin_dir } => {
                let path = bin_dir.join(name);
                if !path.is_file() {
                    bail!("{} not found: build it first", path.display());
                }
                Ok(path)
            }
            Mode::InProcess => bail!("no binaries in-process"),
        }
    }

    /// Initialises a node folder with [`POLICY`] and imports `files` in one
    /// command (catalogues first), timing the command's wall time.
    pub async fn prepare_node(
        &self,
        data: &Path,
        name: &str,
        files: &[PathBuf],
    ) -> Result<Imported> {
        match self {
            Mode::Processes { .. } => {
                let status = tokio::process::Command::new(self.binary("tudashalo-node")?)
                    .args(["init", "--data"])
                    .arg(data)
                    .args(["--name", name])
                    .stdout(Stdio::null())
                    .status()
                    .await?;
                if !status.success() {
                    bail!("tudashalo-node init for {name} failed: {status}");
                }
            }
            Mode::InProcess => {
                let (data, name) = (data.to_path_buf(), name.to_string());
                tokio::task::spawn_blocking(move || tudashalo_node::Node::init(&data, &name, None))
                    .await??;
            }
        }
        config::set_policy(data, POLICY)?;
        self.import(data, name, files).await
    }

    /// Imports `files` into the initialised node folder `data` in one
    /// command (`tudashalo-node import --json`), timing its wall time: the
    /// import of [`Mode::prepare_node`], and the benchmark's re-import of
    /// the same files.
    pub async fn import(&self, data: &Path, name: &str, files: &[PathBuf]) -> Result<Imported> {
        match self {
            Mode::Processes { .. } => {
                let started = Instant::now();
                let output = tokio::process::Command::new(self.binary("tudashalo-node")?)
                    .args(["import", "--json", "--data"])
                    .arg(data)
                    .args(files)
                    .stdin(Stdio::null())
                    .output()
                    .await?;
                let seconds = started.elapsed().as_secs_f64();
                // 0: everything imported; 2: some lines rejected (counted).
                if !matches!(output.status.code(), Some(0 | 2)) {
                    bail!(
                        "tudashalo-node import for {name} failed ({}): {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
                let report: serde_json::Value = serde_json::from_slice(&output.stdout)
                    .context("reading the import's --json report")?;
                let total = |key: &str| report["totals"][key].as_u64().unwrap_or(0);
                Ok(Imported {
                    seconds,
                    added: total("added"),
                    updated: total("updated"),
                    unchanged: total("unchanged"),
                    rejected: total("rejected"),
                })
            }
            Mode::InProcess => {
                let (data, files) = (data.to_path_buf(), files.to_vec());
                tokio::task::spawn_blocking(move || -> Result<Imported> {
                    let started = Instant::now();
                    let node = tudashalo_node::Node::open(&data)?;
                    let options = tudashalo_node::node::ImportOptions::default();
                    let mut imported = Imported::default();
                    for file in &files {
                        let report = node.import_file(file, &options, &|_| {})?;
                        imported.added += report.added as u64;
                        imported.updated += report.updated as u64;
                        imported.unchanged += report.unchanged as u64;
                        imported.rejected += report.rejected as u64;
                    }
                    drop(node);
                    imported.seconds = started.elapsed().as_secs_f64();
                    Ok(imported)
                })
                .await?
            }
        }
    }

    /// Serves the node in `data` on an ephemeral loopback port.
    pub async fn serve_node(
        &self,
        data: &Path,
        name: &str,
        pki: &Pki,
        logs: &Path,
    ) -> Result<Server> {
        self.serve_node_on(data, name, pki, &logs.join(format!("{name}.log")), None)
            .await
    }

    /// Serves the node in `data` on `listen` (`127.0.0.1:PORT`: a node
    /// restarted where its hub expects it; processes only) or, if `None`,
    /// on an ephemeral loopback port, its log in `log`.
    pub async fn serve_node_on(
        &self,
        data: &Path,
        name: &str,
        pki: &Pki,
        log: &Path,
        listen: Option<&str>,
    ) -> Result<Server> {
        match self {
            Mode::Processes { .. } => {
                let files = pki.files(name);
                let mut command = tokio::process::Command::new(self.binary("tudashalo-node")?);
                let mut args = config::node_serve_args(data, &files);
                if let Some(listen) = listen {
                    let at = args
                        .iter()
                        .position(|a| a == "--listen")
                        .context("node_serve_args has no --listen")?;
                    args[at + 1] = listen.into();
                }
                command.args(args);
                Server::spawn(name, command, log).await
            }
            Mode::InProcess if listen.is_some() => bail!("in-process nodes take ephemeral ports"),
            Mode::InProcess => {
                let (data, tls) = (data.to_path_buf(), pki.files(name).load()?);
                let node = tokio::task::spawn_blocking(move || tudashalo_node::Node::open(&data))
                    .await??;
                let server = ServerHandle::loopback(|listener, shutdown| async move {
                    tudashalo_node::server::serve(Arc::new(node), listener, &tls, shutdown).await
                })
                .await?;
                Ok(Server::in_process(name, server))
            }
        }
    }

    /// Writes `hub.toml` for `members` (name, url) and serves the hub,
    /// with the benchmarks' generous [`HUB_DEADLINE_MS`].
    pub async fn serve_hub(
        &self,
        dir: &Path,
        members: &[(String, String)],
        pki: &Pki,
    ) -> Result<Server> {
        let deadlines = Deadlines {
            hub_ms: HUB_DEADLINE_MS,
            member_ms: None,
        };
        self.serve_hub_with(dir, members, pki, deadlines).await
    }

    /// [`Mode::serve_hub`] with the hub's default deadline and every
    /// member's own one as `deadlines` says.
    pub async fn serve_hub_with(
        &self,
        dir: &Path,
        members: &[(String, String)],
        pki: &Pki,
        deadlines: Deadlines,
    ) -> Result<Server> {
        let mut config = config::hub_config(
            HUB_NAME,
            "127.0.0.1:0",
            &pki.files(HUB_NAME),
            members
                .iter()
                .map(|(name, url)| (name.as_str(), url.as_str())),
        );
        config.deadline_ms = deadlines.hub_ms;
        for member in &mut config.members {
            member.deadline_ms = deadlines.member_ms;
        }
        let config_path = dir.join("hub.toml");
        config::write_hub_toml(&config_path, &config, "")?;
        match self {
            Mode::Processes { .. } => {
                let mut command = tokio::process::Command::new(self.binary("tudashalo-hub")?);
                command.args(["serve", "--config"]).arg(&config_path);
                Server::spawn(HUB_NAME, command, &dir.join("hub.log")).await
            }
            Mode::InProcess => {
                let config = tudashalo_hub::config::HubConfig::load(&config_path)?;
                let tls = config.tls_files().load()?;
                let hub = Arc::new(tudashalo_hub::federation::Hub::new(&config, &tls)?);
                let server = ServerHandle::loopback(|listener, shutdown| async move {
                    tudashalo_hub::server::serve(hub, listener, &tls, shutdown).await
                })
                .await?;
                Ok(Server::in_process(HUB_NAME, server))
            }
        }
    }
}

enum Running {
    Process(tokio::process::Child),
    /// Stopped (and, if it hangs, aborted) when dropped.
    InProcess(Option<ServerHandle>),
}

/// A running node or hub.
pub struct Server {
    pub name: String,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    running: Running,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("pid", &self.pid())
            .finish()
    }
}

impl Server {
    /// Spawns `command` (which prints `listening on https://…` on stdout),
    /// logging its stderr to `log`.
    async fn spawn(name: &str, mut command: tokio::process::Command, log: &Path) -> Result<Server> {
        let log = std::fs::File::create(log)?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.trim().strip_prefix("listening on ") {
                    return Ok::<_, anyhow::Error>(url.to_string());
                }
            }
            bail!("{name} stopped before it listened")
        })
        .await
        .with_context(|| format!("{name} did not listen within {START_TIMEOUT:?}"))??;
        // Keep reading stdout so that the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            name: name.to_string(),
            url,
            running: Running::Process(child),
        })
    }

    fn in_process(name: &str, server: ServerHandle) -> Server {
        Server {
            name: name.to_string(),
            url: server.url(),
            running: Running::InProcess(Some(server)),
        }
    }

    /// The process id of a separate process.
    pub fn pid(&self) -> Option<u32> {
        match &self.running {
            Running::Process(child) => child.id(),
            Running::InProcess(_) => None,
        }
    }

    /// Resident memory in bytes (`VmRSS`), for a separate process.
    pub fn rss(&self) -> Option<u64> {
        rss_of(self.pid()?)
    }

    /// The port of `url`.
    pub fn port(&self) -> Option<u16> {
        self.url.rsplit(':').next()?.parse().ok()
    }

    /// Sends `signal` (`STOP`, `CONT`, `KILL`, …) to this process, by its
    /// id (`kill -SIGNAL PID`).
    pub async fn signal(&self, signal: &str) -> Result<()> {
        let pid = self
            .pid()
            .with_context(|| format!("{} is not a running process", self.name))?;
        let status = tokio::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await?;
        if !status.success() {
            bail!("kill -{signal} {pid} ({}) failed: {status}", self.name);
        }
        Ok(())
    }

    /// SIGKILL, and reaps the process.
    pub async fn kill(&mut self) -> Result<()> {
        self.signal("KILL").await?;
        if let Running::Process(child) = &mut self.running {
            child.wait().await?;
        }
        Ok(())
    }

    /// Stops gracefully (SIGTERM to this process only, by its id), killing
    /// it after 10 s.
    pub async fn stop(mut self) -> Result<()> {
        match &mut self.running {
            Running::Process(child) => {
                if let Some(pid) = child.id() {
                    let _ = tokio::process::Command::new("kill")
                        .args(["-TERM", &pid.to_string()])
                        .status()
                        .await;
                }
                match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
                    Ok(status) => {
                        status?;
                    }
                    Err(_) => {
                        child.kill().await?;
                    }
                }
            }
            Running::InProcess(server) => {
                if let Some(server) = server.take() {
                    server
                        .stop()
                        .await
                        .with_context(|| format!("stopping {}", self.name))?;
                }
            }
        }
        Ok(())
    }
}

/// `VmRSS` of process `pid`, in bytes.
pub fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Waits until a search through `url` is answered by `members` members, all
/// `ok` (for a node, `members` is 0 and any answer will do).
/// The one-hit search that checks every member answers (readiness, and
/// the soak's check after its load).
pub fn probe_request() -> pb::SearchRequest {
    pb::SearchRequest {
        query: "fejlesztés".into(),
        limit: 1,
        no_snippets: true,
        no_facets: true,
        ..Default::default()
    }
}

pub async fn wait_ready(client: &mut FederationClient<Channel>, members: usize) -> Result<()> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < START_TIMEOUT {
        let mut request = tonic::Request::new(probe_request());
        request.set_timeout(Duration::from_secs(30));
        match client.search(request).await {
            Ok(response) => {
                let response = response.into_inner();
                let ok = response
                    .members
                    .iter()
                    .filter(|m| m.state == MemberState::Ok as i32)
                    .count();
                if ok == members {
                    return Ok(());
                }
                last = format!("{ok} of {members} members ok");
            }
            Err(status) => last = status.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("not ready within {START_TIMEOUT:?}: {last}")
}
