//! Bounds at the hub, both ways: on what a caller may ask (the same request
//! limits a node applies, checked before anything is fanned out), on how
//! long it may ask the hub to wait, and on what a member may answer.
//!
//! A member is another server, and may be hostile or broken. The hub caps
//! its messages (32 MiB each, on the client: `tudashalo_proto::tls::client`),
//! the hits and facet values it takes from one answer, and the cells and
//! statuses of one aggregate; it drops hits whose score is not a finite
//! number and repeated hits, and says so in that member's status.
//!
//! What happens to a member that oversteps, and why:
//! - Hits with a NaN or infinite score, repeated hits and hits beyond the
//!   number asked for are dropped; the member's other hits stand and its
//!   state stays OK, with a message that counts what was dropped. A bad hit
//!   cannot be ranked, but it does not make the good ones wrong.
//! - Facet values beyond [`HubLimits::max_member_facet_values`] per facet
//!   are dropped (a member sends its largest counts first), noted likewise.
//! - An aggregate beyond [`HubLimits::max_member_cells`], or with a cell
//!   whose numbers are not finite, is discarded whole and the member is in
//!   ERROR: a sum that lacks some of a member's cells, or holds a NaN, would
//!   be published as if whole. Its cells are then marked incomplete, as for
//!   any member that failed.

use std::time::Duration;

use serde::Deserialize;
use tudashalo_core::limits::{RequestLimits, thousands};
use tudashalo_core::suggest;
use tudashalo_proto::pb;

use crate::error::Error;

/// `[limits]` of `hub.toml`: the request limits of a node
/// ([`RequestLimits`]) and the hub's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubLimits {
    pub requests: RequestLimits,
    /// The longest a client may ask the hub to work on one request (its
    /// `grpc-timeout`); longer timeouts are clamped to this.
    pub max_deadline_ms: u64,
    /// Cells the hub accepts from one member for one aggregate.
    pub max_member_cells: usize,
    /// Values the hub accepts from one member for one facet.
    pub max_member_facet_values: usize,
    /// Member statuses the hub accepts from one member hub in one answer.
    pub max_member_statuses: usize,
}

impl Default for HubLimits {
    fn default() -> Self {
        HubLimits {
            requests: RequestLimits::default(),
            max_deadline_ms: 300_000,
            max_member_cells: 2_000_000,
            max_member_facet_values: 10_000,
            max_member_statuses: 4_096,
        }
    }
}

/// The hub-only keys of `[limits]`, each with its default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Own {
    max_deadline_ms: Option<u64>,
    max_member_cells: Option<usize>,
    max_member_facet_values: Option<usize>,
    max_member_statuses: Option<usize>,
}

const OWN_KEYS: [&str; 4] = [
    "max_deadline_ms",
    "max_member_cells",
    "max_member_facet_values",
    "max_member_statuses",
];

impl<'de> Deserialize<'de> for HubLimits {
    /// One TOML table, two structs: the hub's own keys, and the request
    /// limits, which must be all the rest (an unknown key is an error that
    /// names it). serde's `flatten` would lose `deny_unknown_fields`.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut table = toml::Table::deserialize(deserializer)?;
        let mut own = toml::Table::new();
        for key in OWN_KEYS {
            if let Some(value) = table.remove(key) {
                own.insert(key.to_string(), value);
            }
        }
        let own = Own::deserialize(toml::Value::Table(own)).map_err(D::Error::custom)?;
        let requests = RequestLimits::deserialize(toml::Value::Table(table))
            .map_err(|e| D::Error::custom(e.to_string()))?;
        let defaults = HubLimits::default();
        Ok(HubLimits {
            requests,
            max_deadline_ms: own.max_deadline_ms.unwrap_or(defaults.max_deadline_ms),
            max_member_cells: own.max_member_cells.unwrap_or(defaults.max_member_cells),
            max_member_facet_values: own
                .max_member_facet_values
                .unwrap_or(defaults.max_member_facet_values),
            max_member_statuses: own
                .max_member_statuses
                .unwrap_or(defaults.max_member_statuses),
        })
    }
}

/// No deadline beyond this, whatever is configured: about a day, far from
/// where `Instant + Duration` overflows or a `grpc-timeout` header stops
/// fitting its 8 digits (tonic's `set_timeout` panics beyond 11,415 years).
const CEILING_DEADLINE: Duration = Duration::from_secs(86_400);

impl HubLimits {
    pub fn validate(&self) -> Result<(), String> {
        self.requests.validate()?;
        for (key, value) in [
            ("max_deadline_ms", self.max_deadline_ms as usize),
            ("max_member_cells", self.max_member_cells),
            ("max_member_facet_values", self.max_member_facet_values),
            ("max_member_statuses", self.max_member_statuses),
        ] {
            if value == 0 {
                return Err(format!("limits.{key} must be positive"));
            }
        }
        if self.max_deadline() < Duration::from_millis(self.max_deadline_ms) {
            return Err(format!(
                "limits.max_deadline_ms must be at most {} (a day)",
                thousands(CEILING_DEADLINE.as_millis() as usize)
            ));
        }
        Ok(())
    }

    /// The longest a request may run at this hub.
    pub fn max_deadline(&self) -> Duration {
        Duration::from_millis(self.max_deadline_ms).min(CEILING_DEADLINE)
    }
}

/// A client's `grpc-timeout` (`1500m`, `2S`), read as the gRPC spec has it:
/// at most 8 digits and a unit. Anything else, e.g. `18446744073709551615S`,
/// is no timeout at all (the hub's default applies), as tonic's server reads
/// it too. The value may still be huge (`99999999H`, 11,000 years): the hub
/// clamps it ([`clamp_timeout`]).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let split = value.len().checked_sub(1)?;
    if !value.is_char_boundary(split) {
        return None;
    }
    let (digits, unit) = value.split_at(split);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The time a request may take: the client's timeout if it sent one, else
/// the hub's default, and never more than the limit.
pub fn clamp_timeout(client: Option<Duration>, default: Duration, limits: &HubLimits) -> Duration {
    client.unwrap_or(default).min(limits.max_deadline())
}

/// What [`sanitize_hits`] dropped from one member's answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    pub non_finite: usize,
    pub duplicate: usize,
    pub beyond: usize,
    pub facet_values: usize,
    pub statuses: usize,
    pub suggestions: usize,
}

impl Dropped {
    pub fn is_empty(&self) -> bool {
        *self == Dropped::default()
    }

    /// For the member's status, e.g. `dropped 3 hits with non-finite
    /// scores, 1 repeated hit`.
    pub fn message(&self) -> String {
        let mut parts = Vec::new();
        let plural = |n: usize, one: &str, many: &str| {
            format!("{} {}", thousands(n), if n == 1 { one } else { many })
        };
        if self.non_finite > 0 {
            parts.push(plural(
                self.non_finite,
                "hit with a non-finite score",
                "hits with non-finite scores",
            ));
        }
        if self.duplicate > 0 {
            parts.push(plural(self.duplicate, "repeated hit", "repeated hits"));
        }
        if self.beyond > 0 {
            parts.push(plural(
                self.beyond,
                "hit beyond the number asked for",
                "hits beyond the number asked for",
            ));
        }
        if self.facet_values > 0 {
            parts.push(plural(
                self.facet_values,
                "facet value beyond limits.max_member_facet_values",
                "facet values beyond limits.max_member_facet_values",
            ));
        }
        if self.statuses > 0 {
            parts.push(plural(
                self.statuses,
                "member status beyond limits.max_member_statuses",
                "member statuses beyond limits.max_member_statuses",
            ));
        }
        if self.suggestions > 0 {
            parts.push(plural(
                self.suggestions,
                "suggestion beyond the suggester's limits",
                "suggestions beyond the suggester's limits",
            ));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("dropped {}", parts.join(", "))
        }
    }
}

/// Cleans one member's search answer before it is merged: hits with a
/// non-finite score, repeated hits (same member path and id) and hits beyond
/// the `asked` number go; so do facet values, nested statuses and
/// suggestions beyond the limits. Returns what was dropped.
pub fn sanitize_search(
    response: &mut pb::SearchResponse,
    asked: usize,
    limits: &HubLimits,
) -> Dropped {
    let mut dropped = Dropped::default();
    let mut seen = std::collections::HashSet::with_capacity(response.hits.len().min(asked));
    let mut kept = 0usize;
    response.hits.retain(|hit| {
        if !hit.score.is_finite() {
            dropped.non_finite += 1;
            return false;
        }
        if !seen.insert((hit.member.clone(), hit.id.clone())) {
            dropped.duplicate += 1;
            return false;
        }
        if kept == asked {
            dropped.beyond += 1;
            return false;
        }
        kept += 1;
        true
    });
    for facet in &mut response.facets {
        if facet.values.len() > limits.max_member_facet_values {
            dropped.facet_values += facet.values.len() - limits.max_member_facet_values;
            facet.values.truncate(limits.max_member_facet_values);
        }
    }
    if response.members.len() > limits.max_member_statuses {
        dropped.statuses += response.members.len() - limits.max_member_statuses;
        response.members.truncate(limits.max_member_statuses);
    }
    // Suggestions are bounded by the suggester's own constants: a few per
    // word, words no longer than the analysers keep.
    let before = response.suggestions.len();
    response.suggestions.retain(|s| {
        s.word.len() <= suggest::MAX_WORD_BYTES && s.replacement.len() <= suggest::MAX_WORD_BYTES
    });
    response.suggestions.truncate(suggest::MAX_SUGGESTIONS);
    dropped.suggestions += before - response.suggestions.len();
    dropped
}

/// Checks that a member's aggregate may still grow by `more` cells (and
/// `statuses` nested statuses) without passing the limits: the check runs
/// per chunk as the stream is read, so that a member streaming without end
/// is cut off, not buffered.
pub fn check_member_chunk(
    cells: usize,
    more: usize,
    statuses: usize,
    limits: &HubLimits,
) -> Result<(), Error> {
    let total = cells.saturating_add(more);
    if total > limits.max_member_cells {
        return Err(Error::TooManyCells {
            sent: cells,
            max: limits.max_member_cells,
        });
    }
    if statuses > limits.max_member_statuses {
        return Err(Error::TooManyStatuses {
            sent: statuses,
            max: limits.max_member_statuses,
        });
    }
    Ok(())
}

/// The largest settlement count a cell may claim.
const MAX_PLAUSIBLE_COUNT: u64 = u32::MAX as u64;

/// Checks the numbers of a member's cells (and counts no federation has): a NaN or infinity in a partial
/// (or a published value) would spread into every sum it enters.
pub fn check_member_cells(cells: &[pb::Cell]) -> Result<(), Error> {
    let bad = cells
        .iter()
        .filter(|c| {
            c.value.is_some_and(|v| !v.is_finite())
                || c.partial.as_ref().is_some_and(|p| {
                    // Counts beyond any real federation would overflow the
                    // sums they enter (Hungary has some 3,200 settlements).
                    p.n > MAX_PLAUSIBLE_COUNT
                        || p.missing_weight > MAX_PLAUSIBLE_COUNT
                        || ![p.sum, p.weight_sum, p.min, p.max]
                            .iter()
                            .chain(&p.top)
                            .all(|v| v.is_finite())
                })
        })
        .count();
    if bad > 0 {
        return Err(Error::ImpossibleNumbers { cells: bad });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hit(id: &str, score: f32) -> pb::Hit {
        pb::Hit {
            id: id.into(),
            score,
            ..Default::default()
        }
    }

    #[test]
    fn timeouts_follow_the_grpc_spec_and_are_clamped() {
        assert_eq!(
            parse_grpc_timeout("1500m"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_grpc_timeout("99999999H"),
            Some(Duration::from_secs(99_999_999 * 3600))
        );
        for bad in [
            "",
            "S",
            "x",
            "18446744073709551615S",
            "123456789S",
            "-1S",
            "+1S",
            "1s",
            "1ő",
        ] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
        let limits = HubLimits::default();
        let default = Duration::from_secs(2);
        assert_eq!(clamp_timeout(None, default, &limits), default);
        assert_eq!(
            clamp_timeout(Some(Duration::MAX), default, &limits),
            Duration::from_secs(300)
        );
        // The clamped deadline is an instant that exists.
        let _ = std::time::Instant::now() + clamp_timeout(Some(Duration::MAX), default, &limits);
    }

    #[test]
    fn bad_hits_are_dropped_and_counted() {
        let mut response = pb::SearchResponse {
            hits: vec![
                hit("a", 1.0),
                hit("b", f32::NAN),
                hit("c", f32::INFINITY),
                hit("a", 0.5),
                hit("d", f32::NEG_INFINITY),
                hit("e", 0.1),
                hit("f", 0.05),
            ],
            ..Default::default()
        };
        let dropped = sanitize_search(&mut response, 2, &HubLimits::default());
        let ids: Vec<&str> = response.hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["a", "e"]);
        assert_eq!(
            dropped,
            Dropped {
                non_finite: 3,
                duplicate: 1,
                beyond: 1,
                ..Dropped::default()
            }
        );
        assert_eq!(
            dropped.message(),
            "dropped 3 hits with non-finite scores, 1 repeated hit, 1 hit beyond the number asked for"
        );
    }

    #[test]
    fn facet_values_and_statuses_are_capped() {
        let limits = HubLimits {
            max_member_facet_values: 2,
            max_member_statuses: 1,
            ..HubLimits::default()
        };
        let mut response = pb::SearchResponse {
            facets: vec![pb::Facet {
                name: "settlement".into(),
                values: (0..5)
                    .map(|i| pb::FacetValue {
                        value: format!("v{i}"),
                        count: 5 - i,
                    })
                    .collect(),
            }],
            members: vec![pb::MemberStatus::default(); 3],
            ..Default::default()
        };
        let dropped = sanitize_search(&mut response, 10, &limits);
        assert_eq!(response.facets[0].values.len(), 2);
        assert_eq!(response.members.len(), 1);
        assert_eq!((dropped.facet_values, dropped.statuses), (3, 2));
    }

    #[test]
    fn cells_are_capped_and_checked() {
        let limits = HubLimits {
            max_member_cells: 1_000,
            ..HubLimits::default()
        };
        check_member_chunk(500, 500, 0, &limits).unwrap();
        let e = check_member_chunk(1_000, 1, 0, &limits).unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(e.to_string().contains("(limits.max_member_cells)"), "{e}");
        let mut cell = pb::Cell {
            partial: Some(pb::Partial {
                sum: 1.0,
                ..Default::default()
            }),
            ..Default::default()
        };
        check_member_cells(std::slice::from_ref(&cell)).unwrap();
        let mut huge = cell.clone();
        huge.partial.as_mut().unwrap().n = u64::MAX;
        assert!(check_member_cells(&[huge]).is_err());
        cell.partial.as_mut().unwrap().top = vec![f64::NAN];
        assert!(check_member_cells(&[cell]).is_err());
    }

    #[test]
    fn limits_read_from_one_table() {
        let limits: HubLimits =
            toml::from_str("max_deadline_ms = 1000\nmax_query_chars = 200\n").unwrap();
        assert_eq!(limits.max_deadline_ms, 1000);
        assert_eq!(limits.requests.max_query_chars, 200);
        assert_eq!(limits.requests.max_query_depth, 16);
        let e = toml::from_str::<HubLimits>("max_colour = 1\n").unwrap_err();
        assert!(e.to_string().contains("max_colour"), "{e}");
        let e = toml::from_str::<HubLimits>("max_deadline_ms = \"x\"\n").unwrap_err();
        assert!(
            e.to_string().contains("max_deadline_ms") || e.to_string().contains("u64"),
            "{e}"
        );
    }
}
