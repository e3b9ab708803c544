//! `init`, `stats` and `reindex`: creating a data folder, counting what it
//! holds, and rebuilding its search index from the store.

use std::path::Path;
use std::process::ExitCode;

use tudashalo_node::Node;

/// `init`: a data folder with a commented `node.toml`.
pub(crate) fn init(
    data: &Path,
    name: &str,
    display_name: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let path = Node::init(data, name, display_name)?;
    println!("created {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `stats`: counts of documents (by visibility), observations and
/// indicators, the generation and the store's size.
pub(crate) fn stats(data: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let node = Node::open(data)?;
    let stats = node.stats()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        println!("{} ({})", stats.display_name, stats.name);
        let mut vis: Vec<_> = stats.documents_by_visibility.iter().collect();
        vis.sort();
        let vis: Vec<String> = vis.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("documents:    {} ({})", stats.documents, vis.join(", "));
        println!("observations: {}", stats.observations);
        println!("indicators:   {}", stats.indicators);
        println!("generation:   {}", stats.generation);
        println!(
            "store:        {:.1} MiB",
            stats.store_bytes as f64 / 1048576.0
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `reindex`: the index rebuilt from the store, from scratch.
pub(crate) fn reindex(data: &Path) -> anyhow::Result<ExitCode> {
    let node = Node::open(data)?;
    let started = std::time::Instant::now();
    let count = node.reindex()?;
    println!(
        "reindexed {count} documents in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
