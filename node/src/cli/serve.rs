//! `serve`: the node over mTLS gRPC, with TLS files from the flags or
//! `node.toml`, reloaded while serving, until a shutdown signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use tudashalo_node::{Error, Node};
use tudashalo_proto::tls::TlsFiles;

use super::audit::apply_signer;
use crate::ServeArgs;

pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let node = match Node::open(&args.data) {
        Ok(node) => node,
        Err(e @ Error::Locked { .. }) => bail!("{e}"),
        Err(e) => return Err(e.into()),
    };
    let configured = node.config().tls.clone();
    let pick = |flag: Option<PathBuf>, from_config: Option<PathBuf>, what: &str| {
        flag.or(from_config)
            .with_context(|| format!("no TLS {what}: give --{what} or set [tls] {what} in node.toml (there is no plaintext mode)"))
    };
    let files = TlsFiles {
        cert: pick(
            args.cert,
            configured.as_ref().map(|t| t.cert.clone()),
            "cert",
        )?,
        key: pick(args.key, configured.as_ref().map(|t| t.key.clone()), "key")?,
        ca: pick(args.ca, configured.as_ref().map(|t| t.ca.clone()), "ca")?,
        crl: None,
    };
    // Checkpoints are signed with the key the node serves with; the log is
    // cut to its bounds before the first request (here, off the runtime).
    apply_signer(&node, Some((files.cert.clone(), files.key.clone())));
    if let Err(e) = node.audit().prune() {
        tracing::error!(error = %e, "cannot prune the audit log");
    }
    let tls = tudashalo_proto::tls::ReloadingTls::with_options(
        files,
        node.config().revocation.tls_options(),
    )?;
    node.metrics().registry().watch_crl(tls.clone());
    let listen: SocketAddr = match args.listen {
        Some(addr) => addr,
        None => node.config().listen.parse()?,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let node = Arc::new(node);
        tudashalo_node::metrics::register_collector(&node);
        // One signal stops every listener.
        let when_stopped = tudashalo_proto::serve::shared_shutdown();
        let metrics = match &node.config().metrics {
            Some(section) => {
                let registry = node.metrics().registry().clone();
                let (addr, task) =
                    tudashalo_proto::metrics::http::start(registry, section, when_stopped())
                        .await
                        .map_err(|e| anyhow::anyhow!("node.toml: {e}"))?;
                tracing::info!(%addr, "metrics serving");
                println!("metrics on http://{addr}/metrics");
                Some(task)
            }
            None => None,
        };
        let portal = match &node.config().portal {
            Some(section) => {
                let checked = section
                    .check(std::path::Path::new("."))
                    .map_err(|e| anyhow::anyhow!("node.toml: {e}"))?;
                // Uploaded files' extractors run in child processes of
                // this binary, as the CLI's imports do.
                let isolation = tudashalo_node::import::isolate::Isolation::this_executable()?;
                let backend = Arc::new(tudashalo_node::portal::NodeBackend::new(
                    node.clone(),
                    isolation,
                ));
                let bound = tudashalo_portal::serve::bind(backend, checked)
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                tracing::info!(url = %bound.url, "portal serving");
                println!("portal on {}", bound.url);
                Some(tokio::spawn(bound.serve(when_stopped())))
            }
            None => None,
        };
        // `tudashalo-node backup` beside the serving node asks it here.
        #[cfg(unix)]
        let control = match tudashalo_node::control::ControlSocket::bind(&args.data) {
            Ok(socket) => {
                tracing::info!(path = %socket.path().display(), "control socket");
                Some(tokio::spawn(socket.serve(node.clone(), when_stopped())))
            }
            Err(e) => {
                tracing::warn!(error = %e, "no control socket: `tudashalo-node backup` cannot reach this node while it serves");
                None
            }
        };
        tracing::info!(node = node.name(), %addr, "serving over mTLS");
        println!("listening on https://{addr}");
        tudashalo_node::server::serve_reloading(node, listener, tls, when_stopped()).await?;
        if let Some(portal) = portal {
            portal.await??;
        }
        if let Some(metrics) = metrics {
            metrics.await??;
        }
        #[cfg(unix)]
        if let Some(control) = control {
            control.await?;
        }
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
