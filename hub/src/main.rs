//! `tudashalo-hub`: the regional hub's command-line entry point.
//!
//! Subcommands:
//!
//! - `pki init` / `pki issue`: create the federation CA and issue node, hub and
//!   operator certificates for mutual TLS (see [`tudashalo_pki`]);
//!   `pki csr` / `pki sign`: the same with the key generated where it is used
//!   (`sign` is told the role and name by the CA operator, `--role`/`--name`);
//!   `pki revoke` / `pki crl`: revocation list that servers reload.
//!
//! - `serve`: the hub itself; `search` and `pull`: clients of any hub or node.
//!
//! The demo federation is its own binary, `tudashalo-demo`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use tudashalo_hub::config::HubConfig;
use tudashalo_hub::federation::Hub;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use tudashalo_hub::client;
use tudashalo_pki::{self as pki, CsrRequest, IssueRequest, RevokeReason, Role, SignRequest};

/// Tudásháló regional hub.
#[derive(Debug, Parser)]
#[command(name = "tudashalo-hub", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How logs are written to stderr: auto (text on a terminal, JSON lines
    /// otherwise), text or json. Default: TUDASHALO_LOG_FORMAT, else auto.
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<tudashalo_proto::logging::LogFormat>,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Certificate tooling for the federation's mutual TLS.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Serve the federation contract over mTLS, fanning out to the members in hub.toml.
    Serve {
        #[arg(long)]
        config: PathBuf,
    },
    /// Search a hub (or a node: they serve the same contract).
    Search(client::SearchArgs),
    /// One document, or its original file (--original), through a hub or from a node.
    Get(client::GetArgs),
    /// The register's partners across kistérségek, merged by register
    /// number, and who cooperated with whom.
    Network(tudashalo_hub::register_cli::NetworkArgs),
    /// Pull aggregated indicators as CSV, JSON or SDMX-CSV (streamed).
    Pull(tudashalo_hub::pull::PullArgs),
    /// The web portal's accounts and cookie key (`[portal]` in hub.toml).
    Portal(tudashalo_portal::cli::PortalArgs),
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Create a new self-signed CA (DIR/ca.pem and DIR/ca.key).
    Init(InitArgs),
    /// Issue a CA-signed certificate (DIR/NAME.pem and DIR/NAME.key).
    Issue(IssueArgs),
    /// Make a key and a certificate signing request where the key will live
    /// (DIR/NAME.key and DIR/NAME.csr); send only the .csr to the CA.
    Csr(CsrArgs),
    /// Sign a certificate signing request with the CA (writes CA_DIR/NAME.pem).
    Sign(SignArgs),
    /// Revoke a certificate: record it in DIR/revoked.json and re-issue DIR/crl.pem.
    Revoke(RevokeArgs),
    /// Re-issue DIR/crl.pem from DIR/revoked.json (refreshes its next-update time).
    Crl(CrlArgs),
}

#[derive(Debug, Args)]
struct CsrArgs {
    /// Directory for NAME.key and NAME.csr (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// Participant name, a slug: [a-z0-9][a-z0-9_-]{0,62}.
    #[arg(long)]
    name: String,
    /// Participant role.
    #[arg(long, default_value = "node", value_parser = role_parser())]
    role: Role,
    /// DNS name or IP address for the certificate; comma-separated and
    /// repeatable. Default: localhost,127.0.0.1,::1.
    #[arg(long = "host", value_name = "HOST", value_delimiter = ',')]
    hosts: Vec<String>,
    /// Replace an existing NAME.key.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct SignArgs {
    /// PKI directory holding ca.pem and ca.key.
    #[arg(long)]
    dir: PathBuf,
    /// The certificate signing request (PEM), e.g. from `pki csr`.
    #[arg(long)]
    csr: PathBuf,
    /// The role the certificate is for (required unless --trust-csr): the CA
    /// operator states it; a request for another role is refused.
    #[arg(long, value_parser = role_parser(), required_unless_present = "trust_csr")]
    role: Option<Role>,
    /// The name the certificate is for (required unless --trust-csr): the CA
    /// operator states it; a request for another name is refused.
    #[arg(long, required_unless_present = "trust_csr")]
    name: Option<String>,
    /// Take role and name from the request itself. Only for a request whose
    /// origin has been verified some other way.
    #[arg(long)]
    trust_csr: bool,
    /// Validity in days.
    #[arg(long, default_value_t = 825)]
    days: u32,
    /// Where to write the certificate. Default: DIR/NAME.pem.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an existing certificate file.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct RevokeArgs {
    /// PKI directory holding ca.pem and ca.key.
    #[arg(long)]
    dir: PathBuf,
    /// Participant name (its serial is read from DIR/NAME.pem) or a serial
    /// number in hex.
    #[arg(value_name = "NAME|SERIAL")]
    target: String,
    /// Why the certificate is revoked.
    #[arg(long, default_value = "unspecified", value_parser = reason_parser())]
    reason: RevokeReason,
}

#[derive(Debug, Args)]
struct CrlArgs {
    /// PKI directory holding ca.pem and ca.key.
    #[arg(long)]
    dir: PathBuf,
}

fn reason_parser() -> impl TypedValueParser<Value = RevokeReason> {
    PossibleValuesParser::new(RevokeReason::ALL.map(RevokeReason::as_str))
        .try_map(|s| s.parse::<RevokeReason>())
}

#[derive(Debug, Args)]
struct InitArgs {
    /// PKI directory (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// Common name of the CA.
    #[arg(long, default_value = "Tudásháló CA")]
    name: String,
    /// Validity in days.
    #[arg(long, default_value_t = 3650)]
    days: u32,
    /// Replace an existing ca.key (invalidates every certificate it issued).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct IssueArgs {
    /// PKI directory holding ca.pem and ca.key.
    #[arg(long)]
    dir: PathBuf,
    /// Participant name, a slug: [a-z0-9][a-z0-9_-]{0,62}.
    #[arg(long)]
    name: String,
    /// Participant role.
    #[arg(long, default_value = "node", value_parser = role_parser())]
    role: Role,
    /// DNS name or IP address for the certificate; comma-separated and
    /// repeatable. Default: localhost,127.0.0.1,::1.
    #[arg(long = "host", value_name = "HOST", value_delimiter = ',')]
    hosts: Vec<String>,
    /// Validity in days.
    #[arg(long, default_value_t = 825)]
    days: u32,
    /// Replace an existing NAME.key.
    #[arg(long)]
    force: bool,
}

fn role_parser() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new(Role::ALL.map(Role::as_str)).try_map(|s| s.parse::<Role>())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Servers log their work; the interactive commands (search, pull) speak for themselves and log only warnings unless asked.
    let default = match cli.command {
        Command::Serve { .. } => "info",
        _ => "warn",
    };
    match tudashalo_proto::logging::LogFormat::or_from_env(cli.log_format) {
        Ok(format) => tudashalo_proto::logging::init(format, default),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Pki(cmd) => run_pki(cmd),
        Command::Serve { config } => serve(&config),
        Command::Search(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(client::search(args))
        }
        Command::Get(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(client::get(args))
        }
        Command::Network(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(tudashalo_hub::register_cli::network(args))
        }
        Command::Pull(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(tudashalo_hub::pull::run(args)).map(|_| ())
        }
        Command::Portal(args) => tudashalo_portal::cli::run(args),
    }
}

fn serve(config_path: &std::path::Path) -> Result<()> {
    let config = HubConfig::load(config_path)?;
    // One configuration for both directions: what the hub serves with and
    // what it presents to (and checks of) its members. Reloaded on SIGHUP
    // and on file changes while serving (`serve_reloading` runs the watcher).
    let reloading =
        tudashalo_proto::tls::ReloadingTls::with_options(config.tls_files(), config.tls_options())?;
    let listen: std::net::SocketAddr = config.listen.parse()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let hub = std::sync::Arc::new(Hub::new(&config, &reloading)?);
        hub.metrics().registry().watch_crl(reloading.clone());
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        // One signal stops every listener.
        let when_stopped = tudashalo_proto::serve::shared_shutdown();
        let metrics = match &config.metrics {
            Some(section) => {
                let registry = hub.metrics().registry().clone();
                let (addr, task) = tudashalo_proto::metrics::http::start(registry, section, when_stopped())
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e}", config_path.display()))?;
                tracing::info!(%addr, "metrics serving");
                println!("metrics on http://{addr}/metrics");
                Some(task)
            }
            None => None,
        };
        let portal = match &config.portal {
            Some(section) => {
                let checked = section.check(std::path::Path::new(".")).map_err(|e| anyhow::anyhow!("{}: {e}", config_path.display()))?;
                let backend = std::sync::Arc::new(tudashalo_hub::portal::HubBackend::new(hub.clone()));
                let bound = tudashalo_portal::serve::bind(backend, checked).await.map_err(|e| anyhow::anyhow!(e))?;
                tracing::info!(url = %bound.url, "portal serving");
                println!("portal on {}", bound.url);
                Some(tokio::spawn(bound.serve(when_stopped())))
            }
            None => None,
        };
        tracing::info!(hub = %config.name, %addr, members = config.members.len(), "serving over mTLS");
        println!("listening on https://{addr}");
        tudashalo_hub::server::serve_reloading(hub, listener, reloading, when_stopped()).await?;
        if let Some(portal) = portal {
            portal.await??;
        }
        if let Some(metrics) = metrics {
            metrics.await??;
        }
        tracing::info!("stopped");
        Ok(())
    })
}

fn run_pki(cmd: PkiCommand) -> Result<()> {
    match cmd {
        PkiCommand::Init(args) => {
            let paths = pki::init_ca(&args.dir, &args.name, args.days, args.force)?;
            println!("wrote {}", paths.cert.display());
            println!("wrote {}", paths.key.display());
        }
        PkiCommand::Issue(args) => {
            let req = IssueRequest {
                name: args.name,
                role: args.role,
                hosts: args.hosts.iter().map(|h| h.trim().to_owned()).collect(),
                days: args.days,
                force: args.force,
            };
            let paths = pki::issue(&args.dir, &req)?;
            println!("wrote {}", paths.cert.display());
            println!("wrote {}", paths.key.display());
        }
        PkiCommand::Csr(args) => {
            let req = CsrRequest {
                name: args.name,
                role: args.role,
                hosts: args.hosts.iter().map(|h| h.trim().to_owned()).collect(),
                force: args.force,
            };
            let paths = pki::create_csr(&args.dir, &req)?;
            println!("wrote {}", paths.key.display());
            println!("wrote {}", paths.csr.display());
            println!(
                "send {} to the CA; keep {} here",
                paths.csr.display(),
                paths.key.display()
            );
        }
        PkiCommand::Sign(args) => {
            let req = SignRequest {
                csr: args.csr,
                role: args.role,
                name: args.name.map(|n| n.trim().to_owned()),
                trust_csr: args.trust_csr,
                days: args.days,
                out: args.out,
                force: args.force,
            };
            let signed = pki::sign_csr(&args.dir, &req)?;
            println!(
                "wrote {} ({}, serial {})",
                signed.cert.display(),
                signed.principal.uri(),
                signed.serial
            );
        }
        PkiCommand::Revoke(args) => {
            let done = pki::revoke(&args.dir, &args.target, args.reason)?;
            let who = done
                .revocation
                .principal
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            if done.newly_revoked {
                println!(
                    "revoked serial {}{who}: {}",
                    done.revocation.serial, done.revocation.reason
                );
            } else {
                println!(
                    "serial {}{who} was already revoked at {}",
                    done.revocation.serial,
                    done.revocation.revoked_at_rfc3339()
                );
            }
            println!(
                "wrote {} (CRL number {})",
                done.crl.display(),
                done.crl_number
            );
        }
        PkiCommand::Crl(args) => {
            let (path, number) = pki::write_crl(&args.dir)?;
            println!("wrote {} (CRL number {number})", path.display());
        }
    }
    Ok(())
}

/// The error and its causes joined with ": ", skipping causes whose text the
/// previous message already includes.
fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let msg = cause.to_string();
        if out.contains(&msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}
