//! Which members a federated search asks to score, and in how many rounds.
//!
//! Round one tells the hub, per member, how many documents the requester
//! may see match the query with its filters (`TermStatsResponse.matches`).
//! A member with none cannot contribute a hit, a count or a facet value, so
//! it is not asked in round two; its statistics still count in the sums,
//! and its status says what happened: OK, total 0, `skipped`. What round
//! one said is remembered with the summed statistics
//! ([`crate::stats_cache`]), and trusted for a member the hub does not ask
//! only while that member's live `WatchVersion` still names the version it
//! answered round one at ([`crate::watch`]); a member without a live watch
//! is asked, as before.
//!
//! When the members to ask hold few matches between them, round three is
//! not worth its calls: they are asked for whole hits (snippets and all) in
//! round two, at most [`ONE_ROUND_HITS_PER_PAGE_HIT`] per hit of the page.
//!
//! Invariants:
//! - Nothing is skipped unless the trusted counts alone show the
//!   federation's total to be at least `suggest::SUGGEST_BELOW`: below it,
//!   the spelling suggestions come from every member's vocabulary, as a
//!   node's would from its own.
//! - A member whose count is unknown (an older member, a failed round one,
//!   no live watch) is always asked.

use std::collections::HashMap;

use tudashalo_core::suggest::SUGGEST_BELOW;
use tudashalo_proto::pb::{self, MemberState};

use crate::fanout::Target;

/// One round (whole hits at once) when the members asked would send at
/// most this many hits per hit of the page.
pub const ONE_ROUND_HITS_PER_PAGE_HIT: u64 = 2;

/// What round one said of one direct member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// Its `stats_version` (0: do not reuse).
    pub stats_version: u64,
    /// Its `matches`, if it counted.
    pub matches: Option<u64>,
    /// Its `data_version` at that answer (0: unknown).
    pub data_version: u64,
}

/// Where round one's knowledge came from, which decides how far it is
/// trusted for a member not asked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// This request's own round one: true now.
    Fresh,
    /// Remembered: true while the member's watched version is unchanged.
    Remembered,
}

/// Who is asked in round two, who is not (with their statuses), and whether
/// round two brings whole hits.
#[derive(Debug)]
pub struct Plan {
    pub ask: Vec<Target>,
    pub skipped: Vec<pb::MemberStatus>,
    pub one_round: bool,
}

/// Plans round two over `targets` (the members that answered round one, or
/// all selected ones when round one was remembered) for a page of `limit`
/// hits `depth` deep.
pub fn plan(
    targets: Vec<Target>,
    known: &HashMap<String, Known>,
    source: Source,
    limit: u32,
    depth: u32,
) -> Plan {
    // What each target may be trusted to hold, if anything is known.
    let trusted = |target: &Target| -> Option<u64> {
        let (member, _) = target;
        let known = known.get(&member.name)?;
        let matches = known.matches?;
        match source {
            Source::Fresh => Some(matches),
            Source::Remembered => (known.data_version != 0
                && member.data_version() == Some(known.data_version))
            .then_some(matches),
        }
    };
    let counts: Vec<Option<u64>> = targets.iter().map(trusted).collect();
    // The federation's total is at least what the trusted counts add up to
    // (a member not trusted is asked, and holds zero or more).
    let at_least = counts
        .iter()
        .flatten()
        .fold(0u64, |sum, c| sum.saturating_add(*c));
    let may_skip = at_least >= SUGGEST_BELOW;
    let mut ask = Vec::with_capacity(targets.len());
    let mut skipped = Vec::new();
    let mut whole_hits = Some(0u64);
    for (target, count) in targets.into_iter().zip(counts) {
        if may_skip && count == Some(0) {
            skipped.push(skipped_status(&target.0.name, source));
            continue;
        }
        whole_hits = match (whole_hits, count) {
            (Some(sum), Some(c)) => Some(sum.saturating_add(c.min(u64::from(depth)))),
            _ => None,
        };
        ask.push(target);
    }
    let one_round = whole_hits
        .is_some_and(|hits| hits <= ONE_ROUND_HITS_PER_PAGE_HIT * u64::from(limit.max(1)));
    Plan {
        ask,
        skipped,
        one_round,
    }
}

/// The status of a member not asked: OK, nothing found, and why.
fn skipped_status(member: &str, source: Source) -> pb::MemberStatus {
    pb::MemberStatus {
        member: member.to_string(),
        state: MemberState::Ok as i32,
        message: match source {
            Source::Fresh => "not asked: none of its documents match (round one)",
            Source::Remembered => {
                "not asked: none of its documents matched, and its version is unchanged"
            }
        }
        .into(),
        total: 0,
        skipped: true,
        matches: Some(0),
        ..Default::default()
    }
}
