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
    /// How logs are written to stderr: auto (text on a terminal, JSON lines
    /// otherwise), text or json. Default: TUDASHALO_LOG_FORMAT, else auto.
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<tudashalo_proto::logging::LogFormat>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo speaks for itself; its servers log only warnings unless asked
    // (TUDASHALO_LOG=info).
    match tudashalo_proto::logging::LogFormat::or_from_env(cli.log_format) {
        Ok(format) => tudashalo_proto::logging::init(format, "warn"),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    match tudashalo_demo::main(cli.args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
