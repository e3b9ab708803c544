//! The one way the hub calls its members: [`fan_out`] for many, [`call_one`]
//! for one, both through the same per-member call, whatever the RPC (Info,
//! TermStats, Search, GetDocument, and Aggregate, whose call reads a whole
//! stream).
//!
//! Invariants:
//! - Every member call runs under the request's deadline or the member's own
//!   tighter one (`[[member]] deadline_ms`), whichever comes first; the
//!   member is told the same budget (`grpc-timeout`), and a call that
//!   streams is cut off when the budget runs out, however far its stream got.
//! - A member known to be down is not waited on: it fails at once.
//! - Every member asked gets an [`Outcome`]: its answer, or the failure its
//!   status shows ([`Error::member_state`]). A call that finds the member
//!   unreachable marks it down; one that succeeds marks it up.
//! - Every call made is counted ([`Counted`]): `grpc_client_*` with its
//!   final code, and `tudashalo_member_call_seconds{member,rpc}`. A member
//!   that is down is not called, so not counted as a call.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tonic::transport::Channel;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};

use crate::error::Error;
use crate::member::{Health, Member};
use crate::metrics::HubMetrics;
use crate::relay::{Outgoing, Relay};
use tudashalo_proto::metrics::RpcKind;

/// What a member call is counted as: the hub's metrics, the RPC's name as
/// the contract spells it (`"Search"`) and its shape.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    pub metrics: HubMetrics,
    pub method: &'static str,
    pub kind: RpcKind,
}

/// A member to ask, and the member paths below it to narrow the request to.
pub(crate) type Target = (Arc<Member>, Vec<String>);

/// What one member's call came to.
#[derive(Debug)]
pub(crate) struct Outcome<T> {
    pub member: Arc<Member>,
    pub latency: Duration,
    pub result: Result<T, Error>,
}

impl<T> Outcome<T> {
    /// The member's status; `total` is what it contributed (documents,
    /// matches, cells).
    pub fn status(&self, total: u64) -> pb::MemberStatus {
        let (state, message) = match &self.result {
            Ok(_) => (MemberState::Ok, String::new()),
            Err(e) => e.member_state(),
        };
        pb::MemberStatus {
            member: self.member.name.clone(),
            state: state as i32,
            latency_ms: self.latency.as_millis().min(u128::from(u32::MAX)) as u32,
            message,
            total,
            ..Default::default()
        }
    }
}

/// A member call ready to run: the member's deadline, and the call made
/// with its budget.
struct Prepared<Fut> {
    deadline: Instant,
    budget: Duration,
    future: Fut,
}

/// Sets up a call to `member`: its deadline is the request's or the
/// member's own, whichever is sooner. A member known to be down fails here.
fn prepare<Fut>(
    member: &Member,
    deadline: Instant,
    relay: &Relay,
    call: impl FnOnce(FederationClient<Channel>, Outgoing) -> Fut,
) -> Result<Prepared<Fut>, Error> {
    if let Health::Down { since, error } = member.health() {
        return Err(Error::MemberDown {
            down_s: since.elapsed().as_secs(),
            error,
        });
    }
    let deadline = match member.deadline.and_then(|d| Instant::now().checked_add(d)) {
        Some(own) => deadline.min(own),
        None => deadline,
    };
    let budget = deadline.saturating_duration_since(Instant::now());
    let future = call(
        member.client(),
        Outgoing {
            budget,
            relay: relay.clone(),
        },
    );
    Ok(Prepared {
        deadline,
        budget,
        future,
    })
}

/// Runs a prepared call to its end or its deadline, and notes what it says
/// of the member's health.
async fn settle<T, Fut>(
    member: Arc<Member>,
    prepared: Prepared<Fut>,
    counted: Counted,
) -> Outcome<T>
where
    Fut: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let rpc = counted
        .metrics
        .registry()
        .client()
        .start(counted.kind, counted.method);
    let result = tokio::time::timeout_at(prepared.deadline.into(), prepared.future).await;
    let latency = started.elapsed();
    let result = match result {
        Ok(Ok(value)) => {
            member.report_ok();
            Ok(value)
        }
        Ok(Err(error)) => {
            match error.member_state() {
                (MemberState::Unavailable, message) => member.report_unreachable(message),
                (MemberState::TimedOut, _) => member.report_timeout(),
                _ => {}
            }
            Err(error)
        }
        Err(_) => {
            member.report_timeout();
            Err(Error::MemberTimedOut {
                budget_ms: prepared.budget.as_millis(),
            })
        }
    };
    rpc.finish(match &result {
        Ok(_) => tonic::Code::Ok,
        Err(error) => error.code(),
    });
    counted
        .metrics
        .observe_member_call(&member.name, counted.method, latency);
    Outcome {
        member,
        latency,
        result,
    }
}

/// Calls one member under `deadline` (or its own tighter one).
pub(crate) async fn call_one<T, Fut>(
    member: Arc<Member>,
    deadline: Instant,
    relay: &Relay,
    counted: Counted,
    call: impl FnOnce(FederationClient<Channel>, Outgoing) -> Fut,
) -> Outcome<T>
where
    Fut: Future<Output = Result<T, Error>>,
{
    match prepare(&member, deadline, relay, call) {
        Ok(prepared) => settle(member, prepared, counted).await,
        Err(error) => Outcome {
            member,
            latency: Duration::ZERO,
            result: Err(error),
        },
    }
}

/// The calls of one fan-out, running in parallel.
pub(crate) struct FanOut<T> {
    running: JoinSet<(usize, Outcome<T>)>,
    /// Outcomes known before any call ran (members that are down).
    ready: Vec<(usize, Outcome<T>)>,
}

/// Calls every target in parallel, each under `deadline` or the member's
/// own tighter one. `call` gets the member's name, its client, the paths to
/// narrow it to, and the outgoing budget and relay headers; its future may
/// read a stream, all of it under the member's deadline.
pub(crate) fn fan_out<T, F, Fut>(
    targets: Vec<Target>,
    deadline: Instant,
    relay: &Relay,
    counted: Counted,
    call: F,
) -> FanOut<T>
where
    T: Send + 'static,
    F: Fn(&str, FederationClient<Channel>, Vec<String>, Outgoing) -> Fut,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let mut fan_out = FanOut {
        running: JoinSet::new(),
        ready: Vec::new(),
    };
    for (index, (member, narrowed)) in targets.into_iter().enumerate() {
        let prepared = prepare(&member, deadline, relay, |client, out| {
            call(&member.name, client, narrowed, out)
        });
        match prepared {
            Ok(prepared) => {
                let counted = counted.clone();
                fan_out
                    .running
                    .spawn(async move { (index, settle(member, prepared, counted).await) });
            }
            Err(error) => fan_out.ready.push((
                index,
                Outcome {
                    member,
                    latency: Duration::ZERO,
                    result: Err(error),
                },
            )),
        }
    }
    fan_out
}

impl<T: Send + 'static> FanOut<T> {
    /// The next outcome, in the order they come (members that are down
    /// first); `None` when every call has ended.
    pub async fn next(&mut self) -> Option<Outcome<T>> {
        Some(self.next_indexed().await?.1)
    }

    /// Every outcome, in the order of the targets.
    pub async fn in_order(mut self) -> Vec<Outcome<T>> {
        let mut outcomes = Vec::with_capacity(self.ready.len() + self.running.len());
        while let Some(outcome) = self.next_indexed().await {
            outcomes.push(outcome);
        }
        outcomes.sort_by_key(|(index, _)| *index);
        outcomes.into_iter().map(|(_, o)| o).collect()
    }

    async fn next_indexed(&mut self) -> Option<(usize, Outcome<T>)> {
        if let Some(outcome) = self.ready.pop() {
            return Some(outcome);
        }
        while let Some(joined) = self.running.join_next().await {
            match joined {
                Ok(outcome) => return Some(outcome),
                Err(e) => tracing::error!(error = %e, "member call task failed"),
            }
        }
        None
    }
}

/// A member hub's own member statuses, with paths below this member.
pub(crate) fn nested(member: &str, statuses: Vec<pb::MemberStatus>) -> Vec<pb::MemberStatus> {
    statuses
        .into_iter()
        .map(|mut s| {
            s.member = format!("{member}/{}", s.member);
            s
        })
        .collect()
}
