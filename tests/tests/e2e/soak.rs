//! The soak of issue #17 in the test suite: `tudashalo-bench`'s own soak
//! ([`tudashalo_bench::soak::run`], the code `tudashalo-bench soak` runs
//! for 10 minutes at 33 nodes) for 20 s at 6 nodes, the node and hub
//! binaries of this workspace as real processes on ephemeral ports. A
//! member is killed (SIGKILL) and restarted on its port, another stopped
//! (SIGSTOP) for 3 s and continued, under a constant rate of searches and
//! aggregates through the hub.
//!
//! Asserted on codes and member states only, never on latencies or memory
//! (a loaded test machine may be slow; that is not a failure): no request
//! ends with another code than `OK` and none passes the client's deadline
//! (the hub's 2 s member deadline turns the stopped member into a partial
//! answer long before the client's 5 s); partial answers lack only the
//! faulted members, each during its own fault, and both faults show in
//! them; every member is `ok` again at the end.

use std::time::Duration;

use tudashalo_bench::cluster::Mode;
use tudashalo_bench::soak::{self, SoakConfig};
use tudashalo_bench::soak_verdict::{
    self, ALL_OK_AT_END, FAULTS_RECOVERED, NO_ERRORS, PARTIAL_IN_FAULTS, WITHIN_DEADLINE,
};

use super::support::workspace_binary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_rides_out_a_crash_and_a_stall() {
    let node = workspace_binary("tudashalo-node");
    let hub = workspace_binary("tudashalo-hub");
    let bin_dir = node.parent().expect("the binaries' folder").to_path_buf();
    assert_eq!(hub.parent(), Some(bin_dir.as_path()));
    let work = tempfile::tempdir().expect("work dir");
    let config = SoakConfig::short(Mode::Processes { bin_dir }, work.path().to_path_buf());
    let say = |line: String| eprintln!("{line}");
    // A guard against a hang only: the run itself is 20 s of load.
    let report = tokio::time::timeout(Duration::from_secs(180), soak::run(&config, &say))
        .await
        .expect("the soak finishes")
        .expect("the soak runs");
    eprintln!("{}", soak_verdict::summary(&config, &report));

    for name in [
        NO_ERRORS,
        WITHIN_DEADLINE,
        PARTIAL_IN_FAULTS,
        FAULTS_RECOVERED,
        ALL_OK_AT_END,
    ] {
        let check = report.verdict.check(name).expect(name);
        assert!(check.passed, "{name}: {}", check.detail);
    }
    let expected = (config.rate_per_s * config.duration.as_secs_f64()) as usize;
    assert_eq!(report.load.all.requests, expected);
    assert_eq!(report.load.all.codes.get("OK"), Some(&expected));
    assert!(report.load.by_kind["aggregate"].requests > 0);
    assert!(report.load.by_kind["search"].requests > 0);

    // Both faults happened, and each cost partial answers lacking exactly
    // the faulted member (2 s dead and 3 s stopped at 10 requests a second).
    let faulted: Vec<(&str, &str)> = report
        .faults
        .iter()
        .map(|f| (f.kind.as_str(), f.member.as_str()))
        .collect();
    assert_eq!(faulted.len(), 2, "{faulted:?}");
    assert_eq!((faulted[0].0, faulted[1].0), ("kill", "stall"));
    assert_ne!(faulted[0].1, faulted[1].1);
    let lacking: Vec<&str> = report
        .load
        .partial_by_member
        .keys()
        .map(String::as_str)
        .collect();
    let mut members: Vec<&str> = faulted.iter().map(|f| f.1).collect();
    members.sort();
    assert_eq!(lacking, members, "{:?}", report.load.partial_by_member);
    assert!(report.members_not_ok_at_end.is_empty());

    // The memory of every process was sampled (not judged here).
    assert_eq!(report.rss.processes.len(), config.nodes + 1);
    assert!(report.rss.hub.start_mib > 0.0);
    let killed = report
        .rss
        .processes
        .iter()
        .find(|p| p.name == faulted[0].1)
        .expect("the killed member's memory");
    assert!(killed.restarted);

    let json = serde_json::to_value(&report).expect("JSON");
    assert_eq!(json["load"]["codes"]["OK"], expected);
    assert_eq!(json["faults"][0]["kind"], "kill");
    assert!(
        json["verdict"]["checks"]
            .as_array()
            .is_some_and(|c| c.len() == 6)
    );
}
