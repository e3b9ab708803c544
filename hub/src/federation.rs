//! The hub as a plain service: its members, the deadline of a request, the
//! choice of members a request names, and the RPCs that are not search or
//! aggregates (Info, GetDocument routing). Search is in [`crate::search`],
//! aggregates in [`crate::aggregates`]; every member call goes through
//! `crate::fanout`.
//!
//! Invariants:
//! - No member, slow or dead, can stall or fail the whole answer: every call
//!   runs under the request's deadline (or the member's tighter one), and
//!   every member gets a status.
//! - The hub keeps no document, snippet or observation: it logs counts,
//!   members and timings, never contents.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tudashalo_proto::pb;
use tudashalo_proto::tls::{IntoClientTls, TlsError};

use crate::config::HubConfig;
use crate::error::{Error, Result};
use crate::fanout::{Counted, Target, call_one, fan_out};
use crate::limits::HubLimits;
use crate::member::Member;
use crate::metrics::HubMetrics;
use crate::relay::Relay;
use crate::stats_cache::StatsCache;
use tudashalo_proto::metrics::RpcKind;

pub use crate::search::{DEFAULT_LIMIT, MAX_DEPTH, compare_hits};

#[derive(Debug)]
pub struct Hub {
    pub name: String,
    pub display_name: String,
    /// The hubs trusted to relay through this hub and to receive partials
    /// (`[[parent]]` in `hub.toml`).
    pub parents: std::collections::BTreeSet<String>,
    default_deadline: Duration,
    members: Vec<Arc<Member>>,
    /// Each member's prober and version watcher ([`crate::watch`]).
    probers: Vec<tokio::task::JoinHandle<()>>,
    /// Bumped whenever a member's data version changes: wakes this hub's
    /// own `WatchVersion` streams.
    pub(crate) version_changes: Arc<tokio::sync::watch::Sender<u64>>,
    /// The version watches open at this hub now (bounded).
    pub(crate) watches: tudashalo_proto::watch::Watches,
    pub(crate) stats_cache: StatsCache,
    limits: HubLimits,
    /// What `/metrics` reports of this hub ([`crate::metrics`]).
    metrics: HubMetrics,
}

impl Drop for Hub {
    fn drop(&mut self) {
        for prober in &self.probers {
            prober.abort();
        }
    }
}

impl Hub {
    /// Creates the hub and starts probing its members. Must run inside a
    /// tokio runtime. `tls` is the hub's client identity towards its
    /// members: fixed (`&TlsMaterial`) or a `ReloadingTls` that follows its
    /// files (see [`crate::member`]).
    pub fn new(config: &HubConfig, tls: impl IntoClientTls) -> Result<Hub, TlsError> {
        let tls = tls.into_client_tls()?;
        let members: Vec<Arc<Member>> = config
            .members
            .iter()
            .filter(|m| m.enabled)
            .map(|m| Member::new(m, &tls).map(Arc::new))
            .collect::<Result<_, _>>()?;
        let version_changes = Arc::new(tokio::sync::watch::Sender::new(0));
        let probers = members
            .iter()
            .flat_map(|m| {
                [
                    tokio::spawn(m.clone().probe_forever()),
                    tokio::spawn(crate::watch::watch_forever(
                        m.clone(),
                        version_changes.clone(),
                    )),
                ]
            })
            .collect();
        let metrics = HubMetrics::new(&members);
        Ok(Hub {
            metrics,
            name: config.name.clone(),
            display_name: config
                .display_name
                .clone()
                .unwrap_or_else(|| config.name.clone()),
            parents: config.parent_names(),
            default_deadline: config.deadline(),
            members,
            probers,
            version_changes,
            watches: Default::default(),
            stats_cache: StatsCache::default(),
            limits: config.limits.clone(),
        })
    }

    /// This hub's metrics: its registry and the families it updates.
    pub fn metrics(&self) -> &HubMetrics {
        &self.metrics
    }

    /// How the member calls of a unary `method` are counted.
    pub(crate) fn counted(&self, method: &'static str) -> Counted {
        Counted {
            metrics: self.metrics.clone(),
            method,
            kind: RpcKind::Unary,
        }
    }

    /// How the member calls of a streaming `method` are counted.
    pub(crate) fn counted_stream(&self, method: &'static str) -> Counted {
        Counted {
            kind: RpcKind::ServerStream,
            ..self.counted(method)
        }
    }

    /// What a request may ask and a member may answer (`[limits]`).
    pub fn limits(&self) -> &HubLimits {
        &self.limits
    }

    pub fn members(&self) -> &[Arc<Member>] {
        &self.members
    }

    /// The deadline of a request's member calls: the client's gRPC timeout
    /// if it set one, else the hub's default, less a twentieth (at most
    /// 50 ms) to merge and send the answer, so that it reaches the client
    /// before the client gives up on it. A client's timeout is clamped to
    /// `limits.max_deadline_ms`: a huge one must not overflow the instant.
    pub fn deadline(&self, client_timeout: Option<Duration>) -> Instant {
        let timeout =
            crate::limits::clamp_timeout(client_timeout, self.default_deadline, &self.limits);
        let now = Instant::now();
        now.checked_add(timeout - (timeout / 20).min(Duration::from_millis(50)))
            .unwrap_or(now)
    }

    /// Splits member paths (`a`, `a/b`) into the direct members to ask and
    /// what to narrow each of them to. An empty selection means everyone.
    pub(crate) fn select_members(&self, paths: &[String]) -> Result<Vec<Target>> {
        if paths.is_empty() {
            return Ok(self
                .members
                .iter()
                .map(|m| (m.clone(), Vec::new()))
                .collect());
        }
        let mut chosen: BTreeMap<String, Target> = BTreeMap::new();
        for path in paths {
            let (head, rest) = match path.split_once('/') {
                Some((h, r)) => (h, Some(r)),
                None => (path.as_str(), None),
            };
            let member = self
                .members
                .iter()
                .find(|m| m.name == head)
                .ok_or_else(|| Error::NoSuchMember {
                    hub: self.name.clone(),
                    member: head.to_string(),
                })?;
            let entry = chosen
                .entry(head.to_string())
                .or_insert_with(|| (member.clone(), Vec::new()));
            if let Some(rest) = rest {
                entry.1.push(rest.to_string());
            }
        }
        Ok(chosen.into_values().collect())
    }

    /// The member a document request names, and the request to forward to
    /// it (the rest of the member path).
    fn holder_of(
        &self,
        request: pb::GetDocumentRequest,
    ) -> Result<(Arc<Member>, pb::GetDocumentRequest)> {
        if request.member.is_empty() {
            return Err(Error::DocumentWithoutMember);
        }
        let targets = self.select_members(std::slice::from_ref(&request.member))?;
        let Some((member, narrowed)) = targets.into_iter().next() else {
            return Err(Error::NoMemberSelected);
        };
        let forwarded = pb::GetDocumentRequest {
            id: request.id,
            member: narrowed.join("/"),
        };
        Ok((member, forwarded))
    }

    /// Routes a document request to the member that holds it, under the
    /// deadline (or the member's tighter one); the member decides whether
    /// the requester may see it, and its refusal or not-found is passed on
    /// as it is.
    pub async fn get_document(
        &self,
        request: pb::GetDocumentRequest,
        deadline: Instant,
        relay: &Relay,
    ) -> Result<pb::GetDocumentResponse> {
        let path = request.member.clone();
        let (member, forwarded) = self.holder_of(request)?;
        let counted = self.counted("GetDocument");
        let outcome = call_one(
            member,
            deadline,
            relay,
            counted,
            |mut client, out| async move {
                Ok(client
                    .get_document(out.request(forwarded))
                    .await?
                    .into_inner())
            },
        )
        .await;
        match outcome.result {
            Ok(mut response) => {
                response.member = path;
                Ok(response)
            }
            Err(error) => Err(Error::AtMember {
                member: path,
                error: Box::new(error),
            }),
        }
    }

    /// Routes a request for an original file to the member that holds it,
    /// as [`Hub::get_document`] does, and passes its chunks on to `tx` as
    /// they come, never keeping the file: the first must come within the
    /// deadline, each next one within the same budget again, and the
    /// member may send no more bytes than its first chunk declared.
    pub async fn get_original(
        &self,
        request: pb::GetDocumentRequest,
        deadline: Instant,
        relay: &Relay,
    ) -> Result<OriginalStream> {
        let path = request.member.clone();
        let (member, forwarded) = self.holder_of(request)?;
        // Each chunk gets the budget the first had: the request's, or the
        // member's own tighter one.
        let budget = deadline.saturating_duration_since(Instant::now());
        let budget = member.deadline.map_or(budget, |own| own.min(budget));
        let counted = self.counted_stream("GetOriginal");
        let outcome = call_one(
            member,
            deadline,
            relay,
            counted,
            |mut client, out| async move {
                let mut stream = client
                    .get_original(out.request(forwarded))
                    .await?
                    .into_inner();
                // The first chunk is part of the answer: under the deadline.
                let first = stream.message().await?;
                Ok((first, stream))
            },
        )
        .await;
        let at_member = |error: Error| Error::AtMember {
            member: path.clone(),
            error: Box::new(error),
        };
        let (first, stream) = outcome.result.map_err(at_member)?;
        let Some(mut first) = first else {
            return Err(at_member(Error::BadOriginal("the stream was empty".into())));
        };
        let Some(source) = first.source.clone() else {
            return Err(at_member(Error::BadOriginal(
                "the first chunk did not say what the file is".into(),
            )));
        };
        first.member = if first.member.is_empty() {
            path.clone()
        } else {
            format!("{path}/{}", first.member)
        };
        Ok(OriginalStream {
            first,
            declared: source.bytes,
            rest: stream,
            idle: budget.max(std::time::Duration::from_secs(1)),
            member: path,
        })
    }

    /// Every member's own `Info`, as it answers `relay`'s requester, in
    /// the configuration's order (the portal's front page shows each).
    pub async fn member_infos(
        &self,
        deadline: Instant,
        relay: &Relay,
    ) -> Vec<(Arc<Member>, Result<pb::InfoResponse>)> {
        let targets = self.select_members(&[]).unwrap_or_default();
        fan_out(
            targets,
            deadline,
            relay,
            self.counted("Info"),
            |_, mut client, _, out| async move {
                Ok(client
                    .info(out.request(pb::InfoRequest {}))
                    .await?
                    .into_inner())
            },
        )
        .in_order()
        .await
        .into_iter()
        .map(|o| (o.member, o.result))
        .collect()
    }

    /// The hub's own description: counts summed over the members that answer.
    pub async fn info(&self, deadline: Instant, relay: &Relay) -> pb::InfoResponse {
        let outcomes = self.member_infos(deadline, relay).await;
        let mut info = pb::InfoResponse {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            role: "hub".into(),
            schema_version: tudashalo_proto::SCHEMA_VERSION,
            version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        };
        let mut indicators: BTreeMap<String, pb::Indicator> = BTreeMap::new();
        for (_, result) in outcomes {
            if let Ok(member) = result {
                info.documents = info.documents.saturating_add(member.documents);
                info.observations = info.observations.saturating_add(member.observations);
                info.generation = info.generation.wrapping_add(member.generation);
                for i in member.indicators {
                    indicators.entry(i.code.clone()).or_insert(i);
                }
            }
        }
        info.indicators = indicators.into_values().collect();
        info
    }
}

/// An original file on its way from a member through this hub.
pub struct OriginalStream {
    first: pb::OriginalChunk,
    declared: u64,
    rest: tonic::Streaming<pb::OriginalChunk>,
    idle: std::time::Duration,
    member: String,
}

impl OriginalStream {
    /// Passes the chunks on to `tx` until the file ends, the member breaks
    /// its promise (an error chunk ends the caller's stream), or the caller
    /// goes away.
    pub async fn relay(
        self,
        tx: tokio::sync::mpsc::Sender<std::result::Result<pb::OriginalChunk, tonic::Status>>,
    ) {
        let OriginalStream {
            first,
            declared,
            mut rest,
            idle,
            member,
        } = self;
        let mut sent = first.data.len() as u64;
        let fail = |error: Error| {
            tonic::Status::from(Error::AtMember {
                member: member.clone(),
                error: Box::new(error),
            })
        };
        if sent > declared {
            let _ = tx
                .send(Err(fail(Error::BadOriginal(format!(
                    "more than the {declared} bytes it declared"
                )))))
                .await;
            return;
        }
        if tx.send(Ok(first)).await.is_err() {
            return;
        }
        loop {
            let next = match tokio::time::timeout(idle, rest.message()).await {
                Err(_) => Err(Error::MemberTimedOut {
                    budget_ms: idle.as_millis(),
                }),
                Ok(Err(status)) => Err(Error::Member(status)),
                Ok(Ok(None)) => return,
                Ok(Ok(Some(chunk))) => {
                    sent = sent.saturating_add(chunk.data.len() as u64);
                    if chunk.source.is_some() {
                        Err(Error::BadOriginal("a second source in the stream".into()))
                    } else if sent > declared {
                        Err(Error::BadOriginal(format!(
                            "more than the {declared} bytes it declared"
                        )))
                    } else {
                        Ok(chunk)
                    }
                }
            };
            let message = next.map_err(fail);
            let stop = message.is_err();
            if tx.send(message).await.is_err() || stop {
                return;
            }
        }
    }
}
