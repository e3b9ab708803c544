//! # Tudásháló benchmarks
//!
//! One run measures a federation of kistérség nodes and a hub, each a
//! separate process over mTLS on loopback, against the centralised
//! alternative: one PostgreSQL holding every document and observation.
//! `bench/run.sh` builds the release binaries and runs `tudashalo-bench`;
//! `BENCHMARKS.md` describes what is measured and holds the latest table.
//!
//! ## Layout
//! - [`corpus`]: the project's generator writes every node's files; the
//!   query sets.
//! - [`cluster`]: certificates, node folders, nodes and hub as processes
//!   (or in-process, for the smoke test); resident memory.
//! - [`cpu`]: CPU time of the processes answering a phase, from `/proc`.
//! - [`footprint`]: a node's data folder on disk (store, index, the rest)
//!   against its input.
//! - [`load`]: bounded request loops (closed loop), percentiles, memory
//!   sampling.
//! - [`open_loop`]: requests at a constant rate over N connections, timed
//!   from their scheduled send time, counted by gRPC code.
//! - [`pg`]: the private PostgreSQL cluster, its schema, load and queries.
//! - [`run`]: one scale from start to finish.
//! - [`report`]: JSON, the Markdown table and the targets.
//! - [`relevance`]: the judged queries through a hub and one node (the
//!   `relevance` command; ranking, not speed).
//! - [`soak`], [`soak_verdict`]: the `soak` command — a constant rate
//!   through the hub for minutes, a member killed and one stalled on the
//!   way, memory sampled — and its verdict.

use std::future::Future;
use std::process::ExitCode;

pub mod cluster;
pub mod corpus;
pub mod cpu;
pub mod footprint;
pub mod load;
pub mod open_loop;
pub mod pg;
pub mod relevance;
pub mod report;
pub mod run;
pub mod soak;
pub mod soak_verdict;

/// What the bench's commands do in `main`: runs `run` on a new tokio
/// runtime and turns its outcome into the exit code (an error goes to
/// stderr, with its causes, and exits 1).
pub fn block_on_main(run: impl Future<Output = anyhow::Result<ExitCode>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run).unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}
