//! The hub as a plain service: fan a request out to its members under one
//! deadline, and combine what comes back.
//!
//! A federated search takes two rounds at most. Round one gathers the query
//! terms' statistics from every member (counting only what the requester may
//! see) and sums them; round two asks every member to score with the sums, so
//! that scores are comparable and the merged top k equals the top k of one
//! index holding all the documents. When the caller already supplies
//! statistics (this hub is itself a member of a higher hub), round one is
//! skipped and the statistics are passed down unchanged.
//!
//! Invariants:
//! - No member, slow or dead, can stall or fail the whole answer: every call
//!   runs under the request's deadline, and every member gets a status.
//! - A member that missed round one is left out of round two: its scores
//!   would not be comparable.
//! - The hub keeps no document, snippet or observation: it logs counts,
//!   members and timings, never contents.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};
use tudashalo_proto::tls::{IntoClientTls, TlsError};

use crate::config::HubConfig;
use crate::limits::HubLimits;
use crate::member::{Health, Member};
use crate::relay::{Outgoing, Relay};
use crate::stats_cache::{self, StatsCache};

/// The deepest page a hub serves with offset + limit; beyond, a cursor.
pub const MAX_DEPTH: u32 = 1_000;
pub const DEFAULT_LIMIT: u32 = 10;

/// A member to ask, and the member paths below it to narrow the request to.
pub(crate) type Target = (Arc<Member>, Vec<String>);

/// What one member's call came to.
#[derive(Debug)]
struct Outcome<T> {
    member: Arc<Member>,
    /// The member path below this member that the request was narrowed to.
    latency: Duration,
    result: Result<T, (MemberState, String)>,
}

#[derive(Debug)]
pub struct Hub {
    pub name: String,
    pub display_name: String,
    /// The hubs trusted to relay through this hub and to receive partials
    /// (`[[parent]]` in `hub.toml`).
    pub parents: std::collections::BTreeSet<String>,
    default_deadline: Duration,
    members: Vec<Arc<Member>>,
    probers: Vec<tokio::task::JoinHandle<()>>,
    stats_cache: StatsCache,
    limits: HubLimits,
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
        let probers = members
            .iter()
            .map(|m| tokio::spawn(m.clone().probe_forever()))
            .collect();
        Ok(Hub {
            name: config.name.clone(),
            display_name: config
                .display_name
                .clone()
                .unwrap_or_else(|| config.name.clone()),
            parents: config.parent_names(),
            default_deadline: config.deadline(),
            members,
            probers,
            stats_cache: StatsCache::default(),
            limits: config.limits.clone(),
        })
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
    pub(crate) fn select_members(&self, paths: &[String]) -> Result<Vec<Target>, Status> {
        if paths.is_empty() {
            return Ok(self
                .members
                .iter()
                .map(|m| (m.clone(), Vec::new()))
                .collect());
        }
        let mut chosen: BTreeMap<String, (Arc<Member>, Vec<String>)> = BTreeMap::new();
        for path in paths {
            let (head, rest) = match path.split_once('/') {
                Some((h, r)) => (h, Some(r)),
                None => (path.as_str(), None),
            };
            let member = self
                .members
                .iter()
                .find(|m| m.name == head)
                .ok_or_else(|| {
                    Status::invalid_argument(format!("hub {} has no member {head:?}", self.name))
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

    /// Calls every target in parallel, each under the deadline (or the
    /// member's tighter one). A member known to be down is not waited on.
    /// `call` gets the member's name, its client, the paths to narrow it to,
    /// and the outgoing budget and relay headers.
    async fn fan_out<T, F, Fut>(
        &self,
        targets: Vec<(Arc<Member>, Vec<String>)>,
        deadline: Instant,
        relay: &Relay,
        call: F,
    ) -> Vec<Outcome<T>>
    where
        T: Send + 'static,
        F: Fn(&str, FederationClient<Channel>, Vec<String>, Outgoing) -> Fut,
        Fut: Future<Output = Result<T, Status>> + Send + 'static,
    {
        let mut set = JoinSet::new();
        let mut outcomes = Vec::with_capacity(targets.len());
        for (index, (member, narrowed)) in targets.into_iter().enumerate() {
            if let Health::Down { since, error } = member.health() {
                outcomes.push((
                    index,
                    Outcome {
                        member,
                        latency: Duration::ZERO,
                        result: Err((
                            MemberState::Unavailable,
                            format!("down for {} s: {error}", since.elapsed().as_secs()),
                        )),
                    },
                ));
                continue;
            }
            let member_deadline = match member.deadline.and_then(|d| Instant::now().checked_add(d))
            {
                Some(d) => deadline.min(d),
                None => deadline,
            };
            let budget = member_deadline.saturating_duration_since(Instant::now());
            let future = call(
                &member.name,
                member.client(),
                narrowed,
                Outgoing {
                    budget,
                    relay: relay.clone(),
                },
            );
            set.spawn(async move {
                let started = Instant::now();
                let result = tokio::time::timeout_at(member_deadline.into(), future).await;
                let latency = started.elapsed();
                let result = match result {
                    Ok(Ok(value)) => {
                        member.report_ok();
                        Ok(value)
                    }
                    Ok(Err(status)) => Err(classify(&member, &status)),
                    Err(_) => Err((
                        MemberState::TimedOut,
                        format!("no answer within {} ms", budget.as_millis()),
                    )),
                };
                (
                    index,
                    Outcome {
                        member,
                        latency,
                        result,
                    },
                )
            });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => tracing::error!(error = %e, "member call task failed"),
            }
        }
        outcomes.sort_by_key(|(index, _)| *index);
        outcomes.into_iter().map(|(_, o)| o).collect()
    }

    /// Round one, served to callers (a higher hub).
    pub async fn term_stats(
        &self,
        request: pb::SearchRequest,
        deadline: Instant,
        relay: &Relay,
    ) -> Result<pb::TermStatsResponse, Status> {
        Ok(self.round_one(request, deadline, relay).await?.0)
    }

    /// Round one: the summed statistics, and the version each direct member
    /// reported (absent for a member that did not answer).
    async fn round_one(
        &self,
        request: pb::SearchRequest,
        deadline: Instant,
        relay: &Relay,
    ) -> Result<(pb::TermStatsResponse, Vec<(String, Option<u64>)>), Status> {
        let targets = self.select_members(&request.members)?;
        let outcomes = self
            .fan_out(
                targets,
                deadline,
                relay,
                move |_, mut client, narrowed, out| {
                    let mut request = request.clone();
                    request.members = narrowed;
                    async move {
                        let request = out.request(request);
                        client.term_stats(request).await.map(|r| r.into_inner())
                    }
                },
            )
            .await;
        let mut sum = StatsSum::default();
        let mut statuses = Vec::new();
        let mut ignored = Vec::new();
        let mut versions = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            versions.push((
                outcome.member.name.clone(),
                outcome.result.as_ref().ok().map(|r| r.stats_version),
            ));
            let total_docs = match &outcome.result {
                Ok(r) => r.stats.as_ref().map_or(0, |s| s.total_docs),
                Err(_) => 0,
            };
            statuses.push(status_of(&outcome, total_docs));
            if let Ok(mut response) = outcome.result {
                response.members.truncate(self.limits.max_member_statuses);
                if let Some(stats) = &response.stats {
                    sum.add(stats);
                }
                push_unique(&mut ignored, response.ignored);
                statuses.extend(nested(&outcome.member.name, response.members));
            }
        }
        let stats_version =
            stats_cache::combine(versions.iter().map(|(name, v)| (name.as_str(), *v)));
        Ok((
            pb::TermStatsResponse {
                stats: Some(sum.into_pb()),
                ignored,
                members: statuses,
                stats_version,
            },
            versions,
        ))
    }

    /// A federated search: statistics round (unless supplied or remembered),
    /// then scoring round, then the merge, then the final page's snippets.
    pub async fn search(
        &self,
        request: pb::SearchRequest,
        deadline: Instant,
        relay: &Relay,
    ) -> Result<pb::SearchResponse, Status> {
        match self
            .search_once(request.clone(), deadline, relay, true)
            .await?
        {
            Some(response) => Ok(response),
            // Remembered statistics had gone stale: both rounds, afresh.
            None => self
                .search_once(request, deadline, relay, false)
                .await?
                .ok_or_else(|| Status::internal("statistics changed during the search")),
        }
    }

    /// One attempt at [`Hub::search`]. With `reuse`, round one may be
    /// skipped for remembered statistics ([`crate::stats_cache`]); `None`
    /// means a member's statistics have changed since, and the caller must
    /// try again without.
    async fn search_once(
        &self,
        request: pb::SearchRequest,
        deadline: Instant,
        relay: &Relay,
        reuse: bool,
    ) -> Result<Option<pb::SearchResponse>, Status> {
        let started = Instant::now();
        let limit = if request.limit == 0 {
            DEFAULT_LIMIT
        } else {
            request.limit
        };
        if request.offset.saturating_add(limit) > MAX_DEPTH {
            return Err(Status::invalid_argument(format!(
                "offset + limit: {}; at most {MAX_DEPTH} (the search depth); use a search_after cursor to page deeper",
                u64::from(request.offset) + u64::from(limit)
            )));
        }
        let mut statuses: Vec<pb::MemberStatus> = Vec::new();
        let mut ignored: Vec<String> = Vec::new();
        let mut targets = self.select_members(&request.members)?;

        let cache_key = stats_cache::Key::new(&request, relay);
        // Remembered statistics are not used while a member is known to be
        // down: round one would now sum the others alone.
        let remembered = match &request.stats {
            Some(_) => None,
            None if reuse
                && targets
                    .iter()
                    .all(|(m, _)| !matches!(m.health(), Health::Down { .. })) =>
            {
                self.stats_cache.get(&cache_key)
            }
            None => None,
        };
        let stats = match (&request.stats, &remembered) {
            (Some(stats), _) => stats.clone(),
            (None, Some(entry)) => {
                ignored = entry.ignored.clone();
                entry.stats.clone()
            }
            (None, None) => {
                // Round one may use half of the time left, so that a member
                // that stalls in it leaves the others time for round two.
                let now = Instant::now();
                let half = now + deadline.saturating_duration_since(now) / 2;
                let (round_one, versions) = self.round_one(request.clone(), half, relay).await?;
                if round_one.stats_version != 0 {
                    self.stats_cache.insert(
                        cache_key.clone(),
                        stats_cache::Entry {
                            stats: round_one.stats.clone().unwrap_or_default(),
                            ignored: round_one.ignored.clone(),
                            versions: versions
                                .into_iter()
                                .filter_map(|(name, v)| Some((name, v?)))
                                .collect(),
                        },
                    );
                }
                ignored = round_one.ignored;
                narrow_to_answered(&mut targets, &round_one.members);
                statuses.extend(
                    round_one
                        .members
                        .into_iter()
                        .filter(|s| s.state != MemberState::Ok as i32),
                );
                round_one.stats.unwrap_or_default()
            }
        };

        // Ranking needs only scores. Round two asks for ids, scores and
        // ties (no stored fields, no snippets, which are the dearest part of
        // a hit), and round three fetches the final page whole from the
        // members that hold it: `limit` full hits instead of members × depth.
        // A request already narrowed to ids (a higher hub's round three) is
        // small and takes its hits whole in one go; a request for ids only
        // (a higher hub's round two) needs no page.
        let fetch_page =
            !request.ids_only && request.filters.as_ref().is_none_or(|f| f.ids.is_empty());
        let depth = request.offset + limit;
        let member_request = pb::SearchRequest {
            offset: 0,
            limit: depth,
            stats: Some(stats.clone()),
            ids_only: request.ids_only || fetch_page,
            ..request.clone()
        };
        // Round three gets a tenth of the time left; healthy members answer
        // round two long before, leaving it far more.
        let round_two_deadline = if fetch_page {
            let now = Instant::now();
            deadline - deadline.saturating_duration_since(now) / 10
        } else {
            deadline
        };
        let outcomes = self
            .fan_out(
                targets,
                round_two_deadline,
                relay,
                move |_, mut client, narrowed, out| {
                    let mut request = member_request.clone();
                    request.members = narrowed;
                    async move {
                        let request = out.request(request);
                        client.search(request).await.map(|r| r.into_inner())
                    }
                },
            )
            .await;

        if let Some(entry) = &remembered {
            let stale = outcomes.iter().any(|o| match &o.result {
                Ok(r) => entry.versions.get(&o.member.name) != Some(&r.stats_version),
                Err(_) => false,
            });
            if stale {
                tracing::debug!(hub = %self.name, "remembered statistics are stale; searching again");
                self.stats_cache.remove(&cache_key);
                return Ok(None);
            }
        }
        let stats_version = stats_cache::combine(outcomes.iter().map(|o| {
            (
                o.member.name.as_str(),
                o.result.as_ref().ok().map(|r| r.stats_version),
            )
        }));

        let mut hits: Vec<pb::Hit> = Vec::new();
        let mut total = 0u64;
        let mut facets: BTreeMap<String, HashMap<String, u64>> = BTreeMap::new();
        let mut member_facet: HashMap<String, u64> = HashMap::new();
        for mut outcome in outcomes {
            // A member's answer is cleaned before it counts (crate::limits):
            // what was dropped shows in its status, which stays OK.
            let dropped = match &mut outcome.result {
                Ok(r) => crate::limits::sanitize_search(r, depth as usize, &self.limits),
                Err(_) => Default::default(),
            };
            let member_total = outcome.result.as_ref().map_or(0, |r| r.total);
            let mut member_status = status_of(&outcome, member_total);
            if !dropped.is_empty() {
                tracing::warn!(member = %outcome.member.name, dropped = %dropped.message(), "member sent a malformed answer");
                member_status.message = dropped.message();
            }
            statuses.push(member_status);
            let name = outcome.member.name.clone();
            let Ok(response) = outcome.result else {
                continue;
            };
            statuses.extend(nested(&name, response.members));
            push_unique(&mut ignored, response.ignored);
            total = total.saturating_add(response.total);
            member_facet.insert(name.clone(), response.total);
            for facet in response.facets {
                if facet.name == "member" {
                    continue;
                }
                let counts = facets.entry(facet.name).or_default();
                for value in facet.values {
                    let count = counts.entry(value.value).or_default();
                    *count = count.saturating_add(value.count);
                }
            }
            for mut hit in response.hits {
                hit.member = if hit.member.is_empty() {
                    name.clone()
                } else {
                    format!("{name}/{}", hit.member)
                };
                hits.push(hit);
            }
        }
        hits.sort_by(compare_hits);
        let mut hits: Vec<pb::Hit> = hits
            .into_iter()
            .skip(request.offset as usize)
            .take(limit as usize)
            .collect();
        if fetch_page && !hits.is_empty() {
            let failures = self
                .fetch_page(&mut hits, &request, stats, deadline, relay)
                .await;
            for (member, state, message) in failures {
                if let Some(status) = statuses.iter_mut().find(|s| s.member == member) {
                    status.state = state as i32;
                    status.message = message;
                }
            }
        }

        let mut facet_list: Vec<pb::Facet> = facets
            .into_iter()
            .map(|(name, counts)| pb::Facet {
                name,
                values: sorted_values(counts),
            })
            .collect();
        if !request.no_facets {
            facet_list.push(pb::Facet {
                name: "member".into(),
                values: sorted_values(member_facet),
            });
        }
        let statuses = dedupe_statuses(statuses);
        let partial = statuses.iter().any(|s| s.state != MemberState::Ok as i32);
        let answered = statuses
            .iter()
            .filter(|s| s.state == MemberState::Ok as i32)
            .count();
        tracing::info!(
            hub = %self.name,
            members = statuses.len(),
            answered,
            total,
            hits = hits.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            statistics = if request.stats.is_some() {
                "supplied"
            } else if remembered.is_some() {
                "remembered"
            } else {
                "gathered"
            },
            "federated search"
        );
        Ok(Some(pb::SearchResponse {
            hits,
            total,
            facets: facet_list,
            ignored,
            members: statuses,
            partial,
            stats_version,
        }))
    }

    /// Round three: asks the members holding `hits` (the final page, ids and
    /// scores only) for those documents again, narrowed by id and scored with
    /// the same statistics, and fills the hits in (title, metadata, snippet
    /// if asked for). A member that fails here leaves its hits bare; its
    /// status says so, which makes the answer partial. Returns those
    /// failures: member, state, message.
    async fn fetch_page(
        &self,
        hits: &mut [pb::Hit],
        request: &pb::SearchRequest,
        stats: pb::CorpusStats,
        deadline: Instant,
        relay: &Relay,
    ) -> Vec<(String, MemberState, String)> {
        let paths: Vec<String> = {
            let mut paths: Vec<String> = hits.iter().map(|h| h.member.clone()).collect();
            paths.sort();
            paths.dedup();
            paths
        };
        let targets = match self.select_members(&paths) {
            Ok(targets) => targets,
            Err(e) => {
                return vec![(String::new(), MemberState::Error, e.message().to_string())];
            }
        };
        // The ids each direct member is asked for.
        let mut ids: HashMap<String, Vec<String>> = HashMap::new();
        for hit in hits.iter() {
            let head = hit.member.split('/').next().unwrap_or_default();
            ids.entry(head.to_string())
                .or_default()
                .push(hit.id.clone());
        }
        let ids = Arc::new(ids);
        let base = pb::SearchRequest {
            offset: 0,
            search_after: None,
            stats: Some(stats),
            no_facets: true,
            ids_only: false,
            ..request.clone()
        };
        let outcomes = self
            .fan_out(
                targets,
                deadline,
                relay,
                move |name, mut client, narrowed, out| {
                    let mut request = base.clone();
                    let wanted = ids.get(name).cloned().unwrap_or_default();
                    // Below a member hub, two leaves may hold the same id; room
                    // for every copy keeps the wanted one on the page.
                    let copies = narrowed.len().max(1);
                    request.limit = (wanted.len() * copies).clamp(1, MAX_DEPTH as usize) as u32;
                    let mut filters = request.filters.take().unwrap_or_default();
                    filters.ids = wanted;
                    request.filters = Some(filters);
                    request.members = narrowed;
                    async move {
                        let request = out.request(request);
                        client.search(request).await.map(|r| r.into_inner())
                    }
                },
            )
            .await;
        let mut whole: HashMap<(String, String), pb::Hit> = HashMap::new();
        let mut failures = Vec::new();
        for outcome in outcomes {
            let name = &outcome.member.name;
            match outcome.result {
                Ok(response) => {
                    for mut hit in response.hits {
                        hit.member = if hit.member.is_empty() {
                            name.clone()
                        } else {
                            format!("{name}/{}", hit.member)
                        };
                        whole.insert((hit.member.clone(), hit.id.clone()), hit);
                    }
                }
                Err((state, message)) => {
                    failures.push((
                        name.clone(),
                        state,
                        format!("ranked, but its hits could not be fetched: {message}"),
                    ));
                }
            }
        }
        for hit in hits.iter_mut() {
            if let Some(full) = whole.remove(&(hit.member.clone(), hit.id.clone())) {
                // The ranking's score and tie stand; the rest comes whole.
                let (score, tie) = (hit.score, hit.tie);
                *hit = full;
                hit.score = score;
                hit.tie = tie;
            }
        }
        failures
    }

    /// Routes a document request to the member that holds it; the member
    /// decides whether the requester may see it, and its refusal or
    /// not-found is passed on as it is.
    pub async fn get_document(
        &self,
        request: pb::GetDocumentRequest,
        deadline: Instant,
        relay: &Relay,
    ) -> Result<pb::GetDocumentResponse, Status> {
        let path = request.member.clone();
        if path.is_empty() {
            return Err(Status::invalid_argument(
                "at a hub, a document is named by member path and id (member = \"edelenyi\")",
            ));
        }
        let targets = self.select_members(std::slice::from_ref(&path))?;
        let Some((member, narrowed)) = targets.into_iter().next() else {
            return Err(Status::invalid_argument("no member selected"));
        };
        if let Health::Down { error, .. } = member.health() {
            return Err(Status::unavailable(format!(
                "member {path} is down: {error}"
            )));
        }
        let budget = deadline.saturating_duration_since(Instant::now());
        let mut forwarded = tonic::Request::new(pb::GetDocumentRequest {
            id: request.id,
            member: narrowed.join("/"),
        });
        forwarded.set_timeout(budget);
        relay.apply(&mut forwarded);
        let mut client = member.client();
        match tokio::time::timeout(budget, client.get_document(forwarded)).await {
            Ok(Ok(response)) => {
                let mut response = response.into_inner();
                response.member = path;
                Ok(response)
            }
            Ok(Err(status)) => {
                let (state, message) = classify(&member, &status);
                let code = if state == MemberState::Error {
                    status.code()
                } else {
                    code_of(state)
                };
                Err(Status::new(
                    code,
                    format!(
                        "member {path}: {}",
                        if status.message().is_empty() {
                            message
                        } else {
                            status.message().to_string()
                        }
                    ),
                ))
            }
            Err(_) => Err(Status::deadline_exceeded(format!(
                "member {path}: no answer within {} ms",
                budget.as_millis()
            ))),
        }
    }

    /// The hub's own description: counts summed over the members that answer.
    pub async fn info(&self, deadline: Instant, relay: &Relay) -> pb::InfoResponse {
        let targets = self.select_members(&[]).unwrap_or_default();
        let outcomes = self
            .fan_out(
                targets,
                deadline,
                relay,
                |_, mut client, _, out| async move {
                    let request = out.request(pb::InfoRequest {});
                    client.info(request).await.map(|r| r.into_inner())
                },
            )
            .await;
        let mut info = pb::InfoResponse {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            role: "hub".into(),
            schema_version: tudashalo_proto::SCHEMA_VERSION,
            version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        };
        let mut indicators: BTreeMap<String, pb::Indicator> = BTreeMap::new();
        for outcome in outcomes {
            if let Ok(member) = outcome.result {
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

/// Sums member statistics. Field totals and document counts add up; so do
/// document frequencies, term by term.
#[derive(Debug, Default)]
struct StatsSum {
    total_docs: u64,
    fields: BTreeMap<String, u64>,
    terms: BTreeMap<(String, String), u64>,
}

impl StatsSum {
    fn add(&mut self, stats: &pb::CorpusStats) {
        // Saturating: a member's counts are not to be trusted not to overflow.
        self.total_docs = self.total_docs.saturating_add(stats.total_docs);
        for f in &stats.fields {
            let total = self.fields.entry(f.field.clone()).or_default();
            *total = total.saturating_add(f.total_tokens);
        }
        for t in &stats.terms {
            let df = self
                .terms
                .entry((t.field.clone(), t.text.clone()))
                .or_default();
            *df = df.saturating_add(t.doc_freq);
        }
    }

    fn into_pb(self) -> pb::CorpusStats {
        pb::CorpusStats {
            total_docs: self.total_docs,
            fields: self
                .fields
                .into_iter()
                .map(|(field, total_tokens)| pb::FieldStats {
                    field,
                    total_tokens,
                })
                .collect(),
            terms: self
                .terms
                .into_iter()
                .map(|((field, text), doc_freq)| pb::TermStat {
                    field,
                    text,
                    doc_freq,
                })
                .collect(),
        }
    }
}

/// Score descending, then the id-derived tie-breaker, member path and id
/// ascending: the same order a single node uses, extended by member.
pub fn compare_hits(a: &pb::Hit, b: &pb::Hit) -> std::cmp::Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| a.tie.cmp(&b.tie))
        .then_with(|| a.member.cmp(&b.member))
        .then_with(|| a.id.cmp(&b.id))
}

fn sorted_values(counts: HashMap<String, u64>) -> Vec<pb::FacetValue> {
    let mut values: Vec<pb::FacetValue> = counts
        .into_iter()
        .map(|(value, count)| pb::FacetValue { value, count })
        .collect();
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    values
}

fn status_of<T>(outcome: &Outcome<T>, total: u64) -> pb::MemberStatus {
    let (state, message) = match &outcome.result {
        Ok(_) => (MemberState::Ok, String::new()),
        Err((state, message)) => (*state, message.clone()),
    };
    pb::MemberStatus {
        member: outcome.member.name.clone(),
        state: state as i32,
        latency_ms: outcome.latency.as_millis().min(u128::from(u32::MAX)) as u32,
        message,
        total,
    }
}

/// After round one: leave out of round two every member that did not
/// answer, and narrow a member hub to the members below it that did, so that
/// nobody scores with statistics that lack its own.
fn narrow_to_answered(
    targets: &mut Vec<(Arc<Member>, Vec<String>)>,
    round_one: &[pb::MemberStatus],
) {
    let ok = MemberState::Ok as i32;
    let mut kept = Vec::with_capacity(targets.len());
    for (member, narrowed) in targets.drain(..) {
        if !round_one
            .iter()
            .any(|s| s.member == member.name && s.state == ok)
        {
            continue;
        }
        let prefix = format!("{}/", member.name);
        let below: Vec<&pb::MemberStatus> = round_one
            .iter()
            .filter(|s| s.member.starts_with(&prefix))
            .collect();
        if below.iter().all(|s| s.state == ok) {
            kept.push((member, narrowed));
            continue;
        }
        // The answering leaves below this member, as paths relative to it.
        let leaves: Vec<String> = below
            .iter()
            .filter(|s| s.state == ok)
            .filter(|s| {
                let inner = format!("{}/", s.member);
                !below.iter().any(|other| other.member.starts_with(&inner))
            })
            .map(|s| s.member[prefix.len()..].to_string())
            .collect();
        // When nothing below answered, the member hub takes no part.
        if !leaves.is_empty() {
            kept.push((member, leaves));
        }
    }
    *targets = kept;
}

/// One status per member path, sorted. A failure recorded in round one
/// stands even if a later entry for the same path says ok.
fn dedupe_statuses(statuses: Vec<pb::MemberStatus>) -> Vec<pb::MemberStatus> {
    let mut by_path: BTreeMap<String, pb::MemberStatus> = BTreeMap::new();
    for status in statuses {
        match by_path.get(&status.member) {
            Some(existing) if existing.state != MemberState::Ok as i32 => {}
            _ => {
                by_path.insert(status.member.clone(), status);
            }
        }
    }
    by_path.into_values().collect()
}

/// A member hub's own member statuses, with paths below this member.
fn nested(member: &str, statuses: Vec<pb::MemberStatus>) -> Vec<pb::MemberStatus> {
    statuses
        .into_iter()
        .map(|mut s| {
            s.member = format!("{member}/{}", s.member);
            s
        })
        .collect()
}

fn push_unique(into: &mut Vec<String>, items: Vec<String>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

/// How a member's error shows in its status, and whether it means the member
/// is unreachable.
pub(crate) fn classify(member: &Member, status: &Status) -> (MemberState, String) {
    let message = if status.message().is_empty() {
        format!("{:?}", status.code())
    } else {
        status.message().to_string()
    };
    match status.code() {
        Code::DeadlineExceeded | Code::Cancelled => (MemberState::TimedOut, message),
        Code::Unavailable => {
            member.report_unreachable(message.clone());
            (MemberState::Unavailable, message)
        }
        Code::PermissionDenied | Code::Unauthenticated => (MemberState::Refused, message),
        Code::Unknown if message.contains("transport") || message.contains("connect") => {
            member.report_unreachable(message.clone());
            (MemberState::Unavailable, message)
        }
        _ => (
            MemberState::Error,
            format!("{:?}: {message}", status.code()),
        ),
    }
}

fn code_of(state: MemberState) -> Code {
    match state {
        MemberState::TimedOut => Code::DeadlineExceeded,
        MemberState::Unavailable => Code::Unavailable,
        MemberState::Refused => Code::PermissionDenied,
        MemberState::Ok | MemberState::Unspecified | MemberState::Error => Code::Internal,
    }
}
