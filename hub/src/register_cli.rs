//! The `network` command against a hub or a node: the register's partners
//! across kistérségek and who cooperated with whom. The text and `--json`
//! forms (and those of register records, for `get`) are
//! `tudashalo_core::register_text`'s.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use tudashalo_core::register_text::{network_json, print_network};
use tudashalo_proto::pb;

use crate::client::Connection;

#[derive(Debug, Args)]
pub struct NetworkArgs {
    #[command(flatten)]
    to: Connection,
    /// Only organisations whose name has these words (case and accents ignored).
    #[arg(long, default_value = "")]
    query: String,
    /// Only organisations present in at least this many kistérségek
    /// (2: partners active in more than one).
    #[arg(long, default_value_t = 0)]
    min_members: u32,
    /// Only these members (paths such as edelenyi or del-alfold/kisteleki).
    #[arg(long = "member")]
    members: Vec<String>,
    /// At most this many organisations (0: the server's limit).
    #[arg(long, default_value_t = 0)]
    limit: u32,
    /// The request's deadline; the hub's default when not given.
    #[arg(long)]
    timeout_ms: Option<u64>,
    #[arg(long)]
    json: bool,
}

/// `network`: partners across kistérségek, and who cooperated with whom.
pub async fn network(args: NetworkArgs) -> Result<()> {
    let mut client = args.to.connect().await?;
    let mut request = tonic::Request::new(pb::NetworkRequest {
        query: args.query.clone(),
        min_members: args.min_members,
        members: args.members.clone(),
        limit: args.limit,
    });
    if let Some(ms) = args.timeout_ms {
        request.set_timeout(Duration::from_millis(ms));
    }
    let response = client
        .network(request)
        .await
        .with_context(|| format!("network at {}", args.to.url()))?
        .into_inner();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&network_json(&response))?
        );
    } else {
        print_network(&response);
    }
    Ok(())
}
