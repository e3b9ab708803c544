//! The hub's metrics: the shared registry of `tudashalo_proto::metrics`
//! (gRPC server families counted in `grpc.rs`, client families counted in
//! `fanout.rs` for every member call, process, CRL) and the hub's own:
//! `tudashalo_member_up{member}`, `tudashalo_member_call_seconds{member,rpc}`,
//! `tudashalo_partial_answers_total{rpc}` and
//! `tudashalo_stats_cache_total{result}`.
//!
//! Member names are configuration (`[[member]] name`), not data, so they
//! may be labels; the RPC names and the cache results are closed sets of
//! static strings. Nothing a caller sends — a query, a document id, a
//! settlement, an indicator, a principal — can become a label value: every
//! label here is a `&'static str` or a member's name.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use tudashalo_proto::metrics::{Metrics, SECONDS_BUCKETS, labelled_gauges};
use tudashalo_proto::pb::{self, MemberState};

use crate::member::{Health, Member};

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MemberCall {
    member: String,
    rpc: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RpcLabel {
    rpc: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CacheResult {
    result: &'static str,
}

fn seconds_histogram() -> Histogram {
    Histogram::new(SECONDS_BUCKETS)
}

/// The hub's registry and the families it updates; cheap to clone (every
/// family is shared).
#[derive(Debug, Clone)]
pub struct HubMetrics {
    registry: Arc<Metrics>,
    member_call_seconds: Family<MemberCall, Histogram, fn() -> Histogram>,
    partial_answers: Family<RpcLabel, Counter>,
    stats_cache: Family<CacheResult, Counter>,
}

impl HubMetrics {
    /// A registry for a hub over `members` (their health is read at scrape
    /// time).
    pub fn new(members: &[Arc<Member>]) -> HubMetrics {
        let metrics = HubMetrics {
            registry: Arc::new(Metrics::new()),
            member_call_seconds: Family::new_with_constructor(seconds_histogram),
            partial_answers: Family::default(),
            stats_cache: Family::default(),
        };
        let registry = &metrics.registry;
        registry.register(
            "tudashalo_member_call_seconds",
            "How long the hub's calls to each member took, in seconds, by RPC",
            metrics.member_call_seconds.clone(),
        );
        registry.register(
            "tudashalo_partial_answers",
            "Search and aggregate answers that lack at least one member",
            metrics.partial_answers.clone(),
        );
        registry.register(
            "tudashalo_stats_cache",
            "Round-one statistics looked up in the cache: hit or miss",
            metrics.stats_cache.clone(),
        );
        // Both results from the start, so that a ratio is defined at once.
        // (A family without a sample is not exported at all.)
        for result in ["hit", "miss"] {
            let _ = metrics.stats_cache.get_or_create(&CacheResult { result });
        }
        for rpc in ["Search", "Aggregate"] {
            let _ = metrics.partial_answers.get_or_create(&RpcLabel { rpc });
        }
        registry.register_collector(MembersUp(members.to_vec()));
        metrics
    }

    /// The registry `/metrics` serves.
    pub fn registry(&self) -> &Arc<Metrics> {
        &self.registry
    }

    /// The duration of one call to `member`.
    pub(crate) fn observe_member_call(&self, member: &str, rpc: &'static str, took: Duration) {
        self.member_call_seconds
            .get_or_create(&MemberCall {
                member: member.to_string(),
                rpc,
            })
            .observe(took.as_secs_f64());
    }

    /// Counts an answer of `rpc` as partial if any member's status is not OK.
    pub(crate) fn count_answer(&self, rpc: &'static str, statuses: &[pb::MemberStatus]) {
        if statuses.iter().any(|s| s.state != MemberState::Ok as i32) {
            self.partial_answers.get_or_create(&RpcLabel { rpc }).inc();
        }
    }

    /// A round-one statistics lookup: remembered sums found or not.
    pub(crate) fn stats_cache(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.stats_cache
            .get_or_create(&CacheResult { result })
            .inc();
    }
}

/// `tudashalo_member_up{member}`: 1 while the member is up (or not yet
/// probed: requests still go to it), 0 while it is down.
#[derive(Debug)]
struct MembersUp(Vec<Arc<Member>>);

impl Collector for MembersUp {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        labelled_gauges(
            &mut encoder,
            "tudashalo_member_up",
            "1 if the member is up (its health probe or last call answered), 0 if it is down",
            "member",
            self.0.iter().map(|m| {
                let up = !matches!(m.health(), Health::Down { .. });
                (m.name.as_str(), u64::from(up))
            }),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tudashalo_proto::metrics::{RpcKind, code_names};

    /// Every `label="value"` of the samples in `text`.
    fn label_values(text: &str) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (Some(start), Some(end)) = (line.find('{'), line.rfind('}')) else {
                continue;
            };
            for pair in line[start + 1..end].split("\",") {
                let (name, value) = pair.split_once('=').unwrap();
                pairs.push((name.to_string(), value.trim_matches('"').to_string()));
            }
        }
        pairs
    }

    #[test]
    fn label_values_come_only_from_the_allowed_sets() {
        let metrics = HubMetrics::new(&[]);
        let methods = [
            "Info",
            "TermStats",
            "Search",
            "GetDocument",
            "GetOriginal",
            "Aggregate",
            "Network",
        ];
        // What a search for a query naming a settlement and an indicator,
        // by a principal, records: nothing of the request is given to the
        // metrics, only the method, the code, the member and the time.
        let rpc = metrics.registry().server().start(RpcKind::Unary, "Search");
        let client = metrics
            .registry()
            .client()
            .start(RpcKind::Unary, "TermStats");
        client.finish(tonic::Code::Ok);
        metrics.observe_member_call("edelenyi", "TermStats", Duration::from_millis(3));
        metrics.observe_member_call("szikszoi", "Search", Duration::from_millis(30));
        metrics.stats_cache(false);
        let statuses = [
            pb::MemberStatus {
                member: "edelenyi".into(),
                state: MemberState::Ok as i32,
                ..Default::default()
            },
            pb::MemberStatus {
                member: "szikszoi".into(),
                state: MemberState::Unavailable as i32,
                message: "Edelény nep.lakos operator:elemzo".into(),
                ..Default::default()
            },
        ];
        metrics.count_answer("Search", &statuses);
        rpc.finish(tonic::Code::Ok);
        let refused = metrics
            .registry()
            .server()
            .start(RpcKind::ServerStream, "Aggregate");
        refused.finish(tonic::Code::PermissionDenied);

        let text = metrics.registry().encode().unwrap();
        let pairs = label_values(&text);
        assert!(pairs.len() > 10, "{text}");
        for (label, value) in pairs {
            let ok = match label.as_str() {
                "grpc_type" => ["unary", "server_stream"].contains(&value.as_str()),
                "grpc_service" => value == "tudashalo.v1.Federation",
                "grpc_method" | "rpc" => methods.contains(&value.as_str()),
                "grpc_code" => code_names().contains(&value.as_str()),
                "member" => ["edelenyi", "szikszoi"].contains(&value.as_str()),
                "result" => ["hit", "miss"].contains(&value.as_str()),
                "le" => value == "+Inf" || value.parse::<f64>().is_ok(),
                _ => false,
            };
            assert!(ok, "{label}={value:?} is not from an allowed set:\n{text}");
        }
        assert!(
            text.contains("tudashalo_partial_answers_total{rpc=\"Search\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tudashalo_stats_cache_total{result=\"miss\"} 1"),
            "{text}"
        );
        for leaked in ["Edelény", "nep.lakos", "elemzo"] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
    }
}
