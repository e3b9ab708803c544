//! Federated search at a hub: statistics, scoring, merging and the final
//! page, in up to three rounds over `crate::fanout`.
//!
//! Round one gathers the query terms' statistics from every member (counting
//! only what the requester may see) and sums them; round two asks every
//! member to score with the sums (ids and scores only), so that scores are
//! comparable and the merged top k equals the top k of one index holding all
//! the documents; round three fetches the final page whole from the members
//! that hold it. When the caller already supplies statistics (this hub is
//! itself a member of a higher hub), round one is skipped and the statistics
//! are passed down unchanged; statistics remembered from an earlier search
//! ([`crate::stats_cache`]) skip it too, while every member's version still
//! matches.
//!
//! Invariants:
//! - A member that missed round one is left out of round two: its scores
//!   would not be comparable.
//! - A member's answer is cleaned ([`crate::limits::sanitize_search`])
//!   before it counts; sums of counts saturate.
//! - Hits are ordered by [`compare_hits`]: score, tie-breaker, member path,
//!   id; one status per member path, a failure recorded in any round stands.
//! - Spelling suggestions (round two's answers) are combined only when the
//!   federated total is below `tudashalo_core::suggest::SUGGEST_BELOW`,
//!   by the rules a node ranks with (`tudashalo_core::suggest::merge`), so
//!   the answer has a node's shape; they are never logged.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tonic::transport::Channel;
use tudashalo_core::suggest::{self, Suggestion};
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};

use crate::asking::{self, Known, Source};
use crate::error::{Error, Result};
use crate::fanout::{Counted, Outcome, Target, fan_out, nested};
use crate::federation::Hub;
use crate::member::Health;
use crate::relay::Relay;
use crate::stats_cache;

/// The deepest page a hub serves with offset + limit; beyond, a cursor.
pub const MAX_DEPTH: u32 = tudashalo_core::search::MAX_DEPTH as u32;
pub const DEFAULT_LIMIT: u32 = tudashalo_core::search::DEFAULT_LIMIT as u32;

impl Hub {
    /// Round one, served to callers (a higher hub).
    pub async fn term_stats(
        &self,
        request: pb::SearchRequest,
        deadline: Instant,
        relay: &Relay,
    ) -> Result<pb::TermStatsResponse> {
        Ok(self.round_one(request, deadline, relay).await?.0)
    }

    /// Round one: the summed statistics, and what each direct member said
    /// (absent for a member that did not answer), in the order asked.
    async fn round_one(
        &self,
        request: pb::SearchRequest,
        deadline: Instant,
        relay: &Relay,
    ) -> Result<(pb::TermStatsResponse, Vec<(String, Option<Known>)>)> {
        let targets = self.select_members(&request.members)?;
        let counted = self.counted("TermStats");
        let outcomes = ask_narrowed(
            targets,
            deadline,
            relay,
            counted,
            request,
            |mut c, r| async move { c.term_stats(r).await },
        )
        .await;
        let mut sum = StatsSum::default();
        let mut statuses = Vec::new();
        let mut ignored = Vec::new();
        let mut members = Vec::with_capacity(outcomes.len());
        // Summed over the members that answered; unknown if one of them
        // did not count.
        let mut matches = Some(0u64);
        for outcome in outcomes {
            let known = outcome.result.as_ref().ok().map(|r| Known {
                stats_version: r.stats_version,
                matches: r.matches,
                data_version: r.data_version,
            });
            members.push((outcome.member.name.clone(), known));
            let total_docs = match &outcome.result {
                Ok(r) => r.stats.as_ref().map_or(0, |s| s.total_docs),
                Err(_) => 0,
            };
            let mut status = outcome.status(total_docs);
            if let Ok(mut response) = outcome.result {
                status.matches = response.matches;
                matches = match (matches, response.matches) {
                    (Some(sum), Some(m)) => Some(sum.saturating_add(m)),
                    _ => None,
                };
                response.members.truncate(self.limits().max_member_statuses);
                if let Some(stats) = &response.stats {
                    sum.add(stats);
                }
                push_unique(&mut ignored, response.ignored);
                statuses.push(status);
                statuses.extend(nested(&outcome.member.name, response.members));
            } else {
                statuses.push(status);
            }
        }
        let stats_version = stats_cache::combine(
            members
                .iter()
                .map(|(name, k)| (name.as_str(), k.map(|k| k.stats_version))),
        );
        let data_version = stats_cache::combine(
            members
                .iter()
                .map(|(name, k)| (name.as_str(), k.map(|k| k.data_version))),
        );
        Ok((
            pb::TermStatsResponse {
                stats: Some(sum.into_pb()),
                ignored,
                members: statuses,
                stats_version,
                matches,
                data_version,
            },
            members,
        ))
    }

    /// A federated search: statistics round (unless supplied or remembered),
    /// then scoring round, then the merge, then the final page's snippets.
    pub async fn search(
        &self,
        request: pb::SearchRequest,
        deadline: Instant,
        relay: &Relay,
    ) -> Result<pb::SearchResponse> {
        match self
            .search_once(request.clone(), deadline, relay, true)
            .await?
        {
            Some(response) => Ok(response),
            // Remembered statistics had gone stale: both rounds, afresh.
            None => self
                .search_once(request, deadline, relay, false)
                .await?
                .ok_or(Error::StatsChanged),
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
    ) -> Result<Option<pb::SearchResponse>> {
        let started = Instant::now();
        let limit = if request.limit == 0 {
            DEFAULT_LIMIT
        } else {
            request.limit
        };
        tudashalo_core::search::check_depth(request.offset as usize, limit as usize)?;
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
        if request.stats.is_none() {
            self.metrics().stats_cache(remembered.is_some());
        }
        // What round one said of each member, and how far that is to be
        // trusted for a member not asked again (crate::asking).
        let mut known: HashMap<String, Known> = HashMap::new();
        let mut source = Source::Fresh;
        let stats = match (&request.stats, &remembered) {
            (Some(stats), _) => stats.clone(),
            (None, Some(entry)) => {
                ignored = entry.ignored.clone();
                known = entry.members.clone();
                source = Source::Remembered;
                entry.stats.clone()
            }
            (None, None) => {
                // Round one may use half of the time left, so that a member
                // that stalls in it leaves the others time for round two.
                let now = Instant::now();
                let half = now + deadline.saturating_duration_since(now) / 2;
                let (round_one, members) = self.round_one(request.clone(), half, relay).await?;
                known = members
                    .into_iter()
                    .filter_map(|(name, k)| Some((name, k?)))
                    .collect();
                if round_one.stats_version != 0 {
                    self.stats_cache.insert(
                        cache_key.clone(),
                        stats_cache::Entry {
                            stats: round_one.stats.clone().unwrap_or_default(),
                            ignored: round_one.ignored.clone(),
                            members: known.clone(),
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

        let depth = request.offset + limit;
        // The order the members' versions are combined in (see below).
        let order: Vec<String> = targets.iter().map(|(m, _)| m.name.clone()).collect();
        let plan = asking::plan(targets, &known, source, limit, depth);
        // Ranking needs only scores. Round two asks for ids, scores and
        // ties (no stored fields, no snippets, which are the dearest part of
        // a hit), and round three fetches the final page whole from the
        // members that hold it: `limit` full hits instead of members × depth.
        // When the members asked hold few matches, they send whole hits in
        // round two instead (crate::asking). A request already narrowed to
        // ids (a higher hub's round three) is small and takes its hits whole
        // in one go; a request for ids only (a higher hub's round two)
        // needs no page.
        let fetch_page = !request.ids_only
            && request.filters.as_ref().is_none_or(|f| f.ids.is_empty())
            && !plan.one_round;
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
        let skipped = plan.skipped.len();
        let outcomes = ask_narrowed(
            plan.ask,
            round_two_deadline,
            relay,
            self.counted("Search"),
            member_request,
            |mut c, r| async move { c.search(r).await },
        )
        .await;

        if let Some(entry) = &remembered {
            let stale = outcomes.iter().any(|o| match &o.result {
                Ok(r) => {
                    entry.members.get(&o.member.name).map(|k| k.stats_version)
                        != Some(r.stats_version)
                }
                Err(_) => false,
            });
            if stale {
                tracing::debug!(hub = %self.name, "remembered statistics are stale; searching again");
                self.stats_cache.remove(&cache_key);
                return Ok(None);
            }
        }
        // Over every member, asked or not (a member not asked has the
        // version its round one reported), in the order round one combines
        // them, so that a hub above sees the version TermStats gave it.
        let answered: HashMap<&str, Option<u64>> = outcomes
            .iter()
            .map(|o| {
                (
                    o.member.name.as_str(),
                    o.result.as_ref().ok().map(|r| r.stats_version),
                )
            })
            .collect();
        let stats_version = stats_cache::combine(order.iter().map(|name| {
            let version = match answered.get(name.as_str()) {
                Some(version) => *version,
                None => known.get(name).map(|k| k.stats_version),
            };
            (name.as_str(), version)
        }));

        let mut hits: Vec<pb::Hit> = Vec::new();
        let mut total = 0u64;
        let mut facets: BTreeMap<String, HashMap<String, u64>> = BTreeMap::new();
        let mut member_facet: HashMap<String, u64> = HashMap::new();
        let mut suggestions: Vec<Suggestion> = Vec::new();
        for status in plan.skipped {
            member_facet.insert(status.member.clone(), 0);
            statuses.push(status);
        }
        for mut outcome in outcomes {
            // A member's answer is cleaned before it counts (crate::limits):
            // what was dropped shows in its status, which stays OK.
            let dropped = match &mut outcome.result {
                Ok(r) => crate::limits::sanitize_search(r, depth as usize, self.limits()),
                Err(_) => Default::default(),
            };
            let member_total = outcome.result.as_ref().map_or(0, |r| r.total);
            let mut member_status = outcome.status(member_total);
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
            suggestions.extend(response.suggestions.into_iter().map(Suggestion::from));
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
        // Only a federation that found almost nothing suggests: a member
        // below the threshold may still be one of many that found plenty.
        let suggestions = if total < suggest::SUGGEST_BELOW {
            suggest::merge(&request.query, suggestions)
        } else {
            Vec::new()
        };
        let suggested_query = suggest::suggested_query(&request.query, &suggestions);
        let statuses = dedupe_statuses(statuses);
        let partial = statuses.iter().any(|s| s.state != MemberState::Ok as i32);
        self.metrics().count_answer("Search", &statuses);
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
            skipped,
            rounds = if !fetch_page { 1 } else { 2 } + u8::from(request.stats.is_none() && remembered.is_none()),
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
            suggestions: suggestions.into_iter().map(pb::Suggestion::from).collect(),
            suggested_query,
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
                return vec![(String::new(), MemberState::Error, e.to_string())];
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
        let outcomes = fan_out(
            targets,
            deadline,
            relay,
            self.counted("Search"),
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
                async move { Ok(client.search(out.request(request)).await?.into_inner()) }
            },
        )
        .in_order()
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
                Err(error) => {
                    let (state, message) = error.member_state();
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
}

/// Asks every target `request` with `rpc`, narrowed to the target's paths;
/// the outcomes in the order of the targets.
async fn ask_narrowed<R, Fut>(
    targets: Vec<Target>,
    deadline: Instant,
    relay: &Relay,
    counted: Counted,
    request: pb::SearchRequest,
    rpc: impl Fn(FederationClient<Channel>, tonic::Request<pb::SearchRequest>) -> Fut,
) -> Vec<Outcome<R>>
where
    R: Send + 'static,
    Fut: Future<Output = Result<tonic::Response<R>, tonic::Status>> + Send + 'static,
{
    fan_out(
        targets,
        deadline,
        relay,
        counted,
        move |_, client, narrowed, out| {
            let mut request = request.clone();
            request.members = narrowed;
            let call = rpc(client, out.request(request));
            async move { Ok(call.await?.into_inner()) }
        },
    )
    .in_order()
    .await
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

/// After round one: leave out of round two every member that did not
/// answer, and narrow a member hub to the members below it that did, so that
/// nobody scores with statistics that lack its own.
fn narrow_to_answered(targets: &mut Vec<Target>, round_one: &[pb::MemberStatus]) {
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

fn push_unique(into: &mut Vec<String>, items: Vec<String>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}
