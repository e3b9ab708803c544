//! CPU time of the processes that answer a phase's queries (the hub and
//! every node, or the one node, or PostgreSQL's server processes), read
//! from `/proc` before and after the phase and divided by the queries it
//! answered.
//!
//! `/proc/PID/schedstat` is precise (nanoseconds) but describes one thread
//! only — for a process, its main thread, which does little of a tokio
//! server's work — so a process's time is the sum of
//! `/proc/PID/task/TID/schedstat` over its threads. A thread that exits
//! during the phase takes its time with it; for such a process the delta
//! falls back to `/proc/PID/stat` `utime + stime`, which keeps the time of
//! exited threads but counts in clock ticks (`getconf CLK_TCK`, usually
//! 100 a second), and [`CpuUse::processes_from_ticks`] says how often
//! that happened.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use std::time::Instant;

use serde::Serialize;

/// Nanoseconds of one clock tick of `/proc/PID/stat` (`getconf CLK_TCK`;
/// 100 Hz if that cannot be run).
fn tick_ns() -> u64 {
    static TICK: OnceLock<u64> = OnceLock::new();
    *TICK.get_or_init(|| {
        let hz = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&hz| hz > 0)
            .unwrap_or(100);
        1_000_000_000 / hz
    })
}

/// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line, in ticks.
/// The command name (field 2) may hold spaces and parentheses, so fields
/// are counted from the last `)`.
pub fn stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state is field 3, so utime (14) is the 12th here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The parent's id (field 4) of a `/proc/PID/stat` line.
pub fn stat_ppid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The first field of a `schedstat` line: nanoseconds on a CPU.
pub fn schedstat_ns(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

/// One process at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessTime {
    /// Nanoseconds on a CPU of every live thread, by thread id.
    pub threads: HashMap<u32, u64>,
    /// `utime + stime` of the whole process (live and exited threads).
    pub ticks: u64,
}

impl ProcessTime {
    /// Reads process `pid`; `None` if it is gone (or not readable).
    pub fn read(pid: u32) -> Option<ProcessTime> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let ticks = stat_ticks(&stat)?;
        let mut threads = HashMap::new();
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                    continue;
                };
                let ns = std::fs::read_to_string(task.path().join("schedstat"))
                    .ok()
                    .and_then(|s| schedstat_ns(&s));
                if let Some(ns) = ns {
                    threads.insert(tid, ns);
                }
            }
        }
        Some(ProcessTime { threads, ticks })
    }

    /// Nanoseconds spent between `self` (before) and `after`, and whether
    /// they came from clock ticks (some thread exited, or there were no
    /// threads to read).
    pub fn spent_until(&self, after: &ProcessTime, tick_ns: u64) -> (u64, bool) {
        let exited = self.threads.keys().any(|t| !after.threads.contains_key(t));
        if exited || after.threads.is_empty() {
            return (after.ticks.saturating_sub(self.ticks) * tick_ns, true);
        }
        // A thread born during the phase spent all it shows in the phase.
        let ns = after
            .threads
            .iter()
            .map(|(tid, &ns)| ns.saturating_sub(self.threads.get(tid).copied().unwrap_or(0)))
            .sum();
        (ns, false)
    }
}

/// Groups of processes (`hub`, `nodes`, …) whose CPU time a phase measures.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    groups: Vec<(String, Vec<u32>)>,
}

/// A [`Meter`]'s reading at the start of a phase.
#[derive(Debug)]
pub struct Reading {
    at: Instant,
    times: Vec<Vec<Option<ProcessTime>>>,
}

impl Meter {
    /// Measures the processes `pids` as the group `name`.
    pub fn group(mut self, name: &str, pids: impl IntoIterator<Item = u32>) -> Meter {
        self.groups
            .push((name.to_string(), pids.into_iter().collect()));
        self
    }

    /// Whether there is any process to measure (none in-process).
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(|(_, pids)| pids.is_empty())
    }

    pub fn read(&self) -> Reading {
        Reading {
            at: Instant::now(),
            times: self
                .groups
                .iter()
                .map(|(_, pids)| pids.iter().map(|&p| ProcessTime::read(p)).collect())
                .collect(),
        }
    }

    /// What was spent since `before`, for `queries` answered queries, each
    /// answered by `members` members (1 for a lone server).
    pub fn since(&self, before: &Reading, queries: usize, members: usize) -> CpuUse {
        let after = self.read();
        let wall_s = after.at.duration_since(before.at).as_secs_f64();
        let mut use_ = CpuUse {
            queries,
            members,
            wall_s,
            ..CpuUse::default()
        };
        let tick = tick_ns();
        let mut ms_by_group = Vec::with_capacity(self.groups.len());
        for (g, (name, _)) in self.groups.iter().enumerate() {
            let mut ns = 0u64;
            for (b, a) in before.times[g].iter().zip(&after.times[g]) {
                match (b, a) {
                    (Some(b), Some(a)) => {
                        let (spent, from_ticks) = b.spent_until(a, tick);
                        ns += spent;
                        use_.processes += 1;
                        use_.processes_from_ticks += usize::from(from_ticks);
                    }
                    // Gone (or never there): not counted, but said.
                    _ => use_.processes_missing += 1,
                }
            }
            ms_by_group.push((name.clone(), ns as f64 / 1e6));
        }
        use_.set_totals(ms_by_group);
        use_
    }
}

/// CPU time spent answering one phase's queries.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CpuUse {
    /// Processes measured (read before and after).
    pub processes: usize,
    /// Of those, how many were measured in clock ticks (a thread exited).
    pub processes_from_ticks: usize,
    /// Processes that could not be read before or after (not counted).
    pub processes_missing: usize,
    /// Queries answered in the phase (the warm-up pass is outside it).
    pub queries: usize,
    /// Members answering each query (N through the hub, 1 for one server).
    pub members: usize,
    /// Wall time between the two readings.
    pub wall_s: f64,
    /// CPU milliseconds of every process together.
    pub total_ms: f64,
    /// CPU seconds per wall second (2.0: both cores of the machine busy).
    pub cores_busy: f64,
    /// `total_ms / queries`.
    pub ms_per_query: f64,
    /// `total_ms / queries / members`: what a query costs per member.
    pub ms_per_query_per_member: f64,
    /// CPU milliseconds per query of each group (`hub`, `nodes`, …).
    pub ms_per_query_by: BTreeMap<String, f64>,
}

impl CpuUse {
    /// Fills the totals from every group's CPU milliseconds.
    fn set_totals(&mut self, ms_by_group: Vec<(String, f64)>) {
        let queries = self.queries.max(1) as f64;
        self.total_ms = ms_by_group.iter().map(|(_, ms)| ms).sum();
        self.cores_busy = if self.wall_s > 0.0 {
            self.total_ms / 1e3 / self.wall_s
        } else {
            0.0
        };
        self.ms_per_query = self.total_ms / queries;
        self.ms_per_query_per_member = self.ms_per_query / self.members.max(1) as f64;
        self.ms_per_query_by = ms_by_group
            .into_iter()
            .map(|(name, ms)| (name, ms / queries))
            .collect();
    }
}

/// Every process whose parent is `parent` (PostgreSQL's backends and
/// background workers are the postmaster's children).
pub fn children_of(parent: u32) -> Vec<u32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<u32> = procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| stat_ppid(&s))
                == Some(parent)
        })
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const STAT: &str = "4242 (tudashalo-node (x) y) S 1 4242 4242 0 -1 4194560 \
        1234 0 0 0 250 37 0 0 20 0 9 0 123456 1000000 5000 18446744073709551615";

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        assert_eq!(stat_ticks(STAT), Some(287));
        assert_eq!(stat_ppid(STAT), Some(1));
        assert_eq!(stat_ticks("garbage"), None);
        assert_eq!(schedstat_ns("19077854 56875409 7\n"), Some(19_077_854));
        assert_eq!(schedstat_ns(""), None);
    }

    fn time(threads: &[(u32, u64)], ticks: u64) -> ProcessTime {
        ProcessTime {
            threads: threads.iter().copied().collect(),
            ticks,
        }
    }

    #[test]
    fn live_threads_give_nanoseconds_and_an_exited_one_falls_back_to_ticks() {
        let before = time(&[(1, 1_000), (2, 5_000)], 10);
        // Thread 3 was born during the phase: all its time counts.
        let after = time(&[(1, 1_500), (2, 6_000), (3, 700)], 11);
        assert_eq!(before.spent_until(&after, 10_000_000), (2_200, false));
        // Thread 2 exited: its time is only in the ticks.
        let after = time(&[(1, 1_500)], 13);
        assert_eq!(before.spent_until(&after, 10_000_000), (30_000_000, true));
    }

    #[test]
    fn totals_are_divided_by_queries_and_members() {
        let mut use_ = CpuUse {
            queries: 100,
            members: 4,
            wall_s: 2.0,
            ..CpuUse::default()
        };
        use_.set_totals(vec![("hub".into(), 200.0), ("nodes".into(), 1800.0)]);
        assert_eq!(use_.total_ms, 2000.0);
        assert_eq!(use_.cores_busy, 1.0);
        assert_eq!(use_.ms_per_query, 20.0);
        assert_eq!(use_.ms_per_query_per_member, 5.0);
        assert_eq!(use_.ms_per_query_by["hub"], 2.0);
        assert_eq!(use_.ms_per_query_by["nodes"], 18.0);
    }

    #[test]
    fn this_process_spends_cpu_while_it_spins() {
        let me = std::process::id();
        let meter = Meter::default().group("me", [me]);
        assert!(!meter.is_empty());
        let before = meter.read();
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed().as_millis() < 50 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let used = meter.since(&before, 10, 1);
        assert_eq!(used.processes, 1);
        assert_eq!(used.processes_missing, 0);
        // 50 ms of spinning, on a shared machine: at least some of it.
        assert!(used.total_ms > 10.0, "{used:?}");
        assert!(used.ms_per_query > 1.0, "{used:?}");
        // A process that does not exist is said, not counted.
        let gone = Meter::default().group("gone", [u32::MAX]);
        let used = gone.since(&gone.read(), 1, 1);
        assert_eq!((used.processes, used.processes_missing), (0, 1));
        assert!(children_of(me).is_empty() || !children_of(me).contains(&me));
    }
}
