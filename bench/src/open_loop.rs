//! The load tool's open-loop mode, as wrk2 sends: requests scheduled at a
//! constant rate (request `i` at `start + i / rate`) whatever the answers
//! do, spread round-robin over N connections (tonic channels), each timed
//! from its *scheduled* send time, so that a stall of the server shows in
//! the latencies instead of silently slowing the sender down (coordinated
//! omission: a closed loop sends nothing while it waits, and so measures
//! one slow request where a real population of clients would have queued
//! many). Every request ends with a gRPC code, and an `OK` answer that
//! some member did not contribute to counts as partial, with the members
//! it lacked: what the soak judges. [`OpenLoopReport`] is stable JSON
//! (fields are only ever added) with a human summary.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use tonic::Code;
use tonic::transport::Channel;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};

use crate::load::{Extras, percentile};

/// How an open-loop run sends.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rate {
    /// Requests per second, all connections together.
    pub per_s: f64,
    /// How long requests are scheduled for (`floor(per_s × duration)` of them).
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    /// The client's deadline of every request: sent as `grpc-timeout` and
    /// enforced here (a request still unanswered then is `DEADLINE_EXCEEDED`).
    #[serde(serialize_with = "seconds")]
    pub deadline: Duration,
    /// Summary buckets of the timeline.
    #[serde(serialize_with = "seconds")]
    pub bucket: Duration,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// What one request's answer came to: its code and, for an `OK` answer,
/// the members that did not contribute.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: Code,
    pub missing: Vec<String>,
}

impl Reply {
    pub fn from_status(status: &tonic::Status) -> Reply {
        Reply {
            code: status.code(),
            missing: Vec::new(),
        }
    }
}

/// One scheduled request, as it ended.
#[derive(Debug, Clone)]
pub struct Sent {
    pub index: usize,
    pub kind: &'static str,
    /// When it was due, from the start of the run.
    pub scheduled: Duration,
    /// How late the sender was in sending it (scheduled → sent).
    pub lag: Duration,
    /// Scheduled send time → answer (or deadline), coordinated omission
    /// corrected.
    pub latency: Duration,
    pub reply: Reply,
}

impl Sent {
    pub fn partial(&self) -> bool {
        self.reply.code == Code::Ok && !self.reply.missing.is_empty()
    }
}

/// Sends request `i` at `start + i / rate.per_s` for `rate.duration`,
/// without waiting for earlier answers: `ask(i)` gives the request's kind
/// and its future (which picks the connection, `i mod N`). Returns every
/// request in schedule order once the last has ended.
pub async fn open_loop<F, Fut>(rate: Rate, ask: F) -> Result<Vec<Sent>>
where
    F: Fn(usize) -> (&'static str, Fut),
    Fut: Future<Output = Reply> + Send + 'static,
{
    let total = (rate.per_s * rate.duration.as_secs_f64()).floor() as usize;
    let start = tokio::time::Instant::now();
    let mut running = tokio::task::JoinSet::new();
    let mut done = Vec::with_capacity(total);
    for index in 0..total {
        let due = start + Duration::from_secs_f64(index as f64 / rate.per_s);
        tokio::time::sleep_until(due).await;
        let (kind, answer) = ask(index);
        let deadline = rate.deadline;
        running.spawn(async move {
            let sent = tokio::time::Instant::now();
            let reply = match tokio::time::timeout(deadline, answer).await {
                Ok(reply) => reply,
                Err(_) => Reply {
                    code: Code::DeadlineExceeded,
                    missing: Vec::new(),
                },
            };
            Sent {
                index,
                kind,
                scheduled: due - start,
                lag: sent - due,
                latency: due.elapsed(),
                reply,
            }
        });
        while let Some(ended) = running.try_join_next() {
            done.push(ended?);
        }
    }
    while let Some(ended) = running.join_next().await {
        done.push(ended?);
    }
    done.sort_by_key(|s| s.index);
    Ok(done)
}

/// The gRPC name of `code` (`DEADLINE_EXCEEDED`), as the spec spells it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Latency percentiles of open-loop requests, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of<'a>(sent: impl IntoIterator<Item = &'a Sent>) -> Percentiles {
        let mut ms: Vec<f64> = sent
            .into_iter()
            .map(|s| s.latency.as_secs_f64() * 1e3)
            .collect();
        ms.sort_by(f64::total_cmp);
        Percentiles {
            p50_ms: percentile(&ms, 50.0),
            p90_ms: percentile(&ms, 90.0),
            p99_ms: percentile(&ms, 99.0),
            p999_ms: percentile(&ms, 99.9),
            max_ms: ms.last().copied().unwrap_or(0.0),
        }
    }
}

/// Counts and latencies of a set of open-loop requests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub requests: usize,
    /// Every gRPC code seen, `OK` included, by name.
    pub codes: BTreeMap<String, usize>,
    /// Answers that were not `OK`.
    pub errors: usize,
    /// `OK` answers that some member did not contribute to.
    pub partial_answers: usize,
    /// Requests whose latency (from their scheduled time) passed the deadline.
    pub late: usize,
    #[serde(flatten)]
    pub latency: Percentiles,
}

impl Counts {
    pub fn of(sent: &[&Sent], deadline: Duration) -> Counts {
        let mut codes = BTreeMap::new();
        for s in sent {
            *codes
                .entry(code_name(s.reply.code).to_string())
                .or_insert(0) += 1;
        }
        Counts {
            requests: sent.len(),
            errors: sent.iter().filter(|s| s.reply.code != Code::Ok).count(),
            partial_answers: sent.iter().filter(|s| s.partial()).count(),
            late: sent.iter().filter(|s| s.latency > deadline).count(),
            codes,
            latency: Percentiles::of(sent.iter().copied()),
        }
    }
}

/// One bucket of the timeline.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Bucket {
    /// The bucket's start, seconds from the start of the run.
    pub from_s: f64,
    pub requests: usize,
    pub errors: usize,
    pub partial_answers: usize,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What an open-loop run measured (stable JSON: names only ever added).
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpenLoopReport {
    pub rate_per_s: f64,
    pub duration_s: f64,
    pub deadline_s: f64,
    pub connections: usize,
    /// Answers per second over the time from the start to the last answer.
    pub achieved_per_s: f64,
    /// The latest the sender ever was against the schedule (CPU starvation
    /// of the load generator itself shows here).
    pub max_send_lag_ms: f64,
    #[serde(flatten)]
    pub all: Counts,
    /// The same, per kind of request (`search`, `aggregate`).
    pub by_kind: BTreeMap<String, Counts>,
    /// Partial answers per member missing from them.
    pub partial_by_member: BTreeMap<String, usize>,
    /// Requests by scheduled time, in `rate.bucket` steps.
    pub timeline: Vec<Bucket>,
}

impl OpenLoopReport {
    pub fn of(sent: &[Sent], rate: Rate, connections: usize) -> OpenLoopReport {
        let all: Vec<&Sent> = sent.iter().collect();
        let mut by_kind: BTreeMap<String, Vec<&Sent>> = BTreeMap::new();
        let mut partial_by_member = BTreeMap::new();
        for s in sent {
            by_kind.entry(s.kind.to_string()).or_default().push(s);
            if s.partial() {
                for m in &s.reply.missing {
                    *partial_by_member.entry(m.clone()).or_insert(0) += 1;
                }
            }
        }
        let width = rate.bucket.max(Duration::from_millis(1));
        let buckets = (rate.duration.as_secs_f64() / width.as_secs_f64()).ceil() as usize;
        let mut timeline: Vec<Vec<&Sent>> = vec![Vec::new(); buckets.max(1)];
        for s in sent {
            let b = (s.scheduled.as_secs_f64() / width.as_secs_f64()) as usize;
            timeline[b.min(buckets.max(1) - 1)].push(s);
        }
        let end = sent
            .iter()
            .map(|s| s.scheduled + s.latency)
            .max()
            .unwrap_or_default();
        OpenLoopReport {
            rate_per_s: rate.per_s,
            duration_s: rate.duration.as_secs_f64(),
            deadline_s: rate.deadline.as_secs_f64(),
            connections,
            achieved_per_s: sent.len() as f64 / end.as_secs_f64().max(1e-9),
            max_send_lag_ms: sent
                .iter()
                .map(|s| s.lag.as_secs_f64() * 1e3)
                .fold(0.0, f64::max),
            all: Counts::of(&all, rate.deadline),
            by_kind: by_kind
                .into_iter()
                .map(|(k, v)| (k, Counts::of(&v, rate.deadline)))
                .collect(),
            partial_by_member,
            timeline: timeline
                .into_iter()
                .enumerate()
                .map(|(i, b)| {
                    let c = Counts::of(&b, rate.deadline);
                    Bucket {
                        from_s: i as f64 * width.as_secs_f64(),
                        requests: c.requests,
                        errors: c.errors,
                        partial_answers: c.partial_answers,
                        p99_ms: c.latency.p99_ms,
                        max_ms: c.latency.max_ms,
                    }
                })
                .collect(),
        }
    }

    /// A few lines for a person.
    pub fn summary(&self) -> String {
        let codes = |c: &Counts| {
            c.codes
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = format!(
            "{} requests at {:.1}/s over {} connections for {:.0} s (achieved {:.1}/s, sender at most {:.1} ms behind)\n\
             codes: {}; partial answers {}; past the {:.1} s deadline {}\n\
             latency from the scheduled time: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms\n",
            self.all.requests,
            self.rate_per_s,
            self.connections,
            self.duration_s,
            self.achieved_per_s,
            self.max_send_lag_ms,
            codes(&self.all),
            self.all.partial_answers,
            self.deadline_s,
            self.all.late,
            self.all.latency.p50_ms,
            self.all.latency.p90_ms,
            self.all.latency.p99_ms,
            self.all.latency.p999_ms,
            self.all.latency.max_ms,
        );
        for (kind, c) in &self.by_kind {
            out.push_str(&format!(
                "  {kind}: {} requests ({}), {} partial, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms\n",
                c.requests,
                codes(c),
                c.partial_answers,
                c.latency.p50_ms,
                c.latency.p99_ms,
                c.latency.max_ms
            ));
        }
        if !self.partial_by_member.is_empty() {
            let members: Vec<String> = self
                .partial_by_member
                .iter()
                .map(|(m, n)| format!("{m} {n}"))
                .collect();
            out.push_str(&format!(
                "  partial answers by missing member: {}\n",
                members.join(", ")
            ));
        }
        out
    }
}

/// One kind of request of an open-loop mix through a federation server.
#[derive(Debug, Clone)]
pub enum Call {
    /// The top 10 of a query, with snippets and facets as `Extras` say.
    Search(String, Extras),
    /// These indicators by kistérség and period, streamed to the end.
    Aggregate(Vec<String>),
}

impl Call {
    pub fn kind(&self) -> &'static str {
        match self {
            Call::Search(..) => "search",
            Call::Aggregate(_) => "aggregate",
        }
    }
}

/// Sends `call` through `client` with `deadline` as its `grpc-timeout`.
pub async fn send(mut client: FederationClient<Channel>, call: Call, deadline: Duration) -> Reply {
    let not_ok = |members: &[pb::MemberStatus], missing: &mut Vec<String>| {
        for m in members {
            if m.state != MemberState::Ok as i32 && !missing.contains(&m.member) {
                missing.push(m.member.clone());
            }
        }
    };
    let mut missing = Vec::new();
    let outcome: std::result::Result<(), tonic::Status> = async {
        match call {
            Call::Search(query, extras) => {
                let mut request = tonic::Request::new(crate::load::search_request(query, extras));
                request.set_timeout(deadline);
                let response = client.search(request).await?.into_inner();
                not_ok(&response.members, &mut missing);
                if response.partial && missing.is_empty() {
                    missing.push("?".into());
                }
            }
            Call::Aggregate(indicators) => {
                let mut request = tonic::Request::new(pb::AggregateRequest {
                    indicators,
                    group_by: vec!["kisterseg".into(), "period".into()],
                    ..Default::default()
                });
                request.set_timeout(deadline);
                let mut stream = client.aggregate(request).await?.into_inner();
                let mut incomplete = false;
                while let Some(chunk) = stream.message().await? {
                    not_ok(&chunk.members, &mut missing);
                    incomplete |= chunk.cells.iter().any(|c| c.incomplete);
                }
                if incomplete && missing.is_empty() {
                    missing.push("?".into());
                }
            }
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => Reply {
            code: Code::Ok,
            missing,
        },
        Err(status) => Reply::from_status(&status),
    }
}

/// Runs `mix` (request `i` is `mix[i mod len]`) at `rate` over `clients`
/// (request `i` on connection `i mod N`).
pub async fn open_loop_federation(
    rate: Rate,
    clients: &[FederationClient<Channel>],
    mix: &[Call],
) -> Result<(Vec<Sent>, OpenLoopReport)> {
    anyhow::ensure!(
        !clients.is_empty() && !mix.is_empty(),
        "no clients or no calls"
    );
    let sent = open_loop(rate, |i| {
        let call = mix[i % mix.len()].clone();
        let client = clients[i % clients.len()].clone();
        (call.kind(), send(client, call, rate.deadline))
    })
    .await?;
    let report = OpenLoopReport::of(&sent, rate, clients.len());
    Ok((sent, report))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A stall of the server delays every request scheduled during it, and
    /// the open loop sees it: latencies count from the scheduled time, and
    /// the sender keeps its schedule. Real time, so only lower bounds of
    /// latencies are asserted (sleeps end no earlier than asked).
    #[tokio::test]
    async fn a_stall_is_not_hidden_by_coordinated_omission() {
        let rate = Rate {
            per_s: 100.0,
            duration: Duration::from_secs(1),
            deadline: Duration::from_secs(5),
            bucket: Duration::from_millis(100),
        };
        let start = tokio::time::Instant::now();
        let stall_end = start + Duration::from_millis(600);
        // The "server" answers at once, except that requests due from
        // 0.4 s to 0.6 s (40 to 59) are answered only at 0.6 s.
        let sent = open_loop(rate, |i| {
            let kind = if i % 5 == 4 { "aggregate" } else { "search" };
            (kind, async move {
                if (40..60).contains(&i) {
                    tokio::time::sleep_until(stall_end).await;
                }
                Reply {
                    code: if i == 7 { Code::Unavailable } else { Code::Ok },
                    missing: if i == 3 { vec!["b".into()] } else { Vec::new() },
                }
            })
        })
        .await
        .unwrap();
        assert_eq!(sent.len(), 100);
        assert!(sent.iter().enumerate().all(|(i, s)| s.index == i));
        // Request 40 was due at 0.4 s and answered at 0.6 s: 200 ms, where
        // a closed loop would have timed it from whenever it got to send it.
        assert!(
            sent[40].latency >= Duration::from_millis(199),
            "{:?}",
            sent[40]
        );
        assert!(sent[50].latency >= Duration::from_millis(99));
        assert_eq!(sent[40].scheduled, Duration::from_millis(400));
        let report = OpenLoopReport::of(&sent, rate, 2);
        assert_eq!(report.all.requests, 100);
        assert_eq!(report.all.codes["OK"], 99);
        assert_eq!(report.all.codes["UNAVAILABLE"], 1);
        assert_eq!(report.all.errors, 1);
        assert_eq!(report.all.partial_answers, 1);
        assert_eq!(report.partial_by_member["b"], 1);
        assert_eq!(report.by_kind["aggregate"].requests, 20);
        assert_eq!(report.by_kind["search"].requests, 80);
        assert!(report.all.latency.max_ms >= 199.0);
        // One request in ten waited at least 100 ms.
        assert!(report.all.latency.p90_ms >= 9.0, "{report:?}");
        assert_eq!(report.timeline.len(), 10);
        assert_eq!(report.timeline[4].requests, 10);
        assert!(report.timeline[4].max_ms >= 199.0);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["codes"]["OK"], 99);
        assert_eq!(json["connections"], 2);
        assert!(report.summary().contains("UNAVAILABLE 1"));
    }

    #[tokio::test]
    async fn an_unanswered_request_ends_at_its_deadline() {
        let rate = Rate {
            per_s: 20.0,
            duration: Duration::from_millis(200),
            deadline: Duration::from_millis(100),
            bucket: Duration::from_secs(1),
        };
        let sent = open_loop(rate, |_| ("search", std::future::pending::<Reply>()))
            .await
            .unwrap();
        let report = OpenLoopReport::of(&sent, rate, 1);
        assert_eq!(report.all.requests, 4);
        assert_eq!(report.all.codes["DEADLINE_EXCEEDED"], 4);
        assert!(report.all.latency.max_ms >= 99.0);
    }
}
