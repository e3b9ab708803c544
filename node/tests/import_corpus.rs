//! Replays the corpora of the importer and merge fuzz targets
//! (`fuzz/corpus/<target>`: seeds and minimised inputs) and their past
//! findings (`fuzz/regressions/<target>`, when there are any) through the
//! fuzz targets' own entry points (`tudashalo_node::fuzzing::{tables,
//! jsonl, text, merge}`), so that CI exercises them on stable, without
//! cargo-fuzz. A panic fails the test and names the input.

use std::path::{Path, PathBuf};

use tudashalo_node::fuzzing;

fn files(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("listing {}: {e}", folder.display()));
    files.retain(|p| p.is_file());
    files.sort();
    files
}

/// Runs every corpus and regression input of `target` through `run`, and
/// checks that the seeds are there.
fn replay(target: &str, min_seeds: usize, run: fn(&[u8])) {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus = files(&fuzz.join("corpus").join(target));
    assert!(
        corpus.len() >= min_seeds,
        "{target}: the corpus has {} inputs; the seeds are missing",
        corpus.len()
    );
    let regressions = files(&fuzz.join("regressions").join(target));
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn csv_importers_never_panic_on_their_corpus() {
    replay("import_csv", 10, fuzzing::tables::csv);
}

#[test]
fn jsonl_importers_never_panic_on_their_corpus() {
    replay("import_jsonl", 10, fuzzing::jsonl::jsonl);
}

#[test]
fn text_importer_never_panics_on_its_corpus() {
    replay("import_text", 8, fuzzing::text::text);
}

#[test]
fn merge_order_never_changes_a_result_on_its_corpus() {
    replay("aggregate_merge", 8, fuzzing::merge::merge);
}
