//! The benchmark corpus: the project's own deterministic generator
//! ([`tudashalo_demo::generate`]) writes every kistérség's input files
//! (documents as JSON Lines, the indicator catalogue, observations as a
//! Hungarian CSV export); the one node that holds everything imports every
//! node's documents file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tudashalo_demo::generate::{self, Kisterseg, NodeFiles, Spec};

/// One kistérség's generated input.
#[derive(Debug, Clone)]
pub struct NodeInput {
    pub kisterseg: Kisterseg,
    pub files: NodeFiles,
    pub documents: usize,
    /// Documents that leave the node (`public` and `federated`).
    pub visible_documents: usize,
    /// Bytes of the three input files.
    pub bytes: u64,
}

impl NodeInput {
    /// The files in import order: catalogue, documents, observations.
    pub fn paths(&self) -> Vec<PathBuf> {
        vec![
            self.files.catalogue.clone(),
            self.files.documents.clone(),
            self.files.observations.clone(),
        ]
    }
}

/// Everything generated for one scale.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub spec: Spec,
    pub nodes: Vec<NodeInput>,
    pub documents: usize,
    pub visible_documents: usize,
    /// Mean words per document body.
    pub mean_body_words: f64,
    /// Bytes of every node's input files.
    pub input_bytes: u64,
    /// Bytes of every node's documents file.
    pub union_bytes: u64,
    pub observations: usize,
    pub seconds: f64,
}

impl Corpus {
    /// The nodes' names (their kistérségek' slugs), in order.
    pub fn slugs(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| n.kisterseg.slug.clone())
            .collect()
    }
}

/// Writes the corpus of `spec` under `dir` (`dir/<slug>/…`).
pub fn generate(dir: &Path, spec: &Spec) -> Result<Corpus> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut union_bytes = 0u64;
    let mut nodes = Vec::with_capacity(spec.nodes);
    let (mut documents, mut visible, mut words, mut observations) = (0usize, 0usize, 0usize, 0);
    for k in generate::kistersegek(spec) {
        let files = generate::write_node_files(&dir.join(&k.slug), &k, spec)
            .with_context(|| format!("writing the files of {}", k.slug))?;
        let text = std::fs::read_to_string(&files.documents)
            .with_context(|| format!("reading {}", files.documents.display()))?;
        let (mut n, mut v) = (0usize, 0usize);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let doc: serde_json::Value = serde_json::from_str(line)?;
            n += 1;
            if doc["visibility"].as_str() != Some("local") {
                v += 1;
            }
            words += doc["body"]
                .as_str()
                .map_or(0, |b| b.split_whitespace().count());
        }
        union_bytes += text.len() as u64;
        observations += generate::observations(&k, spec).count();
        let bytes = [&files.documents, &files.catalogue, &files.observations]
            .iter()
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum();
        documents += n;
        visible += v;
        nodes.push(NodeInput {
            kisterseg: k,
            files,
            documents: n,
            visible_documents: v,
            bytes,
        });
    }
    Ok(Corpus {
        spec: spec.clone(),
        input_bytes: nodes.iter().map(|n| n.bytes).sum(),
        nodes,
        documents,
        visible_documents: visible,
        mean_body_words: words as f64 / documents.max(1) as f64,
        union_bytes,
        observations,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The indicators that can be aggregated by kistérség (every rule but
/// `none`, which only exists at settlement level).
pub fn aggregatable_indicators() -> Vec<String> {
    generate::catalogue()
        .into_iter()
        .filter(|(_, _, _, aggregation)| *aggregation != "none")
        .map(|(code, _, _, _)| code.to_string())
        .collect()
}

/// Selective queries: rare terms, one to three words. Topic words of single
/// sentences of the generator (about 3 % of the documents at any scale),
/// alone or with the name of a settlement of one of the first five (real)
/// kistérségek, so that they exist at every scale and get rarer with it
/// (0.2–1 % of the documents at N = 5).
pub const SELECTIVE_QUERIES: [&str; 10] = [
    "Ispánk kondipark",
    "Velemér borút",
    "Szendrő tanuszoda",
    "Rimóc szegregátum",
    "Abod bölcsőde",
    "Balástya inkubátorház",
    "Hollókő IKSZT",
    "Galvács szociális étkeztetés",
    "tanuszoda",
    "szegregátum",
];

/// Broad queries: common words that match most documents.
pub const BROAD_QUERIES: [&str; 6] = [
    "önkormányzat",
    "fejlesztési",
    "település",
    "társulás",
    "fejlesztési program",
    "önkormányzatok együttműködése",
];
