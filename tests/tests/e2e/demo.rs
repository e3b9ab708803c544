//! `tudashalo-demo` in-process, as `--once` runs it: certificates, data,
//! nodes and a hub on loopback, one federated search, a national pull; and a
//! second run on the same folder that reuses everything.

use std::collections::BTreeSet;
use std::time::Duration;

use tudashalo_demo::generate::{self, Spec};
use tudashalo_demo::{self as demo, DemoOptions, DemoReport};
use tudashalo_hub::config::HubConfig;
use tudashalo_proto::pb::MemberState;

/// Generous: two runs import and index in a debug build. A guard against
/// hangs, not a timing assertion.
const RUN_GUARD: Duration = Duration::from_secs(120);

async fn run(options: DemoOptions) -> DemoReport {
    match tokio::time::timeout(RUN_GUARD, demo::run(options)).await {
        Ok(report) => report.expect("the demo runs"),
        Err(_) => panic!("the demo did not finish within {RUN_GUARD:?}"),
    }
}

fn options(dir: &std::path::Path, seed: u64) -> DemoOptions {
    let mut options = DemoOptions::new(dir);
    options.spec = Spec {
        nodes: 2,
        seed,
        docs_per_node: 20,
        mean_words: 150,
        ..Spec::default()
    };
    options
}

fn hit_ids(report: &DemoReport) -> Vec<(String, String)> {
    report
        .search
        .hits
        .iter()
        .map(|h| (h.member.clone(), h.id.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_runs_once_and_a_second_run_reuses_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let spec = options(dir.path(), 1).spec;
    let kistersegek = generate::kistersegek(&spec);

    let first = run(options(dir.path(), 1)).await;
    assert!(!first.pki_reused, "a new folder gets new certificates");
    assert_eq!(first.members.len(), 2);
    for (m, k) in first.members.iter().zip(&kistersegek) {
        assert_eq!(m.name, k.slug);
        assert!(!m.reused, "{}: imported on the first run", m.name);
        assert_eq!(
            m.rejected, 0,
            "{}: the generator's data imports cleanly",
            m.name
        );
        assert_eq!(m.documents, 20);
        assert_eq!(
            m.observations,
            generate::observations(k, &spec).count(),
            "{}: every observation imported",
            m.name
        );
    }
    assert!(
        first.members[1].windows_1250,
        "the second node's tables are Windows-1250"
    );

    // Every member answered, and hits come from more than one of them.
    assert!(first.all_members_ok(), "{:?}", first.search.members);
    assert!(!first.search.partial);
    assert_eq!(first.search.members.len(), 2);
    for status in &first.search.members {
        assert_eq!(status.state, MemberState::Ok as i32, "{status:?}");
        assert!(
            status.total > 0,
            "{}: no match for the query",
            status.member
        );
    }
    let members_with_hits: BTreeSet<&str> = first
        .search
        .hits
        .iter()
        .map(|h| h.member.as_str())
        .collect();
    assert!(
        members_with_hits.len() >= 2,
        "hits from at least two members: {members_with_hits:?}"
    );

    // The national pull ran through the hub and wrote its file.
    let pull = first.pull.as_ref().expect("the national pull");
    assert!(pull.members_ok);
    assert!(pull.cells > 0);
    let csv = std::fs::read_to_string(&pull.file).unwrap();
    assert!(csv.lines().count() > 1, "{csv}");

    // The printed commands and hub.toml are usable as they stand.
    assert!(first.commands.iter().any(|c| c.contains(" search --hub ")));
    assert!(first.commands.iter().any(|c| c.contains(" pull --hub ")
        && c.contains("--indicator munkanelkuli --by kisterseg,period --from 2015 --format csv")));
    assert!(first.commands.iter().all(|c| c.contains(&first.hub_url)));
    let config = HubConfig::load(&first.hub_config).expect("hub.toml loads");
    assert_eq!(config.members.len(), 2);

    // Everything is stopped: the hub's port is free again.
    let addr: std::net::SocketAddr = first
        .hub_url
        .trim_start_matches("https://")
        .parse()
        .unwrap();
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(),
        "nothing listens at {addr} after the run"
    );

    // A second run on the same folder reuses certificates and data, and
    // answers the same.
    let second = run(options(dir.path(), 1)).await;
    assert!(second.pki_reused, "certificates are reused");
    for (a, b) in first.members.iter().zip(&second.members) {
        assert!(b.reused, "{}: data reused", b.name);
        assert_eq!(
            a.generation, b.generation,
            "{}: nothing re-imported",
            b.name
        );
        assert_eq!(a.documents, b.documents);
        assert_eq!(b.prepared_in, Duration::ZERO);
    }
    assert!(second.all_members_ok());
    assert_eq!(hit_ids(&first), hit_ids(&second));
    assert_eq!(first.search.total, second.search.total);

    // Another seed regenerates the data in place.
    let third = run(options(dir.path(), 2)).await;
    assert!(third.pki_reused);
    assert!(third.members.iter().all(|m| !m.reused));
    assert!(third.all_members_ok());
    assert_ne!(hit_ids(&first), hit_ids(&third));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_refuses_a_node_folder_it_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("nodes").join("edelenyi");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("precious.txt"), "not the demo's").unwrap();
    let err = tokio::time::timeout(RUN_GUARD, demo::run(options(dir.path(), 1)))
        .await
        .expect("no hang")
        .expect_err("a foreign folder stops the demo");
    assert!(err.to_string().contains("not made by the demo"), "{err:#}");
    assert!(foreign.join("precious.txt").exists(), "nothing was deleted");
}
