//! `tudashalo-demo`: a whole sample federation on loopback (nodes, a
//! regional hub, certificates, data), then one federated search; serves
//! until Ctrl-C, or stops at once with `--once`. See the crate's library for
//! what it does and where it keeps its state.

use std::process::ExitCode;

use clap::Parser;
use tudashalo_demo::DemoArgs;

/// Run a whole sample federation on loopback: nodes, a hub, certificates, data.
#[derive(Debug, Parser)]
#[command(name = "tudashalo-demo", version, about)]
struct Cli {
    #[command(flatten)]
    args: DemoArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo speaks for itself; its servers log only warnings unless asked
    // (TUDASHALO_LOG=info).
    let filter = tracing_subscriber::EnvFilter::try_from_env("TUDASHALO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match tudashalo_demo::main(cli.args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
