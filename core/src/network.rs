//! The network view: which organisations take part in the federation's
//! developments and groups, at how many kistérségek, and who works with
//! whom.
//!
//! Pure functions shared by node and hub. A node answers with
//! [`node_answer`] (one organisation per visible record, one entry each);
//! a hub stores nothing, so it [`merge`]s its members' answers in memory,
//! the same way at every level, and whoever answers the caller applies the
//! request with [`answer`]. A hub asks its members for everything and
//! filters after merging, so that `min_members` counts across members.
//!
//! ## Definitions
//! - An organisation is identified across members by its törzsszám
//!   ([`Organisation::identity`]): entries with the same non-empty
//!   `register_number` are one organisation. One without a register number
//!   is never merged: it stays its own organisation, with its own entry.
//! - `member_count` is the number of **distinct full member paths** among
//!   an organisation's entries (each entry's `member` once prefixed by
//!   every hub on the way, e.g. `alfold/kiskoros`). A full path names one
//!   node, and a node is one kistérség, so this is the number of
//!   kistérségek the organisation is present at; two records of the same
//!   törzsszám at one node count once. It is recomputed at every merge, so
//!   nested hubs agree with a flat one.
//! - Two organisations co-participate in a development when both have a
//!   participation in it with the same entry member path and development
//!   id ([`co_participation`]).
//! - [`answer`] computes the pairs over **all** organisations, then keeps
//!   the pairs with at least one side among the organisations returned
//!   (after the filters and `limit`): the answer says who each organisation
//!   shown works with, including partners the filters left out, and its
//!   size stays bounded by what is shown.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use tudashalo_proto::pb;

use crate::error::{Error, Result};
use crate::fold::fold;
use crate::limits::thousands;
use crate::model::Visibility;
use crate::register::{Development, Entity, Organisation, WorkingGroup};
use crate::register_pb;

/// The most organisations one answer may carry: a hub refuses a member's
/// answer beyond it (the hub's `Error::TooManyOrganisations`), and a
/// request's `limit` may not ask
/// for more ([`check_request`]).
pub const MAX_NETWORK_ORGANISATIONS: usize = 10_000;

/// The most bytes of a network request's `query`.
pub const MAX_NETWORK_QUERY_BYTES: usize = 1_000;

/// The most member paths a network request's `members` may name.
pub const MAX_NETWORK_MEMBERS: usize = 64;

/// The most organisations of one development that count towards pairs: a
/// larger consortium is no real one (or a hostile answer) and would make
/// its pairs quadratic in number, so its pairs are not counted.
const MAX_PAIRED_PARTICIPANTS: usize = 256;

/// A node's answer: one [`pb::NetworkOrganisation`] per organisation the
/// caller may see (`visible`), with its törzsszám (or empty), one entry of
/// member `""` holding the organisation and its visible participations
/// ([`register_pb::participations`]), and `member_count` 1. Ordered as an
/// answer is.
pub fn node_answer(
    organisations: &[Organisation],
    developments: &[Development],
    groups: &[WorkingGroup],
    visible: &dyn Fn(Visibility) -> bool,
) -> Vec<pb::NetworkOrganisation> {
    let mut out: Vec<pb::NetworkOrganisation> = organisations
        .iter()
        .filter(|o| visible(o.visibility))
        .map(|o| {
            let participations = register_pb::participations(&o.id, developments, groups, visible);
            pb::NetworkOrganisation {
                register_number: o.identity().unwrap_or_default(),
                name: o.name.clone(),
                entries: vec![pb::NetworkEntry {
                    member: String::new(),
                    organisation: Some(register_pb::organisation(o, participations)),
                }],
                member_count: 1,
            }
        })
        .collect();
    order(&mut out);
    out
}

/// Joins a member's path and a path relative to it, as hubs compose member
/// paths everywhere: `("m", "")` → `m`, `("m", "x")` → `m/x`.
fn join(member: &str, rest: &str) -> String {
    if rest.is_empty() {
        member.to_string()
    } else {
        format!("{member}/{rest}")
    }
}

/// Merges members' answers (member path, its organisations): every entry's
/// `member` prefixed with the member's path, entries of the same non-empty
/// register number merged into one organisation, entries sorted by member
/// path then organisation id, `name` from the first of them,
/// `member_count` recomputed (see the module's definitions), ordered as an
/// answer is. The order of `answers` does not matter. Entries without an
/// organisation carry nothing and are dropped.
pub fn merge(
    mut answers: Vec<(String, Vec<pb::NetworkOrganisation>)>,
) -> Vec<pb::NetworkOrganisation> {
    // Stable: only answers under one path (which a hub never sends) keep
    // their relative order.
    answers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut by_number: BTreeMap<String, Vec<pb::NetworkEntry>> = BTreeMap::new();
    let mut alone: Vec<Vec<pb::NetworkEntry>> = Vec::new();
    for (path, organisations) in answers {
        for org in organisations {
            let entries: Vec<pb::NetworkEntry> = org
                .entries
                .into_iter()
                .filter(|e| e.organisation.is_some())
                .map(|mut e| {
                    e.member = join(&path, &e.member);
                    e
                })
                .collect();
            if entries.is_empty() {
                continue;
            }
            if org.register_number.is_empty() {
                alone.push(entries);
            } else {
                by_number
                    .entry(org.register_number)
                    .or_default()
                    .extend(entries);
            }
        }
    }
    let mut out: Vec<pb::NetworkOrganisation> = by_number
        .into_iter()
        .map(|(number, entries)| organisation_of(number, entries))
        .chain(
            alone
                .into_iter()
                .map(|entries| organisation_of(String::new(), entries)),
        )
        .collect();
    order(&mut out);
    out
}

/// One organisation of its entries: sorted, named after the first,
/// counted.
fn organisation_of(
    register_number: String,
    mut entries: Vec<pb::NetworkEntry>,
) -> pb::NetworkOrganisation {
    entries.sort_by(|a, b| entry_key(a).cmp(&entry_key(b)));
    let members: BTreeSet<&str> = entries.iter().map(|e| e.member.as_str()).collect();
    let member_count = u32::try_from(members.len()).unwrap_or(u32::MAX);
    let name = entries
        .first()
        .and_then(|e| e.organisation.as_ref())
        .map(|o| o.name.clone())
        .unwrap_or_default();
    pb::NetworkOrganisation {
        register_number,
        name,
        entries,
        member_count,
    }
}

/// An entry's place among its organisation's entries: member path, then
/// organisation id, then name.
fn entry_key(e: &pb::NetworkEntry) -> (&str, &str, &str) {
    let (id, name) = e
        .organisation
        .as_ref()
        .map_or(("", ""), |o| (o.id.as_str(), o.name.as_str()));
    (e.member.as_str(), id, name)
}

/// The order of an answer: `member_count` descending, then folded name,
/// then register number, then the first entry (member path, id), so that
/// organisations without a register number are ordered too.
fn order(orgs: &mut [pb::NetworkOrganisation]) {
    orgs.sort_by_cached_key(|o| {
        let (member, id, _) = o.entries.first().map_or(("", "", ""), entry_key);
        (
            Reverse(o.member_count),
            fold(&o.name),
            o.register_number.clone(),
            member.to_string(),
            id.to_string(),
        )
    });
}

/// How pairs name an organisation: its register number, or
/// `{member}/{organisation id}` of its first entry without one (at a node,
/// where the member is empty, `/o1`; never mistaken for a törzsszám).
fn identity_of(o: &pb::NetworkOrganisation) -> String {
    if !o.register_number.is_empty() {
        return o.register_number.clone();
    }
    let (member, id, _) = o.entries.first().map_or(("", "", ""), entry_key);
    format!("{member}/{id}")
}

/// Who works with whom: for every two organisations taking part in the
/// same development (same entry member path and development id), a pair
/// `a < b` (each as its register number, or `{member}/{id}` without one) with the number of developments
/// they share and both names. A development of more than 256 participating
/// organisations counts no pairs. Ordered by developments descending, then
/// `a`, then `b`.
pub fn co_participation(orgs: &[pb::NetworkOrganisation]) -> Vec<pb::CoParticipation> {
    let mut names: HashMap<String, &str> = HashMap::new();
    let mut participants: HashMap<(&str, &str), BTreeSet<String>> = HashMap::new();
    for o in orgs {
        let identity = identity_of(o);
        names.entry(identity.clone()).or_insert(o.name.as_str());
        for e in &o.entries {
            let Some(organisation) = &e.organisation else {
                continue;
            };
            for p in &organisation.participations {
                if p.entity == Entity::Development.as_str() {
                    participants
                        .entry((e.member.as_str(), p.id.as_str()))
                        .or_default()
                        .insert(identity.clone());
                }
            }
        }
    }
    let mut shared: HashMap<(&str, &str), u32> = HashMap::new();
    for set in participants.values() {
        if set.len() > MAX_PAIRED_PARTICIPANTS {
            continue;
        }
        let ids: Vec<&str> = set.iter().map(String::as_str).collect();
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                *shared.entry((*a, *b)).or_insert(0) += 1;
            }
        }
    }
    let name = |id: &str| names.get(id).map(|n| n.to_string()).unwrap_or_default();
    let mut out: Vec<pb::CoParticipation> = shared
        .into_iter()
        .map(|((a, b), developments)| pb::CoParticipation {
            a: a.to_string(),
            b: b.to_string(),
            a_name: name(a),
            b_name: name(b),
            developments,
        })
        .collect();
    out.sort_by(|x, y| {
        (Reverse(x.developments), &x.a, &x.b).cmp(&(Reverse(y.developments), &y.a, &y.b))
    });
    out
}

/// The folded words of a query: runs of letters and digits.
fn words(query: &str) -> Vec<String> {
    fold(query)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether every word occurs in the folded name of some entry (or in the
/// organisation's name): spellings differ between members, and any one
/// counts.
fn matches(o: &pb::NetworkOrganisation, words: &[String]) -> bool {
    if words.is_empty() {
        return true;
    }
    let mut names: Vec<String> = vec![fold(&o.name)];
    names.extend(
        o.entries
            .iter()
            .filter_map(|e| e.organisation.as_ref())
            .map(|org| fold(&org.name)),
    );
    words
        .iter()
        .all(|w| names.iter().any(|n| n.contains(w.as_str())))
}

/// The answer to a request over merged (or a node's) organisations: the
/// pairs from all of them, then the filters (`query`: every folded word
/// occurs in the folded name of some entry; `min_members` of 2 or more:
/// `member_count` at least that), `total` the number left, the list cut to
/// `limit` (0 means `limit_cap`, and never more than it), and the pairs
/// with at least one side among the organisations returned. `members` and
/// `partial` are the caller's to fill.
pub fn answer(
    mut orgs: Vec<pb::NetworkOrganisation>,
    request: &pb::NetworkRequest,
    limit_cap: usize,
) -> pb::NetworkResponse {
    order(&mut orgs);
    let mut pairs = co_participation(&orgs);
    let wanted = words(&request.query);
    let min_members = request.min_members;
    orgs.retain(|o| (min_members < 2 || o.member_count >= min_members) && matches(o, &wanted));
    let total = orgs.len() as u64;
    let limit = match request.limit as usize {
        0 => limit_cap,
        n => n.min(limit_cap),
    };
    orgs.truncate(limit);
    let shown: BTreeSet<String> = orgs.iter().map(identity_of).collect();
    pairs.retain(|p| shown.contains(&p.a) || shown.contains(&p.b));
    pb::NetworkResponse {
        organisations: orgs,
        pairs,
        members: Vec::new(),
        partial: false,
        total,
    }
}

/// Refuses a network request beyond its bounds: a `query` of more than
/// [`MAX_NETWORK_QUERY_BYTES`] bytes, more than [`MAX_NETWORK_MEMBERS`]
/// member paths, a `limit` above [`MAX_NETWORK_ORGANISATIONS`]. The
/// message names the field, its size and the limit, in the wording of
/// [`crate::limits`].
pub fn check_request(r: &pb::NetworkRequest) -> Result<()> {
    let checks = [
        (
            "query",
            r.query.len(),
            "bytes",
            MAX_NETWORK_QUERY_BYTES,
            "MAX_NETWORK_QUERY_BYTES",
        ),
        (
            "members",
            r.members.len(),
            "values",
            MAX_NETWORK_MEMBERS,
            "MAX_NETWORK_MEMBERS",
        ),
        (
            "limit",
            r.limit as usize,
            "organisations",
            MAX_NETWORK_ORGANISATIONS,
            "MAX_NETWORK_ORGANISATIONS",
        ),
    ];
    for (what, value, unit, max, name) in checks {
        if value > max {
            return Err(Error::InvalidRequest(format!(
                "{what}: {} {unit}; at most {} ({name})",
                thousands(value),
                thousands(max)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::register_pb::tests::{federated, fixture, organisation_fixture};

    /// One node's answer of organisations `(id, name, register number)`,
    /// each in development `dev` when given.
    fn node(orgs: &[(&str, &str, &str)], devs: &[(&str, &[&str])]) -> Vec<pb::NetworkOrganisation> {
        let organisations: Vec<Organisation> = orgs
            .iter()
            .map(|(id, name, rn)| {
                let mut o = organisation_fixture(id, name, rn);
                if rn.is_empty() {
                    o.register_number = None;
                    o.tax_number = None;
                }
                o
            })
            .collect();
        let mut base = fixture().developments.remove(1);
        base.consortium.clear();
        let developments: Vec<Development> = devs
            .iter()
            .map(|(id, members)| Development {
                id: id.to_string(),
                beneficiary: members[0].to_string(),
                consortium: members[1..]
                    .iter()
                    .map(|m| crate::register::ConsortiumMember {
                        organisation: m.to_string(),
                        role: crate::register::Role::Member,
                    })
                    .collect(),
                ..base.clone()
            })
            .collect();
        node_answer(&organisations, &developments, &[], &federated)
    }

    fn two_members() -> Vec<(String, Vec<pb::NetworkOrganisation>)> {
        let kecske = node(
            &[
                ("o1", "Tiszakécske Város Önkormányzata", "15724784"),
                ("o2", "Kecskeméti Civil Kör", ""),
                ("o3", "Duna Egyesület", "18000001"),
            ],
            &[("D1", &["o1", "o2", "o3"]), ("D2", &["o1", "o3"])],
        );
        let kiskoros = node(
            &[
                ("k9", "Tiszakecske Varos Onkormanyzata", "15724784"),
                ("k2", "Kecskeméti Civil Kör", ""),
            ],
            &[("D1", &["k9", "k2"])],
        );
        vec![
            ("kecskemet".to_string(), kecske),
            ("alfold/kiskoros".to_string(), kiskoros),
        ]
    }

    #[test]
    fn node_answer_is_one_entry_per_visible_organisation() {
        let f = fixture();
        let orgs = node_answer(&f.organisations, &f.developments, &f.groups, &federated);
        assert_eq!(orgs.len(), 2, "the local organisation stays home");
        assert!(
            orgs.iter()
                .all(|o| o.member_count == 1 && o.entries.len() == 1)
        );
        assert!(orgs.iter().all(|o| o.entries[0].member.is_empty()));
        let lakitelek = &orgs[0];
        assert_eq!(lakitelek.name, "Lakitelek Nagyközség Önkormányzata");
        assert_eq!(lakitelek.register_number, "15338590");
        let p = &lakitelek.entries[0]
            .organisation
            .as_ref()
            .unwrap()
            .participations;
        assert_eq!(p.len(), 2);
        // The identity falls back to the tax number.
        let mut o = organisation_fixture("x", "X", "12345678");
        o.register_number = None;
        let orgs = node_answer(&[o], &[], &[], &federated);
        assert_eq!(orgs[0].register_number, "12345678");
    }

    #[test]
    fn merge_joins_one_register_number_across_members() {
        let merged = merge(two_members());
        let tk = merged
            .iter()
            .find(|o| o.register_number == "15724784")
            .unwrap();
        assert_eq!(tk.entries.len(), 2);
        assert_eq!(tk.member_count, 2);
        let members: Vec<&str> = tk.entries.iter().map(|e| e.member.as_str()).collect();
        assert_eq!(members, ["alfold/kiskoros", "kecskemet"]);
        assert_eq!(
            tk.name, "Tiszakecske Varos Onkormanyzata",
            "first by member path"
        );
        assert_eq!(merged[0].register_number, "15724784", "most members first");
        // Without a register number, the same name never merges.
        let civil: Vec<&pb::NetworkOrganisation> = merged
            .iter()
            .filter(|o| o.name == "Kecskeméti Civil Kör")
            .collect();
        assert_eq!(civil.len(), 2);
        assert!(
            civil
                .iter()
                .all(|o| o.member_count == 1 && o.entries.len() == 1)
        );
        assert_eq!(merged.len(), 4);
        // Merged again by a higher hub: paths compose, counts agree.
        let higher = merge(vec![("orszag".to_string(), merged.clone())]);
        let tk = higher
            .iter()
            .find(|o| o.register_number == "15724784")
            .unwrap();
        assert_eq!(tk.member_count, 2);
        assert_eq!(tk.entries[0].member, "orszag/alfold/kiskoros");
        assert_eq!(higher.len(), 4);
    }

    #[test]
    fn member_count_counts_distinct_paths() {
        // Two records of one törzsszám at one node count once.
        let answer = node(
            &[("a", "Egy", "11111111"), ("b", "Egy bis", "11111111")],
            &[],
        );
        let merged = merge(vec![("m".to_string(), answer)]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].entries.len(), 2);
        assert_eq!(merged[0].member_count, 1);
    }

    #[test]
    fn the_order_of_answers_does_not_matter() {
        let answers = two_members();
        let expected = merge(answers.clone());
        let mut reversed = answers.clone();
        reversed.reverse();
        assert_eq!(merge(reversed), expected);
        // And within an answer.
        let shuffled: Vec<(String, Vec<pb::NetworkOrganisation>)> = answers
            .into_iter()
            .map(|(p, mut orgs)| {
                orgs.reverse();
                (p, orgs)
            })
            .collect();
        assert_eq!(merge(shuffled), expected);
        let request = pb::NetworkRequest::default();
        let mut flipped = expected.clone();
        flipped.reverse();
        assert_eq!(
            answer(flipped, &request, 100),
            answer(expected, &request, 100)
        );
    }

    #[test]
    fn co_participation_counts_shared_developments() {
        let merged = merge(two_members());
        let pairs = co_participation(&merged);
        let got: Vec<(&str, &str, u32)> = pairs
            .iter()
            .map(|p| (p.a.as_str(), p.b.as_str(), p.developments))
            .collect();
        // o1–o3 share D1 and D2 at kecskemet; D1 at kiskoros is another
        // development (another member path), shared by k9 (the same
        // törzsszám as o1) and k2.
        assert_eq!(
            got,
            [
                ("15724784", "18000001", 2),
                ("15724784", "alfold/kiskoros/k2", 1),
                ("15724784", "kecskemet/o2", 1),
                ("18000001", "kecskemet/o2", 1),
            ]
        );
        assert_eq!(pairs[0].b_name, "Duna Egyesület");
        assert_eq!(pairs[2].b_name, "Kecskeméti Civil Kör");
        assert!(pairs.iter().all(|p| p.a < p.b));
        // At a node, an organisation without a register number is `/id`.
        let at_node = co_participation(&two_members()[0].1);
        assert!(at_node.iter().any(|p| p.a == "/o2"), "{at_node:?}");
    }

    #[test]
    fn a_query_ignores_case_and_accents() {
        let merged = merge(two_members());
        let request = pb::NetworkRequest {
            query: "onkormanyzat TISZAKÉCSKE".into(),
            ..Default::default()
        };
        let r = answer(merged.clone(), &request, 100);
        assert_eq!(r.total, 1);
        assert_eq!(r.organisations[0].register_number, "15724784");
        let request = pb::NetworkRequest {
            query: "önkormányzata".into(),
            ..Default::default()
        };
        let r = answer(merged, &request, 100);
        assert_eq!(r.total, 1, "an unaccented spelling at one member matches");
        // The pairs keep partners the filter left out.
        assert_eq!(r.pairs.len(), 3);
        assert!(r.pairs.iter().all(|p| p.a == "15724784"));
    }

    #[test]
    fn min_members_limit_and_total() {
        let merged = merge(two_members());
        let r = answer(
            merged.clone(),
            &pb::NetworkRequest {
                min_members: 2,
                ..Default::default()
            },
            100,
        );
        assert_eq!(r.total, 1);
        assert_eq!(r.organisations[0].member_count, 2);
        let r = answer(
            merged.clone(),
            &pb::NetworkRequest {
                min_members: 1,
                ..Default::default()
            },
            100,
        );
        assert_eq!(r.total, 4, "1 means all");
        let r = answer(
            merged.clone(),
            &pb::NetworkRequest {
                limit: 2,
                ..Default::default()
            },
            100,
        );
        assert_eq!((r.total, r.organisations.len()), (4, 2));
        let r = answer(
            merged.clone(),
            &pb::NetworkRequest {
                limit: 3,
                ..Default::default()
            },
            1,
        );
        assert_eq!((r.total, r.organisations.len()), (4, 1), "the cap wins");
        let r = answer(merged, &pb::NetworkRequest::default(), 3);
        assert_eq!(r.organisations.len(), 3, "0 is the cap");
        assert!(r.members.is_empty() && !r.partial);
        assert!(r.pairs.iter().all(|p| {
            r.organisations
                .iter()
                .any(|o| identity_of(o) == p.a || identity_of(o) == p.b)
        }));
    }

    fn message(r: Result<()>) -> String {
        match r {
            Err(Error::InvalidRequest(m)) => m,
            Ok(()) => String::new(),
        }
    }

    #[test]
    fn requests_and_answers_are_bounded() {
        assert!(check_request(&pb::NetworkRequest::default()).is_ok());
        let m = message(check_request(&pb::NetworkRequest {
            query: "a".repeat(1_500),
            ..Default::default()
        }));
        assert_eq!(
            m,
            "query: 1,500 bytes; at most 1,000 (MAX_NETWORK_QUERY_BYTES)"
        );
        let m = message(check_request(&pb::NetworkRequest {
            members: vec!["m".into(); 65],
            ..Default::default()
        }));
        assert!(m.starts_with("members: 65 values; at most 64"), "{m}");
        let m = message(check_request(&pb::NetworkRequest {
            limit: 10_001,
            ..Default::default()
        }));
        assert!(m.contains("limit") && m.contains("10,000"), "{m}");
    }
}
