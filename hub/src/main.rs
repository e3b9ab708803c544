//! `tudashalo-hub`: the regional hub's command-line entry point.
//!
//! Subcommands:
//!
//! - `pki init` / `pki issue`: create the federation CA and issue node, hub and
//!   operator certificates for mutual TLS (see [`tudashalo_hub::pki`]).
//!
//! Further subcommands (`serve`, `search`, `demo`, `pull`) are added to
//! [`Command`] as they are implemented.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use tudashalo_hub::pki::{self, IssueRequest, Role};

/// Tudásháló regional hub.
#[derive(Debug, Parser)]
#[command(name = "tudashalo-hub", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Certificate tooling for the federation's mutual TLS.
    #[command(subcommand)]
    Pki(PkiCommand),
    // Planned, implemented elsewhere: Serve, Search, Demo, Pull.
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Create a new self-signed CA (DIR/ca.pem and DIR/ca.key).
    Init(InitArgs),
    /// Issue a CA-signed certificate (DIR/NAME.pem and DIR/NAME.key).
    Issue(IssueArgs),
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
    }
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
