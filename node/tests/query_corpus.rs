//! Replays every file of the query parser's fuzz corpus
//! (`fuzz/corpus/query_parser`, seeds and past crashes alike) through the
//! fuzz target's own entry point, so that CI exercises them on stable,
//! without cargo-fuzz.

use std::path::PathBuf;

use tudashalo_node::fuzzing::QueryHarness;

#[test]
fn every_corpus_input_runs_without_a_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/query_parser");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    inputs.sort();
    assert!(
        inputs.len() >= 24,
        "the corpus has {} inputs; the seeds are missing",
        inputs.len()
    );
    let harness = QueryHarness::new();
    for path in &inputs {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // A panic names the input that caused it.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| harness.run(&data)));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn the_attack_seed_is_refused_without_parsing() {
    // 100,000 `(`: the query that used to overflow the search thread's stack.
    let harness = QueryHarness::new();
    harness.run("(".repeat(100_000).as_bytes());
    // And as deep as the limits allow, on a thread with a blocking-pool
    // sized stack (2 MiB), it parses and searches.
    let deep = format!("{}fejlesztés{}", "(".repeat(16), ")".repeat(16));
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || harness.run(deep.as_bytes()))
        .expect("thread")
        .join()
        .expect("depth 16 runs on a 2 MiB stack");
}

#[test]
fn the_parser_ceiling_holds_on_a_blocking_pool_stack() {
    use tudashalo_core::limits::CEILING_QUERY_DEPTH;
    use tudashalo_core::search::{Audience, SearchQuery};
    use tudashalo_node::index::SearchIndex;
    // The deepest nesting any configuration may allow parses, scores and
    // searches on 2 MiB of stack; one level more is refused by the index
    // itself, whatever the configuration said.
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let index = SearchIndex::in_memory().expect("index");
            let at =
                |depth: usize| format!("{}+alma körte{}", "(".repeat(depth), ")".repeat(depth));
            let query = SearchQuery {
                text: at(CEILING_QUERY_DEPTH),
                limit: 10,
                snippets: true,
                facets: true,
                ..SearchQuery::default()
            };
            index
                .search(&query, Audience::Operator, None, &|_| None)
                .expect("the ceiling's depth is searched");
            let refused = index
                .term_stats(&at(CEILING_QUERY_DEPTH + 1), Audience::Operator)
                .expect_err("one level more is refused");
            assert!(refused.to_string().contains("levels of nested parentheses"));
        })
        .expect("thread")
        .join()
        .expect("no stack overflow at the ceiling");
}
