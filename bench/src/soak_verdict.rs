//! Judging a soak ([`crate::soak`]) and saying what it came to.
//!
//! The verdict is a list of named checks, so that the end-to-end test can
//! assert the ones that do not depend on time (codes and member states)
//! and the full run can report every one:
//! - no request ended with another code than `OK`;
//! - every answer came within the client's deadline, counted from its
//!   scheduled send time;
//! - every partial answer lacked only a faulted member, and only while that
//!   member's fault lasted (from the fault to its first `ok` through the
//!   hub again);
//! - both faults were injected and recovered from;
//! - every member answered `ok` through the hub after the load;
//! - the resident memory of every process stayed flat ([`RssRule`]; a
//!   process with too few samples to judge, such as one restarted just
//!   before half of a short run, is named but does not fail the check).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::soak::{Fault, Series, SoakConfig, SoakReport};

pub const NO_ERRORS: &str = "no errors";
pub const WITHIN_DEADLINE: &str = "every answer within its deadline";
pub const PARTIAL_IN_FAULTS: &str = "partial answers only for a faulted member during its fault";
pub const FAULTS_RECOVERED: &str = "both faults injected and recovered from";
pub const ALL_OK_AT_END: &str = "every member ok at the end";
pub const RSS_FLAT: &str = "RSS flat over the second half";

/// When a process's memory counts as flat: the largest RSS over the second
/// half of the run is at most `ratio` × the largest over the first half
/// after warm-up, plus `slack_mib` (page cache of the index files and
/// allocator noise move a few MiB either way). Samples taken during a fault
/// (from its start to `fault_settle` after the member is `ok` again) are
/// its transient, judged in neither half but reported as the fault peak:
/// the question is growth under steady load. A restarted process is judged
/// on its new life only.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RssRule {
    pub ratio: f64,
    pub slack_mib: f64,
}

/// One process's memory over the run, in MiB.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessRss {
    pub name: String,
    pub start_mib: f64,
    pub end_mib: f64,
    /// Largest after warm-up and before half the run (this life).
    pub first_half_max_mib: Option<f64>,
    /// Largest from half the run to the end.
    pub second_half_max_mib: Option<f64>,
    /// What the second half may reach under the rule.
    pub limit_mib: Option<f64>,
    /// `None`: too few samples to judge.
    pub flat: Option<bool>,
    pub restarted: bool,
    /// Largest during the faults' windows (this life), not judged.
    pub fault_peak_mib: Option<f64>,
    /// `RssAnon` (heap, without mapped files) at the start and the end.
    pub start_anon_mib: f64,
    pub end_anon_mib: f64,
}

/// Smallest, median and largest of a set of figures.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        match values.len() {
            0 => Spread::default(),
            n => Spread {
                min: values[0],
                median: if n % 2 == 1 {
                    values[n / 2]
                } else {
                    (values[n / 2 - 1] + values[n / 2]) / 2.0
                },
                max: values[n - 1],
            },
        }
    }
}

/// The memory of every process, judged.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RssReport {
    pub rule: String,
    pub sample_every_s: f64,
    pub hub: ProcessRss,
    pub nodes_start_mib: Spread,
    pub nodes_end_mib: Spread,
    pub nodes_second_half_max_mib: Spread,
    pub nodes_fault_peak_mib: Spread,
    pub nodes_end_anon_mib: Spread,
    /// Processes whose memory grew past the rule.
    pub growing: Vec<String>,
    /// Processes with too few samples to judge.
    pub not_judged: Vec<String>,
    pub processes: Vec<ProcessRss>,
}

/// One named check of the verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    pub passed: bool,
    pub checks: Vec<Check>,
}

impl Verdict {
    /// The check called `name` (one of this module's constants).
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// One process's series judged under `rule`, leaving out `faults` (from,
/// to) in seconds.
fn judge_process(s: &Series, config: &SoakConfig, faults: &[(f64, f64)]) -> ProcessRss {
    let half = config.duration.as_secs_f64() / 2.0;
    let warm_up = config.warm_up.as_secs_f64();
    let last_pid = s.samples.last().map(|x| x.pid);
    let pids: BTreeSet<u32> = s.samples.iter().map(|x| x.pid).collect();
    let in_fault = |t: f64| faults.iter().any(|(from, to)| t >= *from && t <= *to);
    let life = s.samples.iter().filter(|x| Some(x.pid) == last_pid);
    let steady = life.clone().filter(|x| !in_fault(x.t_s));
    let max = |it: &mut dyn Iterator<Item = f64>| it.reduce(f64::max);
    let first = max(&mut steady
        .clone()
        .filter(|x| x.t_s >= warm_up && x.t_s < half)
        .map(|x| x.rss_mib));
    let second = max(&mut steady.filter(|x| x.t_s >= half).map(|x| x.rss_mib));
    let peak = max(&mut life.filter(|x| in_fault(x.t_s)).map(|x| x.rss_mib));
    let limit = first.map(|f| config.rss_rule.ratio * f + config.rss_rule.slack_mib);
    ProcessRss {
        name: s.name.clone(),
        start_mib: s.samples.first().map_or(0.0, |x| x.rss_mib),
        end_mib: s.samples.last().map_or(0.0, |x| x.rss_mib),
        first_half_max_mib: first,
        second_half_max_mib: second,
        limit_mib: limit,
        flat: match (second, limit) {
            (Some(second), Some(limit)) => Some(second <= limit),
            _ => None,
        },
        restarted: pids.len() > 1,
        fault_peak_mib: peak,
        start_anon_mib: s.samples.first().map_or(0.0, |x| x.anon_mib),
        end_anon_mib: s.samples.last().map_or(0.0, |x| x.anon_mib),
    }
}

/// The memory of every process in `series` (the hub's named `hub`), the
/// windows of `faults` left out.
pub fn rss(config: &SoakConfig, series: &[Series], faults: &[Fault]) -> RssReport {
    let settle = config.fault_settle.as_secs_f64();
    let windows: Vec<(f64, f64)> = faults
        .iter()
        .map(|f| (f.at_s, f.recovered_s + settle))
        .collect();
    let processes: Vec<ProcessRss> = series
        .iter()
        .map(|s| judge_process(s, config, &windows))
        .collect();
    let nodes: Vec<&ProcessRss> = processes.iter().filter(|p| p.name != "hub").collect();
    RssReport {
        rule: format!(
            "flat if max VmRSS over [{:.0} s, end] <= {} x max VmRSS over [{:.0} s, {:.0} s) + {} MiB, leaving out each fault from its start to {:.0} s after its member is ok again (a restarted process: its new life only)",
            config.duration.as_secs_f64() / 2.0,
            config.rss_rule.ratio,
            config.warm_up.as_secs_f64(),
            config.duration.as_secs_f64() / 2.0,
            config.rss_rule.slack_mib,
            settle,
        ),
        sample_every_s: config.sample_every.as_secs_f64(),
        hub: processes
            .iter()
            .find(|p| p.name == "hub")
            .cloned()
            .unwrap_or_default(),
        nodes_start_mib: Spread::of(nodes.iter().map(|p| p.start_mib).collect()),
        nodes_end_mib: Spread::of(nodes.iter().map(|p| p.end_mib).collect()),
        nodes_second_half_max_mib: Spread::of(
            nodes.iter().filter_map(|p| p.second_half_max_mib).collect(),
        ),
        nodes_fault_peak_mib: Spread::of(nodes.iter().filter_map(|p| p.fault_peak_mib).collect()),
        nodes_end_anon_mib: Spread::of(nodes.iter().map(|p| p.end_anon_mib).collect()),
        growing: processes
            .iter()
            .filter(|p| p.flat == Some(false))
            .map(|p| p.name.clone())
            .collect(),
        not_judged: processes
            .iter()
            .filter(|p| p.flat.is_none())
            .map(|p| p.name.clone())
            .collect(),
        processes,
    }
}

/// Partial answers that lacked a member that was not faulted, or lacked it
/// outside its fault (the time the hub worked on the request — sent to
/// answered — does not overlap the fault, from its start to the member's
/// first `ok` again); and partial answers per fault.
pub fn partials(report: &SoakReport) -> (Vec<String>, Vec<usize>) {
    // The load's clock starts a moment after the faults' clock.
    const TOLERANCE_S: f64 = 0.05;
    let mut unexpected = Vec::new();
    let mut per_fault = vec![0; report.faults.len()];
    for s in report.sent.iter().filter(|s| s.partial()) {
        let sent = (s.scheduled + s.lag).as_secs_f64();
        let answered = (s.scheduled + s.latency).as_secs_f64();
        for m in &s.reply.missing {
            let fault = report.faults.iter().position(|f| {
                &f.member == m
                    && sent <= f.recovered_s + TOLERANCE_S
                    && answered + TOLERANCE_S >= f.at_s
            });
            match fault {
                Some(i) => per_fault[i] += 1,
                None => unexpected.push(format!(
                    "request {} ({}, sent at {sent:.2} s, answered at {answered:.2} s) lacked {m}",
                    s.index, s.kind
                )),
            }
        }
    }
    (unexpected, per_fault)
}

fn check(name: &str, passed: bool, detail: String) -> Check {
    Check {
        name: name.to_string(),
        passed,
        detail,
    }
}

/// Judges `report` (filling in its memory report).
pub fn judge(config: &SoakConfig, report: &mut SoakReport) -> Verdict {
    report.rss = rss(config, &report.rss_series, &report.faults);
    let load = &report.load;
    let not_ok: Vec<String> = load
        .all
        .codes
        .iter()
        .filter(|(code, _)| code.as_str() != "OK")
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    let (unexpected, per_fault) = partials(report);
    let faults: Vec<String> = report
        .faults
        .iter()
        .zip(&per_fault)
        .map(|(f, n)| {
            format!(
                "{} {} from {:.1} s to {:.1} s: {n} partial",
                f.kind, f.member, f.at_s, f.recovered_s
            )
        })
        .collect();
    let mut checks = vec![
        check(
            NO_ERRORS,
            load.all.errors == 0,
            if not_ok.is_empty() {
                format!("{} requests, all OK", load.all.requests)
            } else {
                not_ok.join(", ")
            },
        ),
        check(
            WITHIN_DEADLINE,
            load.all.late == 0 && load.all.requests > 0,
            format!(
                "{} past {:.1} s; max {:.1} ms from the scheduled time",
                load.all.late, load.deadline_s, load.all.latency.max_ms
            ),
        ),
        check(
            PARTIAL_IN_FAULTS,
            unexpected.is_empty(),
            if unexpected.is_empty() {
                format!(
                    "{} partial, all during the faults",
                    load.all.partial_answers
                )
            } else {
                let mut shown: Vec<String> = unexpected.iter().take(5).cloned().collect();
                if unexpected.len() > 5 {
                    shown.push(format!("and {} more", unexpected.len() - 5));
                }
                format!("{} unexpected: {}", unexpected.len(), shown.join("; "))
            },
        ),
        check(
            FAULTS_RECOVERED,
            report.fault_error.is_none() && report.faults.len() == 2,
            match &report.fault_error {
                Some(e) => e.clone(),
                None => faults.join("; "),
            },
        ),
        check(
            ALL_OK_AT_END,
            report.members_not_ok_at_end.is_empty(),
            if report.members_not_ok_at_end.is_empty() {
                format!("{} of {}", config.nodes, config.nodes)
            } else {
                format!("not ok: {}", report.members_not_ok_at_end.join(", "))
            },
        ),
    ];
    let rss = &report.rss;
    checks.push(check(
        RSS_FLAT,
        rss.growing.is_empty(),
        if rss.growing.is_empty() {
            let judged = rss.processes.len() - rss.not_judged.len();
            match rss.not_judged.len() {
                0 => format!("{judged} processes flat"),
                _ => format!(
                    "{judged} processes flat; too few samples to judge {}",
                    rss.not_judged.join(", ")
                ),
            }
        } else {
            let grew: Vec<String> = rss
                .processes
                .iter()
                .filter(|p| p.flat == Some(false))
                .map(|p| {
                    format!(
                        "{}: {:.1} MiB in the second half, limit {:.1} MiB",
                        p.name,
                        p.second_half_max_mib.unwrap_or(0.0),
                        p.limit_mib
                            .map_or("not judged".into(), |l| format!("{l:.1} MiB"))
                    )
                })
                .collect();
            grew.join("; ")
        },
    ));
    Verdict {
        passed: checks.iter().all(|c| c.passed),
        checks,
    }
}

/// The run for a person.
pub fn summary(config: &SoakConfig, report: &SoakReport) -> String {
    let mut out = format!(
        "Soak: {} nodes and a hub as processes, {} documents, {:.0} s at {}/s over {} connections (setup {:.0} s)\n",
        config.nodes,
        report.documents,
        config.duration.as_secs_f64(),
        config.rate_per_s,
        config.connections,
        report.setup_s
    );
    out.push_str(&format!(
        "deadlines: client {:.1} s, hub {} ms, every member {}\n",
        config.client_deadline.as_secs_f64(),
        config.deadlines.hub_ms,
        config
            .deadlines
            .member_ms
            .map_or("the request's".into(), |m| format!("{m} ms"))
    ));
    out.push_str(&report.load.summary());
    for f in &report.faults {
        out.push_str(&format!(
            "fault: {} {} at {:.1} s, restored at {:.1} s, ok through the hub at {:.1} s\n",
            f.kind, f.member, f.at_s, f.restored_s, f.recovered_s
        ));
    }
    let r = &report.rss;
    out.push_str(&format!(
        "RSS (MiB), start -> end: hub {:.1} -> {:.1} (second-half max {:.1}, peak in the faults {:.1}, heap at the end {:.1})\n",
        r.hub.start_mib,
        r.hub.end_mib,
        r.hub.second_half_max_mib.unwrap_or(0.0),
        r.hub.fault_peak_mib.unwrap_or(0.0),
        r.hub.end_anon_mib,
    ));
    let spread = |s: &Spread| format!("{:.1}/{:.1}/{:.1}", s.min, s.median, s.max);
    out.push_str(&format!(
        "  nodes min/median/max: {} -> {} (second-half max {}, peak in the faults {}, heap at the end {})\n",
        spread(&r.nodes_start_mib),
        spread(&r.nodes_end_mib),
        spread(&r.nodes_second_half_max_mib),
        spread(&r.nodes_fault_peak_mib),
        spread(&r.nodes_end_anon_mib),
    ));
    out.push_str(&format!("RSS rule: {}\n", r.rule));
    for c in &report.verdict.checks {
        out.push_str(&format!(
            "[{}] {}: {}\n",
            if c.passed { "pass" } else { "FAIL" },
            c.name,
            c.detail
        ));
    }
    out.push_str(&format!(
        "verdict: {}\n",
        if report.verdict.passed {
            "PASSED"
        } else {
            "FAILED"
        }
    ));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use tonic::Code;

    use super::*;
    use crate::cluster::Mode;
    use crate::open_loop::{Reply, Sent};
    use crate::soak::Sample;

    fn config() -> SoakConfig {
        // 20 s, warm-up 2 s, settle 1 s, 1.1 × + 8 MiB.
        SoakConfig::short(Mode::InProcess, std::path::PathBuf::new())
    }

    fn series(name: &str, points: &[(f64, u32, f64)]) -> Series {
        Series {
            name: name.into(),
            samples: points
                .iter()
                .map(|&(t_s, pid, rss_mib)| Sample {
                    t_s,
                    pid,
                    rss_mib,
                    anon_mib: rss_mib / 2.0,
                })
                .collect(),
        }
    }

    fn fault(kind: &str, member: &str, at_s: f64, recovered_s: f64) -> Fault {
        Fault {
            kind: kind.into(),
            member: member.into(),
            at_s,
            restored_s: at_s,
            recovered_s,
        }
    }

    #[test]
    fn spreads_have_a_median() {
        let s = Spread::of(vec![3.0, 1.0, 2.0]);
        assert_eq!((s.min, s.median, s.max), (1.0, 2.0, 3.0));
        assert_eq!(Spread::of(vec![4.0, 1.0, 2.0, 3.0]).median, 2.5);
        assert_eq!(Spread::of(Vec::new()).max, 0.0);
    }

    #[test]
    fn growth_fails_and_a_fault_transient_does_not() {
        let faults = [fault("stall", "b", 10.0, 12.0)];
        let flat = series("a", &[(0.0, 1, 5.0), (4.0, 1, 40.0), (15.0, 1, 48.0)]);
        let grows = series("b", &[(4.0, 2, 40.0), (15.0, 2, 60.0)]);
        // 70 MiB during the fault (10 s to 12 s + 1 s), 45 after.
        let spike = series("hub", &[(4.0, 3, 40.0), (11.0, 3, 70.0), (16.0, 3, 45.0)]);
        let report = rss(&config(), &[flat, grows, spike], &faults);
        let by = |n: &str| report.processes.iter().find(|p| p.name == n).unwrap();
        assert_eq!(by("a").flat, Some(true));
        assert_eq!(by("a").limit_mib, Some(1.1 * 40.0 + 8.0));
        assert_eq!(by("b").flat, Some(false));
        assert_eq!(by("hub").flat, Some(true));
        assert_eq!(by("hub").fault_peak_mib, Some(70.0));
        assert_eq!(report.hub.end_anon_mib, 22.5);
        assert_eq!(report.growing, vec!["b".to_string()]);
        assert!(report.not_judged.is_empty());
    }

    #[test]
    fn a_restarted_process_is_judged_on_its_new_life() {
        // Old life large, new life small and flat.
        let s = series("k", &[(3.0, 1, 90.0), (5.0, 7, 30.0), (15.0, 7, 35.0)]);
        let p = &rss(&config(), &[s], &[]).processes[0];
        assert!(p.restarted);
        assert_eq!(p.first_half_max_mib, Some(30.0));
        assert_eq!(p.flat, Some(true));
        // Only a life that began after half the run: not judged.
        let late = series("l", &[(3.0, 1, 90.0), (12.0, 7, 30.0)]);
        assert_eq!(
            rss(&config(), &[late], &[]).not_judged,
            vec!["l".to_string()]
        );
    }

    fn sent(index: usize, at_s: f64, took_s: f64, missing: &[&str]) -> Sent {
        Sent {
            index,
            kind: "search",
            scheduled: Duration::from_secs_f64(at_s),
            lag: Duration::ZERO,
            latency: Duration::from_secs_f64(took_s),
            reply: Reply {
                code: Code::Ok,
                missing: missing.iter().map(|m| m.to_string()).collect(),
            },
        }
    }

    #[test]
    fn a_partial_answer_is_expected_only_from_a_faulted_member_during_its_fault() {
        let report = SoakReport {
            faults: vec![
                fault("kill", "k", 5.0, 8.0),
                fault("stall", "s", 10.0, 13.0),
            ],
            sent: vec![
                // Sent before the kill, answered after it: expected.
                sent(0, 4.5, 0.6, &["k"]),
                sent(1, 7.9, 0.1, &["k"]),
                sent(2, 12.0, 2.0, &["s"]),
                sent(3, 20.0, 0.1, &[]),
                // The killed member after it was ok again.
                sent(4, 9.0, 0.1, &["k"]),
                // A member that was never faulted.
                sent(5, 6.0, 0.1, &["x"]),
                // The stalled member during the other fault.
                sent(6, 6.0, 0.1, &["s"]),
            ],
            ..SoakReport::default()
        };
        let (unexpected, per_fault) = partials(&report);
        assert_eq!(per_fault, vec![2, 1]);
        assert_eq!(unexpected.len(), 3, "{unexpected:?}");
        assert!(unexpected[0].starts_with("request 4 "));
        assert!(unexpected[1].contains("lacked x"));
    }
}
