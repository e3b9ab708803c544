//! The relevance run behind `tudashalo-bench`'s `relevance` command: the
//! generated corpus with the judged documents planted
//! ([`tudashalo_demo::generate::write_judged_documents`]), imported into a
//! hub's nodes and into one node holding every document, all served in
//! this process over mTLS on loopback ([`Mode::InProcess`]); then every
//! judged query through the hub and through the one node
//! ([`tudashalo_demo::relevance::evaluate`]), as the benchmark operator
//! (role operator, the regional analyst's: `local` documents are never
//! theirs to see).
//!
//! It measures ranking only, never speed: nothing here is timed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use tudashalo_demo::generate::{self, Spec};
use tudashalo_demo::relevance::{self, DEPTH, Evaluation};

use crate::cluster::{self, Mode, Pki, SINGLE_NAME, Server};
use crate::corpus;
use crate::run::stop_all;

/// What was searched.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    pub nodes: usize,
    pub docs_per_node: usize,
    pub mean_words: usize,
    pub seed: u64,
    /// Every document, judged ones included (`local` ones too).
    pub documents: usize,
    pub judged_documents: usize,
    pub queries: usize,
    pub depth: usize,
}

/// The figures of one run: `--json` prints this.
#[derive(Debug, Clone, Serialize)]
pub struct RelevanceReport {
    pub setup: Setup,
    /// Through the hub over every node.
    pub hub: Evaluation,
    /// From the one node that holds every document.
    pub single_node: Evaluation,
    /// Queries whose top 10 differ between the two (by name): empty when
    /// the federation ranks as one index does.
    pub differences: Vec<String>,
}

/// Generates, imports, serves and evaluates `spec` under `work` (emptied
/// first), stopping every server before returning.
pub async fn run(spec: &Spec, work: &Path, say: &dyn Fn(String)) -> Result<RelevanceReport> {
    if work.exists() {
        std::fs::remove_dir_all(work)?;
    }
    let input = work.join("input");
    say(format!(
        "generating {} nodes × {} documents of ~{} words, and the judged set",
        spec.nodes, spec.docs_per_node, spec.mean_words
    ));
    let (corpus, judged) = {
        let (input, spec) = (input.clone(), spec.clone());
        tokio::task::spawn_blocking(move || -> Result<_> {
            let corpus = corpus::generate(&input, &spec)?;
            let judged = corpus
                .nodes
                .iter()
                .map(|n| {
                    generate::write_judged_documents(
                        &input.join(&n.kisterseg.slug),
                        &n.kisterseg,
                        &spec,
                    )
                })
                .collect::<std::io::Result<Vec<Option<PathBuf>>>>()?;
            Ok((corpus, judged))
        })
        .await??
    };
    let slugs = corpus.slugs();
    let pki = Pki::for_corpus(&work.join("pki"), &corpus).await?;

    say(format!(
        "importing into {} nodes and into one node",
        spec.nodes
    ));
    let mode = Mode::InProcess;
    let nodes_dir = work.join("nodes");
    let mut everything = Vec::with_capacity(2 * slugs.len());
    for ((input, judged), slug) in corpus.nodes.iter().zip(&judged).zip(&slugs) {
        let mut files = vec![input.files.documents.clone()];
        files.extend(judged.clone());
        mode.prepare_node(&nodes_dir.join(slug), slug, &files)
            .await
            .with_context(|| format!("importing {slug}"))?;
        everything.append(&mut files);
    }
    mode.prepare_node(&nodes_dir.join(SINGLE_NAME), SINGLE_NAME, &everything)
        .await
        .context("importing the one node")?;

    let mut servers: Vec<Server> = Vec::with_capacity(slugs.len() + 2);
    let evaluated = serve_and_evaluate(&mode, work, &slugs, &pki, &mut servers, say).await;
    // The hub first (its member channels close), then the nodes.
    servers.reverse();
    stop_all(servers).await;
    let (hub, single_node) = evaluated?;
    let _ = std::fs::remove_dir_all(work);

    let judged_documents = generate::judged_set().len();
    Ok(RelevanceReport {
        setup: Setup {
            nodes: spec.nodes,
            docs_per_node: spec.docs_per_node,
            mean_words: spec.mean_words,
            seed: spec.seed,
            documents: corpus.documents + judged_documents,
            judged_documents,
            queries: generate::judged_queries().len(),
            depth: DEPTH,
        },
        differences: hub.differences(&single_node),
        hub,
        single_node,
    })
}

/// Serves the nodes, the one node and the hub (pushed onto `servers`, for
/// the caller to stop whatever happens), waits until they answer, and
/// evaluates through the hub and through the one node.
async fn serve_and_evaluate(
    mode: &Mode,
    work: &Path,
    slugs: &[String],
    pki: &Pki,
    servers: &mut Vec<Server>,
    say: &dyn Fn(String),
) -> Result<(Evaluation, Evaluation)> {
    let (nodes_dir, logs) = (work.join("nodes"), work.join("logs"));
    std::fs::create_dir_all(&logs)?;
    let mut members = Vec::with_capacity(slugs.len());
    for slug in slugs {
        let server = mode
            .serve_node(&nodes_dir.join(slug), slug, pki, &logs)
            .await?;
        members.push((slug.clone(), server.url.clone()));
        servers.push(server);
    }
    let single = mode
        .serve_node(&nodes_dir.join(SINGLE_NAME), SINGLE_NAME, pki, &logs)
        .await?;
    let single_url = single.url.clone();
    servers.push(single);
    let hub = mode.serve_hub(work, &members, pki).await?;
    let hub_url = hub.url.clone();
    servers.push(hub);

    let queries = generate::judged_queries();
    let mut client = pki.client(&hub_url).await?;
    cluster::wait_ready(&mut client, slugs.len()).await?;
    say(format!("{} queries through the hub", queries.len()));
    let through_hub = relevance::evaluate(&mut client, queries).await?;
    let mut client = pki.client(&single_url).await?;
    cluster::wait_ready(&mut client, 0).await?;
    say(format!("{} queries against the one node", queries.len()));
    let one_node = relevance::evaluate(&mut client, queries).await?;
    Ok((through_hub, one_node))
}

impl RelevanceReport {
    /// The human report: the setup, the hub's per-query table (worst
    /// first) and means, the one node's means, and whether they agree.
    pub fn text(&self, command: &str) -> String {
        let s = &self.setup;
        let mut out = format!(
            "$ {command}\n\n{} nodes × {} documents (~{} words, seed {}) + {} judged = {} documents; \
             {} queries, top {}\n\n",
            s.nodes,
            s.docs_per_node,
            s.mean_words,
            s.seed,
            s.judged_documents,
            s.documents,
            s.queries,
            s.depth
        );
        out.push_str(&format!("Through the hub ({} nodes)\n\n", s.nodes));
        out.push_str(&self.hub.table());
        out.push_str("\nOne node holding every document\n\n");
        out.push_str(&self.single_node.means_table());
        out.push('\n');
        if self.differences.is_empty() {
            out.push_str("Hub and one node: the same top 10 for every query.\n");
        } else {
            out.push_str(&format!(
                "Hub and one node differ on {} queries: {}\n",
                self.differences.len(),
                self.differences.join(", ")
            ));
        }
        out
    }
}
