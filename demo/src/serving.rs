//! Serving the demo federation: every node and the hub in this process
//! over mTLS on loopback ([`Running`], stopped whole also when a step
//! fails), waiting until the hub sees every member healthy, then the
//! federated search and the national pull the demo shows.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::net::TcpListener;
use tudashalo_node::Node;
use tudashalo_proto::pb::{self, MemberState};
use tudashalo_proto::serve::{ServerHandle, StopError};

use crate::{PORTAL_PASSWORD, PORTAL_USER};
use tudashalo_proto::tls::{TlsFiles, TlsMaterial};

use crate::generate::Kisterseg;
use crate::out::{Out, commands};
use crate::state::HUB_TOML_HEADER;
use crate::{
    ANALYST, DemoOptions, DemoReport, HUB_DEADLINE_MS, HUB_NAME, MemberReport, NATIONAL,
    PullReport, READY_TIMEOUT, STOP_TIMEOUT, config,
};
use tudashalo_hub::config::HubConfig;
use tudashalo_hub::federation::Hub;
use tudashalo_hub::member::Health;
use tudashalo_pki::{self as pki};

/// Starts the servers (recorded in `running` so that the caller stops them
/// whatever happens), waits for health, searches and prints.
pub(crate) async fn serve_and_search(
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
    if options.listen_portal.is_some() {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || crate::state::ensure_portal(&dir))
            .await
            .context("portal accounts task")??;
    }
    config::write_hub_toml(
        &hub_config,
        &crate::state::hub_config(hub_addr, options.listen_portal, kistersegek, &members),
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
    let portal_url = match &config.portal {
        Some(section) => Some(running.serve_portal(hub.clone(), section, out).await?),
        None => None,
    };
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

    if let Some(url) = &portal_url {
        out.say(format_args!(
            "Portal on {url}: open it in a browser (log in as {PORTAL_USER} / {PORTAL_PASSWORD} to see what the analyst may)"
        ));
    }
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
        portal_url,
    })
}

/// The indicator and first year of the national pull the demo runs.
pub(crate) const PULL_INDICATOR: &str = "munkanelkuli";
pub(crate) const PULL_FROM: i32 = 2015;

/// Runs the national pull (`pull --indicator munkanelkuli --by
/// kisterseg,period --from 2015 --format csv`) into `DIR/pull-munkanelkuli.csv`.
pub(crate) async fn national_pull(
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

/// The servers of a run, so that they can be stopped in order: the hub
/// first (its member channels close), then the nodes. Dropped (a run that
/// unwinds), every server is still told to stop.
#[derive(Default)]
pub(crate) struct Running {
    portal: Option<ServerHandle<std::io::Error>>,
    hub: Option<ServerHandle>,
    nodes: Vec<(ServerHandle, Arc<Node>)>,
}

impl Running {
    pub(crate) fn serve_node(
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

    pub(crate) fn serve_hub(
        &mut self,
        hub: Arc<Hub>,
        listener: TcpListener,
        tls: TlsMaterial,
    ) -> Result<()> {
        let server = ServerHandle::start(listener, |listener, shutdown| async move {
            tudashalo_hub::server::serve(hub, listener, &tls, shutdown).await
        })?;
        self.hub = Some(server);
        Ok(())
    }

    /// Starts the portal of `hub` as `section` configures it (paths
    /// already resolved), on the hub's behalf; returns its URL. A port that
    /// is taken falls back to any free port, as the other servers do.
    pub(crate) async fn serve_portal(
        &mut self,
        hub: Arc<Hub>,
        section: &tudashalo_portal::PortalConfig,
        out: &Out,
    ) -> Result<String> {
        let checked = section
            .check(std::path::Path::new("."))
            .map_err(|e| anyhow::anyhow!("hub.toml: {e}"))?;
        let listener = bind(checked.listen, out).await?;
        let backend = Arc::new(tudashalo_hub::portal::HubBackend::new(hub));
        // The demo's portal is plain HTTP on loopback: no TLS files.
        let bound = tudashalo_portal::serve::bind_listener(backend, checked, listener, None)
            .map_err(|e| anyhow::anyhow!(e))?;
        let url = bound.url.clone();
        let tudashalo_portal::serve::Bound {
            listener, app, tls, ..
        } = bound;
        let server = ServerHandle::start(listener, |listener, shutdown| async move {
            tudashalo_portal::serve::serve(app, listener, tls, shutdown).await
        })?;
        self.portal = Some(server);
        Ok(url)
    }

    /// Stops every server, waiting for each (and then for the nodes' stores
    /// to be released) within bounds. Returns how many servers there were.
    pub(crate) async fn stop(&mut self) -> usize {
        let mut count = 0;
        if let Some(portal) = self.portal.take() {
            finish("portal", portal).await;
            count += 1;
        }
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
pub(crate) async fn finish<E: std::fmt::Display + std::fmt::Debug + Send + 'static>(
    name: &str,
    server: ServerHandle<E>,
) {
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
pub(crate) async fn bind(addr: SocketAddr, out: &Out) -> Result<TcpListener> {
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
pub(crate) async fn wait_until_ready(hub: &Hub, hub_url: &str, tls: &TlsMaterial) -> Result<()> {
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
pub(crate) async fn hub_health(url: &str, tls: &TlsMaterial) -> bool {
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

pub(crate) async fn search(
    hub_url: &str,
    tls: &TlsMaterial,
    query: &str,
) -> Result<pb::SearchResponse> {
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
