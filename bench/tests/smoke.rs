//! Smoke test: a tiny benchmark run (2 nodes, 10 documents each, no
//! PostgreSQL) with the nodes and the hub served in-process from the
//! library crates, so that the benchmark code cannot rot.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tudashalo_bench::cluster::Mode;
use tudashalo_bench::load::{Bounds, Extras};
use tudashalo_bench::report::{self, Report};
use tudashalo_bench::run::{self, Queries, RunConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_run_measures_every_figure() {
    let work = tempfile::tempdir().unwrap();
    let config = RunConfig {
        mode: Mode::InProcess,
        scales: vec![2],
        docs_per_node: 10,
        mean_words: 60,
        seed: 1,
        work: work.path().to_path_buf(),
        clients: 2,
        bounds: Bounds {
            rounds: 1,
            max_time: Duration::from_secs(10),
        },
        aggregate_runs: 2,
        settle: Duration::from_millis(10),
        queries: Queries {
            selective: vec!["Becskeháza".into(), "Pusztaszer kerékpárút".into()],
            broad: vec!["önkormányzat".into(), "fejlesztési program".into()],
        },
        extras: Extras::default(),
    };
    let say = |line: String| eprintln!("{line}");
    let scale = tokio::time::timeout(
        Duration::from_secs(120),
        run::scale(&config, 2, None, Some("smoke test"), &say),
    )
    .await
    .expect("the run finishes")
    .expect("the run succeeds");

    assert_eq!(scale.nodes, 2);
    assert_eq!(scale.documents, 20);
    assert_eq!(scale.import.tudashalo.documents, 20);
    assert_eq!(scale.import.tudashalo_rejected, 0);
    assert!(scale.import.tudashalo.documents_per_s > 0.0);
    for phase in [
        &scale.search.hub_selective,
        &scale.search.hub_broad,
        &scale.search.single_selective,
        &scale.search.single_broad,
    ] {
        assert_eq!(phase.latency.requests, 4, "{phase:?}");
        assert_eq!(phase.latency.errors, 0);
        assert_eq!(phase.partial_answers, 0);
        assert!(phase.latency.p50_ms > 0.0);
    }
    assert!(scale.search.hub_broad.mean_matches > 0.0);
    // Global ranking: the hub's top 10 equals the one node's.
    assert_eq!(scale.search.top10_compared, 4);
    assert_eq!(scale.search.top10_identical, 4);
    // 11 aggregatable indicators × 2 kistérségek × 15 years, less the
    // years before a village's IKSZT opened.
    assert!((300..=11 * 2 * 15).contains(&scale.aggregate.hub_cells));
    assert_eq!(scale.aggregate.hub_incomplete, 0);
    assert!(scale.aggregate.hub.requests >= 1);
    assert_eq!(scale.postgres_skipped.as_deref(), Some("smoke test"));
    // In-process there is no process of a server to read the CPU of.
    assert!(scale.search.hub_selective.cpu.is_none());
    // Every node's folder, after the import and after the same import again.
    let disk = &scale.disk;
    assert_eq!(disk.after_import.nodes, 2);
    assert_eq!(disk.after_reimport.nodes, 2);
    assert!(disk.after_import.store.allocated_bytes > 0, "{disk:?}");
    assert!(disk.after_import.index.allocated_bytes > 0, "{disk:?}");
    assert!(disk.after_import.ratio_allocated > 0.0);
    assert_eq!(disk.reimport.documents, 20);
    assert!(
        disk.reimport_unchanged + disk.reimport_updated >= 20,
        "{disk:?}"
    );
    assert_eq!(disk.single_after_import.nodes, 1);

    let report = Report {
        targets: report::targets(&scale),
        scales: vec![scale],
        ..Report::default()
    };
    let md = report::markdown(&report);
    assert!(md.contains("| N = 2 |"), "{md}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["scales"][0]["nodes"], 2);

    let file = work.path().join("BENCHMARKS.md");
    std::fs::write(&file, "# Benchmarks\n").unwrap();
    report::splice(&file, &md).unwrap();
    report::splice(&file, &md).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.matches(report::BEGIN).count(), 1);
    assert!(text.starts_with("# Benchmarks\n"));
}
